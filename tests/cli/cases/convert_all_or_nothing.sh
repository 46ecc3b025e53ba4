# convert --all is all or nothing: a stream whose last frame is no profile
# writes no file at all (nor leaves a temporary), exit 2
allocprof convert --all -o 'part.%n.pb.gz' snap_badlast.zst; echo "rc=$?"
echo "files left: $(ls -A | grep -c -e '^part' -e tmp)"
allocprof convert --all -o 'part.%n.pb.gz' snap.zst; echo "rc=$?"
ls part.*
