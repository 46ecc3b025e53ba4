#!/bin/bash
# ulimit_v.sh: with liballoc preloaded, small programs start and run under a
# tight `ulimit -v`, and the allocator costs little address space at start.
#
# usage: ulimit_v.sh LIBALLOC TIGHT_AS
#
#   1. /bin/echo runs under `ulimit -v 36864` preloaded (as it does without);
#   2. tight_as (tight_as.c) allocates, runs out (NULL + ENOMEM, no abort)
#      and recovers under the same limit, preloaded;
#   3. VmPeak of a small program (cat reading its own /proc status) grows by
#      at most 16 MiB with the preload, the libraries liballoc.so links
#      included. The numbers are printed.
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
plain=$(vm_peak)
preloaded=$(vm_peak LD_PRELOAD="$lib")
[ -n "$plain" ] && [ -n "$preloaded" ] || fail "cannot read VmPeak"
echo "ulimit_v: VmPeak of cat: ${plain} KiB plain, ${preloaded} KiB preloaded (+$((preloaded - plain)) KiB)"
[ $((preloaded - plain)) -le 16384 ] || fail "the preload costs $((preloaded - plain)) KiB of address space at start"
echo "ulimit_v: ok"
