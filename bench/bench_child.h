/* bench_child.h: timing a command the benchmark runs as a child process
 * (the allocprof command's readers): its wall-clock time, CPU time (user
 * plus system) and peak RSS, from wait4's rusage. Its includer defines
 * _GNU_SOURCE first (wait4). */
#ifndef BENCH_CHILD_H
#define BENCH_CHILD_H

#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct bench_child_cost {
  double secs; /* wall clock */
  double cpu;  /* user + system */
  long rss_kib;
};

/* Runs argv (argv[0] the program's path), with its stderr into errfile
 * when not NULL, and waits for it. 0 when it exited 0, else -1. */
static inline int bench_run_child(char *const argv[], const char *errfile,
                                  struct bench_child_cost *c) {
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (errfile != NULL && !freopen(errfile, "w", stderr)) _exit(127);
    execv(argv[0], argv);
    _exit(127);
  }
  int status;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) != pid) return -1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  c->secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  c->rss_kib = ru.ru_maxrss;
  c->cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

#endif
