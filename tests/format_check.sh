#!/bin/bash
# format_check.sh SOURCE_DIR: every C file of the tree is formatted as
# .clang-format says (clang-format 14, Debian 12's). Lists the files that
# are not, with the command that fixes them; exit 1. Generated code (under
# the build directory) and golden outputs are not sources and not checked.
set -u
src=$1
cf=$(command -v clang-format-14 || command -v clang-format) || {
  echo "format_check: no clang-format (Debian: apt-get install clang-format); skipped"
  exit 77
}
cd "$src" || exit 2
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  files=$(git ls-files '*.c' '*.h')
else
  files=$(find liballoc libprof formats cli tests bench -name '*.[ch]' | sort)
fi
bad=""
for f in $files; do
  "$cf" --style=file --dry-run --Werror "$f" >/dev/null 2>&1 || bad="$bad $f"
done
if [ -n "$bad" ]; then
  echo "format_check: not formatted as .clang-format says:"
  for f in $bad; do echo "  $f"; done
  echo "fix: $cf -i$bad"
  exit 1
fi
echo "format_check: $(echo "$files" | wc -w) files formatted"
