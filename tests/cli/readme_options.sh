#!/bin/sh
# readme_options.sh README [ALLOCPROF]: checks that README's summary of the
# command (the ``` block under "## The command") names every long option
# that `allocprof CMD --help` lists, for every command `allocprof --help`
# lists (--help itself aside). Prints what is missing and exits 1, or one
# line "ok: ..." and exits 0. Run by the golden case readme_options.
set -u
readme=$1
ap=${2:-allocprof}
block=$(awk '/^## The command/ {on = 1; next} on && /^```/ {n++; if (n == 2) exit; next} on && n == 1' "$readme")
[ -n "$block" ] || { echo "$readme: no command block under '## The command'"; exit 1; }
# the commands: the indented first words of the overview's command list
cmds=$("$ap" --help | awk '/^commands:/ {on = 1; next} on && /^  [a-z]/ {print $1} on && /^$/ {on = 0}')
[ -n "$cmds" ] || { echo "allocprof --help lists no commands"; exit 1; }
missing=0 checked=0
for c in $cmds; do
  # the command's lines in the block: its own and the indented ones after it
  lines=$(printf '%s\n' "$block" | awk -v c="allocprof $c" '
    index($0, c " ") == 1 || $0 == c {on = 1; print; next}
    on && /^ / {print; next}
    {on = 0}')
  if [ -z "$lines" ]; then
    echo "missing in $readme: allocprof $c"
    missing=$((missing + 1))
    continue
  fi
  for o in $("$ap" "$c" --help | grep -oE '^ +(-[a-zA-Z], )?--[a-z][a-z-]*' | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
    [ "$o" = --help ] && continue
    checked=$((checked + 1))
    if ! printf '%s\n' "$lines" | grep -qE -- "(^|[^a-z-])$o([^a-z-]|\$)"; then
      echo "missing in $readme: allocprof $c $o"
      missing=$((missing + 1))
    fi
  done
done
[ $missing = 0 ] || exit 1
echo "ok: the $checked options of $(echo $cmds | wc -w) commands are in $(basename "$readme")"
