#!/bin/bash
# prof_stripped.sh: frames without a symbol are stable across runs. A
# stripped copy of prof_stripped_lib.c's library (strip --strip-all: its
# allocating function, static, has no symbol left) allocates the same blocks
# in two runs of prof_stripped under the preload at rate 1, with ASLR on, so
# the library lands at two addresses. Checked:
#   - the two load addresses differ (the premise; skipped with ASLR off);
#   - the profile names the frame "libitstripped.so+0xOFFSET", the same in
#     both runs (an address would differ);
#   - allocprof diff reports no function changed, gate --max-growth 5%
#     passes and names no grower, flame --base finds nothing in BASE only,
#     and merge of the two keeps one function for the frame, with twice the
#     bytes;
#   - with go: go tool pprof -diff_base finds nothing either (the names are
#     in the profile itself).
# At rate 1 every allocation is recorded, so "no change beyond sampling
# noise" is no change at all.
#
#   prof_stripped.sh LIBALLOC PROF_STRIPPED LIBITSTRIPPED ALLOCPROF [GO]
set -u
LIBALLOC=$1
HOST=$2
LIB=$3
ALLOCPROF=$4
GO=${5:-}
N=100      # blocks allocated by the stripped function
SIZE=1000  # bytes each: 100,000 bytes in use under it

say() { echo "prof_stripped: $*"; }
fail=0
bad() { echo "prof_stripped: FAIL: $*" >&2; fail=1; }

if [ "$(cat /proc/sys/kernel/randomize_va_space 2>/dev/null)" = 0 ]; then
  say "ASLR is off (randomize_va_space 0), skipped"
  exit 77
fi
# ADDR_NO_RANDOMIZE in this process's personality (setarch -R): no ASLR here
pers=$(cat /proc/self/personality 2>/dev/null || echo 0)
if (( (16#$pers & 0x0040000) != 0 )); then
  say "ASLR is off for this process (personality $pers), skipped"
  exit 77
fi
if ! command -v strip >/dev/null; then
  say "no strip, skipped"
  exit 77
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/prof_stripped.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# the stripped copy: no symbol for stripped_leaf anywhere in it
strip --strip-all -o "$TMP/libitstripped.so" "$LIB" || { bad "strip failed"; exit 1; }
if readelf -Ws "$TMP/libitstripped.so" | grep -q stripped_leaf; then
  bad "stripped_leaf still has a symbol after strip --strip-all"
  exit 1
fi

# two runs of the same program; no debuginfod lookups (they would be slow,
# and could find nothing for this library anyway)
for r in 1 2; do
  env -u DEBUGINFOD_URLS ALLOCPROF_OUT="$TMP/run$r.pb.gz" ALLOCPROF_RATE=1 LD_PRELOAD="$LIBALLOC" \
    "$HOST" "$TMP/libitstripped.so" $N $SIZE >"$TMP/base$r" 2>"$TMP/err$r" ||
    { bad "run $r exited with $?: $(head -3 "$TMP/err$r")"; exit 1; }
  [ -s "$TMP/run$r.pb.gz" ] || { bad "run $r wrote no profile"; exit 1; }
done
b1=$(cat "$TMP/base1") b2=$(cat "$TMP/base2")
say "library loaded at $b1, then at $b2"
if [ "$b1" = "$b2" ]; then
  bad "the library was loaded at $b1 both times: ASLR should have moved it"
  exit 1
fi

# the frame's name, from each profile
for r in 1 2; do
  "$ALLOCPROF" top -n 0 "$TMP/run$r.pb.gz" >"$TMP/top$r" 2>"$TMP/top$r.err" ||
    bad "top run$r failed: $(head -3 "$TMP/top$r.err")"
  grep -o 'libitstripped\.so+0x[0-9a-f]*' "$TMP/top$r" | sort -u >"$TMP/names$r"
done
say "run 1 names the frame: $(tr '\n' ' ' <"$TMP/names1")"
[ "$(wc -l <"$TMP/names1")" -ge 1 ] ||
  bad "no frame named libitstripped.so+0x... in run 1: $(sed -n '1,30p' "$TMP/top1")"
cmp -s "$TMP/names1" "$TMP/names2" ||
  bad "the two runs name the frame differently: $(cat "$TMP/names1") vs $(cat "$TMP/names2")"
# its flat value: the N blocks, each at least SIZE bytes
flat=$(grep -m1 'libitstripped\.so+0x' "$TMP/top1")
say "top: $flat"

# diff: nothing changed
"$ALLOCPROF" diff "$TMP/run1.pb.gz" "$TMP/run2.pb.gz" >"$TMP/diff" 2>"$TMP/diff.err" ||
  bad "diff failed: $(head -3 "$TMP/diff.err")"
changed=$(grep -E '^[0-9]+ of [0-9]+ functions changed' "$TMP/diff")
say "diff: $changed"
[[ "$changed" == "0 of "* ]] || bad "diff reports changes between two runs: $(cat "$TMP/diff")"

# gate: passes, with no grower named
"$ALLOCPROF" gate --base "$TMP/run1.pb.gz" --max-growth 5% "$TMP/run2.pb.gz" >"$TMP/gate" \
  2>"$TMP/gate.err"
rc=$?
say "gate: exit $rc: $(head -1 "$TMP/gate")"
[ $rc -eq 0 ] || bad "gate --max-growth 5% exited with $rc: $(cat "$TMP/gate" "$TMP/gate.err")"
grep -q '0x[0-9a-f]\{8,\}' "$TMP/gate" && bad "gate names raw addresses: $(cat "$TMP/gate")"

# flame --base: nothing in BASE only
"$ALLOCPROF" flame --base "$TMP/run1.pb.gz" -o "$TMP/d.svg" "$TMP/run2.pb.gz" >/dev/null \
  2>"$TMP/flame.err" || bad "flame --base failed: $(head -3 "$TMP/flame.err")"
only=$(grep -o 'in BASE only: [^<]*' "$TMP/d.svg" | head -1)
say "flame --base: $only"
[ "$only" = "in BASE only: 0 B" ] || bad "flame --base: '$only', expected 'in BASE only: 0 B'"

# merge: one function for the frame, with both runs' bytes
"$ALLOCPROF" merge -o "$TMP/m.pb.gz" "$TMP/run1.pb.gz" "$TMP/run2.pb.gz" 2>"$TMP/merge.err" ||
  bad "merge failed: $(head -3 "$TMP/merge.err")"
"$ALLOCPROF" top -n 0 --json "$TMP/m.pb.gz" >"$TMP/mtop.json" 2>"$TMP/mtop.err" ||
  bad "top of the merged profile failed: $(head -3 "$TMP/mtop.err")"
"$ALLOCPROF" top -n 0 --json "$TMP/run1.pb.gz" >"$TMP/top1.json" 2>/dev/null
python3 - "$TMP/top1.json" "$TMP/mtop.json" <<'EOF' || bad "merge: see above"
import json, sys
one, merged = (json.load(open(f)) for f in sys.argv[1:3])
def stripped(t):
    return {f["function"]: f["flat"] for f in t["top_flat"] if f["function"].startswith("libitstripped.so+0x")}
a, m = stripped(one), stripped(merged)
print("prof_stripped: merge: run 1 %s, merged %s" % (a, m))
if not a or set(a) != set(m) or any(m[k] != 2 * a[k] for k in a):
    print("prof_stripped: FAIL: merged frames %s, expected run 1's %s with twice the value" % (m, a),
          file=sys.stderr)
    sys.exit(1)
EOF

if [ -n "$GO" ] && command -v "$GO" >/dev/null 2>&1; then
  "$GO" tool pprof -symbolize=none -top -diff_base "$TMP/run1.pb.gz" "$TMP/run2.pb.gz" \
    >"$TMP/pprof" 2>"$TMP/pprof.err" || bad "go tool pprof -diff_base failed: $(head -3 "$TMP/pprof.err")"
  shown=$(grep -m1 '^Showing nodes' "$TMP/pprof")
  say "go tool pprof -diff_base: $shown"
  [[ "$shown" == "Showing nodes accounting for 0, 0% of "* ]] ||
    bad "go tool pprof -diff_base sees a change: $(cat "$TMP/pprof")"
fi

exit $fail
