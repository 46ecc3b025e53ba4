#!/bin/bash
# legacy_real.sh: heap profiles written by the real allocators, read by
# allocprof (formats/legacy_heap.c), with the totals their own tools print:
#
#   - Debian's libtcmalloc.so.4 with HEAPPROFILE (gperftools' "@ heapprofile"
#     format, every allocation) against google-pprof (google-perftools);
#   - Debian's libjemalloc.so.2, which is built with profiling, with
#     MALLOC_CONF=prof:true,prof_accum:true,prof_final:true (jemalloc's
#     heap_v2 format, sampled once per 4 KiB) against jeprof
#     (libjemalloc-dev), which unsamples as allocprof does;
#
# for inuse_space, inuse_objects, alloc_space and alloc_objects. Sampled
# values are unsampled per stack and truncated: allocprof's total may be
# below the tool's by less than one unit per stack. Then convert, diff and
# gate between the two. Exit 77 (skipped) when an allocator or its tool is
# missing (tests/setup-debian.sh installs them).
#
#   legacy_real.sh LEGACY_PROG ALLOCPROF
set -u
PROG=$1
ALLOCPROF=$2
TC=$(ls /usr/lib/*/libtcmalloc.so.4 2>/dev/null | head -n 1)
JE=$(ls /usr/lib/*/libjemalloc.so.2 2>/dev/null | head -n 1)
for need in "$TC" "$JE" "$(command -v google-pprof)" "$(command -v jeprof)"; do
  if [ -z "$need" ]; then
    echo "legacy_real: libtcmalloc.so.4, libjemalloc.so.2, google-pprof or jeprof missing, skipped"
    exit 77
  fi
done
TMP=$(mktemp -d "${TMPDIR:-/tmp}/legacy_real.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fail=0
bad() { echo "legacy_real: FAIL: $*" >&2; fail=1; }

# allocprof's exact total of one sample type
ap_total() { "$ALLOCPROF" top --json -i "$2" "$1" | awk -F': ' '/"total"/ {gsub(/,/, "", $2); print $2; exit}'; }
# the tool's "Total: N B" / "Total: N objects" line
tool_total() { "$1" --text --show_bytes "--$3" "$PROG" "$2" 2>/dev/null | awk '/^Total:/ {print $2; exit}'; }

compare() { # TOOL FILE STACKS
  for t in inuse_space inuse_objects alloc_space alloc_objects; do
    a=$(ap_total "$2" $t)
    b=$(tool_total "$1" "$2" $t)
    if [ -z "$a" ] || [ -z "$b" ]; then
      bad "$(basename "$2") $t: no total (allocprof '$a', $1 '$b')"
    elif [ "$a" -gt "$b" ] || [ $((b - a)) -gt "$3" ]; then
      bad "$(basename "$2") $t: allocprof $a, $(basename "$1") $b"
    else
      echo "legacy_real: $(basename "$2") $t: allocprof $a, $(basename "$1") $b"
    fi
  done
}

# ---- gperftools: every allocation, exact ----
(cd "$TMP" && HEAPPROFILE=$TMP/tc LD_PRELOAD=$TC "$PROG" >/dev/null 2>&1)
tcf=$TMP/tc.0001.heap
[ -s "$tcf" ] || { bad "libtcmalloc wrote no $tcf"; exit 1; }
head -n 1 "$tcf" | grep -q '@ heapprofile' || bad "unexpected header: $(head -n 1 "$tcf")"
compare google-pprof "$tcf" 0
# the program's own objects: 20000 x 1000 and 10000 x 3000 bytes in use
a=$(ap_total "$tcf" inuse_space)
[ "$a" -ge 50000000 ] || bad "tcmalloc inuse_space $a, less than the program keeps"

# ---- jemalloc: heap_v2, sampled ----
(cd "$TMP" && MALLOC_CONF=prof:true,prof_accum:true,prof_final:true,lg_prof_sample:12,prof_prefix:$TMP/je \
  LD_PRELOAD=$JE "$PROG" >/dev/null 2>&1)
jef=$(ls "$TMP"/je.*.heap 2>/dev/null | head -n 1)
[ -n "$jef" ] || { bad "libjemalloc wrote no heap file (built without profiling?)"; exit 1; }
head -n 1 "$jef" | grep -q '^heap_v2/4096$' || bad "unexpected header: $(head -n 1 "$jef")"
stacks=$(grep -c '^@' "$jef")
compare jeprof "$jef" "$stacks"

# ---- every command reads them: convert, diff, gate ----
"$ALLOCPROF" convert -o "$TMP/tc.pb.gz" "$tcf" || bad "convert $tcf"
a=$(ap_total "$TMP/tc.pb.gz" inuse_space)
b=$(ap_total "$tcf" inuse_space)
[ "$a" = "$b" ] || bad "converted profile's total $a, the heap file's $b"
"$ALLOCPROF" diff "$tcf" "$TMP/tc.pb.gz" >"$TMP/diff.out" || bad "diff of a legacy profile with its conversion"
grep -q '^Total: ' "$TMP/diff.out" || bad "diff printed no total: $(head -n 3 "$TMP/diff.out")"
"$ALLOCPROF" gate --base "$tcf" --max-growth 5% "$TMP/tc.pb.gz" >/dev/null ||
  bad "gate of a profile against its own conversion failed"
"$ALLOCPROF" diff -i inuse_space "$jef" "$tcf" >/dev/null || bad "diff jemalloc -> tcmalloc"
[ $fail = 0 ] && echo "legacy_real: ok"
exit $fail
