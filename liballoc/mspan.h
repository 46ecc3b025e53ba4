/* mspan.h: a span is a run of pages. In use it holds either objects of one
 * size class (small) or one large object; free, it sits in the page heap.
 * Overview: malloc.c.
 *
 * A small span's objects are tracked by two bitmaps of nelems bits:
 *
 *   allocBits  1 = the slot is not free in the span: handed to the program or
 *              sitting in some thread's free list or in a transfer batch.
 *              Written under the span's mcentral lock.
 *   cacheBits  1 = a free slot the owning thread cache may hand out. Set when
 *              a thread cache takes the span (from ~allocBits, after which
 *              allocBits is all ones: every free slot now belongs to that
 *              cache) and consumed by that thread alone without a lock.
 *
 * The thread cache scans cacheBits one 64-bit word at a time: freeindex is
 * the next word to load, and the word being consumed lives in the cache as
 * allocCache (count-trailing-zeros finds the next free slot). Frees from any
 * thread clear allocBits bits under the lock, so a span that is cached keeps
 * collecting freed slots for the next time it is taken.
 *
 * Span states and who may change them:
 *   SPAN_FREE       in the page heap's free lists (heap lock)
 *   SPAN_SCAVENGING free but out of the lists while its pages are returned to
 *                   the OS with the heap lock dropped
 *   SPAN_SMALL      holds objects of sizeclass (mcentral lock for its lists
 *                   and allocBits; heap lock for its pages)
 *   SPAN_LARGE      holds one object (the program owns it)
 *   SPAN_DEAD       the struct is on the fixalloc free list
 */
#ifndef ALLOC_MSPAN_H
#define ALLOC_MSPAN_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

ALLOC_HIDDEN_BEGIN

/* sizeof(struct mcache_class) (mcache.h checks it). A small span keeps
 * its class's offset in a thread cache, sizeclass * MSPAN_CACHE_ENTRY, in
 * cache_offset (a padding hole): free() adds it to the cache's address, one
 * instruction less than shifting sizeclass. */
#define MSPAN_CACHE_ENTRY 64u

enum span_state { SPAN_DEAD = 0, SPAN_FREE, SPAN_SCAVENGING, SPAN_SMALL, SPAN_LARGE };

struct mcache;

/* The first 64 bytes hold everything free() of a small object reads (a
 * large object's free reads npages, on the second line, too). */
struct mspan {
  struct mspan *next, *prev; /* list links: heap free list or mcentral list */
  uintptr_t base;            /* first byte */
  /* small: the address of slot 0 of the cacheBits word its owning cache
   * has loaded (freeindex - 1), for that cache's malloc (mcache.h
   * mcache_window_take), which reads elemsize on this line too. */
  uintptr_t window_base;
  uint8_t state; /* enum span_state */
  /* 1 while some object of the span is sampled (written under the lock of
   * the span's shard, mprof_sampled.c, read by free() without it).
   * It sits right after state so that free() tests both with one 16-bit
   * compare (mspan_small_unsampled). */
  uint8_t sampled;
  uint8_t sizeclass;     /* 0 for large and free spans */
  uint8_t needzero;      /* 1 if some byte may be non-zero */
  uint8_t incache;       /* small: a thread cache owns the free slots (mcentral lock) */
  uint8_t onpartial;     /* small: on its mcentral's partial list (mcentral lock) */
  uint16_t nelems;       /* small: objects in the span */
  uint16_t allocCount;   /* small: slots not free in the span (mcentral lock) */
  uint16_t nwords;       /* small: 64-bit words per bitmap */
  uint16_t freeindex;    /* small: next cacheBits word to load (owning cache) */
  uint16_t cache_offset; /* small: sizeclass * MSPAN_CACHE_ENTRY (free(): below) */
  uint32_t elemsize;     /* small: object size; large: 0 */
  uint32_t divmagic;     /* small: offset/elemsize == (offset*divmagic)>>32 */
  /* small: the thread cache carving the span, or NULL. Written under the
   * mcentral lock, read by free() without it (a hint: see mcache.h). */
  struct mcache *owner;
  uint64_t *allocBits;    /* small: see above (mcentral lock) */
  uint64_t *cacheBits;    /* small: see above (owning cache) */
  uint64_t free_since_ms; /* free: when it last grew (scavenger age) */
  uintptr_t nreleased;    /* free: pages of it returned to the OS */
  uint32_t nsampled;      /* objects of the span the profiler tracks (its shard's lock) */
  /* small, while nsampled > 0: bit i set when object i is sampled. Written
   * under the shard's lock, read by free() without it, so that freeing an
   * unsampled object of a span that holds a sampled one costs a bit test,
   * not the lock. */
  uint64_t *sampledBits;
  /* The bitmap itself when the span has at most 64 objects (nwords == 1):
   * sampledBits then points here. Most such spans hold large objects, so a
   * sample there is the span's first, and a bitmap taken from a shared
   * pool (and cleared by whichever thread charged the last free) cost the
   * sample a line from the other core (bench/RESULTS.md section 13). */
  uint64_t sampledWord;
  uintptr_t npages; /* length in pages */
} __attribute__((aligned(CACHE_LINE)));
_Static_assert(sizeof(struct mspan) == 2 * CACHE_LINE, "a span is two cache lines");

/* A small span none of whose objects is sampled: free()'s fast case. */
static inline int mspan_small_unsampled(const struct mspan *s) {
  uint16_t both;
  __builtin_memcpy(&both, &s->state, sizeof both);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return both == (uint16_t)SPAN_SMALL; /* state == SPAN_SMALL, sampled == 0 */
#else
  return both == (uint16_t)(SPAN_SMALL << 8);
#endif
}
_Static_assert(offsetof(struct mspan, elemsize) == 0x30, "cache_offset filled a hole");
_Static_assert(offsetof(struct mspan, sampled) == offsetof(struct mspan, state) + 1,
               "mspan_small_unsampled reads state and sampled together");

struct mspan_list {
  struct mspan *first;
  uintptr_t count;
};

static inline void mspan_list_insert(struct mspan_list *l, struct mspan *s) {
  s->prev = NULL;
  s->next = l->first;
  if (l->first != NULL) l->first->prev = s;
  l->first = s;
  l->count++;
}

static inline void mspan_list_remove(struct mspan_list *l, struct mspan *s) {
  if (s->prev != NULL)
    s->prev->next = s->next;
  else
    l->first = s->next;
  if (s->next != NULL) s->next->prev = s->prev;
  s->next = s->prev = NULL;
  l->count--;
}

/* Index of the object at p in small span s (p need not be its start). */
static inline uintptr_t mspan_object_index(const struct mspan *s, uintptr_t p) {
  return (uintptr_t)(((uint64_t)(p - s->base) * s->divmagic) >> 32);
}

/* Whether p is the start of an object of small span s. With
 * magic = ceil(2^32 / size), the low 32 bits of offset * magic are below
 * magic exactly when offset is a multiple of size, for every offset inside
 * a span (the error term stays below magic because a span is small;
 * test_sizeclass checks every offset of every class). One multiply and a
 * compare, cheap enough for every free(). */
static inline int mspan_is_object_start(const struct mspan *s, uintptr_t p) {
  return (uint32_t)((uint64_t)(p - s->base) * s->divmagic) < s->divmagic;
}

static inline int bitmap_get(const uint64_t *b, uintptr_t i) {
  return (int)((b[i >> 6] >> (i & 63)) & 1);
}
static inline void bitmap_set(uint64_t *b, uintptr_t i) { b[i >> 6] |= (uint64_t)1 << (i & 63); }
static inline void bitmap_clear(uint64_t *b, uintptr_t i) {
  b[i >> 6] &= ~((uint64_t)1 << (i & 63));
}

/* Span bitmaps (allocBits and cacheBits here, the profiler's sampledBits)
 * come from fixallocs of 2^order words, one per order: the order of a
 * bitmap of nwords words is the smallest with 2^order >= nwords (0 for 0
 * or 1 word). A span holds at most 1024 objects (8 KiB of 8-byte ones), 16
 * words: orders 0 to 4. test_sizeclass checks every class against it. */
#define MSPAN_BITS_ORDERS 5
static inline unsigned mspan_bits_order(uintptr_t nwords) {
  return nwords <= 1 ? 0 : (unsigned)(64 - __builtin_clzll((uint64_t)nwords - 1));
}

/* Cheap consistency check of one small span (ALLOC_DEBUG >= 2 walks it). */
int mspan_valid(const struct mspan *s);

ALLOC_HIDDEN_END
#endif /* ALLOC_MSPAN_H */
