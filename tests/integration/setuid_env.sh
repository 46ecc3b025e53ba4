#!/bin/bash
# setuid_env.sh LIBALLOC SECURE_HOST: a privileged process ignores every
# ALLOC_* and ALLOCPROF_* variable (liballoc/environ.c).
#
# As root, copies secure_host (linked with liballoc.so) twice into a fresh
# directory, one copy setuid root, and runs both as the unprivileged user
# 65534 with ALLOCPROF_OUT, ALLOCPROF_STREAM and ALLOC_STATS pointing into a
# world-writable directory. The plain copy must write its profile, stream
# and statistics (the variables work); the setuid copy must write none of
# them, and run normally. Skipped (77) when not root, without setpriv, or
# where the setuid bit is not honoured (a nosuid mount).
set -u
prog=$2
[ "$(id -u)" = 0 ] || { echo "setuid_env: needs root; skipped"; exit 77; }
command -v setpriv >/dev/null || { echo "setuid_env: no setpriv; skipped"; exit 77; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/setuid_env.XXXXXX")
trap 'rm -rf "$dir"' EXIT
chmod 755 "$dir"
mkdir "$dir/out" && chmod 1777 "$dir/out"
cp "$prog" "$dir/plain" && cp "$prog" "$dir/suid"
chown root:root "$dir/plain" "$dir/suid"
chmod 755 "$dir/plain" && chmod 4755 "$dir/suid"
fail=0

run_as_nobody() { # NAME: runs $dir/NAME as 65534 with the variables set
  setpriv --reuid=65534 --regid=65534 --clear-groups env \
    ALLOCPROF_RATE=1 ALLOCPROF_OUT="$dir/out/$1.pb.gz" ALLOCPROF_STREAM="$dir/out/$1.stream" \
    ALLOC_STATS=1 "$dir/$1" >"$dir/$1.stdout" 2>"$dir/$1.stderr"
}

run_as_nobody plain || { echo "setuid_env: FAIL: the plain copy failed"; cat "$dir/plain.stderr"; fail=1; }
[ -s "$dir/out/plain.pb.gz" ] || { echo "setuid_env: FAIL: the plain copy wrote no profile"; fail=1; }
[ -s "$dir/out/plain.stream" ] || { echo "setuid_env: FAIL: the plain copy wrote no stream"; fail=1; }
grep -q . "$dir/plain.stderr" || { echo "setuid_env: FAIL: the plain copy printed no statistics"; fail=1; }

run_as_nobody suid || { echo "setuid_env: FAIL: the setuid copy failed"; cat "$dir/suid.stderr"; fail=1; }
if ! grep -q '^secure=1' "$dir/suid.stdout"; then
  echo "setuid_env: the setuid bit was not honoured here (nosuid mount?); skipped"
  exit 77
fi
for f in suid.pb.gz suid.stream; do
  [ -e "$dir/out/$f" ] && { echo "setuid_env: FAIL: the setuid program created $f"; fail=1; }
done
if [ -s "$dir/suid.stderr" ]; then
  echo "setuid_env: FAIL: the setuid program wrote on stderr:"; cat "$dir/suid.stderr"; fail=1
fi
ls -A "$dir/out" | grep -q suid && { echo "setuid_env: FAIL: stray files: $(ls -A "$dir/out")"; fail=1; }
[ $fail = 0 ] && echo "setuid_env: the setuid program ignored ALLOCPROF_OUT, ALLOCPROF_STREAM, ALLOCPROF_RATE and ALLOC_STATS"
exit $fail
