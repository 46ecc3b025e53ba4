/* batch_phases: batch.c's pattern on one thread, timed phase by phase, and
 * the order its mallocs hand addresses out in.
 *
 * Not a workload (bench/run.py does not run it): a probe for where
 * batch's time goes under one allocator or another (bench/RESULTS.md
 * section 16). Each round allocates n objects of 48 bytes and touches
 * them, frees them oldest first, allocates n again and frees them newest
 * first, as batch.c does. It prints the nanoseconds spent in the two
 * allocation loops and in the two free loops, and the share of
 * consecutive mallocs of the last 50 rounds that returned neighbours
 * (addresses 48 bytes apart): near 1 when a free list keeps address order,
 * near 0 when it has been shuffled.
 *
 *   LD_PRELOAD=... bench_batch_phases [ROUNDS [N]]
 *
 * ROUNDS defaults to 20,000; N, the batch size, is drawn from 25..1,600
 * each round (as in batch.c) unless given. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_common.h"

#define OBJ_SIZE 48
#define MAX_BATCH 1600
#define LAST_ROUNDS 50

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Neighbours among obj[0..n): pairs of consecutive mallocs 48 bytes apart. */
static size_t neighbours(uint64_t *const *obj, size_t n) {
  size_t k = 0;
  for (size_t i = 1; i < n; i++) {
    intptr_t d = (intptr_t)obj[i] - (intptr_t)obj[i - 1];
    if (d == OBJ_SIZE || d == -OBJ_SIZE) k++;
  }
  return k;
}

int main(int argc, char **argv) {
  long rounds = argc > 1 ? atol(argv[1]) : 20000;
  long fixed = argc > 2 ? atol(argv[2]) : 0;
  if (rounds < LAST_ROUNDS || fixed < 0 || fixed > MAX_BATCH) {
    fprintf(stderr, "usage: bench_batch_phases [ROUNDS >= %d [N <= %d]]\n", LAST_ROUNDS, MAX_BATCH);
    return 2;
  }
  static uint64_t *obj[MAX_BATCH];
  rng_t r;
  rng_seed(&r, 1840);
  uint64_t alloc_ns = 0, free_ns = 0, sum = 0;
  size_t adjacent = 0, pairs = 0;
  for (long round = 0; round < rounds; round++) {
    size_t n = fixed ? (size_t)fixed : rng_range(&r, 25, MAX_BATCH);
    int last = round >= rounds - LAST_ROUNDS;
    for (int pass = 0; pass < 2; pass++) {
      uint64_t t0 = now_ns();
      for (size_t i = 0; i < n; i++) {
        obj[i] = must_malloc(OBJ_SIZE);
        obj[i][0] = i;
        obj[i][OBJ_SIZE / 8 - 1] = ~(uint64_t)i;
      }
      uint64_t t1 = now_ns();
      if (last) {
        adjacent += neighbours(obj, n);
        pairs += n - 1;
      }
      uint64_t t2 = now_ns();
      if (pass == 0) { /* oldest first */
        for (size_t i = 0; i < n; i++) {
          sum += obj[i][0] ^ obj[i][OBJ_SIZE / 8 - 1];
          free(obj[i]);
        }
      } else { /* newest first */
        for (size_t i = n; i-- > 0;) {
          sum += obj[i][0] ^ obj[i][OBJ_SIZE / 8 - 1];
          free(obj[i]);
        }
      }
      uint64_t t3 = now_ns();
      alloc_ns += t1 - t0;
      free_ns += t3 - t2;
    }
  }
  printf("alloc_ms=%.1f free_ms=%.1f neighbours=%.3f checksum=%llx\n", (double)alloc_ns / 1e6,
         (double)free_ns / 1e6, pairs ? (double)adjacent / (double)pairs : 0.0,
         (unsigned long long)sum);
  return 0;
}
