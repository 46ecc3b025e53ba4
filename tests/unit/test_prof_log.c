/* test_prof_log: the sample logs and the shards (liballoc/mprof_log.c). Each
 * thread's samples and sampled frees wait in its own log and are charged
 * in batches, every log merged by time: the peak must come out as the
 * events happened, not log by log; a sampled object freed by another
 * thread is charged once; and an exited thread's shard, with the records
 * of its objects that still live, goes to the next thread that needs one
 * rather than a new one each time. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include "alloc_entry.h"
#include "mprof.h"
#include "mprof_state.h"

/* ---- the peak follows time, not the logs ------------------------------------
 * A producer thread allocates a block, hands it to a consumer thread, which
 * frees it and hands the turn back, HANDOFFS times: at no moment are more
 * than one of the blocks live. The producer's samples all wait in its log
 * and the consumer's frees in the other; charged log by log, the
 * producer's would raise the estimate by every block at once. This test
 * runs first, so that the process's peak so far is below one block above
 * what it holds (checked: a higher one would hide a wrong peak). */
enum { HANDOFFS = 48, BLOCK = 65536 };

static pthread_mutex_t turn_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_cv = PTHREAD_COND_INITIALIZER;
static void *handed; /* the block in transit (turn_mu) */
static int turn;     /* 0: producer's, 1: consumer's (turn_mu) */

/* A thread's sampler is its cache's, made at its first small request and
 * drawn at the rate of then (a large request before it charges the shared
 * one, whose distance may be from when profiling was off). */
static void thread_cache_now(void) { alloc_free(alloc_malloc(16)); }

static void *producer(void *arg) {
  (void)arg;
  thread_cache_now();
  for (int i = 0; i < HANDOFFS; i++) {
    void *p = alloc_malloc(BLOCK);
    if (p == NULL) abort();
    pthread_mutex_lock(&turn_mu);
    handed = p;
    turn = 1;
    pthread_cond_broadcast(&turn_cv);
    while (turn != 0) pthread_cond_wait(&turn_cv, &turn_mu);
    pthread_mutex_unlock(&turn_mu);
  }
  return NULL;
}

static void *consumer(void *arg) {
  (void)arg;
  thread_cache_now();
  for (int i = 0; i < HANDOFFS; i++) {
    pthread_mutex_lock(&turn_mu);
    while (turn != 1) pthread_cond_wait(&turn_cv, &turn_mu);
    alloc_free(handed);
    handed = NULL;
    turn = 0;
    pthread_cond_broadcast(&turn_cv);
    pthread_mutex_unlock(&turn_mu);
  }
  return NULL;
}

static void test_peak_follows_time_across_threads(void **state) {
  (void)state;
  struct prof_totals start, end;
  mprof_set_rate(1);
  mprof_get_totals(&start);
  assert_true(start.peak_inuse_bytes < start.inuse_bytes + BLOCK);
  pthread_t tp, tc;
  assert_int_equal(pthread_create(&tc, NULL, consumer, NULL), 0);
  assert_int_equal(pthread_create(&tp, NULL, producer, NULL), 0);
  pthread_join(tp, NULL);
  pthread_join(tc, NULL);
  mprof_get_totals(&end);
  mprof_set_rate(0);
  assert_true(end.samples - start.samples >= HANDOFFS);
  assert_true(end.sampled_frees - start.sampled_frees >= HANDOFFS);
  /* one block live at a time: rate 1, so a block's estimate is its size
   * (the threads' own start-up may add a few small samples) */
  assert_true(end.peak_inuse_bytes >= start.inuse_bytes + BLOCK);
  assert_true(end.peak_inuse_bytes <= start.inuse_bytes + BLOCK + 16384);
}

/* ---- frees of other threads' samples, charged once ---------------------------
 * Thread A samples; the main thread frees. Every sample and free is
 * counted once and the estimate is back where it was, though the free's
 * event is in one log and the sample's in another (or not flushed yet). */
enum { CROSS = 300 };
static void *cross_objs[CROSS];

static void *cross_alloc(void *arg) {
  (void)arg;
  for (int i = 0; i < CROSS; i++) cross_objs[i] = alloc_malloc(24 + (size_t)(i % 7) * 40);
  return NULL;
}

static void test_cross_thread_frees_charged_once(void **state) {
  (void)state;
  struct prof_totals a, b;
  mprof_set_rate(1);
  mprof_get_totals(&a);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, cross_alloc, NULL), 0);
  pthread_join(t, NULL);
  for (int i = 0; i < CROSS; i++) alloc_free(cross_objs[i]);
  mprof_get_totals(&b);
  mprof_set_rate(0);
  assert_true(b.samples - a.samples >= CROSS);
  assert_int_equal(b.samples - a.samples, b.sampled_frees - a.sampled_frees);
  assert_int_equal(b.inuse_bytes, a.inuse_bytes);
}

/* ---- exited threads' shards are adopted -------------------------------------
 * THREADS threads one after another each sample a few objects, keep one
 * alive and exit. Each later thread adopts the shard the one before left,
 * with that live object's record in it: the profiler's memory grows by a
 * shard or two, not one per thread. Freed afterwards by the main thread,
 * every kept object is found and charged. */
enum { THREADS = 40, EACH = 20 };
static void *kept[THREADS];

static void *short_lived(void *arg) {
  int k = (int)(intptr_t)arg;
  for (int i = 0; i < EACH; i++) {
    void *p = alloc_malloc(48 + (size_t)i * 8);
    if (i == EACH / 2)
      kept[k] = p;
    else
      alloc_free(p);
  }
  return NULL;
}

static void test_exited_threads_shards_adopted(void **state) {
  (void)state;
  struct prof_totals a, b, c;
  mprof_set_rate(1);
  /* one thread first, so that the shards the test can cost exist */
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, short_lived, (void *)(intptr_t)0), 0);
  pthread_join(t, NULL);
  mprof_get_totals(&a);
  for (int k = 1; k < THREADS; k++) {
    assert_int_equal(pthread_create(&t, NULL, short_lived, (void *)(intptr_t)k), 0);
    pthread_join(t, NULL);
  }
  mprof_get_totals(&b);
  assert_true(b.metadata_bytes < a.metadata_bytes + 4 * sizeof(struct prof_shard));
  uint64_t live_a = a.samples - a.sampled_frees;
  uint64_t live_b = b.samples - b.sampled_frees;
  assert_int_equal(live_b - live_a, THREADS - 1);
  for (int k = 0; k < THREADS; k++) alloc_free(kept[k]);
  mprof_get_totals(&c);
  mprof_set_rate(0);
  /* every kept object was found in the shard its thread left, and charged
   * (kept[0], sampled before the first reading, too) */
  assert_int_equal(c.samples - c.sampled_frees, live_a - 1);
}

/* A thread whose requests are all large has no thread cache (the large
 * path needs none), so no cache's destructor runs when it exits: its shard
 * must still go to the next thread. Such threads charge the shared
 * sampler, whose distance may have been drawn when profiling was off (at
 * most 64 MiB): a first one allocates past that, then each samples every
 * block. */
enum { LARGE = 1 << 20, LARGE_THREADS = 30 };
static void *large_kept[LARGE_THREADS];

static void *large_only(void *arg) {
  int k = (int)(intptr_t)arg;
  if (k < 0) {
    for (int i = 0; i < 80; i++) alloc_free(alloc_malloc(LARGE));
    return NULL;
  }
  large_kept[k] = alloc_malloc(LARGE);
  return NULL;
}

static void test_cacheless_threads_shards_adopted(void **state) {
  (void)state;
  struct prof_totals a, b;
  mprof_set_rate(1);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, large_only, (void *)(intptr_t)-1), 0);
  pthread_join(t, NULL);
  mprof_get_totals(&a);
  for (int k = 0; k < LARGE_THREADS; k++) {
    assert_int_equal(pthread_create(&t, NULL, large_only, (void *)(intptr_t)k), 0);
    pthread_join(t, NULL);
  }
  mprof_get_totals(&b);
  assert_int_equal(b.samples - a.samples, LARGE_THREADS);
  assert_true(b.metadata_bytes < a.metadata_bytes + 4 * sizeof(struct prof_shard));
  for (int k = 0; k < LARGE_THREADS; k++) alloc_free(large_kept[k]);
  mprof_get_totals(&b);
  mprof_set_rate(0);
  assert_int_equal(b.sampled_frees - a.sampled_frees, LARGE_THREADS);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_peak_follows_time_across_threads),
      cmocka_unit_test(test_cross_thread_frees_charged_once),
      cmocka_unit_test(test_exited_threads_shards_adopted),
      cmocka_unit_test(test_cacheless_threads_shards_adopted),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
