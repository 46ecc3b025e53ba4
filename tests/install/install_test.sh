#!/bin/bash
# install_test.sh BUILD_DIR CASE: the installed allocprof works.
#
#   prefix  `cmake --install BUILD_DIR --prefix P` into a fresh P: every file
#           of cmake/install.cmake is there, the libraries in the LIBDIR the
#           build was configured with; P/bin/allocprof run profiles
#           /bin/ls at rate 1 (finding P's liballoc.so, which needs libc
#           alone, and liballoc_dump.so beside it; at rate 1 ls surely takes
#           a sample, and a process that took none writes no exit profile);
#           LD_PRELOAD of liballoc.so (a link) and of its real file both
#           find the dumping half; liballoc.so's soname is liballoc.so.1,
#           the headers are in include/allocprof/ and none at include/;
#           a program built with
#           `pkg-config --cflags --libs allocprof` links liballoc.so.1 and
#           dumps a profile that allocprof top and go tool pprof open; a CMake
#           project with find_package(allocprof) builds and runs the same
#           program
#   deb     `cpack -G DEB`: the package declares its dependencies and a
#           shlibs file, has its libraries in /usr/lib/<multiarch> and none
#           in /usr/lib, a DEP-5 copyright file and a changelog.gz made with
#           gzip -9n; its files, unpacked into a fresh root, work the same
#           way; lintian reports no error on it, and every warning it gives
#           is one README.md's Install section lists (77 when lintian is not
#           installed, after every other check)
set -u
build=$(readlink -f "$1")
case_=$2
src=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/allocprof-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install_test.$case_: FAIL: $*" >&2; exit 1; }

# check_tree P LIBDIR: the installed tree at P, with its libraries in
# P/LIBDIR, works
check_tree() {
  local p=$1 libdir=$2
  local l=$p/$libdir
  for f in bin/allocprof "$libdir/liballoc.so" "$libdir/liballoc.so.1" "$libdir/liballoc_dump.so" \
           include/allocprof/alloc.h include/allocprof/allocprof.h \
           "$libdir/pkgconfig/allocprof.pc" "$libdir/cmake/allocprof/allocprofConfig.cmake" \
           share/man/man1/allocprof.1.gz share/doc/allocprof/copyright share/doc/allocprof/changelog.gz; do
    [ -e "$p/$f" ] || fail "$f is not installed"
  done
  for f in include/alloc.h include/allocprof.h; do
    [ ! -e "$p/$f" ] || fail "$f is installed: the headers belong in include/allocprof/"
  done
  # the soname, and the links to one real file
  local soname
  soname=$(readelf -d "$l/liballoc.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
  [ "$soname" = liballoc.so.1 ] || fail "liballoc.so's soname is '$soname', not liballoc.so.1"
  [ -L "$l/liballoc.so" ] && [ -L "$l/liballoc.so.1" ] || fail "liballoc.so and liballoc.so.1 are not links"
  local real
  real=$(readlink -f "$l/liballoc.so")
  [ "$real" = "$(readlink -f "$l/liballoc.so.1")" ] && [ ! -L "$real" ] && [ "$(dirname "$real")" = "$(readlink -f "$l")" ] ||
    fail "liballoc.so and liballoc.so.1 do not lead to one file in $libdir"
  readelf -d "$l/liballoc_dump.so" | grep -q 'NEEDED.*\[liballoc\.so\.1\]' || fail "liballoc_dump.so does not need liballoc.so.1"
  # the lean preload: the installed liballoc.so needs libc alone, and the
  # profiler's half (found beside it) is loaded only by processes that dump
  local needed
  needed=$(readelf -d "$l/liballoc.so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | grep -v '^libc.so.6$' | grep -v '^ld-linux')
  [ -z "$needed" ] || fail "the installed liballoc.so needs $needed"
  # preloaded by its link and by its real file, liballoc finds its dumping
  # half beside the real file and writes the exit profile
  local pre
  for pre in "$l/liballoc.so" "$real"; do
    rm -f "$tmp/pre.pb.gz"
    ALLOCPROF_RATE=1 ALLOCPROF_OUT="$tmp/pre.pb.gz" LD_PRELOAD="$pre" /bin/ls / >/dev/null 2>"$tmp/pre.err" ||
      { cat "$tmp/pre.err" >&2; fail "LD_PRELOAD=$pre /bin/ls failed"; }
    [ -s "$tmp/pre.pb.gz" ] || { cat "$tmp/pre.err" >&2; fail "LD_PRELOAD=$pre wrote no profile"; }
  done
  (cd "$tmp" && env -u ALLOCPROF_LIB "$p/bin/allocprof" run --rate 1 -o "$tmp/ls.pb.gz" -- /bin/ls / >/dev/null 2>"$tmp/run.err") ||
    { cat "$tmp/run.err" >&2; fail "allocprof run -- /bin/ls failed"; }
  [ -s "$tmp/ls.pb.gz" ] || fail "allocprof run wrote no profile"
  "$p/bin/allocprof" top "$tmp/ls.pb.gz" >/dev/null || fail "allocprof top cannot read the run's profile"

  local flags
  flags=$(PKG_CONFIG_PATH="$l/pkgconfig" pkg-config --cflags --libs allocprof) || fail "pkg-config does not know allocprof"
  # shellcheck disable=SC2086
  cc -O1 -o "$tmp/consumer" "$src/consumer.c" $flags || fail "the pkg-config build failed"
  "$tmp/consumer" "$tmp/consumer.pb.gz" >/dev/null || fail "the pkg-config program failed ($?)"
  readelf -d "$tmp/consumer" | grep -q 'NEEDED.*\[liballoc\.so\.1\]' || fail "the program does not link liballoc.so.1"
  ldd "$tmp/consumer" | grep -q "$l/liballoc.so.1" || fail "the program does not load $l/liballoc.so.1"
  "$p/bin/allocprof" top "$tmp/consumer.pb.gz" | grep -q consumer_allocate ||
    fail "the program's profile does not name consumer_allocate"
  if command -v go >/dev/null; then
    go tool pprof -top "$tmp/consumer.pb.gz" 2>"$tmp/pprof.err" | grep -q consumer_allocate ||
      { cat "$tmp/pprof.err" >&2; fail "go tool pprof does not read the profile"; }
  fi

  cmake -S "$src" -B "$tmp/cm" -DCMAKE_PREFIX_PATH="$p" >"$tmp/cm.log" 2>&1 &&
    cmake --build "$tmp/cm" >>"$tmp/cm.log" 2>&1 || { cat "$tmp/cm.log" >&2; fail "find_package(allocprof) build failed"; }
  LD_LIBRARY_PATH="$l" "$tmp/cm/consumer" "$tmp/cm.pb.gz" >/dev/null || fail "the find_package program failed"
  [ -s "$tmp/cm.pb.gz" ] || fail "the find_package program wrote no profile"
}

# check_gz F: F is gzip -9n output (no file name, no time stamp: the same
# bytes at every build), and reads back
check_gz() {
  gzip -t "$1" 2>/dev/null || fail "$1 is not gzip"
  local flags mtime
  flags=$(od -An -tu1 -j3 -N1 "$1" | tr -d ' ')
  mtime=$(od -An -tu4 -j4 -N4 "$1" | tr -d ' ')
  [ $((flags & 8)) -eq 0 ] && [ "$mtime" = 0 ] || fail "$1 carries a name or a time stamp (not gzip -9n)"
}

case $case_ in
prefix)
  cmake --install "$build" --prefix "$tmp/p" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log" >&2; fail "cmake --install failed"; }
  libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:[A-Z]*=//p' "$build/CMakeCache.txt")
  check_tree "$tmp/p" "${libdir:-lib}"
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
  version=$(dpkg-deb -f "$deb" Version)
  # packages that link liballoc.so.1 get their dependency from our shlibs
  dpkg-deb -I "$deb" shlibs 2>/dev/null | grep -q "^liballoc 1 allocprof (>= $version)" ||
    fail "no shlibs line for liballoc.so.1: $(dpkg-deb -I "$deb" shlibs 2>&1)"
  # the libraries in the multiarch directory, nothing in /usr/lib itself
  multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
  dpkg-deb -c "$deb" | awk '{print $6}' >"$tmp/files"
  grep -q "^\./usr/lib/$multiarch/liballoc\.so\.1$" "$tmp/files" || fail "no /usr/lib/$multiarch/liballoc.so.1 in the package"
  stray=$(grep -E '^\./usr/lib/[^/]+$' "$tmp/files")
  [ -z "$stray" ] || fail "files in /usr/lib outside the multiarch directory: $stray"
  dpkg-deb -x "$deb" "$tmp/root" || fail "dpkg-deb -x failed"
  doc=$tmp/root/usr/share/doc/allocprof
  # DEP-5: the format line, a Files paragraph and its License
  head -1 "$doc/copyright" | grep -q '^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/$' &&
    grep -q '^Files: \*$' "$doc/copyright" && grep -q '^License: ' "$doc/copyright" ||
    fail "usr/share/doc/allocprof/copyright is not a DEP-5 copyright file"
  check_gz "$doc/changelog.gz"
  check_gz "$tmp/root/usr/share/man/man1/allocprof.1.gz"
  zcat "$doc/changelog.gz" | head -1 | grep -q "^allocprof ($version) " ||
    fail "the changelog's first entry is not version $version"
  # the package's prefix is /usr; its tree works from wherever it is unpacked,
  # except the .pc file, which names /usr: point pkg-config at the copy
  sed -i "s|^prefix=.*|prefix=$tmp/root/usr|; s|^Libs: -L\${libdir} |Libs: -L\${libdir} -Wl,-rpath,\${libdir} |" \
    "$tmp/root/usr/lib/$multiarch/pkgconfig/allocprof.pc"
  check_tree "$tmp/root/usr" "lib/$multiarch"
  echo "install_test.deb: $(basename "$deb"): Depends: $depends"

  # lintian: no error, and each warning one that README says why we keep
  command -v lintian >/dev/null || { echo "install_test.deb: no lintian; its check skipped"; exit 77; }
  lintian --tag-display-limit 0 "$deb" >"$tmp/lintian.out" 2>&1
  rc=$?
  grep -v '^running with root privileges' "$tmp/lintian.out"
  grep -q '^E: ' "$tmp/lintian.out" && fail "lintian reports errors"
  [ $rc -eq 0 ] || fail "lintian failed ($rc)"
  install_section=$(sed -n '/^## Install/,/^## /p' "$src/../../README.md")
  for tag in $(sed -n 's/^W: [^ ]*: \([a-z0-9-]*\).*/\1/p' "$tmp/lintian.out" | sort -u); do
    echo "$install_section" | grep -q -- "\`$tag\`" || fail "lintian warns $tag, which README.md's Install section does not list"
  done
  ;;
*)
  echo "usage: install_test.sh BUILD_DIR prefix|deb" >&2
  exit 2
  ;;
esac
echo "install_test.$case_: ok"
