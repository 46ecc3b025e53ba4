#!/bin/bash
# readme_examples.sh SOURCE_DIR BUILD_DIR: every ```sh block of README.md
# runs as written and is checked for what it was meant to do.
#
# The blocks run from a directory that stands for the top of the source
# tree (its build/ is BUILD_DIR), each with bash -e -o pipefail, one after
# the other in the same directory. Right after its closing ``` every block
# has one or more lines
#     <!-- expect: COMMAND -->
# (HTML comments: a reader of the rendered README does not see them). Each
# COMMAND runs with bash -e -o pipefail in the same directory once the block
# has run, and must succeed: a block that exits 0 without having done its
# job (a statistics line missing, no profile, the wrong function at the
# top) fails the test. A ```sh block without a check fails it too, so a new
# block cannot go unchecked. The checks may use, besides any command:
#     out_has ERE             the block's output (stdout and stderr) has a
#                             line matching the extended regex ERE
#     top_is FUNC [ARG...] FILE  the function at the top of
#                             `allocprof top [ARG...] FILE` is FUNC
#
# Then every block that preloads liballoc.so runs again, in a fresh
# directory, with LD_PRELOAD pointing at a file that does not exist: the
# block or its checks must fail, or they would not notice a preload that
# did not happen (ld.so only warns, and the program exits 0).
#
# The blocks sample at the default rate: ALLOCPROF_SEED is fixed here so
# that what a check reads from a sampled profile is the same in every run.
# The other blocks (templates such as /path/to/liballoc.so, the setup and
# install commands) are not run here: the README's first block is what
# .ci/run itself runs, and tests/install checks the install.
set -u
src=$(readlink -f "$1") build=$(readlink -f "$2")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/allocprof-readme.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
unset LD_PRELOAD ALLOCPROF_OUT ALLOCPROF_STREAM ALLOCPROF_SIGNAL ALLOCPROF_INTERVAL \
      ALLOCPROF_INUSE_INTERVAL ALLOCPROF_PEAK ALLOCPROF_RATE ALLOCPROF_MAX_FRAMES
export ALLOCPROF_SEED=1 LC_ALL=C
mkdir "$tmp/run" "$tmp/blocks"
ln -s "$build" "$tmp/run/build"

# the blocks, one file each (lines between "```sh" and the next "```"), and
# their checks, one line each, in blockNN.expect
awk -v dir="$tmp/blocks" '
  /^```sh[[:space:]]*$/ { n++; f = sprintf("%s/block%02d.sh", dir, n); e = f; sub(/\.sh$/, ".expect", e)
                          printf "" > e; close(e); inb = 1; after = 0; next }
  /^```/ && inb { inb = 0; close(f); after = 1; next }
  inb { print > f; next }
  after && /^<!-- expect: .* -->[[:space:]]*$/ {
    line = $0; sub(/^<!-- expect: /, "", line); sub(/ -->[[:space:]]*$/, "", line)
    print line >> e; close(e); next }
  { after = 0 }
' "$src/README.md"
blocks=$(ls "$tmp"/blocks/block*.sh 2>/dev/null)
[ -n "$blocks" ] || { echo "readme_examples: README.md has no \`\`\`sh block"; exit 1; }

# what the checks may call (exported to their shells)
out_has() { grep -Eq -- "$1" "$OUT"; }
top_is() {
  local want=$1
  shift
  local got
  got=$(build/cli/allocprof top -n 1 "$@" | awk '/^Top 1 functions by flat/ { getline; getline; print $NF; exit }')
  [ "$got" = "$want" ] || {
    echo "top of allocprof top $*: '$got', expected '$want'" >&2
    return 1
  }
}
export -f out_has top_is

show() { # show FILE: indented
  sed 's/^/    /' "$1" | tail -40
}

# run_block BLOCK DIR: runs the block in DIR, then its checks; 0 when all
# passed, else 1 with what failed in $why
run_block() {
  local b=$1 dir=$2
  why=
  if ! (cd "$dir" && bash -e -o pipefail "$b") >"$b.out" 2>&1; then
    why="the block failed"
    return 1
  fi
  local check
  while IFS= read -r check; do
    if ! (cd "$dir" && OUT="$b.out" bash -e -o pipefail -c "$check") >"$b.check" 2>&1; then
      why="its check failed: $check
$(show "$b.check")"
      return 1
    fi
  done <"${b%.sh}.expect"
}

count=0
for b in $blocks; do
  count=$((count + 1))
  if [ ! -s "${b%.sh}.expect" ]; then
    echo "readme_examples: FAIL: this README block has no '<!-- expect: COMMAND -->' line after it:"
    show "$b"
    exit 1
  fi
  if ! run_block "$b" "$tmp/run"; then
    echo "readme_examples: FAIL: this README block did not do its job: $why"
    show "$b"
    echo "its output:"
    show "$b.out"
    exit 1
  fi
done

# the same blocks with a preload that cannot happen must not pass
broken=0 k=0
for b in $blocks; do
  grep -q 'LD_PRELOAD=[^ ]*liballoc\.so' "$b" || continue
  m=${b%.sh}.nopreload.sh
  sed 's|\(LD_PRELOAD=[^ ]*\)liballoc\.so|\1liballoc-absent.so|g' "$b" >"$m"
  cp "${b%.sh}.expect" "${m%.sh}.expect"
  k=$((k + 1))
  mkdir "$tmp/run.$k" && ln -s "$build" "$tmp/run.$k/build"
  if run_block "$m" "$tmp/run.$k"; then
    echo "readme_examples: FAIL: with LD_PRELOAD pointing nowhere, this README block and its checks still pass:"
    show "$m"
    exit 1
  fi
  broken=$((broken + 1))
done
echo "readme_examples: $count blocks ran and did their job; $broken failed as they should with LD_PRELOAD pointing nowhere"
