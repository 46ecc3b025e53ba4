/* test_prof_peak_threads: the profiler's books when threads hand sampled
 * objects to each other (liballoc/mprof_sampled.c, mprof_peak.c): the
 * recorded peak is the highest in-use estimate in the order the samples
 * and frees happened, not a sum of what each thread did alone; and a
 * thread's samples freed by another are charged once. */
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

/* ---- the peak follows the order of events ------------------------------------
 * A producer thread allocates a block, hands it to a consumer thread, which
 * frees it and hands the turn back, HANDOFFS times: at no moment are more
 * than one of the blocks live. Books kept per thread and merged in any
 * order but the events' own (the consumer's frees after all of the
 * producer's samples) would raise the estimate by every block. This test
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
 * A thread samples; the main thread frees. Every sample and free is
 * counted once and the estimate is back where it was. */
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_peak_follows_time_across_threads),
      cmocka_unit_test(test_cross_thread_frees_charged_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
