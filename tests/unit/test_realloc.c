/* Unit tests of realloc's growth (liballoc/malloc.c alloc_realloc): a block
 * that grows by a little moves to one a quarter larger than it was, so
 * that a buffer grown a chunk at a time is copied a few dozen times on its
 * way to 256 KiB, not once per size class; a block that grows by more gets
 * what it asked for; and every move keeps the contents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "alloc_entry.h"

static int setup(void **state) {
  (void)state;
  alloc_init_once();
  return 0;
}

static void fill(unsigned char *p, size_t from, size_t to) {
  for (size_t i = from; i < to; i++) p[i] = (unsigned char)(i * 131 + 7);
}

static void check(const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++) assert_int_equal(p[i], (unsigned char)(i * 131 + 7));
}

/* One byte past a small block: the new block has room for a quarter more,
 * and growing into that room stays in place. */
static void test_small_growth_takes_a_quarter_more(void **state) {
  (void)state;
  unsigned char *p = alloc_malloc(100);
  assert_non_null(p);
  size_t u = alloc_usable_size(p);
  fill(p, 0, u);
  unsigned char *q = alloc_realloc(p, u + 1);
  assert_non_null(q);
  assert_true(alloc_usable_size(q) >= u + u / 4);
  check(q, u);
  unsigned char *r = alloc_realloc(q, u + u / 4);
  assert_ptr_equal(r, q);
  check(r, u);
  alloc_free(r);
}

/* Growing by more than a quarter: exactly the block malloc would give. */
static void test_large_step_gets_what_it_asks(void **state) {
  (void)state;
  unsigned char *p = alloc_malloc(100);
  assert_non_null(p);
  fill(p, 0, 100);
  unsigned char *q = alloc_realloc(p, 5000);
  assert_non_null(q);
  assert_int_equal(alloc_usable_size(q), alloc_good_size(5000, 0));
  check(q, 100);
  alloc_free(q);
}

/* The naive string builder: a chunk of 24 bytes at a time from 16 bytes to
 * 256 KiB. Each move copies the whole buffer; a quarter more each time
 * makes about log(16384) / log(1.25) = 44 of them at most (25 here, where
 * a large block grows in place), where a move per size class crossed made
 * 60. The contents survive every move. */
static void test_builder_moves_rarely(void **state) {
  (void)state;
  size_t len = 16;
  unsigned char *p = alloc_malloc(len);
  assert_non_null(p);
  fill(p, 0, len);
  unsigned moves = 0;
  while (len < (256u << 10)) {
    unsigned char *q = alloc_realloc(p, len + 24);
    assert_non_null(q);
    if (q != p) moves++;
    p = q;
    fill(p, len, len + 24);
    len += 24;
  }
  check(p, len);
  print_message("moves: %u\n", moves);
  assert_true(moves <= 44);
  alloc_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_small_growth_takes_a_quarter_more),
      cmocka_unit_test(test_large_step_gets_what_it_asks),
      cmocka_unit_test(test_builder_moves_rarely),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
