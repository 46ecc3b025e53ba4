/* sizeclass.h: request size -> size class. The tables come from
 * mksizeclasses.c at build time (sizeclasses.h in the build tree); this
 * header adds the lookup and the per-class tuning of the caches.
 * Overview: malloc.c. */
#ifndef ALLOC_SIZECLASS_H
#define ALLOC_SIZECLASS_H

#include <stddef.h>
#include <stdint.h>

#include "sizeclasses.h"
#include "internal.h"

ALLOC_HIDDEN_BEGIN

/* Class for a request of size bytes, size <= SIZECLASS_MAX_SMALL. */
static inline unsigned size_to_class(size_t size) {
  if (size <= SIZECLASS_SMALL_MAX)
    return size_to_class8[(size + SIZECLASS_SMALL_DIV - 1) / SIZECLASS_SMALL_DIV];
  return size_to_class128[(size - SIZECLASS_SMALL_MAX + SIZECLASS_LARGE_DIV - 1) /
                          SIZECLASS_LARGE_DIV];
}

/* The same times 64 (the byte offset of the class's entry in an array of
 * 64-byte records, such as struct mcache's cls) as one load, without the
 * branch between the two tables: every class boundary is a multiple of 8,
 * so one generated table by 8-byte step covers all small sizes (8 KiB, of
 * which malloc's fast path touches the lines of the sizes asked for). */
static inline unsigned size_to_class_offset(size_t size) {
  return size_to_class_x64[(size + SIZECLASS_SMALL_DIV - 1) / SIZECLASS_SMALL_DIV];
}
static inline unsigned size_to_class_fast(size_t size) { return size_to_class_offset(size) >> 6; }

/* The class of memalign(align, size), for size <= SIZECLASS_MAX_SMALL and a
 * power of two 16 < align <= PAGE_BYTES: the first class from size's (or
 * align's) whose object size is a multiple of align, so that every object
 * of its spans, which start on a page, is aligned. Powers of two are
 * classes, so the search ends at align's own class at the latest. */
static inline unsigned size_to_class_aligned(size_t size, size_t align) {
  unsigned k = size_to_class(size > align ? size : align);
  while (class_to_size[k] % align != 0) k++;
  return k;
}

/* Objects moved between a thread cache and its mcentral at a time. */
extern uint32_t class_to_batch[SIZECLASS_COUNT];
/* Length of a thread cache's free list that makes it flush one batch. */
extern uint32_t class_to_max[SIZECLASS_COUNT];
/* Transfer batches an mcentral keeps before freeing objects to their spans. */
extern uint32_t class_to_maxbatches[SIZECLASS_COUNT];

/* Fills the tuning tables and re-checks the generated ones (a corrupted or
 * mismatched table is fatal). Returns 0. */
int sizeclass_init(void);

ALLOC_HIDDEN_END
#endif /* ALLOC_SIZECLASS_H */
