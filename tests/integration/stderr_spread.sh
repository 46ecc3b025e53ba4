#!/bin/bash
# stderr_spread.sh LIBALLOC ALLOCPROF HOLD_SITE: the standard error allocprof
# reports for a sampled value is the spread of that value from run to run.
# hold_site holds 6 MiB in 512-byte objects (hold_small) and 6 MiB in
# 96 KiB objects (hold_large), in use at exit; 40 runs at rate 64 KiB with
# seeds 1..40. For each site, the standard deviation of the 40 estimates
# (top --json's cum) must be 0.7 to 1.4 times the mean standard error top
# reports (cum_stderr): with 40 runs the sample deviation itself is off by
# about 11% (1/sqrt(78)), so the band is about 3 of those either side. The
# large objects are sampled with p = 1 - exp(-96/64) = 0.78: their error
# (about 0.42 MiB) is far below sqrt(B*P) (0.63 MiB), which a model that
# ignored the object size would report (a ratio near 0.66, outside the band).
# The mean estimate must lie within 4 standard errors of the mean of the
# truth (unbiased).
set -u
lib=$(readlink -f "$1") allocprof=$2 prog=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/allocprof-spread.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "stderr_spread: FAIL: $*" >&2; exit 1; }
command -v python3 >/dev/null || { echo "stderr_spread: SKIP: no python3"; exit 77; }

for seed in $(seq 1 40); do
  ALLOCPROF_OUT="$tmp/$seed.pb.gz" ALLOCPROF_RATE=65536 ALLOCPROF_SEED=$seed LD_PRELOAD="$lib" \
    "$prog" 6 6 >/dev/null 2>"$tmp/err" || fail "seed $seed: the program failed: $(cat "$tmp/err")"
  "$allocprof" top --json -n 0 "$tmp/$seed.pb.gz" >"$tmp/$seed.json" || fail "seed $seed: top failed"
done
python3 - "$tmp" <<'PY' || exit 1
import json, math, sys
tmp = sys.argv[1]
truth = {"hold_small": 6 * 1048576 // 512 * 512, "hold_large": 6 * 1048576 // 98304 * 98304}
est = {k: [] for k in truth}
err = {k: [] for k in truth}
for seed in range(1, 41):
    d = json.load(open(f"{tmp}/{seed}.json"))
    seen = {f["function"]: f for f in d["top_cum"]}
    for k in truth:
        f = seen.get(k)
        est[k].append(f["cum"] if f else 0)
        err[k].append(f["cum_stderr"] if f else 0)
bad = False
for k in truth:
    n = len(est[k])
    mean = sum(est[k]) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in est[k]) / (n - 1))
    rep = sum(err[k]) / n
    ratio = sd / rep if rep else float("inf")
    off = abs(mean - truth[k]) / (rep / math.sqrt(n))
    print(f"{k}: truth {truth[k]} mean {mean:.0f} spread {sd:.0f} reported {rep:.0f} "
          f"ratio {ratio:.2f} bias {off:.1f} standard errors of the mean")
    if not 0.7 <= ratio <= 1.4:
        print(f"stderr_spread: FAIL: {k}: spread / reported = {ratio:.2f}, not 0.7..1.4")
        bad = True
    if off > 4:
        print(f"stderr_spread: FAIL: {k}: the mean is {off:.1f} standard errors from the truth")
        bad = True
sys.exit(1 if bad else 0)
PY
echo "stderr_spread: ok"
