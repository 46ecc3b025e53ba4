# timeout: 60
# 300,000 locations whose ids were chosen to share one probe chain of an
# unseeded hash table: the tables are seeded per process (hashtab.h), so
# validation stays linear (it took many minutes)
"$GEN_PROFILES" --collide 300000 collide.pb.gz || exit
allocprof top collide.pb.gz; echo "rc=$?"
