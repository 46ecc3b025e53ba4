#!/bin/sh
# mutants.sh: 200 damaged copies of a profile (flipped bytes, cut short,
# broken varints, duplicated slices; written by gen_profiles) through every
# command that reads profiles. Each run must exit 0 or 2 (never a crash or a
# sanitizer report), print at most one line on stderr, and when it fails,
# leave no output file behind.
set -u
work=$(mktemp -d "${TMPDIR:-/tmp}/cli.mutants.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
cd "$work" || exit 1
PATH="$CLI_BIN:$PATH"
fail=0
check() { # name rc
  lines=$(wc -l <err)
  if [ "$2" != 0 ] && [ "$2" != 2 ]; then
    echo "FAIL: $1: exit status $2"; cat err; fail=1
  elif [ "$lines" -gt 1 ]; then
    echo "FAIL: $1: $lines lines on stderr"; cat err; fail=1
  elif [ "$2" = 2 ] && ls out.* >/dev/null 2>&1; then
    echo "FAIL: $1: failed but left an output file"; ls out.*; fail=1
  fi
  rm -f out.*
}
n=0
for m in "$CLI_DATA"/mutants/*.pb; do
  allocprof top -n 3 "$m" >/dev/null 2>err; check "top $m" $?
  allocprof top --json "$m" >/dev/null 2>err; check "top --json $m" $?
  allocprof top --focus 'a|m' --hide '^[a-f]' "$m" >/dev/null 2>err; check "top --focus --hide $m" $?
  allocprof merge -o out.pb.gz "$CLI_DATA/base.pb.gz" "$m" 2>err; check "merge $m" $?
  allocprof diff -o out.pb "$CLI_DATA/base.pb.gz" "$m" >/dev/null 2>err; check "diff $m" $?
  allocprof gate --base "$m" "$CLI_DATA/base.pb.gz" >/dev/null 2>err
  rc=$?; [ $rc = 1 ] && rc=0; check "gate $m" $rc
  allocprof convert -o out.folded "$m" 2>err; check "convert $m" $?
  allocprof flame -o out.svg "$m" >/dev/null 2>err; check "flame $m" $?
  allocprof merge -o out.pb "$CLI_DATA/noisy_base.pb.gz" "$m" 2>err; check "merge (rates) $m" $?
  allocprof timeline -o out.svg "$CLI_DATA/tl.0.pb.gz" "$m" >/dev/null 2>err; check "timeline $m" $?
  allocprof leaks "$CLI_DATA/tl.0.pb.gz" "$CLI_DATA/tl.1.pb.gz" "$m" >/dev/null 2>err
  check "leaks $m" $?
  n=$((n + 1))
done
[ $n -ge 200 ] || { echo "FAIL: only $n mutants in $CLI_DATA/mutants"; fail=1; }
[ $fail = 0 ] && echo "mutants: $n files through 9 commands: ok"
exit $fail
