/* override_compat.c: the non-standard entry points of jemalloc and tcmalloc,
 * with liballoc's meaning. Overview: malloc.c; the standard ABI is in
 * override.c and override_cxx.c.
 *
 * Programs built against jemalloc or tcmalloc call these directly (Debian's
 * redis calls nallocx, sdallocx and mallctl). Under LD_PRELOAD, liballoc.so
 * comes first in the lookup order, so without these names such calls would
 * still reach the other allocator: it would report its own, empty heap, and
 * a dallocx or sdallocx would hand one of our blocks to it. Every name here
 * answers from our heap instead:
 *
 *   jemalloc   mallocx rallocx xallocx sallocx dallocx sdallocx nallocx;
 *              its control and statistics calls (mallctl, malloc_stats_print)
 *              are in override_mallctl.c
 *   tcmalloc   the tc_* C names, and the MallocExtension C entry points that
 *              read numbers or release memory
 *
 * jemalloc's flags: the low 6 bits are log2 of the alignment (0: none),
 * 0x40 asks for zeroed memory; the thread-cache and arena bits mean nothing
 * here and are ignored. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "alloc_entry.h"
#include "internal.h"
#include "override.h"

#define EXPORT ALLOC_EXPORT

#define MALLOCX_LG_ALIGN_MASK 0x3f
#define MALLOCX_ZERO 0x40

static size_t flags_align(int flags) {
  unsigned lg = (unsigned)flags & MALLOCX_LG_ALIGN_MASK;
  return lg == 0 || lg >= 8 * sizeof(size_t) ? 0 : (size_t)1 << lg;
}

/* ---- jemalloc ------------------------------------------------------------------ */

static void *alloc_with_flags(size_t size, int flags) {
  size_t align = flags_align(flags);
  if (align == 0) return flags & MALLOCX_ZERO ? alloc_calloc(1, size) : alloc_malloc(size);
  void *p = alloc_memalign(align, size);
  if (p != NULL && (flags & MALLOCX_ZERO)) memset(p, 0, alloc_usable_size(p));
  return p;
}

EXPORT void *mallocx(size_t size, int flags) { return alloc_with_flags(size, flags); }

EXPORT size_t nallocx(size_t size, int flags) { return alloc_good_size(size, flags_align(flags)); }

EXPORT size_t sallocx(const void *p, int flags) {
  (void)flags;
  return alloc_usable_size(p);
}

EXPORT void dallocx(void *p, int flags) {
  (void)flags;
  alloc_free(p);
}

EXPORT void sdallocx(void *p, size_t size, int flags) {
  (void)flags;
  alloc_free_sized(p, size);
}

/* realloc with jemalloc's flags: NULL on failure with p untouched; the
 * bytes past the old size are zero when MALLOCX_ZERO asks for it. */
EXPORT void *rallocx(void *p, size_t size, int flags) {
  size_t align = flags_align(flags);
  size_t old = alloc_usable_size(p);
  void *q;
  if (align == 0 || ((uintptr_t)p & (align - 1)) == 0) {
    q = alloc_realloc(p, size == 0 ? 1 : size);
    if (q != NULL && ((uintptr_t)q & (align ? align - 1 : 0)) != 0) {
      /* realloc moved it to a block without the alignment: move again */
      void *r = alloc_with_flags(size, flags & ~MALLOCX_ZERO);
      if (r == NULL) return NULL; /* q holds the data; jemalloc's contract is lost either way */
      memcpy(r, q, size < old ? size : old);
      alloc_free(q);
      q = r;
    }
  } else {
    q = alloc_with_flags(size, flags & ~MALLOCX_ZERO);
    if (q == NULL) return NULL;
    memcpy(q, p, size < old ? size : old);
    alloc_free(p);
  }
  if (q != NULL && (flags & MALLOCX_ZERO)) {
    size_t now = alloc_usable_size(q);
    if (now > old) memset((char *)q + old, 0, now - old);
  }
  return q;
}

/* Resize in place: the block never moves, so the answer is its usable size,
 * which already holds everything it can. */
EXPORT size_t xallocx(void *p, size_t size, size_t extra, int flags) {
  (void)size, (void)extra, (void)flags;
  return alloc_usable_size(p);
}

/* ---- tcmalloc ------------------------------------------------------------------- */

EXPORT void *tc_malloc(size_t size) { return alloc_malloc(size); }
EXPORT void *tc_malloc_skip_new_handler(size_t size) { return alloc_malloc(size); }
EXPORT void tc_free(void *p) { alloc_free(p); }
EXPORT void tc_free_sized(void *p, size_t size) { alloc_free_sized(p, size); }
EXPORT void *tc_realloc(void *p, size_t size) { return alloc_realloc(p, size); }
EXPORT void *tc_calloc(size_t n, size_t size) { return alloc_calloc(n, size); }
EXPORT void tc_cfree(void *p) { alloc_free(p); }
EXPORT void *tc_memalign(size_t align, size_t size) { return alloc_memalign(align, size); }
EXPORT int tc_posix_memalign(void **out, size_t align, size_t size) {
  return alloc_posix_memalign(out, align, size);
}
EXPORT void *tc_valloc(size_t size) { return alloc_valloc(size); }
EXPORT void *tc_pvalloc(size_t size) { return alloc_pvalloc(size); }
EXPORT size_t tc_malloc_size(void *p) { return alloc_usable_size(p); }
EXPORT size_t tc_nallocx(size_t size, int flags) { return nallocx(size, flags); }
EXPORT int tc_mallopt(int cmd, int value) {
  (void)cmd, (void)value;
  return 1;
}
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations" /* tcmalloc still has it */
EXPORT struct mallinfo tc_mallinfo(void) { return mallinfo(); }
#pragma GCC diagnostic pop
EXPORT void tc_malloc_stats(void) { alloc_print_stats(2); }
EXPORT int tc_set_new_mode(int flag) {
  (void)flag;
  return 0; /* malloc never calls the C++ new-handler here */
}
EXPORT const char *tc_version(int *major, int *minor, const char **patch) {
  if (major != NULL) *major = 2;
  if (minor != NULL) *minor = 10;
  if (patch != NULL) *patch = "";
  return "liballoc (tcmalloc-compatible entry points)";
}

/* MallocExtension's C entry points that read numbers or release memory.
 * Properties: generic.current_allocated_bytes, generic.heap_size,
 * tcmalloc.pageheap_free_bytes, tcmalloc.pageheap_unmapped_bytes. */
EXPORT int MallocExtension_GetNumericProperty(const char *property, size_t *value) {
  if (property == NULL || value == NULL) return 0;
  struct alloc_stats st;
  alloc_get_stats(&st);
  if (strcmp(property, "generic.current_allocated_bytes") == 0)
    *value = (size_t)st.in_use;
  else if (strcmp(property, "generic.heap_size") == 0)
    *value = (size_t)(st.heap_in_spans + st.heap_free + st.released);
  else if (strcmp(property, "tcmalloc.pageheap_free_bytes") == 0)
    *value = (size_t)st.heap_free;
  else if (strcmp(property, "tcmalloc.pageheap_unmapped_bytes") == 0)
    *value = (size_t)st.released;
  else
    return 0;
  return 1;
}
EXPORT void MallocExtension_ReleaseFreeMemory(void) { alloc_release_free_memory(); }
EXPORT size_t MallocExtension_GetAllocatedSize(const void *p) { return alloc_usable_size(p); }
EXPORT size_t MallocExtension_GetEstimatedAllocatedSize(size_t size) {
  return alloc_good_size(size, 0);
}
/* 0: unknown ownership, 1: ours (kOwned), 2: not ours (kNotOwned) */
EXPORT int MallocExtension_GetOwnership(const void *p) {
  return p == NULL ? 0 : alloc_owns(p) ? 1 : 2;
}
