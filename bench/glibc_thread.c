/* glibc_thread: the shape of glibc's own bench-malloc-thread.
 *
 * Each of two threads keeps a working set of WORKING_SET slots and, in a
 * loop, picks a random slot, frees the block there and puts a new block
 * of random size in its place. Sizes run up to 32 KiB with a density
 * falling as 1/size (log-uniform: as many blocks of 16..32 bytes as of
 * 16..32 KiB), from a table drawn once per thread, as glibc's benchmark
 * draws its sizes up front; the slot index comes from the loop's own
 * generator. Nothing crosses threads: it measures the thread-local paths
 * over the whole range of small sizes, up to the largest class. */
#include "bench_common.h"

#include "bench_threads.h"

#define THREADS 2
#define WORKING_SET 1024
#define NSIZES 8192 /* a power of two */

struct worker {
  int id;
  size_t iters;
  uint64_t sum;
};

static void *worker_main(void *arg) {
  struct worker *w = arg;
  rng_t r;
  rng_seed(&r, 1820 + (uint64_t)w->id);
  static _Thread_local uint32_t sizes[NSIZES];
  for (size_t i = 0; i < NSIZES; i++) sizes[i] = (uint32_t)rng_logsize(&r, 16, 32768);
  unsigned char *slot[WORKING_SET] = {0};
  uint32_t size[WORKING_SET] = {0};
  uint64_t sum = 0;
  for (size_t i = 0; i < w->iters; i++) {
    uint64_t x = rng_next(&r);
    size_t k = (size_t)(x % WORKING_SET);
    unsigned char *old = slot[k];
    if (old != NULL) {
      uint64_t tag;
      memcpy(&tag, old, sizeof tag);
      sum += mix64(tag) + old[size[k] - 1];
      free(old);
    }
    uint32_t n = sizes[(x >> 32) & (NSIZES - 1)];
    unsigned char *p = must_malloc(n);
    uint64_t tag = x ^ i;
    memcpy(p, &tag, sizeof tag);
    p[n - 1] = (unsigned char)(x >> 24);
    slot[k] = p;
    size[k] = n;
  }
  for (size_t k = 0; k < WORKING_SET; k++) {
    if (slot[k] != NULL) {
      sum += slot[k][size[k] - 1];
      free(slot[k]);
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
    w[i].iters = scaled(scale, 10000000);
    w[i].sum = 0;
  }
  if (bench_run_threads(worker_main, w, sizeof w[0], THREADS) != 0) return 4;
  uint64_t sum = 0;
  for (int i = 0; i < THREADS; i++) sum += w[i].sum;
  bench_print_checksum("glibc_thread", sum);
  return 0;
}
