# --hide and --focus on gate. base -> grown grows by +101920 B (0.96%); with
# --focus '^k$' the only stack is the new k (+81920 B from nothing); with
# --focus '^r$' the only one is r, which is gone: a pass. Hiding frames
# changes no total: --hide '^f$' fails --max-growth 0.5% as before.
allocprof gate --base base.pb.gz --max-bytes 64k --focus '^k$' grown.pb.gz; echo "rc=$?"
allocprof gate --base base.pb.gz --max-growth 0% --focus '^r$' grown.pb.gz; echo "rc=$?"
allocprof gate --base base.pb.gz --max-growth 0.5% --hide '^f$' -n 2 grown.pb.gz; echo "rc=$?"
echo "=== the noise follows the samples kept: one sampled 1 MiB object alone is ± 140%"
allocprof gate --base noisy_base.pb.gz --max-growth 5% --focus '^g$' noisy_new.pb.gz; echo "rc=$?"
allocprof gate --base base.pb.gz --hide '*' grown.pb.gz; echo "rc=$?"
