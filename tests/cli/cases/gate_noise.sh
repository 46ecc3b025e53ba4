# sampled at 512 KiB: a 5% limit lies within 3 standard errors of +15%
# (undecided, exit 3, with the rate that would decide); +200% is beyond them
# (fail); with --sigmas 0 the +15% fails
allocprof gate --base noisy_base.pb.gz --max-growth 5% noisy_new.pb.gz; echo "rc=$?"
allocprof gate --base noisy_base.pb.gz --max-growth 5% noisy_big.pb.gz; echo "rc=$?"
allocprof gate --base noisy_base.pb.gz --max-growth 5% --sigmas 0 noisy_new.pb.gz >/dev/null; echo "rc=$?"
