/* arena.h: heap arenas and the arena map. The heap's address space is cut
 * into 64 MiB arenas aligned to 64 MiB (the heap may own only part of one);
 * each arena the heap uses has a heap_arena record with the page->span map
 * for its 8192 pages. The arena map takes any address to its heap_arena (or
 * NULL: not ours). free(p) finds p's span in one load where the heap
 * normally lives (the flat span map, span_of below), and in three (map
 * leaf, arena record, span) anywhere else.
 * Overview: malloc.c. */
#ifndef ALLOC_ARENA_H
#define ALLOC_ARENA_H

#include <stdint.h>

#include "internal.h"
#include "mspan.h"

ALLOC_HIDDEN_BEGIN

struct heap_arena {
  /* Page -> span, written under the heap lock and read without it (relaxed
   * atomics). Every entry is NULL or the span that owns the page now, never
   * a span that used to: a lookup either finds the owner or nothing.
   *   - small span: every page points at it (free(p) looks up any object);
   *   - large or free span: its first and last pages point at it, the pages
   *     between are NULL. free, realloc and malloc_usable_size take the
   *     start of a large object, and coalescing looks at a neighbour's edge
   *     page only, so nothing needs the interior; and a large object of n
   *     pages costs two stores here, not n (a 1 TiB request would otherwise
   *     write 1 GiB of entries). An interior pointer of a large object finds
   *     NULL and is reported as not ours, which it is not.
   * The record is mapped read-only and reads as zeros (NULL); each 4 KiB
   * page of it is made writable, and counted as metadata, the first time an
   * entry in it must be non-NULL (arena_prepare). So the span map costs
   * memory for the pages that hold small objects or span edges, and
   * nothing for the inside of large objects and free runs. */
  struct mspan *spans[PAGES_PER_ARENA];
};

#define ARENA_RECORD_PAGES (sizeof(struct heap_arena) / 4096)

/* What else the heap keeps per arena, in ordinary (writable) metadata. */
struct arena_side {
  /* Page returned to the OS and not reused since (heap lock). */
  uint64_t released[PAGES_PER_ARENA / 64];
  /* Bit k: page k of the arena's heap_arena record is writable (heap lock). */
  uint32_t writable;
};

/* The arena map, two levels: the leaf arena_l1[p >> ARENA_L1_SHIFT] holds
 * the records of ARENA_L2_ENTRIES arenas, indexed by the next ARENA_L2_BITS
 * bits. A leaf is mapped the first time an arena under it is registered;
 * until then its L1 entry is NULL, so the L1 array is plain BSS (no
 * relocations, no dirty page at load). One flat map for 48 bits would be
 * 32 MiB of address space, which ulimit -v counts although it is never
 * touched: /bin/echo would not start under `ulimit -v 36864` with the
 * allocator preloaded.
 *
 * The near leaf: the leaf of the first 256 GiB of the heap's first address
 * hint (0x00c0<<32, arena.c), where the heap lives unless something else
 * took those addresses, is not mapped but static (BSS, 64 KiB of address
 * space, a page of it touched per 512 arenas used). Its address is a link
 * time constant, so arena_of finds an arena there with one range test and
 * one load, not two dependent loads (bench/RESULTS.md section 13; free()
 * now asks the flat span map below first); any other address takes the
 * two-level path. arena_leaf_at() is the one place that knows the near
 * leaf stands in for its L1 entry. */
#define ARENA_L2_ENTRIES ((uintptr_t)1 << ARENA_L2_BITS)
#define ARENA_L1_ENTRIES ((uintptr_t)1 << ARENA_L1_BITS)
#define ARENA_L1_SHIFT (ARENA_SHIFT + ARENA_L2_BITS)
#define ARENA_NEAR_L1 (ALLOC_HEAP_HINT >> ARENA_L1_SHIFT) /* the hint's leaf */
#define ARENA_NEAR_FIRST (ARENA_NEAR_L1 << ARENA_L2_BITS) /* its first arena number */
struct arena_leaf {
  struct heap_arena *arenas[ARENA_L2_ENTRIES]; /* read by every free() */
  struct arena_side *sides[ARENA_L2_ENTRIES];  /* heap lock */
};
/* NULL: no leaf yet. Never read at ARENA_NEAR_L1 (arena_leaf_at). */
extern struct arena_leaf *arena_l1[ARENA_L1_ENTRIES];
extern struct arena_leaf arena_near_leaf;

static inline uintptr_t arena_l2_index(uintptr_t p) {
  return (p >> ARENA_SHIFT) & (ARENA_L2_ENTRIES - 1);
}

/* The leaf of L1 entry i1 (< ARENA_L1_ENTRIES), or NULL if none yet. */
static inline struct arena_leaf *arena_leaf_at(uintptr_t i1) {
  if (i1 == ARENA_NEAR_L1) return &arena_near_leaf;
  return LOAD_RELAXED(&arena_l1[i1]);
}

/* arena_of for an address outside the near leaf: the two-level path. */
static inline struct heap_arena *arena_of_far(uintptr_t p) {
  uintptr_t i1 = p >> ARENA_L1_SHIFT; /* in range exactly when p fits HEAP_ADDR_BITS */
  if (unlikely(i1 >= ARENA_L1_ENTRIES)) return NULL;
  struct arena_leaf *leaf = LOAD_RELAXED(&arena_l1[i1]);
  if (leaf == NULL) return NULL;
  return LOAD_RELAXED(&leaf->arenas[arena_l2_index(p)]);
}

static inline struct heap_arena *arena_of(uintptr_t p) {
  /* Unsigned: an address below the near leaf wraps to a large index. */
  uintptr_t near = (p >> ARENA_SHIFT) - ARENA_NEAR_FIRST;
  if (likely(near < ARENA_L2_ENTRIES)) return LOAD_RELAXED(&arena_near_leaf.arenas[near]);
  return arena_of_far(p);
}

/* The side record of the arena holding heap page p (registered). Heap lock. */
static inline struct arena_side *arena_side_of(uintptr_t p) {
  return arena_leaf_at(p >> ARENA_L1_SHIFT)->sides[arena_l2_index(p)];
}

static inline uintptr_t arena_page_index(uintptr_t p) {
  return (p >> PAGE_SHIFT) & (PAGES_PER_ARENA - 1);
}

/* The flat span map: the records of the near leaf's arenas lie end to end
 * in one mapping at a fixed address, right below the heap's first hint, so
 * that their spans[] arrays make one array indexed by heap page number
 * from the hint. free() then finds a span there with a subtraction, one
 * range test and one load: no arena record to load first (bench/RESULTS.md
 * section 16). The mapping grows with the arenas registered, at the same
 * 64 KiB a record costs anyway (so nothing more under `ulimit -v`), and
 * reads as NULL where no span is, as every record does. Its pages count
 * (arena_flat.pages) covers the arenas from the hint up to the last one
 * registered there; 0 when the fixed address was taken, and then every
 * lookup takes the arena map (the near leaf, then the two levels). */
#define ARENA_FLAT_FIRST_PAGE (ARENA_NEAR_FIRST << (ARENA_SHIFT - PAGE_SHIFT))
#define ARENA_FLAT_ARENAS ARENA_L2_ENTRIES /* the near leaf's: 256 GiB of heap */
#define ARENA_FLAT_BASE \
  ((ARENA_NEAR_FIRST << ARENA_SHIFT) - ARENA_FLAT_ARENAS * sizeof(struct heap_arena))
struct arena_flat {
  uintptr_t pages; /* heap pages from ARENA_FLAT_FIRST_PAGE it covers (release) */
  char pad[CACHE_LINE - sizeof(uintptr_t)]; /* read by every free(): no neighbour writes its line */
};
extern struct arena_flat arena_flat __attribute__((aligned(CACHE_LINE)));

/* The span that owns the page holding p, or NULL (see heap_arena.spans for
 * which pages of a span have an entry). */
static inline struct mspan *span_of(uintptr_t p) {
  /* Unsigned: a page below the hint wraps to a large index. */
  uintptr_t i = (p >> PAGE_SHIFT) - ARENA_FLAT_FIRST_PAGE;
  if (likely(i < __atomic_load_n(&arena_flat.pages, __ATOMIC_ACQUIRE)))
    return LOAD_RELAXED(&((struct mspan **)ARENA_FLAT_BASE)[i]);
  struct heap_arena *ha = arena_of(p);
  if (unlikely(ha == NULL)) return NULL;
  return LOAD_RELAXED(&ha->spans[arena_page_index(p)]);
}

/* Makes the span-map entries of npages heap pages from base writable, so
 * that arena_set_span(s) on them cannot fail. Returns 0, or -1 if the OS
 * refused (the caller then fails its request before changing anything).
 * Heap lock held. */
int arena_prepare(uintptr_t base, uintptr_t npages);
/* Gives back the span-map pages that hold only entries of heap pages in
 * [base, base+npages), which must all be NULL and stay so while this runs
 * (the inside of a free run). Heap lock held. */
void arena_release_map(uintptr_t base, uintptr_t npages);
/* Sets the entry of the page at p (heap lock). A non-NULL s needs the page
 * prepared, unless the entry is already non-NULL. */
void arena_set_span(uintptr_t p, struct mspan *s);
/* Sets the entries of npages pages from base (heap lock): small spans. */
void arena_set_spans(uintptr_t base, uintptr_t npages, struct mspan *s);

/* Reserves at least n bytes of fresh heap address space (Reserved state),
 * next to the heap if the hints allow (0x00c0<<32 and up), anywhere
 * otherwise. Returns the base and the size in *got, or 0. The range is not
 * in the arena map yet: arena_register does that once the heap has
 * committed memory in it, so a request the kernel refuses leaves nothing
 * behind (arena_unreserve). Heap lock held. */
uintptr_t arena_reserve(uintptr_t n, uintptr_t *got);
/* Gives back a reservation from arena_reserve that was never registered. */
void arena_unreserve(uintptr_t base, uintptr_t n);
/* Puts every arena that [base, base+n) touches in the arena map, making
 * their records (and map leaves) as needed. Returns 0, or -1 if the OS
 * refused the metadata; then no arena of the range was added (a new leaf
 * may stay, all NULL). Heap lock held. */
int arena_register(uintptr_t base, uintptr_t n);

ALLOC_HIDDEN_END
#endif /* ALLOC_ARENA_H */
