# trig_lib.sh: what the shell drivers of the profiler's tests share
# (trig_tests.sh, file_safety.sh, prof_meta.sh, prof_peak.sh, out_owner.sh).
# Sourced first:
#   trig_start NAME VAR... -- "$@"   a driver's start: one argument per VAR
#                              (else the usage line, exit 2), each VAR set
#                              to its argument, made absolute but GO (a
#                              command, maybe empty) and CASE; then
#                              trig_setup NAME, and $D ($TMP/out) made
#   fail MESSAGE...            "NAME.CASE: FAIL: MESSAGE" on stderr, what $D
#                              holds, and $TMP's stdout, stderr and check
#                              files (the program's), then exit 1
#   trig_setup NAME            $TMP, a fresh directory removed at exit (with
#                              $BG, a background process, killed first), the
#                              C locale, and no profiler setting inherited
#   wait_for SECONDS COMMAND...  until COMMAND succeeds, polling: tests wait
#                              for the event they check, never a fixed time
#   have_file FILE             FILE exists and is not empty
#   has_line FILE LINE         FILE has exactly that line

trig_start() {
  TRIG_NAME=$1
  shift
  local vars=() v
  while [ "$1" != "--" ]; do
    vars+=("$1")
    shift
  done
  shift
  if [ $# -ne ${#vars[@]} ]; then
    echo "usage: $(basename "$0") ${vars[*]}" >&2
    exit 2
  fi
  for v in "${vars[@]}"; do
    case $v in
      GO | CASE) printf -v "$v" '%s' "$1" ;;
      *) printf -v "$v" '%s' "$(readlink -f "$1")" ;;
    esac
    shift
  done
  trig_setup "$TRIG_NAME"
  D=$TMP/out
  mkdir "$D"
}

fail() {
  echo "$TRIG_NAME.$CASE: FAIL: $*" >&2
  echo "--- files in $D:" >&2
  ls -laR "$D" >&2
  local f
  for f in stdout stderr check; do
    [ -s "$TMP/$f" ] && { echo "--- $f:" >&2; cat "$TMP/$f" >&2; }
  done
  exit 1
}

trig_setup() {
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/allocprof-$1.XXXXXX") || exit 1
  BG=
  trap trig_cleanup EXIT
  export LC_ALL=C
  unset ALLOCPROF_OUT ALLOCPROF_STREAM ALLOCPROF_SIGNAL ALLOCPROF_INTERVAL \
        ALLOCPROF_INUSE_INTERVAL ALLOCPROF_PEAK ALLOCPROF_RATE ALLOCPROF_SEED \
        ALLOCPROF_MAX_FRAMES ALLOCPROF_RUN_LOG ALLOCPROF_RUN_PID ALLOCPROF_NO_CHILDREN \
        ALLOCPROF_OUT_OWNER \
        LD_PRELOAD
}

trig_cleanup() {
  [ -n "$BG" ] && kill -9 "$BG" 2>/dev/null
  chmod -R u+w "$TMP" 2>/dev/null # a case may have made a directory unwritable
  rm -rf "$TMP"
}

wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.05
  done
}

have_file() { [ -s "$1" ]; }
has_line() { grep -qx "$2" "$1" 2>/dev/null; }
