/* Unit tests of the central lists (liballoc/mcentral.c) over a fake page
 * heap handed in as the backend, and of span bitmaps: taking a span into a
 * cache, giving it back, transfer batches, objects returning to spans,
 * empty spans going back to the backend, double-free detection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "alloc_entry.h"
#include "freelist.h"
#include "mcentral.h"
#include "mheap.h"

/* The fake backend counts spans and takes them from the real page heap, so
 * the arena map finds them, but lets the test see every call. */
static int fake_allocs, fake_frees;
static struct mspan *fake_last_freed;

static struct mspan *fake_alloc(uintptr_t npages, int sizeclass) {
  fake_allocs++;
  return mheap_alloc_span(npages, 1, sizeclass);
}

static void fake_free(struct mspan *s) {
  fake_frees++;
  fake_last_freed = s;
  mheap_free_span(s);
}

static const struct mcentral_backend fake_backend = {fake_alloc, fake_free};
static struct mcentral central;
enum { CLASS = 9 }; /* 128-byte objects, 64 per span */

static int setup(void **state) {
  (void)state;
  alloc_init_once();
  return 0;
}

static int reset(void **state) {
  (void)state;
  mcentral_init(&central, CLASS, &fake_backend);
  fake_allocs = fake_frees = 0;
  fake_last_freed = NULL;
  return 0;
}

/* Takes every free slot of s as a thread cache would; returns how many. */
static unsigned take_all(struct mspan *s, void **out) {
  unsigned n = 0;
  for (unsigned w = 0; w < s->nwords; w++) {
    uint64_t bits = s->cacheBits[w];
    while (bits != 0) {
      unsigned i = (unsigned)__builtin_ctzll(bits);
      bits &= bits - 1;
      out[n++] = (void *)(s->base + ((uintptr_t)w * 64 + i) * s->elemsize);
    }
  }
  s->freeindex = s->nwords;
  return n;
}

static void *link_list(void **objs, unsigned n) {
  for (unsigned i = 0; i < n; i++) freelist_set_next(objs[i], i + 1 < n ? objs[i + 1] : NULL);
  return n ? objs[0] : NULL;
}

static void test_fresh_span_all_free(void **state) {
  (void)state;
  struct mspan *s = mcentral_cache_span(&central, NULL);
  assert_non_null(s);
  assert_int_equal(fake_allocs, 1);
  assert_int_equal(s->incache, 1);
  assert_int_equal(s->allocCount, s->nelems);
  void *objs[1024];
  unsigned n = take_all(s, objs);
  assert_int_equal(n, class_to_nelems[CLASS]);
  /* Objects are distinct and in bounds. */
  for (unsigned i = 1; i < n; i++)
    assert_int_equal((uintptr_t)objs[i] - (uintptr_t)objs[i - 1], 128);
  mcentral_uncache_span(&central, s, 0);
  assert_int_equal(s->incache, 0);
  assert_int_equal(s->onpartial, 0); /* full: on no list */
  assert_true(mcentral_valid(&central));
  /* Freeing one object makes it partial; freeing all returns it. */
  mcentral_put_list(&central, link_list(objs, 1), 1);
  assert_int_equal(s->onpartial, 1);
  assert_int_equal(s->allocCount, n - 1);
  assert_true(mcentral_valid(&central));
  mcentral_put_list(&central, link_list(objs + 1, n - 1), n - 1);
  assert_int_equal(fake_frees, 1);
  assert_ptr_equal(fake_last_freed, s);
  assert_null(central.partial.first);
}

static void test_partial_span_reused_with_only_free_slots(void **state) {
  (void)state;
  struct mspan *s = mcentral_cache_span(&central, NULL);
  void *objs[1024];
  unsigned n = take_all(s, objs);
  mcentral_uncache_span(&central, s, 0);
  /* Free every third object. */
  void *freed[1024];
  unsigned nf = 0;
  for (unsigned i = 0; i < n; i += 3) freed[nf++] = objs[i];
  mcentral_put_list(&central, link_list(freed, nf), nf);
  struct mspan *again = mcentral_cache_span(&central, NULL);
  assert_ptr_equal(again, s);
  assert_int_equal(fake_allocs, 1);
  assert_int_equal(again->needzero, 1); /* its free slots held objects */
  void *got[1024];
  unsigned ng = take_all(again, got);
  assert_int_equal(ng, nf);
  for (unsigned i = 0; i < ng; i++) assert_ptr_equal(got[i], freed[i]);
  mcentral_uncache_span(&central, again, 0);
  mcentral_put_list(&central, link_list(objs, n), n);
  mcentral_drain(&central); /* n may be a whole batch, kept in the transfer cache */
  assert_int_equal(fake_frees, 1);
}

static void test_uncache_returns_unused_slots(void **state) {
  (void)state;
  struct mspan *s = mcentral_cache_span(&central, NULL);
  /* Use only the first 10 slots of word 0; give back the rest of the window. */
  uint64_t window = s->cacheBits[0] & ~(uint64_t)0x3ff;
  s->freeindex = 1;
  mcentral_uncache_span(&central, s, window);
  assert_int_equal(s->allocCount, 10);
  assert_int_equal(s->onpartial, 1);
  assert_true(mcentral_valid(&central));
  void *objs[10];
  for (unsigned i = 0; i < 10; i++) objs[i] = (void *)(s->base + i * s->elemsize);
  mcentral_put_list(&central, link_list(objs, 10), 10);
  assert_int_equal(fake_frees, 1);
}

static void test_transfer_batches(void **state) {
  (void)state;
  uint32_t batch = class_to_batch[CLASS];
  struct mspan *s = mcentral_cache_span(&central, NULL);
  void *objs[1024];
  unsigned n = take_all(s, objs);
  assert_true(n >= batch);
  mcentral_uncache_span(&central, s, 0);
  /* A full batch is kept whole and handed out whole, in O(1). */
  mcentral_put_list(&central, link_list(objs, batch), batch);
  assert_int_equal(central.nbatches, 1);
  assert_int_equal(s->allocCount, n); /* still counted as taken */
  uint32_t got = 0;
  void *head = mcentral_take_batch(&central, &got);
  assert_ptr_equal(head, objs[0]);
  assert_int_equal(got, batch);
  assert_null(mcentral_take_batch(&central, &got));
  /* Draining returns batch objects to their spans. */
  mcentral_put_list(&central, link_list(objs, batch), batch);
  mcentral_drain(&central);
  assert_int_equal(central.nbatches, 0);
  assert_int_equal(s->allocCount, n - batch);
  mcentral_put_list(&central, link_list(objs + batch, n - batch), n - batch);
  assert_int_equal(fake_frees, 1);
}

static void test_transfer_cache_is_bounded(void **state) {
  (void)state;
  uint32_t batch = class_to_batch[CLASS], maxb = class_to_maxbatches[CLASS];
  static void *objs[64 * 1024];
  unsigned n = 0;
  while (n < (maxb + 2) * batch) {
    struct mspan *s = mcentral_cache_span(&central, NULL);
    n += take_all(s, objs + n);
    mcentral_uncache_span(&central, s, 0);
  }
  for (unsigned i = 0; i + batch <= n; i += batch)
    mcentral_put_list(&central, link_list(objs + i, batch), batch);
  assert_int_equal(central.nbatches, maxb);
  mcentral_drain(&central);
  unsigned rest = n - (n / batch) * batch;
  if (rest) mcentral_put_list(&central, link_list(objs + n - rest, rest), rest);
  assert_int_equal(fake_frees, fake_allocs);
}

static void test_idle_drain(void **state) {
  (void)state;
  uint32_t batch = class_to_batch[CLASS];
  struct mspan *s = mcentral_cache_span(&central, NULL);
  void *objs[1024];
  unsigned n = take_all(s, objs);
  mcentral_uncache_span(&central, s, 0);
  mcentral_put_list(&central, link_list(objs, batch), batch);
  mcentral_drain_if_idle(&central); /* used since last check: kept */
  assert_int_equal(central.nbatches, 1);
  mcentral_drain_if_idle(&central); /* idle for a whole check: drained */
  assert_int_equal(central.nbatches, 0);
  mcentral_put_list(&central, link_list(objs + batch, n - batch), n - batch);
  assert_int_equal(fake_frees, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_fresh_span_all_free, reset),
      cmocka_unit_test_setup(test_partial_span_reused_with_only_free_slots, reset),
      cmocka_unit_test_setup(test_uncache_returns_unused_slots, reset),
      cmocka_unit_test_setup(test_transfer_batches, reset),
      cmocka_unit_test_setup(test_transfer_cache_is_bounded, reset),
      cmocka_unit_test_setup(test_idle_drain, reset),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
