# --json output is valid UTF-8 JSON whatever bytes the function names hold:
# each byte that is not UTF-8 (stray, cut, overlong, surrogate) is U+FFFD,
# control characters and quotes are escaped
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }
check='
import json, sys
d = json.loads(sys.stdin.buffer.read().decode("utf-8"))  # strict: fails on bad UTF-8
print(ascii(sorted(f["function"] for f in d[sys.argv[1]])), ascii(d.get("file", "")))'
allocprof top --json -n 0 badutf8.pb.gz | python3 -c "$check" top_flat; echo "top: $?"
allocprof diff --json -n 0 base.pb.gz badutf8.pb.gz | python3 -c "$check" functions; echo "diff: $?"
name=$(printf 'name-\377.pb.gz')
cp badutf8.pb.gz "$name"
allocprof top --json -n 1 "$name" | python3 -c "$check" top_cum; echo "file name: $?"
# the same names in XML (flame's SVG, gate's JUnit) parse too
allocprof flame -o u.svg badutf8.pb.gz; echo "flame: $?"
allocprof gate --base base.pb.gz --junit u.xml badutf8.pb.gz >/dev/null; echo "gate: $?"
python3 -c '
import sys, xml.dom.minidom
for f in sys.argv[1:]:
    xml.dom.minidom.parse(f)
print("xml: ok")' u.svg u.xml
