/* bench_threads.h: running a workload's worker threads. The threaded
 * workloads keep one struct per worker in an array; this starts a thread
 * on each element and waits for them all, so that each workload's main is
 * its setup and its checksum. */
#ifndef BENCH_THREADS_H
#define BENCH_THREADS_H

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>

#define BENCH_MAX_THREADS 64

/* Runs fn(&workers[i]) for each i < n, workers being an array of elements
 * of `size` bytes, each on a thread of its own, and joins them. Returns 0,
 * or 4 (the workloads' exit status for it) after one line on stderr when a
 * thread could not be started; the threads started are joined first. */
static inline int bench_run_threads(void *(*fn)(void *), void *workers, size_t size, int n) {
  pthread_t t[BENCH_MAX_THREADS];
  int started = 0;
  while (started < n && started < BENCH_MAX_THREADS &&
         pthread_create(&t[started], NULL, fn, (char *)workers + (size_t)started * size) == 0)
    started++;
  for (int i = 0; i < started; i++) pthread_join(t[i], NULL);
  if (started == n) return 0;
  fprintf(stderr, "pthread_create failed\n");
  return 4;
}

#endif
