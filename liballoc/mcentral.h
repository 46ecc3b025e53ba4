/* mcentral.h: the central lists of one size class. An mcentral holds the
 * class's spans that have free slots and no thread cache (partial), and a
 * transfer cache of batches of freed objects passed between threads in
 * O(1). Thread caches come here when they run dry or overflow; one lock per
 * class keeps classes independent. Overview: malloc.c.
 *
 * Locking: every field below the lock is read and written under it. */
#ifndef ALLOC_MCENTRAL_H
#define ALLOC_MCENTRAL_H

#include <stdint.h>

#include "internal.h"
#include "mspan.h"
#include "sizeclass.h"

ALLOC_HIDDEN_BEGIN

#define MCENTRAL_MAX_BATCHES 64

/* Where an mcentral gets spans and returns empty ones: the page heap in the
 * allocator, a fake in unit tests. */
struct mcentral_backend {
  struct mspan *(*alloc_span)(uintptr_t npages, int sizeclass);
  void (*free_span)(struct mspan *s);
};

struct mcentral {
  alloc_lock lock;
  uint32_t sizeclass;
  uint32_t nbatches;                   /* batches in the transfer cache */
  uint32_t active;                     /* transfer cache used since the last idle check */
  struct mspan_list partial;           /* uncached spans with free slots */
  void *batches[MCENTRAL_MAX_BATCHES]; /* each a list of class_to_batch objects */
  uint64_t nspans;                     /* spans of this class taken from the backend */
  const struct mcentral_backend *backend;
} __attribute__((aligned(CACHE_LINE)));

extern struct mcentral mcentral[SIZECLASS_COUNT];
extern const struct mcentral_backend mcentral_heap_backend;

void mcentral_init(struct mcentral *c, unsigned sizeclass, const struct mcentral_backend *backend);

struct mcache;
/* A span whose free slots now belong to thread cache owner: they are the 1
 * bits of s->cacheBits, to be consumed from word s->freeindex (0). NULL when
 * out of memory. */
struct mspan *mcentral_cache_span(struct mcentral *c, struct mcache *owner);

/* Gives back span s taken by a thread cache. window holds the free slots of
 * word s->freeindex - 1 the cache did not use; the words from s->freeindex
 * on are unused too. */
void mcentral_uncache_span(struct mcentral *c, struct mspan *s, uint64_t window);

/* Takes one transfer batch: its first object (the rest linked through the
 * first word of each), with *n set to its length. NULL if there is none. */
void *mcentral_take_batch(struct mcentral *c, uint32_t *n);

/* Gives back n objects linked through their first word (NULL-terminated).
 * A full batch is kept whole if there is room; anything else goes back to
 * its span. A pointer whose slot is already free is a double free: fatal. */
void mcentral_put_list(struct mcentral *c, void *head, uint32_t n);

/* Whether p, an object start of small span s of c's class, is free: back
 * in s (allocBits), among the slots s's owning cache has not loaded yet
 * (cacheBits), or in a transfer batch. Exact under c's lock, so never true
 * of a live object (mcache_check_free). */
int mcentral_holds_free(struct mcentral *c, const struct mspan *s, const void *p);

/* Returns every transfer batch's objects to their spans (and empty spans to
 * the backend). */
void mcentral_drain(struct mcentral *c);

/* Drains the transfer cache if it was not used since the previous call
 * (the scavenger's idle check). */
void mcentral_drain_if_idle(struct mcentral *c);

/* Checks the lists and counts of c (tests, ALLOC_DEBUG >= 2). */
int mcentral_valid(struct mcentral *c);

ALLOC_HIDDEN_END
#endif /* ALLOC_MCENTRAL_H */
