#!/usr/bin/env bash
# run_compare.sh LIBALLOC PROGRAM [ARGS...]
#
# Runs PROGRAM twice: plainly, and with LIBALLOC in LD_PRELOAD (and
# IT_EXPECT_LIBALLOC=1, which tells a test program to check that it really
# runs on liballoc). Both runs must exit 0 and print the same standard output.
set -u
if [ $# -lt 2 ]; then
  echo "usage: run_compare.sh LIBALLOC PROGRAM [ARGS...]" >&2
  exit 2
fi
lib=$1
shift
if [ ! -f "$lib" ]; then
  echo "run_compare: no library $lib" >&2
  exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/allocprof-cmp.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

"$@" >"$tmp/plain.out" 2>"$tmp/plain.err"
rc_plain=$?
LD_PRELOAD="$lib" IT_EXPECT_LIBALLOC=1 "$@" >"$tmp/preload.out" 2>"$tmp/preload.err"
rc_preload=$?

status=0
if [ $rc_plain -ne 0 ]; then
  echo "run_compare: FAIL: $1 without liballoc exited with $rc_plain; stderr:" >&2
  cat "$tmp/plain.err" >&2
  status=1
fi
if [ $rc_preload -ne 0 ]; then
  echo "run_compare: FAIL: $1 with liballoc preloaded exited with $rc_preload; stderr:" >&2
  cat "$tmp/preload.err" >&2
  status=1
fi
if grep -q "ld.so" "$tmp/preload.err"; then
  echo "run_compare: FAIL: the dynamic loader complained:" >&2
  grep "ld.so" "$tmp/preload.err" >&2
  status=1
fi
if ! cmp -s "$tmp/plain.out" "$tmp/preload.out"; then
  echo "run_compare: FAIL: outputs differ (plain, preloaded):" >&2
  diff "$tmp/plain.out" "$tmp/preload.out" | head -40 >&2
  status=1
fi
cat "$tmp/preload.out"
exit $status
