/* override.c: the C allocation ABI as thin aliases of the internal entry
 * points (alloc_entry.h). Linked into liballoc.so only, never into the unit
 * tests, which call the alloc_* names directly. Every symbol glibc programs
 * use to get or release heap memory is here, so that no pointer from glibc's
 * allocator ever reaches ours or the reverse, including the __libc_* names
 * some programs and libraries call to bypass interposition. The C++
 * operators are in override_cxx.c. Overview: malloc.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "alloc_entry.h"
#include "internal.h"
#include "override.h"

#define EXPORT ALLOC_EXPORT

EXPORT void *malloc(size_t size) { return alloc_malloc(size); }
EXPORT void free(void *p) { alloc_free(p); }
EXPORT void *calloc(size_t n, size_t size) { return alloc_calloc(n, size); }
EXPORT void *realloc(void *p, size_t size) { return alloc_realloc(p, size); }
EXPORT void *reallocarray(void *p, size_t n, size_t size) { return alloc_reallocarray(p, n, size); }
EXPORT int posix_memalign(void **out, size_t align, size_t size) {
  return alloc_posix_memalign(out, align, size);
}
EXPORT void *aligned_alloc(size_t align, size_t size) { return alloc_aligned_alloc(align, size); }
EXPORT void *memalign(size_t align, size_t size) { return alloc_memalign(align, size); }
EXPORT void *valloc(size_t size) { return alloc_valloc(size); }
EXPORT void *pvalloc(size_t size) { return alloc_pvalloc(size); }
EXPORT size_t malloc_usable_size(void *p) { return alloc_usable_size(p); }
EXPORT void cfree(void *p) { alloc_free(p); }
/* C23 */
EXPORT void free_sized(void *p, size_t size) { alloc_free_sized(p, size); }
EXPORT void free_aligned_sized(void *p, size_t align, size_t size) {
  (void)align;
  alloc_free_sized(p, size);
}

/* glibc's internal names, used by some programs and by libraries that want
 * "the real malloc". */
EXPORT void *__libc_malloc(size_t size) { return alloc_malloc(size); }
EXPORT void __libc_free(void *p) { alloc_free(p); }
EXPORT void *__libc_calloc(size_t n, size_t size) { return alloc_calloc(n, size); }
EXPORT void *__libc_realloc(void *p, size_t size) { return alloc_realloc(p, size); }
EXPORT void *__libc_memalign(size_t align, size_t size) { return alloc_memalign(align, size); }
EXPORT void *__libc_valloc(size_t size) { return alloc_valloc(size); }
EXPORT void *__libc_pvalloc(size_t size) { return alloc_pvalloc(size); }
EXPORT int __posix_memalign(void **out, size_t align, size_t size) {
  return alloc_posix_memalign(out, align, size);
}

/* glibc's malloc control and introspection, answered from our own state. */
EXPORT int malloc_trim(size_t pad) {
  (void)pad;
  return alloc_release_free_memory() > 0;
}

EXPORT int mallopt(int param, int value) {
  (void)param;
  (void)value;
  return 1; /* accepted; glibc's tunables do not apply to this allocator */
}

EXPORT struct mallinfo2 mallinfo2(void) {
  struct alloc_stats st;
  alloc_get_stats(&st);
  struct mallinfo2 mi;
  memset(&mi, 0, sizeof mi);
  mi.arena = st.mapped;
  mi.hblkhd = st.large_in_use;
  mi.uordblks = st.in_use;
  mi.fordblks = st.heap_free;
  mi.keepcost = st.released;
  return mi;
}

EXPORT struct mallinfo mallinfo(void) {
  struct mallinfo2 m2 = mallinfo2();
  struct mallinfo mi;
  memset(&mi, 0, sizeof mi);
  mi.arena = (int)m2.arena;
  mi.hblkhd = (int)m2.hblkhd;
  mi.uordblks = (int)m2.uordblks;
  mi.fordblks = (int)m2.fordblks;
  mi.keepcost = (int)m2.keepcost;
  return mi;
}

EXPORT void malloc_stats(void) { alloc_print_stats(2); }

EXPORT int malloc_info(int options, FILE *fp) {
  if (options != 0) {
    errno = EINVAL;
    return -1;
  }
  struct alloc_stats st;
  alloc_get_stats(&st);
  fprintf(fp,
          "<malloc version=\"liballoc-1\">\n<total type=\"mapped\" size=\"%llu\"/>\n"
          "<total type=\"in_use\" size=\"%llu\"/>\n<total type=\"released\" "
          "size=\"%llu\"/>\n</malloc>\n",
          (unsigned long long)st.mapped, (unsigned long long)st.in_use,
          (unsigned long long)st.released);
  return 0;
}
