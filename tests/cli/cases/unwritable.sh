# outputs that cannot be written: one line, exit 2, nothing left behind
allocprof merge -o /nonexistent/dir/m.pb.gz base.pb.gz; echo "rc=$?"
allocprof convert -o base.pb.gz/x.pb copy.pb; echo "rc=$?"
allocprof diff -o /nonexistent/d.pb.gz base.pb.gz grown.pb.gz >/dev/null; echo "rc=$?"
allocprof flame -o /nonexistent/f.svg base.pb.gz; echo "rc=$?"
allocprof convert --all -o '/nonexistent/s.%n.pb' snap.zst; echo "rc=$?"
allocprof top base.pb.gz >/dev/full; echo "rc=$?"
