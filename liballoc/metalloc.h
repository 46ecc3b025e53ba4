/* metalloc.h: the allocators of liballoc's own structures. None of them ever
 * calls malloc; all memory comes from the OS layer (sys.h) and is counted as
 * metadata. Overview: malloc.c.
 *
 *  persistentalloc  bump allocation of small things that live forever
 *                   (thread-safe, own lock).
 *  fixalloc         a free list of fixed-size objects (spans, thread caches,
 *                   span bitmaps) carved from persistentalloc chunks. Not
 *                   thread-safe: the owner's lock protects it.
 *
 * The per-arena records and arena map leaves come straight from sys_alloc
 * (arena.c). There is no linear allocator reserving room for them up front:
 * reserved address space counts against `ulimit -v`, and Go's reason for one
 * (keeping 32-bit heap metadata contiguous) does not apply here.
 */
#ifndef ALLOC_METALLOC_H
#define ALLOC_METALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

ALLOC_HIDDEN_BEGIN

/* Returns zeroed memory aligned to align (a power of two <= 4096), or NULL. */
void *persistentalloc(size_t size, size_t align);
/* Fork support: the lock of persistentalloc. */
void persistentalloc_lock(void);
void persistentalloc_unlock(void);

struct fixalloc_link {
  struct fixalloc_link *next;
};

struct fixalloc {
  size_t size; /* object size, >= sizeof(void *) */
  /* Where chunks come from when the OS refuses new mappings (an exhausted
   * address space under ulimit -v): the page heap's own free pages. NULL
   * for none. Called with the owner's lock held; returns zeroed memory. */
  void *(*fallback_chunk)(size_t size);
  struct fixalloc_link *list; /* freed objects */
  uintptr_t chunk;            /* unused tail of the current chunk */
  size_t nchunk;              /* bytes left in it */
  size_t inuse;               /* bytes in objects handed out */
};

void fixalloc_init(struct fixalloc *f, size_t size);
/* Zeroed object, or NULL if the OS refuses memory. */
void *fixalloc_alloc(struct fixalloc *f);
void fixalloc_free(struct fixalloc *f, void *p);

ALLOC_HIDDEN_END
#endif /* ALLOC_METALLOC_H */
