# the known heap: inuse_space 10625760 B; g 10 MiB flat; f 100000 + 10000
# flat; run 110000 cum; r counted once per sample though it recurses
allocprof top base.pb.gz
