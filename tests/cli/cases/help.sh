# allocprof --help, and every command's --help
allocprof --help || exit
for c in run top merge diff gate convert flame timeline leaks symbolize; do
  echo "=== $c"
  allocprof $c --help || exit
done
allocprof help gate >/dev/null || exit
