# the same growth against other limits
allocprof gate --base base.pb.gz --max-growth 1% grown.pb.gz >/dev/null; echo "1%: rc=$?"
allocprof gate --base base.pb.gz --max-bytes 100k grown.pb.gz >/dev/null; echo "100k: rc=$?"
allocprof gate --base base.pb.gz --max-bytes 64KiB grown.pb.gz >/dev/null; echo "64KiB: rc=$?"
allocprof gate --base base.pb.gz --max-total 10MiB grown.pb.gz; echo "total 10MiB: rc=$?"
allocprof gate --base base.pb.gz --max-total 11MiB --max-growth 2% grown.pb.gz >/dev/null; echo "total 11MiB, 2%: rc=$?"
allocprof gate --base grown.pb.gz base.pb.gz >/dev/null; echo "shrink: rc=$?"
allocprof gate --base base.pb.gz -i inuse_objects --max-growth 10% grown.pb.gz; echo "objects: rc=$?"
