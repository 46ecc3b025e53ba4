allocprof top --json -n 0 base.pb.gz
