/* mcache.h: the per-thread cache, the allocator's lock-free fast path. Each
 * thread has one (Go has one per P); per size class it holds a LIFO list of
 * objects the thread freed and the span it is carving fresh objects from.
 * A thread allocates and frees without any lock or atomic instruction until
 * a list overflows or runs dry; then it trades a whole batch with the
 * class's mcentral. When the thread exits its cache is flushed back.
 * Overview: malloc.c.
 *
 * Remote frees: an object whose span another thread's cache is carving is
 * not reused here but kept on a separate list and handed back a batch at a
 * time. Reusing it locally would put this thread's writes on cache lines
 * the other thread is filling with its own new objects (false sharing, the
 * cache-scratch pattern); passing it back costs the same one lock per batch.
 *
 * Everything in a cache is read and written by its thread only, except the
 * counters, which statistics read with relaxed loads. */
#ifndef ALLOC_MCACHE_H
#define ALLOC_MCACHE_H

#include <stdint.h>

#include "freelist.h"
#include "internal.h"
#include "mspan.h"
#include "mprof.h"
#include "sizeclass.h"

ALLOC_HIDDEN_BEGIN

struct mcache_class {
  void *list;            /* freed objects, linked through their first word (freelist.h) */
  uint32_t count;        /* objects on list (flushed past class_to_max) */
  uint32_t nremote;      /* objects on remote */
  uint64_t allocCache;   /* free slots of span's current cacheBits word */
  uintptr_t window_base; /* address of slot 0 of that word */
  struct mspan *span;    /* span being carved, or NULL */
  void *remote;          /* freed objects of spans another cache is carving */
  uint64_t nmalloc;      /* objects handed out (cumulative) */
  uint64_t nfree;        /* objects freed into this cache (cumulative) */
} __attribute__((aligned(CACHE_LINE)));

struct mcache {
  struct prof_sampler sampler; /* bytes until the next heap-profile sample */
  struct mcache_class cls[SIZECLASS_COUNT];
  struct mcache *all_next, *all_prev; /* list of every live cache (mcache_all_lock) */
};

/* The next free slot of e's allocCache window (which must have one),
 * counted as handed out. A slot freed before keeps the free-list key in
 * its first word (freelist.h): cleared here. */
static inline void *mcache_window_take(struct mcache_class *e, unsigned sizeclass) {
  uint64_t bits = e->allocCache;
  e->allocCache = bits & (bits - 1);
  BUMP_OWNED(&e->nmalloc, 1);
  void *p = (void *)(e->window_base + (uintptr_t)__builtin_ctzll(bits) * class_to_size[sizeclass]);
  freelist_clear(p);
  return p;
}

/* Slow paths of the fast paths in malloc.c. The object returned by refill
 * comes from span (possibly clean: see *zeroed) or from a batch (dirty).
 * NULL when out of memory. */
void *mcache_refill(struct mcache *c, unsigned sizeclass, int *zeroed);
void mcache_flush(struct mcache *c, unsigned sizeclass);
void mcache_flush_remote(struct mcache *c, unsigned sizeclass);

/* free() (or realloc, as what says) of p, an object of small span s whose
 * first word matched the free-list key (at ALLOC_DEBUG >= 2, any small
 * object, so that a key overwritten after the first free is no escape):
 * dies with what and p's address if p is free, returns if it is live (its
 * data only looked like a link).
 * Searches where a free object can be without racing another thread: c's
 * own lists and allocCache window (c may be NULL), s's bitmaps and its
 * class's transfer cache (mcentral_holds_free). An object on another
 * thread's list is not seen; the span's bitmap catches it when it returns
 * there (mcentral_put_list). */
__attribute__((cold, noinline)) void mcache_check_free(struct mcache *c, const struct mspan *s,
                                                       const void *p, const char *what);

/* A new, empty cache registered in the list of caches; NULL if out of memory. */
struct mcache *mcache_create(void);
/* Gives everything in c back to the mcentrals and frees c. */
void mcache_destroy(struct mcache *c);
/* Gives back all cached objects and spans but keeps c usable. */
void mcache_release_all(struct mcache *c);

/* Statistics and fork support over the list of live caches. */
extern alloc_lock mcache_all_lock;
extern struct mcache *mcache_all;
extern uint64_t mcache_retired_nmalloc[SIZECLASS_COUNT]; /* counters of destroyed caches */
extern uint64_t mcache_retired_nfree[SIZECLASS_COUNT];
extern uint64_t mcache_live;
/* In a forked child: forget every cache but keep1 and keep2 (their threads
 * are gone). */
void mcache_after_fork_child(struct mcache *keep1, struct mcache *keep2);

ALLOC_HIDDEN_END
#endif /* ALLOC_MCACHE_H */
