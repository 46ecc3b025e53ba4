#!/bin/bash
# prof_gopprof.sh: `go tool pprof` opens the profiles the profiler writes as
# they are, without a word on stderr, and shows the names the profile
# carries, also once the profiled binary is gone (as on another machine):
#
#   - prof_exact's .pb.gz and .pb (pprof reads no zstd: the .pb.zst is read
#     back by prof_read), with -symbolize=none and with pprof's default
#     symbolization after the binary is deleted;
#   - exact per-function counts in -top, file:line in -lines;
#   - a C++ profile (prof_cxx) with its demangled std:: names.
#
#   prof_gopprof.sh GO PROF_EXACT PROF_CXX PROF_READ
# Exit 77 (skipped) when go is not installed (Debian: golang-go).
set -u
GO=${1:-}
PROF_EXACT=$2
PROF_CXX=$3
PROF_READ=$4
if [ -z "$GO" ] || ! command -v "$GO" >/dev/null 2>&1; then
  echo "prof_gopprof: go not found, skipped"
  exit 77
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/prof_gopprof.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
export HOME=${HOME:-$TMP} PPROF_TMPDIR=$TMP
fail=0
say() { echo "prof_gopprof: $*"; }
bad() { echo "prof_gopprof: FAIL: $*" >&2; fail=1; }

# pprof FILE OUT ARGS...: runs go tool pprof, stdout to OUT; any stderr fails
pprof() {
  local f=$1 out=$2
  shift 2
  if ! "$GO" tool pprof "$@" "$f" >"$out" 2>"$out.err"; then
    bad "go tool pprof $* $(basename "$f") failed: $(head -5 "$out.err")"
  elif [ -s "$out.err" ]; then
    bad "go tool pprof $* $(basename "$f") wrote on stderr: $(head -5 "$out.err")"
  fi
}

# ---- a C program with a known heap ----
mkdir -p "$TMP/bin" "$TMP/exact"
cp "$PROF_EXACT" "$TMP/bin/prof_exact" || exit 1
ALLOCPROF_RATE=1 "$TMP/bin/prof_exact" "$TMP/exact" >/dev/null || bad "prof_exact failed"
rm -f "$TMP/bin/prof_exact" # pprof cannot find the binary any more

for f in "$TMP/exact/exact.pb.gz" "$TMP/exact/exact.pb"; do
  b=$(basename "$f")
  [ -s "$f" ] || { bad "$b missing"; continue; }
  for mode in -symbolize=none ""; do
    pprof "$f" "$TMP/top" $mode -top
    for fn in make_a make_b make_c make_d make_e main; do
      grep -qE " $fn\$" "$TMP/top" || bad "$b ${mode:-default}: $fn not in -top: $(cat "$TMP/top")"
    done
  done
  pprof "$f" "$TMP/objs" -symbolize=none -sample_index=alloc_objects -top
  grep -qE '^ +1000 .* make_a$' "$TMP/objs" || bad "$b: make_a's 1000 objects not in -top: $(cat "$TMP/objs")"
  grep -qE '^ +128 .* make_d$' "$TMP/objs" || bad "$b: make_d's 128 objects not in -top"
  pprof "$f" "$TMP/inuse" -symbolize=none -sample_index=inuse_objects -top
  grep -qE '^ +700 .* make_a$' "$TMP/inuse" || bad "$b: make_a's 700 live objects not in -top: $(cat "$TMP/inuse")"
  pprof "$f" "$TMP/lines" -symbolize=none -lines -top
  grep -qE 'make_a .*prof_exact\.c:[0-9]+' "$TMP/lines" || bad "$b: no file:line for make_a: $(head -12 "$TMP/lines")"
  pprof "$f" "$TMP/raw" -symbolize=none -raw
  grep -q '^Mappings' "$TMP/raw" || bad "$b: -raw shows no mappings"
done
"$PROF_READ" "$TMP/exact/exact.pb.zst" make_a >/dev/null || bad "exact.pb.zst does not read back"
say "C profiles: $(grep -c . "$TMP/top") lines of -top, no warnings"

# ---- C++ ----
mkdir -p "$TMP/cxx"
# prof_cxx checks names itself (and says so when one is wrong); here only
# what pprof makes of the file matters
ALLOCPROF_RATE=1 "$PROF_CXX" "$TMP/cxx" >/dev/null 2>"$TMP/cxx.err"
f=$TMP/cxx/cxx.pb.gz
if [ -s "$f" ]; then
  pprof "$f" "$TMP/cxxtop" -symbolize=none -top
  grep -q 'std::' "$TMP/cxxtop" || bad "C++: no std:: name in -top: $(head -20 "$TMP/cxxtop")"
  grep -qE ' make_widgets$' "$TMP/cxxtop" || bad "C++: make_widgets not in -top"
  pprof "$f" "$TMP/cxxtop2" -top
  say "C++ profile: $(grep -c 'std::' "$TMP/cxxtop") std:: lines in -top, no warnings"
else
  bad "prof_cxx wrote no profile: $(head -5 "$TMP/cxx.err")"
fi

[ $fail -eq 0 ] && say "ok"
exit $fail
