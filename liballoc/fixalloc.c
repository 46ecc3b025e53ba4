/* fixalloc.c: free-list allocation of fixed-size metadata objects (spans,
 * thread caches, span bitmaps). The caller's lock protects each fixalloc.
 * See metalloc.h. */
#include <string.h>

#include "metalloc.h"

#define FIXALLOC_CHUNK ((size_t)16 << 10)

void fixalloc_init(struct fixalloc *f, size_t size) {
  memset(f, 0, sizeof *f);
  f->size = align_up(size < sizeof(void *) ? sizeof(void *) : size, 8);
}

void *fixalloc_alloc(struct fixalloc *f) {
  void *p;
  if (f->list != NULL) {
    p = f->list;
    f->list = f->list->next;
    memset(p, 0, f->size);
  } else {
    if (f->nchunk < f->size) {
      size_t n = f->size > FIXALLOC_CHUNK ? f->size : FIXALLOC_CHUNK;
      void *chunk = persistentalloc(n, CACHE_LINE);
      if (chunk == NULL && f->fallback_chunk != NULL) chunk = f->fallback_chunk(n);
      if (chunk == NULL) return NULL;
      f->chunk = (uintptr_t)chunk;
      f->nchunk = n;
    }
    p = (void *)f->chunk; /* persistentalloc memory is zero */
    f->chunk += f->size;
    f->nchunk -= f->size;
  }
  f->inuse += f->size;
  return p;
}

void fixalloc_free(struct fixalloc *f, void *p) {
  struct fixalloc_link *l = p;
  l->next = f->list;
  f->list = l;
  f->inuse -= f->size;
}
