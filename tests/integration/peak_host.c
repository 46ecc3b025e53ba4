/* peak_host: a program with a known in-use peak, for prof_peak.sh, run
 * under LD_PRELOAD with ALLOCPROF_OUT (its exit profile is the one read):
 *
 *   peak_host run    holds 30 MiB at site_a (4 KiB objects) and 20 MiB at
 *                    site_b (64 KiB objects, the large path) at once, frees
 *                    both, then holds 24 MiB at site_c (1 KiB objects) and
 *                    exits: the peak is site_a 30 MiB + site_b 20 MiB,
 *                    site_c 0
 *   peak_host fork   holds 40 MiB at site_p and frees it, then forks; the
 *                    child holds 8 MiB at site_q and exits: the child's peak
 *                    is site_q's 8 MiB alone, the parent's site_p's 40 MiB.
 *                    Prints "child PID".
 *
 * prof_peak_check reads the profiles back. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "it_common.h"

#define MIB ((size_t)1 << 20)

/* Where each site keeps its objects: not on the heap, or the vector
 * would count at its site. Global, so the stores are not dropped. */
#define SLOTS (24 * MIB / 1024)
void *slots_a[SLOTS], *slots_b[SLOTS], *slots_c[SLOTS], *slots_p[SLOTS], *slots_q[SLOTS];

/* A site: n objects of size bytes from its own function (noinline; the
 * store after the call keeps its frame on the stack). */
#define SITE(name, v)                                                   \
  __attribute__((noinline)) static void **name(size_t n, size_t size) { \
    for (size_t i = 0; i < n && i < SLOTS; i++) {                       \
      v[i] = malloc(it_opaque(size));                                   \
      if (v[i] == NULL) abort();                                        \
      memset(v[i], 1, 64);                                              \
    }                                                                   \
    return v;                                                           \
  }
SITE(site_a, slots_a)
SITE(site_b, slots_b)
SITE(site_c, slots_c)
SITE(site_p, slots_p)
SITE(site_q, slots_q)

static void release(void **v, size_t n) {
  for (size_t i = 0; i < n; i++) free(v[i]);
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "run") == 0) {
    void **a = site_a(30 * MIB / 4096, 4096);
    void **b = site_b(20 * MIB / 65536, 65536);
    release(a, 30 * MIB / 4096);
    release(b, 20 * MIB / 65536);
    void **c = site_c(24 * MIB / 1024, 1024);
    (void)c; /* held at exit */
    return 0;
  }
  if (argc == 2 && strcmp(argv[1], "fork") == 0) {
    release(site_p(40 * MIB / 4096, 4096), 40 * MIB / 4096);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
      void **q = site_q(8 * MIB / 4096, 4096);
      (void)q; /* held at exit */
      exit(0);
    }
    printf("child %ld\n", (long)pid);
    int st = 0;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return 1;
    return 0;
  }
  fprintf(stderr, "usage: peak_host run|fork\n");
  return 2;
}
