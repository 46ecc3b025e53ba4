# needs: preload
# run sets every trigger: --peak, --inuse-interval and --stream become
# ALLOCPROF_PEAK, ALLOCPROF_INUSE_INTERVAL and ALLOCPROF_STREAM (made
# absolute), checked first with the library's parsers (one line, exit 2,
# the program does not run: it would print "started")
allocprof run --peak 10% --inuse-interval 64m --stream 's.%p.zst' -o 'e.%p.pb.gz' -- sh -c '
  echo "peak=$ALLOCPROF_PEAK inuse=$ALLOCPROF_INUSE_INTERVAL"
  case "$ALLOCPROF_STREAM" in /*/s.%p.zst) echo "stream: absolute";; *) echo "stream: $ALLOCPROF_STREAM";; esac'
echo "rc=$?"
allocprof run --peak lots -- sh -c 'echo started'; echo "rc=$?"
allocprof run --inuse-interval 1.5q -- sh -c 'echo started'; echo "rc=$?"
allocprof run --stream 'x.%n.zst' -- sh -c 'echo started'; echo "rc=$?"
allocprof run --stream '' -- sh -c 'echo started'; echo "rc=$?"
allocprof run --stream nodir/s.zst -- sh -c 'echo started'; echo "rc=$?"
echo "=== the demo with a stream and the peak: run lists the stream, and names the profile of the highest in-use total"
ALLOCPROF_SEED=1 allocprof run --rate 16k --peak 5% --stream demo.zst -- "$HEAPDEMO" >/dev/null 2>err
echo "rc=$?"
grep -c '^allocprof: stream written: demo.zst$' err
# a trigger that writes again and again numbers -o's files (.%n added)
grep -cE '^allocprof: profile written: allocprof\.[0-9]+\.[0-9]+\.pb\.gz$' err | awk '{print ($1 >= 2) ? "profiles: 2 or more" : "profiles: " $1}'
grep -c '^allocprof: the peak: ' err
peak=$(sed -n 's/^allocprof: the peak: \([^ ]*\) .*/\1/p' err)
for f in $(sed -n 's/^allocprof: profile written: //p' err); do
  allocprof top --json "$f" | awk -F': ' -v f="$f" '/"type": "inuse_space"/ {v = $0; sub(/.*"value": /, "", v); sub(/}.*/, "", v); print v, f}'
done | sort -n | tail -1 | awk -v p="$peak" '{print ($2 == p) ? "the peak is the profile of the highest inuse_space" : "the peak is " p ", the highest " $2}'
allocprof top demo.zst 2>&1 | grep -cE '^Comment: trigger=(peak|exit)'
