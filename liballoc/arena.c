/* arena.c: heap arenas, their address hints and the arena map (arena.h).
 *
 * Arenas are placed from hint addresses 0x00c0<<32, 0x01c0<<32, ... upward,
 * like Go's runtime: the heap grows contiguously (so large spans may cross
 * arena boundaries) and heap addresses are recognisable in a debugger
 * (0x00c0...). When the hints run out we take any 64 MiB-aligned region. */
#include "arena.h"

#include <string.h>

#include "metalloc.h"
#include "sys.h"

struct heap_arena *arena_map[ARENA_MAP_ENTRIES];

#define ARENA_HINTS 128

static uintptr_t arena_hints[ARENA_HINTS]; /* next address to try, per hint */
static int arena_hint_next;                /* first hint not yet exhausted */
static struct linearalloc arena_meta;      /* heap_arena records */

int arena_init(void) {
  for (int i = 0; i < ARENA_HINTS; i++) arena_hints[i] = ((uintptr_t)i << 40) | ((uintptr_t)0x00c0 << 32);
  /* Room for 256 arena records (16 GiB of heap) in 17 MiB of address space;
   * past that, persistentalloc. Kept small because reserved address space
   * counts against ulimit -v. */
  linearalloc_init(&arena_meta, (size_t)256 * align_up(sizeof(struct heap_arena), 4096));
  return 0;
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

static int arena_register(uintptr_t base, uintptr_t size) {
  for (uintptr_t a = base; a < base + size; a += ARENA_BYTES) {
    if (arena_map[a >> ARENA_SHIFT] != NULL) continue;
    struct heap_arena *ha = linearalloc_alloc(&arena_meta, sizeof *ha, 4096);
    if (ha == NULL) ha = persistentalloc(sizeof *ha, 4096);
    if (ha == NULL) return -1;
    __atomic_store_n(&arena_map[a >> ARENA_SHIFT], ha, __ATOMIC_RELEASE);
  }
  return 0;
}

uintptr_t arena_reserve(uintptr_t n, uintptr_t *got) {
  n = align_up(n, ARENA_BYTES);
  if (n == 0) return 0;
  uintptr_t base = 0;
  while (arena_hint_next < ARENA_HINTS) {
    uintptr_t hint = arena_hints[arena_hint_next];
    uintptr_t limit = ((uintptr_t)(arena_hint_next + 1) << 40) | ((uintptr_t)0x00c0 << 32);
    if (hint + n > limit || hint + n >= ((uintptr_t)1 << 47)) {
      arena_hint_next++;
      continue;
    }
    uintptr_t p = (uintptr_t)sys_reserve((void *)hint, n);
    if (p == hint) {
      base = p;
      arena_hints[arena_hint_next] = hint + n;
      break;
    }
    /* Something else lives there (or the kernel said no): next hint. */
    if (p != 0) sys_free((void *)p, n);
    else return 0; /* out of address space: the hint is not the problem */
    arena_hint_next++;
  }
  if (base == 0) base = (uintptr_t)sys_reserve_aligned(NULL, n, ARENA_BYTES);
  if (base == 0) return 0;
  if ((base >> HEAP_ADDR_BITS) != 0 || arena_register(base, n) != 0) {
    sys_free((void *)base, n);
    return 0;
  }
  *got = n;
  return base;
}
