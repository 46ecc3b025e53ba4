/* batch: one size, allocated in batches and freed in FIFO, then LIFO order.
 *
 * Two threads, each in rounds: draw a batch size n of 25..1,600 objects of
 * OBJ_SIZE bytes, allocate n, free them in the order they were allocated
 * (first in, first out), allocate n again and free them newest first (last
 * in, first out). FIFO is the order a queue or a request's arena releases
 * its objects in, and the one a LIFO free list handles worst: the objects
 * come back in the reverse of the order the next batch will take them,
 * and a batch larger than the thread's cache overflows it on the way out
 * and runs it dry on the way back in. Nothing crosses threads. */
#include "bench_common.h"

#include "bench_threads.h"

#define THREADS 2
#define OBJ_SIZE 48
#define MAX_BATCH 1600

struct worker {
  int id;
  size_t rounds;
  uint64_t sum;
};

static void fill(uint64_t *p, uint64_t v) {
  p[0] = v;
  p[OBJ_SIZE / sizeof *p - 1] = ~v;
}

static uint64_t value(const uint64_t *p) { return mix64(p[0]) ^ p[OBJ_SIZE / sizeof *p - 1]; }

static void *worker_main(void *arg) {
  struct worker *w = arg;
  rng_t r;
  rng_seed(&r, 1840 + (uint64_t)w->id);
  uint64_t *obj[MAX_BATCH];
  uint64_t sum = 0;
  for (size_t round = 0; round < w->rounds; round++) {
    size_t n = rng_range(&r, 25, MAX_BATCH);
    uint64_t base = rng_next(&r);
    for (size_t i = 0; i < n; i++) {
      obj[i] = must_malloc(OBJ_SIZE);
      fill(obj[i], base + i);
    }
    for (size_t i = 0; i < n; i++) { /* FIFO */
      sum += value(obj[i]);
      free(obj[i]);
    }
    for (size_t i = 0; i < n; i++) {
      obj[i] = must_malloc(OBJ_SIZE);
      fill(obj[i], base - i);
    }
    for (size_t i = n; i-- > 0;) { /* LIFO */
      sum += value(obj[i]);
      free(obj[i]);
    }
  }
  w->sum = sum;
  return NULL;
}

int main(int argc, char **argv) {
  double scale = bench_scale(argc, argv);
  struct worker w[THREADS];
  for (int i = 0; i < THREADS; i++) {
    w[i].id = i;
    w[i].rounds = scaled(scale, 20000);
    w[i].sum = 0;
  }
  if (bench_run_threads(worker_main, w, sizeof w[0], THREADS) != 0) return 4;
  uint64_t sum = 0;
  for (int i = 0; i < THREADS; i++) sum += w[i].sum;
  bench_print_checksum("batch", sum);
  return 0;
}
