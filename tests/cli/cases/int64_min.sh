# a value of INT64_MIN (int64_min.pb.gz: f <- main at INT64_MIN, g <- main
# at 100): no command negates it (undefined behaviour, caught by UBSan);
# absolute values and changes saturate at INT64_MAX
allocprof top int64_min.pb.gz; echo "top rc=$?"
allocprof diff int64_100.pb.gz int64_min.pb.gz; echo "diff rc=$?"
allocprof diff --json int64_min.pb.gz int64_100.pb.gz | grep delta
allocprof gate --base int64_100.pb.gz int64_min.pb.gz; echo "gate rc=$?"
allocprof gate --base int64_min.pb.gz int64_100.pb.gz >/dev/null; echo "gate rc=$?"
