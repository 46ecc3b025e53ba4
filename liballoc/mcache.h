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
 * The list's bound grows with the thread's pattern: a thread that frees
 * more of a class than two batches between its allocations (a queue
 * drained in a burst, a request's objects freed at its end) would
 * otherwise trade a batch with the mcentral, under its lock, every few
 * dozen frees and again every few dozen mallocs, and two such threads
 * contend for that lock (bench/RESULTS.md section 11). Each overflow of a
 * list grows its bound by one batch instead of flushing, up to
 * MCACHE_LIST_BATCHES batches, within a budget of bytes per thread
 * (ALLOC_THREAD_CACHE_KB, 4 MiB by default) and for the process (16
 * threads' budgets, at least 64 MiB); a thread past its budget gives all its growth
 * back (mcache.c grow_list), and so do a flush (malloc_trim, jemalloc's
 * tcache flush) and the thread's exit. ALLOC_THREAD_CACHE_KB=0 keeps
 * every list at its first bound, two batches.
 *
 * Everything in a cache is read and written by its thread only, except the
 * counters and bounds, which statistics read with relaxed loads. */
#ifndef ALLOC_MCACHE_H
#define ALLOC_MCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "freelist.h"
#include "internal.h"
#include "mspan.h"
#include "mprof.h"
#include "sizeclass.h"

ALLOC_HIDDEN_BEGIN

struct mcache_class {
  void *list; /* freed objects, linked through their first word (freelist.h) */
  /* Two counts in one word, so that free() keeps both with one add
   * (MCACHE_PUSH) and one store, not two (pareto 1.125 -> 1.075 of
   * mimalloc's time, churn 1.09 -> 1.04: bench/RESULTS.md section 16):
   *   - the top MCACHE_ROOM_BITS, signed: the objects list can take before
   *     it overflows, the class's bound (mcache.list_max) minus its length;
   *     a free that makes it negative (the word's sign) grows the bound or
   *     flushes a batch. Counted down so that free() tests it with no load
   *     of the bound (see mcache_list_len);
   *   - the low MCACHE_FREES_BITS: the objects freed into this cache
   *     (cumulative, for statistics: mcache_nfree). 2^50 frees carry into
   *     room: 130 days of one thread freeing 100 million objects a second.
   *     Then nfree starts again from 0 and room is one larger, one object
   *     more on the list than its count says, which mcache_release_all
   *     still gives back. Moving the frees out of the word now and then
   *     would make a statistics read from another thread see them in two
   *     places or none, or wait for the owner.
   * Accessors below; nothing else reads the word's halves. */
  int64_t count;
  int32_t remote_room; /* class_to_batch - 1 minus the objects on remote; below 0 they go back */
  uint64_t allocCache; /* free slots of span's current cacheBits word (at span->window_base) */
  struct mspan *span;  /* span being carved, or NULL */
  void *remote;        /* freed objects of spans another cache is carving */
  /* Objects handed out is nmalloc_base + nfree - mcache_held (see
   * mcache_nmalloc): malloc's first path, the list, counts nothing, since
   * an object it hands out leaves the cache's lists; the window counts
   * here, and so do the slow paths that move objects in or out of the
   * lists without malloc or free. */
  uint64_t nmalloc_base;
} __attribute__((aligned(CACHE_LINE)));

#define MCACHE_FREES_BITS 50
#define MCACHE_ROOM_BITS (64 - MCACHE_FREES_BITS) /* a bound is at most 32 batches */
#define MCACHE_FREES_MASK (((uint64_t)1 << MCACHE_FREES_BITS) - 1)
/* malloc takes an object from the list: room + 1 */
#define MCACHE_POP ((int64_t)1 << MCACHE_FREES_BITS)
/* free puts one on it: room - 1, frees + 1 */
#define MCACHE_PUSH (1 - MCACHE_POP)

static inline NO_TSAN int32_t mcache_room(const struct mcache_class *e) {
  return (int32_t)(LOAD_RELAXED(&e->count) >> MCACHE_FREES_BITS); /* arithmetic: room is signed */
}
/* Adds d (possibly negative) to e's room. */
static inline void mcache_room_add(struct mcache_class *e, int32_t d) {
  e->count += (int64_t)((uint64_t)(int64_t)d << MCACHE_FREES_BITS);
}
static inline void mcache_room_set(struct mcache_class *e, int32_t room) {
  e->count = (int64_t)(((uint64_t)(int64_t)room << MCACHE_FREES_BITS) |
                       ((uint64_t)e->count & MCACHE_FREES_MASK));
}
/* Objects freed into e (cumulative, modulo 2^MCACHE_FREES_BITS). NO_TSAN:
 * statistics read other threads' caches. */
static inline NO_TSAN uint64_t mcache_nfree(const struct mcache_class *e) {
  return (uint64_t)LOAD_RELAXED(&e->count) & MCACHE_FREES_MASK;
}

struct mcache {
  /* First, so that a class's entry is at 64 * class from the cache: free()
   * finds it from the span's class with a shift and an add. */
  struct mcache_class cls[SIZECLASS_COUNT];
  /* The bound of each class's list: class_to_max, plus the batches its
   * overflows added (mcache_flush); read by statistics (relaxed). */
  int32_t list_max[SIZECLASS_COUNT];
  uint32_t grown_bytes; /* bytes the bounds hold above class_to_max */
  /* 1 once malloc ran class k's list dry (mcache_refill), until the lists
   * shrink: only such a class grows (mcache.c grow_list). */
  uint8_t refilled[SIZECLASS_COUNT];
  struct prof_sampler sampler;        /* bytes until the next heap-profile sample */
  struct mcache *all_next, *all_prev; /* list of every live cache (mcache_all_lock) */
};

/* The next free slot of e's allocCache window (which must have one),
 * counted as handed out. A slot freed before keeps the free-list key in
 * its first word (freelist.h): cleared here. The object size is the
 * span's (malloc has loaded e->span already), so that malloc's fast path
 * needs no class number once it has e. */
static inline void *mcache_window_take(struct mcache_class *e) {
  uint64_t bits = e->allocCache;
  e->allocCache = bits & (bits - 1);
  BUMP_OWNED(&e->nmalloc_base, 1); /* the window is not in mcache_held */
  void *p = (void *)(e->span->window_base +
                     (uintptr_t)(unsigned)__builtin_ctzll(bits) * e->span->elemsize);
  freelist_clear(p);
  return p;
}

_Static_assert(sizeof(struct mcache_class) == 64 &&
                   sizeof(struct mcache_class) == MSPAN_CACHE_ENTRY,
               "size_to_class_offset and mspan.cache_offset index cls");

_Static_assert(offsetof(struct mcache, cls) == 0, "mcache_list_max finds the cache from e");

/* The most a list may grow to: MCACHE_LIST_BATCHES batches (32 of 64
 * objects for most classes; 512 KiB of objects of 256 bytes and up). */
#define MCACHE_LIST_BATCHES 32u
/* A batch is at most 64 objects (sizeclass.c): a bound, and a room, fit
 * the count's top MCACHE_ROOM_BITS with a wide margin. */
_Static_assert(MCACHE_LIST_BATCHES * 64 < (1u << (MCACHE_ROOM_BITS - 2)), "room fits its bits");

/* The bound of e's list (class k), from e alone: e is the cache's entry k. */
static inline NO_TSAN int32_t mcache_list_max(const struct mcache_class *e, unsigned k) {
  const struct mcache *c = (const struct mcache *)(const void *)(e - k);
  return LOAD_RELAXED(&c->list_max[k]);
}

/* The objects on e's list and on its remote list (class k). */
static inline uint32_t mcache_list_len(const struct mcache_class *e, unsigned k) {
  return (uint32_t)(mcache_list_max(e, k) - mcache_room(e));
}
static inline uint32_t mcache_remote_len(const struct mcache_class *e, unsigned k) {
  return (uint32_t)((int32_t)class_to_batch[k] - 1 - e->remote_room);
}

/* The freed objects e holds: its list and its remote list. An object
 * malloc takes from the list leaves them and every free enters them, so
 * the objects handed out (cumulative) are derived rather than counted on
 * malloc's fast path: nmalloc_base + nfree - held, where the slow paths
 * keep nmalloc_base up to date by the objects they move into the lists
 * (a batch refill) and out (flushes), and the window counts what it hands
 * out (its slots are not in held: that would take a popcount, a libgcc
 * call without -mpopcnt, on every window load). NO_TSAN and relaxed: the
 * statistics read other threads' caches (a stale or torn value is fine). */
static inline NO_TSAN uint64_t mcache_held(const struct mcache_class *e, unsigned k) {
  return (uint64_t)(mcache_list_max(e, k) - mcache_room(e)) +
         (uint64_t)((int32_t)class_to_batch[k] - 1 - LOAD_RELAXED(&e->remote_room));
}
static inline NO_TSAN uint64_t mcache_nmalloc(const struct mcache_class *e, unsigned k) {
  return LOAD_RELAXED(&e->nmalloc_base) + mcache_nfree(e) - mcache_held(e, k);
}

/* Slow paths of the fast paths in malloc.c. The object returned by refill
 * comes from span (possibly clean: see *zeroed) or from a batch (dirty).
 * NULL when out of memory. */
void *mcache_refill(struct mcache *c, unsigned sizeclass, int *zeroed);
/* The flushes take e (one of c->cls), not its class number, which free()
 * would otherwise keep in a register of its own. mcache_flush is free()'s
 * overflow: it grows e's bound by a batch, or hands a batch to the
 * mcentral when the bound or the budget allows no more. */
void mcache_flush(struct mcache *c, struct mcache_class *e);
void mcache_flush_remote(struct mcache *c, struct mcache_class *e);
/* free() (or realloc, as what says) of p, an object of small span s whose
 * first word matched the free-list key: dies with what and p's address if p is free, returns if it is live (its
 * data only looked like a link).
 * Searches where a free object can be without racing another thread: c's
 * own lists and allocCache window (c may be NULL), s's bitmaps and its
 * class's transfer cache (mcentral_holds_free). An object on another
 * thread's list is not seen; the span's bitmap catches it when it returns
 * there (mcentral_put_list). Not run on every free even at ALLOC_DEBUG=2:
 * it walks lists as long as the cache holds, which made a CPython run 30
 * times slower (integration.real.python under UBSan); a key overwritten
 * after the first free is caught when malloc next takes the block
 * (ALLOC_DEBUG >= 1). */
__attribute__((cold, noinline)) void mcache_check_free(struct mcache *c, const struct mspan *s,
                                                       const void *p, const char *what);

/* A new, empty cache registered in the list of caches; NULL if out of memory. */
struct mcache *mcache_create(void);
/* Gives everything in c back to the mcentrals and frees c. */
void mcache_destroy(struct mcache *c);
/* Gives back all cached objects and spans, and every list's growth, but
 * keeps c usable. */
void mcache_release_all(struct mcache *c);
/* Bytes every cache's bounds hold above class_to_max (for statistics and
 * tests); within the process's budget. */
uint64_t mcache_grown_total(void);
/* A thread's budget: ALLOC_THREAD_CACHE_KB (default 4 MiB, as tcmalloc's
 * largest thread cache; 0 keeps every list at class_to_max), set by
 * mcache_set_grow_budget at start-up. The process's: 16 threads' budgets,
 * and at least 64 MiB. */
void mcache_set_grow_budget(uint64_t thread_bytes);
extern uint32_t mcache_grow_thread_bytes;
#define MCACHE_GROW_THREAD_BYTES_DEFAULT (4u << 20)

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
