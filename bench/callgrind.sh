#!/bin/sh
# Instruction counts (callgrind's Ir, whole process) of the bench workloads
# under liballoc, with profiling off and at the default rate with a fixed
# seed, so that two builds of the allocator can be compared instruction for
# instruction (a change to the fast path shows up here long before it shows
# up in wall time on a shared machine).
#
#   bench/callgrind.sh LIBALLOC_SO BENCH_DIR [SCALE] [WORKLOADS...]
#
# Prints one line per workload: name, Ir with ALLOCPROF_RATE=0, Ir with
# ALLOCPROF_RATE=524288 ALLOCPROF_SEED=1. Threaded workloads are run by
# valgrind one thread at a time; their counts can move by a few hundredths
# of a percent between runs.
#
# CALLGRIND_KEEP=DIR keeps the callgrind.out files there (DIR/WORKLOAD.RATE.out)
# for callgrind_annotate, e.g. the instructions inside the allocator's entry
# points: callgrind_annotate --inclusive=yes DIR/churn.0.out | grep -w free
set -eu
lib=$1
dir=$2
scale=${3:-0.2}
shift 2
[ $# -gt 0 ] && shift
workloads=${*:-churn larson xmalloc realloc large thread_churn}
if [ -n "${CALLGRIND_KEEP:-}" ]; then
  out=$CALLGRIND_KEEP
  mkdir -p "$out"
else
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
ir() { # mode workload -> total Ir
  log="$out/$2.$1.log"
  env -u ALLOCPROF_OUT -u ALLOCPROF_STREAM LD_PRELOAD="$lib" ALLOCPROF_RATE="$1" ALLOCPROF_SEED=1 \
    valgrind --tool=callgrind --callgrind-out-file="$out/$2.$1.out" "$dir/bench_$2" "$scale" \
    >"$log" 2>&1 || { echo "bench_$2 failed:" >&2; cat "$log" >&2; exit 1; }
  sed -n 's/^==[0-9]*== Collected : \([0-9]*\).*/\1/p' "$log"
}
printf '%-14s %14s %14s\n' workload rate=0 rate=524288
for w in $workloads; do
  printf '%-14s %14s %14s\n' "$w" "$(ir 0 "$w")" "$(ir 524288 "$w")"
done
