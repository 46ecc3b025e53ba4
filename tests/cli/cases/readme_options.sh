# README.md's summary of the command names every option `allocprof CMD
# --help` lists (tests/cli/readme_options.sh); and the check fails when one
# is left out, or a command.
src=$(dirname "$(dirname "$(dirname "$CLI_GOLDEN")")")
check="$src/tests/cli/readme_options.sh"
sh "$check" "$src/README.md"; echo "rc=$?"
echo "=== --hide left out of flame's lines, --max-total of gate's"
sed -e '/^allocprof flame/,/^```/s/ \[--hide REGEX\]//' -e 's/ \[--max-total N\]//' "$src/README.md" >R1.md
sh "$check" R1.md; echo "rc=$?"
echo "=== merge left out"
grep -v '^allocprof merge' "$src/README.md" >R2.md
sh "$check" R2.md; echo "rc=$?"
