# a heap profile's period must be a plausible sampling rate (1 to 1 GiB):
# near INT64_MAX it would make any growth "within noise"; negative or zero
# means nothing. Refused with exit 2, for BASE and for NEW
allocprof gate --base noisy_base.pb.gz period_huge.pb.gz; echo "rc=$?"
allocprof gate --base period_negative.pb.gz noisy_base.pb.gz; echo "rc=$?"
allocprof gate --base noisy_base.pb.gz noisy_big.pb.gz >/dev/null; echo "plausible: rc=$?"
