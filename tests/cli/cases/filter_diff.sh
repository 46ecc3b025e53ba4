# --hide and --focus on diff: both profiles are filtered. base -> grown:
# f <- run <- main +50000, k <- main +81920, r <- r <- r <- main -30000.
# --focus run leaves the f growth only; --hide '^f$' gives f's bytes to its
# callers (run +50000, h unchanged).
allocprof diff --focus run base.pb.gz grown.pb.gz || exit
echo "=== hide"
allocprof diff --hide '^f$' -n 3 base.pb.gz grown.pb.gz || exit
echo "=== -o writes the filtered difference"
allocprof diff --focus '^k$' -o d.pb.gz base.pb.gz grown.pb.gz >/dev/null || exit
allocprof top -n 2 d.pb.gz | grep -E '^Totals|^Samples'
allocprof diff --focus '[' base.pb.gz grown.pb.gz; echo "rc=$?"
echo "=== JSON names the filter"
allocprof diff --json --focus run --hide '^f$' base.pb.gz grown.pb.gz | grep -E '"(filter|base_total|new_total)"'
