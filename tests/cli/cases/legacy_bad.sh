# Damaged legacy heap profiles: one line naming the file and the line, exit
# 2, for every command (formats/legacy_heap.c).
. "$CLI_GOLDEN/../legacy_files.sh"
write_gperf tc.heap
write_jemalloc je.heap
try() { allocprof top "$1"; echo "rc=$?"; }
echo "=== cut in the middle of a line, at a line's end, before the maps"
head -c 150 tc.heap >cut1.heap && try cut1.heap
head -n 2 tc.heap >cut2.heap && try cut2.heap
head -n 6 je.heap >cut3.heap && try cut3.heap
head -n 5 je.heap >cut4.heap && try cut4.heap
echo "=== corrupt lines"
sed 's/\[     2:/[ x:/' tc.heap >bad1.heap && try bad1.heap
sed 's/0x00401137/0x0040113g7/' tc.heap >bad2.heap && try bad2.heap
sed 's/0x00401137/0x1234567890abcdef01/' tc.heap >bad3.heap && try bad3.heap
sed 's/     1:  1048576/     0:  1048576/' tc.heap >bad4.heap && try bad4.heap
sed 's/     1:  1048576/ 99999999999999999999:  1048576/' tc.heap >bad5.heap && try bad5.heap
sed 's/heap_v2\/524288/growthz/' tc.heap >bad6.heap && try bad6.heap
sed 's/^  t\*: 1:/  t*: 1:\n  t*: 1:/' je.heap >bad7.heap && try bad7.heap
printf 'heap_v2/524288\n  t*: 0: 0 [0: 0]\n\0\n' >bad8.heap && try bad8.heap
echo "=== every reading command"
allocprof convert -o out.pb.gz cut1.heap; echo "rc=$?"
allocprof diff tc.heap cut2.heap; echo "rc=$?"
allocprof flame -o out.svg bad1.heap; echo "rc=$?"
allocprof merge -o out.pb.gz tc.heap bad2.heap; echo "rc=$?"
ls out.* 2>/dev/null || echo "nothing written"
