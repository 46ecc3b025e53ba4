# A program that freed nearly everything before its profile was written
# (freed.pb.gz: 64 KiB in use of 101 MiB allocated, 0.06%): top says so and
# points to -i alloc_space and ALLOCPROF_PEAK. Not for an alloc_* value, nor
# when in use is 1% or more (base.pb.gz: 10.1 of 10.2 MiB).
allocprof top -n 2 freed.pb.gz || exit
echo "=== JSON"
allocprof top --json freed.pb.gz | grep '"note"'
echo "=== inuse_objects too"
allocprof top -i inuse_objects freed.pb.gz | grep -c '^Note: in use is 0.06% of allocated'
echo "=== no note"
allocprof top -i alloc_space freed.pb.gz | grep -c '^Note'
allocprof top base.pb.gz | grep -c '^Note'
allocprof top --json base.pb.gz | grep -c '"note"'
