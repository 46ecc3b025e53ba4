/* arena.c: heap arenas, their address hints and the arena map (arena.h).
 *
 * Heap address space is reserved from hint addresses 0x00c0<<32,
 * 0x01c0<<32, ... upward, like Go's runtime: the heap grows contiguously (so
 * large spans may cross arena boundaries) and heap addresses are
 * recognisable in a debugger (0x00c0...). When a hint's terabyte is taken by
 * something else we move to the next; when a request fits no hint we take
 * any suitably aligned region.
 *
 * Reservations are made as the heap grows (in steps of 1 to 4 MiB, or
 * exactly what is needed when a step does not fit; mheap.c), not in whole
 * 64 MiB arenas:
 * reserved address space counts against `ulimit -v` although it costs no
 * memory, so a small program's heap should reserve little more than it
 * uses. An arena may therefore be ours only in part; the pages of it that
 * are not ours have no span in the map, which is all a lookup needs.
 *
 * An arena is registered (record and map entry made) only after the heap
 * has committed memory in it (mheap.c heap_grow): a request the kernel
 * refuses leaves neither address space nor metadata behind. Registrations
 * are never undone. What they cost: a 64 KiB map leaf per 256 GiB of
 * address space (but for the near leaf, which is static: arena.h), a 1 KiB
 * side record per 64 MiB arena, and the arena's 64 KiB span map, which
 * is mapped read-only (reading as NULL) and made writable a 4 KiB page at
 * a time where entries are written (arena_prepare). Callers prepare before
 * they change anything, so running out of memory there fails a request
 * instead of the process. The span maps of the first hint's arenas are
 * slices of one mapping, the flat span map (arena.h), grown an arena at a
 * time right below the hint. */
#include "arena.h"

#include <string.h>

#include "metalloc.h"
#include "sys.h"

struct arena_leaf *arena_l1[ARENA_L1_ENTRIES];
struct arena_leaf arena_near_leaf;
struct arena_flat arena_flat __attribute__((aligned(CACHE_LINE)));
/* Arenas the flat span map's mapping covers, from the hint (heap lock), and
 * whether it can grow no more (its next addresses were taken). */
static uintptr_t flat_arenas;
static int flat_stuck;

#define ARENA_HINTS 128
#define HINT_BASE ALLOC_HEAP_HINT
#define HINT_RANGE ((uintptr_t)1 << 40)    /* one terabyte per hint */
#define USER_ADDR_END ((uintptr_t)1 << 47) /* x86-64 user space */
#define MAP_PAGE ((uintptr_t)4096)         /* a page of the span map */
#define ENTRIES_PER_MAP_PAGE (MAP_PAGE / sizeof(struct mspan *))

_Static_assert(HINT_BASE >> ARENA_L1_SHIFT == ARENA_NEAR_L1, "the near leaf is the first hint's");
_Static_assert(HINT_BASE == ARENA_NEAR_FIRST << ARENA_SHIFT, "the flat map starts at the hint");
_Static_assert(ARENA_FLAT_BASE + ARENA_FLAT_ARENAS * sizeof(struct heap_arena) == HINT_BASE,
               "the flat map ends where the heap starts");

_Static_assert(sizeof(struct heap_arena) % MAP_PAGE == 0, "records are whole pages");
_Static_assert(ARENA_RECORD_PAGES <= 32, "arena_side.writable has a bit per record page");

/* Bytes taken from each hint's range, reserved by us or found occupied
 * (the whole range then). Heap lock. */
static uintptr_t hint_used[ARENA_HINTS];
static int hint_next; /* first hint whose range is not all used */
/* The last reservation made at a hint, so arena_unreserve can give its
 * addresses back to the hint. */
static int last_hint = -1;
static uintptr_t last_base, last_len;

static uintptr_t hint_start(int i) { return HINT_BASE + (uintptr_t)i * HINT_RANGE; }

static uintptr_t hint_len(int i) {
  uintptr_t start = hint_start(i);
  return start + HINT_RANGE > USER_ADDR_END ? USER_ADDR_END - start : HINT_RANGE;
}

/* ---- The span map's pages ------------------------------------------------ */

int arena_prepare(uintptr_t base, uintptr_t npages) {
  uintptr_t p = base, end = base + npages * PAGE_BYTES;
  while (p < end) {
    struct heap_arena *ha = arena_of(p);
    struct arena_side *side = arena_side_of(p);
    uintptr_t stop = align_down(p, ARENA_BYTES) + ARENA_BYTES;
    if (stop > end) stop = end;
    uintptr_t first = arena_page_index(p) / ENTRIES_PER_MAP_PAGE;
    uintptr_t last = arena_page_index(stop - PAGE_BYTES) / ENTRIES_PER_MAP_PAGE;
    for (uintptr_t k = first; k <= last; k++) {
      if (side->writable & (1u << k)) continue;
      /* Commit the run of not-yet-writable pages from k in one call. */
      uintptr_t k2 = k;
      while (k2 + 1 <= last && !(side->writable & (1u << (k2 + 1)))) k2++;
      if (sys_commit_zeros((char *)ha + k * MAP_PAGE, (k2 - k + 1) * MAP_PAGE) != 0) return -1;
      for (uintptr_t j = k; j <= k2; j++) side->writable |= 1u << j;
      k = k2;
    }
    p = stop;
  }
  return 0;
}

void arena_release_map(uintptr_t base, uintptr_t npages) {
  uintptr_t p = base, end = base + npages * PAGE_BYTES;
  while (p < end) {
    struct heap_arena *ha = arena_of(p);
    struct arena_side *side = arena_side_of(p);
    uintptr_t stop = align_down(p, ARENA_BYTES) + ARENA_BYTES;
    if (stop > end) stop = end;
    /* map pages whose every entry is for a page in [p, stop) */
    uintptr_t first = (arena_page_index(p) + ENTRIES_PER_MAP_PAGE - 1) / ENTRIES_PER_MAP_PAGE;
    uintptr_t limit = stop == align_down(p, ARENA_BYTES) + ARENA_BYTES
                          ? ARENA_RECORD_PAGES
                          : arena_page_index(stop) / ENTRIES_PER_MAP_PAGE;
    for (uintptr_t k = first; k < limit; k++) {
      if (!(side->writable & (1u << k))) continue;
      uintptr_t k2 = k;
      while (k2 + 1 < limit && (side->writable & (1u << (k2 + 1)))) k2++;
      sys_uncommit_zeros((char *)ha + k * MAP_PAGE, (k2 - k + 1) * MAP_PAGE);
      for (uintptr_t j = k; j <= k2; j++) side->writable &= ~(1u << j);
      k = k2;
    }
    p = stop;
  }
}

static int map_page_writable(uintptr_t p) {
  return (arena_side_of(p)->writable >> (arena_page_index(p) / ENTRIES_PER_MAP_PAGE)) & 1;
}

void arena_set_span(uintptr_t p, struct mspan *s) {
  struct heap_arena *ha = arena_of(p);
  struct mspan **e = &ha->spans[arena_page_index(p)];
  if (!map_page_writable(p)) {
    /* Never written: the entry reads NULL. Anything else is a caller that
     * skipped arena_prepare, and the store would fault. */
    if (s == NULL) return;
    if (arena_prepare(align_down(p, PAGE_BYTES), 1) != 0)
      alloc_throw("cannot commit span map metadata");
  }
  STORE_RELAXED(e, s);
}

void arena_set_spans(uintptr_t base, uintptr_t npages, struct mspan *s) {
  for (uintptr_t i = 0; i < npages; i++) arena_set_span(base + i * PAGE_BYTES, s);
}

/* ---- Registering arenas -------------------------------------------------- */

/* Grows the flat span map's mapping to cover the first n arenas from the
 * hint (n <= ARENA_FLAT_ARENAS), read-only until arena_prepare writes it.
 * Stops for good the first time its next addresses are taken. Returns the
 * arenas covered. Heap lock held. */
static uintptr_t flat_cover(uintptr_t n) {
  if (n <= flat_arenas || flat_stuck) return flat_arenas;
  uintptr_t rec = sizeof(struct heap_arena);
  void *want = (void *)(ARENA_FLAT_BASE + flat_arenas * rec);
  void *got = sys_os_mmap(want, (n - flat_arenas) * rec, SYS_OS_READ);
  if (got != want) {
    if (got != NULL) sys_os_munmap(got, (n - flat_arenas) * rec);
    /* Out of address space, or something lives there: for good, even if
     * the refusal passes. The records of the arenas it did not cover go
     * elsewhere (arena_register), and a map grown over them later would
     * answer NULL for their spans. */
    flat_stuck = 1;
    return flat_arenas;
  }
  flat_arenas = n;
  return n;
}

/* The flat map's record for arena number a, if it covers a; else NULL. */
static struct heap_arena *flat_record(uintptr_t a) {
  uintptr_t i = a - ARENA_NEAR_FIRST;
  if (i >= flat_arenas) return NULL;
  return (struct heap_arena *)(ARENA_FLAT_BASE + i * sizeof(struct heap_arena));
}

/* Arena number a's record in the arena map (NULL: not registered); its
 * leaf must exist. */
static struct heap_arena *registered(uintptr_t a) {
  return arena_leaf_at(a >> ARENA_L2_BITS)->arenas[a & (ARENA_L2_ENTRIES - 1)];
}

int arena_register(uintptr_t base, uintptr_t n) {
  uintptr_t first = base >> ARENA_SHIFT, last = (base + n - 1) >> ARENA_SHIFT;
  for (uintptr_t l1 = first >> ARENA_L2_BITS; l1 <= last >> ARENA_L2_BITS; l1++) {
    if (arena_leaf_at(l1) != NULL) continue;
    struct arena_leaf *leaf = sys_alloc(sizeof *leaf);
    if (leaf == NULL) return -1;
    __atomic_store_n(&arena_l1[l1], leaf, __ATOMIC_RELEASE);
  }
  uintptr_t missing = 0, flat_need = 0;
  for (uintptr_t a = first; a <= last; a++) {
    if (registered(a) != NULL) continue;
    missing++;
    if (a - ARENA_NEAR_FIRST < ARENA_FLAT_ARENAS) flat_need = a - ARENA_NEAR_FIRST + 1;
  }
  if (missing == 0) return 0;
  /* The records go in the flat map where it reaches (which may fail to
   * grow: those records are then mapped as any other's), the others in one
   * mapping, read-only until written (arena_prepare); and one mapping for
   * all their side records. */
  flat_cover(flat_need);
  uintptr_t rec = sizeof(struct heap_arena), apart = 0;
  for (uintptr_t a = first; a <= last; a++)
    if (registered(a) == NULL && flat_record(a) == NULL) apart++;
  uintptr_t sides_bytes = align_up(missing * sizeof(struct arena_side), MAP_PAGE);
  uintptr_t block = 0;
  if (apart != 0 && (block = (uintptr_t)sys_alloc_zeros(apart * rec)) == 0) return -1;
  uintptr_t sides = (uintptr_t)sys_alloc(sides_bytes);
  if (sides == 0) {
    if (block != 0) sys_os_munmap((void *)block, apart * rec);
    return -1;
  }
  for (uintptr_t a = first; a <= last; a++) {
    struct arena_leaf *leaf = arena_leaf_at(a >> ARENA_L2_BITS);
    uintptr_t j = a & (ARENA_L2_ENTRIES - 1);
    if (leaf->arenas[j] != NULL) continue;
    struct heap_arena *ha = flat_record(a);
    if (ha == NULL) {
      ha = (struct heap_arena *)block;
      block += rec;
    }
    leaf->sides[j] = (struct arena_side *)sides;
    __atomic_store_n(&leaf->arenas[j], ha, __ATOMIC_RELEASE);
    sides += sizeof(struct arena_side);
  }
  /* free() may look pages of the new arenas up from here on: they read as
   * NULL until their spans are set. */
  __atomic_store_n(&arena_flat.pages, flat_arenas * PAGES_PER_ARENA, __ATOMIC_RELEASE);
  return 0;
}

/* ---- Reserving address space --------------------------------------------- */

uintptr_t arena_reserve(uintptr_t n, uintptr_t *got) {
  n = align_up(n, PAGE_BYTES);
  if (n == 0 || n >= USER_ADDR_END) return 0;
  for (int i = hint_next; i < ARENA_HINTS; i++) {
    uintptr_t hint = hint_start(i) + hint_used[i];
    if (n > hint_len(i) - hint_used[i]) continue; /* too big for what is left here */
    uintptr_t p = (uintptr_t)sys_reserve((void *)hint, n);
    if (p == 0) return 0; /* out of address space: no hint would help */
    if (p == hint) {
      hint_used[i] += n;
      last_hint = i, last_base = p, last_len = n;
      *got = n;
      return p;
    }
    /* Something else lives there: this hint's range is done. */
    sys_free((void *)p, n);
    hint_used[i] = hint_len(i);
    while (hint_next < ARENA_HINTS && hint_used[hint_next] == hint_len(hint_next)) hint_next++;
  }
  uintptr_t p = (uintptr_t)sys_reserve_aligned(NULL, n, PAGE_BYTES);
  if (p == 0) return 0;
  if ((p >> HEAP_ADDR_BITS) != 0) {
    sys_free((void *)p, n);
    return 0;
  }
  last_hint = -1;
  *got = n;
  return p;
}

void arena_unreserve(uintptr_t base, uintptr_t n) {
  sys_free((void *)base, n);
  if (last_hint >= 0 && base == last_base && n == last_len &&
      hint_start(last_hint) + hint_used[last_hint] == base + n)
    hint_used[last_hint] -= n;
  last_hint = -1;
}
