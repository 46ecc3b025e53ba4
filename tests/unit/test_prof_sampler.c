/* Unit tests of the sampling half of the profiler (liballoc/mprof_sampler.c,
 * buckets.c, sampled.c) through the allocator's internal entry points: the
 * libm-free log2 and exp against libm's, the distribution of sampling
 * distances (mean, coefficient of variation and shape of an exponential,
 * from fixed seeds), rate 1 and rate 0, Go's unsampling factor against its
 * libm formula, and exact accounting of sampled allocations and frees at
 * rate 1, also with frees from several threads at once. The tests use
 * libm; the allocator does not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <cmocka.h>

#include "alloc_entry.h"
#include "arena.h"
#include "malloc_fork.h"
#include "mcache.h"
#include "mprof.h"

static int setup(void **state) {
  (void)state;
  alloc_init_once();
  return 0;
}

/* The tests' own deterministic random numbers (xorshift64). */
static uint64_t test_rng = 0x243f6a8885a308d3ull;
static uint64_t next_u64(void) {
  test_rng ^= test_rng << 13;
  test_rng ^= test_rng >> 7;
  test_rng ^= test_rng << 17;
  return test_rng;
}

/* A sampler at the current rate with a fixed random state, so that its
 * distances are the same on every run. */
static void sampler_fixed(struct prof_sampler *sm, uint64_t seed) {
  prof_sampler_init(sm);
  sm->rng = seed | 1;
  sm->bytes_until_sample = prof_next_sample(sm);
}

/* fastlog2 interpolates log2 between 65 points of [1, 2]: the chord of a
 * concave function lies below it, by at most h^2 / (8 ln 2) for a step of
 * h = 1/64 at 1, 4.40e-5. Bound: 4.5e-5 below log2, never above (but for
 * the last bits of the addition exponent + fraction). */
#define FASTLOG2_MAX_ERR 4.5e-5

static void check_fastlog2(double x, double *worst) {
  double want = log2(x), got = prof_fastlog2(x);
  double slack = 4 * DBL_EPSILON * fabs(want); /* rounding of the sum */
  assert_true(got <= want + slack);
  assert_true(want - got <= FASTLOG2_MAX_ERR + slack);
  if (want - got > *worst) *worst = want - got;
}

static void test_fastlog2_matches_log2(void **state) {
  (void)state;
  /* The table: at its own points fastlog2 is the entry itself. */
  for (int i = 0; i <= 64; i++) {
    double x = 1.0 + i / 64.0;
    assert_true(fabs(prof_fastlog2(x) - log2(x)) <= DBL_EPSILON);
  }
  /* Powers of two are exact. */
  for (int e = -1022; e <= 1023; e++) assert_true(prof_fastlog2(ldexp(1.0, e)) == (double)e);
  double worst = 0;
  /* What the sampler asks: integers in [1, 2^53], spread over every
   * exponent, and near the top, where the distance is shortest. */
  for (int i = 0; i < 200000; i++) {
    uint64_t r = next_u64();
    check_fastlog2((double)((r >> (11 + r % 53)) + 1), &worst);
    check_fastlog2((double)((r >> 11) | ((uint64_t)1 << 52)), &worst);
  }
  /* Any positive normal double. */
  for (int i = 0; i < 200000; i++) {
    uint64_t r = next_u64();
    double m = 1.0 + (double)(r >> 12) * 0x1p-52;
    check_fastlog2(ldexp(m, (int)(r % 2045) - 1022), &worst);
  }
  /* The bound is near what is reached: the test would see a worse table. */
  assert_true(worst > 0.9 * 4.40e-5);
}

/* prof_exp(-x) against libm's exp(-x) over what mprof_scale asks, x =
 * size / rate from 1e-9 to 1e3 (it asks only from 1/2 up; the rest is
 * checked too): within 4 ulps where the result is a normal double, within
 * 2 of the smallest subnormal below that, and 0 where libm says 0. */
static void test_exp_matches_libm(void **state) {
  (void)state;
  assert_true(prof_exp(0.0) == 1.0);
  double worst = 0;
  for (int i = 0; i <= 120000; i++) {
    double x = pow(10.0, -9.0 + 12.0 * i / 120000.0); /* 1e-9 .. 1e3 */
    double want = exp(-x), got = prof_exp(-x);
    if (want >= DBL_MIN) {
      double rel = fabs(got - want) / want;
      assert_true(rel <= 4 * DBL_EPSILON);
      if (rel > worst) worst = rel;
    } else {
      assert_true(fabs(got - want) <= 2 * DBL_TRUE_MIN);
    }
  }
  /* Positive arguments, which nothing asks yet, work too. */
  for (double x = 0.001; x < 700; x *= 1.01)
    assert_true(fabs(prof_exp(x) - exp(x)) <= 4 * DBL_EPSILON * exp(x));
  assert_true(worst > 0); /* the loop compared something */
}

/* 100,000 distances at each of a few rates, from fixed seeds: mean = rate
 * and coefficient of variation = 1, as for an exponential. The standard
 * error of the mean is rate / sqrt(N) (0.32%), that of the CV about
 * sqrt(1/N)..sqrt(2/N) (under 0.45%); allow 5 of each. */
static void test_distance_mean_and_cv(void **state) {
  (void)state;
  enum { N = 100000 };
  const uint64_t rates[] = {1024, 65536, 524288, (uint64_t)64 << 20};
  for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++) {
    mprof_set_rate(rates[r]);
    struct prof_sampler sm;
    sampler_fixed(&sm, 0x9e3779b97f4a7c15ull * (r + 1));
    double sum = 0, sum2 = 0;
    for (int i = 0; i < N; i++) {
      int64_t d = prof_next_sample(&sm);
      assert_true(d >= 0);
      assert_true(d <= (int64_t)(37.0 * (double)rates[r])); /* -ln(2^-53) = 36.7 */
      sum += (double)d;
      sum2 += (double)d * (double)d;
    }
    double mean = sum / N;
    double sd = sqrt((sum2 - sum * mean) / (N - 1));
    double rate = (double)rates[r];
    assert_true(fabs(mean / rate - 1.0) < 5.0 / sqrt((double)N));
    assert_true(fabs(sd / mean - 1.0) < 5.0 * sqrt(2.0 / N));
  }
  mprof_set_rate(0);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static void test_intervals_are_exponential(void **state) {
  (void)state;
  enum { N = 200000 };
  const uint64_t rate = 65536;
  mprof_set_rate(rate);
  struct prof_sampler sm;
  sampler_fixed(&sm, 12345);
  static int64_t d[N];
  double sum = 0;
  for (int i = 0; i < N; i++) {
    d[i] = prof_next_sample(&sm);
    assert_true(d[i] >= 0);
    sum += (double)d[i];
  }
  mprof_set_rate(0);
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
  mprof_set_rate(1);
  prof_sampler_init(&sm);
  for (int i = 0; i < 100; i++) assert_int_equal(prof_next_sample(&sm), 0);
  mprof_set_rate(0);
  int64_t off = prof_next_sample(&sm);
  assert_true(off > (int64_t)1 << 20); /* comes back rarely, to see the rate change */
}

static void test_scale(void **state) {
  (void)state;
  assert_true(mprof_scale(100, 1) == 1.0);
  /* An object as large as the rate is sampled with probability 1 - 1/e. */
  assert_true(fabs(mprof_scale(524288, 524288) - 1.0 / (1.0 - exp(-1.0))) < 1e-12);
  /* Small objects: about rate / size. */
  assert_true(fabs(mprof_scale(64, 524288) / (524288.0 / 64) - 1.0) < 0.001);
}

/* mprof_scale against Go's formula 1 / (1 - exp(-size / rate)) computed
 * with libm, for size / rate from 1e-9 to 1e3: within 1e-3 relative (the
 * libm formula itself is only good to about 1e-16 / x for a small x), and
 * within 1e-13 of the exact -1 / expm1(-x). */
static void test_scale_matches_libm(void **state) {
  (void)state;
  const uint64_t rates[] = {2, 4096, 524288, (uint64_t)1 << 40};
  for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++) {
    double rate = (double)rates[r];
    for (int i = 0; i <= 12000; i++) {
      double x = pow(10.0, -9.0 + 12.0 * i / 12000.0);
      double got = mprof_scale(x * rate, rates[r]);
      double go = 1.0 / (1.0 - exp(-(x * rate) / rate));
      double exact = -1.0 / expm1(-(x * rate) / rate);
      assert_true(fabs(got / go - 1.0) < 1e-3);
      assert_true(fabs(got / exact - 1.0) < 1e-13);
    }
  }
  assert_true(mprof_scale(0, 524288) == 1.0);
  assert_true(mprof_scale(100, 0) == 1.0);
}

static void test_rate_one_counts_exactly(void **state) {
  (void)state;
  struct prof_totals before, mid, after;
  mprof_set_rate(1);
  mprof_get_totals(&before);
  enum { N = 500 };
  void *p[N];
  for (int i = 0; i < N; i++) p[i] = alloc_malloc(100 + (size_t)i % 3);
  void *big = alloc_malloc(200000);
  mprof_get_totals(&mid);
  assert_int_equal(mid.samples - before.samples, N + 1);
  /* Sampled objects flag their spans; freeing them is accounted. */
  assert_int_equal(span_of((uintptr_t)p[0])->sampled, 1);
  assert_int_equal(span_of((uintptr_t)big)->sampled, 1);
  for (int i = 0; i < N; i += 2) alloc_free(p[i]);
  alloc_free(big);
  mprof_get_totals(&after);
  assert_int_equal(after.sampled_frees - mid.sampled_frees, N / 2 + 1);
  for (int i = 1; i < N; i += 2) alloc_free(p[i]);
  mprof_set_rate(0);
  mprof_get_totals(&after);
  assert_int_equal(after.sampled_frees - mid.sampled_frees, N + 1);
  assert_int_equal(after.inuse_bytes, before.inuse_bytes);
  /* Buckets keyed by (stack, size): three sizes from one call site, one large. */
  size_t n;
  assert_true(mprof_guard_enter());
  struct prof_bucket_snap *snap = mprof_snapshot(&n);
  mprof_guard_exit();
  assert_non_null(snap);
  uint64_t allocs = 0;
  for (size_t i = 0; i < n; i++) allocs += snap[i].alloc_count;
  assert_true(allocs >= N + 1);
  free(snap);
}

/* A span of at most 64 objects keeps its sampled bitmap in its own
 * sampledWord, not one from the shared pool; a span of more objects gets
 * one from the pool. Either way each object's bit follows its sample, and
 * the last free lets the bitmap go. */
static void test_sampled_bitmap_inline(void **state) {
  (void)state;
  struct prof_totals t1, t2;
  mprof_set_rate(1);
  mprof_get_totals(&t1);
  void *a = alloc_malloc(6000);
  struct mspan *s = span_of((uintptr_t)a);
  assert_non_null(s);
  assert_int_equal(s->state, SPAN_SMALL);
  assert_true(s->nelems <= 64);
  assert_ptr_equal(s->sampledBits, &s->sampledWord); /* not a pooled bitmap */
  assert_true(prof_maybe_sampled(s, a));
  void *b = alloc_malloc(6000);
  struct mspan *sb = span_of((uintptr_t)b);
  alloc_free(a);
  if (sb == s) { /* b's bit stays, a's goes */
    assert_true(prof_maybe_sampled(s, b));
    assert_ptr_equal(s->sampledBits, &s->sampledWord);
  }
  alloc_free(b);
  mprof_get_totals(&t2); /* drains: the frees are charged */
  assert_int_equal(t2.sampled_frees - t1.sampled_frees, 2);
  if (s->state == SPAN_SMALL && s->nsampled == 0) {
    assert_null(s->sampledBits);
    assert_int_equal(s->sampledWord, 0);
  }
  /* many objects per span: a pooled bitmap */
  void *c = alloc_malloc(48);
  struct mspan *sc = span_of((uintptr_t)c);
  assert_true(sc->nelems > 64);
  assert_non_null(sc->sampledBits);
  assert_true(sc->sampledBits != &sc->sampledWord);
  assert_true(prof_maybe_sampled(sc, c));
  alloc_free(c);
  mprof_set_rate(0);
}

/* Sampled frees from several threads at once (mprof_sampled.c keeps the
 * records in shards by span and charges the frees at the next drain): each
 * thread frees the objects another allocated, small ones sharing spans and
 * large ones. Afterwards every free is counted, the estimate is back where
 * it was, no span is left flagged or holding a bitmap, and the records and
 * bitmaps went back (the profiler's memory did not grow by them in a
 * second round, the first having made the buckets). */
enum { XT_THREADS = 4, XT_PER = 600, XT_ROUNDS = 2 };
static void *xt_objs[XT_THREADS][XT_PER];
static pthread_barrier_t xt_step;

/* Worker k, each round: allocates its objects, waits, frees worker k+1's,
 * waits. The threads live across the rounds, so that nothing but their
 * objects is allocated or freed between the main thread's readings. */
static void *xt_worker(void *arg) {
  int k = (int)(intptr_t)arg;
  for (int round = 0; round < XT_ROUNDS; round++) {
    pthread_barrier_wait(&xt_step);
    for (int i = 0; i < XT_PER; i++)
      xt_objs[k][i] = alloc_malloc(i % 50 == 0 ? 70000 : 32 + (size_t)(i % 4) * 16);
    pthread_barrier_wait(&xt_step);
    for (int i = 0; i < XT_PER; i++) alloc_free(xt_objs[(k + 1) % XT_THREADS][i]);
    pthread_barrier_wait(&xt_step);
  }
  return NULL;
}

/* The main thread's part of one round. */
static void xt_round(void) {
  for (int b = 0; b < 3; b++) pthread_barrier_wait(&xt_step);
}

static void test_sampled_frees_across_threads(void **state) {
  (void)state;
  struct prof_totals before, mid, after;
  pthread_t t[XT_THREADS];
  mprof_set_rate(1);
  assert_int_equal(pthread_barrier_init(&xt_step, NULL, XT_THREADS + 1), 0);
  for (int k = 0; k < XT_THREADS; k++)
    assert_int_equal(pthread_create(&t[k], NULL, xt_worker, (void *)(intptr_t)k), 0);
  xt_round();
  mprof_get_totals(&before);
  xt_round();
  mprof_get_totals(&mid);
  for (int k = 0; k < XT_THREADS; k++) pthread_join(t[k], NULL);
  pthread_barrier_destroy(&xt_step);
  assert_int_equal(mid.samples - before.samples, XT_THREADS * XT_PER);
  assert_int_equal(mid.sampled_frees - before.sampled_frees, XT_THREADS * XT_PER);
  assert_int_equal(mid.inuse_bytes, before.inuse_bytes);
  /* The records (56 bytes each) and bitmaps went back; the shards' tables
   * may have grown (a shard held more at once in this round). */
  assert_true(mid.metadata_bytes < before.metadata_bytes + 8 * XT_THREADS * XT_PER);
  /* Every object of the last round is freed: the spans still holding
   * objects hold no sampled one. */
  for (int k = 0; k < XT_THREADS; k++)
    for (int i = 0; i < XT_PER; i++) {
      struct mspan *s = span_of((uintptr_t)xt_objs[k][i]);
      if (s == NULL || s->state != SPAN_SMALL) continue;
      assert_int_equal(s->sampled, 0);
      assert_null(s->sampledBits);
    }
  mprof_set_rate(0);
  mprof_get_totals(&after);
  assert_int_equal(after.inuse_bytes, before.inuse_bytes);
}

/* Four threads keep sampling in the same spans: each frees its
 * neighbour's objects onto its own list (spans nobody carves any more) and
 * allocates them again at rate 1, for many rounds, so that a span's
 * records, flag, count and bitmap are written by several threads at once,
 * each under the span's shard lock (mprof_sampled.c). A free that missed
 * its record (a record entered in another shard than the one its free
 * looks in, or a lost update of the span's count) would leave the frees
 * short of the samples and the estimate above where it started. At the
 * end no span holds a record. */
enum { SC_THREADS = 4, SC_PER = 400, SC_ROUNDS = 24 };
static void *sc_objs[SC_THREADS][SC_PER];
static pthread_barrier_t sc_step;

static void *sc_worker(void *arg) {
  int k = (int)(intptr_t)arg;
  for (int i = 0; i < SC_PER; i++) sc_objs[k][i] = alloc_malloc(48 + (size_t)(i % 2) * 16);
  for (int round = 0; round < SC_ROUNDS; round++) {
    pthread_barrier_wait(&sc_step);
    /* take the neighbour's objects: free them, allocate as many again */
    int from = (k + 1 + round) % SC_THREADS;
    if (from == k) from = (from + 1) % SC_THREADS;
    void *mine[SC_PER];
    pthread_barrier_wait(&sc_step);
    for (int i = 0; i < SC_PER; i++) mine[i] = sc_objs[from][i];
    pthread_barrier_wait(&sc_step);
    for (int i = 0; i < SC_PER; i++) {
      alloc_free(mine[i]);
      mine[i] = alloc_malloc(48 + (size_t)(i % 2) * 16);
    }
    pthread_barrier_wait(&sc_step);
    for (int i = 0; i < SC_PER; i++) sc_objs[k][i] = mine[i];
  }
  pthread_barrier_wait(&sc_step); /* the main thread looks at the spans */
  pthread_barrier_wait(&sc_step);
  for (int i = 0; i < SC_PER; i++) alloc_free(sc_objs[k][i]);
  return NULL;
}

static void test_threads_sample_in_shared_spans(void **state) {
  (void)state;
  struct prof_totals before, after;
  pthread_t t[SC_THREADS];
  mprof_get_totals(&before);
  mprof_set_rate(1);
  assert_int_equal(pthread_barrier_init(&sc_step, NULL, SC_THREADS + 1), 0);
  for (int k = 0; k < SC_THREADS; k++)
    assert_int_equal(pthread_create(&t[k], NULL, sc_worker, (void *)(intptr_t)k), 0);
  for (int b = 0; b < 4 * SC_ROUNDS + 1; b++) pthread_barrier_wait(&sc_step);
  void *spans_seen[SC_THREADS * SC_PER];
  for (int k = 0; k < SC_THREADS; k++)
    for (int i = 0; i < SC_PER; i++) spans_seen[k * SC_PER + i] = span_of((uintptr_t)sc_objs[k][i]);
  pthread_barrier_wait(&sc_step); /* the workers free everything */
  for (int k = 0; k < SC_THREADS; k++) pthread_join(t[k], NULL);
  pthread_barrier_destroy(&sc_step);
  mprof_set_rate(0);
  mprof_get_totals(&after);
  uint64_t n = (uint64_t)SC_THREADS * SC_PER * (SC_ROUNDS + 1);
  assert_int_equal(after.samples - before.samples, n);
  assert_int_equal(after.sampled_frees - before.sampled_frees, n);
  assert_int_equal(after.inuse_bytes, before.inuse_bytes);
  for (int j = 0; j < SC_THREADS * SC_PER; j++) {
    struct mspan *s = spans_seen[j];
    if (s == NULL || s->state != SPAN_SMALL) continue;
    assert_int_equal(s->nsampled, 0);
    assert_int_equal(s->sampled, 0);
  }
}

/* Another thread switches rate when its count, drawn at the old rate,
 * runs out: after at most 4 MiB of its allocations when profiling was off
 * (PROF_OFF_RECHECK). Where it switches it starts afresh: the allocation
 * that took the old count below zero is no sample unless a distance drawn
 * at the new rate falls inside it. A worker makes its cache with profiling
 * off, waits while the main thread sets the rate, then allocates and frees
 * 4 KiB blocks. */
enum { SW_BLOCK = 4096 };
static pthread_barrier_t sw_step;
static size_t sw_total;
static uint64_t sw_samples;

static void *sw_worker(void *arg) {
  (void)arg;
  alloc_free(alloc_malloc(64)); /* its cache, and a count drawn while off */
  assert_non_null(tls_cache);
  tls_cache->sampler.rng = 0x9e3779b97f4a7c15ull; /* its next distances are fixed */
  pthread_barrier_wait(&sw_step);
  pthread_barrier_wait(&sw_step); /* the rate is set */
  struct prof_totals before, after;
  mprof_get_totals(&before);
  for (size_t done = 0; done < sw_total; done += SW_BLOCK) alloc_free(alloc_malloc(SW_BLOCK));
  mprof_get_totals(&after);
  sw_samples = after.samples - before.samples;
  return NULL;
}

static uint64_t samples_after_switch(uint64_t rate, size_t total) {
  pthread_t t;
  mprof_set_rate(0);
  sw_total = total;
  assert_int_equal(pthread_barrier_init(&sw_step, NULL, 2), 0);
  assert_int_equal(pthread_create(&t, NULL, sw_worker, NULL), 0);
  pthread_barrier_wait(&sw_step);
  mprof_set_rate(rate);
  pthread_barrier_wait(&sw_step);
  pthread_join(t, NULL);
  pthread_barrier_destroy(&sw_step);
  mprof_set_rate(0);
  return sw_samples;
}

static void test_other_thread_switches_rate(void **state) {
  (void)state;
  /* Off, then every allocation: 8 MiB after the switch, of which the first
   * 4 MiB at most run out the old count, then every block is a sample. */
  uint64_t n = samples_after_switch(1, (size_t)8 << 20);
  assert_true(n >= ((size_t)4 << 20) / SW_BLOCK);
  assert_true(n <= ((size_t)8 << 20) / SW_BLOCK);
  /* Off, then one sample per GiB: the block where the old count ran out
   * is not a sample (the fixed distance drawn there is far beyond 8 MiB),
   * and nothing else is either. */
  assert_int_equal(samples_after_switch((uint64_t)1 << 30, (size_t)8 << 20), 0);
}

/* Every entry point that hands out a new block charges the sampler (the
 * one path, malloc.c "Sampling"): at rate 1 each is one sample, fast and
 * slow paths alike, and a realloc that moves is one more (and frees the
 * old sampled block). */
static void *ep_malloc_small(void) { return alloc_malloc(48); }
static void *ep_malloc_large(void) { return alloc_malloc(100000); }
static void *ep_calloc_small(void) { return alloc_calloc(3, 40); }
static void *ep_calloc_large(void) { return alloc_calloc(1000, 100); }
static void *ep_memalign(void) { return alloc_memalign(256, 300); }
static void *ep_memalign_large(void) { return alloc_memalign(65536, 70000); }
static void *ep_aligned_alloc(void) { return alloc_aligned_alloc(64, 640); }
static void *ep_valloc(void) { return alloc_valloc(5000); }
static void *ep_pvalloc(void) { return alloc_pvalloc(5000); }
static void *ep_posix_memalign(void) {
  void *p = NULL;
  assert_int_equal(alloc_posix_memalign(&p, 128, 200), 0);
  return p;
}

static void test_every_entry_point_samples(void **state) {
  (void)state;
  void *(*const eps[])(void) = {
      ep_malloc_small,   ep_malloc_large,  ep_calloc_small, ep_calloc_large, ep_memalign,
      ep_memalign_large, ep_aligned_alloc, ep_valloc,       ep_pvalloc,      ep_posix_memalign};
  mprof_set_rate(1);
  struct prof_totals a, b;
  for (size_t i = 0; i < sizeof eps / sizeof eps[0]; i++) {
    mprof_get_totals(&a);
    void *p = eps[i]();
    assert_non_null(p);
    mprof_get_totals(&b);
    assert_int_equal(b.samples - a.samples, 1);
    alloc_free(p);
    mprof_get_totals(&a);
    assert_int_equal(a.sampled_frees - b.sampled_frees, 1);
  }
  /* realloc to a larger class moves: the new block is a sample, the old
   * one's free is accounted. */
  void *p = alloc_malloc(100);
  mprof_get_totals(&a);
  void *q = alloc_realloc(p, 5000);
  assert_non_null(q);
  assert_ptr_not_equal(q, p);
  mprof_get_totals(&b);
  assert_int_equal(b.samples - a.samples, 1);
  assert_int_equal(b.sampled_frees - a.sampled_frees, 1);
  alloc_free(q);
  mprof_set_rate(0);
  /* Off, nothing is sampled. */
  mprof_get_totals(&a);
  for (size_t i = 0; i < sizeof eps / sizeof eps[0]; i++) alloc_free(eps[i]());
  mprof_get_totals(&b);
  assert_int_equal(b.samples, a.samples);
}

static void test_guard_blocks_nested_samples(void **state) {
  (void)state;
  struct prof_totals a, b;
  mprof_set_rate(1);
  mprof_get_totals(&a);
  assert_true(mprof_guard_enter());
  void *p = alloc_malloc(64); /* inside the profiler: not sampled */
  mprof_guard_exit();
  mprof_get_totals(&b);
  assert_int_equal(b.samples, a.samples);
  alloc_free(p);
  mprof_set_rate(0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fastlog2_matches_log2),
      cmocka_unit_test(test_exp_matches_libm),
      cmocka_unit_test(test_distance_mean_and_cv),
      cmocka_unit_test(test_intervals_are_exponential),
      cmocka_unit_test(test_rate_one_and_zero),
      cmocka_unit_test(test_scale),
      cmocka_unit_test(test_scale_matches_libm),
      cmocka_unit_test(test_rate_one_counts_exactly),
      cmocka_unit_test(test_sampled_bitmap_inline),
      cmocka_unit_test(test_sampled_frees_across_threads),
      cmocka_unit_test(test_threads_sample_in_shared_spans),
      cmocka_unit_test(test_other_thread_switches_rate),
      cmocka_unit_test(test_every_entry_point_samples),
      cmocka_unit_test(test_guard_blocks_nested_samples),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
