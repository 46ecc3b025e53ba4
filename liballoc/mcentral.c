/* mcentral.c: the central lists of one size class (mcentral.h).
 *
 * The life of a small span: the page heap makes it (all slots free); a
 * thread cache takes it and owns every free slot at once (mspan.h); when the
 * cache has used them all, the span is full and on no list; frees from any
 * thread clear bits of allocBits here, and the first one puts a full span on
 * the partial list; a partial span is taken by the next cache that runs dry;
 * when its last object comes back the span goes back to the page heap.
 *
 * Freed objects come here in batches from thread caches. A whole batch is
 * kept as is in the transfer cache, for the next cache that runs dry: this
 * is what makes producer/consumer patterns (one thread allocates, another
 * frees) cost one lock round trip per batch. Only when the transfer cache is
 * full do objects go back to their spans one by one. */
#include "mcentral.h"

#include <string.h>

#include "arena.h"
#include "freelist.h"
#include "mheap.h"

struct mcentral mcentral[SIZECLASS_COUNT];

static struct mspan *heap_alloc_span(uintptr_t npages, int sizeclass) {
  return mheap_alloc_span(npages, 1, sizeclass);
}

const struct mcentral_backend mcentral_heap_backend = {heap_alloc_span, mheap_free_span};

void mcentral_init(struct mcentral *c, unsigned sizeclass, const struct mcentral_backend *backend) {
  memset(c, 0, sizeof *c);
  lock_reinit(&c->lock);
  c->sizeclass = sizeclass;
  c->backend = backend;
}

static inline uint64_t word_mask(const struct mspan *s, unsigned w) {
  unsigned rem = s->nelems - w * 64u;
  return rem >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << rem) - 1);
}

/* Hands every free slot of s to the calling cache (lock held). */
static void span_give_to_cache(struct mspan *s, struct mcache *owner) {
  for (unsigned w = 0; w < s->nwords; w++) {
    uint64_t valid = word_mask(s, w);
    s->cacheBits[w] = ~s->allocBits[w] & valid;
    s->allocBits[w] = valid;
  }
  s->allocCount = s->nelems;
  s->incache = 1;
  STORE_RELAXED(&s->owner, owner);
  s->freeindex = 0;
}

struct mspan *mcentral_cache_span(struct mcentral *c, struct mcache *owner) {
  lock_acquire(&c->lock);
  struct mspan *s = c->partial.first;
  if (s != NULL) {
    mspan_list_remove(&c->partial, s);
    s->onpartial = 0;
    s->needzero = 1; /* its free slots held objects before */
    span_give_to_cache(s, owner);
    lock_release(&c->lock);
    return s;
  }
  lock_release(&c->lock);
  s = c->backend->alloc_span(class_to_npages[c->sizeclass], (int)c->sizeclass);
  if (s == NULL) return NULL;
  lock_acquire(&c->lock);
  c->nspans++;
  span_give_to_cache(s, owner);
  lock_release(&c->lock);
  return s;
}

/* After slots of s were freed (lock held): moves s to the partial list or,
 * when empty, off every list; returns 1 if s must go back to the heap. */
static int span_after_free(struct mcentral *c, struct mspan *s) {
  if (s->incache) return 0;
  if (s->allocCount == 0) {
    if (s->onpartial) {
      mspan_list_remove(&c->partial, s);
      s->onpartial = 0;
    }
    c->nspans--;
    return 1;
  }
  if (!s->onpartial) {
    mspan_list_insert(&c->partial, s);
    s->onpartial = 1;
  }
  return 0;
}

void mcentral_uncache_span(struct mcentral *c, struct mspan *s, uint64_t window) {
  lock_acquire(&c->lock);
  unsigned nfree = 0;
  for (unsigned w = s->freeindex == 0 ? 0 : s->freeindex - 1u; w < s->nwords; w++) {
    uint64_t bits = (s->freeindex != 0 && w == s->freeindex - 1u) ? window : s->cacheBits[w];
    s->allocBits[w] &= ~bits;
    nfree += (unsigned)__builtin_popcountll(bits);
  }
  s->allocCount = (uint16_t)(s->allocCount - nfree);
  s->incache = 0;
  STORE_RELAXED(&s->owner, NULL);
  /* Frees that came while it was cached may have left it partial or empty. */
  int release = s->allocCount < s->nelems ? span_after_free(c, s) : 0;
  lock_release(&c->lock);
  ALLOC_ASSERT_EXPENSIVE(mcentral_valid(c));
  if (release) c->backend->free_span(s);
}

void *mcentral_take_batch(struct mcentral *c, uint32_t *n) {
  if (LOAD_RELAXED(&c->nbatches) == 0) return NULL; /* racy peek: saves a lock */
  lock_acquire(&c->lock);
  void *head = NULL;
  if (c->nbatches != 0) {
    STORE_RELAXED(&c->nbatches, c->nbatches - 1); /* peeked at without the lock */
    head = c->batches[c->nbatches];
    *n = class_to_batch[c->sizeclass];
    c->active = 1;
  }
  lock_release(&c->lock);
  return head;
}

/* Returns the listed objects to their spans (lock held). Spans that become
 * empty are chained through next on *empty for the caller to free. */
static void free_to_spans(struct mcentral *c, void *head, struct mspan **empty) {
  while (head != NULL) {
    /* The object keeps its link word: a slot free in its span matches the
     * free-list key, so a second free of it is checked (freelist.h). */
    void *next = freelist_next(head);
    uintptr_t p = (uintptr_t)head;
    struct mspan *s = span_of(p);
    if (s == NULL || s->state != SPAN_SMALL || s->sizeclass != c->sizeclass)
      alloc_throw_ptr("free list holds a pointer of another size class (heap corruption)", head);
    uintptr_t i = mspan_object_index(s, p);
    if (!bitmap_get(s->allocBits, i)) alloc_throw_ptr("double free of", head);
    bitmap_clear(s->allocBits, i);
    s->allocCount--;
    if (span_after_free(c, s)) {
      s->next = *empty;
      *empty = s;
    }
    head = next;
  }
}

static void free_empty_spans(struct mcentral *c, struct mspan *empty) {
  while (empty != NULL) {
    struct mspan *next = empty->next;
    c->backend->free_span(empty);
    empty = next;
  }
}

void mcentral_put_list(struct mcentral *c, void *head, uint32_t n) {
  struct mspan *empty = NULL;
  lock_acquire(&c->lock);
  if (n == class_to_batch[c->sizeclass] && c->nbatches < class_to_maxbatches[c->sizeclass]) {
    c->batches[c->nbatches] = head;
    STORE_RELAXED(&c->nbatches, c->nbatches + 1);
    c->active = 1;
  } else {
    free_to_spans(c, head, &empty);
  }
  lock_release(&c->lock);
  free_empty_spans(c, empty);
}

void mcentral_drain(struct mcentral *c) {
  struct mspan *empty = NULL;
  lock_acquire(&c->lock);
  while (c->nbatches != 0) {
    STORE_RELAXED(&c->nbatches, c->nbatches - 1);
    free_to_spans(c, c->batches[c->nbatches], &empty);
  }
  lock_release(&c->lock);
  free_empty_spans(c, empty);
}

void mcentral_drain_if_idle(struct mcentral *c) {
  if (LOAD_RELAXED(&c->nbatches) == 0) return;
  struct mspan *empty = NULL;
  lock_acquire(&c->lock);
  if (!c->active)
    while (c->nbatches != 0) {
      STORE_RELAXED(&c->nbatches, c->nbatches - 1);
      free_to_spans(c, c->batches[c->nbatches], &empty);
    }
  c->active = 0;
  lock_release(&c->lock);
  free_empty_spans(c, empty);
}

int mcentral_holds_free(struct mcentral *c, const struct mspan *s, const void *p) {
  uintptr_t i = mspan_object_index(s, (uintptr_t)p);
  uint32_t batch = class_to_batch[c->sizeclass];
  int found = 0;
  lock_acquire(&c->lock);
  if (s->state == SPAN_SMALL && s->sizeclass == c->sizeclass) {
    /* Every slot free: the span may be on its way back to the page heap,
     * its bitmaps with it. Else clear in allocBits: back in the span. */
    found = s->allocCount == 0 || !bitmap_get(s->allocBits, i);
    /* Set in a cacheBits word the owning cache has not loaded yet: free,
     * not handed out. Once the owner loads the word (freeindex passes it),
     * the bit says nothing more; a stale freeindex cannot mislead us,
     * because a legitimate free of a slot of that word comes after the
     * owner handed it out, so after it advanced freeindex. */
    if (!found && s->incache && (i >> 6) >= LOAD_RELAXED(&s->freeindex))
      found = bitmap_get(s->cacheBits, i);
  }
  for (uint32_t b = 0; b < c->nbatches && !found; b++) {
    const void *q = c->batches[b];
    for (uint32_t n = 0; q != NULL && n < batch && !found; n++, q = freelist_next(q))
      found = q == p;
  }
  lock_release(&c->lock);
  return found;
}

int mcentral_valid(struct mcentral *c) {
  lock_acquire(&c->lock);
  int ok = 1;
  uintptr_t n = 0;
  for (struct mspan *s = c->partial.first; s != NULL && ok; s = s->next, n++) {
    unsigned set = 0;
    for (unsigned w = 0; w < s->nwords; w++)
      set += (unsigned)__builtin_popcountll(s->allocBits[w] & word_mask(s, w));
    if (s->state != SPAN_SMALL || s->sizeclass != c->sizeclass || !s->onpartial || s->incache ||
        s->allocCount == 0 || s->allocCount >= s->nelems || set != s->allocCount)
      ok = 0;
  }
  if (n != c->partial.count) ok = 0;
  lock_release(&c->lock);
  return ok;
}
