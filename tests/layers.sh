#!/bin/bash
# layers.sh: the layers of the code run one way (liballoc/mprof.h, "The
# hook"). Fails, naming the culprit, when:
#   - a file in liballoc/ includes a header of libprof/;
#   - the allocator's core (liballoc_core.a) calls or reads a symbol that
#     libprof defines: liballoc reaches libprof only through the hook that
#     libprof registers, a pointer, never a symbol;
#   - liballoc.so needs a library other than libc and the loader;
#   - liballoc.so exports a symbol outside its public API and the
#     functions it lends the dumping half (ALLOC_FOR_DUMPER).
# usage: layers.sh SOURCE_DIR liballoc_core.a libprof_dump.a liballoc.so [SANITIZER]
# Under a sanitizer (ALLOC_SANITIZE), liballoc.so also needs the
# sanitizer's runtime and what that needs (libgcc_s, libstdc++, libm): then
# only the dumping half's libraries are refused.
set -u
src=$1 core=$2 dump=$3 so=$4 sanitizer=${5:-}
fail=0
bad() { echo "layers: $*"; fail=1; }

# 1. includes
for h in "$src"/libprof/*.h; do
  name=$(basename "$h")
  hits=$(grep -ln "#include \"$name\"" "$src"/liballoc/*.[ch] 2>/dev/null)
  for f in $hits; do bad "liballoc/$(basename "$f") includes libprof's $name"; done
done

# 2. symbols: what the core needs from outside itself must not be libprof's
defined_core=$(nm -g --defined-only "$core" 2>/dev/null | awk 'NF==3 {print $3}' | sort -u)
undef_core=$(nm -u "$core" 2>/dev/null | awk '{print $NF}' | sort -u)
defined_dump=$(nm -g --defined-only "$dump" 2>/dev/null | awk 'NF==3 {print $3}' | sort -u)
[ -n "$defined_core" ] && [ -n "$defined_dump" ] || bad "cannot read the symbols of $core or $dump"
outside=$(comm -23 <(echo "$undef_core") <(echo "$defined_core"))
for s in $(comm -12 <(echo "$outside") <(echo "$defined_dump")); do
  bad "the allocator's core uses libprof's $s (liballoc must reach libprof only through its hook)"
done

# 3. what liballoc.so needs
for lib in $(readelf -d "$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
  case $lib in
    libc.so.6 | ld-linux-*.so.*) ;;
    libprotobuf-c* | libzstd* | libz.so* | libdw* | libelf* | libunwind* | liblzma* | libbz2* | liballoc_dump*)
      bad "liballoc.so needs $lib, a library of the dumping half" ;;
    *) [ -n "$sanitizer" ] || bad "liballoc.so needs $lib (only libc and the loader allowed)" ;;
  esac
done

# 4. what liballoc.so exports
for s in $(nm -D --defined-only "$so" | awk 'NF==3 {print $3}'); do
  case $s in
    malloc | free | calloc | realloc | reallocarray | posix_memalign | aligned_alloc | memalign | \
      valloc | pvalloc | malloc_usable_size | cfree | malloc_trim | mallinfo | mallinfo2 | mallopt | \
      malloc_stats | malloc_info | __posix_memalign | free_sized | free_aligned_sized) ;;
    allocprof_* | alloc_* | mprof_*) ;;
    _Z*) ;;                                        # operator new/delete
    mallocx | rallocx | xallocx | sallocx | dallocx | sdallocx | nallocx | mallctl | \
      mallctlnametomib | mallctlbymib | malloc_stats_print | malloc_message) ;; # jemalloc's names
    tc_* | MallocExtension_* | malloc_size | HeapProfiler* | IsHeapProfilerRunning | \
      GetHeapProfile | ProfilingIsEnabledForAllThreads | RunningOnValgrind | \
      TCMallocGetenvSafe) ;;                       # tcmalloc's (override_tcmalloc.c)
    _init | _fini | __libc_*) ;;
    *) bad "liballoc.so exports $s (not in the public API nor lent to the dumping half)" ;;
  esac
done

[ $fail -eq 0 ] && echo "layers: liballoc needs only libc, and reaches libprof only through its hook"
exit $fail
