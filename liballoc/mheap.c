/* mheap.c: the page heap (mheap.h). Free runs of pages live in exact-size
 * lists for runs under HEAP_SMALL_RUNS pages (found with a bitmap of
 * non-empty lists) and one best-fit list above that. The first and last
 * pages of every span map to it (arena.h), so freeing a run finds its
 * neighbours in O(1) and coalesces with them. The heap grows in 4 MiB steps
 * (1 MiB while small), reserving address space as it goes (arena.c). Free
 * pages go back to the OS only after they have sat unused a while
 * (scavenger.c), so a program that frees and reallocates large blocks
 * reuses memory that is still backed and pays no page faults.
 * Overview: malloc.c. */
#include "mheap.h"

#include <string.h>

#include "arena.h"
#include "sizeclass.h"
#include "sys.h"

struct mheap mheap = {.lock = ALLOC_LOCK_INIT};

/* Growth step: 4 MiB, but 1 MiB while the heap is under 16 MiB, so that a
 * small program's heap costs little address space (ulimit -v). */
#define HEAP_GROW_BYTES ((uintptr_t)4 << 20)
#define HEAP_GROW_SMALL ((uintptr_t)1 << 20)
#define HEAP_SMALL_BYTES ((uintptr_t)16 << 20)

static void *steal_metadata_chunk(size_t size);

int mheap_init(void) {
  fixalloc_init(&mheap.spanalloc, sizeof(struct mspan));
  mheap.spanalloc.fallback_chunk = steal_metadata_chunk;
  for (int i = 0; i < MSPAN_BITS_ORDERS; i++) {
    fixalloc_init(&mheap.bitsalloc[i], 2 * sizeof(uint64_t) << i);
    mheap.bitsalloc[i].fallback_chunk = steal_metadata_chunk;
  }
  return 0;
}

/* ---- Released-page bitmap ------------------------------------------------ */

/* Calls fn on each maximal sub-run of pages in [base, base+npages) whose
 * released bit equals want, then sets every bit in the range to set_to (if
 * set_to >= 0). Returns the number of pages whose bit equalled want. Whole
 * 64-page words that are all one value are taken a word at a time, so a
 * run of a terabyte costs 2^21 steps, not 2^27; a word already holding
 * set_to is not written. */
static uintptr_t released_walk(uintptr_t base, uintptr_t npages, int want, int set_to,
                               void (*fn)(uintptr_t, uintptr_t)) {
  uintptr_t count = 0, run_start = 0, run_len = 0;
  const uint64_t all_want = want ? ~(uint64_t)0 : 0;
  for (uintptr_t p = base, end = base + npages * PAGE_BYTES; p < end;) {
    uint64_t *released = arena_side_of(p)->released;
    uintptr_t i = arena_page_index(p);
    if ((i & 63) == 0 && end - p >= 64 * PAGE_BYTES) {
      uint64_t *w = &released[i >> 6];
      if (*w == all_want || *w == ~all_want) {
        if (*w == all_want) {
          count += 64;
          if (run_len == 0) run_start = p;
          run_len += 64;
        } else if (run_len != 0) {
          if (fn) fn(run_start, run_len);
          run_len = 0;
        }
        if (set_to >= 0 && *w != (set_to ? ~(uint64_t)0 : 0)) *w = set_to ? ~(uint64_t)0 : 0;
        p += 64 * PAGE_BYTES;
        continue;
      }
    }
    int bit = bitmap_get(released, i);
    if (bit == want) {
      count++;
      if (run_len == 0) run_start = p;
      run_len++;
    } else if (run_len != 0) {
      if (fn) fn(run_start, run_len);
      run_len = 0;
    }
    if (set_to == 1 && !bit)
      bitmap_set(released, i);
    else if (set_to == 0 && bit)
      bitmap_clear(released, i);
    p += PAGE_BYTES;
  }
  if (run_len != 0 && fn) fn(run_start, run_len);
  return count;
}

/* ---- Free lists ---------------------------------------------------------- */

static void free_list_insert(struct mspan *s) {
  if (s->npages < HEAP_SMALL_RUNS) {
    mspan_list_insert(&mheap.free_small[s->npages], s);
    bitmap_set(mheap.free_small_nonempty, s->npages);
  } else {
    mspan_list_insert(&mheap.free_large, s);
  }
}

static void free_list_remove(struct mspan *s) {
  if (s->npages < HEAP_SMALL_RUNS) {
    mspan_list_remove(&mheap.free_small[s->npages], s);
    if (mheap.free_small[s->npages].first == NULL)
      bitmap_clear(mheap.free_small_nonempty, s->npages);
  } else {
    mspan_list_remove(&mheap.free_large, s);
  }
}

/* The free run for need pages: the smallest exact list with a run, else a
 * large run: the smallest (then lowest) that fits, or with lowest set the
 * lowest. A span of a small size class asks for the lowest (mheap_alloc_span
 * says why). */
static struct mspan *free_run_find(uintptr_t need, int lowest) {
  if (need < HEAP_SMALL_RUNS) {
    for (uintptr_t w = need / 64; w < HEAP_SMALL_RUNS / 64; w++) {
      uint64_t bits = mheap.free_small_nonempty[w];
      if (w == need / 64) bits &= ~(uint64_t)0 << (need % 64);
      if (bits != 0) return mheap.free_small[w * 64 + (uintptr_t)__builtin_ctzll(bits)].first;
    }
  }
  struct mspan *best = NULL;
  for (struct mspan *s = mheap.free_large.first; s != NULL; s = s->next) {
    if (s->npages < need) continue;
    if (best == NULL || (lowest && s->base < best->base) ||
        (!lowest &&
         (s->npages < best->npages || (s->npages == best->npages && s->base < best->base))))
      best = s;
  }
  return best;
}

/* ---- The span map's entries ----------------------------------------------
 * A free or large span has its first and last pages in the span map and
 * NULL between; a small span has every page (arena.h says why). These keep
 * that true through splits and merges with O(1) stores, whatever the size. */

static uintptr_t span_last_page(const struct mspan *s) {
  return s->base + (s->npages - 1) * PAGE_BYTES;
}

static void span_map_ends(struct mspan *s) {
  arena_set_span(s->base, s);
  arena_set_span(span_last_page(s), s);
}

/* lo is about to absorb hi, its upper neighbour (both free or large, npages
 * not yet added): the pages where they meet become interior. */
static void span_map_join(struct mspan *lo, struct mspan *hi) {
  if (lo->npages > 1) arena_set_span(span_last_page(lo), NULL);
  if (hi->npages > 1) arena_set_span(hi->base, NULL);
  arena_set_span(span_last_page(hi), lo);
}

/* Makes the entries span_split(s, npages, ...) will write writable: the new
 * last page of s and the first of the rest, which are neighbours. */
static int split_prepare(uintptr_t base, uintptr_t npages) {
  return arena_prepare(base + (npages - 1) * PAGE_BYTES, 2);
}

/* ---- Splitting and coalescing -------------------------------------------- */

/* s (out of any list) keeps its first npages pages; the rest becomes the
 * new free span t (allocated by the caller, not yet in a list), returned.
 * split_prepare(s->base, npages) must have succeeded. */
static struct mspan *span_split(struct mspan *s, uintptr_t npages, struct mspan *t) {
  t->base = s->base + npages * PAGE_BYTES;
  t->npages = s->npages - npages;
  t->state = SPAN_FREE;
  t->needzero = s->needzero;
  t->free_since_ms = s->free_since_ms;
  t->nreleased = s->nreleased ? released_walk(t->base, t->npages, 1, -1, NULL) : 0;
  s->nreleased -= t->nreleased;
  s->npages = npages;
  arena_set_span(span_last_page(s), s);
  span_map_ends(t);
  return t;
}

/* When free runs a and b merge, the time the merged run counts as free
 * since: the mean of theirs weighted by their backed pages (released pages
 * have nothing left to return). Taking the later of the two would let one
 * page freed again and again keep a large idle run from ever going back;
 * the earlier, a run that is being reused from going back at once. */
static uint64_t merged_age(const struct mspan *a, const struct mspan *b) {
  uint64_t wa = a->npages - a->nreleased, wb = b->npages - b->nreleased;
  if (wa + wb == 0)
    return a->free_since_ms > b->free_since_ms ? a->free_since_ms : b->free_since_ms;
  if (a->free_since_ms <= b->free_since_ms)
    return a->free_since_ms + (uint64_t)((double)(b->free_since_ms - a->free_since_ms) *
                                         (double)wb / (double)(wa + wb));
  return b->free_since_ms +
         (uint64_t)((double)(a->free_since_ms - b->free_since_ms) * (double)wa / (double)(wa + wb));
}

/* Inserts free span s into the lists, merged with free neighbours. */
static void free_insert_coalesce(struct mspan *s) {
  struct mspan *before = s->base > PAGE_BYTES ? span_of(s->base - 1) : NULL;
  if (before != NULL && before->state == SPAN_FREE) {
    free_list_remove(before);
    before->free_since_ms = merged_age(before, s);
    span_map_join(before, s);
    before->npages += s->npages;
    before->needzero |= s->needzero;
    before->nreleased += s->nreleased;
    s->state = SPAN_DEAD;
    fixalloc_free(&mheap.spanalloc, s);
    s = before;
  }
  struct mspan *after = span_of(s->base + s->npages * PAGE_BYTES);
  if (after != NULL && after->state == SPAN_FREE) {
    free_list_remove(after);
    s->free_since_ms = merged_age(s, after);
    span_map_join(s, after);
    s->npages += after->npages;
    s->needzero |= after->needzero;
    s->nreleased += after->nreleased;
    after->state = SPAN_DEAD;
    fixalloc_free(&mheap.spanalloc, after);
  }
  free_list_insert(s);
}

/* ---- Metadata from free pages --------------------------------------------- */

/* When the address space is exhausted (ulimit -v), the OS refuses the small
 * mappings span structs and bitmaps come from, although the heap may hold
 * plenty of free pages: without this, a program that freed everything could
 * not allocate a small object again. Takes pages off the end of a free run
 * larger than needed (so no new span struct is needed for the split) and
 * turns them into metadata for good. Heap lock held. */
static void *steal_metadata_chunk(size_t size) {
  uintptr_t npages = align_up(size, PAGE_BYTES) / PAGE_BYTES;
  struct mspan *s = free_run_find(npages + 1, 0);
  if (s == NULL) return NULL;
  uintptr_t tail = s->base + (s->npages - npages) * PAGE_BYTES;
  if (arena_prepare(tail - PAGE_BYTES, 1) != 0) return NULL;
  free_list_remove(s);
  uintptr_t rel = s->nreleased ? released_walk(tail, npages, 1, 0, NULL) : 0;
  if (rel != 0) sys_used((void *)tail, rel * PAGE_BYTES);
  s->nreleased -= rel;
  arena_set_span(span_last_page(s), NULL); /* the tail's last page */
  s->npages -= npages;
  arena_set_span(span_last_page(s), s);
  mheap.pages_free -= npages - rel;
  mheap.pages_released -= rel;
  free_list_insert(s);
  if (s->needzero) memset((void *)tail, 0, npages * PAGE_BYTES);
  ADD_RELAXED(&sys_stats.metadata, npages * PAGE_BYTES);
  return (void *)tail;
}

/* ---- Growth -------------------------------------------------------------- */

/* Makes at least npages new pages and puts them in the free lists.
 *
 * The order matters for requests the machine cannot back: new address space
 * is reserved, then committed (sys_map, where the kernel's overcommit policy
 * may say no), and only then registered in the arena map. A refused commit
 * gives the reservation back and leaves no metadata: malloc(1 TiB) on a
 * smaller machine costs two system calls and returns NULL. */
static int heap_grow_by(uintptr_t need, uintptr_t ask) {
  uintptr_t start = mheap.cur_base, end = mheap.cur_end;
  uintptr_t fresh = 0, fresh_len = 0; /* a new reservation, not yet registered */
  if (end - start < need) {
    fresh = arena_reserve(ask, &fresh_len);
    if (fresh == 0) return -1;
    /* Contiguous with the old one: use both. Otherwise the rest of the old
     * reservation stays Reserved and unused; it costs address space only. */
    if (fresh != end) start = fresh;
    end = fresh + fresh_len;
  }
  if (ask > end - start) ask = need;
  struct mspan *s = fixalloc_alloc(&mheap.spanalloc);
  if (s == NULL || sys_map((void *)start, ask) != 0) goto fail;
  if ((fresh != 0 && arena_register(fresh, fresh_len) != 0) || arena_prepare(start, 1) != 0 ||
      arena_prepare(start + ask - PAGE_BYTES, 1) != 0) {
    sys_fault((void *)start, ask);
    goto fail;
  }
  mheap.cur_base = start + ask;
  mheap.cur_end = end;
  s->base = start;
  s->npages = ask / PAGE_BYTES;
  s->state = SPAN_FREE;
  s->needzero = 0; /* fresh from the OS */
  s->free_since_ms = alloc_now_ms();
  span_map_ends(s);
  mheap.pages_free += s->npages;
  free_insert_coalesce(s);
  return 0;
fail:
  if (s != NULL) fixalloc_free(&mheap.spanalloc, s);
  if (fresh != 0) arena_unreserve(fresh, fresh_len);
  return -1;
}

static int heap_grow(uintptr_t npages) {
  uintptr_t need = npages * PAGE_BYTES;
  uintptr_t step =
      LOAD_RELAXED(&sys_stats.mapped) < HEAP_SMALL_BYTES ? HEAP_GROW_SMALL : HEAP_GROW_BYTES;
  uintptr_t ask = align_up(need, step);
  if (ask < need) return -1;
  if (heap_grow_by(need, ask) == 0) return 0;
  /* Under `ulimit -v` the whole step may not fit where the exact need
   * does (its address space, or the metadata after it). */
  return ask > need ? heap_grow_by(need, need) : -1;
}

/* ---- Allocation ---------------------------------------------------------- */

/* Takes the pages of s (out of the lists) into use: their released pages are
 * backed again and the accounting moves them to in-use. */
static void span_take_pages(struct mspan *s) {
  uintptr_t rel = s->nreleased ? released_walk(s->base, s->npages, 1, 0, NULL) : 0;
  if (rel != 0) sys_used((void *)s->base, rel * PAGE_BYTES);
  mheap.pages_released -= rel;
  mheap.pages_free -= s->npages - rel;
  mheap.pages_in_use += s->npages;
  s->nreleased = 0;
}

static unsigned class_bits_order(int sizeclass) {
  return mspan_bits_order((class_to_nelems[sizeclass] + 63u) / 64u);
}

/* Sets s up to hold objects of sizeclass, every slot free, with the bitmaps
 * bits (from bitsalloc[class_bits_order(sizeclass)]). */
static void span_init_small(struct mspan *s, int sizeclass, uint64_t *bits) {
  s->sizeclass = (uint8_t)sizeclass;
  s->cache_offset = (uint16_t)(sizeclass * MSPAN_CACHE_ENTRY);
  s->elemsize = class_to_size[sizeclass];
  s->nelems = class_to_nelems[sizeclass];
  s->divmagic = class_to_divmagic[sizeclass];
  s->nwords = (uint16_t)((s->nelems + 63) / 64);
  unsigned order = mspan_bits_order(s->nwords);
  s->allocBits = bits;
  s->cacheBits = bits + ((uintptr_t)1 << order);
  s->allocCount = 0;
  s->freeindex = 0;
  s->incache = 0;
  s->onpartial = 0;
  s->state = SPAN_SMALL;
}

struct mspan *mheap_alloc_span(uintptr_t npages, uintptr_t align_pages, int sizeclass) {
  if (align_pages == 0) align_pages = 1;
  uintptr_t need = npages + align_pages - 1;
  if (need < npages) return NULL;
  lock_acquire(&mheap.lock);
  /* Metadata first, while every free run is still in the lists: when the OS
   * refuses new mappings, these come out of free pages (steal_metadata_chunk),
   * and the run we are about to take may be the only one. */
  struct mspan *spare_head = fixalloc_alloc(&mheap.spanalloc);
  struct mspan *spare_tail = fixalloc_alloc(&mheap.spanalloc);
  unsigned order = sizeclass != 0 ? class_bits_order(sizeclass) : 0;
  uint64_t *bits = sizeclass != 0 ? fixalloc_alloc(&mheap.bitsalloc[order]) : NULL;
  struct mspan *s = NULL;
  if (spare_head == NULL || spare_tail == NULL || (sizeclass != 0 && bits == NULL)) goto out;
  /* A small span may stay pinned by one live object for the life of the
   * program: cut from a gap between large blocks, it keeps the gap from
   * merging with its neighbours when they are freed, and the next big
   * request grows the heap instead (bench/large: 32 MiB more, for the few
   * small spans a thread's start took in the middle of a heap of large
   * blocks). Taken from the lowest run, small spans gather at the bottom
   * of the heap, as Go's page allocator keeps them. */
  s = free_run_find(need, sizeclass != 0);
  if (s == NULL) {
    if (heap_grow(need) != 0) goto out;
    s = free_run_find(need, sizeclass != 0);
    if (s == NULL) goto out;
  }
  /* Trim the head up to the alignment, then the tail. The span-map pages
   * the trims and a small span write are made writable first, while
   * failing changes nothing. */
  uintptr_t head = (align_up(s->base, align_pages * PAGE_BYTES) - s->base) / PAGE_BYTES;
  uintptr_t base = s->base + head * PAGE_BYTES;
  if ((head != 0 && split_prepare(s->base, head) != 0) ||
      (s->npages - head > npages && split_prepare(base, npages) != 0) ||
      (sizeclass != 0 && arena_prepare(base, npages) != 0)) {
    s = NULL;
    goto out;
  }
  free_list_remove(s);
  if (head != 0) {
    struct mspan *rest = span_split(s, head, spare_head);
    spare_head = NULL;
    free_list_insert(s);
    s = rest;
  }
  if (s->npages > npages) {
    free_list_insert(span_split(s, npages, spare_tail));
    spare_tail = NULL;
  }
  span_take_pages(s);
  s->next = s->prev = NULL;
  s->sampled = 0;
  s->nsampled = 0;
  s->sampledBits = NULL;
  s->sampledWord = 0;
  if (sizeclass == 0) {
    s->state = SPAN_LARGE;
    s->sizeclass = 0;
    s->cache_offset = 0;
    s->elemsize = 0;
    mheap.pages_large += s->npages;
    mheap.nlarge_alloc++;
  } else {
    span_init_small(s, sizeclass, bits);
    bits = NULL;
    arena_set_spans(s->base, s->npages, s); /* free() looks up any object */
  }
out:
  if (spare_head != NULL) fixalloc_free(&mheap.spanalloc, spare_head);
  if (spare_tail != NULL) fixalloc_free(&mheap.spanalloc, spare_tail);
  if (bits != NULL) fixalloc_free(&mheap.bitsalloc[order], bits);
  lock_release(&mheap.lock);
  return s;
}

void mheap_free_span(struct mspan *s) {
  lock_acquire(&mheap.lock);
  if (s->state == SPAN_SMALL) {
    fixalloc_free(&mheap.bitsalloc[mspan_bits_order(s->nwords)], s->allocBits);
    s->allocBits = s->cacheBits = NULL;
    if (s->npages > 2) arena_set_spans(s->base + PAGE_BYTES, s->npages - 2, NULL);
  } else {
    mheap.pages_large -= s->npages;
    mheap.nlarge_free++;
  }
  mheap.pages_in_use -= s->npages;
  mheap.pages_free += s->npages;
  s->state = SPAN_FREE;
  s->sizeclass = 0;
  s->cache_offset = 0;
  s->needzero = 1;
  s->nreleased = 0;
  s->free_since_ms = alloc_now_ms();
  free_insert_coalesce(s);
  uintptr_t backed = mheap.pages_free;
  lock_release(&mheap.lock);
  ALLOC_ASSERT_EXPENSIVE(mheap_valid());
  scavenger_notify(backed * PAGE_BYTES);
}

int mheap_grow_in_place(struct mspan *s, uintptr_t npages) {
  if (npages <= s->npages) return 1;
  lock_acquire(&mheap.lock);
  struct mspan *spare = fixalloc_alloc(&mheap.spanalloc);
  struct mspan *after = span_of(s->base + s->npages * PAGE_BYTES);
  int ok = 0;
  uintptr_t extra = npages - s->npages;
  if (spare != NULL && after != NULL && after->state == SPAN_FREE &&
      s->npages + after->npages >= npages &&
      (after->npages == extra || split_prepare(after->base, extra) == 0)) {
    free_list_remove(after);
    if (after->npages > extra) {
      free_list_insert(span_split(after, extra, spare));
      spare = NULL;
    }
    span_take_pages(after);
    span_map_join(s, after);
    s->npages += after->npages;
    mheap.pages_large += after->npages;
    after->state = SPAN_DEAD;
    fixalloc_free(&mheap.spanalloc, after);
    ok = 1;
  }
  if (spare != NULL) fixalloc_free(&mheap.spanalloc, spare);
  lock_release(&mheap.lock);
  return ok;
}

void mheap_shrink(struct mspan *s, uintptr_t npages) {
  if (npages >= s->npages || npages == 0) return;
  lock_acquire(&mheap.lock);
  struct mspan *spare = fixalloc_alloc(&mheap.spanalloc);
  if (spare != NULL && split_prepare(s->base, npages) != 0) { /* keep the pages */
    fixalloc_free(&mheap.spanalloc, spare);
    spare = NULL;
  }
  if (spare != NULL) {
    struct mspan *tail = span_split(s, npages, spare);
    mheap.pages_in_use -= tail->npages;
    mheap.pages_large -= tail->npages;
    mheap.pages_free += tail->npages;
    tail->needzero = 1;
    tail->free_since_ms = alloc_now_ms();
    free_insert_coalesce(tail);
  }
  uintptr_t backed = mheap.pages_free;
  lock_release(&mheap.lock);
  if (spare != NULL) scavenger_notify(backed * PAGE_BYTES);
}

/* ---- Returning memory to the OS ------------------------------------------ */

static void release_run(uintptr_t base, uintptr_t npages) {
  sys_unused((void *)base, npages * PAGE_BYTES);
}

/* The free span with the most backed pages among those old enough. */
static struct mspan *scavenge_candidate(uint64_t now, uint64_t min_age_ms) {
  struct mspan *best = NULL;
  uintptr_t best_backed = 0;
  for (struct mspan *s = mheap.free_large.first; s != NULL; s = s->next) {
    uintptr_t backed = s->npages - s->nreleased;
    if (backed > best_backed && now - s->free_since_ms >= min_age_ms)
      best = s, best_backed = backed;
  }
  if (best != NULL) return best;
  for (int i = HEAP_SMALL_RUNS - 1; i > 0; i--) {
    for (struct mspan *s = mheap.free_small[i].first; s != NULL; s = s->next) {
      if (s->npages != s->nreleased && now - s->free_since_ms >= min_age_ms) return s;
    }
  }
  return NULL;
}

/* Releases backed pages of s (SPAN_SCAVENGING, heap lock not held) from its
 * end down, a word of the released bitmap (64 pages) at a time, until at
 * least want pages went or none are left; the low pages, which allocation
 * takes first, stay backed. Returns the pages released and *from, the start
 * of the range walked, whose bits the caller sets under the lock. */
static uintptr_t release_tail(struct mspan *s, uintptr_t want, uintptr_t *from) {
  uintptr_t n = 0, end = s->base + s->npages * PAGE_BYTES;
  uintptr_t at = end;
  while (at > s->base && n < want) {
    uintptr_t step = (arena_page_index(at) & 63) ? (arena_page_index(at) & 63) : 64;
    if (step > (at - s->base) / PAGE_BYTES) step = (at - s->base) / PAGE_BYTES;
    at -= step * PAGE_BYTES;
    n += released_walk(at, step, 0, -1, release_run);
  }
  *from = at;
  return n;
}

size_t mheap_scavenge(size_t keep_bytes, uint64_t min_age_ms) {
  size_t released = 0;
  uintptr_t keep_pages = keep_bytes / PAGE_BYTES;
  lock_acquire(&mheap.lock);
  uint64_t now = alloc_now_ms();
  while (mheap.pages_free > keep_pages) {
    struct mspan *s = scavenge_candidate(now, min_age_ms);
    if (s == NULL) break;
    free_list_remove(s);
    s->state = SPAN_SCAVENGING; /* neighbours will not merge with it meanwhile */
    mheap.scavenging_free += s->npages - s->nreleased;
    mheap.scavenging_released += s->nreleased;
    uintptr_t want = mheap.pages_free - keep_pages;
    lock_release(&mheap.lock);
    uintptr_t from;
    uintptr_t n = release_tail(s, want, &from);
    lock_acquire(&mheap.lock);
    mheap.scavenging_free -= s->npages - s->nreleased;
    mheap.scavenging_released -= s->nreleased;
    uintptr_t last = span_last_page(s);
    released_walk(from, (last + PAGE_BYTES - from) / PAGE_BYTES, 0, 1, NULL);
    /* The span map of its inside goes back too: those entries are NULL. */
    uintptr_t inner = from > s->base ? from : s->base + PAGE_BYTES;
    if (last > inner) arena_release_map(inner, (last - inner) / PAGE_BYTES);
    mheap.pages_free -= n;
    mheap.pages_released += n;
    released += n * PAGE_BYTES;
    s->nreleased += n;
    if (s->nreleased == s->npages) s->needzero = 0; /* every page now reads as zero */
    s->state = SPAN_FREE;
    free_insert_coalesce(s);
  }
  lock_release(&mheap.lock);
  return released;
}

size_t mheap_free_backed_bytes(void) {
  lock_acquire(&mheap.lock);
  size_t n = mheap.pages_free * PAGE_BYTES;
  lock_release(&mheap.lock);
  return n;
}

/* ---- Error reports -------------------------------------------------------- */

int mheap_is_free_memory(uintptr_t a) {
  /* The span owning a's page has an entry there or, inside a large object
   * or a free run, at its first page below (arena.h): walk down to it, a
   * bounded way (this runs only to word a fatal error). */
  int found = 0;
  lock_acquire(&mheap.lock);
  uintptr_t pg = align_down(a, PAGE_BYTES);
  for (unsigned n = 0; n < (1u << 20) && arena_of(pg) != NULL; n++, pg -= PAGE_BYTES) {
    struct mspan *s = span_of(pg);
    if (s != NULL) {
      found = (s->state == SPAN_FREE || s->state == SPAN_SCAVENGING) &&
              a - s->base < s->npages * PAGE_BYTES;
      break;
    }
    if (pg < PAGE_BYTES) break;
  }
  lock_release(&mheap.lock);
  return found;
}

/* ---- Validation (ALLOC_DEBUG >= 2 and tests) ----------------------------- */

int mheap_valid(void) {
  lock_acquire(&mheap.lock);
  int ok = 1;
  uintptr_t free_pages = 0, released = 0;
  for (int i = 0; i <= HEAP_SMALL_RUNS && ok; i++) {
    struct mspan *s = i < HEAP_SMALL_RUNS ? mheap.free_small[i].first : mheap.free_large.first;
    for (; s != NULL; s = s->next) {
      if (s->state != SPAN_FREE || (i < HEAP_SMALL_RUNS && s->npages != (uintptr_t)i) ||
          (i == HEAP_SMALL_RUNS && s->npages < HEAP_SMALL_RUNS) || span_of(s->base) != s ||
          span_of(s->base + (s->npages - 1) * PAGE_BYTES) != s ||
          released_walk(s->base, s->npages, 1, -1, NULL) != s->nreleased ||
          /* interior pages have no entry (sampled next to each end) */
          (s->npages > 2 && (span_of(s->base + PAGE_BYTES) != NULL ||
                             span_of(span_last_page(s) - PAGE_BYTES) != NULL))) {
        ok = 0;
        break;
      }
      /* Coalescing must have merged free neighbours. */
      struct mspan *after = span_of(s->base + s->npages * PAGE_BYTES);
      if (after != NULL && after->state == SPAN_FREE) ok = 0;
      free_pages += s->npages - s->nreleased;
      released += s->nreleased;
    }
  }
  if (ok && (free_pages + mheap.scavenging_free != mheap.pages_free ||
             released + mheap.scavenging_released != mheap.pages_released))
    ok = 0;
  lock_release(&mheap.lock);
  return ok;
}
