# the same profile: no growth, exit 0
allocprof gate --base base.pb.gz copy.pb; echo "rc=$?"
