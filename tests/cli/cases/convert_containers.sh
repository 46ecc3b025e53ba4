# gzip -> zstd -> raw -> gzip keeps the profile
allocprof convert -o a.pb.zst base.pb.gz || exit
allocprof convert -o b.pb a.pb.zst || exit
allocprof convert -o c.pb.gz b.pb || exit
head -c 4 a.pb.zst | od -An -tx1
head -c 2 c.pb.gz | od -An -tx1
allocprof top --json c.pb.gz | grep -v '"file"' >c.json
allocprof top --json base.pb.gz | grep -v '"file"' >base.json
cmp c.json base.json && echo same
