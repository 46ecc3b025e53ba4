/* Shared helpers for the benchmark workloads: a seeded xorshift generator,
 * the scale argument, a checksum mixer and the output line the runner parses.
 *
 * Every workload uses plain malloc/free (so LD_PRELOAD swaps the allocator),
 * draws all its randomness from xorshift generators with fixed seeds, and
 * prints exactly one line "checksum=0x...". The checksum only depends on
 * data the program wrote into its blocks, never on addresses or on thread
 * scheduling, so it must be identical under every allocator. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* xorshift64* (Marsaglia / Vigna); state must be non-zero. */
typedef struct {
  uint64_t s;
} rng_t;

static inline void rng_seed(rng_t *r, uint64_t seed) {
  /* splitmix64 step so that small seeds give well-mixed states */
  uint64_t z = seed + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  r->s = z ? z : 0x2545f4914f6cdd1dull;
}

static inline uint64_t rng_next(rng_t *r) {
  uint64_t x = r->s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  r->s = x;
  return x * 0x2545f4914f6cdd1dull;
}

/* uniform in [lo, hi] (inclusive); bias is irrelevant for benchmarking */
static inline size_t rng_range(rng_t *r, size_t lo, size_t hi) {
  return lo + (size_t)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

/* roughly log-uniform in [lo, hi]: many small sizes, a tail of large ones */
static inline size_t rng_logsize(rng_t *r, size_t lo, size_t hi) {
  unsigned lo_bits = 0, hi_bits = 0;
  while (((size_t)1 << lo_bits) < lo) lo_bits++;
  while (((size_t)1 << hi_bits) < hi) hi_bits++;
  unsigned b = (unsigned)rng_range(r, lo_bits, hi_bits);
  size_t top = (size_t)1 << b;
  size_t s = rng_range(r, top / 2 + 1, top);
  if (s < lo) s = lo;
  if (s > hi) s = hi;
  return s;
}

/* order-independent accumulation is done by the callers with +; this mixes
 * one value so that swapped or lost values are unlikely to cancel out */
static inline uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

/* argv[1]: scale factor (default 1.0) multiplying the amount of work */
static inline double bench_scale(int argc, char **argv) {
  if (argc < 2) return 1.0;
  char *end = NULL;
  double s = strtod(argv[1], &end);
  if (end == argv[1] || *end != '\0' || !(s > 0.0) || s > 1e6) {
    fprintf(stderr, "usage: %s [scale>0]\n", argv[0]);
    exit(2);
  }
  return s;
}

static inline size_t scaled(double scale, size_t base) {
  double v = (double)base * scale;
  return v < 1.0 ? 1 : (size_t)v;
}

static inline void *must_malloc(size_t n) {
  void *p = malloc(n);
  if (!p) {
    fprintf(stderr, "malloc(%zu) failed\n", n);
    exit(3);
  }
  return p;
}

static inline void *must_realloc(void *old, size_t n) {
  void *p = realloc(old, n);
  if (!p) {
    fprintf(stderr, "realloc(%zu) failed\n", n);
    exit(3);
  }
  return p;
}

/* Peak resident set of this process image in KiB (VmHWM), or -1.
 * getrusage's ru_maxrss is not used: Linux folds the RSS of the image that
 * called exec (the runner's, when it spawns with vfork) into it. */
static inline long bench_peak_rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  if (!f) return -1;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "VmHWM:", 6) == 0) {
      kib = strtol(line + 6, NULL, 10);
      break;
    }
  }
  fclose(f);
  return kib;
}

/* The line the runner parses: the checksum and the peak RSS. */
static inline void bench_print_checksum(const char *name, uint64_t sum) {
  printf("%s checksum=0x%016llx peak_rss_kib=%ld\n", name, (unsigned long long)sum,
         bench_peak_rss_kib());
  fflush(stdout);
}

#endif
