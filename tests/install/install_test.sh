#!/bin/bash
# install_test.sh BUILD_DIR CASE: the installed allocprof works.
#
#   prefix  `cmake --install BUILD_DIR --prefix P` into a fresh P: every file
#           of cmake/install.cmake is there; P/bin/allocprof run profiles
#           /bin/ls at rate 1 (finding P's liballoc.so, which needs libc
#           alone, and liballoc_dump.so beside it; at rate 1 ls surely takes
#           a sample, and a process that took none writes no exit profile);
#           a program built with
#           `pkg-config --cflags --libs allocprof` links liballoc and dumps a
#           profile that allocprof top and go tool pprof open; a CMake project
#           with find_package(allocprof) builds and runs the same program
#   deb     `cpack -G DEB`: the package declares its dependencies, and its
#           files, unpacked into a fresh root, work the same way
set -u
build=$(readlink -f "$1")
case_=$2
src=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/allocprof-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install_test.$case_: FAIL: $*" >&2; exit 1; }

# check_tree P: the installed tree at P works
check_tree() {
  local p=$1
  for f in bin/allocprof lib/liballoc.so lib/liballoc_dump.so include/alloc.h include/allocprof.h \
           lib/pkgconfig/allocprof.pc lib/cmake/allocprof/allocprofConfig.cmake \
           share/man/man1/allocprof.1; do
    [ -e "$p/$f" ] || fail "$f is not installed"
  done
  # the lean preload: the installed liballoc.so needs libc alone, and the
  # profiler's half (found beside it) is loaded only by processes that dump
  local needed
  needed=$(readelf -d "$p/lib/liballoc.so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | grep -v '^libc.so.6$' | grep -v '^ld-linux')
  [ -z "$needed" ] || fail "the installed liballoc.so needs $needed"
  (cd "$tmp" && env -u ALLOCPROF_LIB "$p/bin/allocprof" run --rate 1 -o "$tmp/ls.pb.gz" -- /bin/ls / >/dev/null 2>"$tmp/run.err") ||
    { cat "$tmp/run.err" >&2; fail "allocprof run -- /bin/ls failed"; }
  [ -s "$tmp/ls.pb.gz" ] || fail "allocprof run wrote no profile"
  "$p/bin/allocprof" top "$tmp/ls.pb.gz" >/dev/null || fail "allocprof top cannot read the run's profile"

  local flags
  flags=$(PKG_CONFIG_PATH="$p/lib/pkgconfig" pkg-config --cflags --libs allocprof) || fail "pkg-config does not know allocprof"
  # shellcheck disable=SC2086
  cc -O1 -o "$tmp/consumer" "$src/consumer.c" $flags || fail "the pkg-config build failed"
  "$tmp/consumer" "$tmp/consumer.pb.gz" >/dev/null || fail "the pkg-config program failed ($?)"
  ldd "$tmp/consumer" | grep -q "$p/lib/liballoc.so" || fail "the program does not load $p/lib/liballoc.so"
  "$p/bin/allocprof" top "$tmp/consumer.pb.gz" | grep -q consumer_allocate ||
    fail "the program's profile does not name consumer_allocate"
  if command -v go >/dev/null; then
    go tool pprof -top "$tmp/consumer.pb.gz" 2>"$tmp/pprof.err" | grep -q consumer_allocate ||
      { cat "$tmp/pprof.err" >&2; fail "go tool pprof does not read the profile"; }
  fi

  cmake -S "$src" -B "$tmp/cm" -DCMAKE_PREFIX_PATH="$p" >"$tmp/cm.log" 2>&1 &&
    cmake --build "$tmp/cm" >>"$tmp/cm.log" 2>&1 || { cat "$tmp/cm.log" >&2; fail "find_package(allocprof) build failed"; }
  LD_LIBRARY_PATH="$p/lib" "$tmp/cm/consumer" "$tmp/cm.pb.gz" >/dev/null || fail "the find_package program failed"
  [ -s "$tmp/cm.pb.gz" ] || fail "the find_package program wrote no profile"
}

case $case_ in
prefix)
  cmake --install "$build" --prefix "$tmp/p" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log" >&2; fail "cmake --install failed"; }
  check_tree "$tmp/p"
  ;;
deb)
  command -v dpkg-shlibdeps >/dev/null || { echo "install_test: no dpkg-shlibdeps (dpkg-dev); skipped"; exit 77; }
  (cd "$tmp" && cpack -G DEB --config "$build/CPackConfig.cmake" >"$tmp/cpack.log" 2>&1) || { cat "$tmp/cpack.log" >&2; fail "cpack failed"; }
  deb=$(ls "$tmp"/*.deb 2>/dev/null | head -1)
  [ -n "$deb" ] || fail "no .deb made"
  depends=$(dpkg-deb -f "$deb" Depends)
  for lib in libc6 libunwind8 libzstd1 zlib1g libprotobuf-c1 libdw1; do
    echo "$depends" | grep -q "$lib" || fail "Depends does not name $lib: $depends"
  done
  dpkg-deb -x "$deb" "$tmp/root" || fail "dpkg-deb -x failed"
  # the package's prefix is /usr; its tree works from wherever it is unpacked,
  # except the .pc file, which names /usr: point pkg-config at the copy
  sed -i "s|^prefix=.*|prefix=$tmp/root/usr|; s|^Libs: -L\${libdir} |Libs: -L\${libdir} -Wl,-rpath,\${libdir} |" \
    "$tmp/root/usr/lib/pkgconfig/allocprof.pc"
  check_tree "$tmp/root/usr"
  echo "install_test.deb: $(basename "$deb"): Depends: $depends"
  ;;
*)
  echo "usage: install_test.sh BUILD_DIR prefix|deb" >&2
  exit 2
  ;;
esac
echo "install_test.$case_: ok"
