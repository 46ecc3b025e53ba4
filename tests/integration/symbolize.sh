#!/bin/bash
# symbolize.sh: allocprof symbolize against real files and a real debuginfod
# server (Debian's debuginfod, started here on loopback on a free port with
# its own data directory). The library (symbolize_lib.c) is stripped, its
# debug file kept apart (objcopy --only-keep-debug); symbolize_prog loads
# the stripped copy and is profiled at ALLOCPROF_RATE=1, so the profile has
# "libitsym.so+0x..." frames. Modes:
#
#   server  --debuginfod URL names them down to file and line, inlined call
#           included; DEBUGINFOD_URLS does too; a second run with the server
#           stopped names them from the cache (DEBUGINFOD_CACHE_PATH); a
#           server holding the debug file of another build leaves them
#           unnamed.
#   faults  a server that is down, one that accepts and never answers, one
#           that answers HTTP 200 with junk, one that does not speak HTTP:
#           one line on stderr each, exit 0, the profile written unchanged.
#   files   --debug-dir DIR with a .build-id tree, with the stripped library
#           at the mapping's path and without it (the debug file alone);
#           a .gnu_debuglink; the unstripped library at its own path (no
#           debug directory at all); bad arguments.
#   match   diff, gate and merge of the symbolized profile with the
#           unsymbolized one match the frames (nothing changed; one function).
#   legacy  a tcmalloc HEAPPROFILE file (Debian's libtcmalloc.so.4) named
#           from the files at its paths, with the note that they were not
#           checked (a legacy profile has no build IDs); diff/gate with it.
#
#   With go, go tool pprof reads the symbolized profile's file and line.
#
#   symbolize.sh MODE ALLOCPROF LIBALLOC PROG LIB OTHERLIB LINES [GO]
set -u
MODE=$1 ALLOCPROF=$2 LIBALLOC=$3 PROG=$4 LIB=$5 OTHERLIB=$6 LINES=$7 GO=${8:-}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/symbolize.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  rm -rf "$TMP"
}
trap cleanup EXIT
fail=0
say() { echo "symbolize($MODE): $*"; }
bad() { echo "symbolize($MODE): FAIL: $*" >&2; fail=1; }
for need in debuginfod objcopy readelf curl python3; do
  command -v $need >/dev/null ||
    { echo "symbolize($MODE): $need missing (tests/setup-debian.sh installs it), skipped"; exit 77; }
done
if [ "$MODE" = server ] || [ "$MODE" = faults ]; then
  ldconfig -p | grep -q 'libdebuginfod\.so\.1 ' ||
    { echo "symbolize($MODE): libdebuginfod.so.1 missing (libdebuginfod1), skipped"; exit 77; }
fi
unset DEBUGINFOD_URLS DEBUGINFOD_TIMEOUT
export DEBUGINFOD_CACHE_PATH=$TMP/cache

build_id() { readelf -n "$1" | awk '/Build ID/ {print $3; exit}'; }
LINE=$(grep -n 'SYM_MALLOC_LINE' "$(dirname "$0")/symbolize_lib.c" | head -n 1 | cut -d: -f1)

# the stripped library, its debug file apart
mkdir -p "$TMP/lib" "$TMP/srv" "$TMP/other"
cp "$LIB" "$TMP/lib/libitsym.so"
objcopy --only-keep-debug "$TMP/lib/libitsym.so" "$TMP/srv/libitsym.debug"
objcopy --strip-all "$TMP/lib/libitsym.so"
objcopy --only-keep-debug "$OTHERLIB" "$TMP/other/libitsym.debug"
ID=$(build_id "$TMP/lib/libitsym.so")
OTHER_ID=$(build_id "$OTHERLIB")
[ -n "$ID" ] && [ "$ID" != "$OTHER_ID" ] || { bad "build IDs: '$ID' and '$OTHER_ID'"; exit 1; }

profile() { # LIBRARY OUT
  ALLOCPROF_RATE=1 ALLOCPROF_OUT=$2 LD_PRELOAD=$LIBALLOC "$PROG" "$1" >/dev/null ||
    { bad "the profiled program failed"; exit 1; }
}
profile "$TMP/lib/libitsym.so" "$TMP/h.pb.gz"
"$LINES" "$TMP/h.pb.gz" >"$TMP/h.lines"
grep -q 'libitsym.so+0x' "$TMP/h.lines" || { bad "no libitsym.so+0x frame: $(head "$TMP/h.lines")"; exit 1; }
grep -q 'sym_fill\|sym_leaf' "$TMP/h.lines" && { bad "the stripped library named already"; exit 1; }

# the library's frames named: the inlined sym_fill at the malloc line, in sym_leaf
named() { # PROFILE
  "$LINES" "$1" >"$1.lines" || return 1
  grep -q "^sym_fill symbolize_lib.c:$LINE < sym_leaf symbolize_lib.c:[0-9]" "$1.lines" &&
    ! grep -q 'libitsym.so+0x' "$1.lines"
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# waits until URL answers 200, at most 60 s
wait_200() {
  for _ in $(seq 600); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = 200 ] && return 0
    sleep 0.1
  done
  return 1
}
# debuginfod serving DIR (whose debug file has build ID WANT) on PORT
start_server() { # DIR WANT
  PORT=$(free_port)
  debuginfod -p "$PORT" -F "$1" -d "$TMP/db.$PORT.sqlite" -t 0 -g 0 >"$TMP/debuginfod.$PORT.log" 2>&1 &
  SERVER=$!
  PIDS+=("$SERVER")
  wait_200 "http://127.0.0.1:$PORT/buildid/$2/debuginfo" ||
    { bad "debuginfod did not serve $2: $(tail -3 "$TMP/debuginfod.$PORT.log")"; exit 1; }
}
# a listener on PORT that does KIND (hang, junk, http-junk) with every
# connection; waits until it listens
start_fake() { # KIND
  PORT=$(free_port)
  rm -f "$TMP/fake.ready"
  python3 - "$1" "$PORT" "$TMP/fake.ready" <<'EOF' &
import socket, sys, threading
kind, port, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(16)
open(ready, "w").close()
held = []
while True:
    c, _ = s.accept()
    if kind == "hang":
        held.append(c)  # accepted, never answered
        continue
    c.recv(65536)
    if kind == "junk":
        c.sendall(b"\x00\x01garbage, not HTTP\r\n\r\n" * 10)
    else:
        body = b"this is not an ELF file\n" * 20
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: application/octet-stream\r\n\r\n" % len(body) + body)
    c.close()
EOF
  PIDS+=($!)
  for _ in $(seq 600); do [ -e "$TMP/fake.ready" ] && return 0; sleep 0.1; done
  bad "the $1 listener did not start"
  exit 1
}
stop() { kill "$1" && wait "$1" 2>/dev/null; }
folded() { "$ALLOCPROF" convert -o "$2" "$1" 2>/dev/null; }

case $MODE in
server)
  start_server "$TMP/srv" "$ID"
  "$ALLOCPROF" symbolize --debuginfod "http://127.0.0.1:$PORT" -o "$TMP/s.pb.gz" "$TMP/h.pb.gz" \
    2>"$TMP/err" || bad "symbolize --debuginfod failed: $(cat "$TMP/err")"
  say "$(cat "$TMP/err")"
  named "$TMP/s.pb.gz" || bad "--debuginfod: not named: $(grep -m3 'sym_\|libitsym' "$TMP/s.pb.gz.lines")"
  grep -q '^allocprof: .*h.pb.gz: named [1-9][0-9]* frames\?, [0-9]* left unnamed$' "$TMP/err" ||
    bad "the count line: $(cat "$TMP/err")"
  "$ALLOCPROF" top "$TMP/s.pb.gz" | grep -q ' sym_fill$' || bad "top does not show sym_fill"
  if [ -n "$GO" ] && command -v "$GO" >/dev/null 2>&1; then
    "$GO" tool pprof -symbolize=none -top -lines "$TMP/s.pb.gz" >"$TMP/pprof" 2>&1
    grep -q " sym_fill .*symbolize_lib.c:$LINE (inline)\$" "$TMP/pprof" ||
      bad "go tool pprof -lines: $(grep -m3 'sym_\|libitsym' "$TMP/pprof")"
  fi
  # DEBUGINFOD_URLS, a fresh cache
  DEBUGINFOD_CACHE_PATH=$TMP/cache2 DEBUGINFOD_URLS="http://127.0.0.1:$PORT" \
    "$ALLOCPROF" symbolize -o "$TMP/s2.pb.gz" "$TMP/h.pb.gz" 2>"$TMP/err2"
  named "$TMP/s2.pb.gz" || bad "DEBUGINFOD_URLS: not named: $(cat "$TMP/err2")"
  ls "$TMP/cache2/$ID" >/dev/null 2>&1 || bad "nothing in DEBUGINFOD_CACHE_PATH for $ID"
  # the server stopped: the cache answers
  stop "$SERVER"
  "$ALLOCPROF" symbolize --debuginfod "http://127.0.0.1:$PORT" -o "$TMP/s3.pb.gz" "$TMP/h.pb.gz" \
    2>"$TMP/err3" || bad "symbolize from the cache failed"
  named "$TMP/s3.pb.gz" || bad "from the cache, server stopped: not named: $(cat "$TMP/err3")"
  # another build's debug file served: nothing named from it
  start_server "$TMP/other" "$OTHER_ID"
  DEBUGINFOD_CACHE_PATH=$TMP/cache3 "$ALLOCPROF" symbolize --debuginfod "http://127.0.0.1:$PORT" \
    -o "$TMP/o.pb.gz" "$TMP/h.pb.gz" 2>"$TMP/err4" || bad "symbolize (other build) failed"
  say "other build: $(cat "$TMP/err4")"
  "$LINES" "$TMP/o.pb.gz" >"$TMP/o.lines"
  grep -q 'sym_fill\|sym_leaf' "$TMP/o.lines" && bad "named from another build's debug file"
  grep -q 'libitsym.so+0x' "$TMP/o.lines" || bad "the frame lost its object+offset name"
  grep -q ': named 0 frames, [1-9][0-9]* left unnamed$' "$TMP/err4" ||
    bad "the count line: $(cat "$TMP/err4")"
  ;;
faults)
  # what symbolize writes with no server: the other objects' files may
  # name frames of their own
  "$ALLOCPROF" symbolize -o "$TMP/b.pb.gz" "$TMP/h.pb.gz" 2>/dev/null || bad "symbolize failed"
  folded "$TMP/b.pb.gz" "$TMP/h.folded"
  grep -q 'libitsym.so+0x' "$TMP/h.folded" || bad "libitsym.so named without its debug file"
  fault() { # NAME URL
    local t0=$SECONDS
    "$ALLOCPROF" symbolize --debuginfod "$2" -o "$TMP/$1.pb.gz" "$TMP/h.pb.gz" 2>"$TMP/$1.err"
    local rc=$? took=$((SECONDS - t0))
    say "$1: exit $rc in ${took}s: $(grep debuginfod "$TMP/$1.err")"
    [ $rc -eq 0 ] || bad "$1: exit $rc: $(cat "$TMP/$1.err")"
    [ "$(grep -c 'debuginfod' "$TMP/$1.err")" = 1 ] || bad "$1: not one line: $(cat "$TMP/$1.err")"
    [ "$(wc -l <"$TMP/$1.err")" = 2 ] || bad "$1: more than the fault and the count: $(cat "$TMP/$1.err")"
    [ $took -le 40 ] || bad "$1: took ${took}s"
    folded "$TMP/$1.pb.gz" "$TMP/$1.folded" && cmp -s "$TMP/h.folded" "$TMP/$1.folded" ||
      bad "$1: the profile changed"
  }
  fault down "http://127.0.0.1:$(free_port)"
  start_fake hang
  fault hang "http://127.0.0.1:$PORT" # bounded by the default DEBUGINFOD_TIMEOUT
  start_fake http-junk
  fault http-junk "http://127.0.0.1:$PORT"
  # not HTTP at all: libdebuginfod reports it as "not found" (no line), or
  # as an error (one)
  start_fake junk
  "$ALLOCPROF" symbolize --debuginfod "http://127.0.0.1:$PORT" -o "$TMP/junk.pb.gz" "$TMP/h.pb.gz" \
    2>"$TMP/junk.err" || bad "junk: exit $?: $(cat "$TMP/junk.err")"
  [ "$(grep -c 'debuginfod' "$TMP/junk.err")" -le 1 ] || bad "junk: more than one line: $(cat "$TMP/junk.err")"
  folded "$TMP/junk.pb.gz" "$TMP/junk.folded" && cmp -s "$TMP/h.folded" "$TMP/junk.folded" ||
    bad "junk: the profile changed"
  ;;
files)
  mkdir -p "$TMP/dd/.build-id/${ID:0:2}"
  cp "$TMP/srv/libitsym.debug" "$TMP/dd/.build-id/${ID:0:2}/${ID:2}.debug"
  "$ALLOCPROF" symbolize --debug-dir "$TMP/dd" -o "$TMP/s.pb.gz" "$TMP/h.pb.gz" 2>"$TMP/err" ||
    bad "symbolize --debug-dir failed: $(cat "$TMP/err")"
  named "$TMP/s.pb.gz" || bad "--debug-dir .build-id: not named: $(cat "$TMP/err")"
  # another machine: no library at the mapping's path, the debug file alone
  # (its segments' file offsets laid out again from their addresses)
  mv "$TMP/lib" "$TMP/lib.away"
  "$ALLOCPROF" symbolize --debug-dir "$TMP/dd" -o "$TMP/sd.pb.gz" "$TMP/h.pb.gz" 2>"$TMP/errd" ||
    bad "symbolize without the library failed: $(cat "$TMP/errd")"
  named "$TMP/sd.pb.gz" || bad "from the debug file alone: not named: $(cat "$TMP/errd")"
  cmp -s "$TMP/s.pb.gz.lines" "$TMP/sd.pb.gz.lines" ||
    bad "the debug file alone names differently: $(diff "$TMP/s.pb.gz.lines" "$TMP/sd.pb.gz.lines" | head -4)"
  mv "$TMP/lib.away" "$TMP/lib"
  # debuglink: the stripped file names its debug file; found under --debug-dir
  objcopy --add-gnu-debuglink="$TMP/srv/libitsym.debug" "$TMP/lib/libitsym.so" "$TMP/lib/linked.so"
  cp "$TMP/lib/linked.so" "$TMP/lib/libitsym.so"
  mkdir -p "$TMP/dl"
  cp "$TMP/srv/libitsym.debug" "$TMP/dl/"
  profile "$TMP/lib/libitsym.so" "$TMP/hl.pb.gz"
  "$ALLOCPROF" symbolize --debug-dir "$TMP/dl" -o "$TMP/sl.pb.gz" "$TMP/hl.pb.gz" 2>"$TMP/errl"
  named "$TMP/sl.pb.gz" || bad "--debug-dir debuglink: not named: $(cat "$TMP/errl")"
  # the unstripped library at its own path: its own DWARF, no search
  cp "$LIB" "$TMP/lib/libitsym.so"
  "$ALLOCPROF" symbolize "$TMP/h.pb.gz" 2>"$TMP/err2" || bad "symbolize IN failed: $(cat "$TMP/err2")"
  named "$TMP/h.sym.pb.gz" || bad "from the library's own file: not named: $(cat "$TMP/err2")"
  # bad arguments and files: one line, exit 2
  for args in "" "--debuginfod ftp://x $TMP/h.pb.gz" "-o $TMP/x.pb.gz $TMP/h.pb.gz $TMP/h.pb.gz" \
    "$TMP/nothing.pb.gz" "-o /dev/null $TMP/h.pb.gz" "-o $TMP/x.folded $TMP/h.pb.gz" \
    "-o $TMP/none/x.pb.gz $TMP/h.pb.gz" "--bogus $TMP/h.pb.gz"; do
    # shellcheck disable=SC2086
    "$ALLOCPROF" symbolize $args >/dev/null 2>"$TMP/e"
    rc=$?
    [ $rc -eq 2 ] && [ "$(wc -l <"$TMP/e")" = 1 ] || bad "'symbolize $args': exit $rc: $(cat "$TMP/e")"
  done
  ;;
match)
  mkdir -p "$TMP/dd/.build-id/${ID:0:2}"
  cp "$TMP/srv/libitsym.debug" "$TMP/dd/.build-id/${ID:0:2}/${ID:2}.debug"
  "$ALLOCPROF" symbolize --debug-dir "$TMP/dd" -o "$TMP/s.pb.gz" "$TMP/h.pb.gz" 2>/dev/null
  named "$TMP/s.pb.gz" || { bad "not named"; exit 1; }
  for pair in "h s" "s h"; do
    set -- $pair
    "$ALLOCPROF" diff "$TMP/$1.pb.gz" "$TMP/$2.pb.gz" >"$TMP/diff" 2>&1 || bad "diff $pair failed"
    changed=$(grep -E '^[0-9]+ of [0-9]+ functions changed' "$TMP/diff")
    say "diff $pair: $changed"
    [[ "$changed" == "0 of "* ]] || bad "diff $pair reports changes: $(cat "$TMP/diff")"
    "$ALLOCPROF" gate --base "$TMP/$1.pb.gz" --max-growth 0% "$TMP/$2.pb.gz" >"$TMP/gate" 2>&1 ||
      bad "gate $pair: exit $?: $(cat "$TMP/gate")"
  done
  "$ALLOCPROF" merge -o "$TMP/m.pb.gz" "$TMP/h.pb.gz" "$TMP/s.pb.gz" 2>/dev/null || bad "merge failed"
  "$ALLOCPROF" top "$TMP/m.pb.gz" >"$TMP/top"
  grep -q 'libitsym.so+0x' "$TMP/top" && bad "merge kept the unnamed frame apart: $(cat "$TMP/top")"
  grep -Eq '^ *1\.91 MiB .* sym_fill$' "$TMP/top" || bad "merge: sym_fill not both runs' bytes: $(cat "$TMP/top")"
  ;;
legacy)
  TC=$(ls /usr/lib/*/libtcmalloc.so.4 2>/dev/null | head -n 1)
  [ -n "$TC" ] || { echo "symbolize(legacy): libtcmalloc.so.4 missing, skipped"; exit 77; }
  cp "$LIB" "$TMP/lib/libitsym.so" # unstripped: its own symbols and DWARF
  (cd "$TMP" && HEAPPROFILE=$TMP/tc LD_PRELOAD=$TC "$PROG" "$TMP/lib/libitsym.so" >/dev/null 2>&1)
  tcf=$TMP/tc.0001.heap
  [ -s "$tcf" ] || { bad "libtcmalloc wrote no $tcf"; exit 1; }
  "$ALLOCPROF" top "$tcf" | grep -q 'libitsym.so+0x' || bad "the heap file's frames are named already?"
  "$ALLOCPROF" symbolize -o "$TMP/tcs.pb.gz" "$tcf" 2>"$TMP/err" || bad "symbolize failed: $(cat "$TMP/err")"
  say "$(cat "$TMP/err")"
  grep -q 'note: .* without a build ID .* not checked to be the same build$' "$TMP/err" ||
    bad "no note that the files were not checked: $(cat "$TMP/err")"
  [ "$(wc -l <"$TMP/err")" = 2 ] || bad "more than two lines: $(cat "$TMP/err")"
  named "$TMP/tcs.pb.gz" || bad "tcmalloc profile not named: $(head -5 "$TMP/tcs.pb.gz.lines")"
  "$ALLOCPROF" diff "$tcf" "$TMP/tcs.pb.gz" >"$TMP/diff" 2>&1 || bad "diff failed"
  grep -Eq '^0 of [0-9]+ functions changed' "$TMP/diff" || bad "diff: $(cat "$TMP/diff")"
  "$ALLOCPROF" gate --base "$tcf" --max-growth 0% "$TMP/tcs.pb.gz" >/dev/null 2>&1 || bad "gate failed"
  ;;
*) bad "unknown mode $MODE" ;;
esac
[ $fail -eq 0 ] && say "ok"
exit $fail
