# --hide and --focus on flame: hidden frames leave no box, their width goes
# to the caller; --focus keeps the stacks through a match.
allocprof flame --hide 'zmalloc.*|xmalloc|g_malloc' -o hide.svg wrapped.pb.gz || exit
tr '\n' ' ' <hide.svg | grep -o '<title>[^<]*' | sed 's/<title>//'
grep -c malloc hide.svg  # the subtitle only
echo "=== focus"
allocprof flame --focus '^load$' -o focus.svg wrapped.pb.gz || exit
tr '\n' ' ' <focus.svg | grep -o '<title>[^<]*' | sed 's/<title>//'
grep -o 'class="sub"[^<]*' focus.svg | head -1
echo "=== differential, both filtered"
allocprof flame --base base.pb.gz --focus run --hide '^f$' -o d.svg grown.pb.gz || exit
tr '\n' ' ' <d.svg | grep -o '<title>[^<]*' | sed 's/<title>//'
allocprof flame --hide '(' -o x.svg wrapped.pb.gz; echo "rc=$?"
test -e x.svg && echo "x.svg written" || echo "no x.svg"
