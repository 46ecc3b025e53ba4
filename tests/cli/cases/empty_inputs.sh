# a profile without sample types is refused by every command, convert and
# merge too; flame of a profile with nothing to draw says so and exits 2
# instead of writing an empty picture
allocprof convert -o c.pb.gz no_types.pb.gz; echo "convert rc=$?"
allocprof convert -o c.folded no_types.pb.gz; echo "convert rc=$?"
allocprof merge -o m.pb.gz no_types.pb.gz; echo "merge rc=$?"
allocprof top no_types.pb.gz; echo "top rc=$?"
allocprof flame -o f.svg no_samples.pb.gz; echo "flame rc=$?"
allocprof flame --focus '^nothing$' -o f.svg base.pb.gz; echo "flame rc=$?"
allocprof flame --base base.pb.gz -o f.svg no_samples.pb.gz; echo "flame rc=$?"
ls | grep -E '^(c|m|f)\.' ; echo "leftovers: done"
