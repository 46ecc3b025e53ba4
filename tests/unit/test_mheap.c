/* Unit tests of the page heap (liballoc/mheap.c) and the arena map
 * (liballoc/arena.c): allocation, alignment, coalescing, growth in place,
 * shrinking, and returning pages to the OS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
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

static void test_arena_map_finds_spans(void **state) {
  (void)state;
  struct mspan *s = mheap_alloc_span(3, 1, 0);
  assert_non_null(s);
  assert_int_equal(s->state, SPAN_LARGE);
  assert_int_equal(s->npages, 3);
  /* A large span's first and last pages map to it, the pages between to
   * nothing (arena.h): a large object's metadata costs two entries. */
  for (uintptr_t off = 0; off < PAGE_BYTES; off += 1000) {
    assert_ptr_equal(span_of(s->base + off), s);
    assert_ptr_equal(span_of(s->base + 2 * PAGE_BYTES + off), s);
    assert_null(span_of(s->base + PAGE_BYTES + off));
  }
  assert_non_null(arena_of(s->base));
  /* Every byte of every page of a small span maps to it. */
  unsigned cls = 1;
  while (class_to_npages[cls] < 3) cls++;
  struct mspan *k = mheap_alloc_span(class_to_npages[cls], 1, (int)cls);
  assert_non_null(k);
  for (uintptr_t off = 0; off < k->npages * PAGE_BYTES; off += 1000)
    assert_ptr_equal(span_of(k->base + off), k);
  mheap_free_span(k);
  assert_true(mheap_valid());
  /* Addresses that are not ours map to nothing. */
  int local;
  assert_null(span_of((uintptr_t)&local));
  assert_null(arena_of((uintptr_t)1 << 50));
  assert_null(span_of(0));
  mheap_free_span(s);
  assert_true(mheap_valid());
}

static void test_first_arena_at_hint(void **state) {
  (void)state;
  struct mspan *s = mheap_alloc_span(1, 1, 0);
  assert_non_null(s);
  /* While the hints last, the heap lives at 0x00c000000000 and up (not
   * under ThreadSanitizer, whose shadow memory owns that range). */
#if !defined(__SANITIZE_THREAD__)
  assert_true(s->base >= 0x00c000000000ull);
  assert_true(s->base <= 0x00ffffffffffull);
#endif
  mheap_free_span(s);
}

static void test_alignment(void **state) {
  (void)state;
  for (uintptr_t align = 1; align <= 512; align *= 2) {
    struct mspan *s = mheap_alloc_span(5, align, 0);
    assert_non_null(s);
    assert_int_equal(s->base % (align * PAGE_BYTES), 0);
    assert_int_equal(s->npages, 5);
    mheap_free_span(s);
  }
  assert_true(mheap_valid());
}

static void test_coalescing(void **state) {
  (void)state;
  /* Three neighbours freed in the middle-last order coalesce into one run,
   * so a request of all three pages fits where they were. */
  struct mspan *a = mheap_alloc_span(200, 1, 0);
  struct mspan *b = mheap_alloc_span(200, 1, 0);
  struct mspan *c = mheap_alloc_span(200, 1, 0);
  assert_non_null(a);
  assert_non_null(b);
  assert_non_null(c);
  uintptr_t base = a->base;
  int adjacent = b->base == a->base + 200 * PAGE_BYTES && c->base == b->base + 200 * PAGE_BYTES;
  assert_true(adjacent);
  mheap_free_span(a);
  mheap_free_span(c);
  assert_true(mheap_valid());
  mheap_free_span(b);
  assert_true(mheap_valid());
  struct mspan *merged = span_of(base);
  assert_int_equal(merged->state, SPAN_FREE);
  assert_true(merged->npages >= 600);
  struct mspan *big = mheap_alloc_span(600, 1, 0);
  assert_non_null(big);
  assert_int_equal(big->base, base); /* best fit, lowest address */
  mheap_free_span(big);
}

static void test_grow_and_shrink_in_place(void **state) {
  (void)state;
  struct mspan *a = mheap_alloc_span(10, 1, 0);
  assert_non_null(a);
  uintptr_t base = a->base;
  assert_true(mheap_grow_in_place(a, 40));
  assert_int_equal(a->npages, 40);
  assert_ptr_equal(span_of(base + 39 * PAGE_BYTES), a);
  mheap_shrink(a, 4);
  assert_int_equal(a->npages, 4);
  assert_int_equal(span_of(base + 4 * PAGE_BYTES)->state, SPAN_FREE);
  assert_true(mheap_valid());
  /* A neighbour in use blocks growth. */
  struct mspan *b = mheap_alloc_span(1, 1, 0);
  if (b->base == base + 4 * PAGE_BYTES) assert_false(mheap_grow_in_place(a, 6));
  mheap_free_span(b);
  mheap_free_span(a);
  assert_true(mheap_valid());
}

static void test_release_to_os(void **state) {
  (void)state;
  struct mspan *s = mheap_alloc_span(2048, 1, 0); /* 16 MiB */
  assert_non_null(s);
  memset((void *)s->base, 0xab, 2048 * PAGE_BYTES);
  uintptr_t base = s->base;
  mheap_free_span(s);
  uint64_t released_before = mheap.pages_released;
  size_t released = mheap_scavenge(0, 0);
  assert_true(released >= 2048 * PAGE_BYTES);
  assert_true(mheap.pages_released >= released_before + 2048);
  assert_int_equal(mheap_free_backed_bytes(), 0);
  assert_true(mheap_valid());
  /* Released pages come back zeroed and the span knows it needs no zeroing. */
  struct mspan *again = mheap_alloc_span(2048, 1, 0);
  assert_non_null(again);
  assert_int_equal(again->base, base);
  assert_int_equal(again->needzero, 0);
  const unsigned char *p = (const unsigned char *)again->base;
  for (uintptr_t i = 0; i < 2048 * PAGE_BYTES; i += 4096) assert_int_equal(p[i], 0);
  mheap_free_span(again);
  assert_true(mheap_valid());
}

static void test_young_pages_are_kept(void **state) {
  (void)state;
  struct mspan *s = mheap_alloc_span(512, 1, 0);
  assert_non_null(s);
  memset((void *)s->base, 1, 512 * PAGE_BYTES);
  mheap_free_span(s);
  /* Freed just now: a scavenge that wants an age of one minute leaves it. */
  size_t backed = mheap_free_backed_bytes();
  assert_true(backed >= 512 * PAGE_BYTES);
  assert_int_equal(mheap_scavenge(0, 60000), 0);
  assert_int_equal(mheap_free_backed_bytes(), backed);
}

static int page_released(uintptr_t page) {
  return bitmap_get(arena_side_of(page)->released, arena_page_index(page));
}

/* A scavenge to a budget releases only the part of a run over it, from the
 * run's end: the low pages, which allocation takes first, stay backed. */
static void test_scavenge_keeps_budget(void **state) {
  (void)state;
  mheap_scavenge(0, 0); /* nothing else backed */
  struct mspan *s = mheap_alloc_span(1024, 1, 0);
  assert_non_null(s);
  memset((void *)s->base, 1, 1024 * PAGE_BYTES);
  uintptr_t base = s->base, last = s->base + 1023 * PAGE_BYTES;
  mheap_free_span(s);
  size_t keep = 300 * PAGE_BYTES;
  size_t released = mheap_scavenge(keep, 0);
  size_t backed = mheap_free_backed_bytes();
  assert_true(backed <= keep);
  assert_true(backed + 64 * PAGE_BYTES > keep); /* over by less than one bitmap word */
  assert_true(released >= 1024 * PAGE_BYTES - keep);
  assert_false(page_released(base));
  assert_true(page_released(last));
  assert_true(mheap_valid());
  /* and again, down to nothing: the same run, now partly released */
  mheap_scavenge(0, 0);
  assert_int_equal(mheap_free_backed_bytes(), 0);
  assert_true(page_released(base));
  assert_true(mheap_valid());
}

static void test_small_span_setup(void **state) {
  (void)state;
  struct mspan *s = mheap_alloc_span(1, 1, 5);
  assert_non_null(s);
  assert_int_equal(s->state, SPAN_SMALL);
  assert_int_equal(s->sizeclass, 5);
  assert_int_equal(s->elemsize, 64);
  assert_int_equal(s->nelems, PAGE_BYTES / 64);
  assert_int_equal(s->nwords, 2);
  assert_non_null(s->allocBits);
  assert_int_equal(s->allocBits[0] | s->allocBits[1], 0);
  for (uintptr_t i = 0; i < s->nelems; i++)
    assert_int_equal(mspan_object_index(s, s->base + i * 64 + 63), i);
  mheap_free_span(s);
  assert_true(mheap_valid());
}

/* The base of the lowest free run of HEAP_SMALL_RUNS pages or more. */
static uintptr_t lowest_large_run(void) {
  uintptr_t low = UINTPTR_MAX;
  for (struct mspan *s = mheap.free_large.first; s != NULL; s = s->next)
    if (s->base < low) low = s->base;
  return low;
}

/* A span of a small size class comes from the lowest free run, not from
 * the smallest: cut from a gap between large blocks, it would keep the gap
 * from merging with its neighbours (bench/large grew its heap by 32 MiB
 * when a thread's start took small spans in such gaps). Large spans still
 * take the best fit. */
static void test_small_span_lowest_run(void **state) {
  (void)state;
  /* no exact-size free run under HEAP_SMALL_RUNS pages left to take */
  struct mspan *fill[512];
  int nfill = 0;
  for (unsigned w = 0; w < HEAP_SMALL_RUNS / 64 && nfill < 512; w++)
    while (mheap.free_small_nonempty[w] != 0 && nfill < 512) {
      uintptr_t n = w * 64 + (uintptr_t)__builtin_ctzll(mheap.free_small_nonempty[w]);
      assert_non_null(fill[nfill++] = mheap_alloc_span(n, 1, 0));
    }
  /* a free run of 400 pages or more, then one of exactly HEAP_SMALL_RUNS
   * pages above it, each between live guards */
  struct mspan *a = mheap_alloc_span(400, 1, 0), *g1 = mheap_alloc_span(2, 1, 0);
  struct mspan *b = mheap_alloc_span(HEAP_SMALL_RUNS, 1, 0), *g2 = mheap_alloc_span(2, 1, 0);
  assert_non_null(a);
  assert_non_null(g1);
  assert_non_null(b);
  assert_non_null(g2);
  uintptr_t a_base = a->base, b_base = b->base;
  int layout = g1->base == a_base + 400 * PAGE_BYTES && b_base == g1->base + 2 * PAGE_BYTES &&
               g2->base == b_base + HEAP_SMALL_RUNS * PAGE_BYTES;
  assert_true(layout);
  mheap_free_span(a);
  mheap_free_span(b);
  assert_int_equal(span_of(b_base)->npages, HEAP_SMALL_RUNS);
  uintptr_t low = lowest_large_run();
  assert_true(low <= a_base);
  /* the best fit for a large span of one page is the smallest run, b */
  struct mspan *big = mheap_alloc_span(1, 1, 0);
  assert_non_null(big);
  uintptr_t big_base = big->base;
  mheap_free_span(big);
  struct mspan *small = mheap_alloc_span(1, 1, 5);
  assert_non_null(small);
  assert_int_equal(small->base, low);
  assert_true(small->base < b_base);
  assert_true(big_base >= b_base && big_base < b_base + HEAP_SMALL_RUNS * PAGE_BYTES);
  mheap_free_span(small);
  mheap_free_span(g1);
  mheap_free_span(g2);
  for (int i = 0; i < nfill; i++) mheap_free_span(fill[i]);
  assert_true(mheap_valid());
}

static void test_accounting(void **state) {
  (void)state;
  uintptr_t in_use = mheap.pages_in_use;
  struct mspan *s = mheap_alloc_span(77, 1, 0);
  assert_non_null(s);
  assert_int_equal(mheap.pages_in_use, in_use + 77);
  mheap_free_span(s);
  assert_int_equal(mheap.pages_in_use, in_use);
  assert_true(sys_stats.mapped >= mheap.pages_in_use * PAGE_BYTES);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_arena_map_finds_spans),
      cmocka_unit_test(test_first_arena_at_hint),
      cmocka_unit_test(test_alignment),
      cmocka_unit_test(test_coalescing),
      cmocka_unit_test(test_grow_and_shrink_in_place),
      cmocka_unit_test(test_release_to_os),
      cmocka_unit_test(test_young_pages_are_kept),
      cmocka_unit_test(test_scavenge_keeps_budget),
      cmocka_unit_test(test_small_span_setup),
      cmocka_unit_test(test_small_span_lowest_run),
      cmocka_unit_test(test_accounting),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
