#!/usr/bin/env bash
# http_tests.sh LIBALLOC HTTP_HOST ALLOCPROF GO CASE
#
# ALLOCPROF_HTTP (libprof/http_server.c) on a real program, http_host, run
# with LIBALLOC in LD_PRELOAD, scraped by real clients: curl, go tool pprof,
# Prometheus and promtool, python3 sockets for the hostile ones. Nothing
# waits a fixed time: a case waits for the port file (ALLOCPROF_HTTP_PORTFILE)
# or for what it asked, and gives up after a minute. CASE is one of:
#
#   endpoints   curl: the index, heap, allocs, heap?seconds=1, /metrics; each
#               profile opens in `allocprof top` (allocs' default type is
#               alloc_space; trigger=http; the held stacks are in the full
#               profiles, not in the delta); 404, 405, 400 (seconds=0); the
#               port printed once on stderr, the listening socket close-on-exec
#   delta       heap?seconds=1 on a program that allocates on one stack,
#               frees on another and leaves a third alone (http_host
#               window), read with go tool pprof (skipped without go): the
#               delta's alloc_space is within the growth between full
#               profiles before and after; the allocating stack shows its
#               window's allocations, its inuse_space equal to them; the
#               freeing stack a negative inuse_space; the third is absent
#   gopprof     go tool pprof -top http://127.0.0.1:PORT/debug/pprof/heap
#               prints the program's functions, and go tool pprof -seconds 2
#               reads the delta profile: the freeing stack negative there
#               (skipped without go)
#   prometheus  a real Prometheus scrapes /metrics every second: `up` is 1 and
#               allocprof_heap_inuse_bytes is within 5% of what the program
#               read from alloc_get_stats (skipped without prometheus)
#   promtool    promtool check metrics accepts the exposition; README's
#               Prometheus configuration and alert rule pass promtool check
#               config / rules (skipped without promtool)
#   hostile     100 idle connections, a 1 MiB request line, a slowloris
#               client (closed by the server within its time limit),
#               clients that disconnect mid-answer, random bytes, two
#               delta profiles of 300 s (a third gets 503): the program
#               keeps running and answers after each
#   scrapes     1,000 scrapes (heap and /metrics in turn): the profiler's
#               memory, the heap in use and mapped do not grow (2% + 64 KiB)
#   redis       a preloaded redis-server under redis-benchmark, scraped every
#               100 ms for 30 s of load in all: every scrape answered, the
#               profiler's memory flat, redis answers; its throughput with
#               and without scrapes is printed, not judged (a shared machine
#               cannot tell 2% from noise; bench/RESULTS.md)
#   unix        unix:DIR/s.%p.sock: mode 0600, curl --unix-socket answers,
#               the socket is gone after exit; a stale socket of ours is
#               replaced
#   symlink     a symbolic link planted at the socket's path is not followed
#               (its target is not made), one line, the program runs on
#   fork        a forked child does not serve (no socket of the parent's
#               kept, the parent still answers); with unix:...%p the child
#               serves at its own path
#   run         allocprof run --http 127.0.0.1:0 -- PROG: PROG answers; a bad
#               --http is a usage error (exit 2, one line)
#   pthread_exit main ends with pthread_exit: the process still ends (status
#               0), with the listener alone and with the profiler thread too
#   bad         bad ALLOCPROF_HTTP values: one line each, the program runs
set -u
LIB=$1 HOST=$2 ALLOCPROF=$3 GO=${4:-} CASE=$5
TMP=$(mktemp -d "${TMPDIR:-/tmp}/http_tests.XXXXXX")
PIDS=""
cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null; done
  rm -rf "$TMP"
}
trap cleanup EXIT
fail=0
bad() { echo "http_tests $CASE: FAIL: $*" >&2; fail=1; }
say() { echo "http_tests $CASE: $*"; }
skip() { echo "http_tests $CASE: $*, skipped"; exit 77; }

# wait_for FILE: until FILE exists and is not empty (a minute at most)
wait_for() {
  local i
  for i in $(seq 600); do
    [ -s "$1" ] && return 0
    sleep 0.1
  done
  return 1
}

# start NAME ARGS...: runs http_host ARGS with stdin from a fifo we hold
# open (the program ends when we close it), ALLOCPROF_* from the caller's
# environment; PID in $NAME_pid
start() {
  local name=$1
  shift
  mkfifo "$TMP/$name.in"
  LD_PRELOAD=$LIB "$HOST" "$@" <"$TMP/$name.in" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  local pid=$!
  PIDS="$PIDS $pid"
  eval "exec {${name}_fd}>\"$TMP/$name.in\""
  eval "${name}_pid=$pid"
}

# stop NAME: ends the program (stdin closed) and returns its status
stop() {
  local name=$1 fdvar="${1}_fd" pidvar="${1}_pid"
  eval "exec ${!fdvar}>&-"
  wait "${!pidvar}"
}

alive() { kill -0 "$1" 2>/dev/null; }

# get URL OUT: curl, status code on stdout
get() { curl -sS --max-time 60 -o "$2" -w '%{http_code}' "$1"; }

# answers PORT: /metrics answers 200 with allocprof_heap_inuse_bytes
answers() {
  local code
  code=$(get "http://127.0.0.1:$1/metrics" "$TMP/m.txt")
  [ "$code" = 200 ] && grep -q '^allocprof_heap_inuse_bytes ' "$TMP/m.txt"
}

export ALLOCPROF_RATE=4k ALLOCPROF_SEED=1

# cum_of PROFILE TYPE FUNCTION: FUNCTION's cumulative TYPE in bytes (go tool
# pprof -top), empty when it has none
cum_of() {
  "$GO" tool pprof -sample_index="$2" -unit=B -top -nodecount=1000 "$1" 2>/dev/null |
    awk -v fn="$3" '$6 == fn {v = $4; sub(/B$/, "", v); print v; exit}'
}

port_of() {
  wait_for "$1" || { bad "no port file $1: $(cat "$TMP"/*.err 2>/dev/null)"; exit 1; }
  cat "$1"
}

case $CASE in
  endpoints)
    ALLOCPROF_HTTP=127.0.0.1:0 ALLOCPROF_HTTP_PORTFILE=$TMP/port start p steady 8 "$TMP/stats"
    P=$(port_of "$TMP/port")
    wait_for "$TMP/stats"
    [ "$(grep -c "serving on port $P" "$TMP/p.err")" = 1 ] || bad "port not said once: $(cat "$TMP/p.err")"
    ls -l "/proc/$p_pid/fd" >/dev/null
    code=$(get "http://127.0.0.1:$P/debug/pprof/" "$TMP/index.html")
    [ "$code" = 200 ] && grep -q 'href="heap"' "$TMP/index.html" || bad "index: $code"
    for what in heap allocs "heap?seconds=1"; do
      f="$TMP/$(echo "$what" | tr -c 'a-z\n' _).pb.gz"
      code=$(get "http://127.0.0.1:$P/debug/pprof/$what" "$f")
      [ "$code" = 200 ] || { bad "$what: status $code"; continue; }
      [ "$(head -c2 "$f" | od -An -tx1 | tr -d ' ')" = 1f8b ] || bad "$what: not gzip"
      "$ALLOCPROF" top "$f" >"$f.top" 2>&1 || bad "$what: allocprof top failed: $(head -3 "$f.top")"
      grep -q 'Comment: trigger=http' "$f.top" || bad "$what: no trigger=http"
      case $what in
        *seconds*) # the held stacks, untouched in the window, have no sample there
          ! grep -q 'hold_small\|hold_large' "$f.top" || bad "$what: stacks untouched in the window" ;;
        *) grep -q 'hold_small\|hold_large' "$f.top" || bad "$what: the program's functions missing" ;;
      esac
    done
    grep -q '^Type: alloc_space' "$TMP/allocs.pb.gz.top" || bad "allocs: default type not alloc_space"
    grep -q '^Type: inuse_space' "$TMP/heap.pb.gz.top" || bad "heap: default type not inuse_space"
    code=$(get "http://127.0.0.1:$P/metrics" "$TMP/metrics.txt")
    [ "$code" = 200 ] && grep -q '^allocprof_heap_inuse_bytes [0-9]' "$TMP/metrics.txt" || bad "metrics: $code"
    grep -q '^allocprof_size_class_inuse_bytes{size_class="1024"} [1-9]' "$TMP/metrics.txt" ||
      bad "metrics: no size class 1024 in use"
    grep -q '^allocprof_profiler_dumps_total [1-9]' "$TMP/metrics.txt" || bad "metrics: dumps not counted"
    ctype=$(curl -sS -o /dev/null -w '%{content_type}' "http://127.0.0.1:$P/metrics")
    [ "$ctype" = "text/plain; version=0.0.4; charset=utf-8" ] || bad "metrics content type: $ctype"
    [ "$(get "http://127.0.0.1:$P/nothing" /dev/null)" = 404 ] || bad "unknown path not 404"
    [ "$(curl -sS -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$P/metrics")" = 405 ] ||
      bad "POST not 405"
    [ "$(get "http://127.0.0.1:$P/debug/pprof/heap?seconds=0" /dev/null)" = 400 ] || bad "seconds=0 not 400"
    # the listening socket is close-on-exec (flags in fdinfo, octal: 02000000)
    sockfd=$(ls -l "/proc/$p_pid/fd" | awk '/socket:/ {print $9; exit}')
    flags=$(awk '/^flags:/ {print $2}' "/proc/$p_pid/fdinfo/$sockfd" 2>/dev/null)
    [ -n "$flags" ] && [ $((0$flags & 02000000)) != 0 ] || bad "listening socket not close-on-exec ($flags)"
    stop p || bad "exit status $?"
    ;;
  delta)
    [ -n "$GO" ] && command -v "$GO" >/dev/null || skip "go not found"
    export HOME=${HOME:-$TMP} PPROF_TMPDIR=$TMP
    ALLOCPROF_HTTP=127.0.0.1:0 ALLOCPROF_HTTP_PORTFILE=$TMP/port start p window "$TMP/ready"
    P=$(port_of "$TMP/port")
    wait_for "$TMP/ready"
    # full profiles before and after: the delta's window lies between them
    get "http://127.0.0.1:$P/debug/pprof/allocs" "$TMP/before.pb.gz" >/dev/null
    get "http://127.0.0.1:$P/debug/pprof/heap?seconds=1" "$TMP/delta.pb.gz" >/dev/null
    get "http://127.0.0.1:$P/debug/pprof/allocs" "$TMP/after.pb.gz" >/dev/null
    stop p
    # -raw: alloc_objects alloc_space inuse_objects inuse_space per sample
    total() { "$GO" tool pprof -raw "$1" 2>/dev/null |
      awk '/^Samples:/ {s=1; next} /^Locations/ {s=0} s && $1 ~ /^[0-9]+$/ {t += $2} END {print t+0}'; }
    d=$(total "$TMP/delta.pb.gz") a=$(total "$TMP/before.pb.gz") b=$(total "$TMP/after.pb.gz")
    say "alloc_space: before $a, delta over 1 s $d, after $b"
    [ "$d" -gt 0 ] && [ "$d" -le $((b - a)) ] || bad "delta $d not within the growth between $a and $b"
    grow_alloc=$(cum_of "$TMP/delta.pb.gz" alloc_space grow_slowly)
    grow_inuse=$(cum_of "$TMP/delta.pb.gz" inuse_space grow_slowly)
    pool_inuse=$(cum_of "$TMP/delta.pb.gz" inuse_space fill_pool)
    say "grow_slowly: alloc_space $grow_alloc, inuse_space $grow_inuse; fill_pool: inuse_space $pool_inuse"
    [ "${grow_alloc:-0}" -gt 0 ] || bad "grow_slowly's allocations not in the delta ($grow_alloc)"
    [ "$grow_inuse" = "$grow_alloc" ] ||
      bad "grow_slowly frees nothing, but its inuse_space $grow_inuse is not its alloc_space $grow_alloc"
    [ "${pool_inuse:-0}" -lt 0 ] || bad "fill_pool freed in the window, inuse_space not negative ($pool_inuse)"
    "$GO" tool pprof -traces "$TMP/delta.pb.gz" >"$TMP/traces" 2>/dev/null
    grep -q grow_slowly "$TMP/traces" || bad "no traces read from the delta"
    ! grep -q hold_still "$TMP/traces" || bad "hold_still, untouched in the window, is in the delta"
    dur=$("$GO" tool pprof -raw "$TMP/delta.pb.gz" 2>/dev/null | sed -n 's/^Duration: *//p')
    [ -n "$dur" ] || bad "delta has no duration"
    ;;
  gopprof)
    [ -n "$GO" ] && command -v "$GO" >/dev/null || skip "go not found"
    export HOME=${HOME:-$TMP} PPROF_TMPDIR=$TMP
    ALLOCPROF_HTTP=127.0.0.1:0 ALLOCPROF_HTTP_PORTFILE=$TMP/port start p steady 8 "$TMP/stats"
    P=$(port_of "$TMP/port")
    wait_for "$TMP/stats"
    "$GO" tool pprof -top "http://127.0.0.1:$P/debug/pprof/heap" >"$TMP/top" 2>"$TMP/top.err" ||
      bad "go tool pprof failed: $(head -5 "$TMP/top.err")"
    for fn in hold_small hold_large; do
      grep -qE " $fn\$" "$TMP/top" || bad "$fn not in -top: $(head -20 "$TMP/top")"
    done
    stop p
    # go tool pprof -seconds asks for heap?seconds=N and reads the delta
    ALLOCPROF_HTTP=127.0.0.1:0 ALLOCPROF_HTTP_PORTFILE=$TMP/wport start w window "$TMP/ready"
    P=$(port_of "$TMP/wport")
    wait_for "$TMP/ready"
    "$GO" tool pprof -seconds 2 -sample_index=inuse_space -unit=B -top \
      "http://127.0.0.1:$P/debug/pprof/heap" >"$TMP/dtop" 2>"$TMP/dtop.err" ||
      bad "go tool pprof -seconds 2 failed: $(head -5 "$TMP/dtop.err")"
    stop w
    grep -qE '^ *-[0-9]+B .* fill_pool$' "$TMP/dtop" ||
      bad "fill_pool's negative in-use not in the -seconds 2 delta: $(head -20 "$TMP/dtop")"
    ;;
  prometheus)
    command -v prometheus >/dev/null || skip "prometheus not found"
    ALLOCPROF_HTTP=127.0.0.1:0 ALLOCPROF_HTTP_PORTFILE=$TMP/port start p steady 16 "$TMP/stats"
    P=$(port_of "$TMP/port")
    wait_for "$TMP/stats"
    want=$(cat "$TMP/stats")
    cat >"$TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: allocprof
    static_configs:
      - targets: ["127.0.0.1:$P"]
EOF
    # Prometheus cannot listen on port 0: a free port, taken again if lost
    for try in 1 2 3 4 5; do
      PP=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
      # (without our end of the program's stdin, which would keep it running)
      (exec {p_fd}>&-; exec prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/data" \
        --web.listen-address="127.0.0.1:$PP" >"$TMP/prom.log" 2>&1) &
      prom=$!
      PIDS="$PIDS $prom"
      ready=0
      for i in $(seq 600); do
        curl -sf "http://127.0.0.1:$PP/-/ready" >/dev/null 2>&1 && { ready=1; break; }
        alive $prom || break
        sleep 0.1
      done
      [ $ready = 1 ] && break
    done
    [ $ready = 1 ] || { bad "prometheus did not start: $(tail -5 "$TMP/prom.log")"; exit 1; }
    query() {
      curl -sS --get "http://127.0.0.1:$PP/api/v1/query" --data-urlencode "query=$1" |
        python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'
    }
    got=""
    for i in $(seq 600); do
      got=$(query "allocprof_heap_inuse_bytes{instance=\"127.0.0.1:$P\"}")
      [ -n "$got" ] && break
      sleep 0.1
    done
    up=$(query "up{instance=\"127.0.0.1:$P\"}")
    say "prometheus: allocprof_heap_inuse_bytes $got, the program's in-use $want, up $up"
    [ "$up" = 1 ] || bad "up is '$up'"
    [ -n "$got" ] && python3 -c "import sys; g,w=float('$got'),float('$want'); sys.exit(0 if abs(g-w) <= 0.05*w else 1)" ||
      bad "allocprof_heap_inuse_bytes '$got' not within 5% of $want"
    stop p
    ;;
  promtool)
    command -v promtool >/dev/null || skip "promtool not found"
    ALLOCPROF_HTTP=127.0.0.1:0 ALLOCPROF_HTTP_PORTFILE=$TMP/port start p steady 4 "$TMP/stats"
    P=$(port_of "$TMP/port")
    get "http://127.0.0.1:$P/metrics" "$TMP/metrics.txt" >/dev/null
    promtool check metrics <"$TMP/metrics.txt" >"$TMP/lint" 2>&1 || bad "promtool: $(head -10 "$TMP/lint")"
    [ -s "$TMP/lint" ] && bad "promtool said: $(head -10 "$TMP/lint")"
    stop p
    # README's Fleet section: its Prometheus configuration and alert rule
    readme=$(dirname "$0")/../../README.md
    awk '/^## Fleet/ {on = 1} /^## Safety/ {on = 0} on && /^```yaml/ {n++; f = 1; next}
         on && /^```/ {f = 0} f && n == 1 {print > "'"$TMP"'/prometheus.yml"}
         f && n == 2 {print > "'"$TMP"'/allocprof_rules.yml"}' "$readme"
    [ -s "$TMP/prometheus.yml" ] && [ -s "$TMP/allocprof_rules.yml" ] || bad "README: no Fleet yaml blocks"
    promtool check config "$TMP/prometheus.yml" >"$TMP/cfg" 2>&1 || bad "README's prometheus.yml: $(cat "$TMP/cfg")"
    promtool check rules "$TMP/allocprof_rules.yml" >"$TMP/rules" 2>&1 ||
      bad "README's rule: $(cat "$TMP/rules")"
    ;;
  hostile)
    ALLOCPROF_HTTP=127.0.0.1:0 ALLOCPROF_HTTP_PORTFILE=$TMP/port start p steady 4 "$TMP/stats"
    P=$(port_of "$TMP/port")
    answers "$P" || bad "no answer at start"
    python3 - "$P" >"$TMP/hostile.log" 2>&1 <<'EOF' || bad "hostile clients: $(tail -5 "$TMP/hostile.log")"
import os, random, socket, struct, subprocess, sys, time
port = int(sys.argv[1])
def conn():
    return socket.create_connection(("127.0.0.1", port), timeout=60)
def answers(what):
    out = subprocess.run(["curl", "-sS", "--max-time", "60", "-o", "/dev/null", "-w", "%{http_code}",
                          "http://127.0.0.1:%d/metrics" % port], capture_output=True, text=True)
    if out.stdout != "200":
        sys.exit("no answer after %s: %r %r" % (what, out.stdout, out.stderr))
    print("answers after", what)
# 100 idle connections, held while curl asks
idle = [conn() for _ in range(100)]
answers("100 idle connections")
for s in idle: s.close()
# a 1 MiB request line
s = conn()
try:
    s.sendall(b"GET /" + b"a" * (1 << 20) + b" HTTP/1.1\r\n\r\n")
except OSError:
    pass  # the server closed after its 8 KiB
s.close()
answers("a 1 MiB request line")
# slowloris: a byte every 50 ms; the server closes it within its limit
s = conn()
start = time.time()
closed = False
try:
    while time.time() - start < 30:
        s.send(b"G")
        time.sleep(0.05)
        if s.recv(1, socket.MSG_DONTWAIT) == b"":
            closed = True
            break
except BlockingIOError:
    pass
except OSError:
    closed = True
if not closed:
    # poll for the close: recv returns b"" or fails once the server has closed
    s.settimeout(30)
    try:
        while s.recv(4096):
            pass
        closed = True
    except OSError:
        closed = True
took = time.time() - start
s.close()
if not closed or took > 25:
    sys.exit("slowloris not closed (%.1f s)" % took)
print("slowloris closed after %.1f s" % took)
answers("a slowloris client")
# disconnect mid-answer (a reset), for a profile and the metrics
for path in ("/debug/pprof/heap", "/metrics", "/debug/pprof/heap?seconds=1"):
    for _ in range(5):
        s = conn()
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
        if "seconds" not in path:
            s.recv(10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
answers("clients gone mid-answer")
# random bytes
rnd = random.Random(7)
for i in range(200):
    s = conn()
    data = bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(1, 3000)))
    if i % 2:
        data += b"\r\n\r\n"
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        s.settimeout(30)
        while s.recv(4096):
            pass
    except OSError:
        pass
    s.close()
answers("random bytes")
# long delta profiles: two wait, a third is turned away, others are answered
waits = []
for _ in range(2):
    s = conn()
    s.sendall(b"GET /debug/pprof/heap?seconds=300 HTTP/1.1\r\n\r\n")
    waits.append(s)
s = conn()
s.sendall(b"GET /debug/pprof/heap?seconds=300 HTTP/1.1\r\n\r\n")
s.settimeout(60)
head = s.recv(64)
s.close()
if not head.startswith(b"HTTP/1.1 503"):
    sys.exit("a third delta profile: %r" % head)
answers("two delta profiles waiting")
for s in waits: s.close()
answers("delta profiles given up")
EOF
    cat "$TMP/hostile.log"
    alive "$p_pid" || bad "the program died"
    answers "$P" || bad "no answer at the end"
    stop p || bad "exit status $?"
    ;;
  scrapes)
    ALLOCPROF_HTTP=127.0.0.1:0 ALLOCPROF_HTTP_PORTFILE=$TMP/port start p steady 4 "$TMP/stats"
    P=$(port_of "$TMP/port")
    wait_for "$TMP/stats"
    python3 - "$P" >"$TMP/scrapes.log" 2>&1 <<'EOF' || bad "$(tail -5 "$TMP/scrapes.log")"
import http.client, sys
port = int(sys.argv[1])
def get(path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    c.close()
    if r.status != 200:
        sys.exit("%s: %d" % (path, r.status))
    return body
def metrics():
    m = {}
    for line in get("/metrics").decode().splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            m[k] = int(v)
    return m
seen = []
for i in range(1000):
    get("/debug/pprof/heap" if i % 2 else "/metrics")
    if i in (99, 999):
        seen.append(metrics())
a, b = seen
for k in ("allocprof_profiler_memory_bytes", "allocprof_heap_inuse_bytes", "allocprof_heap_mapped_bytes"):
    print("%s after 100 scrapes %d, after 1000 %d" % (k, a[k], b[k]))
    if b[k] > a[k] * 1.02 + 65536:
        sys.exit("%s grew from %d to %d" % (k, a[k], b[k]))
EOF
    cat "$TMP/scrapes.log"
    stop p || bad "exit status $?"
    ;;
  redis)
    command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null ||
      skip "no redis-server/redis-benchmark"
    # (the default rate, as a service would run; not the 4k of the others)
    ALLOCPROF_RATE= ALLOCPROF_HTTP=127.0.0.1:0 ALLOCPROF_HTTP_PORTFILE=$TMP/port LD_PRELOAD=$LIB \
      redis-server --port 0 --unixsocket "$TMP/redis.sock" --save "" --appendonly no \
      >"$TMP/redis.log" 2>&1 &
    rpid=$!
    PIDS="$PIDS $rpid"
    P=$(port_of "$TMP/port")
    for i in $(seq 600); do [ -S "$TMP/redis.sock" ] && break; sleep 0.1; done
    # rounds of load, every other one scraped every 100 ms (heap and
    # /metrics in turn), 30 s of scraping in all; the scraper checks every
    # answer and the profiler's memory across its scrapes
    python3 - "$P" "$TMP/redis.sock" >"$TMP/redis_load.log" 2>&1 <<'EOF' || bad "$(tail -5 "$TMP/redis_load.log")"
import http.client, subprocess, sys, threading, time
port, sock = int(sys.argv[1]), sys.argv[2]
def get(path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    c.close()
    if r.status != 200:
        raise SystemExit("%s: %d" % (path, r.status))
    return body
def profiler_memory():
    for line in get("/metrics").decode().splitlines():
        if line.startswith("allocprof_profiler_memory_bytes "):
            return int(line.split()[1])
def load():
    out = subprocess.run(["redis-benchmark", "-s", sock, "-n", "100000", "-c", "8", "-P", "4",
                          "-t", "set,get,lpush,lpop", "-r", "10000", "-d", "200", "-q"],
                         capture_output=True, text=True, check=True).stdout
    rps = [float(l.split(":")[1].split()[0]) for l in out.replace("\r", "\n").splitlines()
           if "requests per second" in l]
    return sum(rps)
scrapes, mem = [0], []
def scraper(stop):
    while not stop.is_set():
        get("/debug/pprof/heap" if scrapes[0] % 2 else "/metrics")
        scrapes[0] += 1
        if scrapes[0] % 50 == 0:
            mem.append(profiler_memory())
        stop.wait(0.1)
base, scraped, scraping = [], [], 0.0
load()  # warm-up
while scraping < 30:
    base.append(load())
    stop = threading.Event()
    t = threading.Thread(target=scraper, args=(stop,))
    t0 = time.time()
    t.start()
    scraped.append(load())
    stop.set()
    t.join()
    scraping += time.time() - t0
b, s = sorted(base)[len(base) // 2], sorted(scraped)[len(scraped) // 2]
print("%d scrapes over %.0f s of load; redis ops/s (sum of 4 tests, median of %d rounds): "
      "%.0f not scraped, %.0f scraped (%+.1f%%)" % (scrapes[0], scraping, len(base), b, s,
                                                  (s / b - 1) * 100))
print("profiler memory every 50 scrapes:", mem)
if len(mem) >= 2 and mem[-1] > mem[0] * 1.02 + 65536:
    raise SystemExit("the profiler's memory grew from %d to %d" % (mem[0], mem[-1]))
EOF
    cat "$TMP/redis_load.log"
    redis-cli -s "$TMP/redis.sock" ping | grep -q PONG || bad "redis does not answer"
    answers "$P" || bad "no answer at the end"
    redis-cli -s "$TMP/redis.sock" shutdown nosave >/dev/null 2>&1
    wait $rpid
    ;;
  unix)
    mkdir "$TMP/run"
    ALLOCPROF_HTTP="unix:$TMP/run/s.%p.sock" ALLOCPROF_HTTP_PORTFILE=$TMP/port start p steady 4 "$TMP/stats"
    sock=$(port_of "$TMP/port")
    [ "$sock" = "$TMP/run/s.$p_pid.sock" ] || bad "socket at $sock, not s.$p_pid.sock"
    [ -S "$sock" ] || bad "$sock is not a socket"
    mode=$(stat -c %a "$sock")
    [ "$mode" = 600 ] || bad "socket mode $mode"
    code=$(curl -sS --max-time 60 --unix-socket "$sock" -o "$TMP/m.txt" -w '%{http_code}' http://x/metrics)
    [ "$code" = 200 ] && grep -q '^allocprof_heap_inuse_bytes ' "$TMP/m.txt" || bad "unix: $code"
    code=$(curl -sS --max-time 60 --unix-socket "$sock" -o "$TMP/h.pb.gz" -w '%{http_code}' \
      http://x/debug/pprof/heap)
    [ "$code" = 200 ] && "$ALLOCPROF" top "$TMP/h.pb.gz" >/dev/null || bad "unix heap: $code"
    stop p || bad "exit status $?"
    [ -e "$sock" ] && bad "socket left after exit"
    # a stale socket of ours (nobody listens) is replaced
    python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()' "$TMP/run/stale"
    rm -f "$TMP/port"
    ALLOCPROF_HTTP="unix:$TMP/run/stale" ALLOCPROF_HTTP_PORTFILE=$TMP/port start q steady 1 "$TMP/stats2"
    port_of "$TMP/port" >/dev/null
    code=$(curl -sS --max-time 60 --unix-socket "$TMP/run/stale" -o /dev/null -w '%{http_code}' http://x/metrics)
    [ "$code" = 200 ] || bad "stale socket not replaced: $code $(cat "$TMP/q.err")"
    stop q
    ;;
  symlink)
    mkdir "$TMP/run"
    ln -s "$TMP/run/target" "$TMP/run/s.sock"
    ALLOCPROF_HTTP="unix:$TMP/run/s.sock" start p steady 1 "$TMP/stats"
    wait_for "$TMP/stats"
    wait_for "$TMP/p.err"
    grep -q "ALLOCPROF_HTTP=unix:$TMP/run/s.sock: .*exists.*not serving" "$TMP/p.err" ||
      bad "no line about the link: $(cat "$TMP/p.err")"
    [ "$(wc -l <"$TMP/p.err")" = 1 ] || bad "more than one line: $(cat "$TMP/p.err")"
    [ -e "$TMP/run/target" ] && bad "the link was followed: target made"
    [ -L "$TMP/run/s.sock" ] || bad "the link was removed"
    stop p || bad "exit status $?"
    ;;
  fork)
    ALLOCPROF_HTTP=127.0.0.1:0 ALLOCPROF_HTTP_PORTFILE=$TMP/port start p fork "$TMP/stats"
    P=$(port_of "$TMP/port")
    wait_for "$TMP/stats.child"
    child=$(cat "$TMP/stats.child")
    n=$(ls -l "/proc/$child/fd" 2>/dev/null | grep -c 'socket:')
    [ "$n" = 0 ] || bad "the child holds $n sockets"
    grep -qx allocprof-http /proc/$child/task/*/comm && bad "the child has a server thread"
    answers "$P" || bad "the parent does not answer"
    [ "$(grep -c 'serving on port' "$TMP/p.err")" = 1 ] || bad "more than one listener: $(cat "$TMP/p.err")"
    stop p || bad "exit status $?"
    # unix:...%p: the child serves at its own path
    mkdir "$TMP/run"
    rm -f "$TMP/stats.child"
    ALLOCPROF_HTTP="unix:$TMP/run/s.%p.sock" start q fork "$TMP/stats"
    wait_for "$TMP/stats.child"
    child=$(cat "$TMP/stats.child")
    for i in $(seq 600); do [ -S "$TMP/run/s.$child.sock" ] && break; sleep 0.1; done
    code=$(curl -sS --max-time 60 --unix-socket "$TMP/run/s.$child.sock" -o "$TMP/c.pb.gz" \
      -w '%{http_code}' http://x/debug/pprof/heap)
    [ "$code" = 200 ] && "$ALLOCPROF" top "$TMP/c.pb.gz" | grep -q "pid=$child" || bad "child's socket: $code"
    code=$(curl -sS --max-time 60 --unix-socket "$TMP/run/s.$q_pid.sock" -o /dev/null -w '%{http_code}' \
      http://x/metrics)
    [ "$code" = 200 ] || bad "parent's socket: $code"
    stop q || bad "exit status $?"
    ;;
  run)
    # allocprof run --http: PROG serves (the port file from the environment)
    mkfifo "$TMP/run.in"
    ALLOCPROF_HTTP_PORTFILE=$TMP/port "$ALLOCPROF" run --http 127.0.0.1:0 -o "$TMP/exit.%p.pb.gz" -- \
      "$HOST" steady 4 "$TMP/stats" <"$TMP/run.in" >"$TMP/run.out" 2>"$TMP/run.err" &
    run_pid=$!
    PIDS="$PIDS $run_pid"
    exec {run_fd}>"$TMP/run.in"
    P=$(port_of "$TMP/port")
    answers "$P" || bad "allocprof run --http: no answer"
    exec {run_fd}>&-
    wait $run_pid || bad "allocprof run: status $? $(cat "$TMP/run.err")"
    "$ALLOCPROF" run --http 1.2.3:4 -- "$HOST" steady 1 "$TMP/stats" </dev/null >/dev/null 2>"$TMP/err"
    rc=$?
    [ $rc = 2 ] && [ "$(wc -l <"$TMP/err")" = 1 ] && grep -q -- "--http '1.2.3:4'" "$TMP/err" ||
      bad "--http 1.2.3:4: status $rc, $(cat "$TMP/err")"
    ;;
  pthread_exit)
    # the listener alone, then with the profiler thread (an interval) too
    for extra in "" "ALLOCPROF_INTERVAL=60 ALLOCPROF_OUT=$TMP/h.%p.%n.pb.gz"; do
      rm -f "$TMP/port"
      env ALLOCPROF_HTTP=127.0.0.1:0 ALLOCPROF_HTTP_PORTFILE="$TMP/port" $extra LD_PRELOAD="$LIB" \
        "$HOST" pthread_exit </dev/null >/dev/null 2>"$TMP/err" &
      pid=$!
      PIDS="$PIDS $pid"
      port_of "$TMP/port" >/dev/null
      for i in $(seq 600); do alive $pid || break; sleep 0.1; done
      alive $pid && bad "${extra:-the listener alone}: the process did not end after pthread_exit"
      wait $pid || bad "${extra:-the listener alone}: status $?"
    done
    ;;
  bad)
    for v in nonsense 127.0.0.1:99999 "[::1:6060" 1.2.3:80 "unix:" "unix:/x/%q"; do
      rm -f "$TMP/stats"
      ALLOCPROF_HTTP=$v LD_PRELOAD=$LIB "$HOST" steady 1 "$TMP/stats" </dev/null >/dev/null 2>"$TMP/err"
      rc=$?
      [ $rc = 0 ] || bad "$v: exit status $rc"
      [ "$(wc -l <"$TMP/err")" = 1 ] && grep -q "^allocprof: ALLOCPROF_HTTP=" "$TMP/err" ||
        bad "$v: not one line: $(cat "$TMP/err")"
    done
    ;;
  *)
    echo "http_tests: unknown case $CASE" >&2
    exit 2
    ;;
esac
[ $fail = 0 ] && say ok
exit $fail
