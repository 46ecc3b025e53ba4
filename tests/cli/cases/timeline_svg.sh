# timeline's SVG and HTML: well-formed XML, self-contained (no script, no
# link to fetch), the peak marked, one hover title per snapshot with its
# exact values; the SVG itself
allocprof timeline -o t.svg tl.zst || exit
allocprof timeline -o t.html tl.zst || exit
python3 -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1]); print("t.svg: well-formed")' t.svg || exit
grep -c '<rect class="snap"' t.svg
grep -o 'peak 5.10 MiB at 3 s' t.svg
grep -Eic '<script|href=|src=|url\(|@import' t.svg t.html
head -c 200 t.html | head -3
cat t.svg
