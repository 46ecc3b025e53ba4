/* http_host.c: the program the ALLOCPROF_HTTP tests (http_tests.sh)
 * profile and scrape, run with liballoc.so in LD_PRELOAD (linked to it
 * for alloc_get_stats).
 *
 *   steady MB STATS    allocates MB MiB in blocks of 1..64 KiB from a few
 *                      functions (hold_small, hold_large), kept; writes
 *                      the allocator's in-use bytes (alloc_get_stats) to
 *                      STATS (whole: a temporary name, then rename); then
 *                      churns a little (allocates and frees at once, so the
 *                      in-use stays) until stdin ends
 *   fork STATS         steady 4 MiB, then forks a child that allocates and
 *                      waits for stdin to end too; writes "PID\n" of the
 *                      child to STATS.child once the child runs
 *   window FILE        three stacks for a delta profile: hold_still keeps
 *                      1 MiB made before FILE says "ready", fill_pool makes
 *                      a pool of 8 KiB blocks before it too, then every
 *                      10 ms until stdin ends grow_slowly allocates 64 KiB
 *                      and release_one frees one block of the pool (it
 *                      lasts 30 s): any window of a second allocates on one
 *                      stack, frees on another, and leaves the third alone
 *   pthread_exit       allocates 1 MiB, then main ends with pthread_exit:
 *                      the process must end (status 0) though the
 *                      profiler's threads run */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"

static void *volatile keep[1 << 16];
static size_t nkeep;

__attribute__((noinline)) static void hold_small(size_t bytes) {
  for (size_t got = 0; got < bytes && nkeep < sizeof keep / sizeof keep[0]; got += 1024) {
    keep[nkeep] = malloc(1024);
    memset(keep[nkeep++], 1, 1024);
  }
}

__attribute__((noinline)) static void hold_large(size_t bytes) {
  for (size_t got = 0; got < bytes && nkeep < sizeof keep / sizeof keep[0]; got += 65536) {
    keep[nkeep] = malloc(65536);
    memset(keep[nkeep++], 2, 65536);
  }
}

static volatile int grown;

/* (not a tail call: its own frame stays in the stacks) */
__attribute__((noinline)) static void grow_slowly(void) {
  hold_large(65536);
  grown++;
}

/* window's pool: made before the window, freed a block at a time in it */
#define POOL_BLOCKS 3000
static void *volatile pool[POOL_BLOCKS];
static size_t pool_left;

__attribute__((noinline)) static void fill_pool(void) {
  for (pool_left = 0; pool_left < POOL_BLOCKS; pool_left++) {
    pool[pool_left] = malloc(8192);
    memset(pool[pool_left], 3, 8192);
  }
}

static void release_one(void) {
  if (pool_left > 0) free(pool[--pool_left]);
}

__attribute__((noinline)) static void hold_still(void) {
  static void *volatile still[16];
  for (int i = 0; i < 16; i++) {
    still[i] = malloc(65536);
    memset(still[i], 4, 65536);
  }
}

static void write_file(const char *path, const char *text) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
    perror(path);
    exit(2);
  }
}

static void write_inuse(const char *path) {
  struct alloc_stats *s = malloc(sizeof *s);
  alloc_get_stats(s);
  char text[64];
  snprintf(text, sizeof text, "%llu\n", (unsigned long long)s->in_use);
  free(s);
  write_file(path, text);
}

/* Whether stdin has ended, waiting at most ms. */
static int stdin_ended(int ms) {
  struct pollfd p = {0, POLLIN, 0};
  if (poll(&p, 1, ms) <= 0) return 0;
  char c;
  return read(0, &c, 1) <= 0;
}

static void churn_until_eof(void) {
  while (!stdin_ended(20)) {
    void *volatile p = malloc(100);
    free(p);
  }
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "steady") == 0) {
    size_t bytes = (size_t)atoi(argv[2]) << 20;
    hold_small(bytes / 2);
    hold_large(bytes / 2);
    write_inuse(argv[3]);
    churn_until_eof();
    return 0;
  }
  if (argc == 3 && strcmp(argv[1], "fork") == 0) {
    hold_small(4 << 20);
    pid_t child = fork();
    if (child == 0) {
      hold_large(1 << 20);
      char path[4096], text[32];
      snprintf(path, sizeof path, "%s.child", argv[2]);
      snprintf(text, sizeof text, "%ld\n", (long)getpid());
      write_file(path, text);
      churn_until_eof();
      _exit(0);
    }
    write_inuse(argv[2]);
    churn_until_eof();
    int status;
    waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  }
  if (argc == 3 && strcmp(argv[1], "window") == 0) {
    hold_still();
    fill_pool();
    grow_slowly();
    write_file(argv[2], "ready\n");
    while (!stdin_ended(10)) {
      grow_slowly();
      release_one();
    }
    return 0;
  }
  if (argc == 2 && strcmp(argv[1], "pthread_exit") == 0) {
    hold_small(1 << 20);
    pthread_exit(NULL);
  }
  fprintf(stderr,
          "usage: http_host steady MB STATS | fork STATS | window FILE | "
          "pthread_exit\n");
  return 2;
}
