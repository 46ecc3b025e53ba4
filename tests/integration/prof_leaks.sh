#!/bin/sh
# prof_leaks.sh ALLOCPROF PROG: the accuracy of `allocprof leaks` on a
# program with a known truth (prof_leaks.c: a leak of 64 KiB per tick, a
# churn of 2 MiB per tick at a steady level, 50 MiB held from tick 8 to 24
# then freed; 40 snapshots, one per tick, dumped by the program itself).
#
#   ALLOCPROF_RATE=4096     the leak is about 640 samples: leak_site is the
#                           only suspect and its rate is within 20% of the
#                           truth; 20% is 5 standard errors of sampling.
#                           The truth: the least squares slope of the bytes
#                           leaked (64 KiB a tick) over the times of the
#                           dumps (times.txt), which a loaded machine spaces
#                           unevenly; the mean rate is printed beside it
#   ALLOCPROF_RATE=524288   (the default) the leak is about 5 samples, its
#                           rate known to about 45%: the near-certain
#                           claims only: no other stack is a suspect, and
#                           when leak_site is one its rate lies within 3 of
#                           its reported standard errors of the truth
#
# ALLOCPROF_SEED is fixed (PROF_LEAKS_SEEDS="1 2 ..." runs several, for
# checking by hand that the claims hold whatever the seed).
set -u
allocprof=$1 prog=$2
seeds=${PROF_LEAKS_SEEDS:-1}
dir=$(mktemp -d "${TMPDIR:-/tmp}/prof_leaks.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT INT TERM
unset ALLOCPROF_OUT ALLOCPROF_STREAM ALLOCPROF_INTERVAL ALLOCPROF_SIGNAL ALLOCPROF_PEAK \
  ALLOCPROF_INUSE_INTERVAL
fail=0
for seed in $seeds; do
  for rate in 4096 524288; do
    rm -f "$dir"/snap.*.pb.gz
    if ! ALLOCPROF_RATE=$rate ALLOCPROF_SEED=$seed "$prog" "$dir"; then
      echo "FAIL: prof_leaks at rate $rate seed $seed did not run"
      fail=1
      continue
    fi
    "$allocprof" leaks --json -n 0 "$dir"/snap.*.pb.gz >"$dir/out.json" 2>"$dir/err"
    rc=$?
    if [ $rc != 0 ] || [ -s "$dir/err" ]; then
      echo "FAIL: allocprof leaks exited $rc at rate $rate seed $seed:"
      cat "$dir/err"
      fail=1
      continue
    fi
    python3 - "$dir/out.json" "$rate" "$seed" "$dir/times.txt" <<'PY' || fail=1
import json, sys
r = json.load(open(sys.argv[1]))
rate, seed = int(sys.argv[2]), sys.argv[3]
t = [float(x) for x in open(sys.argv[4])]
n = r["snapshots"]
y = [65536 * (i + 1) for i in range(len(t))]
tm, ym = sum(t) / len(t), sum(y) / len(y)
truth = sum((a - tm) * (b - ym) for a, b in zip(t, y)) / sum((a - tm) ** 2 for a in t)
mean = 65536 * (len(t) - 1) / (t[-1] - t[0])
sus = {s["label"]: s for s in r["suspects"]}
ok = n == 40 and len(t) == 40
line = (f"rate {rate} seed {seed}: {n} snapshots over {r['duration_s']:.3f} s, "
        f"truth {truth:.0f} B/s (mean {mean:.0f});")
others = [l for l in sus if l != "leak_site"]
if others:
    ok = False
    line += f" other suspects {others};"
leak = sus.get("leak_site")
if leak:
    est, se = leak["rate_bytes_per_s"], leak["stderr_bytes_per_s"]
    err = est / truth - 1
    line += f" leak_site {est:.0f} B/s ± {se:.0f} ({100 * err:+.1f}%, {leak['confidence']})"
    if rate != 4096 and abs(est - truth) > 3 * se:
        ok = False
        line += " beyond 3 standard errors"
    if rate == 4096 and abs(err) > 0.20:
        ok = False
        line += " beyond 20%"
else:
    line += " leak_site not a suspect"
    if rate == 4096:
        ok = False
print(("ok: " if ok else "FAIL: ") + line)
sys.exit(0 if ok else 1)
PY
  done
done
exit $fail
