#!/bin/bash
# lean_preload.sh LIBALLOC: the preload costs an unprofiled process nothing
# of the profiler's (liballoc/mprof.h, "The hook").
#   unprofiled  no library of the dumping half is mapped: not
#               liballoc_dump.so, libdw, libelf, libunwind, libzstd,
#               libprotobuf-c
#   profiled    with ALLOCPROF_OUT, liballoc_dump.so is loaded from beside
#               liballoc.so and the profile is written
#   missing     liballoc.so alone in a directory: the program runs as
#               usual, one line on stderr says profiling is unavailable,
#               no profile appears
#   not_elf     a liballoc_dump.so that is not a library: the same
#   foreign     a library of that name that registers nothing: the same
set -u
lib=$(realpath -s "$1") # absolute; liballoc.so, not the versioned file it links to
tmp=$(mktemp -d "${TMPDIR:-/tmp}/allocprof-lean.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "lean_preload: FAIL: $*" >&2; exit 1; }
profiler_libs='liballoc_dump|libdw|libelf|libunwind|libzstd|libprotobuf-c'

env -u ALLOCPROF_OUT -u ALLOCPROF_STREAM LD_PRELOAD="$lib" cat /proc/self/maps >"$tmp/maps" ||
  fail "cat under the preload failed"
grep -q "liballoc.so" "$tmp/maps" || fail "liballoc.so is not mapped: the preload did not happen"
if grep -Eq "$profiler_libs" "$tmp/maps"; then
  grep -E "$profiler_libs" "$tmp/maps" >&2
  fail "an unprofiled process maps the profiler's libraries"
fi
echo "unprofiled: ok"

ALLOCPROF_OUT="$tmp/p.pb.gz" ALLOCPROF_RATE=1 LD_PRELOAD="$lib" cat /proc/self/maps >"$tmp/maps2" 2>"$tmp/err2" ||
  fail "profiled cat failed"
grep -q "liballoc_dump.so" "$tmp/maps2" || fail "a profiled process did not load liballoc_dump.so"
[ -s "$tmp/p.pb.gz" ] || { cat "$tmp/err2" >&2; fail "the profiled process wrote no profile"; }
[ ! -s "$tmp/err2" ] || { cat "$tmp/err2" >&2; fail "the profiled process printed on stderr"; }
echo "profiled: ok"

# check_unavailable DIR CASE: liballoc.so in DIR, beside whatever DIR holds
check_unavailable() {
  local dir=$1 case_=$2
  out=$(ALLOCPROF_OUT="$tmp/$case_.pb.gz" ALLOCPROF_RATE=1 LD_PRELOAD="$dir/liballoc.so" \
        sh -c 'echo ran; exit 7' 2>"$tmp/$case_.err")
  rc=$?
  [ $rc -eq 7 ] || fail "$case_: the program's exit status is $rc, not 7"
  [ "$out" = ran ] || fail "$case_: the program did not run as usual (stdout: $out)"
  [ "$(wc -l <"$tmp/$case_.err")" -eq 1 ] || { cat "$tmp/$case_.err" >&2; fail "$case_: not exactly one line on stderr"; }
  grep -q "profiling unavailable" "$tmp/$case_.err" || { cat "$tmp/$case_.err" >&2; fail "$case_: the line does not say profiling is unavailable"; }
  [ ! -e "$tmp/$case_.pb.gz" ] || fail "$case_: a profile was written"
  echo "$case_: ok: $(cat "$tmp/$case_.err")"
}

mkdir "$tmp/missing" && cp "$lib" "$tmp/missing/"
check_unavailable "$tmp/missing" missing

mkdir "$tmp/not_elf" && cp "$lib" "$tmp/not_elf/" && echo "not a library" >"$tmp/not_elf/liballoc_dump.so"
check_unavailable "$tmp/not_elf" not_elf

mkdir "$tmp/foreign" && cp "$lib" "$tmp/foreign/"
echo 'int foreign_library_marker(void) { return 1; }' >"$tmp/foreign.c"
cc -shared -fPIC -o "$tmp/foreign/liballoc_dump.so" "$tmp/foreign.c" || fail "cannot build the foreign library"
check_unavailable "$tmp/foreign" foreign
echo "lean_preload: ok"
