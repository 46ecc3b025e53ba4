# snapshot stream: the last, one by index, all of them
allocprof convert -o last.folded snap.zst && cat last.folded
allocprof convert --index 0 -o first.folded snap.zst && cat first.folded
allocprof convert --index 3 -o none.folded snap.zst; echo "rc=$?"
allocprof convert --all -o 's.%n.pb.gz' snap.zst; echo "rc=$?"
ls s.*.pb.gz
allocprof diff s.0.pb.gz s.2.pb.gz | head -4
