/* override_compat.c: the non-standard entry points of jemalloc and tcmalloc,
 * with liballoc's meaning: jemalloc's allocation calls here, its control
 * and statistics calls in override_mallctl.c, tcmalloc's in
 * override_tcmalloc.c. Overview: malloc.c; the standard ABI is in
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
 *   tcmalloc   (override_tcmalloc.c) the tc_* C names, the MallocExtension
 *              and heap profiler C entry points
 *
 * jemalloc's flags: the low 6 bits are log2 of the alignment (0: none),
 * 0x40 asks for zeroed memory; the thread-cache and arena bits mean nothing
 * here and are ignored. */
#define _GNU_SOURCE
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
