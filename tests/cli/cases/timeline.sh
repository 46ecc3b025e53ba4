# timeline of a stream of 6 snapshots at rate 1 (gen_profiles.c: timeline()):
# the summary, the table (exact bytes), the same table from the interval
# profiles given in any order, -n, --focus, -o OUT.csv
allocprof timeline tl.zst || exit
allocprof timeline --csv tl.zst || exit
allocprof timeline --csv tl.3.pb.gz tl.0.pb.gz tl.5.pb.gz tl.1.pb.gz tl.2.pb.gz tl.4.pb.gz \
  >int.csv || exit
allocprof timeline --csv tl.zst | cmp - int.csv && echo "interval profiles: the same table"
echo "=== -n 1"
allocprof timeline -n 1 --csv tl.zst || exit
echo "=== --focus '^run$'"
allocprof timeline --focus '^run$' --csv tl.zst || exit
echo "=== -o t.csv"
allocprof timeline -o t.csv tl.zst && cmp t.csv int.csv && echo "t.csv: the same table"
echo "=== the stream and its interval profiles together: each snapshot once"
allocprof timeline --csv tl.zst tl.*.pb.gz | cmp - int.csv && echo "the same table"
