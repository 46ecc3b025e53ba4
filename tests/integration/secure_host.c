/* secure_host.c: a program linked with liballoc.so that setuid_env.sh runs
 * setuid-root as an unprivileged user. It allocates enough to be sampled
 * and prints "secure=S" (the kernel's AT_SECURE for this process) so the
 * script knows whether the system honoured the setuid bit at all. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "it_common.h"

int main(void) {
  void *keep[256];
  for (int i = 0; i < 256; i++) {
    keep[i] = malloc(it_opaque(4096 + (size_t)i));
    if (keep[i] == NULL) return 1;
    memset(keep[i], i, 64);
  }
  for (int i = 0; i < 256; i++) free(keep[i]);
  printf("secure=%lu\n", getauxval(AT_SECURE));
  return 0;
}
