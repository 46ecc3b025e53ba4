#!/bin/bash
# foreign_bindings.sh LIBALLOC PROGRAM [ARGS]: PROGRAM (foreign_user, built
# against jemalloc or tcmalloc) run with liballoc preloaded and every symbol
# bound at start (LD_BIND_NOW): LD_DEBUG=bindings shows no symbol of the
# program bound to the other allocator's library, and the program, which
# checks the answers, succeeds. With "heap" as ARGS, tcmalloc's heap
# profiler calls write PREFIX.0000.heap, a profile allocprof reads.
set -u
lib=$(readlink -f "$1")
prog=$2
heap=${3:-}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/foreign_bindings.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "foreign_bindings: FAIL: $*" >&2; exit 1; }
other=$(ldd "$prog" | sed -n 's/.*\(lib\(je\|tc\)malloc[^ ]*\) => .*/\1/p' | head -1)
[ -n "$other" ] || fail "$prog is not linked with jemalloc or tcmalloc"
args=()
[ -n "$heap" ] && args=("$tmp/prof")
LD_BIND_NOW=1 LD_DEBUG=bindings LD_DEBUG_OUTPUT="$tmp/bindings" LD_PRELOAD="$lib" \
  "$prog" "${args[@]}" || fail "$prog failed under the preload"
cat "$tmp"/bindings.* >"$tmp/all"
name=$(basename "$prog")
grep -q "binding file $prog .*to $lib" "$tmp/all" || fail "no symbol of $name binds to liballoc.so"
foreign=$(grep "binding file $prog .*to [^ ]*$other" "$tmp/all" | sed "s/.*symbol //")
[ -z "$foreign" ] || fail "$name's calls that reach $other under the preload: $(echo $foreign)"
echo "foreign_bindings: no symbol of $name binds to $other"
if [ -n "$heap" ]; then
  [ -s "$tmp/prof.0000.heap" ] || fail "HeapProfilerDump wrote no $tmp/prof.0000.heap"
  gzip -t "$tmp/prof.0000.heap" || fail "prof.0000.heap is not gzip (pprof)"
  echo "foreign_bindings: HeapProfilerDump wrote prof.0000.heap"
fi
