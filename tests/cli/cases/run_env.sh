# needs: preload
# the environment PROG gets (liballoc.so before an LD_PRELOAD already set),
# its exit status, the profiles listed
LD_PRELOAD=/some/other.so allocprof run --rate 1k --interval 200 --signal USR2 -o 'p.%p.pb.gz' -- sh -c '
  echo "rate=$ALLOCPROF_RATE interval=$ALLOCPROF_INTERVAL signal=$ALLOCPROF_SIGNAL"
  case "$LD_PRELOAD" in /*/liballoc.so:/some/other.so) echo "preload: liballoc first";; *) echo "preload: $LD_PRELOAD";; esac
  case "$ALLOCPROF_OUT" in /*/p.%p.%n.pb.gz) echo "out: absolute, numbered";; *) echo "out: $ALLOCPROF_OUT";; esac
  cp base.pb.gz "p.$$.pb.gz"
  exit 3' 2>err
echo "rc=$?"
sed -E 's/p\.[0-9]+\./p.PID./; /ld\.so/d' err
