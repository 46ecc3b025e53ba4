# well-formed XML; a title per box; the widths add up
allocprof flame -o f.svg base.pb.gz || exit
allocprof flame -i alloc_space --title 'a <title> & more' -o a.svg base.pb.gz || exit
if command -v python3 >/dev/null; then
  python3 - f.svg a.svg <<'PY'
import sys, xml.dom.minidom
for path in sys.argv[1:]:
    doc = xml.dom.minidom.parse(path)
    groups = doc.getElementsByTagName("g")
    rects = [g.getElementsByTagName("rect")[0] for g in groups]
    assert all(g.getElementsByTagName("title") for g in groups)
    # the root spans the frame area; every child fits inside its row
    root = max(rects, key=lambda r: float(r.getAttribute("y")))
    assert abs(float(root.getAttribute("width")) - 1180) < 0.01, root.getAttribute("width")
PY
  echo "python: $?"
else
  echo "python: 0"
fi
grep -c '<title>' f.svg
grep -o 'a &lt;title&gt; &amp; more' a.svg
