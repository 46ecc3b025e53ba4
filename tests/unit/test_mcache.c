/* Unit tests of the thread cache (liballoc/mcache.c) through the internal
 * entry points: the allocCache window, LIFO reuse, flushing at the bound,
 * remote frees, release at thread exit, statistics, zeroing, and the
 * double-free check when objects return to their span. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "alloc.h"
#include "alloc_entry.h"
#include "arena.h"
#include "mcache.h"
#include "mcentral.h"

static int setup(void **state) {
  (void)state;
  alloc_init_once();
  return 0;
}

static void test_fresh_objects_are_consecutive(void **state) {
  (void)state;
  /* A size whose class nobody else used: the window hands out slots in order. */
  void *a = alloc_malloc(20000);
  void *b = alloc_malloc(20000);
  assert_non_null(a);
  assert_non_null(b);
  struct mspan *s = span_of((uintptr_t)a);
  assert_int_equal(s->state, SPAN_SMALL);
  assert_int_equal(s->elemsize, 20480);
  if (span_of((uintptr_t)b) == s) assert_int_equal((uintptr_t)b - (uintptr_t)a, 20480);
  alloc_free(a);
  alloc_free(b);
}

static void test_lifo_reuse(void **state) {
  (void)state;
  void *a = alloc_malloc(100);
  alloc_free(a);
  void *b = alloc_malloc(100);
  assert_ptr_equal(a, b); /* hot object reused at once */
  alloc_free(b);
}

static void test_flush_bound(void **state) {
  (void)state;
  unsigned k = size_to_class(3000);
  uint32_t max = class_to_max[k];
  void *objs[512];
  assert_true(max + 10 < 512);
  for (unsigned i = 0; i < max + 10; i++) objs[i] = alloc_malloc(3000);
  for (unsigned i = 0; i < max + 10; i++) alloc_free(objs[i]);
  struct alloc_stats st;
  alloc_get_stats(&st);
  assert_true(st.by_class[k].nfree >= max + 10);
  /* The central lists got at least one batch back: the cache never holds more than max. */
  uint32_t n;
  void *batch = mcentral_take_batch(&mcentral[k], &n);
  assert_non_null(batch);
  assert_int_equal(n, class_to_batch[k]);
  mcentral_put_list(&mcentral[k], batch, n);
}

struct remote_arg {
  void **objs;
  unsigned n;
};

static void *free_on_other_thread(void *arg) {
  struct remote_arg *r = arg;
  for (unsigned i = 0; i < r->n; i++) alloc_free(r->objs[i]);
  return NULL;
}

static void test_cross_thread_free_and_exit(void **state) {
  (void)state;
  struct alloc_stats before, after;
  alloc_get_stats(&before);
  void *objs[1000];
  for (unsigned i = 0; i < 1000; i++) {
    objs[i] = alloc_malloc(48);
    memset(objs[i], 0x5a, 48);
  }
  struct remote_arg r = {objs, 1000};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, free_on_other_thread, &r), 0);
  pthread_join(t, NULL);
  alloc_get_stats(&after);
  unsigned k = size_to_class(48);
  assert_int_equal(after.by_class[k].nmalloc - before.by_class[k].nmalloc, 1000);
  assert_int_equal(after.by_class[k].nfree - before.by_class[k].nfree, 1000);
  /* The exiting thread's cache was destroyed. */
  assert_int_equal(after.nthreads, before.nthreads);
  /* Everything the other thread freed can be allocated again. */
  for (unsigned i = 0; i < 1000; i++) objs[i] = alloc_malloc(48);
  for (unsigned i = 0; i < 1000; i++) alloc_free(objs[i]);
}

static void test_calloc_zeroes_reused_memory(void **state) {
  (void)state;
  for (size_t size = 8; size <= 32768; size = size * 3 / 2 + 8) {
    unsigned char *p = alloc_malloc(size);
    memset(p, 0xff, size);
    alloc_free(p);
    unsigned char *q = alloc_calloc(1, size);
    assert_non_null(q);
    for (size_t i = 0; i < size; i++)
      if (q[i] != 0) fail_msg("calloc(%zu) byte %zu is %d", size, i, q[i]);
    alloc_free(q);
  }
}

static void test_double_free_detected(void **state) {
  (void)state;
  pid_t pid = fork();
  if (pid == 0) {
    /* Freeing the same object twice in a row is caught in the cache. */
    void *p = alloc_malloc(640);
    alloc_free(p);
    alloc_free(p);
    _exit(0);
  }
  int status;
  waitpid(pid, &status, 0);
  assert_true(WIFSIGNALED(status));
  assert_int_equal(WTERMSIG(status), SIGABRT);
}

static void test_double_free_seen_by_span(void **state) {
  (void)state;
  pid_t pid = fork();
  if (pid == 0) {
    /* An object freed again after it went back to its span is caught by
     * the span's bitmap when the second free reaches it. */
    void *p = alloc_malloc(640), *q = alloc_malloc(640);
    alloc_free(p);
    alloc_release_free_memory();
    alloc_free(p);
    alloc_free(q);
    alloc_release_free_memory();
    _exit(0);
  }
  int status;
  waitpid(pid, &status, 0);
  assert_true(WIFSIGNALED(status));
  assert_int_equal(WTERMSIG(status), SIGABRT);
}

static void test_stats_count_in_use(void **state) {
  (void)state;
  struct alloc_stats a, b;
  alloc_get_stats(&a);
  void *p = alloc_malloc(1000);
  void *big = alloc_malloc(1 << 20);
  alloc_get_stats(&b);
  assert_true(b.in_use >= a.in_use + 1024 + (1 << 20));
  assert_true(b.large_in_use >= a.large_in_use + (1 << 20));
  alloc_free(p);
  alloc_free(big);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fresh_objects_are_consecutive),
      cmocka_unit_test(test_lifo_reuse),
      cmocka_unit_test(test_flush_bound),
      cmocka_unit_test(test_cross_thread_free_and_exit),
      cmocka_unit_test(test_calloc_zeroes_reused_memory),
      cmocka_unit_test(test_double_free_detected),
      cmocka_unit_test(test_double_free_seen_by_span),
      cmocka_unit_test(test_stats_count_in_use),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
