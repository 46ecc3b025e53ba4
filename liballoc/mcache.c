/* mcache.c: the slow paths of the per-thread cache (mcache.h) and the life
 * of caches: creation, flush at thread exit, the list of live caches. The
 * fast paths are inline in malloc.c. */
#include "mcache.h"

#include <string.h>

#include "mcentral.h"
#include "metalloc.h"

alloc_lock mcache_all_lock = ALLOC_LOCK_INIT;
struct mcache *mcache_all;
uint64_t mcache_retired_nmalloc[SIZECLASS_COUNT];
uint64_t mcache_retired_nfree[SIZECLASS_COUNT];
uint64_t mcache_live;
/* Bytes all caches' bounds hold above class_to_max (atomic: every cache
 * adds its growth and takes it back). */
static uint64_t grown_total;
uint32_t mcache_grow_thread_bytes = MCACHE_GROW_THREAD_BYTES_DEFAULT;
static uint64_t grow_process_bytes = 16u * MCACHE_GROW_THREAD_BYTES_DEFAULT;

void mcache_set_grow_budget(uint64_t thread_bytes) {
  mcache_grow_thread_bytes = (uint32_t)thread_bytes;
  grow_process_bytes = 16 * thread_bytes > (64u << 20) ? 16 * thread_bytes : (64u << 20);
}
static struct fixalloc mcache_alloc_meta; /* under mcache_all_lock */
static int mcache_alloc_ready;

/* Loads the next non-empty word of e->span's cacheBits into the window.
 * Returns 0 when the span has no free slot left. */
static int window_next(struct mcache_class *e) {
  struct mspan *s = e->span;
  while (s->freeindex < s->nwords) {
    unsigned w = s->freeindex;
    /* Relaxed: mcentral_holds_free reads it from other threads. */
    STORE_RELAXED(&s->freeindex, (uint16_t)(w + 1));
    uint64_t bits = s->cacheBits[w];
    if (bits != 0) {
      e->allocCache = bits;
      s->window_base = s->base + (uintptr_t)w * 64u * s->elemsize;
      return 1;
    }
  }
  return 0;
}

void *mcache_refill(struct mcache *c, unsigned sizeclass, int *zeroed) {
  struct mcache_class *e = &c->cls[sizeclass];
  struct mcentral *central = &mcentral[sizeclass];
  c->refilled[sizeclass] = 1;
  if (e->span != NULL) {
    if (e->allocCache == 0 && !window_next(e)) {
      mcentral_uncache_span(central, e->span, 0);
      e->span = NULL;
    } else {
      *zeroed = !e->span->needzero;
      return mcache_window_take(e);
    }
  }
  /* Objects other threads freed come first: reusing them keeps the heap
   * small, and a batch costs one lock round trip. */
  uint32_t n;
  void *head = mcentral_take_batch(central, &n);
  if (head != NULL) {
    e->list = freelist_next(head);
    freelist_clear(head);
    mcache_room_set(e, c->list_max[sizeclass] - (int32_t)(n - 1));
    e->nmalloc_base += n; /* n - 1 held (the list was empty), head handed out */
    *zeroed = 0;
    return head;
  }
  struct mspan *s = mcentral_cache_span(central, c);
  if (s == NULL) return NULL;
  e->span = s;
  if (!window_next(e)) alloc_throw("span from mcentral has no free slot");
  *zeroed = !s->needzero;
  return mcache_window_take(e);
}

/* Detaches the first n objects of e's list (n <= its length). */
static void *list_cut(struct mcache_class *e, uint32_t n) {
  void *head = e->list, *last = head;
  for (uint32_t i = 1; i < n; i++) last = freelist_next(last);
  e->list = freelist_next(last);
  freelist_set_next(last, NULL);
  mcache_room_add(e, (int32_t)n);
  e->nmalloc_base -= n; /* no longer held (mcache_nmalloc) */
  return head;
}

/* Hands the oldest batch of e's list (or what it holds, if less) to the
 * mcentral. */
static void flush_batch(struct mcache *c, struct mcache_class *e) {
  unsigned sizeclass = (unsigned)(e - c->cls);
  uint32_t n = class_to_batch[sizeclass], len = mcache_list_len(e, sizeclass);
  if (n > len) n = len;
  mcentral_put_list(&mcentral[sizeclass], list_cut(e, n), n);
}

/* Takes every class's list back to its first bound (class_to_max), handing
 * what it holds above that to the mcentrals, and gives the growth back to
 * the process's budget. */
static void shrink_lists(struct mcache *c) {
  for (unsigned k = 1; k < SIZECLASS_COUNT; k++) {
    struct mcache_class *e = &c->cls[k];
    int32_t base = (int32_t)class_to_max[k];
    while ((int32_t)mcache_list_len(e, k) > base) flush_batch(c, e);
    mcache_room_add(e, -(c->list_max[k] - base));
    STORE_RELAXED(&c->list_max[k], base);
    c->refilled[k] = 0;
  }
  __atomic_fetch_sub(&grown_total, (uint64_t)c->grown_bytes, __ATOMIC_RELAXED);
  c->grown_bytes = 0;
}

/* Grows class k's bound by a batch, within MCACHE_LIST_BATCHES and the
 * budgets, if the thread has ever run the list dry (since its lists last
 * shrank): a list grows for a thread that allocates the class too, never
 * for one that only frees it (a consumer: the objects it kept would sit
 * unused while the producer carved new spans; xmalloc's peak RSS was 25%
 * higher before this test). Letting it grow only once per running dry
 * instead was slower: batch's two threads then traded batches through
 * the mcentral for many rounds, and, in half the runs, kept each other's
 * objects on their lists, sharing cache lines, for the rest of the run
 * (0.21 s or 0.33 s where the rule here gives 0.24 s every time).
 * A thread whose own budget is spent gives all its growth back first:
 * the classes it grew for may be done with (a program's phases free
 * different sizes in bulk), and the flushes that costs are those the
 * growth had saved. Returns 0 when the bound stays. */
static int grow_list(struct mcache *c, unsigned k) {
  if (!c->refilled[k]) return 0;
  uint32_t batch = class_to_batch[k];
  uint32_t bytes = batch * class_to_size[k];
  if ((uint32_t)c->list_max[k] + batch > MCACHE_LIST_BATCHES * batch) return 0;
  if (c->grown_bytes + bytes > mcache_grow_thread_bytes) {
    if (c->grown_bytes != 0) shrink_lists(c); /* none to give back: flush as if never grown */
    return 0;
  }
  uint64_t was = __atomic_fetch_add(&grown_total, (uint64_t)bytes, __ATOMIC_RELAXED);
  if (was + bytes > grow_process_bytes) {
    __atomic_fetch_sub(&grown_total, (uint64_t)bytes, __ATOMIC_RELAXED);
    return 0;
  }
  c->grown_bytes += bytes;
  STORE_RELAXED(&c->list_max[k], c->list_max[k] + (int32_t)batch);
  mcache_room_add(&c->cls[k], (int32_t)batch);
  return 1;
}

void mcache_flush(struct mcache *c, struct mcache_class *e) {
  if (grow_list(c, (unsigned)(e - c->cls))) return;
  if (mcache_room(e) < 0) flush_batch(c, e); /* still over: grow_list may have shrunk it */
}

uint64_t mcache_grown_total(void) { return __atomic_load_n(&grown_total, __ATOMIC_RELAXED); }

void mcache_flush_remote(struct mcache *c, struct mcache_class *e) {
  unsigned sizeclass = (unsigned)(e - c->cls);
  void *head = e->remote;
  uint32_t n = mcache_remote_len(e, sizeclass);
  e->remote = NULL;
  e->remote_room = (int32_t)class_to_batch[sizeclass] - 1;
  e->nmalloc_base -= n;
  if (n != 0) mcentral_put_list(&mcentral[sizeclass], head, n);
}

/* Whether p is on the list from head (at most n objects: a list that
 * claims more is not walked further). */
static int list_holds(const void *head, uint32_t n, const void *p) {
  for (uint32_t i = 0; head != NULL && i < n; i++, head = freelist_next(head))
    if (head == p) return 1;
  return 0;
}

void mcache_check_free(struct mcache *c, const struct mspan *s, const void *p, const char *what) {
  unsigned k = s->sizeclass;
  if (c != NULL) {
    struct mcache_class *e = &c->cls[k];
    if (list_holds(e->list, mcache_list_len(e, k), p) ||
        list_holds(e->remote, mcache_remote_len(e, k), p))
      alloc_throw_ptr(what, p);
    /* A slot of the window this cache is carving: not handed out yet. */
    if (e->span == s && s->freeindex != 0) {
      uintptr_t i = mspan_object_index(s, (uintptr_t)p);
      if ((i >> 6) == s->freeindex - 1u && (e->allocCache >> (i & 63) & 1))
        alloc_throw_ptr(what, p);
    }
  }
  if (mcentral_holds_free(&mcentral[k], s, p)) alloc_throw_ptr(what, p);
}

void mcache_release_all(struct mcache *c) {
  shrink_lists(c);
  for (unsigned k = 1; k < SIZECLASS_COUNT; k++) {
    struct mcache_class *e = &c->cls[k];
    while (mcache_list_len(e, k) != 0) flush_batch(c, e);
    if (e->list != NULL) { /* more than counted (mcache.h, count): give them back too */
      uint32_t n = 1;
      for (void *o = e->list; freelist_next(o) != NULL; o = freelist_next(o)) n++;
      mcentral_put_list(&mcentral[k], e->list, n);
    }
    e->list = NULL;
    mcache_flush_remote(c, e);
    if (e->span != NULL) {
      mcentral_uncache_span(&mcentral[k], e->span, e->allocCache);
      e->span = NULL;
      e->allocCache = 0;
    }
  }
}

struct mcache *mcache_create(void) {
  lock_acquire(&mcache_all_lock);
  if (!mcache_alloc_ready) {
    fixalloc_init(&mcache_alloc_meta, sizeof(struct mcache));
    mcache_alloc_ready = 1;
  }
  struct mcache *c = fixalloc_alloc(&mcache_alloc_meta);
  if (c != NULL) {
    prof_sampler_init(&c->sampler);
    for (unsigned k = 0; k < SIZECLASS_COUNT; k++) {
      mcache_room_set(&c->cls[k], (int32_t)class_to_max[k]);
      c->list_max[k] = (int32_t)class_to_max[k];
      c->cls[k].remote_room = (int32_t)class_to_batch[k] - 1;
    }
    c->all_next = mcache_all;
    c->all_prev = NULL;
    if (mcache_all != NULL) mcache_all->all_prev = c;
    mcache_all = c;
    mcache_live++;
  }
  lock_release(&mcache_all_lock);
  return c;
}

static void mcache_unlink(struct mcache *c) {
  if (c->all_prev != NULL)
    c->all_prev->all_next = c->all_next;
  else
    mcache_all = c->all_next;
  if (c->all_next != NULL) c->all_next->all_prev = c->all_prev;
}

void mcache_destroy(struct mcache *c) {
  mcache_release_all(c);
  lock_acquire(&mcache_all_lock);
  for (unsigned k = 1; k < SIZECLASS_COUNT; k++) {
    mcache_retired_nmalloc[k] += mcache_nmalloc(&c->cls[k], k);
    mcache_retired_nfree[k] += mcache_nfree(&c->cls[k]);
  }
  mcache_unlink(c);
  mcache_live--;
  fixalloc_free(&mcache_alloc_meta, c);
  lock_release(&mcache_all_lock);
}

void mcache_after_fork_child(struct mcache *keep1, struct mcache *keep2) {
  /* Called with mcache_all_lock held. The other threads are gone; their cached objects are lost to the child
   * (a bounded leak), but their counters stay right. */
  struct mcache *c = mcache_all;
  while (c != NULL) {
    struct mcache *next = c->all_next;
    if (c != keep1 && c != keep2) {
      for (unsigned k = 1; k < SIZECLASS_COUNT; k++) {
        mcache_retired_nmalloc[k] += mcache_nmalloc(&c->cls[k], k);
        mcache_retired_nfree[k] += mcache_nfree(&c->cls[k]);
      }
      __atomic_fetch_sub(&grown_total, (uint64_t)c->grown_bytes, __ATOMIC_RELAXED);
      mcache_unlink(c);
      mcache_live--;
      fixalloc_free(&mcache_alloc_meta, c);
    }
    c = next;
  }
}
