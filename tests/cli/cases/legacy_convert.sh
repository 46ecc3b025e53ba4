# Other allocators' text heap profiles (formats/legacy_heap.c), found by
# content: convert and top of a tcmalloc heap_v2 file and a jemalloc file.
# Unsampled at 512 KiB: a 1 MiB object counts 1/(1-e^-2) = 1.157 times, a
# 512 KiB one 1/(1-e^-1) = 1.582 times.
. "$CLI_GOLDEN/../legacy_files.sh"
write_gperf tc.heap
write_jemalloc je.heap
echo "=== tcmalloc: folded, top"
allocprof convert -o tc.folded tc.heap && cat tc.folded
allocprof convert -i alloc_space -o tc_alloc.folded tc.heap && cat tc_alloc.folded
allocprof top -n 3 tc.heap
echo "=== jemalloc: folded, top"
allocprof convert -o je.folded je.heap && cat je.folded
allocprof top -n 3 je.heap
echo "=== into pprof and back: the same totals, mappings kept"
allocprof convert -o tc.pb.gz tc.heap && allocprof top -n 1 tc.pb.gz | grep -E '^(Totals|Comment)'
echo "=== a gzipped legacy file reads too"
gzip -c je.heap >je.heap.gz && allocprof top -n 1 je.heap.gz | grep '^Totals'
