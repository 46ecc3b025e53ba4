#!/bin/bash
# dumplib_load.sh LIBALLOC LINKED PLAIN ABI_LIB REENTER_LIB CASE CTOR_LIB:
# attacks on the loading of liballoc_dump.so (liballoc/mprof_dumper.c).
# LINKED and PLAIN are dumplib_load.c linked against liballoc.so and not;
# ABI_LIB and REENTER_LIB are dumplib_foreign.c's impostors; CTOR_LIB is
# dumplib_ctor.c. The cases:
#   threads      16 threads make the first allocprof_dump at once, 40 times
#   fork         fork in a loop during the first allocprof_dump, 6 times:
#                every child writes a profile (the children are counted)
#   ctorfork     a library constructor holding the loader's lock forks while
#                another thread's first allocprof_dump waits for that lock
#   signal       a malloc'ing signal handler runs during the first dump
#   relative     LD_PRELOAD=lib/liballoc.so from the directory above, the
#                program chdir()s before its first dump: the library is found
#   symlink      liballoc.so reached through a symbolic link in another
#                directory (absolute and relative links): liballoc_dump.so is
#                the one beside the link's target, the file liballoc.so is
#   preinit      the first allocprof_dump from the program's .preinit_array,
#                before liballoc's constructor has run: the library is found
#   setuid       a setuid program with ALLOCPROF_* set maps no
#                liballoc_dump.so; its own allocprof_dump loads the one beside
#                liballoc.so (root only, else 77)
#   abi          a liballoc_dump.so registering a hook of ABI 999: one line,
#                profiling off, the program runs; at load and at first dump
#   other_build  the real liballoc_dump.so of another build (ABI_LIB is
#                libprof's alloc_dump_other_build, the same code with the build
#                identity of another, liballoc/build_id.cmake): one line that
#                says so, profiling off, the program runs
#   reenter      a liballoc_dump.so whose constructor calls allocprof_dump:
#                no deadlock, one line
#   dlopen       the program dlopen()s liballoc.so and dumps through dlsym
#                (RTLD_LOCAL, RTLD_GLOBAL, and with ALLOCPROF_OUT set), then
#                dlclose()s it: a profile or one clear line, never a crash
#                (liballoc is then not the process's malloc: one line)
set -u
lib=$(realpath -s "$1") # absolute; liballoc.so, not the versioned file it links to
linked=$2 plain=$3 abi_lib=$4 reenter_lib=$5 case_=$6 ctor_lib=${7:-}
libdir=$(dirname "$lib")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/allocprof-dumplib.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "dumplib_load $case_: FAIL: $*" >&2; exit 1; }
# lines FILE: its number of lines
lines() { wc -l <"$1"; }
# one_line FILE WHAT: FILE holds exactly one line
one_line() {
  [ "$(lines "$1")" -eq 1 ] || { cat "$1" >&2; fail "$2: not exactly one line on stderr"; }
}
# quiet FILE WHAT: FILE is empty
quiet() { [ ! -s "$1" ] || { cat "$1" >&2; fail "$2: unexpected output on stderr"; }; }

case $case_ in
threads)
  env -u ALLOCPROF_OUT -u ALLOCPROF_RATE "$linked" threads 16 40 "$tmp" 2>"$tmp/err" ||
    { cat "$tmp/err" >&2; fail "a round failed"; }
  quiet "$tmp/err" threads
  ;;
fork)
  mkdir "$tmp/out"
  ALLOCPROF_RATE=4096 "$linked" fork 6 "$tmp/out" >"$tmp/log" 2>"$tmp/err"
  rc=$?
  cat "$tmp/log"
  [ $rc -eq 0 ] || { cat "$tmp/err" >&2; fail "a round failed"; }
  grep -q "[1-9][0-9]* children forked during" "$tmp/log" || fail "no child was forked during a first dump"
  # every child wrote its profile (dumplib_load.c checks each round; this
  # checks the count it printed, so a round that forked none cannot pass)
  awk '/^fork round/ { n++; if ($11 + 0 < 4) bad = 1; if ($13 + 0 != 0) bad = 1 }
       END { exit !(n == 6 && !bad) }' "$tmp/log" || fail "a round with fewer than 4 profiles or a clean error"
  ;;
ctorfork)
  mkdir "$tmp/out"
  ALLOCPROF_RATE=4096 "$linked" ctorfork "$tmp/out" "$ctor_lib" >"$tmp/log" 2>"$tmp/err"
  rc=$?
  cat "$tmp/log"
  [ $rc -eq 0 ] || { cat "$tmp/err" >&2; fail "ctorfork failed ($rc)"; }
  grep -q "^ctorfork: 8 children forked inside the constructor, 8 profiles; the parent's dump 0" "$tmp/log" ||
    fail "not every profile was written"
  quiet "$tmp/err" ctorfork
  ;;
signal)
  ALLOCPROF_RATE=1 "$linked" signal "$tmp" 2>"$tmp/err" || { cat "$tmp/err" >&2; fail "signal mode failed"; }
  quiet "$tmp/err" signal
  ;;
relative)
  mkdir -p "$tmp/app/lib"
  cp "$lib" "$libdir/liballoc_dump.so" "$tmp/app/lib/"
  (cd "$tmp/app" && LD_PRELOAD=lib/liballoc.so "$plain" chdir "$tmp") 2>"$tmp/err" ||
    { cat "$tmp/err" >&2; fail "the dump after chdir failed"; }
  quiet "$tmp/err" relative
  # LD_LIBRARY_PATH relative too: the loader's name is then ./lib/liballoc.so
  (cd "$tmp/app" && LD_LIBRARY_PATH=lib LD_PRELOAD=liballoc.so "$plain" chdir "$tmp") 2>"$tmp/err2" ||
    { cat "$tmp/err2" >&2; fail "the dump after chdir failed (LD_LIBRARY_PATH=lib)"; }
  quiet "$tmp/err2" relative
  ;;
preinit)
  env -u ALLOCPROF_OUT "$linked" preinit "$tmp" 2>"$tmp/err" || { cat "$tmp/err" >&2; fail "preinit failed"; }
  quiet "$tmp/err" preinit
  ;;
symlink)
  # the pair lives in real/, the operator links liballoc.so from elsewhere
  mkdir -p "$tmp/real" "$tmp/links" "$tmp/app"
  cp "$lib" "$libdir/liballoc_dump.so" "$tmp/real/"
  ln -s "$tmp/real/liballoc.so" "$tmp/links/abs.so"
  ln -s ../real/liballoc.so "$tmp/links/liballoc.so"
  for l in "$tmp/links/abs.so" "$tmp/links/liballoc.so"; do
    LD_PRELOAD="$l" "$plain" maps "$tmp" >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/err" >&2; fail "$l: failed"; }
    quiet "$tmp/err" "$l"
    grep -q "^dump=0" "$tmp/out" || fail "$l: the dump failed"
    grep -qx "dumplib=$tmp/real/liballoc_dump.so" "$tmp/out" ||
      { cat "$tmp/out" >&2; fail "$l: liballoc_dump.so not taken from beside the link's target"; }
  done
  # a liballoc_dump.so beside the link only is not the pair of liballoc.so:
  # one line, as when it is missing
  ln -s "$tmp/real/liballoc.so" "$tmp/app/liballoc.so"
  ln -s "$tmp/real/liballoc_dump.so" "$tmp/app/liballoc_dump.so"
  rm "$tmp/real/liballoc_dump.so"
  LD_PRELOAD="$tmp/app/liballoc.so" "$plain" maps "$tmp" >"$tmp/out" 2>"$tmp/err" || fail "program failed"
  one_line "$tmp/err" "the dump library missing beside the target"
  grep -q "profiling unavailable" "$tmp/err" || fail "the line does not say profiling is unavailable"
  grep -qx "dumplib=none" "$tmp/out" || fail "a liballoc_dump.so was loaded: $(cat "$tmp/out")"
  ;;
setuid)
  [ "$(id -u)" = 0 ] || { echo "setuid: needs root; skipped"; exit 77; }
  command -v setpriv >/dev/null || { echo "setuid: no setpriv; skipped"; exit 77; }
  chmod 755 "$tmp"
  mkdir "$tmp/out" "$tmp/evil" && chmod 1777 "$tmp/out" "$tmp/evil"
  cp "$linked" "$tmp/plain" && cp "$linked" "$tmp/suid"
  chown root:root "$tmp/plain" "$tmp/suid" && chmod 755 "$tmp/plain" && chmod 4755 "$tmp/suid"
  # an attacker's library everywhere the environment could point
  cp "$abi_lib" "$tmp/evil/liballoc_dump.so" && cp "$abi_lib" "$tmp/evil/liballoc.so"
  # as_nobody NAME ARGS...: from the attacker's directory, with every
  # ALLOCPROF_* trigger set and, for the setuid copy, LD_LIBRARY_PATH there
  # too (the plain copy would rightly load the impostor liballoc.so)
  as_nobody() {
    local name=$1 llp=
    shift
    [ "$name" = suid ] && llp=$tmp/evil
    (cd "$tmp/evil" && setpriv --reuid=65534 --regid=65534 --clear-groups env \
      ALLOCPROF_RATE=1 ALLOCPROF_OUT="$tmp/out/$name.pb.gz" ALLOCPROF_STREAM="$tmp/out/$name.st" \
      ALLOCPROF_SIGNAL=USR2 ALLOCPROF_INTERVAL=1 ${llp:+LD_LIBRARY_PATH=$llp} \
      "$tmp/$name" "$@")
  }
  as_nobody plain maps >"$tmp/plain.out" 2>"$tmp/plain.err" || fail "the plain copy failed"
  grep -qx "dumplib=$libdir/liballoc_dump.so" "$tmp/plain.out" ||
    { cat "$tmp/plain.out" "$tmp/plain.err" >&2; fail "the plain copy did not load liballoc_dump.so"; }
  as_nobody suid maps >"$tmp/suid.out" 2>"$tmp/suid.err" || fail "the setuid copy failed"
  grep -qx "secure=1" "$tmp/suid.out" ||
    { echo "setuid: the setuid bit was not honoured here (nosuid mount?); skipped"; exit 77; }
  grep -qx "dumplib=none" "$tmp/suid.out" ||
    { cat "$tmp/suid.out" >&2; fail "a setuid program with ALLOCPROF_* set loaded a dumping half"; }
  quiet "$tmp/suid.err" "setuid"
  ls -A "$tmp/out" | grep -q suid && fail "the setuid program wrote $(ls -A "$tmp/out")"
  # its own call loads the library beside liballoc.so, never one from the environment
  as_nobody suid maps "$tmp/out" >"$tmp/suid2.out" 2>"$tmp/suid2.err" || fail "the setuid copy failed"
  grep -qx "dumplib=$libdir/liballoc_dump.so" "$tmp/suid2.out" ||
    { cat "$tmp/suid2.out" "$tmp/suid2.err" >&2; fail "the setuid program's own dump loaded another library"; }
  ;;
abi | reenter | other_build)
  impostor=$abi_lib
  [ "$case_" = reenter ] && impostor=$reenter_lib
  mkdir "$tmp/d" && cp "$lib" "$tmp/d/" && cp "$impostor" "$tmp/d/liballoc_dump.so"
  # at load, asked for by ALLOCPROF_OUT
  out=$(ALLOCPROF_OUT="$tmp/p.pb.gz" LD_PRELOAD="$tmp/d/liballoc.so" sh -c 'echo ran; exit 7' 2>"$tmp/err1")
  rc=$?
  [ $rc -eq 7 ] && [ "$out" = ran ] || fail "at load: the program did not run as usual ($rc, $out)"
  one_line "$tmp/err1" "at load"
  [ ! -e "$tmp/p.pb.gz" ] || fail "at load: a profile was written"
  # at the first allocprof_dump (maps dumps once; the line comes once)
  LD_PRELOAD="$tmp/d/liballoc.so" "$plain" maps "$tmp" >"$tmp/out" 2>"$tmp/err2" || fail "at dump: the program failed"
  one_line "$tmp/err2" "at dump"
  grep -q "^dump=-1" "$tmp/out" || fail "at dump: allocprof_dump did not fail"
  if [ "$case_" = other_build ]; then
    grep -q "of another build than liballoc" "$tmp/err1" "$tmp/err2" ||
      { cat "$tmp/err1" "$tmp/err2" >&2; fail "the line does not say the dumping half is of another build"; }
  fi
  echo "$(cat "$tmp/err1")"
  ;;
dlopen)
  for flags in local global; do
    env -u ALLOCPROF_OUT "$plain" dlopen "$lib" $flags "$tmp" >"$tmp/$flags.out" 2>"$tmp/$flags.err"
    rc=$?
    cat "$tmp/$flags.out"
    [ $rc -eq 0 ] || { cat "$tmp/$flags.err" >&2; fail "$flags: the program failed ($rc)"; }
    if grep -q "^dump=0" "$tmp/$flags.out"; then
      grep -q "file=1" "$tmp/$flags.out" || fail "$flags: success but no profile"
      grep -qx "again=0" "$tmp/$flags.out" || fail "$flags: the second dump failed"
      quiet "$tmp/$flags.err" "$flags"
    else
      one_line "$tmp/$flags.err" "$flags"
      grep -q "profiling unavailable" "$tmp/$flags.err" || fail "$flags: the line does not say profiling is unavailable"
      grep -qx "again=-1" "$tmp/$flags.out" || fail "$flags: the second dump did not fail alike"
    fi
  done
  # the constructor loads the dumping half inside the program's dlopen
  ALLOCPROF_OUT="$tmp/out.%p.pb.gz" "$plain" dlopen "$lib" local "$tmp" >"$tmp/out.out" 2>"$tmp/out.err"
  rc=$?
  cat "$tmp/out.out"
  [ $rc -eq 0 ] || { cat "$tmp/out.err" >&2; fail "with ALLOCPROF_OUT: the program failed ($rc)"; }
  [ "$(lines "$tmp/out.err")" -le 1 ] || { cat "$tmp/out.err" >&2; fail "with ALLOCPROF_OUT: more than one line"; }
  ;;
*)
  fail "unknown case"
  ;;
esac
echo "dumplib_load $case_: ok"
