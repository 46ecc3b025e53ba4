# diff and gate between legacy heap profiles and allocprof's own: the types
# match by name (inuse_space), frames by object and offset.
. "$CLI_GOLDEN/../legacy_files.sh"
write_gperf tc.heap
write_jemalloc je.heap
echo "=== tcmalloc -> jemalloc, the same stacks"
allocprof diff tc.heap je.heap; echo "rc=$?"
echo "=== allocprof's profile -> a tcmalloc file"
allocprof diff -n 3 base.pb.gz tc.heap; echo "rc=$?"
echo "=== gate: a legacy base, an allocprof new, and back"
allocprof gate --base tc.heap --max-growth 5% je.heap; echo "rc=$?"
allocprof gate --base base.pb.gz --max-bytes 100m tc.heap | grep -E '^(PASS|FAIL)'; echo "rc=$?"
