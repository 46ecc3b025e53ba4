/* prof_stripped_lib.c: the library prof_stripped.sh strips (strip
 * --strip-all) and loads twice, at two addresses: its allocating function is
 * static, so once stripped no symbol names it, and a profile can name its
 * frame only by object and offset. */
#include <stddef.h>
#include <stdlib.h>

/* The allocator's caller, the first frame of every sample: static, so not
 * in the dynamic symbol table either. The empty asm keeps the call from
 * becoming a tail call (the frame would vanish). */
static __attribute__((noinline)) void *stripped_leaf(size_t size) {
  void *p = malloc(size);
  __asm__ volatile("" : : "r"(p) : "memory");
  return p;
}

int stripped_alloc(void **out, int n, size_t size); /* what the test dlsyms */

/* Fills out[0..n) with blocks of size bytes; returns how many it got. */
__attribute__((noinline, visibility("default"))) int stripped_alloc(void **out, int n,
                                                                    size_t size) {
  int got = 0;
  for (int i = 0; i < n; i++) {
    out[i] = stripped_leaf(size);
    got += out[i] != NULL;
  }
  __asm__ volatile("" : : : "memory");
  return got;
}
