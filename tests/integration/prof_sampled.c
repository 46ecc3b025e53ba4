/* prof_sampled: the profile's estimates at the default rate (524288) are
 * unbiased, with the spread the rate implies. The program runs itself as a
 * child once per seed (ALLOCPROF_SEED=1..SEEDS, ALLOCPROF_RATE=524288); each
 * child builds the same known heap, dumps it with allocprof_dump and exits;
 * the parent reads the profiles and, per function and value:
 *
 *   - the mean over the seeds lies within 4 standard errors of the truth;
 *   - no single run lies beyond 6 standard deviations;
 *   - the spread over the seeds matches the theory (the ratio of measured to
 *     expected standard deviation within [0.4, 1.8]: a sampler that took
 *     every rate-th byte, or the same bytes whatever the seed, fails here);
 *   - one seed run twice gives the same profile values.
 *
 * The theory: with exponential intervals between samples, samples form a
 * Poisson process over allocated bytes, so an object of s bytes is sampled
 * independently of the others with probability p(s) = 1 - exp(-s/rate) and
 * counts for 1/p(s) objects and s/p(s) bytes in the profile. An estimate
 * of the objects is then unbiased with variance sum (1 - p)/p over the
 * objects, and of the bytes sum s^2 (1 - p)/p.
 *
 *   prof_sampled [DIR]          the test
 *   prof_sampled child PATH     one run (environment set by the parent)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "allocprof.h"
#include "it_common.h"
#include "prof_check.h"

#define RATE 524288
#ifndef SEEDS
#define SEEDS 20
#endif

/* ---- the known heap ---- */

#define SMALL_N 200000
#define SMALL_SIZE 256 /* every other one freed */
#define MEDIUM_N 4000
#define MEDIUM_SIZE 4096
#define LARGE_N 100
#define LARGE_SIZE 100000
#define MIXED_N 50000 /* sizes 16..2015, each freed at once */

static size_t mixed_size(int i) { return 16 + (size_t)(((unsigned)i * 7919u) % 2000u); }

void *small_keep[SMALL_N], *medium_keep[MEDIUM_N], *large_keep[LARGE_N];

__attribute__((noinline)) static void s_small(void) {
  for (int i = 0; i < SMALL_N; i++) small_keep[i] = malloc(it_opaque(SMALL_SIZE));
  for (int i = 0; i < SMALL_N; i += 2) free(small_keep[i]);
}

__attribute__((noinline)) static void s_medium(void) {
  for (int i = 0; i < MEDIUM_N; i++) medium_keep[i] = malloc(it_opaque(MEDIUM_SIZE));
}

__attribute__((noinline)) static void s_large(void) {
  for (int i = 0; i < LARGE_N; i++) large_keep[i] = malloc(it_opaque(LARGE_SIZE));
}

__attribute__((noinline)) static void s_mixed(void) {
  for (int i = 0; i < MIXED_N; i++) {
    void *p = malloc(it_opaque(mixed_size(i)));
    free(it_launder(p));
  }
}

static int child(const char *path) {
  it_require_liballoc("prof_sampled");
  if (allocprof_get_rate() != RATE) {
    fprintf(stderr, "prof_sampled child: rate %" PRIu64 ", want %d\n", allocprof_get_rate(), RATE);
    return 1;
  }
  s_small();
  s_medium();
  s_large();
  s_mixed();
  return allocprof_dump(path) == 0 ? 0 : 1;
}

/* ---- the truth and its variance ---- */

#define NFUNCS 4
static const char *const funcs[NFUNCS] = {"s_small", "s_medium", "s_large", "s_mixed"};
static const char *const value_names[PC_NVALUES] = {"alloc_objects", "alloc_space", "inuse_objects",
                                                    "inuse_space"};

struct theory {
  double truth[PC_NVALUES];
  double var[PC_NVALUES]; /* of one run's estimate */
};

static void add_objects(struct theory *t, double size, double n, double live) {
  double p = 1 - exp(-size / RATE);
  double q = (1 - p) / p;
  t->truth[PC_ALLOC_OBJECTS] += n;
  t->truth[PC_ALLOC_SPACE] += n * size;
  t->truth[PC_INUSE_OBJECTS] += live;
  t->truth[PC_INUSE_SPACE] += live * size;
  t->var[PC_ALLOC_OBJECTS] += n * q;
  t->var[PC_ALLOC_SPACE] += n * size * size * q;
  t->var[PC_INUSE_OBJECTS] += live * q;
  t->var[PC_INUSE_SPACE] += live * size * size * q;
}

static void theory(struct theory th[NFUNCS]) {
  memset(th, 0, NFUNCS * sizeof *th);
  add_objects(&th[0], SMALL_SIZE, SMALL_N, SMALL_N / 2);
  add_objects(&th[1], MEDIUM_SIZE, MEDIUM_N, MEDIUM_N);
  add_objects(&th[2], LARGE_SIZE, LARGE_N, LARGE_N);
  for (int i = 0; i < MIXED_N; i++) add_objects(&th[3], (double)mixed_size(i), 1, 0);
}

/* ---- running the children ---- */

extern char **environ;

static void run_child(const char *self, const char *path, int seed) {
  /* the parent's environment without ALLOCPROF_*, plus rate and seed */
  size_t n = 0;
  while (environ[n] != NULL) n++;
  char **env = calloc(n + 3, sizeof *env);
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (strncmp(environ[i], "ALLOCPROF_", 10) != 0) env[k++] = environ[i];
  char rate[64], sd[64];
  snprintf(rate, sizeof rate, "ALLOCPROF_RATE=%d", RATE);
  snprintf(sd, sizeof sd, "ALLOCPROF_SEED=%d", seed);
  env[k++] = rate;
  env[k++] = sd;
  env[k] = NULL;
  pid_t pid = fork();
  if (pid < 0) pc_die("fork: %s", strerror(errno));
  if (pid == 0) {
    char *args[] = {(char *)self, (char *)"child", (char *)path, NULL};
    execve(self, args, env);
    _exit(127);
  }
  free(env);
  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    pc_die("child for seed %d failed (status %#x)", seed, status);
}

/* Per function, the four values of the profile at path, and how many
 * samples (buckets) each function has. */
static void read_run(const char *path, double out[NFUNCS][PC_NVALUES], double nsamples[NFUNCS]) {
  profile_pb *p = pc_load(path);
  pc_check_header(p, RATE);
  for (int f = 0; f < NFUNCS; f++) {
    int64_t v[PC_NVALUES];
    pc_sum_leaf(p, funcs[f], v);
    for (int k = 0; k < PC_NVALUES; k++) out[f][k] = (double)v[k];
    nsamples[f] = 0;
    for (size_t i = 0; i < p->n_sample; i++)
      nsamples[f] += strcmp(pc_leaf(p, p->sample[i]), funcs[f]) == 0;
  }
  profile_free(p);
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "child") == 0) return child(argv[2]);
  const char *dir = pc_tmpdir(argc, argv, 1);
  char self[4096];
  ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
  if (sl <= 0) pc_die("readlink /proc/self/exe");
  self[sl] = 0;

  struct theory th[NFUNCS];
  theory(th);
  static double est[SEEDS + 1][NFUNCS][PC_NVALUES];
  double nsamp[NFUNCS], trunc[NFUNCS] = {0};
  for (int s = 0; s <= SEEDS; s++) {
    char path[sizeof pc_dir + 64];
    snprintf(path, sizeof path, "%s/seed-%d.pb.gz", dir, s);
    run_child(self, path, s == SEEDS ? 1 : s + 1); /* the last run repeats seed 1 */
    read_run(path, est[s], nsamp);
    if (s < SEEDS)
      for (int f = 0; f < NFUNCS; f++) trunc[f] += nsamp[f] / SEEDS;
    unlink(path);
  }

  for (int f = 0; f < NFUNCS; f++) {
    for (int k = 0; k < PC_NVALUES; k++) {
      double truth = th[f].truth[k], sd = sqrt(th[f].var[k]);
      double sum = 0, sum2 = 0;
      for (int s = 0; s < SEEDS; s++) sum += est[s][f][k];
      double mean = sum / SEEDS;
      for (int s = 0; s < SEEDS; s++) sum2 += (est[s][f][k] - mean) * (est[s][f][k] - mean);
      double measured_sd = sqrt(sum2 / (SEEDS - 1));
      /* each sample's values are truncated to integers: at most one unit
       * lost per sample */
      double slack = trunc[f] + 1;
      double se = sd / sqrt(SEEDS);
      printf(
          "%-8s %-13s truth %12.0f mean %14.1f (%+6.2f%%, %+5.2f SE) sd %10.1f measured %10.1f\n",
          funcs[f], value_names[k], truth, mean, truth ? 100 * (mean - truth) / truth : 0,
          se > 0 ? (mean - truth) / se : 0, sd, measured_sd);
      PC_CHECK(fabs(mean - truth) <= 4 * se + slack,
               "%s %s: mean %.1f over %d seeds, truth %.0f, standard error %.1f", funcs[f],
               value_names[k], mean, SEEDS, truth, se);
      for (int s = 0; s < SEEDS; s++)
        PC_CHECK(fabs(est[s][f][k] - truth) <= 6 * sd + slack,
                 "%s %s: seed %d estimates %.0f, truth %.0f, sd %.1f", funcs[f], value_names[k],
                 s + 1, est[s][f][k], truth, sd);
      if (sd > 0)
        PC_CHECK(measured_sd >= 0.4 * sd && measured_sd <= 1.8 * sd,
                 "%s %s: spread over seeds %.1f, theory %.1f", funcs[f], value_names[k],
                 measured_sd, sd);
      else
        PC_CHECK(measured_sd == 0 && mean == truth, "%s %s: %.1f, exactly %.0f expected", funcs[f],
                 value_names[k], mean, truth);
      PC_CHECK(est[SEEDS][f][k] == est[0][f][k], "%s %s: seed 1 gave %.0f, then %.0f", funcs[f],
               value_names[k], est[0][f][k], est[SEEDS][f][k]);
    }
  }

  pc_tmpdir_cleanup();
  if (pc_failures) {
    fprintf(stderr, "prof_sampled: %d checks failed\n", pc_failures);
    return 1;
  }
  printf("prof_sampled: ok\n");
  return 0;
}
