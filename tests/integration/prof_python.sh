#!/bin/bash
# prof_python.sh: python3 with liballoc preloaded and ALLOCPROF_OUT set, at
# rate 1 and at the default rate: the program runs as without the profiler,
# exactly one profile appears per run (the exit dump), it validates
# (prof_read) with Python's own function names in it, and `go tool pprof
# -symbolize=none -top` opens it without a word on stderr (when go exists).
# PYTHONMALLOC=malloc sends Python's small objects through malloc too (by
# default its own allocator carves them from mmap'ed arenas).
#
# The default rate samples: its run asserts only what sampling makes near
# certain. The functions it expects are on the main thread's stacks, through
# which most of the run's 120 MiB go, and the exact run (rate 1) checks
# that a run at the default rate samples each at least 20 times on average
# (prof_read --expect: missing once in e^20 runs). A function with a few
# MiB, such as PyUnicode_New, is expected at rate 1 only.
#
#   prof_python.sh LIBALLOC PROF_READ [GO]
# Exit 77 (skipped) without python3.
set -u
LIBALLOC=$1
PROF_READ=$2
GO=${3:-}

PY=
for c in /usr/bin/python3 "$(command -v python3 2>/dev/null)"; do
  [ -n "$c" ] && [ -x "$c" ] || continue
  # a shim (pyenv) is a shell script that runs other programs: ask the
  # interpreter for itself
  PY=$("$c" -c 'import sys; print(sys.executable)' 2>/dev/null) && [ -x "$PY" ] && break
  PY=
done
if [ -z "$PY" ]; then
  echo "prof_python: no python3, skipped"
  exit 77
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/prof_python.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fail=0
say() { echo "prof_python: $*"; }
bad() { echo "prof_python: FAIL: $*" >&2; fail=1; }

SCRIPT='
import json, threading
x = [str(i) * 10 for i in range(200000)]
d = {i: [i] * 8 for i in range(20000)}
s = json.dumps(d)
t = [threading.Thread(target=lambda: [bytearray(1000) for _ in range(2000)]) for _ in range(4)]
for th in t: th.start()
for th in t: th.join()
print(len(x), len(d), len(json.loads(s)))
'
want=$("$PY" -c "$SCRIPT") || { bad "python3 fails without the profiler"; exit 1; }

# the functions both runs expect, and the one only the exact run expects
SURE="PyEval_EvalCode Py_BytesMain"
EXACT_ONLY=PyUnicode_New
DEFAULT_RATE=524288

# run NAME RATE: one preloaded run, its profile checked
run() {
  local name=$1 rate=$2
  local top_name=PyEval_EvalCode
  [ "$rate" = 1 ] && top_name=$EXACT_ONLY
  local dir=$TMP/$name
  mkdir -p "$dir"
  local got
  got=$(env ALLOCPROF_OUT="$dir/py.%p.pb.gz" ${rate:+ALLOCPROF_RATE=$rate} PYTHONMALLOC=malloc \
        LD_PRELOAD="$LIBALLOC" "$PY" -c "$SCRIPT" 2>"$dir/stderr")
  local rc=$?
  [ $rc -eq 0 ] || bad "$name: python3 exited with $rc: $(head -3 "$dir/stderr")"
  [ "$got" = "$want" ] || bad "$name: python3 printed '$got', not '$want'"
  [ -s "$dir/stderr" ] && bad "$name: stderr: $(head -3 "$dir/stderr")"
  local files=("$dir"/py.*.pb.gz)
  if [ ! -e "${files[0]}" ]; then
    bad "$name: no profile written at exit (ALLOCPROF_OUT=$dir/py.%p.pb.gz)"
    return
  fi
  [ ${#files[@]} -eq 1 ] || bad "$name: ${#files[@]} profiles, expected 1: ${files[*]}"
  local f=${files[0]}
  local summary
  if [ "$rate" = 1 ]; then
    # every function, and how often the default rate's run samples $SURE
    summary=$("$PROF_READ" --expect $DEFAULT_RATE 20 "$f" $SURE 2>"$dir/read.err") &&
      "$PROF_READ" "$f" $EXACT_ONLY >/dev/null 2>>"$dir/read.err" ||
      bad "$name: prof_read: $(head -5 "$dir/read.err")"
  else
    summary=$("$PROF_READ" "$f" $SURE 2>"$dir/read.err") ||
      bad "$name: prof_read: $(head -5 "$dir/read.err")"
  fi
  sed "s/^/prof_python: $name: /" <<<"$summary"
  summary=$(head -1 <<<"$summary")
  # a list of 200,000 strings of 50-60 bytes: at least 10 MB allocated, at
  # the default rate too (of 120 MiB, the estimate's error is a few percent)
  local alloc
  alloc=$(echo "$summary" | sed -n 's/.* alloc_space \([0-9]*\) .*/\1/p')
  [ -n "$alloc" ] && [ "$alloc" -ge 10000000 ] || bad "$name: alloc_space '$alloc' < 10 MB"
  if [ -n "$GO" ]; then
    for idx in inuse_space alloc_space alloc_objects; do
      "$GO" tool pprof -symbolize=none -sample_index=$idx -top "$f" >"$dir/top" 2>"$dir/top.err" ||
        bad "$name: go tool pprof failed: $(head -3 "$dir/top.err")"
      [ -s "$dir/top.err" ] && bad "$name: go tool pprof -top -sample_index=$idx warns: $(head -3 "$dir/top.err")"
    done
    grep -q "$top_name" "$dir/top" || bad "$name: $top_name not in go tool pprof -top: $(head -12 "$dir/top")"
  fi
}

run rate1 1
run default ""
[ -n "$GO" ] || say "go not found: profiles checked with prof_read only"
[ $fail -eq 0 ] && say "ok"
exit $fail
