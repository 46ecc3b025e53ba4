/* Unit tests of the arena map and the span map (liballoc/arena.c) as the
 * page heap (liballoc/mheap.c) keeps them: which pages of a span have an
 * entry through splits and merges, what metadata a large span costs, and
 * that a request the kernel will not commit leaves no reservation, no
 * metadata and no used-up address hint behind, and that span-map pages go
 * back with the memory they described. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "alloc_entry.h"
#include "arena.h"
#include "mheap.h"
#include "sizeclass.h"
#include "sys.h"

static int setup(void **state) {
  (void)state;
  alloc_init_once();
  return 0;
}

static uintptr_t last_page(const struct mspan *s) { return s->base + (s->npages - 1) * PAGE_BYTES; }

/* A free or large span: entries at both ends, none between. */
static void assert_sparse(const struct mspan *s) {
  assert_ptr_equal(span_of(s->base), s);
  assert_ptr_equal(span_of(last_page(s)), s);
  if (s->npages > 2) {
    assert_null(span_of(s->base + PAGE_BYTES));
    assert_null(span_of(last_page(s) - PAGE_BYTES));
    assert_null(span_of(s->base + s->npages / 2 * PAGE_BYTES));
  }
}

static void test_large_span_has_ends_only(void **state) {
  (void)state;
  struct mspan *a = mheap_alloc_span(1000, 1, 0);
  struct mspan *b = mheap_alloc_span(1000, 1, 0);
  assert_non_null(a);
  assert_non_null(b);
  assert_sparse(a);
  assert_sparse(b);
  /* shrink, grow back in place: the moved edges follow */
  mheap_shrink(b, 10);
  assert_int_equal(b->npages, 10);
  assert_sparse(b);
  struct mspan *rest = span_of(b->base + 10 * PAGE_BYTES);
  assert_non_null(rest);
  assert_int_equal(rest->state, SPAN_FREE);
  assert_sparse(rest);
  assert_true(mheap_grow_in_place(b, 700));
  assert_int_equal(b->npages, 700);
  assert_sparse(b);
  /* freeing merges the neighbours; the meeting pages lose their entries */
  uintptr_t meet = a->base + 1000 * PAGE_BYTES;
  mheap_free_span(a);
  mheap_free_span(b);
  struct mspan *merged = span_of(a->base);
  assert_non_null(merged);
  assert_int_equal(merged->state, SPAN_FREE);
  assert_true(merged->npages >= 2000);
  assert_sparse(merged);
  assert_null(span_of(meet - PAGE_BYTES));
  assert_null(span_of(meet));
  assert_true(mheap_valid());
}

static void test_small_span_has_every_page(void **state) {
  (void)state;
  unsigned cls = 1;
  while (class_to_npages[cls] < 4) cls++;
  struct mspan *s = mheap_alloc_span(class_to_npages[cls], 1, (int)cls);
  assert_non_null(s);
  for (uintptr_t i = 0; i < s->npages; i++)
    assert_ptr_equal(span_of(s->base + i * PAGE_BYTES + 100), s);
  uintptr_t base = s->base, n = s->npages;
  mheap_free_span(s);
  /* once free (and merged or not) no page between the free run's ends
   * keeps a stale entry */
  for (uintptr_t i = 0; i < n; i++) {
    struct mspan *t = span_of(base + i * PAGE_BYTES);
    if (t != NULL) {
      assert_int_equal(t->state, SPAN_FREE);
      assert_true(base + i * PAGE_BYTES == t->base || base + i * PAGE_BYTES == last_page(t));
    }
  }
  assert_true(mheap_valid());
}

/* Released and backed pages mixed in one free run stay counted right
 * through splits, merges and the word-at-a-time bitmap walk. */
static void test_released_bits_mixed(void **state) {
  (void)state;
  struct mspan *a = mheap_alloc_span(300, 1, 0);
  struct mspan *b = mheap_alloc_span(300, 1, 0);
  assert_non_null(a);
  assert_non_null(b);
  memset((void *)a->base, 1, 300 * PAGE_BYTES);
  memset((void *)b->base, 1, 300 * PAGE_BYTES);
  uintptr_t base = a->base;
  mheap_free_span(a);
  mheap_scavenge(0, 0); /* a's pages (and the rest of the free heap) go back */
  mheap_free_span(b);   /* b's stay backed, merged with a's */
  assert_true(mheap_valid());
  struct mspan *c = mheap_alloc_span(450, 1, 0); /* 300 released + 150 backed */
  assert_non_null(c);
  assert_int_equal(c->base, base);
  assert_int_equal(c->needzero, 1); /* b's half may hold old data */
  assert_true(mheap_valid());
  mheap_free_span(c);
  mheap_scavenge(0, 0);
  assert_int_equal(mheap_free_backed_bytes(), 0);
  assert_true(mheap_valid());
}

/* The span-map pages that small spans needed are given back when the
 * memory they described is free and returned to the OS. */
static void test_span_map_given_back(void **state) {
  (void)state;
  enum { N = 2048 }; /* 16 MiB of one-page small spans: 4 span-map pages */
  static struct mspan *spans[N];
  for (int i = 0; i < N; i++) {
    spans[i] = mheap_alloc_span(1, 1, 1);
    assert_non_null(spans[i]);
  }
  uint64_t full = LOAD_RELAXED(&sys_stats.metadata);
  for (int i = 0; i < N; i++) mheap_free_span(spans[i]);
  mheap_scavenge(0, 0);
  uint64_t after = LOAD_RELAXED(&sys_stats.metadata);
  /* at least the 3 span-map pages wholly inside the freed run are back */
  assert_true(after + 3 * 4096 <= full);
  /* and the heap still works where they were */
  struct mspan *again = mheap_alloc_span(1, 1, 1);
  assert_non_null(again);
  assert_ptr_equal(span_of(again->base), again);
  mheap_free_span(again);
  struct mspan *big = mheap_alloc_span(N, 1, 0);
  assert_non_null(big);
  assert_sparse(big);
  mheap_free_span(big);
  assert_true(mheap_valid());
}

static int kernel_commits(size_t n) {
  void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 0;
  munmap(p, n);
  return 1;
}

/* What a large span costs in committed metadata: not a pointer per page. */
static void test_large_span_metadata(void **state) {
  (void)state;
  uintptr_t npages = (uintptr_t)1 << 18; /* 2 GiB: 2 MiB of entries if every page had one */
  if (!kernel_commits(npages * PAGE_BYTES)) skip();
  struct mspan *warm = mheap_alloc_span(1, 1, 0); /* metadata allocators warmed up */
  assert_non_null(warm);
  uint64_t before = LOAD_RELAXED(&sys_stats.metadata);
  struct mspan *s = mheap_alloc_span(npages, 1, 0);
  assert_non_null(s);
  uint64_t grown = LOAD_RELAXED(&sys_stats.metadata) - before;
  /* a few span-map pages, 32 side records, a map leaf, a metadata chunk */
  assert_true(grown <= 512 * 1024);
  assert_sparse(s);
  mheap_free_span(s);
  mheap_free_span(warm);
  assert_true(mheap_valid());
}

/* A size the kernel will not commit fails without keeping anything, and
 * does not use up the address hints: the heap keeps growing where it was. */
static void test_refused_leaves_nothing(void **state) {
  (void)state;
  size_t huge = (size_t)1 << 40;
  if (kernel_commits(huge)) skip(); /* overcommit_memory=1, or a huge machine */
  struct mspan *before = mheap_alloc_span(1, 1, 0);
  assert_non_null(before);
  uint64_t reserved = LOAD_RELAXED(&sys_stats.reserved);
  uint64_t mapped = LOAD_RELAXED(&sys_stats.mapped);
  uint64_t metadata = LOAD_RELAXED(&sys_stats.metadata);
  for (int i = 0; i < 3; i++) {
    assert_null(mheap_alloc_span(huge / PAGE_BYTES, 1, 0));
    assert_null(mheap_alloc_span(4 * (huge / PAGE_BYTES), 1, 0));
    assert_null(mheap_alloc_span(1, (uintptr_t)1 << 30, 0)); /* 8 TiB alignment */
  }
  assert_int_equal(LOAD_RELAXED(&sys_stats.reserved), reserved);
  assert_int_equal(LOAD_RELAXED(&sys_stats.mapped), mapped);
  assert_int_equal(LOAD_RELAXED(&sys_stats.metadata), metadata);
  /* 64 MiB more still comes from the heap's own hint range */
  struct mspan *after = mheap_alloc_span(8192, 1, 0);
  assert_non_null(after);
#if !defined(__SANITIZE_THREAD__)
  assert_true(before->base >= 0x00c000000000ull && before->base <= 0x00ffffffffffull);
  assert_true(after->base >= 0x00c000000000ull && after->base <= 0x00ffffffffffull);
#endif
  mheap_free_span(before);
  mheap_free_span(after);
  assert_true(mheap_valid());
}

/* The arena map answers for every address, ours or not. */
static void test_map_lookups(void **state) {
  (void)state;
  int local;
  assert_null(arena_of((uintptr_t)&local));
  assert_null(span_of((uintptr_t)&local));
  assert_null(arena_of((uintptr_t)1 << 48));
  assert_null(arena_of(~(uintptr_t)0));
  assert_null(span_of(0));
  assert_null(span_of(((uintptr_t)1 << 48) - 1));
}

/* An arena outside the near leaf (where the heap goes when something else
 * holds its first hint's addresses, or past its first 256 GiB) is found
 * through the two-level map, and the near leaf does not answer for it. */
static void test_far_arena(void **state) {
  (void)state;
  size_t len = 2 * ARENA_BYTES;
  void *m = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  assert_true(m != MAP_FAILED);
  uintptr_t base = align_up((uintptr_t)m, ARENA_BYTES); /* kept reserved: registered for good */
  assert_true((base >> ARENA_SHIFT) - ARENA_NEAR_FIRST >= ARENA_L2_ENTRIES);
  struct mspan fake;
  memset(&fake, 0, sizeof fake);
  lock_acquire(&mheap.lock);
  assert_null(arena_of(base));
  assert_null(span_of(base));
  assert_int_equal(arena_register(base, 2 * PAGE_BYTES), 0);
  struct heap_arena *ha = arena_of(base);
  assert_non_null(ha);
  assert_ptr_equal(arena_of(base + ARENA_BYTES - 1), ha);
  assert_null(arena_of(base + ARENA_BYTES)); /* the next arena: not registered */
  assert_int_equal(arena_prepare(base + PAGE_BYTES, 1), 0);
  arena_set_span(base + PAGE_BYTES, &fake);
  assert_ptr_equal(span_of(base + PAGE_BYTES + 100), &fake);
  assert_null(span_of(base));
  assert_null(span_of(base + 2 * PAGE_BYTES));
  /* the same arena number under the near leaf is not this one */
  uintptr_t near = (ARENA_NEAR_FIRST + ((base >> ARENA_SHIFT) & (ARENA_L2_ENTRIES - 1)))
                   << ARENA_SHIFT;
  assert_true(arena_of(near) != ha);
  arena_set_span(base + PAGE_BYTES, NULL);
  assert_null(span_of(base + PAGE_BYTES));
  lock_release(&mheap.lock);
  /* free() of a pointer there now finds no span: reported as foreign */
  assert_null(span_of(base + PAGE_BYTES + 8));
}

/* The heap's arenas at the first hint are found through the flat span map:
 * its mapping covers them, their records are its slices, and a lookup
 * there gives what the arena map gives. The mapping itself lies below the
 * hint and is no heap memory: a pointer into it finds no span. */
static void test_flat_map(void **state) {
  (void)state;
  void *p = alloc_malloc(100);
  assert_non_null(p);
  uintptr_t a = (uintptr_t)p;
  if ((a >> ARENA_SHIFT) - ARENA_NEAR_FIRST >= ARENA_FLAT_ARENAS) {
    alloc_free(p);
    skip(); /* the heap is not at its first hint (something else lives there) */
  }
  uintptr_t pages = __atomic_load_n(&arena_flat.pages, __ATOMIC_ACQUIRE);
  uintptr_t i = (a >> PAGE_SHIFT) - ARENA_FLAT_FIRST_PAGE;
  assert_true(i < pages);
  assert_int_equal(pages % PAGES_PER_ARENA, 0);
  uintptr_t arena = (a >> ARENA_SHIFT) - ARENA_NEAR_FIRST;
  assert_ptr_equal(arena_of(a), (void *)(ARENA_FLAT_BASE + arena * sizeof(struct heap_arena)));
  struct mspan *s = span_of(a);
  assert_non_null(s);
  assert_ptr_equal(s, arena_of(a)->spans[arena_page_index(a)]);
  assert_int_equal(s->state, SPAN_SMALL);
  /* the last page the mapping covers: the same answer as the arena map's
   * (a registered arena's record is its slice, whatever the page holds) */
  uintptr_t last = (ARENA_FLAT_FIRST_PAGE + pages - 1) << PAGE_SHIFT;
  assert_non_null(arena_of(last));
  assert_ptr_equal(span_of(last), arena_of(last)->spans[arena_page_index(last)]);
  /* the mapping's own pages are no heap memory */
  assert_null(span_of(ARENA_FLAT_BASE));
  assert_null(span_of(ARENA_FLAT_BASE + arena * sizeof(struct heap_arena)));
  assert_null(span_of((ARENA_FLAT_FIRST_PAGE << PAGE_SHIFT) - 1));
  alloc_free(p);
}

/* The flat map grows with the heap: a block 100 MiB larger than all it
 * covers takes the heap past its end (more arenas registered), and the map
 * covers the new arenas, so that both ends of the block and an object
 * carved after it are found there; freed, the block's ends are a free
 * span's, found there too. */
static void test_flat_map_grows(void **state) {
  (void)state;
  uintptr_t before = __atomic_load_n(&arena_flat.pages, __ATOMIC_ACQUIRE);
  /* past what the map covers now, whatever the tests before took */
  size_t big = (size_t)(before << PAGE_SHIFT) + ((size_t)100 << 20);
  unsigned char *p = alloc_malloc(big);
  assert_non_null(p);
  uintptr_t a = (uintptr_t)p;
  if ((a >> ARENA_SHIFT) - ARENA_NEAR_FIRST >= ARENA_FLAT_ARENAS || before == 0) {
    alloc_free(p);
    skip(); /* the heap is not at its first hint, or the map's address was taken */
  }
  uintptr_t pages = __atomic_load_n(&arena_flat.pages, __ATOMIC_ACQUIRE);
  assert_true(pages > before);
  uintptr_t last = a + big - 1;
  assert_true((last >> PAGE_SHIFT) - ARENA_FLAT_FIRST_PAGE < pages);
  struct mspan *s = span_of(a);
  assert_non_null(s);
  assert_int_equal(s->state, SPAN_LARGE);
  assert_ptr_equal(span_of(align_down(a + (s->npages - 1) * PAGE_BYTES, PAGE_BYTES)), s);
  assert_ptr_equal(span_of(a + (s->npages - 1) * PAGE_BYTES),
                   arena_of(last)->spans[arena_page_index(last)]);
  assert_int_equal(alloc_usable_size(p), s->npages * PAGE_BYTES);
  alloc_free(p);
  lock_acquire(&mheap.lock); /* the scavenger may be changing the free span */
  struct mspan *f = span_of(a);
  int still_large = f != NULL && f->state == SPAN_LARGE && f->base == a;
  lock_release(&mheap.lock);
  assert_false(still_large);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_large_span_has_ends_only),
      cmocka_unit_test(test_small_span_has_every_page),
      cmocka_unit_test(test_released_bits_mixed),
      cmocka_unit_test(test_large_span_metadata),
      cmocka_unit_test(test_refused_leaves_nothing),
      cmocka_unit_test(test_map_lookups),
      cmocka_unit_test(test_far_arena),
      cmocka_unit_test(test_span_map_given_back),
      cmocka_unit_test(test_flat_map),
      cmocka_unit_test(test_flat_map_grows),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
