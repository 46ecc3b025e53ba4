/* Unit tests of the sampling half of the profiler (libprof/sampler.c,
 * buckets.c, sampled.c) through the allocator's internal entry points: the
 * distribution of sampling distances (mean and shape of an exponential),
 * rate 1 and rate 0, Go's unsampling factor, and exact accounting of
 * sampled allocations and frees at rate 1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "alloc_entry.h"
#include "arena.h"
#include "prof.h"

static int setup(void **state) {
  (void)state;
  alloc_init_once();
  return 0;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static void test_intervals_are_exponential(void **state) {
  (void)state;
  enum { N = 200000 };
  const uint64_t rate = 65536;
  prof_set_rate(rate);
  struct prof_sampler sm;
  prof_sampler_init(&sm);
  static int64_t d[N];
  double sum = 0;
  for (int i = 0; i < N; i++) {
    d[i] = prof_next_sample(&sm);
    assert_true(d[i] >= 0);
    sum += (double)d[i];
  }
  prof_set_rate(0);
  /* Mean: the standard error of the mean of N exponentials is rate/sqrt(N),
   * about 0.22% here; allow 5 of them. */
  double mean = sum / N;
  assert_true(fabs(mean - (double)rate) < 5.0 * (double)rate / sqrt((double)N));
  /* Shape: Kolmogorov-Smirnov distance to 1 - exp(-x/rate). The 0.1%
   * critical value is 1.95/sqrt(N). */
  qsort(d, N, sizeof d[0], cmp_i64);
  double ks = 0;
  for (int i = 0; i < N; i++) {
    double cdf = 1.0 - exp(-(double)d[i] / (double)rate);
    double lo = fabs(cdf - (double)i / N), hi = fabs(cdf - (double)(i + 1) / N);
    if (lo > ks) ks = lo;
    if (hi > ks) ks = hi;
  }
  assert_true(ks < 1.95 / sqrt((double)N));
  /* A memoryless distribution: the median is rate * ln 2. */
  assert_true(fabs((double)d[N / 2] - (double)rate * log(2.0)) < 0.02 * (double)rate);
}

static void test_rate_one_and_zero(void **state) {
  (void)state;
  struct prof_sampler sm;
  prof_set_rate(1);
  prof_sampler_init(&sm);
  for (int i = 0; i < 100; i++) assert_int_equal(prof_next_sample(&sm), 0);
  prof_set_rate(0);
  int64_t off = prof_next_sample(&sm);
  assert_true(off > (int64_t)1 << 20); /* comes back rarely, to see the rate change */
}

static void test_scale(void **state) {
  (void)state;
  assert_true(prof_scale(100, 1) == 1.0);
  /* An object as large as the rate is sampled with probability 1 - 1/e. */
  assert_true(fabs(prof_scale(524288, 524288) - 1.0 / (1.0 - exp(-1.0))) < 1e-12);
  /* Small objects: about rate / size. */
  assert_true(fabs(prof_scale(64, 524288) / (524288.0 / 64) - 1.0) < 0.001);
}

static void test_rate_one_counts_exactly(void **state) {
  (void)state;
  struct prof_totals before, mid, after;
  prof_set_rate(1);
  prof_get_totals(&before);
  enum { N = 500 };
  void *p[N];
  for (int i = 0; i < N; i++) p[i] = alloc_malloc(100 + (size_t)i % 3);
  void *big = alloc_malloc(200000);
  prof_get_totals(&mid);
  assert_int_equal(mid.samples - before.samples, N + 1);
  /* Sampled objects flag their spans; freeing them is accounted. */
  assert_int_equal(span_of((uintptr_t)p[0])->sampled, 1);
  assert_int_equal(span_of((uintptr_t)big)->sampled, 1);
  for (int i = 0; i < N; i += 2) alloc_free(p[i]);
  alloc_free(big);
  prof_get_totals(&after);
  assert_int_equal(after.sampled_frees - mid.sampled_frees, N / 2 + 1);
  for (int i = 1; i < N; i += 2) alloc_free(p[i]);
  prof_set_rate(0);
  prof_get_totals(&after);
  assert_int_equal(after.sampled_frees - mid.sampled_frees, N + 1);
  assert_int_equal(after.inuse_bytes, before.inuse_bytes);
  /* Buckets keyed by (stack, size): three sizes from one call site, one large. */
  size_t n;
  assert_true(prof_guard_enter());
  struct prof_bucket_snap *snap = prof_snapshot(&n);
  prof_guard_exit();
  assert_non_null(snap);
  uint64_t allocs = 0;
  for (size_t i = 0; i < n; i++) allocs += snap[i].alloc_count;
  assert_true(allocs >= N + 1);
  free(snap);
}

static void test_guard_blocks_nested_samples(void **state) {
  (void)state;
  struct prof_totals a, b;
  prof_set_rate(1);
  prof_get_totals(&a);
  assert_true(prof_guard_enter());
  void *p = alloc_malloc(64); /* inside the profiler: not sampled */
  prof_guard_exit();
  prof_get_totals(&b);
  assert_int_equal(b.samples, a.samples);
  alloc_free(p);
  prof_set_rate(0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_intervals_are_exponential),
      cmocka_unit_test(test_rate_one_and_zero),
      cmocka_unit_test(test_scale),
      cmocka_unit_test(test_rate_one_counts_exactly),
      cmocka_unit_test(test_guard_blocks_nested_samples),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
