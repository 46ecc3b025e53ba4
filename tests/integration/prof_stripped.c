/* prof_stripped.c: the program prof_stripped.sh runs twice under the
 * preload. It opens the stripped library LIB (prof_stripped_lib.c), has it
 * allocate N blocks of SIZE bytes that stay in use until exit (the exit dump
 * writes the profile), and prints the address the library was loaded at, so
 * that the script can check that ASLR moved it between the two runs.
 *
 *   prof_stripped LIB N SIZE
 *
 * Everything it allocates is the same from run to run: at ALLOCPROF_RATE=1
 * two runs' profiles hold the same values. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: prof_stripped LIB N SIZE\n");
    return 2;
  }
  int n = atoi(argv[2]);
  size_t size = (size_t)strtoul(argv[3], NULL, 10);
  void *h = dlopen(argv[1], RTLD_NOW);
  if (h == NULL) {
    fprintf(stderr, "prof_stripped: dlopen %s: %s\n", argv[1], dlerror());
    return 1;
  }
  int (*alloc)(void **, int, size_t) = (int (*)(void **, int, size_t))dlsym(h, "stripped_alloc");
  Dl_info info;
  if (alloc == NULL || dladdr((void *)alloc, &info) == 0) {
    fprintf(stderr, "prof_stripped: no stripped_alloc in %s\n", argv[1]);
    return 1;
  }
  void **blocks = malloc((size_t)n * sizeof *blocks);
  if (blocks == NULL || alloc(blocks, n, size) != n) {
    fprintf(stderr, "prof_stripped: out of memory\n");
    return 1;
  }
  printf("%p\n", info.dli_fbase);
  /* the blocks stay in use: the exit dump sees them */
  return 0;
}
