#!/bin/bash
# readme_examples.sh SOURCE_DIR BUILD_DIR: every ```sh block of README.md
# runs as written, from a directory that stands for the top of the source
# tree (its build/ is BUILD_DIR), each block with bash -e -o pipefail, one
# after the other in the same directory. A block that fails fails the test,
# with its output. The other blocks (templates such as /path/to/liballoc.so,
# the setup and install commands) are not run here: the README's first
# block is what .ci/run itself runs, and tests/install checks the install.
set -u
src=$(readlink -f "$1") build=$(readlink -f "$2")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/allocprof-readme.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
ln -s "$build" "$tmp/build"
# the blocks, one file each: lines between "```sh" and the next "```"
awk -v dir="$tmp" '
  /^```sh[[:space:]]*$/ { n++; f = sprintf("%s/block%02d.sh", dir, n); inb = 1; next }
  /^```/ && inb { inb = 0; close(f); next }
  inb { print > f }
' "$src/README.md"
blocks=$(ls "$tmp"/block*.sh 2>/dev/null)
[ -n "$blocks" ] || { echo "readme_examples: README.md has no \`\`\`sh block"; exit 1; }
count=0
for b in $blocks; do
  count=$((count + 1))
  if ! (cd "$tmp" && bash -e -o pipefail "$b") >"$b.out" 2>&1; then
    echo "readme_examples: FAIL: this README block failed:"
    sed 's/^/    /' "$b"
    echo "its output:"
    sed 's/^/    /' "$b.out" | tail -40
    exit 1
  fi
done
echo "readme_examples: $count blocks ran"
