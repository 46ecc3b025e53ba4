/* spawn.c: start-up cost of an allocator, for bench/startup.py.
 *
 *   bench_spawn REPS NAME=PRELOAD... -- PROGRAM ARGS...
 *
 * Runs PROGRAM REPS times under each NAME (PRELOAD: the library for
 * LD_PRELOAD, empty for none), interleaved: each round visits the
 * allocators in a fresh random order, so machine noise falls on all alike.
 * Per run it takes the wall time from fork to the end of wait4, and the
 * child's peak RSS (ru_maxrss). Prints one line per allocator:
 *
 *   NAME median_wall_us median_maxrss_kib
 *
 * Linked statically, and tiny: a child's ru_maxrss counts what it had
 * before exec (this launcher's pages, copied by fork), so the launcher
 * must be far smaller than the programs measured. (A Python launcher, as
 * bench/run.py's, would add its tens of MiB to every figure.) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ALLOCS 16

struct alloc {
  const char *name, *preload;
  double *wall_us;
  long *rss_kib;
};

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}
static int cmp_long(const void *a, const void *b) {
  long x = *(const long *)a, y = *(const long *)b;
  return (x > y) - (x < y);
}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: bench_spawn REPS NAME=PRELOAD... -- PROGRAM ARGS...\n");
    return 2;
  }
  int reps = atoi(argv[1]);
  struct alloc allocs[MAX_ALLOCS];
  int n = 0, i = 2;
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    char *eq = strchr(argv[i], '=');
    if (eq == NULL || n == MAX_ALLOCS) {
      fprintf(stderr, "bench_spawn: bad allocator %s\n", argv[i]);
      return 2;
    }
    *eq = 0;
    allocs[n].name = argv[i];
    allocs[n].preload = eq + 1;
    allocs[n].wall_us = calloc((size_t)reps, sizeof(double));
    allocs[n].rss_kib = calloc((size_t)reps, sizeof(long));
    if (allocs[n].wall_us == NULL || allocs[n].rss_kib == NULL) return 2;
    n++;
  }
  if (reps < 1 || n == 0 || i + 1 >= argc) {
    fprintf(stderr, "bench_spawn: need REPS >= 1, allocators, -- and a program\n");
    return 2;
  }
  char **prog = &argv[i + 1];
  int order[MAX_ALLOCS];
  for (int k = 0; k < n; k++) order[k] = k;
  srand((unsigned)time(NULL));
  for (int r = 0; r < reps; r++) {
    for (int k = n - 1; k > 0; k--) { /* Fisher-Yates */
      int j = rand() % (k + 1), t = order[k];
      order[k] = order[j];
      order[j] = t;
    }
    for (int k = 0; k < n; k++) {
      struct alloc *a = &allocs[order[k]];
      double t0 = now_us();
      pid_t pid = fork();
      if (pid < 0) {
        perror("bench_spawn: fork");
        return 1;
      }
      if (pid == 0) {
        /* the program's output is not ours: stdout carries the results */
        if (freopen("/dev/null", "w", stdout) == NULL) _exit(126);
        if (a->preload[0] != 0)
          setenv("LD_PRELOAD", a->preload, 1);
        else
          unsetenv("LD_PRELOAD");
        execv(prog[0], prog);
        _exit(127);
      }
      int status;
      struct rusage ru;
      while (wait4(pid, &status, 0, &ru) < 0)
        if (errno != EINTR) {
          perror("bench_spawn: wait4");
          return 1;
        }
      double t1 = now_us();
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench_spawn: %s under %s failed (status %d)\n", prog[0], a->name, status);
        return 1;
      }
      a->wall_us[r] = t1 - t0;
      a->rss_kib[r] = ru.ru_maxrss;
    }
  }
  for (int k = 0; k < n; k++) {
    qsort(allocs[k].wall_us, (size_t)reps, sizeof(double), cmp_double);
    qsort(allocs[k].rss_kib, (size_t)reps, sizeof(long), cmp_long);
    printf("%s %.1f %ld\n", allocs[k].name, allocs[k].wall_us[reps / 2],
           allocs[k].rss_kib[reps / 2]);
  }
  return 0;
}
