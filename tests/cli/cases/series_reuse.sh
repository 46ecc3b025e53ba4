# A stream whose snapshots repeat their tables, or change them keeping their
# size (gen_series.c): the reader reuses a snapshot's tables for the next
# only when they name the same frames, so the stream gives what its
# snapshots give read one by one (which the reader decodes whole). Then
# bad samples in a snapshot with the previous one's tables: the same
# one-line errors as ever.
files="rs.0.pb.gz rs.1.pb.gz rs.2.pb.gz rs.3.pb.gz rs.4.pb.gz rs.5.pb.gz rs.6.pb.gz rs.7.pb.gz"
allocprof timeline --csv rs.zst || exit
allocprof timeline --csv $files | cmp - "$(allocprof timeline --csv rs.zst >s.csv; echo s.csv)" &&
  echo "timeline: the stream gives what its snapshots give one by one"
allocprof timeline -n 1 --csv rs.zst >s1.csv && allocprof timeline -n 1 --csv $files | cmp - s1.csv &&
  echo "timeline -n 1: the same"
allocprof leaks --json --min-rate 0 rs.zst >l.json
allocprof leaks --json --min-rate 0 $files | cmp - l.json && echo "leaks: the same"
echo "=== --hide beta (no reuse with a filter)"
allocprof timeline --hide beta --csv rs.zst >h.csv && allocprof timeline --hide beta --csv $files |
  cmp - h.csv && echo "the same"
for f in rs_badid.zst rs_badvalues.zst; do
  echo "=== timeline $f"
  allocprof timeline --csv $f
  echo "rc=$?"
done
