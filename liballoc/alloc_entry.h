/* alloc_entry.h: the allocator's internal entry points.
 *
 * override.c makes the C and C++ allocation symbols thin aliases of these, so a
 * test can link the allocator (alloc_core) and call them without replacing the
 * process's malloc. Semantics are those of the glibc manual pages of the
 * matching libc function. Design overview: malloc.c.
 */
#ifndef ALLOC_ENTRY_H
#define ALLOC_ENTRY_H

#include <stddef.h>

#include "internal.h"

void *alloc_malloc(size_t size);
void alloc_free(void *p);
void alloc_free_sized(void *p, size_t size);
void *alloc_calloc(size_t n, size_t size);
void *alloc_realloc(void *p, size_t size);
void *alloc_reallocarray(void *p, size_t n, size_t size);
/* align must be a power of two; otherwise NULL with errno EINVAL. */
void *alloc_memalign(size_t align, size_t size);
/* Returns 0, EINVAL (align not a power of two multiple of sizeof(void*)) or ENOMEM. */
int alloc_posix_memalign(void **out, size_t align, size_t size);
void *alloc_aligned_alloc(size_t align, size_t size);
void *alloc_valloc(size_t size);
void *alloc_pvalloc(size_t size);
/* Bytes usable at p (>= the size requested); 0 for NULL. */
size_t alloc_usable_size(const void *p);
/* The usable size malloc(size) (align 0) or memalign(align, size) would
 * give, without allocating; 0 when the request would fail (too large, align
 * not a power of two). jemalloc's nallocx (override_compat.c). */
size_t alloc_good_size(size_t size, size_t align);
/* Whether p lies in memory the allocator manages (any state). */
int alloc_owns(const void *p);
/* Gives the calling thread's cached objects and spans back to the central
 * lists (jemalloc's thread.tcache.flush; alloc_release_free_memory does it
 * too). */
void alloc_flush_thread_cache(void);
/* The statistics alloc_print_stats prints, as lines ending in '\n' handed
 * to emit(arg, line) one at a time, with no lock held (emit may allocate). */
void alloc_stats_write(void (*emit)(void *arg, const char *line), void *arg);
/* Sets the allocator up if no allocation has yet (tests of inner layers). */
ALLOC_FOR_DUMPER void alloc_init_once(void);

#endif /* ALLOC_ENTRY_H */
