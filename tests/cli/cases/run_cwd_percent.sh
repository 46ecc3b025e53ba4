# needs: preload
# (--rate 1: a process that never took a sample writes no exit profile)
# a working directory with a '%' in its name: run makes -o absolute with the
# '%' doubled, so the profiler does not read it as an escape (it used to
# refuse "%d" or expand "%p" inside the directory's name)
mkdir 'in%dir' 'at%p' && cd 'in%dir' || exit 1
allocprof run --rate 1 -o 'h.%n.pb.gz' -- sh -c 'case "$ALLOCPROF_OUT" in /*/in%%dir/h.%n.pb.gz) echo "out: doubled";; *) echo "out: $ALLOCPROF_OUT";; esac; exec true'; echo "rc=$?"
ls
cd ../'at%p' || exit 1
allocprof run --rate 1 -o 'h.pb' -- true; echo "rc=$?"
ls
