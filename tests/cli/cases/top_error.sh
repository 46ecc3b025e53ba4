# A sampled profile's values are estimates: top says so in its header and
# gives each its standard error. noisy_base: 50 MiB of 64-byte objects at
# 512 KiB, sqrt(B*P*(1-p)/p*64/P) about sqrt(50 MiB * 512 KiB) = 5.00 MiB;
# one 1 MiB object (p = 1 - e^-2) 1.16 MiB ± 392 KiB
allocprof top noisy_base.pb.gz
echo "=== --no-error leaves the ± columns out (the header still says estimates)"
allocprof top --no-error noisy_base.pb.gz | grep -E '^Type|^Total:|flat%|  f$'
echo "=== rate 1: exact, no ±"
allocprof top base.pb.gz | grep -cE '±|estimates'
echo "=== JSON: the standard errors, rounded to bytes"
allocprof top --json noisy_base.pb.gz | grep -E 'stderr'
allocprof top --json base.pb.gz | grep -c stderr
echo done
