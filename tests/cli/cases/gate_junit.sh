allocprof gate --base base.pb.gz --max-growth 0.5% --max-bytes 1MiB --junit j.xml grown.pb.gz >/dev/null
echo "rc=$?"
cat j.xml
allocprof gate --base base.pb.gz --junit pass.xml copy.pb >/dev/null
echo "rc=$?"
cat pass.xml
