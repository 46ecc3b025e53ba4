/* test_sizeclass.c: checks the generated size-class table (sizeclasses.h)
 * independently of the generator that wrote it (liballoc/mksizeclasses.c,
 * which states the rules and bounds checked here).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sizeclasses.h"
#include "mspan.h"

#undef PAGE_BYTES
#define PAGE_BYTES 8192u /* the table's page, as a plain unsigned */

/* Bounds as stated in mksizeclasses.c. */
#define TINY_LIMIT 128u /* below this, a class is <= 16 bytes above the previous */
#define TINY_STEP 16u
#define MAXWASTE_LARGE_PCT 17.0 /* worst-case waste of classes >= TINY_LIMIT */

static unsigned lookup(uint32_t n) {
  if (n <= SIZECLASS_SMALL_MAX)
    return size_to_class8[(n + SIZECLASS_SMALL_DIV - 1) / SIZECLASS_SMALL_DIV];
  return size_to_class128[(n - SIZECLASS_SMALL_MAX + SIZECLASS_LARGE_DIV - 1) /
                          SIZECLASS_LARGE_DIV];
}

static uint32_t span_bytes(unsigned c) { return (uint32_t)class_to_npages[c] * PAGE_BYTES; }

static void test_shape(void **state) {
  (void)state;
  assert_true(SIZECLASS_COUNT >= 60 && SIZECLASS_COUNT <= 80);
  assert_int_equal(class_to_size[0], 0);
  assert_int_equal(class_to_size[1], 8);
  assert_int_equal(class_to_size[SIZECLASS_COUNT - 1], SIZECLASS_MAX_SMALL);
  for (unsigned c = 1; c < SIZECLASS_COUNT; c++)
    assert_true(class_to_size[c] > class_to_size[c - 1]);
}

static void test_lookup_every_size(void **state) {
  (void)state;
  assert_int_equal(lookup(0), 1);
  for (uint32_t n = 1; n <= SIZECLASS_MAX_SMALL; n++) {
    unsigned c = lookup(n);

    assert_true(c >= 1 && c < SIZECLASS_COUNT);
    assert_int_equal(size_to_class_x64[(n + 7) / 8], c << 6); /* malloc's one-table lookup */
    assert_true(class_to_size[c] >= n);
    assert_true(class_to_size[c - 1] < n);
  }
}

static void test_alignment(void **state) {
  (void)state;
  for (unsigned c = 1; c < SIZECLASS_COUNT; c++) {
    uint32_t size = class_to_size[c];

    if (size >= 16)
      assert_int_equal(size % 16, 0);
    else
      assert_int_equal(size, 8);
  }
  /* aligned allocation relies on a class at every power of two */
  for (uint32_t p = 16; p <= SIZECLASS_MAX_SMALL; p *= 2) {
    unsigned c = lookup(p);

    assert_int_equal(class_to_size[c], p);
  }
}

static void test_spans(void **state) {
  (void)state;
  assert_int_equal(class_to_npages[0], 0);
  assert_int_equal(class_to_nelems[0], 0);
  for (unsigned c = 1; c < SIZECLASS_COUNT; c++) {
    assert_true(class_to_npages[c] >= 1);
    assert_int_equal(span_bytes(c) / class_to_size[c], class_to_nelems[c]);
  }
}

/* The order of a span bitmap (mspan.h): the smallest power of two of
 * words that holds it, at its edges; and every class's bitmap has one of
 * the MSPAN_BITS_ORDERS orders the bitmap allocators are made for. */
static void test_bits_order(void **state) {
  (void)state;
  static const struct {
    uintptr_t nwords;
    unsigned order;
  } cases[] = {{0, 0}, {1, 0},  {2, 1},  {3, 2},  {4, 2},  {5, 3},  {7, 3},     {8, 3},
               {9, 4}, {15, 4}, {16, 4}, {17, 5}, {32, 5}, {33, 6}, {1024, 10}, {1025, 11}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    assert_int_equal(mspan_bits_order(cases[i].nwords), cases[i].order);
  for (uintptr_t n = 2; n <= 4096; n++) {
    unsigned k = mspan_bits_order(n);
    assert_true(((uintptr_t)1 << k) >= n && ((uintptr_t)1 << (k - 1)) < n);
  }
  for (unsigned c = 1; c < SIZECLASS_COUNT; c++)
    assert_true(mspan_bits_order((class_to_nelems[c] + 63u) / 64u) < MSPAN_BITS_ORDERS);
}

static void test_divmagic(void **state) {
  (void)state;
  for (unsigned c = 1; c < SIZECLASS_COUNT; c++) {
    uint32_t size = class_to_size[c];
    uint64_t magic = class_to_divmagic[c];

    for (uint32_t off = 0; off < span_bytes(c); off++) {
      uint32_t q = (uint32_t)(((uint64_t)off * magic) >> 32);

      if (q != off / size)
        fail_msg("class %u: offset %u gives %u, want %u", c, (unsigned)off, (unsigned)q,
                 (unsigned)(off / size));
    }
  }
}

/* free() tells object starts from interior pointers with one multiply
 * (mspan_is_object_start): check it at every byte offset of every class. */
static void test_object_start_check(void **state) {
  (void)state;
  for (unsigned c = 1; c < SIZECLASS_COUNT; c++) {
    struct mspan s;
    memset(&s, 0, sizeof s);
    s.base = 0x00c000000000ull;
    s.divmagic = class_to_divmagic[c];
    uintptr_t span_bytes = (uintptr_t)class_to_npages[c] * 8192;
    for (uintptr_t off = 0; off < span_bytes; off++) {
      int want = off % class_to_size[c] == 0;
      if (mspan_is_object_start(&s, s.base + off) != want)
        fail_msg("class %u offset %lu: got %d", c, (unsigned long)off, !want);
    }
  }
}

static void test_waste(void **state) {
  (void)state;
  for (unsigned c = 1; c < SIZECLASS_COUNT; c++) {
    uint32_t size = class_to_size[c];
    uint32_t prev = class_to_size[c - 1];
    uint32_t span = span_bytes(c);
    uint32_t tail = span - class_to_nelems[c] * size;

    assert_true(tail <= span / 8);
    if (size < TINY_LIMIT) {
      assert_true(size - prev <= TINY_STEP);
    } else {
      double worst = 100.0 * ((double)(size - prev - 1) * class_to_nelems[c] + tail) / span;

      if (worst > MAXWASTE_LARGE_PCT)
        fail_msg("class %u (%u bytes): max waste %.2f%%", c, (unsigned)size, worst);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shape),     cmocka_unit_test(test_lookup_every_size),
      cmocka_unit_test(test_alignment), cmocka_unit_test(test_spans),
      cmocka_unit_test(test_divmagic),  cmocka_unit_test(test_bits_order),
      cmocka_unit_test(test_waste),     cmocka_unit_test(test_object_start_check),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
