# --hide and --focus on top (wrapped.pb.gz, see gen_profiles.c: 15800 B in
# all). Hiding the wrappers gives their bytes to the callers: parse 500 +
# xmalloc 1000 + the inlined xmalloc 8000 = 9500, load 2000 + 4000 = 6000,
# main 300 (zmalloc <- main); focus keeps the stacks through load (6000 B).
allocprof top --hide 'zmalloc.*|xmalloc|g_malloc' wrapped.pb.gz || exit
echo "=== focus"
allocprof top --focus '^load$' -n 3 wrapped.pb.gz || exit
echo "=== focus and hide, JSON"
allocprof top --json --focus parse --hide '^xmalloc$' -n 2 wrapped.pb.gz || exit
echo "=== a focus that matches nothing"
allocprof top --focus nothing_matches -n 2 wrapped.pb.gz; echo "rc=$?"
echo "=== the last of a repeated option counts"
allocprof top --hide xmalloc --hide '^main$' -n 1 wrapped.pb.gz | grep -E '^Filter|^ '
echo "=== invalid regular expressions: one line, exit 2"
allocprof top --hide '(' wrapped.pb.gz; echo "rc=$?"
allocprof top --focus 'a{2,1}' wrapped.pb.gz; echo "rc=$?"
allocprof top --focus wrapped.pb.gz; echo "rc=$?"
