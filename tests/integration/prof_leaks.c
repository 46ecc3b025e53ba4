/* prof_leaks: the workload of the leaks accuracy test (prof_leaks.sh). 40
 * ticks of about 50 ms; in each, before the program dumps its profile with
 * allocprof_dump (DIR/snap.NN.pb.gz, one per tick, so the series has one
 * tick between two snapshots whatever the machine's load):
 *
 *   leak_site    allocates 64 KiB (64 objects of 1 KiB) and keeps it
 *   churn_site   allocates 2 MiB (512 objects of 4 KiB) and frees the
 *                previous tick's 2 MiB: a steady 2 MiB in use
 *   hold_site    at tick 8 allocates 50 MiB (1 MiB objects), frees it all
 *                at tick 24
 *
 * DIR/times.txt gets the time (CLOCK_REALTIME, seconds) just before each
 * dump: the test fits the truth on them. A first dump (DIR/warmup.pb.gz,
 * removed) loads the symbols before the series starts. Sampling rate and seed come from ALLOCPROF_RATE and
 * ALLOCPROF_SEED.
 *
 *   prof_leaks DIR */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "allocprof.h"
#include "it_common.h"

#define TICKS 40
#define LEAK_N 64
#define LEAK_SIZE 1024
#define CHURN_N 512
#define CHURN_SIZE 4096
#define HOLD_N 50
#define HOLD_SIZE (1024 * 1024)

static void *churn[2][CHURN_N], *hold[HOLD_N];

__attribute__((noinline)) static void leak_site(void) {
  for (int i = 0; i < LEAK_N; i++) {
    char *p = malloc(it_opaque(LEAK_SIZE));
    if (!p) abort();
    p[0] = 1; /* never freed: the leak */
    __asm__ volatile("" : : "r"(p) : "memory");
  }
}

__attribute__((noinline)) static void churn_site(int tick) {
  void **now = churn[tick % 2], **old = churn[(tick + 1) % 2];
  for (int i = 0; i < CHURN_N; i++)
    if (!(now[i] = malloc(it_opaque(CHURN_SIZE)))) abort();
  for (int i = 0; i < CHURN_N; i++) free(old[i]), old[i] = NULL;
}

__attribute__((noinline)) static void hold_site(int tick) {
  if (tick == 8)
    for (int i = 0; i < HOLD_N; i++)
      if (!(hold[i] = malloc(it_opaque(HOLD_SIZE)))) abort();
  if (tick == 24)
    for (int i = 0; i < HOLD_N; i++) free(hold[i]), hold[i] = NULL;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: prof_leaks DIR\n");
    return 2;
  }
  it_require_liballoc("prof_leaks");
  char path[4096];
  snprintf(path, sizeof path, "%s/warmup.pb.gz", argv[1]);
  if (allocprof_dump(path) != 0) return 1;
  unlink(path);
  snprintf(path, sizeof path, "%s/times.txt", argv[1]);
  FILE *times = fopen(path, "w");
  if (!times) return 1;
  for (int tick = 0; tick < TICKS; tick++) {
    leak_site();
    churn_site(tick);
    hold_site(tick);
    /* the program's pace, not a wait for an event: the rate is measured
     * against the snapshots' own times */
    nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    fprintf(times, "%lld.%09ld\n", (long long)now.tv_sec, now.tv_nsec);
    snprintf(path, sizeof path, "%s/snap.%02d.pb.gz", argv[1], tick);
    if (allocprof_dump(path) != 0) return 1;
  }
  return fclose(times) == 0 ? 0 : 1;
}
