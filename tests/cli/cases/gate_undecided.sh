# gate's three verdicts on sampled profiles (512 KiB), each limit its own:
# noisy_base 51.2 MiB -> noisy_new 58.7 MiB is +14.7% ± 43.1% (3σ):
#   --max-growth 200%  the growth plus 3σ stays within: PASS (0)
#   --max-growth 5%    the limit lies within 3σ of the growth: UNDECIDED (3)
# noisy_base -> noisy_big (+195.5% ± 58.7%) against 5%: FAIL (1)
allocprof gate --base noisy_base.pb.gz --max-growth 200% noisy_new.pb.gz | grep -E '^(PASS|FAIL|UNDECIDED)'; echo "rc=$?"
allocprof gate --base noisy_base.pb.gz --max-growth 200% noisy_new.pb.gz >/dev/null; echo "rc=$?"
allocprof gate --base noisy_base.pb.gz --max-growth 5% noisy_new.pb.gz >/dev/null; echo "rc=$?"
allocprof gate --base noisy_base.pb.gz --max-growth 5% noisy_big.pb.gz >/dev/null; echo "rc=$?"
echo "=== --undecided maps an undecided verdict for CI systems that know 0 and 1"
allocprof gate --base noisy_base.pb.gz --max-growth 5% --undecided pass noisy_new.pb.gz | grep UNDECIDED; echo "rc=$?"
allocprof gate --base noisy_base.pb.gz --max-growth 5% --undecided pass noisy_new.pb.gz >/dev/null; echo "rc=$?"
allocprof gate --base noisy_base.pb.gz --max-growth 5% --undecided fail noisy_new.pb.gz >/dev/null; echo "rc=$?"
echo "=== and a FAIL stays a FAIL, a PASS a PASS"
allocprof gate --base noisy_base.pb.gz --max-growth 5% --undecided pass noisy_big.pb.gz >/dev/null; echo "rc=$?"
allocprof gate --base noisy_base.pb.gz --max-growth 200% --undecided fail noisy_new.pb.gz >/dev/null; echo "rc=$?"
echo "=== one limit failing fails the gate, however undecided the others"
allocprof gate --base noisy_base.pb.gz --max-growth 5% --max-total 100m noisy_big.pb.gz | grep -E '^  (pass|FAIL|undecided)|^(PASS|FAIL|UNDECIDED)'
echo "=== a ceiling on the total within the noise of it is undecided too"
allocprof gate --base noisy_base.pb.gz --max-total 60m noisy_new.pb.gz | grep -E '^  (pass|FAIL|undecided|note)|^(PASS|FAIL|UNDECIDED)'; echo "rc=$?"
echo "=== JUnit: an undecided limit is a skipped test case, or a failure under --undecided fail"
allocprof gate --base noisy_base.pb.gz --max-growth 5% --junit u.xml noisy_new.pb.gz >/dev/null; echo "rc=$?"
grep -E '<testsuites|<skipped|<failure' u.xml | sed 's/">.*/">.../'
allocprof gate --base noisy_base.pb.gz --max-growth 5% --undecided fail --junit f.xml noisy_new.pb.gz >/dev/null; echo "rc=$?"
grep -E '<testsuites|<skipped|<failure' f.xml | sed 's/">.*/">.../'
allocprof gate --base noisy_base.pb.gz --max-growth 5% --undecided pass --junit p.xml noisy_new.pb.gz >/dev/null; echo "rc=$?"
grep -cE '<skipped|<failure' p.xml
echo "=== rate 1: exact, never undecided"
allocprof gate --base base.pb.gz --max-growth 1% grown.pb.gz >/dev/null; echo "rc=$?"
allocprof gate --base base.pb.gz --max-growth 200% grown.pb.gz >/dev/null; echo "rc=$?"
echo "=== bad --undecided"
allocprof gate --base noisy_base.pb.gz --undecided maybe noisy_new.pb.gz; echo "rc=$?"
