allocprof flame -o f.svg base.pb.gz || exit
cat f.svg
