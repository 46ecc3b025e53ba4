# leaks on the generated series (gen_profiles.c: leaks()): a leak (load,
# through xmalloc), a churn at a steady level (parse), 50 MiB held and
# freed (g), one 8 MiB step (k) and a constant stack (f). Exact (lk.zst,
# rate 1) and sampled at 512 KiB (lk_sampled.zst): load is the only
# suspect in both; --json; --min-rate; --fail-over as a gate (exit 1 and
# 0); -n; --focus
allocprof leaks lk.zst || exit
echo "=== sampled at 512 KiB"
allocprof leaks lk_sampled.zst || exit
echo "=== --json"
allocprof leaks --json lk.zst || exit
echo "=== --min-rate 100k (nothing that fast)"
allocprof leaks --min-rate 100k lk.zst || exit
echo "=== --fail-over 32KiB/s"
allocprof leaks --fail-over 32KiB/s lk.zst
echo "rc=$?"
echo "=== --fail-over 1GiB/h"
allocprof leaks --fail-over 1GiB/h lk.zst
echo "rc=$?"
echo "=== --json --fail-over 32k"
allocprof leaks --json --fail-over 32k lk.zst
echo "rc=$?"
echo "=== --focus '^parse$' (the churn alone: no suspect)"
allocprof leaks --focus '^parse$' lk.zst
echo "rc=$?"
