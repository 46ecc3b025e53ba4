allocprof diff base.pb.gz copy.pb.zst
