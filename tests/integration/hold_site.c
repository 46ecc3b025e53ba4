/* hold_site.c: a program with a known heap for the tests of the sampling
 * error (gate_verdicts.sh, stderr_spread.sh): hold_small holds SMALL MiB in
 * 512-byte objects and hold_large LARGE MiB in 96 KiB objects, both still
 * in use when the program exits (its exit profile's inuse_space), so that
 * the truth is known to the byte. Usage: hold_site SMALL_MIB [LARGE_MIB]
 * (fractions allowed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node {
  struct node *next;
};

static struct node *held; /* reachable until exit */

/* Holds bytes in objects of size bytes, each touched. */
static __attribute__((noinline)) void hold(double mib, size_t size) {
  size_t n = (size_t)(mib * 1048576.0 / (double)size);
  for (size_t i = 0; i < n; i++) {
    struct node *p = malloc(size);
    if (!p) {
      fprintf(stderr, "hold_site: out of memory\n");
      exit(1);
    }
    memset(p, 1, size);
    p->next = held;
    held = p;
  }
}

static __attribute__((noinline)) void hold_small(double mib) { hold(mib, 512); }
static __attribute__((noinline)) void hold_large(double mib) { hold(mib, 96 * 1024); }

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: hold_site SMALL_MIB [LARGE_MIB]\n");
    return 2;
  }
  hold_small(atof(argv[1]));
  if (argc == 3) hold_large(atof(argv[2]));
  printf("held\n");
  return 0;
}
