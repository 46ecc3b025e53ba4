#!/usr/bin/env bash
# stress_load.sh [-n RUNS] [-b BUSY] [-j JOBS] [-R REGEX] [BUILD_DIR]
#
# Flake hunt: runs a build's ctest suite RUNS times in a row (default 3)
# while BUSY busy loops (default: one per core) keep every core loaded, and
# reports which tests failed in which run. A test that waits for the event it
# checks passes here as it does on an idle machine; one that waits a fixed
# time, or expects work on another thread to be done "by now", fails here
# first.
#
#   -n RUNS    how many times to run the suite (default 3)
#   -b BUSY    busy loops (default: nproc)
#   -j JOBS    ctest -j (default 2)
#   -R REGEX   only the tests ctest -R REGEX selects (default: all)
#   BUILD_DIR  a configured and built tree (default: build)
#
# The busy loops are killed however the script ends (trap). Exit status 0
# when every run passed, 1 when some failed, 2 on bad arguments. Each run's
# ctest output is kept in $TMPDIR/stress_load.PID/run.N.log.
set -u

runs=3
busy=$(nproc 2>/dev/null || echo 2)
jobs=2
regex=
usage() {
  sed -n '2,3p' "$0" | sed 's/^# //' >&2
  exit 2
}
while getopts "n:b:j:R:h" opt; do
  case $opt in
  n) runs=$OPTARG ;;
  b) busy=$OPTARG ;;
  j) jobs=$OPTARG ;;
  R) regex=$OPTARG ;;
  *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -le 1 ] || usage
build=${1:-build}
case "$runs$busy$jobs" in *[!0-9]*) usage ;; esac
[ "$runs" -ge 1 ] || usage
if [ ! -f "$build/CTestTestfile.cmake" ]; then
  echo "stress_load.sh: $build is not a configured build tree" >&2
  exit 2
fi

logs=$(mktemp -d "${TMPDIR:-/tmp}/stress_load.XXXXXX") || exit 2
pids=()
stop_busy() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  pids=()
}
trap stop_busy EXIT
trap 'stop_busy; exit 130' INT TERM

for ((i = 0; i < busy; i++)); do
  bash -c 'while :; do :; done' &
  pids+=($!)
done
echo "stress_load: $busy busy loops (pids ${pids[*]}), $runs runs of ctest -j$jobs${regex:+ -R '$regex'} in $build"

args=(--test-dir "$build" --output-on-failure -j "$jobs")
[ -n "$regex" ] && args+=(-R "$regex")
failed_runs=0
declare -A failures=()
for ((r = 1; r <= runs; r++)); do
  start=$SECONDS
  ctest "${args[@]}" >"$logs/run.$r.log" 2>&1
  rc=$?
  summary=$(grep -E '^[0-9]+% tests passed' "$logs/run.$r.log" | tail -1)
  echo "run $r: ${summary:-ctest exited $rc without a summary} ($((SECONDS - start)) s)"
  if [ $rc -ne 0 ]; then
    failed_runs=$((failed_runs + 1))
    # the list ctest prints at the end: "  12 - name (Failed)"
    while read -r name; do
      [ -n "$name" ] || continue
      echo "  failed: $name"
      failures[$name]=$((${failures[$name]:-0} + 1))
    done < <(sed -n '/^The following tests FAILED:/,$ s/^[[:space:]]*[0-9]\+ - \([^ ]*\) .*/\1/p' "$logs/run.$r.log")
  fi
done

stop_busy
if [ $failed_runs -eq 0 ]; then
  echo "stress_load: all $runs runs passed (logs in $logs)"
  exit 0
fi
echo "stress_load: $failed_runs of $runs runs failed (logs in $logs):"
for name in "${!failures[@]}"; do echo "  $name failed in ${failures[$name]} of $runs runs"; done
exit 1
