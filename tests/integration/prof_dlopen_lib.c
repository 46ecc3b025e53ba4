/* prof_dlopen_lib.c: a library whose constructor allocates, so that
 * prof_concurrency samples allocations made inside dlopen (with the
 * loader's lock held). */
#include <stdlib.h>
#include <string.h>

static void *kept[16];

__attribute__((constructor)) static void lib_ctor(void) {
  for (int i = 0; i < 64; i++) {
    void *p = malloc(100 + (size_t)i);
    memset(p, i, 100);
    free(p);
  }
  for (int i = 0; i < 16; i++) kept[i] = malloc(48);
}

__attribute__((destructor)) static void lib_dtor(void) {
  for (int i = 0; i < 16; i++) free(kept[i]);
}

int prof_dlopen_lib_value(void) { return 42; }
