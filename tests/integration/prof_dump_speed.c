/* prof_dump_speed: how long a dump of 100,000 distinct stacks takes, the
 * first time (symbols loaded) and once they are cached, while another thread
 * keeps allocating (a dump must not stop the program).
 *
 * The stacks: 1024 distinct functions, each calling one of the others
 * through a table, the second one allocating: (x % 1024, (x / 1024 + 7x) %
 * 1024) for x < 100,000 are 100,000 distinct pairs, and about 2,000 distinct
 * code addresses to symbolize.
 *
 * The bar (issue 3): under 1 s the first time, under 100 ms cached. The
 * test prints the times, wall-clock and the CPU time of the dumping thread.
 * It fails when the CPU time is over three times the bar: that is the
 * dump's own work, which a regression makes slower; wall-clock time on a
 * machine busy with other work measures the machine (under two busy loops
 * on two cores a cached dump took four times the bar in wall-clock time).
 * With PROF_DUMP_SPEED_STRICT=1, on a quiet machine, the wall-clock time
 * must be under the bar itself.
 *
 *   prof_dump_speed [DIR]
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "allocprof.h"
#include "it_common.h"
#include "prof_check.h"

#define NSTACKS 100000
#define NF 1024
#define FIRST_BAR_MS 1000.0
#define CACHED_BAR_MS 100.0

typedef int (*fn_t)(int d, unsigned x);
static const fn_t table[NF];
void *keep[NSTACKS];
static int nkeep;

static inline __attribute__((always_inline)) int step(int d, unsigned x) {
  if (d == 1) {
    keep[nkeep++] = malloc(it_opaque(16));
    return 1;
  }
  unsigned next = ((x / NF) + 7u * x) % NF;
  return table[x % NF](d + 1, next);
}

/* The asm makes every body distinct, so no two functions are merged. */
#define FN(k)                                                      \
  __attribute__((noinline)) static int fn_##k(int d, unsigned x) { \
    int r = step(d, x);                                            \
    __asm__ volatile("# " #k : "+r"(r));                           \
    return r + 1;                                                  \
  }
/* (the tables of macros read best as laid out) */
/* clang-format off */
#define F16(p, M)                                                              \
  M(p##0) M(p##1) M(p##2) M(p##3) M(p##4) M(p##5) M(p##6) M(p##7) M(p##8)    \
  M(p##9) M(p##a) M(p##b) M(p##c) M(p##d) M(p##e) M(p##f)
#define F256(p, M)                                                             \
  F16(p##0, M) F16(p##1, M) F16(p##2, M) F16(p##3, M) F16(p##4, M)           \
  F16(p##5, M) F16(p##6, M) F16(p##7, M) F16(p##8, M) F16(p##9, M)           \
  F16(p##a, M) F16(p##b, M) F16(p##c, M) F16(p##d, M) F16(p##e, M)           \
  F16(p##f, M)
/* clang-format on */
#define F1024(M) F256(x0, M) F256(x1, M) F256(x2, M) F256(x3, M)
#define ENTRY(k) fn_##k,

F1024(FN)
static const fn_t table[NF] = {F1024(ENTRY)};

/* x's stack: the caller of table[x % NF] is this function */
__attribute__((noinline)) static void make_stacks(void) {
  for (unsigned x = 0; x < NSTACKS; x++) {
    int r = table[x % NF](0, ((x / NF) + 7u * x) % NF);
    __asm__ volatile("" : "+r"(r));
  }
}

/* ---- a thread that keeps allocating ---- */

static uint64_t worker_ops; /* relaxed atomic */
static int worker_stop;

static void *worker(void *arg) {
  (void)arg;
  while (!__atomic_load_n(&worker_stop, __ATOMIC_RELAXED)) {
    void *p = malloc(it_opaque(48));
    free(it_launder(p));
    __atomic_fetch_add(&worker_ops, 1, __ATOMIC_RELAXED);
  }
  return NULL;
}

static double clock_ms(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  it_require_liballoc("prof_dump_speed");
  const char *dir = pc_tmpdir(argc, argv, 1);
  const char *strict_env = getenv("PROF_DUMP_SPEED_STRICT");
  int strict = strict_env != NULL && strcmp(strict_env, "1") == 0;

  allocprof_set_rate(1);
  make_stacks();
  struct allocprof_totals t;
  allocprof_get_totals(&t);
  PC_CHECK(t.buckets >= NSTACKS, "%" PRIu64 " buckets, want %d at least", t.buckets, NSTACKS);

  pthread_t th;
  if (pthread_create(&th, NULL, worker, NULL) != 0) pc_die("pthread_create");
  while (__atomic_load_n(&worker_ops, __ATOMIC_RELAXED) < 1000) sched_yield();

  /* the first dump, three cached ones (the best counts: the machine may be
   * busy with other tests), then the other containers */
  static const char *const names[] = {"speed.pb.gz", "speed.pb.gz", "speed.pb.gz",
                                      "speed.pb.gz", "speed.pb",    "speed.pb.zst"};
  enum { NDUMPS = sizeof names / sizeof names[0] };
  double ms[NDUMPS], cpu[NDUMPS];
  for (int k = 0; k < NDUMPS; k++) {
    char path[sizeof pc_dir + 64];
    snprintf(path, sizeof path, "%s/%s", dir, names[k]);
    uint64_t ops0 = __atomic_load_n(&worker_ops, __ATOMIC_RELAXED);
    double t0 = clock_ms(CLOCK_MONOTONIC), c0 = clock_ms(CLOCK_THREAD_CPUTIME_ID);
    if (allocprof_dump(path) != 0) pc_die("allocprof_dump %s failed", path);
    ms[k] = clock_ms(CLOCK_MONOTONIC) - t0;
    cpu[k] = clock_ms(CLOCK_THREAD_CPUTIME_ID) - c0;
    uint64_t ops = __atomic_load_n(&worker_ops, __ATOMIC_RELAXED) - ops0;
    printf("dump %d (%s, %s): %7.1f ms (CPU %.1f ms); the other thread allocated %" PRIu64
           " times meanwhile\n",
           k + 1, names[k], k == 0 ? "first" : "cached", ms[k], cpu[k], ops);
    PC_CHECK(ops > 0, "the allocating thread made no progress during dump %d", k + 1);
  }
  __atomic_store_n(&worker_stop, 1, __ATOMIC_RELAXED);
  pthread_join(th, NULL);

  /* the profile holds every stack */
  char path[sizeof pc_dir + 64];
  snprintf(path, sizeof path, "%s/speed.pb", dir);
  profile_pb *p = pc_load(path);
  int64_t v[PC_NVALUES];
  size_t nfn = 0, stacks = 0;
  for (size_t i = 0; i < p->n_sample; i++) {
    const char *leaf = pc_leaf_outer(p, p->sample[i]); /* step is inlined */
    if (strncmp(leaf, "fn_x", 4) != 0) continue;
    stacks++;
    if (p->sample[i]->n_location_id < 3 ||
        strcmp(pc_line_function(p, p->sample[i]->location_id[2], 0), "make_stacks") != 0)
      nfn++;
  }
  PC_CHECK(stacks == NSTACKS, "%zu stacks start in fn_x*, want %d", stacks, NSTACKS);
  PC_CHECK(nfn == 0, "%zu stacks do not go through make_stacks", nfn);
  pc_sum_leaf(p, "step", v);
  PC_CHECK(v[PC_INUSE_OBJECTS] == NSTACKS, "step holds %" PRId64 " objects", v[PC_INUSE_OBJECTS]);
  printf("profile: %zu samples, %zu locations, %zu functions\n", p->n_sample, p->n_location,
         p->n_function);
  profile_free(p);

  double cached = ms[1], cached_cpu = cpu[1];
  for (int k = 2; k <= 3; k++) {
    if (ms[k] < cached) cached = ms[k];
    if (cpu[k] < cached_cpu) cached_cpu = cpu[k];
  }
  printf("first %.1f ms, CPU %.1f ms (bar %.0f); cached %.1f ms, CPU %.1f ms (bar %.0f)\n", ms[0],
         cpu[0], FIRST_BAR_MS, cached, cached_cpu, CACHED_BAR_MS);
  if (ms[0] > FIRST_BAR_MS || cached > CACHED_BAR_MS) printf("warning: over the bar\n");
  if (strict) {
    PC_CHECK(ms[0] <= FIRST_BAR_MS, "first dump %.1f ms", ms[0]);
    PC_CHECK(cached <= CACHED_BAR_MS, "cached dump %.1f ms", cached);
  } else {
    PC_CHECK(cpu[0] <= 3 * FIRST_BAR_MS, "first dump: %.1f ms of CPU time", cpu[0]);
    PC_CHECK(cached_cpu <= 3 * CACHED_BAR_MS, "cached dump: %.1f ms of CPU time", cached_cpu);
  }

  pc_tmpdir_cleanup();
  if (pc_failures) {
    fprintf(stderr, "prof_dump_speed: %d checks failed\n", pc_failures);
    return 1;
  }
  printf("prof_dump_speed: ok\n");
  return 0;
}
