# needs: preload
# (--rate 1: a process that never took a sample writes no exit profile)
# --signal: any case, with or without SIG, numbers and RTMIN+n, as the
# library reads it (run used to be case-sensitive); 11 is SIGSEGV, which the
# library refuses and run used to accept; KILL cannot be caught
allocprof run --rate 1 --signal usr2 -o a.pb.gz -- sh -c 'echo "signal=$ALLOCPROF_SIGNAL"; exec true'; echo "rc=$?"
allocprof run --rate 1 --signal SigUsr1 -o b.pb.gz -- true; echo "rc=$?"
allocprof run --rate 1 --signal rtmin+1 -o c.pb.gz -- true; echo "rc=$?"
allocprof run --signal 11 -o d.pb.gz -- sh -c 'echo started'; echo "rc=$?"
allocprof run --signal segv -o d.pb.gz -- sh -c 'echo started'; echo "rc=$?"
allocprof run --signal 9 -o d.pb.gz -- sh -c 'echo started'; echo "rc=$?"
allocprof run --signal 33 -o d.pb.gz -- sh -c 'echo started'; echo "rc=$?"
ls d.pb.gz 2>/dev/null || echo "no profile d.pb.gz"
