#!/bin/sh
# run_case.sh CASE.sh: runs one golden test of the allocprof command.
#
# The case (a shell snippet in tests/cli/cases/) runs in a fresh directory
# holding a copy of the generated test profiles, with allocprof on PATH; its
# stdout, stderr and exit status must equal tests/cli/golden/NAME.out, .err
# and .rc; exit status 77 means skipped (a prerequisite is missing). With ALLOCPROF_APPROVE=1 the goldens are rewritten from this run
# instead (review them with git diff before committing).
#
# Environment (set by tests/cli/CMakeLists.txt): CLI_BIN (allocprof's
# directory), CLI_DATA (the generated inputs), CLI_GOLDEN (the golden
# directory in the source tree), HEAPDEMO (the demo program).
set -u
case_file=$1
name=$(basename "$case_file" .sh)
work=$(mktemp -d "${TMPDIR:-/tmp}/cli.$name.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
cp -R "$CLI_DATA"/. "$work"/ || exit 1
mkdir "$work/.result"
(cd "$work" && PATH="$CLI_BIN:$PATH" LC_ALL=C sh "$case_file" \
    >"$work/.result/out" 2>"$work/.result/err" </dev/null)
echo $? >"$work/.result/rc"
# A case that cannot run here (say mknod as non-root) exits 77 with the
# reason on stdout: ctest reports it skipped.
if [ "$(cat "$work/.result/rc")" = 77 ]; then
  cat "$work/.result/out"
  exit 77
fi
# Temporary files used to be named after the writer's pid.
for k in out err; do
  sed -E 's/\.tmp\.[0-9]+/.tmp.PID/g' "$work/.result/$k" >"$work/.result/$k.n" &&
    mv "$work/.result/$k.n" "$work/.result/$k"
done

if [ "${ALLOCPROF_APPROVE:-0}" = 1 ]; then
  for k in out err rc; do cp "$work/.result/$k" "$CLI_GOLDEN/$name.$k"; done
  echo "approved: $CLI_GOLDEN/$name.{out,err,rc}"
  exit 0
fi

status=0
for k in out err rc; do
  golden="$CLI_GOLDEN/$name.$k"
  if [ ! -f "$golden" ]; then
    echo "missing golden file $golden (run with ALLOCPROF_APPROVE=1 to create it)"
    echo "--- $k of this run:"
    cat "$work/.result/$k"
    status=1
  elif ! diff -u "$golden" "$work/.result/$k"; then
    status=1
  fi
done
[ $status = 0 ] || echo "FAIL: $name differs from its golden files (ALLOCPROF_APPROVE=1 re-approves)"
exit $status
