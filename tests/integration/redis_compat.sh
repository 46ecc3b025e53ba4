#!/bin/bash
# redis_compat.sh LIBALLOC: Debian's redis-server, linked with jemalloc, asks
# the allocator for its numbers through mallctl and nallocx. Under the
# preload those must be liballoc's (override_compat.c): INFO memory's
# allocator_allocated agrees with redis's own count (used_memory, summed from
# malloc_usable_size) and with liballoc's statistics at exit (ALLOC_STATS)
# within 10%. Then the calls a jemalloc-linked service makes for its own
# reports and upkeep: MEMORY MALLOC-STATS (malloc_stats_print) prints
# liballoc's statistics, MEMORY PURGE (mallctl arena.<narenas>.purge)
# answers OK and leaves no free page backed, MEMORY DOCTOR answers, and the
# server still answers PING after each.
# Before it starts: no symbol redis-server imports binds to libjemalloc
# under the preload (every one bound at start, LD_BIND_NOW, and listed by
# LD_DEBUG=bindings), and liballoc.so defines each one redis-server takes
# from libjemalloc (nm). Skipped (77) without redis-server and redis-cli.
set -u
lib=$(readlink -f "$1")
command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
  { echo "redis_compat: no redis-server/redis-cli; skipped"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/redis_compat.XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "redis_compat: FAIL: $*" >&2; [ -f "$tmp/stderr" ] && tail -20 "$tmp/stderr" >&2; exit 1; }
sock=$tmp/redis.sock
cli() { redis-cli -s "$sock" "$@"; }

server=$(command -v redis-server)
jemalloc=$(ldd "$server" | sed -n 's/.*libjemalloc[^ ]* => \([^ ]*\) .*/\1/p')
if [ -n "$jemalloc" ] && command -v nm >/dev/null; then
  nm -D --defined-only "$jemalloc" | awk '{print $3}' | sed 's/@.*//' | sort -u >"$tmp/je"
  nm -D --undefined-only "$server" | awk '{print $2}' | sed 's/@.*//' | sort -u >"$tmp/imports"
  nm -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//' | sort -u >"$tmp/ours"
  missing=$(comm -12 "$tmp/je" "$tmp/imports" | comm -23 - "$tmp/ours")
  [ -z "$missing" ] || fail "liballoc.so does not define what redis-server takes from libjemalloc: $missing"
  echo "redis_compat: liballoc defines all $(comm -12 "$tmp/je" "$tmp/imports" | wc -l) symbols redis-server imports from libjemalloc"
  LD_BIND_NOW=1 LD_DEBUG=bindings LD_PRELOAD="$lib" "$server" --version >/dev/null 2>"$tmp/bindings" ||
    fail "redis-server --version failed under the preload"
  grep -q "to $lib" "$tmp/bindings" || fail "LD_DEBUG=bindings shows no binding to liballoc.so"
  foreign=$(grep "binding file .*to .*libjemalloc" "$tmp/bindings" | grep -v "binding file [^ ]*libjemalloc")
  [ -z "$foreign" ] || fail "calls that reach jemalloc under the preload: $foreign"
else
  echo "redis_compat: redis-server is not linked with libjemalloc (or no nm): symbols not checked"
fi

ALLOC_STATS=1 LD_PRELOAD="$lib" redis-server --port 0 --unixsocket "$sock" --save "" \
  --appendonly no --dir "$tmp" --enable-debug-command yes >"$tmp/stdout" 2>"$tmp/stderr" &
pid=$!
for _ in $(seq 1 600); do
  [ "$(cli ping 2>/dev/null)" = PONG ] && break
  kill -0 "$pid" 2>/dev/null || fail "redis-server did not start"
  sleep 0.05
done
[ "$(cli ping 2>/dev/null)" = PONG ] || fail "redis-server did not answer in 30 s"
within() { # within A B: |A-B| <= 10% of B
  local d=$(( $1 > $2 ? $1 - $2 : $2 - $1 ))
  [ $((d * 10)) -le "$2" ]
}
field() { echo "$info" | sed -n "s/^$1://p"; }
# INFO memory's allocator_* fields are what serverCron last read through
# mallctl, every 100 ms; used_memory is current. A command that arrives
# while DEBUG POPULATE runs is served before the cron's next turn, and sees
# the numbers from before the populate. So read INFO until the cron has
# caught up (allocator_allocated within 10% of used_memory), 20 s at most:
# a wrong mallctl answer never catches up and still fails.
read_info() {
  for _ in $(seq 1 100); do
    info=$(cli info memory | tr -d '\r')
    used=$(field used_memory)
    allocated=$(field allocator_allocated)
    [ -n "$allocated" ] && [ -n "$used" ] && within "$allocated" "$used" && return 0
    sleep 0.2
  done
  return 1
}
cli debug populate 200000 key 100 >/dev/null || fail "DEBUG POPULATE failed"
read_info
active=$(field allocator_active)
resident=$(field allocator_resident)
echo "redis_compat: used_memory=$used allocator_allocated=$allocated allocator_active=$active allocator_resident=$resident"
[ -n "$allocated" ] && [ "$allocated" -gt 0 ] || fail "no allocator_allocated in INFO memory"
within "$allocated" "$used" || fail "allocator_allocated $allocated is not within 10% of used_memory $used"
[ "$active" -ge "$allocated" ] || fail "allocator_active $active < allocator_allocated $allocated"
[ "$resident" -ge "$active" ] || fail "allocator_resident $resident < allocator_active $active"

alive() { [ "$(cli ping 2>/dev/null)" = PONG ] || fail "redis-server does not answer PING after $1"; }
stats=$(cli memory malloc-stats 2>&1 | tr -d '\r')
alive "MEMORY MALLOC-STATS"
echo "$stats" | grep -q "^liballoc: in use " || fail "MEMORY MALLOC-STATS has no liballoc statistics: $stats"
stats_in_use=$(echo "$stats" | sed -n 's/^liballoc: in use *\([0-9]*\) B.*/\1/p')
within "$stats_in_use" "$allocated" ||
  fail "MEMORY MALLOC-STATS in use $stats_in_use is not within 10% of allocator_allocated $allocated"
doctor=$(cli memory doctor 2>&1 | tr -d '\r')
alive "MEMORY DOCTOR"
[ -n "$doctor" ] && ! echo "$doctor" | grep -q "^ERR" || fail "MEMORY DOCTOR answered: $doctor"
cli flushall >/dev/null || fail "FLUSHALL failed"
purge=$(cli memory purge 2>&1 | tr -d '\r')
[ "$purge" = OK ] || fail "MEMORY PURGE answered: $purge"
alive "MEMORY PURGE"
# What redis frees after the purge (its own background work, the reply
# buffers of MALLOC-STATS) is free and backed again until the next purge:
# purge and look again until the heap's free pages are released, 20 s at most.
for _ in $(seq 1 100); do
  heap_free=$(cli memory malloc-stats | tr -d '\r' | sed -n 's/^liballoc: heap free *\([0-9]*\) B.*/\1/p')
  [ -n "$heap_free" ] && [ "$heap_free" -le $((1 << 20)) ] && break
  cli memory purge >/dev/null 2>&1
  sleep 0.2
done
echo "redis_compat: MALLOC-STATS in use $stats_in_use; after FLUSHALL and MEMORY PURGE, heap free $heap_free"
[ -n "$heap_free" ] && [ "$heap_free" -le $((1 << 20)) ] ||
  fail "after MEMORY PURGE $heap_free bytes of free pages are still backed"
# filled again, for the comparison with the statistics at exit
cli debug populate 200000 key 100 >/dev/null || fail "DEBUG POPULATE after MEMORY PURGE failed"
read_info || fail "allocator_allocated $allocated is not within 10% of used_memory $used after MEMORY PURGE"
alive "INFO memory"
[ -n "$allocated" ] && [ "$allocated" -gt 0 ] || fail "no allocator_allocated in INFO memory after MEMORY PURGE"

cli shutdown nosave >/dev/null 2>&1
for _ in $(seq 1 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
wait "$pid" 2>/dev/null
pid=
in_use=$(sed -n 's/^liballoc: in use *\([0-9]*\) B.*/\1/p' "$tmp/stderr")
[ -n "$in_use" ] || fail "no ALLOC_STATS at exit"
echo "redis_compat: ALLOC_STATS in use at exit: $in_use"
within "$allocated" "$in_use" || fail "allocator_allocated $allocated is not within 10% of ALLOC_STATS' $in_use"
echo "redis_compat: ok"
