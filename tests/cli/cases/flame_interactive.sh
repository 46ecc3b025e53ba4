# The flame graph is interactive and self-contained: one inline script (no
# src, no link to anything: the only URL is the SVG namespace), the buttons
# it drives (Reset zoom, hidden until a zoom; Search; the matched share), and
# the zoom, reset and search functions. flame prints the path it wrote.
allocprof flame -o f.svg base.pb.gz || exit
printf 'scripts: '; grep -c '<script' f.svg
printf 'inline: '; grep -c '<script type="text/ecmascript"><!\[CDATA\[' f.svg
printf 'external references: '; grep -Eo '(src|href)=|https?://[^"]*' f.svg | grep -vc '^http://www.w3.org/2000/svg$'
grep -o '<text id="[a-z]*"[^>]*>[^<]*' f.svg
grep -Eo 'function (zoom|reset|search|clearSearch|askSearch)\(' f.svg
grep -o '^var LEFT.*' f.svg
echo "=== the path written, as given"
mkdir -p out
allocprof flame -o out/g.svg --title 'x' base.pb.gz
allocprof flame -o "$PWD/out/h.svg" base.pb.gz | sed "s|$PWD|PWD|"
