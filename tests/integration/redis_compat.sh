#!/bin/bash
# redis_compat.sh LIBALLOC: Debian's redis-server, linked with jemalloc, asks
# the allocator for its numbers through mallctl and nallocx. Under the
# preload those must be liballoc's (override_compat.c): INFO memory's
# allocator_allocated agrees with redis's own count (used_memory, summed from
# malloc_usable_size) and with liballoc's statistics at exit (ALLOC_STATS)
# within 10%. Skipped (77) without redis-server and redis-cli.
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

ALLOC_STATS=1 LD_PRELOAD="$lib" redis-server --port 0 --unixsocket "$sock" --save "" \
  --appendonly no --dir "$tmp" --enable-debug-command yes >"$tmp/stdout" 2>"$tmp/stderr" &
pid=$!
for _ in $(seq 1 600); do
  [ "$(cli ping 2>/dev/null)" = PONG ] && break
  kill -0 "$pid" 2>/dev/null || fail "redis-server did not start"
  sleep 0.05
done
[ "$(cli ping 2>/dev/null)" = PONG ] || fail "redis-server did not answer in 30 s"
cli debug populate 200000 key 100 >/dev/null || fail "DEBUG POPULATE failed"
info=$(cli info memory | tr -d '\r')
field() { echo "$info" | sed -n "s/^$1://p"; }
used=$(field used_memory)
allocated=$(field allocator_allocated)
active=$(field allocator_active)
resident=$(field allocator_resident)
echo "redis_compat: used_memory=$used allocator_allocated=$allocated allocator_active=$active allocator_resident=$resident"
[ -n "$allocated" ] && [ "$allocated" -gt 0 ] || fail "no allocator_allocated in INFO memory"
within() { # within A B: |A-B| <= 10% of B
  local d=$(( $1 > $2 ? $1 - $2 : $2 - $1 ))
  [ $((d * 10)) -le "$2" ]
}
within "$allocated" "$used" || fail "allocator_allocated $allocated is not within 10% of used_memory $used"
[ "$active" -ge "$allocated" ] || fail "allocator_active $active < allocator_allocated $allocated"
[ "$resident" -ge "$active" ] || fail "allocator_resident $resident < allocator_active $active"
cli shutdown nosave >/dev/null 2>&1
for _ in $(seq 1 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
wait "$pid" 2>/dev/null
pid=
in_use=$(sed -n 's/^liballoc: in use *\([0-9]*\) B.*/\1/p' "$tmp/stderr")
[ -n "$in_use" ] || fail "no ALLOC_STATS at exit"
echo "redis_compat: ALLOC_STATS in use at exit: $in_use"
within "$allocated" "$in_use" || fail "allocator_allocated $allocated is not within 10% of ALLOC_STATS' $in_use"
echo "redis_compat: ok"
