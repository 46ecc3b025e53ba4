# the same profile as .pb.gz, .pb and .pb.zst reads the same (by content:
# the names are swapped around to prove it)
cp copy.pb.zst zstd-named.pb
cp copy.pb raw-named.pb.gz
for f in base.pb.gz raw-named.pb.gz zstd-named.pb; do
  allocprof top --json "$f" | grep -v '"file"' >"$f.json" || exit
done
cmp base.pb.gz.json raw-named.pb.gz.json && cmp base.pb.gz.json zstd-named.pb.json && echo same
