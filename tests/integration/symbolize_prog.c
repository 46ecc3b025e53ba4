/* symbolize_prog.c: loads the library symbolize.sh gives it (a stripped
 * copy of symbolize_lib.c) and allocates through it, keeping the blocks:
 * 1000 blocks of 1000 bytes in use at exit, all with the library's frames. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#define N 1000

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: symbolize_prog LIB\n");
    return 2;
  }
  void *h = dlopen(argv[1], RTLD_NOW);
  int (*alloc)(void **, int, size_t) =
      h ? (int (*)(void **, int, size_t))dlsym(h, "sym_alloc") : NULL;
  if (!alloc) {
    fprintf(stderr, "symbolize_prog: %s\n", dlerror());
    return 1;
  }
  static void *keep[N];
  int got = alloc(keep, N, 1000);
  printf("%d\n", got);
  return got == N ? 0 : 1;
}
