/* arena.c: heap arenas, their address hints and the arena map (arena.h).
 *
 * Heap address space is reserved from hint addresses 0x00c0<<32,
 * 0x01c0<<32, ... upward, like Go's runtime: the heap grows contiguously (so
 * large spans may cross arena boundaries) and heap addresses are
 * recognisable in a debugger (0x00c0...). When a hint's terabyte is taken by
 * something else we move to the next; when a request fits no hint we take
 * any suitably aligned region.
 *
 * Reservations are made in steps of RESERVE_STEP, not whole 64 MiB arenas:
 * reserved address space counts against `ulimit -v` although it costs no
 * memory, so a small program's heap should reserve little more than it
 * uses. An arena may therefore be ours only in part; the pages of it that
 * are not ours have no span in the map, which is all a lookup needs.
 *
 * An arena is registered (record and map entry made) only after the heap
 * has committed memory in it (mheap.c heap_grow): a request the kernel
 * refuses leaves neither address space nor metadata behind. Registrations
 * are never undone; the arena map and the records only grow, by 32 KiB per
 * 256 GiB of address space and one record per 64 MiB arena touched. */
#include "arena.h"

#include <string.h>

#include "metalloc.h"
#include "sys.h"

/* The shared leaf of L1 entries with no arena yet: never written. */
static struct heap_arena *arena_empty_leaf[ARENA_L2_ENTRIES];
struct heap_arena **arena_l1[ARENA_L1_ENTRIES] = {[0 ... ARENA_L1_ENTRIES - 1] = arena_empty_leaf};

#define ARENA_HINTS 128
#define HINT_BASE ((uintptr_t)0x00c0 << 32)
#define HINT_RANGE ((uintptr_t)1 << 40)      /* one terabyte per hint */
#define USER_ADDR_END ((uintptr_t)1 << 47)   /* x86-64 user space */
#define RESERVE_STEP ((uintptr_t)4 << 20)

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

void arena_set_span(uintptr_t p, struct mspan *s) {
  struct heap_arena *ha = arena_of(p);
  STORE_RELAXED(&ha->spans[arena_page_index(p)], s);
}

void arena_set_spans(uintptr_t base, uintptr_t npages, struct mspan *s) {
  uintptr_t p = base, end = base + npages * PAGE_BYTES;
  while (p < end) {
    struct heap_arena *ha = arena_of(p);
    uintptr_t i = arena_page_index(p);
    uintptr_t stop = align_down(p, ARENA_BYTES) + ARENA_BYTES;
    if (stop > end) stop = end;
    for (; p < stop; p += PAGE_BYTES, i++) STORE_RELAXED(&ha->spans[i], s);
  }
}

int arena_register(uintptr_t base, uintptr_t n) {
  uintptr_t first = base >> ARENA_SHIFT, last = (base + n - 1) >> ARENA_SHIFT;
  for (uintptr_t l1 = first >> ARENA_L2_BITS; l1 <= last >> ARENA_L2_BITS; l1++) {
    if (arena_l1[l1] != arena_empty_leaf) continue;
    struct heap_arena **leaf = sys_alloc(sizeof arena_empty_leaf);
    if (leaf == NULL) return -1;
    __atomic_store_n(&arena_l1[l1], leaf, __ATOMIC_RELEASE);
  }
  uintptr_t missing = 0;
  for (uintptr_t a = first; a <= last; a++)
    if (arena_l1[a >> ARENA_L2_BITS][a & (ARENA_L2_ENTRIES - 1)] == NULL) missing++;
  if (missing == 0) return 0;
  /* One mapping for all the new records: it costs only the pages touched
   * (a record's span entries are written only where spans begin or end, or
   * hold small objects). */
  uintptr_t rec = align_up(sizeof(struct heap_arena), 4096);
  uintptr_t block = (uintptr_t)sys_alloc(missing * rec);
  if (block == 0) return -1;
  for (uintptr_t a = first; a <= last; a++) {
    struct heap_arena **slot = &arena_l1[a >> ARENA_L2_BITS][a & (ARENA_L2_ENTRIES - 1)];
    if (*slot != NULL) continue;
    __atomic_store_n(slot, (struct heap_arena *)block, __ATOMIC_RELEASE);
    block += rec;
  }
  return 0;
}

uintptr_t arena_reserve(uintptr_t n, uintptr_t *got) {
  n = align_up(n, RESERVE_STEP);
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
  uintptr_t p = (uintptr_t)sys_reserve_aligned(NULL, n, RESERVE_STEP);
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
  if (last_hint >= 0 && base == last_base && n == last_len && hint_start(last_hint) + hint_used[last_hint] == base + n)
    hint_used[last_hint] -= n;
  last_hint = -1;
}
