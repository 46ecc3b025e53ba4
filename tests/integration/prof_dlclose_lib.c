/* prof_dlclose_lib.c: the libraries prof_dlclose opens and closes. Built
 * twice, with DLC_NAME a and b: two libraries of one layout (their names are
 * as long) whose allocating functions have different names, so that the
 * second, opened after the first is closed, lands at the same address with
 * its code at the same offsets. */
#include <stddef.h>
#include <stdlib.h>

#define DLC_CAT2(a, b, c) a##b##c
#define DLC_CAT(a, b, c) DLC_CAT2(a, b, c)
#define DLC_LEAF DLC_CAT(dlc_, DLC_NAME, _leaf)
#define DLC_ALLOC DLC_CAT(dlc_, DLC_NAME, _alloc)

/* what the test dlsyms */
void *DLC_LEAF(size_t size);
int DLC_ALLOC(void **out, int n, size_t size);

/* The allocator's caller: the first frame of every sample. The empty asm
 * keeps the call from becoming a tail call (the frame would vanish). */
__attribute__((noinline, visibility("default"))) void *DLC_LEAF(size_t size) {
  void *p = malloc(size);
  __asm__ volatile("" : : "r"(p) : "memory");
  return p;
}

/* Fills out[0..n) with blocks of size bytes; returns how many it got. */
__attribute__((noinline, visibility("default"))) int DLC_ALLOC(void **out, int n, size_t size) {
  int got = 0;
  for (int i = 0; i < n; i++) {
    out[i] = DLC_LEAF(size);
    got += out[i] != NULL;
  }
  __asm__ volatile("" : : : "memory");
  return got;
}
