/* symbolize_lib.c: the library symbolize.sh strips (its debug file kept
 * apart, objcopy --only-keep-debug) and names again with allocprof
 * symbolize: a static function, an inline function inlined into it, and an
 * exported entry. Built twice: SYM_OTHER_BUILD makes another build (other
 * code, so another build ID), whose debug file must never name this one's
 * frames. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Inlined into sym_leaf: the innermost frame of every sample. */
static inline void *sym_fill(size_t size) {
  void *p = malloc(size); /* SYM_MALLOC_LINE */
  if (p) memset(p, 0x5a, size);
  return p;
}

/* Static, so once stripped no symbol names it. The empty asm keeps the
 * call from becoming a tail call (the frame would vanish). */
static __attribute__((noinline)) void *sym_leaf(size_t size) {
  void *p = sym_fill(size);
  __asm__ volatile("" : : "r"(p) : "memory");
#ifdef SYM_OTHER_BUILD
  if (p) ((volatile char *)p)[0] = 7;
#endif
  return p;
}

int sym_alloc(void **out, int n, size_t size); /* what the program dlsyms */

/* Fills out[0..n) with blocks of size bytes; returns how many it got. */
__attribute__((noinline, visibility("default"))) int sym_alloc(void **out, int n, size_t size) {
  int got = 0;
  for (int i = 0; i < n; i++) {
    out[i] = sym_leaf(size);
    got += out[i] != NULL;
  }
  __asm__ volatile("" : : : "memory");
  return got;
}
