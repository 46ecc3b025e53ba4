#!/usr/bin/env bash
# trig_tests.sh LIBALLOC TRIG_HOST TRIG_CHECK CASE
#
# The profiler's triggers (libprof/triggers.c) on a real program, trig_host,
# run with LIBALLOC in LD_PRELOAD; what it writes is read back with
# trig_check (the formats library). Every profile written must read as a
# whole profile, and no temporary file may be left behind. CASE is one of:
#
# A process writes an exit profile only if it took a sample. Every case that
# expects one samples at 4 KiB (ALLOCPROF_RATE=4k, $SURE_RATE): trig_host
# makes at least one round of 200 allocations of 16..4111 bytes in every
# mode (a round of the threads mode: 256 of 32..2079, per thread), from
# which a 4 KiB rate draws about 75 samples on average (the default rate:
# less than 1). The cases of a sampled estimate (inuse, peak) use 256 KiB
# blocks at 64 KiB, each sampled with probability 0.98.
#
# Nothing here waits a fixed time: the dumps come from the profiler's own
# thread, later on a loaded machine, so a case waits for the files it
# expects (wait_for, or trig_host waits for them itself) and gives up only
# after a minute.
#
#   signal        ALLOCPROF_SIGNAL=USR2: a profile appears while the program
#                 runs on (its blocking read() is not interrupted), then the
#                 exit dump; output and exit status are the program's own
#   signal_number the same with ALLOCPROF_SIGNAL=12 (SIGUSR2's number)
#   interval      ALLOCPROF_INTERVAL=1, run until the third dump: >= 3
#                 dumps + exit, %n 0, 1, 2... without a gap, and not more
#                 dumps than seconds went by (+ 2)
#   exit_return   exit dump when main returns; exactly one file
#   exit_threads  exit() while 4 threads allocate: one whole exit profile, no
#                 hang (5 runs); then while the profiler thread dumps every
#                 10 ms as well (5 runs)
#   pthread_exit  main ends with pthread_exit while the profiler thread runs:
#                 the process still ends, with status 0 and its exit dump,
#                 long before its first interval dump (60 s)
#   inuse         ALLOCPROF_INUSE_INTERVAL=8m on a heap growing to 64 MiB
#                 (the profiler thread settles after each block): >= 4
#                 growth dumps, each with more in use than the last
#   peak_percent  ALLOCPROF_PEAK=50%: dumps while the heap reaches new highs
#                 (the profiler thread settles after each block),
#   peak_bytes    none while it regrows below the old high, more above it;
#                 ALLOCPROF_PEAK=8m the same
#   fork          a child that exit()s writes its own %p files, numbered from
#                 0, with interval dumps of its own (its profiler thread is
#                 made again; it runs until it has two); a child that
#                 _exit()s writes none
#   fork_late     the same with the fork after the parent's second dump (the
#                 child's thread is then made by the later fork handler)
#   stream_kill   ALLOCPROF_STREAM alone, every 0.2 s, then kill -9 once 5
#                 frames are in: every
#                 complete frame decodes, no profile file appears
#   stream_exit   ALLOCPROF_STREAM=...%p... with ALLOCPROF_OUT, run until the
#                 third dump: one frame per file written, the exit dump
#                 included
#   stream_fork   a stream without %p shared by parent and child: frames of
#                 both, none torn
#   tmpfiles      10 dumps and more at 0.05 s intervals: every file whole, no
#                 .tmp
#   bad.NAME      a bad setting: exactly one line on stderr naming the
#                 variable, stdout and exit status those of the program run
#                 without the profiler, no file written
set -u

. "$(dirname "$0")/trig_lib.sh"
trig_start trig LIB HOST CHECK CASE -- "$@"
SURE_RATE=ALLOCPROF_RATE=4k

# run ENV... -- ARGS...: trig_host under the profiler; stdout, stderr and the
# status in $TMP/stdout, $TMP/stderr, $STATUS.
run() {
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  "${AS_USER[@]}" env "${envs[@]}" LD_PRELOAD="$LIB" "$HOST" "$@" >"$TMP/stdout" 2>"$TMP/stderr"
  STATUS=$?
}

# The command prefix run() and bad_case() put before the program: empty, or
# for bad.not_writable as root, one that drops to user nobody.
AS_USER=()

# The profile files in $D matching a glob, sorted by their %n (the last
# dot-separated number before .pb.gz).
profiles() {
  (cd "$D" && ls $1 2>/dev/null) | sort -t. -k$2,$2n
}

# Every profile in $D reads whole; nothing temporary is left.
check_dir() {
  local left
  left=$(cd "$D" && ls -a | grep -E '\.tmp|^\.heap|~$')
  [ -z "$left" ] || fail "temporary files left behind: $left"
  local files
  files=$(cd "$D" && ls | grep -E '\.pb(\.gz|\.zst)?$')
  if [ -n "$files" ]; then
    (cd "$D" && "$CHECK" profile $files >"$TMP/check" 2>&1) || { cat "$TMP/check" >&2; fail "a profile does not read"; }
  fi
}

# The %n of each file of a list, space-separated; they must be 0, 1, 2...
check_sequence() {
  local want=0 f n
  for f in $1; do
    n=${f%.pb.gz}
    n=${n##*.}
    [ "$n" = "$want" ] || fail "sequence numbers not 0, 1, 2...: got $n where $want was due in: $(echo $1)"
    want=$((want + 1))
  done
}

expect_status() {
  [ "$STATUS" = "$1" ] || fail "exit status $STATUS, expected $1"
}

expect_no_stderr() {
  [ ! -s "$TMP/stderr" ] || fail "unexpected stderr: $(cat "$TMP/stderr")"
}



signal_case() { # signal_case SIGNAL_SETTING
  env ALLOCPROF_OUT="$D/heap.%p.%n.pb.gz" ALLOCPROF_SIGNAL="$1" $SURE_RATE LD_PRELOAD="$LIB" \
    "$HOST" wait "$TMP/stop" 7 >"$TMP/stdout" 2>"$TMP/stderr" &
  BG=$!
  wait_for 60 has_line "$TMP/stdout" ready || fail "the program did not start"
  kill -USR2 "$BG" || fail "cannot signal the program"
  wait_for 60 have_file "$D/heap.$BG.0.pb.gz" || fail "no profile after the signal"
  kill -0 "$BG" 2>/dev/null || fail "the program died of the signal"
  "$CHECK" profile "$D/heap.$BG.0.pb.gz" >/dev/null || fail "the signal's profile does not read"
  # a second signal, a second profile
  kill -USR2 "$BG"
  wait_for 60 have_file "$D/heap.$BG.1.pb.gz" || fail "no profile after the second signal"
  touch "$TMP/stop"
  wait "$BG"
  STATUS=$?
  local pid=$BG
  BG=
  expect_status 7
  expect_no_stderr
  [ "$(cat "$TMP/stdout")" = "$(printf 'ready\nbye')" ] || fail "stdout changed: $(cat "$TMP/stdout")"
  have_file "$D/heap.$pid.2.pb.gz" || fail "no exit profile"
  [ "$(ls "$D" | wc -l)" = 3 ] || fail "expected 3 files"
  check_dir
}

bad_case() { # bad_case VARIABLE ENV...: one line naming VARIABLE
  local var=$1
  shift
  "${AS_USER[@]}" "$HOST" hello 3 >"$TMP/plain.stdout" 2>"$TMP/plain.stderr"
  local plain=$?
  run "$@" -- hello 3
  [ "$STATUS" = "$plain" ] || fail "exit status $STATUS, $plain without the profiler"
  cmp -s "$TMP/stdout" "$TMP/plain.stdout" || fail "stdout changed: $(cat "$TMP/stdout")"
  [ "$(wc -l <"$TMP/stderr")" = 1 ] || fail "expected one line on stderr"
  grep -q "^allocprof: $var" "$TMP/stderr" || fail "the line does not start with allocprof: $var"
  grep -q "profiling is off" "$TMP/stderr" || fail "the line does not say profiling is off"
  [ -z "$(ls -A "$D")" ] || fail "files written"
}

case $CASE in
signal) signal_case USR2 ;;
signal_number) signal_case 12 ;;

interval)
  start=$SECONDS
  run ALLOCPROF_OUT="$D/heap.%n.pb.gz" ALLOCPROF_INTERVAL=1 $SURE_RATE -- until "$D/heap.2.pb.gz" 0 return
  took=$((SECONDS - start))
  expect_status 0
  expect_no_stderr
  files=$(profiles 'heap.*.pb.gz' 2)
  n=$(echo $files | wc -w)
  [ "$n" -ge 4 ] || fail "expected >= 3 interval dumps + the exit dump, got $n files"
  # a load can only delay the timer: never more dumps than seconds
  [ "$n" -le $((took + 3)) ] || fail "$n files in about $took s at one interval dump a second"
  check_sequence "$files"
  check_dir
  ;;

exit_return)
  run ALLOCPROF_OUT="$D/heap.%p.%n.pb.gz" $SURE_RATE -- run 200 4 return
  expect_status 4
  expect_no_stderr
  [ "$(cat "$TMP/stdout")" = done ] || fail "stdout changed"
  [ "$(ls "$D" | wc -l)" = 1 ] || fail "expected exactly one profile"
  ls "$D" | grep -qE '^heap\.[0-9]+\.0\.pb\.gz$' || fail "unexpected name $(ls "$D")"
  check_dir
  ;;

exit_threads)
  for i in 1 2 3 4 5; do
    rm -f "$D"/*
    run ALLOCPROF_OUT="$D/heap.%n.pb.gz" $SURE_RATE -- threads 4
    expect_status 4
    expect_no_stderr
    [ "$(ls "$D")" = heap.0.pb.gz ] || fail "run $i: expected exactly heap.0.pb.gz"
    check_dir
  done
  # the same while the profiler thread dumps every 10 ms: exit may come in
  # the middle of one, and waits for it
  for i in 1 2 3 4 5; do
    rm -f "$D"/*
    run ALLOCPROF_OUT="$D/heap.%n.pb.gz" $SURE_RATE ALLOCPROF_INTERVAL=0.01 -- threads 4
    expect_status 4
    expect_no_stderr
    check_sequence "$(profiles 'heap.*.pb.gz' 2)"
    check_dir
  done
  ;;

pthread_exit)
  # The process ends about a second after its worker (the profiler thread
  # looks once a second whether it is the last); lingering until the first
  # interval dump would leave a second file.
  start=$SECONDS
  run ALLOCPROF_OUT="$D/heap.%n.pb.gz" ALLOCPROF_INTERVAL=60 $SURE_RATE -- pthread_exit
  expect_status 0
  expect_no_stderr
  [ $((SECONDS - start)) -lt 50 ] || fail "the process lingered $((SECONDS - start)) s"
  [ "$(ls "$D")" = heap.0.pb.gz ] || fail "expected exactly the exit profile"
  check_dir
  ;;

inuse)
  run ALLOCPROF_OUT="$D/heap.%n.pb.gz" ALLOCPROF_RATE=64k ALLOCPROF_INUSE_INTERVAL=8m -- grow 64
  expect_status 0
  expect_no_stderr
  files=$(profiles 'heap.*.pb.gz' 2)
  n=$(echo $files | wc -w)
  [ "$n" -ge 5 ] || fail "expected >= 4 growth dumps + the exit dump, got $n files"
  check_sequence "$files"
  check_dir
  # each growth dump has more in use than the last; the exit dump (the last
  # file) may come after the heap stopped growing: no less than the last
  prev=-1
  last=$(echo $files | awk '{print $NF}')
  for f in $files; do
    in=$("$CHECK" inuse "$D/$f") || fail "$f does not read"
    if [ "$f" = "$last" ]; then
      [ "$in" -ge "$prev" ] || fail "$f: in use $in at exit, less than the previous $prev"
    else
      [ "$in" -gt "$prev" ] || fail "$f: in use $in, not more than the previous $prev"
    fi
    prev=$in
  done
  first=$("$CHECK" inuse "$D/heap.0.pb.gz")
  [ "$first" -ge $((4 << 20)) ] || fail "the first growth dump came early: $first bytes in use"
  # the control: without the setting, only the exit dump
  rm -f "$D"/*
  run ALLOCPROF_OUT="$D/heap.%n.pb.gz" ALLOCPROF_RATE=64k -- grow 64
  [ "$(ls "$D")" = heap.0.pb.gz ] || fail "without ALLOCPROF_INUSE_INTERVAL: $(ls "$D")"
  ;;

peak_percent | peak_bytes)
  margin=50%
  [ "$CASE" = peak_bytes ] && margin=8m
  run ALLOCPROF_OUT="$D/heap.%n.pb.gz" ALLOCPROF_RATE=64k ALLOCPROF_PEAK=$margin -- peak "$D"
  expect_status 0
  expect_no_stderr
  p1=$(sed -n 's/^phase1=//p' "$TMP/stdout")
  p2=$(sed -n 's/^phase2=//p' "$TMP/stdout")
  p3=$(sed -n 's/^phase3=//p' "$TMP/stdout")
  [ -n "$p1" ] && [ -n "$p3" ] || fail "unexpected output: $(cat "$TMP/stdout")"
  [ "$p1" -ge 2 ] || fail "growing to 32 MiB made $p1 peak dumps, expected >= 2"
  [ "$p2" = "$p1" ] || fail "regrowing to 16 MiB (below the peak) dumped: $p1 -> $p2"
  [ "$p3" -gt "$p2" ] || fail "growing to 96 MiB (a new peak) did not dump: $p2 -> $p3"
  # the exit dump, and no peak dump came late, after its phase was counted
  [ "$(ls "$D" | wc -l)" = $((p3 + 1)) ] || fail "expected $p3 peak dumps + the exit dump"
  check_sequence "$(profiles 'heap.*.pb.gz' 2)"
  check_dir
  ;;

fork | fork_late)
  late=0
  [ "$CASE" = fork_late ] && late=1
  run ALLOCPROF_OUT="$D/heap.%p.%n.pb.gz" ALLOCPROF_INTERVAL=1 $SURE_RATE -- fork "$D" $late
  expect_status 0
  expect_no_stderr
  read -r parent a b < <(sed -n 's/^parent=\([0-9]*\) a=\([0-9]*\) b=\([0-9]*\)$/\1 \2 \3/p' "$TMP/stdout")
  [ -n "${b:-}" ] || fail "unexpected output: $(cat "$TMP/stdout")"
  pf=$(profiles "heap.$parent.*.pb.gz" 3)
  af=$(profiles "heap.$a.*.pb.gz" 3)
  [ "$(echo $pf | wc -w)" -ge 3 ] || fail "parent: expected >= 2 interval dumps + exit, got: $(echo $pf)"
  [ "$(echo $af | wc -w)" -ge 3 ] || fail "child: expected >= 2 interval dumps + exit, got: $(echo $af)"
  check_sequence "$pf"
  check_sequence "$af"
  [ -z "$(profiles "heap.$b.*.pb.gz" 3)" ] || fail "the child that _exit()ed wrote a profile"
  [ "$(ls "$D" | wc -l)" = "$(( $(echo $pf | wc -w) + $(echo $af | wc -w) ))" ] || fail "files of other processes"
  check_dir
  ;;

stream_kill)
  env ALLOCPROF_STREAM="$D/snap.zst" ALLOCPROF_INTERVAL=0.2 LD_PRELOAD="$LIB" \
    "$HOST" forever >"$TMP/stdout" 2>"$TMP/stderr" &
  BG=$!
  wait_for 60 has_line "$TMP/stdout" ready || fail "the program did not start"
  frames() { "$CHECK" stream "$D/snap.zst" 2>/dev/null | sed -n 's/^frames=\([0-9]*\).*/\1/p'; }
  enough() { [ "$(frames)" -ge 5 ] 2>/dev/null; }
  wait_for 60 enough || fail "fewer than 5 frames after a minute"
  kill -9 "$BG" # wherever the program and its profiler are
  wait "$BG" 2>/dev/null
  BG=
  "$CHECK" stream "$D/snap.zst" >"$TMP/check" 2>&1 || { cat "$TMP/check" >&2; fail "the stream does not read"; }
  n=$(sed -n 's/^frames=\([0-9]*\).*/\1/p' "$TMP/check")
  [ "$n" -ge 5 ] || fail "only $n whole frames: $(cat "$TMP/check")"
  expect_no_stderr
  [ "$(ls "$D")" = snap.zst ] || fail "files besides the stream"
  ;;

stream_exit)
  run ALLOCPROF_STREAM="$D/snap.%p.zst" ALLOCPROF_OUT="$D/heap.%n.pb.gz" ALLOCPROF_INTERVAL=0.5 $SURE_RATE -- until "$D/heap.2.pb.gz" 0 exit
  expect_status 0
  expect_no_stderr
  nfiles=$(ls "$D" | grep -c '\.pb\.gz$')
  [ "$nfiles" -ge 4 ] || fail "expected >= 3 interval dumps + exit, got $nfiles"
  streams=$(ls "$D" | grep '^snap\.[0-9]*\.zst$')
  [ "$(echo "$streams" | wc -l)" = 1 ] || fail "expected one stream named by the pid: $streams"
  "$CHECK" stream "$D/$streams" >"$TMP/check" 2>&1 || { cat "$TMP/check" >&2; fail "the stream does not read"; }
  grep -qx "frames=$nfiles bad=0 truncated=0" "$TMP/check" || fail "expected $nfiles frames: $(cat "$TMP/check")"
  check_dir
  ;;

stream_fork)
  run ALLOCPROF_STREAM="$D/snap.zst" ALLOCPROF_OUT="$D/heap.%p.%n.pb.gz" ALLOCPROF_INTERVAL=0.5 -- fork "$D" 0
  expect_status 0
  expect_no_stderr
  read -r parent a b < <(sed -n 's/^parent=\([0-9]*\) a=\([0-9]*\) b=\([0-9]*\)$/\1 \2 \3/p' "$TMP/stdout")
  [ -n "${a:-}" ] || fail "unexpected output: $(cat "$TMP/stdout")"
  ls "$D" | grep -q "^heap\.$a\." || fail "the child wrote no profile"
  nfiles=$(ls "$D" | grep -c '\.pb\.gz$')
  "$CHECK" stream "$D/snap.zst" >"$TMP/check" 2>&1 || { cat "$TMP/check" >&2; fail "the stream does not read"; }
  grep -qx "frames=$nfiles bad=0 truncated=0" "$TMP/check" || fail "expected $nfiles frames (one per profile file): $(cat "$TMP/check")"
  check_dir
  ;;

tmpfiles)
  run ALLOCPROF_OUT="$D/heap.%n.pb.gz" ALLOCPROF_INTERVAL=0.05 -- until "$D/heap.9.pb.gz" 0 exit
  expect_status 0
  expect_no_stderr
  files=$(profiles 'heap.*.pb.gz' 2)
  [ "$(echo $files | wc -w)" -ge 10 ] || fail "expected many dumps, got $(echo $files | wc -w)"
  check_sequence "$files"
  check_dir
  ;;

bad.signal_name) bad_case ALLOCPROF_SIGNAL ALLOCPROF_OUT="$D/heap.%n.pb.gz" ALLOCPROF_SIGNAL=FOO ;;
bad.signal_kill) bad_case ALLOCPROF_SIGNAL ALLOCPROF_OUT="$D/heap.%n.pb.gz" ALLOCPROF_SIGNAL=SIGKILL ;;
bad.no_dir) bad_case ALLOCPROF_OUT ALLOCPROF_OUT="$D/nope/heap.%n.pb.gz" ;;
bad.rate) bad_case ALLOCPROF_RATE ALLOCPROF_OUT="$D/heap.%n.pb.gz" ALLOCPROF_RATE=lots ;;
bad.rate_and_signal) # two bad settings: still one line
  bad_case ALLOCPROF_RATE ALLOCPROF_OUT="$D/heap.%n.pb.gz" ALLOCPROF_RATE=lots ALLOCPROF_SIGNAL=FOO ;;
bad.ending) bad_case ALLOCPROF_OUT ALLOCPROF_OUT="$D/heap.%n.txt" ;;
bad.escape) bad_case ALLOCPROF_OUT ALLOCPROF_OUT="$D/heap.%q.pb" ;;
bad.interval) bad_case ALLOCPROF_INTERVAL ALLOCPROF_OUT="$D/heap.%n.pb.gz" ALLOCPROF_INTERVAL=soon ;;
bad.inuse) bad_case ALLOCPROF_INUSE_INTERVAL ALLOCPROF_OUT="$D/heap.%n.pb.gz" ALLOCPROF_INUSE_INTERVAL=-5 ;;
bad.peak) bad_case ALLOCPROF_PEAK ALLOCPROF_OUT="$D/heap.%n.pb.gz" ALLOCPROF_PEAK=lots ;;
bad.stream_dir) bad_case ALLOCPROF_STREAM ALLOCPROF_STREAM="$D/nope/snap.zst" ;;
bad.no_output) bad_case ALLOCPROF_SIGNAL ALLOCPROF_SIGNAL=USR2 ;;
bad.not_writable)
  if [ "$(id -u)" = 0 ]; then
    # root may write anywhere (CI runs as root): the program runs as user
    # nobody, without capabilities, from copies it can read
    command -v setpriv >/dev/null || { echo "trig.$CASE: skipped: root and no setpriv"; exit 77; }
    AS_USER=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --)
    mkdir "$TMP/bin"
    cp "$LIB" "$(dirname "$LIB")/liballoc_dump.so" "$HOST" "$TMP/bin/"
    LIB=$TMP/bin/$(basename "$LIB")
    HOST=$TMP/bin/$(basename "$HOST")
    chmod 755 "$TMP" "$TMP/bin" "$D"
  fi
  mkdir "$D/ro" && chmod 555 "$D/ro"
  # the directory really is closed to the user the program runs as
  "${AS_USER[@]}" sh -c 'touch "$1/probe"' sh "$D/ro" 2>/dev/null &&
    fail "the program's user can write into $D/ro: the case tests nothing"
  D=$D/ro
  bad_case ALLOCPROF_OUT ALLOCPROF_OUT="$D/heap.%n.pb.gz"
  ;;

*)
  echo "trig_tests.sh: unknown case $CASE" >&2
  exit 2
  ;;
esac
exit 0
