# needs: preload
# the environment PROG gets (liballoc.so before an LD_PRELOAD already set),
# its exit status, the profiles listed: the demo's, which PROG runs, and
# not the file PROG itself writes at a profile's name (with a builtin: sh
# writes no profile, dash leaves with _exit). At 1 KiB the demo draws
# thousands of samples (cp's 26 KiB, whose profile was listed here before,
# drew 16 on average)
LD_PRELOAD=/some/other.so allocprof run --rate 1k --interval 200 --signal USR2 -o 'p.%p.pb.gz' -- sh -c '
  echo "rate=$ALLOCPROF_RATE interval=$ALLOCPROF_INTERVAL signal=$ALLOCPROF_SIGNAL"
  case "$LD_PRELOAD" in /*/liballoc.so*:/some/other.so) echo "preload: liballoc first";; *) echo "preload: $LD_PRELOAD";; esac
  case "$ALLOCPROF_OUT" in /*/p.%p.%n.pb.gz) echo "out: absolute, numbered";; *) echo "out: $ALLOCPROF_OUT";; esac
  printf "not a profile" >"p.$$.0.pb.gz"
  "$HEAPDEMO" >/dev/null
  exit 3' 2>err
echo "rc=$?"
sed -E 's/p\.[0-9]+\./p.PID./; /ld\.so/d' err
