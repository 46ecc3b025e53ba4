# diff of sampled profiles: each change has its standard error (both
# profiles together), and only the changes beyond --sigmas K (2 by default)
# count as changed. noisy_base -> noisy_new: f +7.50 MiB ± 7.33 MiB, within.
allocprof diff noisy_base.pb.gz noisy_new.pb.gz; echo "rc=$?"
echo "=== --all lists the changes within the noise, marked"
allocprof diff --all noisy_base.pb.gz noisy_new.pb.gz | tail -4
echo "=== --sigmas 0: every change counts"
allocprof diff --sigmas 0 noisy_base.pb.gz noisy_new.pb.gz | tail -4
echo "=== --sigmas 1: f's +7.50 MiB is beyond 1σ (7.33 MiB)"
allocprof diff --sigmas 1 noisy_base.pb.gz noisy_new.pb.gz | tail -4
echo "=== +100 MiB is beyond the noise"
allocprof diff noisy_base.pb.gz noisy_big.pb.gz | tail -4
echo "=== JSON: every change, with its standard error and whether it is beyond"
allocprof diff --json noisy_base.pb.gz noisy_new.pb.gz | grep -E 'stderr|sigmas|beyond'
echo "=== rate 1: exact, every change counts, no ±"
allocprof diff base.pb.gz grown.pb.gz | grep -E 'changed|±'
echo "=== bad --sigmas"
allocprof diff --sigmas -1 noisy_base.pb.gz noisy_new.pb.gz; echo "rc=$?"
allocprof diff --sigmas lots noisy_base.pb.gz noisy_new.pb.gz; echo "rc=$?"
