# a character device at -o or --junit (what /dev/null is, for root) is
# refused and stays a device; skipped where mknod is not allowed
mknod mynull c 1 3 2>/dev/null || { echo "SKIP: mknod needs root"; exit 77; }
allocprof convert -o mynull base.pb.gz; echo "rc=$?"
allocprof flame -o mynull base.pb.gz; echo "rc=$?"
allocprof gate --base base.pb.gz --junit mynull base.pb.gz >/dev/null; echo "rc=$?"
test -c mynull && echo "mynull: still a character device"
