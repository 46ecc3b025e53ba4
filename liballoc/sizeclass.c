/* sizeclass.c: per-class tuning of the caches and a start-up check of the
 * generated size-class table (mksizeclasses.c checks it when it makes it;
 * this catches a stale or hand-edited header). Overview: malloc.c. */
#include "sizeclass.h"

#include "internal.h"

uint32_t class_to_batch[SIZECLASS_COUNT];
uint32_t class_to_maxbatches[SIZECLASS_COUNT];
uint32_t class_to_max[SIZECLASS_COUNT];

/* A batch moves about 16 KiB (at most 64 objects, at least 2): one lock
 * round trip per batch keeps cross-thread free traffic cheap. A thread
 * cache holds two batches per class to begin with (class_to_max); a list
 * that keeps overflowing grows, within budgets (mcache.h). That bound
 * matters more than the bytes suggest: every object a cache holds may pin
 * a whole span that is otherwise empty, so it is what limits how much
 * memory a thread that freed everything and went idle keeps resident. An mcentral keeps up to
 * 256 KiB of batches (8 to 64 of them) before it returns objects to their
 * spans; the scavenger drains idle transfer caches. */
#define BATCH_BYTES (16u << 10)
#define TRANSFER_BYTES (256u << 10)

int sizeclass_init(void) {
  for (unsigned c = 1; c < SIZECLASS_COUNT; c++) {
    uint32_t size = class_to_size[c];
    if (size <= class_to_size[c - 1] || (size >= 16 && size % 16 != 0) ||
        (uint32_t)class_to_nelems[c] != class_to_npages[c] * PAGE_BYTES / size)
      alloc_throw("size class table is inconsistent (rebuild sizeclasses.h)");
    if (size_to_class(size) != c || size_to_class(class_to_size[c - 1] + 1) != c ||
        size_to_class_fast(size) != c || size_to_class_fast(class_to_size[c - 1] + 1) != c)
      alloc_throw("size class lookup table is inconsistent (rebuild sizeclasses.h)");
    uint32_t b = BATCH_BYTES / size;
    if (b > 64) b = 64;
    if (b < 2) b = 2;
    class_to_batch[c] = b;
    class_to_max[c] = 2 * b;
    uint32_t m = TRANSFER_BYTES / (b * size);
    if (m < 8) m = 8;
    if (m > 64) m = 64;
    class_to_maxbatches[c] = m;
  }
  return 0;
}
