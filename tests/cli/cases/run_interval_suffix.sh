# needs: preload
# (--rate 1: a process that never took a sample writes no exit profile)
# --interval 30s used to be refused by run though the library takes it; the
# program gets it as given and its profiler accepts it (no line of its own
# on stderr, the exit profile written), and 0 switches the timer off
allocprof run --rate 1 --interval 30s -o p.pb.gz -- sh -c 'echo "interval=$ALLOCPROF_INTERVAL"; exec true'; echo "rc=$?"
allocprof run --rate 1 --interval 0 -o q.pb.gz -- true; echo "rc=$?"
allocprof run --rate 1 --interval 90.5s -o r.pb.gz -- true; echo "rc=$?"
