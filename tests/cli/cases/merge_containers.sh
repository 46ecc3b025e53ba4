# three containers in, three times the values out; raw output
allocprof merge -o m.pb base.pb.gz copy.pb copy.pb.zst || exit
allocprof top -n 4 m.pb
