/* rss_return: does the allocator give memory back to the OS after a peak?
 *
 * Allocates a 1 GiB working set (times the scale) of objects of 64 B..64 KiB
 * (log-uniform, so both the small-object spans and the page heap fill up),
 * writes every byte, then frees everything in random order. It then sleeps,
 * sampling its own resident set size from /proc/self/statm every 100 ms for
 * 2.5 s, and prints the peak RSS and the RSS right after the frees and 1 s,
 * 2 s and 2.5 s later, in MiB. An idle service after a burst looks like this;
 * an allocator that never returns freed pages keeps the whole peak resident.
 * Always exits 0: the runner reports the numbers, it does not judge them. */
#define _GNU_SOURCE
#include "bench_common.h"

#include <time.h>
#include <unistd.h>

static double rss_mib(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  unsigned long size = 0, resident = 0;
  if (!f) return -1.0;
  if (fscanf(f, "%lu %lu", &size, &resident) != 2) resident = 0;
  fclose(f);
  return (double)resident * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_until(double t) {
  for (;;) {
    double d = t - now_s();
    if (d <= 0) return;
    struct timespec ts;
    ts.tv_sec = (time_t)d;
    ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
  }
}

int main(int argc, char **argv) {
  double scale = bench_scale(argc, argv);
  size_t target = scaled(scale, (size_t)1 << 30);
  size_t cap = 1 << 16, n = 0, total = 0;
  unsigned char **obj = must_malloc(cap * sizeof *obj);
  rng_t r;
  uint64_t sum = 0;

  rng_seed(&r, 500);
  while (total < target) {
    size_t size = rng_logsize(&r, 64, 64 << 10);
    if (n == cap) {
      cap *= 2;
      obj = must_realloc(obj, cap * sizeof *obj);
    }
    unsigned char *p = must_malloc(size);
    memset(p, (int)(n & 0xff), size);
    p[size - 1] = (unsigned char)(size >> 6);
    obj[n++] = p;
    total += size;
    sum += p[size - 1];
  }
  double rss_full = rss_mib();

  /* free in a random order (Fisher-Yates over the pointer array) */
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t)(rng_next(&r) % i);
    unsigned char *t = obj[i - 1];
    obj[i - 1] = obj[j];
    obj[j] = t;
  }
  for (size_t i = 0; i < n; i++) {
    sum += obj[i][0];
    free(obj[i]);
  }
  free(obj);

  double t0 = now_s();
  double after_free = rss_mib();
  double at[3] = {0, 0, 0};
  double min_rss = after_free;
  for (int tick = 1; tick <= 25; tick++) {
    sleep_until(t0 + 0.1 * tick);
    double v = rss_mib();
    if (v < min_rss) min_rss = v;
    if (tick == 10)
      at[0] = v;
    else if (tick == 20)
      at[1] = v;
    else if (tick == 25)
      at[2] = v;
  }

  double peak = (double)bench_peak_rss_kib() / 1024.0;

  printf("rss_return objects=%zu bytes=%zu rss_full=%.1f\n", n, total, rss_full);
  printf("rss_mib peak=%.1f after_free=%.1f t1.0=%.1f t2.0=%.1f t2.5=%.1f min=%.1f\n", peak,
         after_free, at[0], at[1], at[2], min_rss);
  bench_print_checksum("rss_return", sum + n);
  return 0;
}
