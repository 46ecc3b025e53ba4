/* cache_scratch: passive false sharing (cache-scratch from the Hoard suite).
 *
 * The main thread allocates one small object per worker, back to back (so
 * they likely share a cache line), and hands one to each of two threads.
 * Each thread frees the object it was given, then repeatedly mallocs a small
 * object, writes to it intensively and frees it. An allocator that gives the
 * freed object (or its neighbours on the same line) back to the thread that
 * freed it makes the two threads write to one cache line, which ping-pongs
 * between cores; an allocator with per-thread spans or heaps keeps them
 * apart. */
#define _GNU_SOURCE
#include "bench_common.h"

#include <pthread.h>

#define THREADS 2
#define OBJSIZE 8

struct worker {
  unsigned char *given;
  size_t iterations;
  size_t writes;
  uint64_t sum;
};

static pthread_barrier_t start;

static void *worker_main(void *arg) {
  struct worker *w = arg;
  uint64_t sum = 0;
  /* start together so that the threads' writing phases overlap */
  pthread_barrier_wait(&start);
  free(w->given);
  for (size_t i = 0; i < w->iterations; i++) {
    volatile unsigned char *p = must_malloc(OBJSIZE);
    for (size_t k = 0; k < OBJSIZE; k++) p[k] = (unsigned char)(i + k);
    for (size_t j = 0; j < w->writes; j++) {
      for (size_t k = 0; k < OBJSIZE; k++) p[k] = (unsigned char)(p[k] + 1);
    }
    for (size_t k = 0; k < OBJSIZE; k++) sum += (uint64_t)p[k] << (k * 4);
    free((void *)p);
  }
  w->sum = sum;
  return NULL;
}

int main(int argc, char **argv) {
  double scale = bench_scale(argc, argv);
  struct worker w[THREADS];
  pthread_t t[THREADS];
  uint64_t sum = 0;

  pthread_barrier_init(&start, NULL, THREADS);
  for (int i = 0; i < THREADS; i++) {
    w[i].given = must_malloc(OBJSIZE);
    memset(w[i].given, i, OBJSIZE);
    w[i].iterations = scaled(scale, 50000);
    w[i].writes = 1000;
    w[i].sum = 0;
  }
  for (int i = 0; i < THREADS; i++) {
    if (pthread_create(&t[i], NULL, worker_main, &w[i]) != 0) return 4;
  }
  for (int i = 0; i < THREADS; i++) {
    pthread_join(t[i], NULL);
    sum += mix64(w[i].sum + (uint64_t)i);
  }
  pthread_barrier_destroy(&start);
  bench_print_checksum("cache_scratch", sum);
  return 0;
}
