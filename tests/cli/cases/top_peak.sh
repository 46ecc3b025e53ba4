# The peak sample types every profile of the profiler carries
# (peak_inuse_objects, peak_inuse_space; peak.pb.gz: f 30 MiB and g 20 MiB at
# the peak, k 24 MiB in use at exit and 0 at the peak). top -i shows the
# peak's composition; the default view stays inuse_space; diff and gate
# compare peaks: peak_grown (g +6 MiB at the peak, +12%) fails a 5% gate on
# peak_inuse_space and passes the one on inuse_space, which is unchanged;
# merge adds peaks up.
allocprof top -n 3 -i peak_inuse_space peak.pb.gz
echo "=== default: inuse_space"
allocprof top -n 3 peak.pb.gz | sed -n '/^Type/p;/by flat/,/^$/p'
echo "=== peak objects"
allocprof top -n 3 -i peak_inuse_objects peak.pb.gz | sed -n '/by flat/,/^$/p'
echo "=== diff of the peaks"
allocprof diff -i peak_inuse_space peak.pb.gz peak_grown.pb.gz
echo "=== gate on inuse_space: passes"
allocprof gate --base peak.pb.gz --max-growth 5% peak_grown.pb.gz >/dev/null; echo "exit $?"
echo "=== gate on peak_inuse_space: fails"
allocprof gate --base peak.pb.gz --sample-index peak_inuse_space --max-growth 5% peak_grown.pb.gz
echo "exit $?"
echo "=== merge: the sum of the peaks"
allocprof merge -o m.pb.gz peak.pb.gz peak_grown.pb.gz || exit
allocprof top -n 2 -i peak_inuse_space m.pb.gz | sed -n '/^Totals/p;/by flat/,/^$/p'
