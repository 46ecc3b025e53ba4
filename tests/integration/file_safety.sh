#!/usr/bin/env bash
# file_safety.sh LIBALLOC TRIG_HOST TRIG_CHECK CASE
#
# What the profiler writes, on a real program (trig_host under LD_PRELOAD),
# when the file system is hostile or limited. CASE is one of:
#
#   stream_symlink  ALLOCPROF_STREAM names a symlink someone planted to a
#                   victim file: the victim is untouched, one line on stderr,
#                   the program runs on with its own output and status
#   out_symlink     a symlink planted at the profile's final name: the
#                   profile replaces the link, the victim is untouched
#   modes           profiles and stream are created 0600 whatever the umask
#   fsize           under `ulimit -f` too small for a profile: no SIGXFSZ (the
#                   program ends with its own status), one line saying the
#                   file is too large, no file or temporary left
#   kill_mid_dump   kill -9 while dumps run back to back: only whole profiles
#                   in the directory, nothing temporary
set -u
. "$(dirname "$0")/trig_lib.sh"
trig_start file_safety LIB HOST CHECK CASE -- "$@"
VICTIM=$TMP/victim
printf 'precious\n' >"$VICTIM"

run() { # run ENV... -- ARGS...
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  env "${envs[@]}" LD_PRELOAD="$LIB" "$HOST" "$@" >"$TMP/stdout" 2>"$TMP/stderr"
  STATUS=$?
}

victim_intact() {
  [ "$(cat "$VICTIM")" = precious ] || fail "the victim file was changed: $(head -c 80 "$VICTIM" | od -c | head -2)"
}

no_temporaries() {
  local left
  left=$(cd "$D" && ls -A | grep -vE '^[a-z]+\.[0-9.]*pb(\.gz|\.zst)?$|^[a-z]+\.stream$|^link$')
  [ -z "$left" ] || fail "files other than whole profiles left: $left"
}


count_profiles() { [ "$(cd "$D" && ls | grep -c '\.pb\.gz$')" -ge "$1" ]; }

case $CASE in
stream_symlink)
  ln -s "$VICTIM" "$D/snap.stream"
  run ALLOCPROF_STREAM="$D/snap.stream" ALLOCPROF_RATE=4k -- run 200 3 exit
  [ "$STATUS" = 3 ] || fail "exit status $STATUS, expected the program's 3"
  grep -qx done "$TMP/stdout" || fail "the program's output changed"
  [ "$(wc -l <"$TMP/stderr")" = 1 ] || fail "expected one line on stderr"
  grep -q ALLOCPROF_STREAM "$TMP/stderr" || fail "the line does not name ALLOCPROF_STREAM"
  victim_intact
  [ -L "$D/snap.stream" ] || fail "the planted link was replaced"
  ;;
out_symlink)
  ln -s "$VICTIM" "$D/heap.pb.gz"
  run ALLOCPROF_OUT="$D/heap.pb.gz" ALLOCPROF_RATE=4k -- run 200 0 exit
  [ "$STATUS" = 0 ] || fail "exit status $STATUS"
  victim_intact
  [ -f "$D/heap.pb.gz" ] && [ ! -L "$D/heap.pb.gz" ] || fail "the profile did not replace the link"
  "$CHECK" profile "$D/heap.pb.gz" >/dev/null || fail "the profile does not read"
  no_temporaries
  ;;
modes)
  (umask 022 && run ALLOCPROF_OUT="$D/heap.%n.pb.gz" ALLOCPROF_STREAM="$D/snap.stream" ALLOCPROF_RATE=4k -- run 100 0 exit
   [ "$STATUS" = 0 ] || exit 1) || fail "the program failed"
  for f in heap.0.pb.gz snap.stream; do
    [ -s "$D/$f" ] || fail "$f was not written"
    m=$(stat -c %a "$D/$f")
    [ "$m" = 600 ] || fail "$f has mode $m, expected 600"
  done
  ;;
fsize)
  # 1 KiB: the program's own output fits, a profile at rate 1 (3 KiB) does not
  (ulimit -f 1 && run ALLOCPROF_OUT="$D/heap.%n.pb.gz" ALLOCPROF_RATE=1 -- run 300 4 exit
   echo "$STATUS" >"$TMP/status")
  STATUS=$(cat "$TMP/status")
  [ "$STATUS" = 4 ] || fail "exit status $STATUS, expected the program's 4 (153 is SIGXFSZ)"
  grep -qx done "$TMP/stdout" || fail "the program's output changed"
  [ "$(wc -l <"$TMP/stderr")" = 1 ] || fail "expected one line on stderr"
  grep -qi "too large" "$TMP/stderr" || fail "the line does not say the file is too large"
  [ -z "$(ls -A "$D")" ] || fail "files left: $(ls -A "$D")"
  ;;
kill_mid_dump)
  env ALLOCPROF_OUT="$D/heap.%n.pb.gz" ALLOCPROF_INTERVAL=0.001 ALLOCPROF_RATE=1k LD_PRELOAD="$LIB" \
    "$HOST" forever >"$TMP/stdout" 2>"$TMP/stderr" &
  BG=$!
  wait_for 60 count_profiles 5 || fail "fewer than 5 profiles appeared"
  kill -9 "$BG"
  wait "$BG" 2>/dev/null
  BG=
  no_temporaries
  files=$(cd "$D" && ls | grep '\.pb\.gz$')
  (cd "$D" && "$CHECK" profile $files >"$TMP/check" 2>&1) || { cat "$TMP/check" >&2; fail "a profile does not read"; }
  ;;
*)
  echo "file_safety: unknown case $CASE" >&2
  exit 2
  ;;
esac
echo "file_safety.$CASE: ok"
