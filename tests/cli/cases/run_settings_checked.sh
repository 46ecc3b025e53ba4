# every setting the program's profiler will read is checked before it starts,
# with the library's own parsers: -o's ending and escapes, its directory,
# --rate's grammar (no fractions or KB), and the ALLOCPROF_* run inherits;
# each is one line and exit 2, and the program does not run (it would print
# "started")
allocprof run -o heap.txt -- sh -c 'echo started'; echo "rc=$?"
allocprof run -o 'heap.%d.pb' -- sh -c 'echo started'; echo "rc=$?"
allocprof run -o nodir/heap.pb.gz -- sh -c 'echo started'; echo "rc=$?"
allocprof run -o base.pb.gz/heap.pb.gz -- sh -c 'echo started'; echo "rc=$?"
allocprof run --rate 1.5k -- sh -c 'echo started'; echo "rc=$?"
allocprof run --rate '512 KB' -- sh -c 'echo started'; echo "rc=$?"
ALLOCPROF_PEAK=lots allocprof run -- sh -c 'echo started'; echo "rc=$?"
ALLOCPROF_RATE=1.5k allocprof run -- sh -c 'echo started'; echo "rc=$?"
ALLOCPROF_STREAM='s.%n.zst' allocprof run -- sh -c 'echo started'; echo "rc=$?"
