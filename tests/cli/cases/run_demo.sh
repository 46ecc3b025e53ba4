# needs: preload
# the bundled demo under the real profiler at rate 1: its 64 cache buffers of
# 64 KiB and their table of 64 pointers are exactly 4194304 + 512 bytes in
# build_cache; top and flame open the profile
allocprof run --rate 1 -o 'demo.%p.pb.gz' -- "$HEAPDEMO" 2>err; echo "rc=$?"
sed -E 's/demo\.[0-9]+\./demo.PID./' err
allocprof top --json demo.*.pb.gz | grep -E '"function": "build_cache"' | sort -u
allocprof flame -o demo.svg demo.*.pb.gz && grep -c '<title>build_cache' demo.svg
