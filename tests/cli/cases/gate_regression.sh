# rate 1 (exact): +101920 B = +0.96% is over 0.5%: exit 1
allocprof gate --base base.pb.gz --max-growth 0.5% grown.pb.gz; echo "rc=$?"
