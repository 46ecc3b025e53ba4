# timeline on bad input: a cut stream (its good frames, a warning), one
# snapshot (a chart of one), two processes (refused, or --pid), not a profile,
# not a heap profile, a missing file, bad options, nothing left by --focus
echo "hello" >not_a_profile.txt
for args in "tl_cut.zst" "tl.2.pb.gz" "tl.zst tl_other.pb.gz" "--pid 4343 tl.zst tl_other.pb.gz" \
  "--pid 99 tl.zst" "cpu.pb.gz" "not_a_profile.txt" "missing.pb" "-o t.png tl.zst" "-n 0 tl.zst" \
  "--pid x tl.zst" "" "--focus ( tl.zst" "--focus ^nomatch$ tl.zst"; do
  echo "=== timeline $args"
  allocprof timeline $args
  echo "rc=$?"
done
echo "=== one snapshot, SVG"
allocprof timeline -o one.svg tl.2.pb.gz && grep -c '<path class="band"' one.svg
