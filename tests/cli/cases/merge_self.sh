# base merged with itself: every value doubles (inuse_space 21251520,
# g 20971520, f 220000)
allocprof merge -o m.pb.gz base.pb.gz base.pb.gz || exit
allocprof top --json -n 0 m.pb.gz
