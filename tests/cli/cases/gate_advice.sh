# When the sampling error is too large to decide a limit, gate names the rate
# that would. noisy_base (51.2 MiB) -> noisy_new (58.7 MiB) at
# 512 KiB: +14.7% ± 43.1% (3σ) against --max-growth 5% (2.56 MiB). A total
# T at period P has a standard error of about sqrt(T*P), so 3σ <= 2.56 MiB
# needs P <= (2.56 MiB / 3)^2 / (51.2 + 58.7 MiB), about 6.8 KiB: 4k.
allocprof gate --base noisy_base.pb.gz --max-growth 5% noisy_new.pb.gz; echo "rc=$?"
echo "=== the same arithmetic by awk, from the totals top --json gives"
allocprof top --json noisy_base.pb.gz | awk -F': ' '/"total"/ {print $2}' | tr -d , >b.txt
allocprof top --json noisy_new.pb.gz | awk -F': ' '/"total"/ {print $2}' | tr -d , >n.txt
awk -v b="$(cat b.txt)" -v n="$(cat n.txt)" 'BEGIN {
  allowed = 0.05 * b; p = (allowed / 3) ^ 2 / (b + n); r = 1
  while (r * 2 <= p) r *= 2
  printf "base %d new %d: P <= %.0f bytes, rate %dk\n", b, n, p, r / 1024 }'
echo "=== each limit its own; a ceiling on the total resolves its distance to the total"
allocprof gate --base noisy_base.pb.gz --max-bytes 1m --max-total 60m --sigmas 2 noisy_new.pb.gz |
  grep -E '^  (pass|FAIL|note)'
echo "=== decided verdicts name no rate"
allocprof gate --base noisy_base.pb.gz --max-growth 5% noisy_big.pb.gz | grep -c note
allocprof gate --base noisy_base.pb.gz --max-growth 200% noisy_new.pb.gz | grep -c note
allocprof gate --base base.pb.gz --max-growth 1% grown.pb.gz | grep -c note
echo "=== nor does a limit of 0 (only rate 1 decides it)"
allocprof gate --base noisy_base.pb.gz noisy_new.pb.gz | grep -c note
