# --interval 1e-1 used to pass run and be turned down by the library, which
# then ran the program unprofiled with exit status 0: now run refuses it,
# exit 2, before the program starts (PROG would print "started")
allocprof run --interval 1e-1 -o p.pb.gz -- sh -c 'echo started'; echo "rc=$?"
allocprof run --interval 0x10 -o p.pb.gz -- sh -c 'echo started'; echo "rc=$?"
allocprof run --interval ' 5' -o p.pb.gz -- sh -c 'echo started'; echo "rc=$?"
ls p.pb.gz 2>/dev/null || echo "no profile"
