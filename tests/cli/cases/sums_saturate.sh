# values at the ends of int64 (gen_profiles.c, extremes()): sums saturate at
# INT64_MAX / INT64_MIN instead of wrapping around to the other sign, in
# merge, top, diff, gate, convert's folded stacks and flame
allocprof merge -o m.pb.gz int64_100.pb.gz int64_max.pb.gz; echo "merge rc=$?"
allocprof top --json m.pb.gz | grep -E '"value"|"total"|"flat"'
allocprof merge -o mm.pb.gz m.pb.gz m.pb.gz int64_100.pb.gz; echo "merge rc=$?"
allocprof top --json mm.pb.gz | grep -E '"total"'
allocprof diff --json int64_100.pb.gz m.pb.gz | grep -E 'total|delta'
allocprof diff -o d.pb.gz int64_max.pb.gz int64_min.pb.gz >/dev/null; echo "diff rc=$?"
allocprof top --json d.pb.gz | grep -E '"total"'
allocprof gate --base int64_100.pb.gz m.pb.gz | head -4; echo "gate rc=$?"
allocprof convert -o m.folded m.pb.gz; echo "convert rc=$?"
cat m.folded
allocprof merge -o two.pb.gz int64_max.pb.gz base.pb.gz; echo "merge rc=$?"
allocprof flame -o f.svg two.pb.gz; echo "flame rc=$?"
grep -o 'two.pb.gz: [^<]*total' f.svg
