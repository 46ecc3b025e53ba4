# When the sampling error is too large to decide a limit, gate says
# UNDECIDED (exit 3) and names the rate that would decide. noisy_base
# (51.2 MiB) -> noisy_new (58.7 MiB) at 512 KiB: +14.7% ± 43.1% (3σ) against
# --max-growth 5% (2.56 MiB). The variance falls with the rate at least in
# proportion (B*P for small objects), so 3σ' <= |growth - limit| needs
# P' <= P * (|growth - limit| / 3)^2 / (var_base + var_new): 16k.
allocprof gate --base noisy_base.pb.gz --max-growth 5% noisy_new.pb.gz; echo "rc=$?"
echo "=== the same arithmetic by awk, from the totals and standard errors top --json gives"
for f in noisy_base noisy_new; do
  allocprof top --json $f.pb.gz | awk -F': ' '/"total"/ {t = $2} /"total_stderr"/ {e = $2}
    END {gsub(",", "", t); gsub(",", "", e); print t, e}' >$f.txt
done
awk -v b="$(cat noisy_base.txt)" -v n="$(cat noisy_new.txt)" 'BEGIN {
  split(b, B, " "); split(n, N, " ")
  margin = (N[1] - B[1]) - 0.05 * B[1]; var = B[2] ^ 2 + N[2] ^ 2
  p = 524288 * (margin / 3) ^ 2 / var; r = 1
  while (r * 2 <= p) r *= 2
  printf "base %d new %d: P <= %.0f bytes, rate %dk\n", B[1], N[1], p, r / 1024 }'
echo "=== each limit its own; a ceiling on the total resolves its distance to the total"
allocprof gate --base noisy_base.pb.gz --max-bytes 1m --max-total 60m --sigmas 2 noisy_new.pb.gz |
  grep -E '^  (pass|FAIL|note)'
echo "=== decided verdicts name no rate"
allocprof gate --base noisy_base.pb.gz --max-growth 5% noisy_big.pb.gz | grep -c note
allocprof gate --base noisy_base.pb.gz --max-growth 200% noisy_new.pb.gz | grep -c note
allocprof gate --base base.pb.gz --max-growth 1% grown.pb.gz | grep -c note
echo "=== nor does a limit of 0, which passes a growth within the noise"
allocprof gate --base noisy_base.pb.gz noisy_new.pb.gz | grep -c note
