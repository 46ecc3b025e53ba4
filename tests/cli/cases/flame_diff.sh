allocprof flame --base base.pb.gz -o d.svg grown.pb.gz || exit
cat d.svg
