# -o: a profile of NEW minus BASE; only the stacks that changed remain
allocprof diff -o d.pb.gz base.pb.gz grown.pb.gz >/dev/null || exit
allocprof top --json -n 0 d.pb.gz
