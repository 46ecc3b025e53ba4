/* prof_debugfile.c: the program prof_debugfile.sh runs, linked with
 * liballoc.so, at ALLOCPROF_RATE=1. It opens the library LIB
 * (prof_debugfile_lib.c, stripped by the script), has it allocate N blocks
 * of SIZE bytes that stay in use, writes a profile to OUT through
 * allocprof_dump (the dump symbolizes in this process), then reads its own
 * /proc/self/maps: the dump must have loaded the symbolizer (libdw) and
 * nothing of debuginfod's client (libdebuginfod, libcurl).
 *
 *   prof_debugfile LIB OUT N SIZE
 *
 * Exit 0 when all is well, 1 on a failure (said on stderr), 2 on usage. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allocprof.h"

/* Looks through this process's maps for the objects the dump must and must
 * not have loaded. Returns the number of problems (said on stderr). */
static int check_maps(void) {
  FILE *f = fopen("/proc/self/maps", "re");
  if (f == NULL) {
    perror("prof_debugfile: /proc/self/maps");
    return 1;
  }
  char line[4096];
  int libdw = 0, problems = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    if (strstr(line, "/libdw") != NULL) libdw = 1;
    if (strstr(line, "libdebuginfod") != NULL || strstr(line, "libcurl") != NULL) {
      fprintf(stderr, "prof_debugfile: FAIL: mapped after the dump: %s", line);
      problems++;
    }
  }
  fclose(f);
  if (!libdw) { /* the premise: the dump symbolized here, with libdw */
    fprintf(stderr, "prof_debugfile: FAIL: libdw is not mapped after the dump\n");
    problems++;
  }
  return problems;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: prof_debugfile LIB OUT N SIZE\n");
    return 2;
  }
  int n = atoi(argv[3]);
  size_t size = (size_t)strtoul(argv[4], NULL, 10);
  void *h = dlopen(argv[1], RTLD_NOW);
  if (h == NULL) {
    fprintf(stderr, "prof_debugfile: dlopen %s: %s\n", argv[1], dlerror());
    return 1;
  }
  int (*alloc)(void **, int, size_t);
  void *sym = dlsym(h, "debugfile_alloc");
  memcpy(&alloc, &sym, sizeof alloc); /* object pointer -> function pointer */
  void **blocks = malloc((size_t)n * sizeof *blocks);
  if (sym == NULL || blocks == NULL || alloc(blocks, n, size) != n) {
    fprintf(stderr, "prof_debugfile: no debugfile_alloc in %s, or out of memory\n", argv[1]);
    return 1;
  }
  if (allocprof_dump(argv[2]) != 0) return 1; /* it said why */
  int problems = check_maps();
  printf("prof_debugfile: %d blocks of %zu bytes, dumped to %s; maps %s\n", n, size, argv[2],
         problems ? "NOT clean" : "clean: libdw, no libdebuginfod, no libcurl");
  return problems ? 1 : 0; /* the blocks stay in use: the dump saw them */
}
