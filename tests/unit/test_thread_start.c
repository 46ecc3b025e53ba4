/* Unit tests of alloc_thread_start (liballoc/thread.c), which starts the
 * scavenger's thread and the profiler's: the new thread runs with every
 * signal blocked, detached, with the stack asked for, and the caller's own
 * signal mask is left as it was. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <unistd.h>
#include <cmocka.h>

#include "internal.h"

/* What the started thread saw, sent back through a pipe (the test waits
 * for it, never for a time). */
struct seen {
  int blocked[8];
  int detached;
  size_t stack;
};

static const int probed[8] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGALRM, SIGCHLD, SIGPROF};
static int report[2];

static void *probe(void *arg) {
  (void)arg;
  struct seen s = {{0}, 0, 0};
  sigset_t m;
  pthread_sigmask(SIG_BLOCK, NULL, &m);
  for (int i = 0; i < 8; i++) s.blocked[i] = sigismember(&m, probed[i]);
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    int d = 0;
    pthread_attr_getdetachstate(&attr, &d);
    s.detached = d == PTHREAD_CREATE_DETACHED;
    pthread_attr_getstacksize(&attr, &s.stack);
    pthread_attr_destroy(&attr);
  }
  if (write(report[1], &s, sizeof s) != (ssize_t)sizeof s) _exit(9);
  return NULL;
}

static struct seen start_and_wait(size_t stack) {
  struct seen s;
  assert_int_equal(alloc_thread_start(probe, NULL, stack), 0);
  assert_int_equal(read(report[0], &s, sizeof s), (ssize_t)sizeof s);
  return s;
}

static void test_every_signal_blocked(void **state) {
  (void)state;
  struct seen s = start_and_wait(0);
  for (int i = 0; i < 8; i++)
    if (!s.blocked[i]) fail_msg("signal %d is not blocked in the started thread", probed[i]);
  assert_true(s.detached);
}

static void test_caller_mask_kept(void **state) {
  (void)state;
  sigset_t mine, after;
  sigemptyset(&mine);
  sigaddset(&mine, SIGUSR2);
  pthread_sigmask(SIG_SETMASK, &mine, NULL);
  (void)start_and_wait(0);
  pthread_sigmask(SIG_BLOCK, NULL, &after);
  for (int i = 0; i < 8; i++)
    assert_int_equal(sigismember(&after, probed[i]), probed[i] == SIGUSR2);
  sigemptyset(&mine);
  pthread_sigmask(SIG_SETMASK, &mine, NULL);
}

static void test_stack_size(void **state) {
  (void)state;
  struct seen s = start_and_wait(64 << 10);
  assert_true(s.stack >= (64 << 10) && s.stack < (1 << 20)); /* not the 8 MiB default */
}

int main(void) {
  if (pipe(report) != 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_signal_blocked),
      cmocka_unit_test(test_caller_mask_kept),
      cmocka_unit_test(test_stack_size),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
