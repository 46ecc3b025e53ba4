# timeout: 60
# 100,000 callees of one frame: siblings are ordered in O(n log n) (an
# insertion sort took minutes); the graph comes out whole
"$GEN_PROFILES" --wide 100000 wide.pb.gz || exit
allocprof flame -o w.svg wide.pb.gz; echo "rc=$?"
grep -o 'wide.pb.gz: [^<]*' w.svg
tail -c 8 w.svg
