#!/bin/bash
# ulimit_v.sh: with liballoc preloaded, small programs start and run under a
# tight `ulimit -v`, and the allocator costs little address space at start.
#
# usage: ulimit_v.sh LIBALLOC TIGHT_AS
#
#   1. /bin/echo runs under `ulimit -v 36864` preloaded (as it does without);
#   2. tight_as (tight_as.c) allocates, runs out (NULL + ENOMEM, no abort)
#      and recovers under the same limit, preloaded;
#   3. the address space of a small program (cat reading its own /proc
#      files) outside shared objects grows by at most 4 MiB with the preload
#      (the heap's first 1 MiB step and the allocator's metadata); what the
#      shared objects liballoc.so pulls in (and a sanitizer runtime) add is
#      printed, with VmPeak, but not judged.
# Exit 77 (skip) if /bin/echo cannot run under the limit even without it.
set -u
lib=$1
tight=$2
limit_kib=36864

fail() {
  echo "ulimit_v: FAIL: $*" >&2
  exit 1
}

out=$(bash -c "ulimit -v $limit_kib && exec /bin/echo hi" 2>&1)
if [ "$out" != hi ]; then
  echo "ulimit_v: /bin/echo does not run under ulimit -v $limit_kib even without liballoc: skipped"
  exit 77
fi

out=$(bash -c "ulimit -v $limit_kib && LD_PRELOAD='$lib' exec /bin/echo hi" 2>&1)
[ "$out" = hi ] || fail "preloaded /bin/echo under ulimit -v $limit_kib printed: $out"
echo "ulimit_v: /bin/echo runs preloaded under ulimit -v $limit_kib"

out=$(bash -c "ulimit -v $limit_kib && LD_PRELOAD='$lib' exec '$tight'" 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] || fail "tight_as under ulimit -v $limit_kib exited with status $rc"
case "$out" in
*"tight_as: ok"*) ;;
*) fail "tight_as did not finish" ;;
esac

vm_peak() { # VmPeak in KiB of cat reading its own status, with extra env
  env "$@" cat /proc/self/status | awk '/^VmPeak:/ { print $2 }'
}
maps_kib() { # "KiB in shared objects, KiB elsewhere" of cat's own mappings
  # (an anonymous mapping right after a shared object's is its .bss)
  env "$@" cat /proc/self/maps | {
    so=0 other=0 so_end=-1
    while read -r range perms off dev inode path; do
      lo=$((16#${range%-*})) hi=$((16#${range#*-}))
      n=$(((hi - lo) / 1024))
      case $path in
      *.so | *.so.*) so=$((so + n)) so_end=$hi ;;
      "") if [ $lo -eq $so_end ]; then so=$((so + n)) so_end=$hi; else other=$((other + n)); fi ;;
      *) other=$((other + n)) so_end=-1 ;;
      esac
    done
    echo "$so $other"
  }
}
plain=$(vm_peak)
preloaded=$(vm_peak LD_PRELOAD="$lib")
[ -n "$plain" ] && [ -n "$preloaded" ] || fail "cannot read VmPeak"
read -r so_plain other_plain < <(maps_kib)
read -r so_pre other_pre < <(maps_kib LD_PRELOAD="$lib")
echo "ulimit_v: VmPeak of cat: ${plain} KiB plain, ${preloaded} KiB preloaded (+$((preloaded - plain)) KiB:" \
  "+$((so_pre - so_plain)) KiB of shared objects, +$((other_pre - other_plain)) KiB else)"
[ $((other_pre - other_plain)) -le 4096 ] ||
  fail "the preload costs $((other_pre - other_plain)) KiB of address space outside shared objects at start"
echo "ulimit_v: ok"
