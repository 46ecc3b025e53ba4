# leaks on bad input: one snapshot, the same snapshot twice (kept once), a cut stream (its good
# frames, a warning), not a profile, not a heap profile, a missing file, two
# processes, bad options
echo "hello" >not_a_profile.txt
for args in "lk.2.pb.gz" "lk.2.pb.gz lk.2.pb.gz" "lk_cut.zst" "not_a_profile.txt" "cpu.pb.gz" \
  "missing.pb" "lk.zst tl.zst" "--min-rate fast lk.zst" "--fail-over -1 lk.zst" \
  "--min-rate 1MiB/d lk.zst" "-n x lk.zst" "--pid 0 lk.zst" "" "--focus ( lk.zst"; do
  echo "=== leaks $args"
  allocprof leaks $args >out.txt
  echo "rc=$?"
  tail -n 1 out.txt
done
