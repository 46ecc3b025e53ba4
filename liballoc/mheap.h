/* mheap.h: the page heap. It hands out runs of 8 KiB pages as spans (for a
 * size class's objects or one large object), coalesces runs when they are
 * freed, grows the heap from new arenas, and returns pages that stay free to
 * the OS (scavenger.c). One lock protects it. Overview: malloc.c. */
#ifndef ALLOC_MHEAP_H
#define ALLOC_MHEAP_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "metalloc.h"
#include "mspan.h"

ALLOC_HIDDEN_BEGIN

/* Free runs shorter than this many pages have an exact-size list each. */
#define HEAP_SMALL_RUNS 128

struct mheap {
  alloc_lock lock;
  struct mspan_list free_small[HEAP_SMALL_RUNS];      /* free runs of exactly i pages */
  uint64_t free_small_nonempty[HEAP_SMALL_RUNS / 64]; /* bit i: free_small[i] has runs */
  struct mspan_list free_large;                       /* free runs of >= HEAP_SMALL_RUNS pages */
  uintptr_t cur_base, cur_end;                  /* reserved address space not yet made into pages */
  struct fixalloc spanalloc;                    /* struct mspan */
  struct fixalloc bitsalloc[MSPAN_BITS_ORDERS]; /* span bitmaps: 2 x 2^order words */
  /* Accounting in pages (heap lock; read racily for statistics). */
  uintptr_t pages_in_use;   /* in spans handed out (small or large) */
  uintptr_t pages_free;     /* in free runs, backed by memory */
  uintptr_t pages_released; /* in free runs, returned to the OS */
  uintptr_t pages_large;    /* in large-object spans */
  /* Of pages_free and pages_released: those in spans out of the lists
   * while their pages are being returned (SPAN_SCAVENGING). */
  uintptr_t scavenging_free, scavenging_released;
  uint64_t nlarge_alloc, nlarge_free;
};

extern struct mheap mheap;

int mheap_init(void);

/* A span of npages pages whose base is aligned to align_pages pages (a power
 * of two; 1 for none). sizeclass 0 makes a large-object span; otherwise the
 * span is set up for that class (bitmaps all free). NULL when out of memory. */
struct mspan *mheap_alloc_span(uintptr_t npages, uintptr_t align_pages, int sizeclass);
/* Returns a span's pages to the heap. */
void mheap_free_span(struct mspan *s);
/* Large span s grows in place to npages if the pages after it are free.
 * Returns 1 on success, 0 if it could not. */
int mheap_grow_in_place(struct mspan *s, uintptr_t npages);
/* Large span s keeps its first npages pages and frees the rest. */
void mheap_shrink(struct mspan *s, uintptr_t npages);

/* Returns to the OS free pages that have been free for at least
 * min_age_ms, the runs with the most backed pages first, until at most
 * keep_bytes of free memory stay backed (give or take the 63 pages of one
 * bitmap word: a run keeps its low pages, which allocation takes first, and
 * releases from its end). Returns bytes released. Takes the heap lock. */
size_t mheap_scavenge(size_t keep_bytes, uint64_t min_age_ms);
/* Bytes of free pages still backed by memory. */
size_t mheap_free_backed_bytes(void);

/* Whether address a lies in free pages of the heap (a free run, or one
 * being returned to the OS): what a pointer to a freed large object finds.
 * Takes the heap lock; for error messages only. */
int mheap_is_free_memory(uintptr_t a);

/* scavenger.c: called after pages became free, with the bytes of free
 * pages now backed; when that is over ALLOC_RETAIN_MB, wakes the background
 * scavenger (or, without it, releases pages itself when far over). */
void scavenger_notify(size_t free_backed);
/* Whether the background scavenger runs (or will at its first wake-up):
 * ALLOC_SCAVENGER is not 0 and its thread could be made. */
int scavenger_enabled(void);
/* The scavenger's work done now, by the caller: pages free for the delay go
 * back until ALLOC_RETAIN_MB stays (jemalloc's arena.<i>.decay). Returns
 * the bytes released. */
size_t scavenger_decay(void);
void scavenger_after_fork_child(void);

int mheap_valid(void);

ALLOC_HIDDEN_END
#endif /* ALLOC_MHEAP_H */
