allocprof diff --json base.pb.gz grown.pb.gz
