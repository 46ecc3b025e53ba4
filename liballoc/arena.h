/* arena.h: heap arenas and the arena map. The heap is made of 64 MiB arenas
 * aligned to 64 MiB; each has a heap_arena record with the page->span map
 * for its 8192 pages. The arena map takes any address to its heap_arena (or
 * NULL: not ours), so free(p) finds p's span in three dependent loads.
 * Overview: malloc.c. */
#ifndef ALLOC_ARENA_H
#define ALLOC_ARENA_H

#include <stdint.h>

#include "internal.h"
#include "mspan.h"

ALLOC_HIDDEN_BEGIN

struct heap_arena {
  /* Page -> span. Every page of every span (free or in use) points at it;
   * NULL where no span has been made yet. Written under the heap lock, read
   * without it (relaxed atomics). */
  struct mspan *spans[PAGES_PER_ARENA];
  /* Page returned to the OS and not reused since (heap lock). */
  uint64_t released[PAGES_PER_ARENA / 64];
};

/* The L2 map: one entry per possible arena. ARENA_L1_BITS is 0 here, so
 * there is a single L2 array, 32 MiB of zero-filled BSS of which only the
 * pages holding live entries are ever touched. Being in BSS, its address is
 * a link-time constant: a lookup is one load, with no pointer to chase and
 * no "not yet initialised" case. */
#define ARENA_MAP_ENTRIES ((uintptr_t)1 << ARENA_L2_BITS)
extern struct heap_arena *arena_map[ARENA_MAP_ENTRIES];

static inline struct heap_arena *arena_of(uintptr_t p) {
  if (unlikely((p >> HEAP_ADDR_BITS) != 0)) return NULL;
  return LOAD_RELAXED(&arena_map[p >> ARENA_SHIFT]);
}

static inline uintptr_t arena_page_index(uintptr_t p) {
  return (p >> PAGE_SHIFT) & (PAGES_PER_ARENA - 1);
}

/* The span that owns the page holding p, or NULL. */
static inline struct mspan *span_of(uintptr_t p) {
  struct heap_arena *ha = arena_of(p);
  if (unlikely(ha == NULL)) return NULL;
  return LOAD_RELAXED(&ha->spans[arena_page_index(p)]);
}

/* Sets the span of npages pages from base (heap lock). */
void arena_set_spans(uintptr_t base, uintptr_t npages, struct mspan *s);

/* Reserves at least n bytes of fresh heap address space, arena aligned, and
 * registers its arenas in the map. Tries the hints first (0x00c0<<32 and up),
 * then anywhere. Returns the base (Reserved state) and the size in *got, or 0.
 * Heap lock held. */
uintptr_t arena_reserve(uintptr_t n, uintptr_t *got);

/* Sets up the arena map. Returns 0 or -1. */
int arena_init(void);

ALLOC_HIDDEN_END
#endif /* ALLOC_ARENA_H */
