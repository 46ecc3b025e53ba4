#!/bin/bash
# gate_verdicts.sh LIBALLOC ALLOCPROF HOLD_SITE: allocprof gate's three
# verdicts on real sampled profiles of a program whose heap is known
# (hold_site: X MiB in 512-byte objects, in use at exit), seeds fixed.
# BASE holds X = 32 MiB; NEW holds X again (no change) or 1.5X (a
# regression of 16 MiB). A profile of B bytes of 512-byte objects sampled
# every P bytes has a standard error of about sqrt(B*P): at P = 16 KiB about
# 0.73 MiB, so the growth's 3σ (both profiles) is about 3.3 MiB; at 4 MiB
# about 11.3 MiB each, 3σ of the growth about 52 MiB.
#   fail       16k, 1.5X against --max-growth 10% (3.2 MiB): +16 MiB less
#              3.3 MiB is far over the limit: FAIL, exit 1
#   pass       16k, 1.0X against --max-growth 20% (6.4 MiB): about 0 plus
#              3.3 MiB stays within: PASS, exit 0
#   undecided  4m, 1.5X against --max-growth 10%: the limit lies within
#              ±52 MiB of the growth: UNDECIDED, exit 3, and the rate named
#              is one that decides (the fail case's 16k would)
#   mapped     the undecided case with --undecided pass / fail: exit 0 / 1
#   exact      rate 1: 1.5X fails and 1.0X passes even at --max-growth 1%
set -u
lib=$(readlink -f "$1") allocprof=$2 prog=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/allocprof-gate.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "gate_verdicts: FAIL: $*" >&2; exit 1; }

# profile NAME RATE SEED MIB: hold_site's exit profile
profile() {
  ALLOCPROF_OUT="$tmp/$1.pb.gz" ALLOCPROF_RATE=$2 ALLOCPROF_SEED=$3 LD_PRELOAD="$lib" \
    "$prog" "$4" >/dev/null 2>"$tmp/$1.err" || fail "$1: the program failed: $(cat "$tmp/$1.err")"
  [ -s "$tmp/$1.pb.gz" ] || fail "$1: no profile written"
}

# gate CASE WANT_RC BASE NEW ARGS...: runs the gate, checks its exit status
gate() {
  local case_=$1 want=$2 base=$3 new=$4
  shift 4
  "$allocprof" gate --base "$tmp/$base.pb.gz" "$@" "$tmp/$new.pb.gz" >"$tmp/$case_.out" 2>&1
  local rc=$?
  [ $rc = "$want" ] || fail "$case_: exit $rc, expected $want:"$'\n'"$(cat "$tmp/$case_.out")"
}

profile base16k 16384 1 32
profile same16k 16384 2 32
profile grown16k 16384 3 48
profile base4m 4194304 1 32
profile grown4m 4194304 3 48
profile base1 1 1 32
profile same1 1 2 32
profile grown1 1 3 48

gate fail 1 base16k grown16k --max-growth 10%
grep -q '^FAIL: regression$' "$tmp/fail.out" || fail "fail: no FAIL line: $(cat "$tmp/fail.out")"
gate pass 0 base16k same16k --max-growth 20%
grep -q '^PASS$' "$tmp/pass.out" || fail "pass: no PASS line: $(cat "$tmp/pass.out")"
gate undecided 3 base4m grown4m --max-growth 10%
grep -q '^UNDECIDED' "$tmp/undecided.out" || fail "undecided: no UNDECIDED line"
rate=$(grep -o 'ALLOCPROF_RATE=[0-9]*[km]*' "$tmp/undecided.out" | head -1 | cut -d= -f2)
[ -n "$rate" ] || fail "undecided: no rate named: $(cat "$tmp/undecided.out")"
case $rate in
  *m) bytes=$((${rate%m} * 1048576)) ;;
  *k) bytes=$((${rate%k} * 1024)) ;;
  *) bytes=$rate ;;
esac
# the rate that decides resolves |growth - limit| (about 12.8 MiB) at 3σ:
# below 4m, and no finer than needed (the 16k run decided)
[ "$bytes" -lt 4194304 ] && [ "$bytes" -ge 16384 ] || fail "undecided: named rate $rate"
gate mapped_pass 0 base4m grown4m --max-growth 10% --undecided pass
gate mapped_fail 1 base4m grown4m --max-growth 10% --undecided fail
gate junit 3 base4m grown4m --max-growth 10% --junit "$tmp/u.xml"
grep -q '<skipped message="undecided' "$tmp/u.xml" || fail "junit: no skipped test case"
gate exact_fail 1 base1 grown1 --max-growth 1%
gate exact_pass 0 base1 same1 --max-growth 1%
echo "gate_verdicts: ok (undecided at 4m names ALLOCPROF_RATE=$rate)"
