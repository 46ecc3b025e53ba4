# sampled at 512 KiB: +15% is within 3 standard errors (pass, with a note);
# +200% is not; with --sigmas 0 the +15% fails
allocprof gate --base noisy_base.pb.gz --max-growth 5% noisy_new.pb.gz; echo "rc=$?"
allocprof gate --base noisy_base.pb.gz --max-growth 5% noisy_big.pb.gz; echo "rc=$?"
allocprof gate --base noisy_base.pb.gz --max-growth 5% --sigmas 0 noisy_new.pb.gz >/dev/null; echo "rc=$?"
