#!/bin/bash
# alloc_settings.sh LIBALLOC SCAVENGE: a bad ALLOC_* value costs exactly one
# line on stderr, naming the setting and the value, and the program runs
# with the default (liballoc/settings.c, alloc_settings_parse).
#   each      every setting with a bad value, under a preloaded /bin/true:
#             one line, the expected one, nothing else; the exit status is 0
#   thread cache  ALLOC_THREAD_CACHE_KB=0 and =65536 under python3 freeing
#             in bulk from three threads: it runs, and nothing is printed
#   several   two bad values: two lines
#   default   ALLOC_RETAIN_MB=-1 (which once turned returning memory off)
#             returns freed memory down to the default 8 MiB (scavenge.c)
#   stats     ALLOC_STATS=yes prints its line and no statistics; ALLOC_STATS=1
#             still prints them
#   good      good and empty values print nothing
set -u
lib=$(readlink -f "$1")
scavenge=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/alloc_settings.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "alloc_settings: FAIL: $*" >&2; [ -f "$tmp/err" ] && cat "$tmp/err" >&2; exit 1; }

# expect_line VAR=VALUE LINE: /bin/true under the preload prints LINE only
expect_line() {
  env "$1" LD_PRELOAD="$lib" /bin/true 2>"$tmp/err" || fail "$1: /bin/true failed"
  [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "$1: want one line on stderr, got $(wc -l <"$tmp/err")"
  [ "$(cat "$tmp/err")" = "allocprof: $2" ] || fail "$1: want the line 'allocprof: $2'"
}
expect_line ALLOC_RETAIN_MB=-1 "ALLOC_RETAIN_MB=-1 is not a number of MiB from 0 to 1048576; keeping 8"
expect_line ALLOC_RETAIN_MB=lots "ALLOC_RETAIN_MB=lots is not a number of MiB from 0 to 1048576; keeping 8"
expect_line ALLOC_SCAVENGE_DELAY_MS=1s \
  "ALLOC_SCAVENGE_DELAY_MS=1s is not a number of milliseconds from 0 to 86400000; keeping 500"
expect_line ALLOC_SCAVENGER=no "ALLOC_SCAVENGER=no is not 0 or 1; keeping 1 (the background scavenger)"
expect_line ALLOC_STATS=yes "ALLOC_STATS=yes is not 0 or 1; keeping 0 (no statistics)"
expect_line ALLOC_THREAD_CACHE_KB=-5 \
  "ALLOC_THREAD_CACHE_KB=-5 is not a number of KiB from 0 to 65536; keeping 4096"
echo "each: ok"

# a thread cache that never grows, and one at its largest, under a program
# that frees in bulk from several threads: it runs and says nothing
for kb in 0 65536; do
  ALLOC_THREAD_CACHE_KB=$kb LD_PRELOAD="$lib" python3 -c '
import threading
def work():
    for _ in range(30):
        xs = [bytearray(48 + i % 700) for i in range(20000)]
        del xs
ts = [threading.Thread(target=work) for _ in range(3)]
[t.start() for t in ts]
[t.join() for t in ts]
print("done")' >"$tmp/out" 2>"$tmp/err" || fail "thread cache $kb KiB: python3 failed"
  [ "$(cat "$tmp/out")" = done ] && [ ! -s "$tmp/err" ] || fail "thread cache $kb KiB: $(cat "$tmp/err")"
done
echo "thread cache: ok"

ALLOC_RETAIN_MB=-1 ALLOC_SCAVENGER=x LD_PRELOAD="$lib" /bin/true 2>"$tmp/err" || fail "several: /bin/true failed"
[ "$(wc -l <"$tmp/err")" -eq 2 ] || fail "several: want two lines"
grep -q "^allocprof: ALLOC_RETAIN_MB=-1 is not" "$tmp/err" || fail "several: no ALLOC_RETAIN_MB line"
grep -q "^allocprof: ALLOC_SCAVENGER=x is not" "$tmp/err" || fail "several: no ALLOC_SCAVENGER line"
echo "several: ok"

ALLOC_RETAIN_MB=-1 "$scavenge" retain 15 8 >"$tmp/out" 2>"$tmp/err" ||
  fail "default: with ALLOC_RETAIN_MB=-1 freed memory did not go back to the default budget"
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "default: want one line on stderr"
echo "default: ok"

ALLOC_STATS=yes LD_PRELOAD="$lib" /bin/true 2>"$tmp/err"
grep -q "^liballoc: " "$tmp/err" && fail "stats: ALLOC_STATS=yes printed statistics"
ALLOC_STATS=1 LD_PRELOAD="$lib" /bin/true 2>"$tmp/err"
grep -q "^liballoc: in use" "$tmp/err" || fail "stats: ALLOC_STATS=1 printed no statistics"
echo "stats: ok"

ALLOC_STATS=0 ALLOC_SCAVENGER=1 ALLOC_SCAVENGE_DELAY_MS=0 ALLOC_RETAIN_MB=16 LD_PRELOAD="$lib" \
  /bin/true 2>"$tmp/err" || fail "good: /bin/true failed"
[ -s "$tmp/err" ] && fail "good: good values printed something"
ALLOC_STATS= ALLOC_SCAVENGER= ALLOC_SCAVENGE_DELAY_MS= ALLOC_RETAIN_MB= LD_PRELOAD="$lib" \
  /bin/true 2>"$tmp/err" || fail "good: /bin/true failed"
[ -s "$tmp/err" ] && fail "good: empty values printed something"
echo "good: ok"
