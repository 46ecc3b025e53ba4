/* prof_dump_speed: a profile of 100,000 distinct stacks (bench/dump_stacks.h),
 * dumped once with the symbols loaded the first time, then cached, in every
 * container, while another thread keeps allocating: every dump succeeds,
 * the other thread is not stopped by the dumps, and the profile holds every
 * stack whole (its function at the top, make_stacks below) with its object.
 * A correctness test: how long the dumps take, against the bar (under 1 s
 * the first time, under 100 ms cached), is bench/dump_speed.c's to measure
 * on a quiet machine; here the times are only printed.
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
#include "dump_stacks.h"
#include "it_common.h"
#include "prof_check.h"

#define NSTACKS DUMP_NSTACKS

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

static double clock_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  it_require_liballoc("prof_dump_speed");
  const char *dir = pc_tmpdir(argc, argv, 1);

  allocprof_set_rate(1);
  make_stacks();
  struct allocprof_totals t;
  allocprof_get_totals(&t);
  PC_CHECK(t.buckets >= NSTACKS, "%" PRIu64 " buckets, want %d at least", t.buckets, NSTACKS);

  pthread_t th;
  if (pthread_create(&th, NULL, worker, NULL) != 0) pc_die("pthread_create");
  while (__atomic_load_n(&worker_ops, __ATOMIC_RELAXED) < 1000) sched_yield();

  /* the first dump, cached ones, then the other containers */
  static const char *const names[] = {"speed.pb.gz", "speed.pb.gz", "speed.pb", "speed.pb.zst"};
  enum { NDUMPS = sizeof names / sizeof names[0] };
  uint64_t ops_total = 0;
  for (int k = 0; k < NDUMPS; k++) {
    char path[sizeof pc_dir + 64];
    snprintf(path, sizeof path, "%s/%s", dir, names[k]);
    uint64_t ops0 = __atomic_load_n(&worker_ops, __ATOMIC_RELAXED);
    double t0 = clock_ms();
    if (allocprof_dump(path) != 0) pc_die("allocprof_dump %s failed", path);
    double ms = clock_ms() - t0;
    uint64_t ops = __atomic_load_n(&worker_ops, __ATOMIC_RELAXED) - ops0;
    ops_total += ops;
    printf("dump %d (%s, %s): %7.1f ms; the other thread allocated %" PRIu64 " times meanwhile\n",
           k + 1, names[k], k == 0 ? "first" : "cached", ms, ops);
  }
  /* the dumps take hundreds of milliseconds of CPU time together: a thread
   * that never allocated meanwhile was stopped by them */
  PC_CHECK(ops_total > 0, "the allocating thread made no progress during %d dumps", NDUMPS);
  __atomic_store_n(&worker_stop, 1, __ATOMIC_RELAXED);
  pthread_join(th, NULL);

  /* every container holds every stack */
  for (int k = 1; k < NDUMPS; k++) {
    char path[sizeof pc_dir + 64];
    snprintf(path, sizeof path, "%s/%s", dir, names[k]);
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
    PC_CHECK(stacks == NSTACKS, "%s: %zu stacks start in fn_x*, want %d", names[k], stacks,
             NSTACKS);
    PC_CHECK(nfn == 0, "%s: %zu stacks do not go through make_stacks", names[k], nfn);
    pc_sum_leaf(p, "step", v);
    PC_CHECK(v[PC_INUSE_OBJECTS] == NSTACKS, "%s: step holds %" PRId64 " objects", names[k],
             v[PC_INUSE_OBJECTS]);
    printf("%s: %zu samples, %zu locations, %zu functions\n", names[k], p->n_sample, p->n_location,
           p->n_function);
    profile_free(p);
  }

  pc_tmpdir_cleanup();
  if (pc_failures) {
    fprintf(stderr, "prof_dump_speed: %d checks failed\n", pc_failures);
    return 1;
  }
  printf("prof_dump_speed: ok\n");
  return 0;
}
