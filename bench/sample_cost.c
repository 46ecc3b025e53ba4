/* sample_cost: what one heap-profile sample costs, under
 *   LD_PRELOAD=build/liballoc/liballoc.so build/bench/bench_sample_cost
 * The profiler's rate is switched inside the process through
 * allocprof_set_rate (found with dlsym, so this program links no allocator):
 * rate 1 samples every allocation, rate 0 none, and the difference per
 * malloc+free pair is the cost of a sample and of its sampled free. Two
 * cases: a thread that has sampled before (warm), and the first samples of
 * new threads (cold: what short-lived threads pay). Each figure is the
 * median of several rounds, rates interleaved. Stack depth is the number of
 * the program's frames above malloc (the default 16; pass another as the
 * first argument). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define WARM_ALLOCS 20000
#define ROUNDS 9
#define COLD_THREADS 200
#define COLD_ALLOCS 4

static void (*set_rate)(uint64_t);
static int depth = 16;
static void *volatile sink;

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* n malloc+free pairs made d frames deep; returns ns per pair. */
__attribute__((noinline)) static double alloc_at(int d, int n) {
  if (d > 1) {
    double r = alloc_at(d - 1, n);
    __asm__ volatile("" ::: "memory"); /* no tail call: each level is a frame */
    return r;
  }
  double t0 = now_ns();
  for (int i = 0; i < n; i++) {
    void *p = malloc(64);
    sink = p;
    free(p);
  }
  return (now_ns() - t0) / n;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return v[n / 2];
}

static void *cold_thread(void *arg) {
  double *out = arg;
  *out = alloc_at(depth, COLD_ALLOCS);
  return NULL;
}

/* ns per malloc+free pair in the first COLD_ALLOCS of new threads. */
static double cold_round(void) {
  static double per[COLD_THREADS];
  for (int i = 0; i < COLD_THREADS; i++) {
    pthread_t t;
    if (pthread_create(&t, NULL, cold_thread, &per[i]) != 0 || pthread_join(t, NULL) != 0) {
      fprintf(stderr, "sample_cost: cannot run a thread\n");
      exit(1);
    }
  }
  return median(per, COLD_THREADS);
}

int main(int argc, char **argv) {
  if (argc > 1) depth = atoi(argv[1]);
  if (depth < 1 || depth > 200) {
    fprintf(stderr, "sample_cost: depth must be 1..200\n");
    return 2;
  }
  *(void **)&set_rate = dlsym(RTLD_DEFAULT, "allocprof_set_rate");
  if (set_rate == NULL) {
    fprintf(stderr, "sample_cost: run it with LD_PRELOAD=liballoc.so (no allocprof_set_rate)\n");
    return 2;
  }
  double warm[2][ROUNDS], cold[2][ROUNDS];
  alloc_at(depth, WARM_ALLOCS); /* first touches, caches warm */
  for (int r = 0; r < ROUNDS; r++) {
    for (int k = 0; k < 2; k++) {
      int rate = (r + k) % 2; /* interleaved: 0,1 then 1,0 */
      set_rate((uint64_t)rate);
      warm[rate][r] = alloc_at(depth, WARM_ALLOCS);
      cold[rate][r] = cold_round();
    }
  }
  set_rate(0);
  double w0 = median(warm[0], ROUNDS), w1 = median(warm[1], ROUNDS);
  double c0 = median(cold[0], ROUNDS), c1 = median(cold[1], ROUNDS);
  printf("stack depth %d (the program's frames above malloc)\n", depth);
  printf("warm thread: %.0f ns per malloc+free sampled, %.0f ns unsampled: %.0f ns per sample\n",
         w1, w0, w1 - w0);
  printf(
      "new threads: %.0f ns per malloc+free sampled, %.0f ns unsampled: %.0f ns per sample "
      "(first %d samples of %d threads)\n",
      c1, c0, c1 - c0, COLD_ALLOCS, COLD_THREADS);
  return 0;
}
