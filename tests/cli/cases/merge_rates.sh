# merge of profiles taken at different rates: base.pb.gz (rate 1, exact) and
# noisy_new.pb.gz (512 KiB). Each sample keeps its rate as a sampling_period
# label, so gate's noise on the merge is noisy_new's alone, in either order,
# as by hand: noisy_base and noisy_new hold n = 100 and 115 samples of
# 64-byte objects and one of a 1 MiB object; each stands for n/q objects
# (q = 1 - exp(-s/P)); C objects of s bytes have a variance of
# C s^2 (1-q)/q in bytes.
allocprof merge -o m1.pb.gz base.pb.gz noisy_new.pb.gz || exit
allocprof merge -o m2.pb.gz noisy_new.pb.gz base.pb.gz || exit
allocprof top -n 3 m1.pb.gz | head -6
allocprof convert -o m1.pb m1.pb.gz || exit
printf 'sampling_period in the string table: '; grep -c sampling_period m1.pb
for m in m1.pb.gz m2.pb.gz noisy_new.pb.gz; do
  echo "=== gate against noisy_base: $m"
  allocprof gate --base noisy_base.pb.gz --max-growth 30% -n 0 "$m" | grep -E '^  (growth|noise|pass|FAIL|undecided)'
done
echo "=== by hand"
awk 'function r(x) { return int(x + 0.5) }  # the values as written, rounded
BEGIN {
  P = 524288
  split("100 115", n, " ")
  v = 0
  for (i = 1; i <= 2; i++) {
    # C objects, B bytes as the profile holds them; s = B/C
    q = 1 - exp(-64 / P); C = r(n[i] / q); B = r(n[i] * 64 / q); s = B / C
    q = 1 - exp(-s / P); v += C * s * s * (1 - q) / q
    q = 1 - exp(-1048576 / P); C = r(1 / q); B = r(1048576 / q); s = B / C
    q = 1 - exp(-s / P); v += C * s * s * (1 - q) / q
  }
  printf "1σ = %.2f MiB\n", sqrt(v) / 1048576 }'
echo "=== merged again with a rate-1 profile: the labels stay"
allocprof merge -o m3.pb.gz m1.pb.gz grown.pb.gz || exit
allocprof gate --base noisy_base.pb.gz --max-growth 30% m3.pb.gz | grep -E '^  noise'
echo "=== the same rate everywhere: no labels, as before"
allocprof merge -o m4.pb base.pb.gz grown.pb.gz || exit
grep -c sampling_period m4.pb
echo "=== an implausible rate in a label is refused like an implausible period"
allocprof merge -o m5.pb.gz noisy_base.pb.gz period_huge.pb.gz; echo "rc=$?"
echo "=== and a sampling_period label of 1 TiB, by gate and by merge"
allocprof gate --base noisy_base.pb.gz label_huge.pb.gz; echo "rc=$?"
allocprof merge -o m6.pb.gz label_huge.pb.gz base.pb.gz; echo "rc=$?"
test -e m6.pb.gz && echo "m6.pb.gz written" || echo "no m6.pb.gz"
