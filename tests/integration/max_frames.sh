#!/bin/bash
# max_frames.sh LIBALLOC ALLOCPROF DEEP_STACK: stacks deeper than
# ALLOCPROF_MAX_FRAMES (liballoc/mprof.h).
#   default   a 100-deep stack keeps 64 frames and ends in "(truncated)"
#   raised    ALLOCPROF_MAX_FRAMES=200: the whole stack, no mark
#   lowered   ALLOCPROF_MAX_FRAMES=8: 8 frames and the mark
#   bad       ALLOCPROF_MAX_FRAMES=300 (over 256), =abc: one line, 64 kept
#   shallow   a stack that fits has no mark
set -u
lib=$(readlink -f "$1") allocprof=$2 prog=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/allocprof-frames.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "max_frames: FAIL: $*" >&2; exit 1; }

# run CASE DEPTH [MAX_FRAMES]: the folded stack of the 4096-byte block
run() {
  local case_=$1 depth=$2
  if [ $# -ge 3 ]; then export ALLOCPROF_MAX_FRAMES=$3; else unset ALLOCPROF_MAX_FRAMES; fi
  ALLOCPROF_OUT="$tmp/$case_.pb.gz" ALLOCPROF_RATE=1 LD_PRELOAD="$lib" "$prog" "$depth" >/dev/null \
    2>"$tmp/$case_.err" || fail "$case_: the program failed"
  "$allocprof" convert -o "$tmp/$case_.folded" "$tmp/$case_.pb.gz" || fail "$case_: convert failed"
  grep "descend" "$tmp/$case_.folded" | head -1 >"$tmp/$case_.stack"
  [ -s "$tmp/$case_.stack" ] || fail "$case_: no stack through descend"
}
frames() { tr ';' '\n' <"$tmp/$1.stack" | sed 's/ [0-9]*$//' | grep -c .; }
marked() { cut -d';' -f1 <"$tmp/$1.stack" | grep -qx '(truncated)'; }

run default 100
marked default || fail "default: the cut stack does not start at (truncated): $(cut -c1-120 "$tmp/default.stack")"
[ "$(frames default)" -eq 65 ] || fail "default: $(frames default) frames, not 64 and the mark"
[ "$(grep -c '^(truncated)' "$tmp/default.folded")" -ge 1 ] || fail "default: no (truncated) root"

run raised 100 200
marked raised && fail "raised: a stack of about 103 frames was cut at 200"
[ "$(tr ';' '\n' <"$tmp/raised.stack" | grep -c descend)" -eq 101 ] ||
  fail "raised: $(tr ';' '\n' <"$tmp/raised.stack" | grep -c descend) frames of descend, not 101"
grep -q "main" "$tmp/raised.stack" || fail "raised: main is not on the stack"

run lowered 100 8
marked lowered || fail "lowered: no mark"
[ "$(frames lowered)" -eq 9 ] || fail "lowered: $(frames lowered) frames, not 8 and the mark"

for bad in 300 abc 0; do
  run "bad$bad" 100 "$bad"
  [ "$(wc -l <"$tmp/bad$bad.err")" -eq 1 ] && grep -q "ALLOCPROF_MAX_FRAMES=$bad" "$tmp/bad$bad.err" ||
    { cat "$tmp/bad$bad.err" >&2; fail "bad$bad: not one line naming the setting"; }
  [ "$(frames "bad$bad")" -eq 65 ] || fail "bad$bad: $(frames "bad$bad") frames, not the default 64 and the mark"
done

run shallow 5
marked shallow && fail "shallow: a stack that fits is marked"
grep -q '(truncated)' "$tmp/shallow.folded" && fail "shallow: a (truncated) frame in a profile of short stacks"
echo "max_frames: ok"
