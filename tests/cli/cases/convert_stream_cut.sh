# a stream whose writer died mid-frame: a warning, the last good snapshot
allocprof convert -o c.folded snap_cut.zst; echo "rc=$?"
cat c.folded
allocprof top -n 1 snap_cut.zst | head -3
