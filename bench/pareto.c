/* pareto: many short-lived small objects with heavy-tailed sizes.
 *
 * Two threads, each making tens of millions of allocations whose sizes
 * follow a Pareto law (shape 1.2, from 8 bytes, cut at 1 KiB: most are
 * under 32 bytes, about 3 in 1,000 hit the cap), the distribution
 * of object sizes measured in many C and C++ programs. Each object is
 * freed soon: it waits in a small pool of LIVE slots and is replaced when
 * a later allocation picks its slot (a mean lifetime of LIVE allocations).
 * Sizes come from a table of quantiles built once (no libm on the loop),
 * indexed by the generator. All frees are local: this is the
 * single-threaded fast path at high rate, run on both cores. */
#include "bench_common.h"

#include "bench_threads.h"

#define THREADS 2
#define LIVE 64 /* a power of two */
#define NSIZES 4096

static uint16_t size_table[NSIZES];

/* The Pareto quantile for (i + 0.5) / NSIZES: 8 * u^(-1/1.2), capped at 1024,
 * computed with a few Newton steps rather than libm. */
static void build_sizes(void) {
  for (size_t i = 0; i < NSIZES; i++) {
    double u = ((double)i + 0.5) / NSIZES; /* survival probability */
    /* s = 8 * u^(-5/6): solve y^6 = u^-5 for y = s / 8 */
    double target = 1.0 / (u * u * u * u * u);
    double y = 1.0;
    while (y * y * y * y * y * y < target && y < 256.0) y *= 2.0;
    for (int it = 0; it < 60; it++) {
      double y5 = y * y * y * y * y;
      y -= (y5 * y - target) / (6.0 * y5);
    }
    double s = 8.0 * y;
    size_table[i] = (uint16_t)(s > 1024.0 ? 1024 : s < 8.0 ? 8 : s);
  }
}

struct worker {
  int id;
  size_t allocs;
  uint64_t sum;
};

static void *worker_main(void *arg) {
  struct worker *w = arg;
  rng_t r;
  rng_seed(&r, 1830 + (uint64_t)w->id);
  unsigned char *slot[LIVE] = {0};
  uint16_t size[LIVE] = {0};
  uint64_t sum = 0;
  for (size_t i = 0; i < w->allocs; i++) {
    uint64_t x = rng_next(&r);
    size_t k = (size_t)(x & (LIVE - 1));
    if (slot[k] != NULL) {
      sum += slot[k][0] + slot[k][size[k] - 1];
      free(slot[k]);
    }
    uint16_t n = size_table[(x >> 16) % NSIZES];
    unsigned char *p = must_malloc(n);
    p[0] = (unsigned char)(x >> 40);
    p[n - 1] = (unsigned char)(x >> 48);
    slot[k] = p;
    size[k] = n;
  }
  for (size_t k = 0; k < LIVE; k++) {
    if (slot[k] != NULL) {
      sum += slot[k][0] + slot[k][size[k] - 1];
      free(slot[k]);
    }
  }
  w->sum = sum;
  return NULL;
}

int main(int argc, char **argv) {
  double scale = bench_scale(argc, argv);
  struct worker w[THREADS];
  build_sizes();
  for (int i = 0; i < THREADS; i++) {
    w[i].id = i;
    w[i].allocs = scaled(scale, 60000000);
    w[i].sum = 0;
  }
  if (bench_run_threads(worker_main, w, sizeof w[0], THREADS) != 0) return 4;
  uint64_t sum = 0;
  for (int i = 0; i < THREADS; i++) sum += w[i].sum;
  bench_print_checksum("pareto", sum);
  return 0;
}
