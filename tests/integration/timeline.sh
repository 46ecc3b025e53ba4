#!/bin/bash
# timeline.sh LIBALLOC ALLOCPROF TIMELINE_CURVE: `allocprof timeline` on a
# real program under the preload (timeline_curve.c) whose in-use curve is
# known: grow_block holds 1, 2, ... 8 MiB, frees it all, then after_free
# holds 3 MiB. Its dumps go both to a stream (ALLOCPROF_STREAM) and to
# interval files (ALLOCPROF_INTERVAL with ALLOCPROF_OUT).
#   exact    at rate 1 the CSV has grow_block rising by exactly 1 MiB a
#            step to 8 MiB, then 0 and staying there, and after_free 0 until
#            then and 3 MiB at the end; the interval files give the same curve;
#            the summary names the peak; the SVG is well-formed
#   sampled  at 64 KiB every 1 MiB block is sampled (all but certainly), so
#            the curve is the same within 0.1%
set -u
lib=$(readlink -f "$1") allocprof=$2 prog=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/allocprof-timeline.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "timeline: FAIL: $*" >&2; exit 1; }

# run NAME RATE: the program under the preload, stream and interval files
run() {
  ALLOCPROF_STREAM="$tmp/$1.zst" ALLOCPROF_OUT="$tmp/$1.%n.pb.gz" ALLOCPROF_INTERVAL=0.02 \
    ALLOCPROF_RATE=$2 LD_PRELOAD="$lib" "$prog" "$tmp/$1.zst" >"$tmp/$1.out" 2>"$tmp/$1.err" ||
    fail "$1: the program failed: $(cat "$tmp/$1.err")"
  "$allocprof" timeline --csv "$tmp/$1.zst" >"$tmp/$1.csv" 2>"$tmp/$1.tl.err" ||
    fail "$1: timeline failed: $(cat "$tmp/$1.tl.err")"
}

# check NAME TOLERANCE: the curve in NAME.csv, each value within TOLERANCE
# (a fraction) of the truth
check() {
  python3 - "$tmp/$1.csv" "$2" <<'PY' || fail "$1: $(cat "$tmp/$1.csv" | head -40)"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
tol = float(sys.argv[2])
MIB = 1 << 20
def near(v, want):
    return abs(v - want) <= tol * want if want else v == 0
for col in ("grow_block", "after_free"):
    if col not in rows[0]:
        sys.exit("no column %s in %s" % (col, list(rows[0])))
grow = [int(r["grow_block"]) for r in rows]
after = [int(r["after_free"]) for r in rows]
top = grow.index(max(grow))
# rising one block at a time: every step seen, never down before the top
steps = []
for v in grow[: top + 1]:
    k = round(v / MIB)
    if not near(v, k * MIB):
        sys.exit("grow_block %d is not a whole number of MiB" % v)
    if steps and k < steps[-1]:
        sys.exit("grow_block went down before its top: %s" % grow)
    if not steps or k != steps[-1]:
        steps.append(k)
if steps[-1] != 8 or any(k not in steps for k in range(1, 9)):
    sys.exit("grow_block steps %s, not 1..8 MiB" % steps)
# then freed: 0 from the first drop on
drop = next((i for i in range(top, len(grow)) if grow[i] == 0), None)
if drop is None or any(v != 0 for v in grow[drop:]):
    sys.exit("grow_block is not freed for good: %s" % grow[top:])
if any(v != 0 for v in after[:drop]) or not near(after[-1], 3 * MIB):
    sys.exit("after_free %s, not 0 before the free and 3 MiB at the end" % after)
totals = [int(r["total"]) for r in rows]
if max(totals) < 8 * MIB * (1 - tol):
    sys.exit("the peak total %d is under 8 MiB" % max(totals))
times = [float(r["time_s"]) for r in rows]
if times != sorted(times) or times[0] != 0:
    sys.exit("times not in order from 0: %s" % times)
PY
}

run exact 1
check exact 0
ls "$tmp"/exact.*.pb.gz >/dev/null 2>&1 || fail "exact: no interval files"
"$allocprof" timeline --csv "$tmp"/exact.*.pb.gz >"$tmp/files.csv" 2>"$tmp/files.err" ||
  fail "exact: timeline of the interval files failed: $(cat "$tmp/files.err")"
check files 0 # each file is a dump of its own (its own time): the same curve
"$allocprof" timeline "$tmp/exact.zst" >"$tmp/summary" || fail "exact: the summary failed"
grep -q '^peak: 8.0[0-9] MiB in use at ' "$tmp/summary" || fail "exact: summary: $(cat "$tmp/summary")"
grep -Eq '8.00 MiB +[0-9.]+ m?s +8.00 MiB +0 B +grow_block$' "$tmp/summary" ||
  fail "exact: grow_block's row: $(cat "$tmp/summary")"
"$allocprof" timeline -o "$tmp/t.svg" "$tmp/exact.zst" >/dev/null || fail "exact: no SVG"
python3 -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])' "$tmp/t.svg" ||
  fail "exact: the SVG is not well-formed XML"

run sampled 64k
check sampled 0.001
echo "timeline: ok ($(($(wc -l <"$tmp/exact.csv") - 1)) snapshots at rate 1, $(($(wc -l <"$tmp/sampled.csv") - 1)) at 64 KiB)"
