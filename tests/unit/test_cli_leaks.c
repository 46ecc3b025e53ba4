/* test_cli_leaks.c: the leak test of one stack over time (cli/leaks.h) on
 * series whose truth is known: an exact leak (its rate exactly), churn,
 * one step, held then freed, a cache that filled and stopped (none of
 * them suspects), and simulated sampling at 512 KiB: a leak of a few dozen
 * samples found with its rate within 3 reported standard errors nearly
 * always, Poisson churn almost never a suspect. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "leaks.h"

#define N 40
#define P 524288.0

static double t[N];
static leaks_scratch sc;

static int setup(void **state) {
  (void)state;
  for (int i = 0; i < N; i++) t[i] = 0.05 * i;
  return leaks_scratch_init(&sc, N);
}

static int teardown(void **state) {
  (void)state;
  leaks_scratch_free(&sc);
  return 0;
}

/* Exact values (rate 1): y[i], objects of size bytes, no variance. */
static void exact(double (*y)(int), double size) {
  for (int i = 0; i < N; i++) {
    sc.y[i] = y(i);
    sc.v[i] = 0;
    sc.obj[i] = sc.y[i] / size;
  }
}

static double y_leak(int i) { return 65536.0 * (i + 1); }
static double y_churn(int i) {
  return 2097152.0 + 4096.0 * (((unsigned)i * 2654435761u >> 7) % 64);
}
static double y_step(int i) { return i < 20 ? 0 : 8388608.0; }
static double y_hold(int i) { return i >= 8 && i < 24 ? 52428800.0 : 0; }
static double y_cache(int i) { return 262144.0 * (i < 24 ? i : 24); }
static double y_late_step(int i) { return 1024.0 * i + (i >= 36 ? 8388608.0 : 0); }

static void test_exact_leak(void **state) {
  (void)state;
  leaks_fit f;
  exact(y_leak, 1024);
  leaks_test(&sc, t, N, &f);
  assert_true(f.suspect);
  assert_true(fabs(f.rate - 65536 / 0.05) < 1e-6 * f.rate);
  assert_true(f.se < 1e-3 * f.rate); /* exact: no sampling error */
  assert_true(f.steadiness > 0.95);
  assert_true(f.monotone == 1);
  assert_int_equal(f.confidence, LEAKS_HIGH);
}

static void test_not_leaks(void **state) {
  (void)state;
  double (*const cases[])(int) = {y_churn, y_step, y_hold, y_cache, y_late_step};
  const char *names[] = {"churn", "step", "hold", "cache", "late step"};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    leaks_fit f;
    exact(cases[c], 4096);
    leaks_test(&sc, t, N, &f);
    if (f.suspect) fail_msg("%s is a suspect (rate %g, z %g)", names[c], f.rate, f.z);
  }
  leaks_fit f;
  exact(y_step, 1048576);
  leaks_test(&sc, t, N, &f);
  assert_true(f.steadiness < 0.1); /* one step: not steady */
  exact(y_hold, 1048576);
  leaks_test(&sc, t, N, &f);
  assert_false(f.not_returned);
  exact(y_cache, 4096);
  leaks_test(&sc, t, N, &f);
  assert_false(f.still_growing);
}

/* ---- simulated sampling at P: small objects, each byte sampled with
 * probability 1/P, a sample standing for P bytes ---- */

static uint64_t rng = 0x853c49e6748fea9bull;

static double uniform(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (double)(rng >> 11) * 0x1p-53;
}

static double poisson(double mean) {
  double k = 0, p = exp(-mean), s = p, u = uniform();
  while (u > s && k < 1000) p *= mean / ++k, s += p;
  return k;
}

/* A sampled leak of rate bytes a snapshot: the count of samples kept grows
 * by a Poisson draw each snapshot. */
static void sampled_leak(double per_snap) {
  double k = 0;
  for (int i = 0; i < N; i++) {
    k += poisson(per_snap / P);
    sc.y[i] = k * P, sc.v[i] = k * P * P, sc.obj[i] = k * P / 64;
  }
}

/* Churn at a steady level: fresh samples every snapshot. */
static void sampled_churn(double level) {
  for (int i = 0; i < N; i++) {
    double k = poisson(level / P);
    sc.y[i] = k * P, sc.v[i] = k * P * P, sc.obj[i] = k * P / 64;
  }
}

static void test_sampled(void **state) {
  (void)state;
  enum { RUNS = 1000 };
  int found = 0, within = 0, churn = 0, plateau = 0;
  double per_snap = 12 * 65536.0; /* 1.5 samples a snapshot, 60 in all */
  for (int r = 0; r < RUNS; r++) {
    leaks_fit f;
    sampled_leak(per_snap);
    leaks_test(&sc, t, N, &f);
    found += f.suspect;
    within += f.suspect && fabs(f.rate - per_snap / 0.05) <= 3 * f.se;
    sampled_churn(4 * 1048576.0);
    leaks_test(&sc, t, N, &f);
    churn += f.suspect;
    /* the leak stops halfway (a filled cache), after about 80 samples
     * (after 30 it is still a suspect most of the time: the last third's
     * share, 10 samples, is within the noise of half of it) */
    sampled_leak(4 * 65536.0 * 8);
    for (int i = N / 2; i < N; i++) sc.y[i] = sc.y[N / 2 - 1], sc.v[i] = sc.v[N / 2 - 1];
    leaks_test(&sc, t, N, &f);
    plateau += f.suspect;
  }
  print_message(
      "sampled: leak found %d, rate within 3 se %d, churn suspects %d, plateau %d of %d\n", found,
      within, churn, plateau, RUNS);
  assert_true(found >= RUNS * 99 / 100);
  assert_true(within >= found * 97 / 100);
  assert_true(churn <= RUNS / 100);
  assert_true(plateau <= RUNS / 20);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exact_leak),
      cmocka_unit_test(test_not_leaks),
      cmocka_unit_test(test_sampled),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
