# The flame graph's script, run by node against a stand-in DOM
# (tests/cli/flame_dom.js): it parses and runs; a click on load zooms to it
# (load full width, its callees scaled by 1180/448.10, its callers faded, the
# rest gone); Search highlights what matches and shows the share of the
# whole (wrapped.pb.gz: every wrapper, 15300 of 15800 B = 96.8%, the nested
# zmalloc_usable once); the button then clears it; Escape and Reset zoom go
# back; a bad expression says so. Skipped without node.
command -v node >/dev/null || { echo "node not installed"; exit 77; }
allocprof flame -o w.svg wrapped.pb.gz || exit
sed -n '/<!\[CDATA\[/,/\]\]>/p' w.svg | sed '1d;$d' >w.js
node --check w.js && echo "the script parses"
node "$(dirname "$CLI_GOLDEN")/flame_dom.js" w.svg "zoom load" "search malloc" "search malloc" \
  "reset" "zoom zmalloc_usable" "escape" "search ^(parse|nothing)$" "zoom all" "search (" "search (" || exit
echo "=== differential: the same script"
allocprof flame --base base.pb.gz -o d.svg grown.pb.gz || exit
node "$(dirname "$CLI_GOLDEN")/flame_dom.js" d.svg "zoom run" | head -4
