#!/bin/sh
# compare_profilers.sh BUILD [REPS]: the cost of allocprof's heap profiler
# against heaptrack, gperftools' heap profiler and jemalloc's prof, each on
# the same workloads on this machine: wall time and peak RSS (GNU time's
# %e and %M; the median of REPS runs, default 3) and the size of what each
# wrote. The README's comparison table quotes bench/RESULTS.md, which holds
# this script's output.
#
# Workloads: bench_churn (C, 20 000 live small objects replaced at random)
# and CPython building and dropping a list of 2 million small objects (a
# real program, many small allocations; PYTHONMALLOC=malloc, so that every
# object is a malloc call each profiler sees). Each tool as its user would run it:
#   none        glibc malloc, no profiler
#   liballoc    liballoc.so preloaded, profiling off (the allocator alone)
#   allocprof   allocprof run (liballoc, sampled every 512 KiB, profile at exit)
#   heaptrack   heaptrack -o FILE PROG (every allocation recorded)
#   gperftools  libtcmalloc.so with HEAPPROFILE (every allocation tracked,
#               in-use profile at exit)
#   jemalloc    libjemalloc.so.2 with MALLOC_CONF=prof:true,prof_final:true
#               (sampled every 512 KiB, lg_prof_sample:19, profile at exit)
# Needs: apt-get install heaptrack libgoogle-perftools-dev libjemalloc2.
set -u
build=${1:?usage: compare_profilers.sh BUILD [REPS]}
reps=${2:-3}
build=$(cd "$build" && pwd)
lib=/usr/lib/x86_64-linux-gnu
py=$(python3 -c 'import sys; print(sys.executable)')
work=$(mktemp -d "${TMPDIR:-/tmp}/cmpprof.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
pyscript="$work/grow.py"
cat >"$pyscript" <<'EOF'
# two rounds: hold 2 million small objects, drop them
for _ in range(2):
    held = [(i, str(i)) for i in range(2_000_000)]
    del held
EOF

# run_one TOOL OUTDIR CMD...: one run; prints "seconds maxrss_kib"
run_one() {
  tool=$1 out=$2
  shift 2
  mkdir -p "$out"
  case $tool in
    none) set -- "$@" ;;
    liballoc) set -- env LD_PRELOAD="$build/liballoc/liballoc.so" "$@" ;;
    allocprof) set -- "$build/cli/allocprof" run -o "$out/allocprof.%p.pb.gz" -- "$@" ;;
    heaptrack) set -- heaptrack -o "$out/heaptrack" "$@" ;;
    gperftools) set -- env LD_PRELOAD="$lib/libtcmalloc.so" HEAPPROFILE="$out/gperf" "$@" ;;
    jemalloc)
      set -- env LD_PRELOAD="$lib/libjemalloc.so.2" \
        MALLOC_CONF="prof:true,prof_final:true,prof_prefix:$out/jeprof" "$@"
      ;;
  esac
  /usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>"$work/stderr" ||
    { echo "failed: $*" >&2; cat "$work/stderr" >&2; }
  cat "$work/time"
}

# median of the lines on stdin (numbers)
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

echo "| workload | profiler | wall s (median of $reps) | peak RSS MiB | written |"
echo "|---|---|---:|---:|---:|"
for w in churn python; do
  for tool in none liballoc allocprof heaptrack gperftools jemalloc; do
    : >"$work/t"
    : >"$work/m"
    for r in $(seq "$reps"); do
      out="$work/out.$w.$tool.$r"
      if [ $w = churn ]; then
        line=$(run_one $tool "$out" "$build/bench/bench_churn")
      else
        line=$(PYTHONMALLOC=malloc run_one $tool "$out" "$py" "$pyscript")
      fi
      echo "$line" | awk '{print $1}' >>"$work/t"
      echo "$line" | awk '{print $2}' >>"$work/m"
      size=$(du -sk "$out" | awk '{print $1}') # of the last run
    done
    t=$(median <"$work/t")
    m=$(median <"$work/m" | awk '{printf "%.0f", $1 / 1024}')
    echo "| $w | $tool | $t | $m | ${size} KiB |"
  done
done
