#!/bin/bash
# prof_debugfile.sh: names from separate debug files at dump time
# (libprof/symbolize_files.c). prof_debugfile_lib.c's library, built with
# -g -O2, is stripped (strip --strip-all: its static function and the helper
# inlined in it have no symbol and no DWARF left) and its debug info kept
# apart (objcopy --only-keep-debug). prof_debugfile loads the stripped copy,
# allocates through it at ALLOCPROF_RATE=1 and dumps through allocprof_dump;
# prof_debugfile_check prints the frames the profile gives the library.
#
# Found, the frame is named with function, file and line, the inlined
# helper as a line of its own, and its caller too:
#   beside    .gnu_debuglink, the debug file beside the library
#   dotdebug  .gnu_debuglink, in .debug/ beside the library
#   buildid   no debuglink; by build ID under a debug directory
#             (ALLOCPROF_DEBUG_DIR=EMPTY:ROOT, ROOT/.build-id/xx/rest.debug)
#   rootlink  .gnu_debuglink under a debug directory (ROOT/LIBDIR/LINK)
# Not found, or not to be trusted: the frame stays LIB+0xOFFSET, no name,
# file or line of the library's code appears, the profile is written:
#   none          no debug file anywhere (the default /usr/lib/debug)
#   other_link    the debug file of another build (the library rebuilt
#                 with a changed constant: another build ID) at every
#                 place the debuglink search looks
#   other_buildid that file at the build-ID path of this library
#   garbage       random bytes at every place
#   truncated     the first half of the right debug file at every place
#   corrupt       the right debug file (its build ID passes) with every
#                 .debug_* section overwritten by random bytes: no crash,
#                 and nothing but the library's own names (its symbol table
#                 is intact) may appear
#   loop          symlinks in a loop at every place
#   fifo          a FIFO at every place (the dump must not block on it)
#   badsetting    ALLOCPROF_DEBUG_DIR with a relative entry: one line on
#                 stderr, the default kept
# A library built without a build ID has only its debuglink's CRC to vouch
# for a debug file:
#   noid_crc      its own debug file beside it: named
#   noid_other    the other build's debug file under the debuglink's name
#                 beside it and in .debug/ (another CRC): unnamed
# No network: every run has DEBUGINFOD_URLS pointing at a listener of this
# script's; no connection may arrive, and prof_debugfile checks after its
# dump that libdebuginfod and libcurl are not in its maps. At the end
# debuginfod-find, given the same DEBUGINFOD_URLS, must reach the listener
# (it would have seen a profiled process's query).
#
#   prof_debugfile.sh PROF_DEBUGFILE CHECK LIB LIB_OTHER_BUILD LIB_NO_BUILD_ID LIB_SOURCE
set -u
HOST=$1
CHECK=$2
LIB=$3
OTHER=$4
NOID=$5
SRC=$6
N=50       # blocks allocated by the library's static function
SIZE=1000  # bytes each
NAME=libitdebugfile.so

say() { echo "prof_debugfile: $*"; }
fail=0
bad() { echo "prof_debugfile: FAIL: $*" >&2; fail=1; }

for tool in objcopy strip readelf python3; do
  command -v $tool >/dev/null || { say "no $tool, skipped"; exit 77; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/prof_debugfile.XXXXXX")
LISTENER=
cleanup() {
  [ -n "$LISTENER" ] && kill "$LISTENER" 2>/dev/null && wait "$LISTENER" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

# ---- the listener at DEBUGINFOD_URLS: one line per connection ----
python3 - "$TMP/port" "$TMP/connections" <<'EOF' &
import os, socket, sys
port_file, log = sys.argv[1], sys.argv[2]
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
with open(port_file + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(port_file + ".tmp", port_file)
while True:
    c, _ = s.accept()
    c.settimeout(5)
    try:
        first = c.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
    except OSError:
        first = "(nothing read)"
    with open(log, "a") as f:
        f.write(first + "\n")
    try:
        c.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    except OSError:
        pass
    c.close()
EOF
LISTENER=$!
for _ in $(seq 200); do [ -s "$TMP/port" ] && break; sleep 0.05; done
[ -s "$TMP/port" ] || { bad "the listener did not start"; exit 1; }
: >"$TMP/connections"
export DEBUGINFOD_URLS="http://127.0.0.1:$(cat "$TMP/port")"
export DEBUGINFOD_CACHE_PATH=$TMP/debuginfod-cache DEBUGINFOD_TIMEOUT=5
unset DEBUGINFOD_PROGRESS ALLOCPROF_DEBUG_DIR

# ---- the files ----
build_id() { readelf -n "$1" | awk '/Build ID:/ { print $3; exit }'; }
ID=$(build_id "$LIB")
OTHER_ID=$(build_id "$OTHER")
[ -n "$ID" ] && [ -n "$OTHER_ID" ] || { bad "no build ID in $LIB or $OTHER"; exit 1; }
[ "$ID" != "$OTHER_ID" ] || { bad "the two builds have the same build ID $ID"; exit 1; }
mkdir -p "$TMP/files"
F=$TMP/files
objcopy --only-keep-debug "$LIB" "$F/$NAME.debug" &&
  objcopy --only-keep-debug "$OTHER" "$F/other.debug" &&
  strip --strip-all -o "$F/plain.so" "$LIB" &&
  objcopy --add-gnu-debuglink="$F/$NAME.debug" "$F/plain.so" "$F/linked.so" ||
  { bad "objcopy/strip failed"; exit 1; }
# the premise: nothing in the stripped copies names the static function
for f in plain linked; do
  if readelf -Ws "$F/$f.so" | grep -q debugfile_leaf || readelf -S "$F/$f.so" | grep -q debug_info; then
    bad "$f.so still has a symbol or DWARF for debugfile_leaf"
    exit 1
  fi
done
# without a build ID
[ -z "$(build_id "$NOID")" ] || { bad "$NOID has a build ID"; exit 1; }
objcopy --only-keep-debug "$NOID" "$F/noid.debug" &&
  strip --strip-all -o "$F/noid_plain.so" "$NOID" &&
  cp "$F/noid.debug" "$F/$NAME.debug.noid" && cd "$F" &&
  objcopy --add-gnu-debuglink="$NAME.debug.noid" noid_plain.so noid_linked.so && cd - >/dev/null ||
  { bad "objcopy/strip of the library without build ID failed"; exit 1; }
readelf -p .gnu_debuglink "$F/linked.so" | grep -qF "$NAME.debug" || { bad "linked.so has no debuglink"; exit 1; }
say "build ID $ID (the other build: $OTHER_ID)"

line_of() { grep -n "LINE:$1 \*/" "$SRC" | cut -d: -f1; }
SRCNAME=$(basename "$SRC")
NAMED="leaf debugfile_make@$SRCNAME:$(line_of malloc) < debugfile_leaf@$SRCNAME:$(line_of inlined_call)"
NAMED="$NAMED | caller debugfile_alloc@$SRCNAME:$(line_of leaf_call) $((N * SIZE))"

# ---- one case: the library in $TMP/CASE/lib, debug files placed by the caller ----

# setup CASE plain|linked: the case's directory with the library in it
setup() {
  mkdir -p "$TMP/$1/lib/.debug" "$TMP/$1/root"
  cp "$F/$2.so" "$TMP/$1/lib/$NAME"
}
# the places a debug file is looked for, for case $1 with ROOT its debug dir
places() {
  local d=$TMP/$1
  echo "$d/lib/$NAME.debug" "$d/lib/.debug/$NAME.debug" "$d/root$d/lib/$NAME.debug" \
    "$d/root/.build-id/${ID:0:2}/${ID:2}.debug"
}
# put CASE SOURCE PLACE...: copies SOURCE to each place
put() {
  local src=$2 p
  shift 2
  for p in "$@"; do mkdir -p "$(dirname "$p")" && cp "$src" "$p"; done
}

# run CASE [VAR=VALUE...]: the program on the case's library, then the check
run() {
  local c=$1
  shift
  env "$@" ALLOCPROF_RATE=1 timeout 30 "$HOST" "$TMP/$c/lib/$NAME" "$TMP/$c.pb.gz" $N $SIZE \
    >"$TMP/$c.stdout" 2>"$TMP/$c.stderr"
  local rc=$?
  [ $rc -eq 0 ] || bad "$c: prof_debugfile exited with $rc: $(head -5 "$TMP/$c.stderr")"
  [ -s "$TMP/$c.pb.gz" ] || { bad "$c: no profile written"; return 1; }
  "$CHECK" "$TMP/$c.pb.gz" "$NAME" >"$TMP/$c.out" 2>"$TMP/$c.check.err" ||
    bad "$c: prof_debugfile_check: $(head -3 "$TMP/$c.check.err")"
  grep '^leaf' "$TMP/$c.out" >"$TMP/$c.leaf"
}

expect_named() { # expect_named CASE
  local c=$1
  say "$c: $(cat "$TMP/$c.leaf")"
  [ "$(cat "$TMP/$c.leaf")" = "$NAMED" ] ||
    bad "$c: the frames are not named from the debug file: got '$(cat "$TMP/$c.leaf")', want '$NAMED'"
  grep -q '^mapping .* functions=1 filenames=1 line_numbers=1$' "$TMP/$c.out" ||
    bad "$c: the mapping's flags: $(grep '^mapping' "$TMP/$c.out")"
  [ -s "$TMP/$c.stderr" ] && bad "$c: stderr: $(head -3 "$TMP/$c.stderr")"
}

expect_unnamed() { # expect_unnamed CASE
  local c=$1
  say "$c: $(cat "$TMP/$c.leaf")"
  grep -qE "^leaf ${NAME//./\\.}\\+0x[0-9a-f]+@:0 \\| caller debugfile_alloc@:0 $((N * SIZE))\$" \
    "$TMP/$c.leaf" && [ "$(wc -l <"$TMP/$c.leaf")" -eq 1 ] ||
    bad "$c: want the frame unnamed ($NAME+0x...), its caller named from the dynamic symbols only: $(cat "$TMP/$c.leaf")"
  grep -qE "debugfile_leaf|debugfile_make|$SRCNAME" "$TMP/$c.out" &&
    bad "$c: something of the library's code is named: $(cat "$TMP/$c.out")"
  grep -q '^mapping .* filenames=0 line_numbers=0$' "$TMP/$c.out" ||
    bad "$c: the mapping's flags: $(grep '^mapping' "$TMP/$c.out")"
}

# ---- found ----
setup beside linked
put beside "$F/$NAME.debug" "$TMP/beside/lib/$NAME.debug"
run beside
expect_named beside

setup dotdebug linked
put dotdebug "$F/$NAME.debug" "$TMP/dotdebug/lib/.debug/$NAME.debug"
run dotdebug
expect_named dotdebug

setup buildid plain
mkdir -p "$TMP/buildid/empty"
put buildid "$F/$NAME.debug" "$TMP/buildid/root/.build-id/${ID:0:2}/${ID:2}.debug"
run buildid ALLOCPROF_DEBUG_DIR="$TMP/buildid/empty:$TMP/buildid/root"
expect_named buildid

setup rootlink linked
put rootlink "$F/$NAME.debug" "$TMP/rootlink/root$TMP/rootlink/lib/$NAME.debug"
run rootlink ALLOCPROF_DEBUG_DIR="$TMP/rootlink/root"
expect_named rootlink

# ---- not found, or not to be trusted ----
setup none plain
run none
expect_unnamed none

setup other_link linked
put other_link "$F/other.debug" $(places other_link | cut -d' ' -f1-3)
run other_link ALLOCPROF_DEBUG_DIR="$TMP/other_link/root"
expect_unnamed other_link

setup other_buildid plain
put other_buildid "$F/other.debug" $(places other_buildid | cut -d' ' -f4)
run other_buildid ALLOCPROF_DEBUG_DIR="$TMP/other_buildid/root"
expect_unnamed other_buildid

# random bytes, the same in every run: FILE [OFFSET SIZE]... (none: 64 KiB
# of them replace the file; else the ranges are overwritten)
scramble() {
  python3 - "$@" <<'EOF2'
import random, sys
path, ranges = sys.argv[1], sys.argv[2:]
rng = random.Random(17)
noise = lambda n: bytes(rng.randrange(256) for _ in range(n))
if not ranges:
    open(path, "wb").write(noise(65536))
    sys.exit(0)
b = bytearray(open(path, "rb").read())
for off, size in zip(ranges[0::2], ranges[1::2]):
    off, size = int(off, 16), int(size, 16)
    b[off:off + size] = noise(size)
open(path, "wb").write(b)
EOF2
}

setup garbage linked
scramble "$F/garbage"
put garbage "$F/garbage" $(places garbage)
run garbage ALLOCPROF_DEBUG_DIR="$TMP/garbage/root"
expect_unnamed garbage

setup truncated linked
head -c $(($(stat -c %s "$F/$NAME.debug") / 2)) "$F/$NAME.debug" >"$F/truncated"
put truncated "$F/truncated" $(places truncated)
run truncated ALLOCPROF_DEBUG_DIR="$TMP/truncated/root"
expect_unnamed truncated

setup corrupt linked
cp "$F/$NAME.debug" "$F/corrupt"
# readelf -SW: [Nr] Name Type Address Off Size ...; the .debug_* with contents
scramble "$F/corrupt" $(readelf -SW "$F/corrupt" | sed 's/^ *\[ *[0-9]*\]//' |
  awk '$1 ~ /^\.debug_/ && $2 == "PROGBITS" { print $4, $5 }')
cmp -s "$F/corrupt" "$F/$NAME.debug" && { bad "corrupt: nothing was overwritten"; exit 1; }
[ "$(build_id "$F/corrupt")" = "$ID" ] || bad "corrupt: the build ID was overwritten too"
put corrupt "$F/corrupt" $(places corrupt)
run corrupt ALLOCPROF_DEBUG_DIR="$TMP/corrupt/root"
say "corrupt: $(cat "$TMP/corrupt.leaf")"
# every function named in the library is one of its own, or an offset in it
grep -oE '(leaf|<|caller) [^@ ]+@' "$TMP/corrupt.out" | awk '{ print $2 }' | sed 's/@$//' |
  grep -vxE "debugfile_(make|leaf|alloc)|${NAME//./\\.}\+0x[0-9a-f]+" >"$TMP/corrupt.wrong" &&
  bad "corrupt: names that are not the library's: $(tr '\n' ' ' <"$TMP/corrupt.wrong")"
grep -qE " $((N * SIZE))\$" "$TMP/corrupt.leaf" || bad "corrupt: the blocks are not under the library"

setup loop linked
for p in $(places loop); do
  mkdir -p "$(dirname "$p")"
  ln -s "$p.2" "$p" && ln -s "$p" "$p.2"
done
run loop ALLOCPROF_DEBUG_DIR="$TMP/loop/root"
expect_unnamed loop

setup fifo linked
for p in $(places fifo); do mkdir -p "$(dirname "$p")" && mkfifo "$p"; done
run fifo ALLOCPROF_DEBUG_DIR="$TMP/fifo/root"
expect_unnamed fifo

# a bad setting: one line, the default kept, the profile written
setup badsetting linked
put badsetting "$F/$NAME.debug" "$TMP/badsetting/lib/$NAME.debug"
run badsetting ALLOCPROF_DEBUG_DIR="relative/debug:/usr/lib/debug"
grep -q '^allocprof: ALLOCPROF_DEBUG_DIR=relative/debug:/usr/lib/debug has an empty or relative directory.*; looking in /usr/lib/debug$' \
  "$TMP/badsetting.stderr" && [ "$(wc -l <"$TMP/badsetting.stderr")" -eq 1 ] ||
  bad "badsetting: want one line on stderr about ALLOCPROF_DEBUG_DIR: $(cat "$TMP/badsetting.stderr")"
: >"$TMP/badsetting.stderr"
expect_named badsetting # the debug file beside the library needs no debug directory
say "badsetting: $(head -1 "$TMP/badsetting.stdout")"

# ---- without a build ID: the CRC ----
setup noid_crc noid_linked
put noid_crc "$F/noid.debug" "$TMP/noid_crc/lib/$NAME.debug.noid"
run noid_crc
expect_named noid_crc

setup noid_other noid_linked
put noid_other "$F/other.debug" "$TMP/noid_other/lib/$NAME.debug.noid" \
  "$TMP/noid_other/lib/.debug/$NAME.debug.noid"
run noid_other
expect_unnamed noid_other

# ---- no network ----
if [ -s "$TMP/connections" ]; then
  bad "a profiled process connected to DEBUGINFOD_URLS: $(head -5 "$TMP/connections")"
else
  say "no connection to $DEBUGINFOD_URLS from the $(ls "$TMP"/*.pb.gz | wc -l) profiled runs"
fi
# the control: elfutils' own client, given the same DEBUGINFOD_URLS, asks it
if command -v debuginfod-find >/dev/null; then
  debuginfod-find debuginfo "$ID" >/dev/null 2>&1 && bad "debuginfod-find found a debug file"
  grep -q "buildid/$ID/debuginfo" "$TMP/connections" ||
    bad "the listener did not see debuginfod-find's query: $(cat "$TMP/connections")"
  say "control: debuginfod-find reached the listener: $(head -1 "$TMP/connections")"
fi

[ $fail -eq 0 ] && say "ok"
exit $fail
