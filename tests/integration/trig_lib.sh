# trig_lib.sh: what the shell drivers of the profiler's tests share
# (trig_tests.sh, file_safety.sh, prof_meta.sh). Sourced once a driver has
# read its arguments:
#   trig_setup NAME            $TMP, a fresh directory removed at exit (with
#                              $BG, a background process, killed first), the
#                              C locale, and no profiler setting inherited
#   wait_for SECONDS COMMAND...  until COMMAND succeeds, polling: tests wait
#                              for the event they check, never a fixed time
#   have_file FILE             FILE exists and is not empty
#   has_line FILE LINE         FILE has exactly that line

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
