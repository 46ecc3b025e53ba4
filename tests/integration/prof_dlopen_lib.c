/* prof_dlopen_lib.c: a library whose constructor allocates, so that
 * prof_concurrency samples allocations made inside dlopen (with the
 * loader's lock held). The objects are kept until the destructor, so the
 * compiler cannot elide them. */
#include <stdlib.h>
#include <string.h>

#define KEPT 80

static void *kept[KEPT];

__attribute__((constructor)) static void lib_ctor(void) {
  for (int i = 0; i < KEPT; i++) {
    kept[i] = malloc(48 + (size_t)i);
    if (kept[i] != NULL) memset(kept[i], i, 48);
  }
}

__attribute__((destructor)) static void lib_dtor(void) {
  for (int i = 0; i < KEPT; i++) free(kept[i]);
}

int prof_dlopen_lib_value(void); /* what the test dlsyms */
int prof_dlopen_lib_value(void) { return 42; }
