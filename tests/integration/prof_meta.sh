#!/usr/bin/env bash
# prof_meta.sh LIBALLOC TRIG_HOST TRIG_CHECK ALLOCPROF GO CASE
#
# What a profile says about itself, which processes write one, and what
# `allocprof run` lists (issue 10 §2). trig_host is the program profiled;
# trig_check reads the files back (its "comments" prints a profile's pprof
# comments); GO may be empty (the go tool pprof check is then left out).
# Nothing waits a fixed time: a case waits for the file or line it expects,
# and gives up after a minute. CASE is one of:
#
#   comments       a signal dump, then the exit dump: trigger=signal seq=0,
#                  then trigger=exit seq=1; pid, cmdline (the program and its
#                  arguments), rate and a UTC time within the run; the same
#                  comments from `go tool pprof -comments` and in the header
#                  of `allocprof top`
#   exit_no_sample a process that never took a sample (rate 0) writes no
#                  exit profile, nor a stream frame; the same program at
#                  rate 1 does
#   signal_rate0   at rate 0 a signal dump still writes (trigger=signal,
#                  rate=0); the exit dump then writes nothing
#   run_children   `allocprof run` on a shell script whose children fork and
#                  exec allocating programs: every profile written is listed,
#                  once, and nothing else; also with a pattern without %p
#   run_nested     a run inside a run: the outer one lists the inner one's
#                  profiles too, in another directory
#   freed_note     a program that frees all it allocated before exit: top's
#                  note names -i alloc_space and ALLOCPROF_PEAK; with
#                  ALLOCPROF_PEAK=10% the last peak profile shows the heap
#                  at its high, without the note
#   run_no_children  --no-children: only PROG's profile (PROG execs
#                  trig_host, which keeps its pid and stays profiled); its
#                  children, forked and exec'd, run as usual and write none;
#                  a forked child that exit()s writes none either (control:
#                  without --no-children it does); an exec'd child does not
#                  even load the dumping half (liballoc_dump.so)
set -u

. "$(dirname "$0")/trig_lib.sh"
trig_start prof_meta LIB HOST CHECK ALLOCPROF GO CASE -- "$@"
cd / || exit 1 # run lists paths under its working directory relative to it

# comment FILE KEY: the value of FILE's comment KEY=...
comment() {
  "$CHECK" comments "$1" | sed -n "s/^$2=//p"
}

# expect_comment FILE KEY VALUE
expect_comment() {
  local got
  got=$(comment "$1" "$2")
  [ "$got" = "$3" ] || fail "$(basename "$1"): $2=$got, expected $2=$3"
}

# The profiles run listed on stderr ($TMP/stderr), sorted, one a line.
listed() {
  sed -n 's/^allocprof: profile written: //p' "$TMP/stderr" | sort
}

# Every .pb.gz under $D, sorted, one a line.
on_disk() {
  find "$D" -name '*.pb.gz' | sort
}

# Start a background trig_host in "wait" mode under the given settings.
start_waiting() {
  env "$@" LD_PRELOAD="$LIB" "$HOST" wait "$TMP/stop" 7 >"$TMP/stdout" 2>"$TMP/stderr" &
  BG=$!
  wait_for 60 has_line "$TMP/stdout" ready || fail "the program did not start"
}

stop_waiting() {
  touch "$TMP/stop"
  wait "$BG"
  STATUS=$?
  PID=$BG
  BG=
  [ "$STATUS" = 7 ] || fail "exit status $STATUS, expected 7"
}

case $CASE in
comments)
  before=$(date -u +%s)
  # (4 KiB: the exit profile needs a sample; the program's first 200
  # allocations of 16..4111 bytes draw about 75, at 64 KiB only 6)
  start_waiting ALLOCPROF_OUT="$D/heap.%p.%n.pb.gz" ALLOCPROF_SIGNAL=USR2 ALLOCPROF_RATE=4k
  kill -USR2 "$BG" || fail "cannot signal the program"
  wait_for 60 have_file "$D/heap.$BG.0.pb.gz" || fail "no profile after the signal"
  stop_waiting
  after=$(date -u +%s)
  [ ! -s "$TMP/stderr" ] || fail "unexpected stderr"
  sig=$D/heap.$PID.0.pb.gz
  ext=$D/heap.$PID.1.pb.gz
  have_file "$ext" || fail "no exit profile"
  expect_comment "$sig" trigger signal
  expect_comment "$sig" seq 0
  expect_comment "$ext" trigger exit
  expect_comment "$ext" seq 1
  for f in "$sig" "$ext"; do
    expect_comment "$f" pid "$PID"
    expect_comment "$f" rate 4096
    expect_comment "$f" cmdline "$HOST wait $TMP/stop 7"
    t=$(comment "$f" time)
    [[ $t =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$ ]] || fail "time=$t is not ISO 8601 UTC"
    secs=$(date -u -d "${t%Z}" +%s) || fail "time=$t does not parse"
    [ "$secs" -ge "$before" ] && [ "$secs" -le "$after" ] || fail "time=$t outside the run"
    # exactly one comment per key: a parser may take the first
    dup=$("$CHECK" comments "$f" | cut -d= -f1 | sort | uniq -d)
    [ -z "$dup" ] || fail "$(basename "$f"): keys given twice: $dup"
  done
  # allocprof top prints them in its header, before the totals
  "$ALLOCPROF" top -n 1 "$ext" >"$TMP/top" || fail "allocprof top failed"
  "$CHECK" comments "$ext" | sed 's/^/Comment: /' >"$TMP/want"
  sed -n '/^Comment: /p' "$TMP/top" | cmp -s - "$TMP/want" || fail "top's header: $(head -8 "$TMP/top")"
  [ "$(sed -n 2p "$TMP/top")" = "Comment: trigger=exit" ] || fail "top: comments not first in the header"
  "$ALLOCPROF" top --json -n 1 "$ext" | grep -q '"comments": \["trigger=exit", "pid='"$PID"'"' ||
    fail "top --json has no comments"
  if [ -n "$GO" ] && command -v "$GO" >/dev/null 2>&1; then
    export HOME=${HOME:-$TMP} PPROF_TMPDIR=$TMP
    "$GO" tool pprof -comments "$ext" >"$TMP/go" 2>"$TMP/go.err" || fail "go tool pprof -comments: $(cat "$TMP/go.err")"
    "$CHECK" comments "$ext" | cmp -s - "$TMP/go" || fail "go tool pprof -comments: $(cat "$TMP/go")"
  else
    echo "prof_meta.$CASE: go not found: go tool pprof -comments not checked"
  fi
  ;;

exit_no_sample)
  env ALLOCPROF_OUT="$D/heap.%p.%n.pb.gz" ALLOCPROF_STREAM="$D/snap.zst" ALLOCPROF_RATE=0 \
    LD_PRELOAD="$LIB" "$HOST" run 100 3 exit >"$TMP/stdout" 2>"$TMP/stderr"
  STATUS=$?
  [ "$STATUS" = 3 ] || fail "exit status $STATUS, expected 3"
  [ ! -s "$TMP/stderr" ] || fail "unexpected stderr"
  [ -z "$(on_disk)" ] || fail "a process that took no sample wrote an exit profile"
  "$CHECK" stream "$D/snap.zst" >"$TMP/check" 2>&1 || fail "the stream does not read: $(cat "$TMP/check")"
  grep -qx "frames=0 bad=0 truncated=0" "$TMP/check" || fail "the stream got a frame: $(cat "$TMP/check")"
  # the control: at rate 1 the same program takes samples and writes
  env ALLOCPROF_OUT="$D/heap.%p.%n.pb.gz" ALLOCPROF_RATE=1 LD_PRELOAD="$LIB" \
    "$HOST" run 100 3 exit >"$TMP/stdout" 2>"$TMP/stderr"
  [ "$(on_disk | wc -l)" = 1 ] || fail "at rate 1: expected one exit profile"
  expect_comment "$(on_disk)" trigger exit
  ;;

signal_rate0)
  start_waiting ALLOCPROF_OUT="$D/heap.%p.%n.pb.gz" ALLOCPROF_SIGNAL=USR2 ALLOCPROF_RATE=0
  kill -USR2 "$BG" || fail "cannot signal the program"
  wait_for 60 have_file "$D/heap.$BG.0.pb.gz" || fail "no profile after the signal at rate 0"
  stop_waiting
  expect_comment "$D/heap.$PID.0.pb.gz" trigger signal
  expect_comment "$D/heap.$PID.0.pb.gz" rate 0
  [ "$(on_disk | wc -l)" = 1 ] || fail "expected the signal's profile only (no exit profile at rate 0)"
  ;;

run_children)
  # children that exec (in the background, in a subshell, through sh -c),
  # and PROG itself; each trig_host allocates, so at rate 1 each writes
  cat >"$TMP/script.sh" <<EOF
"$HOST" hello 0 >/dev/null &
"$HOST" hello 0 >/dev/null &
wait
( exec "$HOST" run 20 0 return >/dev/null )
sh -c 'exec "$HOST" hello 0' >/dev/null
echo script done
EOF
  for pattern in "$D/h.%p.%n.pb.gz" "$D/nopid.%n.pb.gz"; do
    rm -rf "${D:?}"/*
    "$ALLOCPROF" run --rate 1 -o "$pattern" -- sh "$TMP/script.sh" >"$TMP/stdout" 2>"$TMP/stderr"
    STATUS=$?
    [ "$STATUS" = 0 ] || fail "$pattern: exit status $STATUS"
    [ "$(cat "$TMP/stdout")" = "script done" ] || fail "$pattern: stdout changed"
    [ "$(listed)" = "$(on_disk)" ] || fail "$pattern: listed: $(listed) on disk: $(on_disk)"
    [ -z "$(sed -n 's/^allocprof: profile written: //p' "$TMP/stderr" | sort | uniq -d)" ] ||
      fail "$pattern: a profile listed twice"
    n=0
    for f in $(on_disk); do
      case $(comment "$f" cmdline) in "$HOST "*) n=$((n + 1)) ;; esac
      expect_comment "$f" trigger exit
    done
    [ "$n" = 4 ] || fail "$pattern: $n profiles of trig_host, expected 4"
  done
  ;;

run_nested)
  mkdir "$D/inner"
  "$ALLOCPROF" run --rate 1 -o "$D/outer.%p.pb.gz" -- sh -c "
    '$ALLOCPROF' run --rate 1 -o '$D/inner/in.%p.pb.gz' -- '$HOST' hello 0 2>'$TMP/inner.stderr'
    exec '$HOST' hello 5" >"$TMP/stdout" 2>"$TMP/stderr"
  STATUS=$?
  [ "$STATUS" = 5 ] || fail "exit status $STATUS, expected 5"
  [ -n "$(find "$D/inner" -name 'in.*.pb.gz')" ] || fail "the inner run wrote nothing"
  grep -q "profile written: $D/inner/in\." "$TMP/inner.stderr" || fail "the inner run did not list its own"
  [ "$(listed)" = "$(on_disk)" ] || fail "listed: $(listed) on disk: $(on_disk)"
  ;;

freed_note)
  env ALLOCPROF_OUT="$D/heap.%n.pb.gz" ALLOCPROF_RATE=64k LD_PRELOAD="$LIB" "$HOST" freed 32 \
    >"$TMP/stdout" 2>"$TMP/stderr" || fail "exit status $?"
  [ "$(on_disk)" = "$D/heap.0.pb.gz" ] || fail "expected the exit profile only"
  "$ALLOCPROF" top "$D/heap.0.pb.gz" >"$TMP/top" || fail "allocprof top failed"
  note=$(sed -n 's/^Note: //p' "$TMP/top")
  case $note in
  "in use is "*"-i alloc_space"*"ALLOCPROF_PEAK=10%"*) ;;
  *) fail "no note on a freed heap: $(head -12 "$TMP/top")" ;;
  esac
  "$ALLOCPROF" top -i alloc_space "$D/heap.0.pb.gz" | grep -q '^Note' && fail "a note for alloc_space"
  # following its advice: the peak profiles hold the heap at its high
  rm -f "$D"/*
  env ALLOCPROF_OUT="$D/heap.%n.pb.gz" ALLOCPROF_RATE=64k ALLOCPROF_PEAK=10% LD_PRELOAD="$LIB" \
    "$HOST" freed 32 >"$TMP/stdout" 2>"$TMP/stderr" || fail "ALLOCPROF_PEAK: exit status $?"
  n=$(on_disk | wc -l)
  [ "$n" -ge 2 ] || fail "ALLOCPROF_PEAK=10%: no peak profile"
  last_peak=$D/heap.$((n - 2)).pb.gz
  expect_comment "$last_peak" trigger peak
  in=$("$CHECK" inuse "$last_peak")
  [ "$in" -ge $((16 << 20)) ] || fail "the last peak profile holds $in bytes, not the heap's high"
  "$ALLOCPROF" top "$last_peak" | grep -q '^Note' && fail "a note on the peak profile"
  ;;

run_no_children)
  # PROG is sh; it runs a child (fork + exec) that allocates, then execs
  # trig_host, which keeps PROG's pid
  script='echo "prog=$$"; "$1" hello 4; echo "child=$?"; grep -q liballoc_dump /proc/self/maps && echo "child: dumping half loaded"; exec "$1" run 20 0 return'
  "$ALLOCPROF" run --no-children --rate 1 -o "$D/h.%p.pb.gz" -- sh -c "$script" sh "$HOST" \
    >"$TMP/stdout" 2>"$TMP/stderr"
  STATUS=$?
  [ "$STATUS" = 0 ] || fail "exit status $STATUS"
  prog=$(sed -n 's/^prog=//p' "$TMP/stdout")
  [ "$(cat "$TMP/stdout")" = "$(printf 'prog=%s\nhello\nchild=4\ndone' "$prog")" ] ||
    fail "the program's output changed"
  [ "$(on_disk)" = "$D/h.$prog.pb.gz" ] || fail "expected PROG's profile only, got: $(on_disk)"
  [ "$(listed)" = "$D/h.$prog.pb.gz" ] || fail "listed: $(listed)"
  case $(comment "$D/h.$prog.pb.gz" cmdline) in
  "$HOST run 20 0 return") ;;
  *) fail "PROG's profile is not trig_host's after the exec" ;;
  esac
  # a child forked without exec, which exit()s: none with --no-children ...
  rm -f "$D"/*
  "$ALLOCPROF" run --no-children --rate 1 -o "$D/f.%p.pb.gz" -- "$HOST" forkexit >"$TMP/stdout" 2>"$TMP/stderr"
  [ $? = 0 ] || fail "forkexit: exit status"
  read -r parent child < <(sed -n 's/^parent=\([0-9]*\) child=\([0-9]*\)$/\1 \2/p' "$TMP/stdout")
  [ -n "${child:-}" ] || fail "forkexit: unexpected output"
  [ "$(on_disk)" = "$D/f.$parent.pb.gz" ] || fail "forkexit --no-children: $(on_disk)"
  # ... and its profile without it
  rm -f "$D"/*
  "$ALLOCPROF" run --rate 1 -o "$D/f.%p.pb.gz" -- "$HOST" forkexit >"$TMP/stdout" 2>"$TMP/stderr"
  read -r parent child < <(sed -n 's/^parent=\([0-9]*\) child=\([0-9]*\)$/\1 \2/p' "$TMP/stdout")
  [ "$(on_disk | wc -l)" = 2 ] && [ -f "$D/f.$child.pb.gz" ] || fail "forkexit: the child wrote no profile: $(on_disk)"
  [ "$(listed)" = "$(on_disk)" ] || fail "forkexit: listed: $(listed)"
  ;;

*)
  echo "prof_meta.sh: unknown case $CASE" >&2
  exit 2
  ;;
esac
exit 0
