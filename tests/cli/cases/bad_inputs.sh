# truncated, corrupt, empty, missing, not a profile: one line, exit 2, for
# every reading command, and no output file
for f in truncated.pb.gz random.bin empty.pb text.pb.gz nothere.pb.gz mutants; do
  allocprof top "$f"; echo "top rc=$?"
done
allocprof merge -o m.pb.gz base.pb.gz truncated.pb.gz; echo "merge rc=$?"
allocprof diff base.pb.gz random.bin; echo "diff rc=$?"
allocprof diff -o d.pb.gz empty.pb base.pb.gz; echo "diff rc=$?"
allocprof convert -o c.pb truncated.pb.gz; echo "convert rc=$?"
allocprof flame -o f.svg text.pb.gz; echo "flame rc=$?"
allocprof flame --base random.bin -o f.svg base.pb.gz; echo "flame rc=$?"
ls | grep -E '^(m|d|c|f)\.|tmp' ; echo "leftovers: done"
