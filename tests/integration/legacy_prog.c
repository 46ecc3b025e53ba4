/* legacy_prog.c: a small program whose heap legacy_real.sh profiles with
 * other allocators (gperftools' tcmalloc, jemalloc): objects of two sizes
 * from two call paths, half of one kind freed, so in-use and allocated
 * totals differ. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *kept[60000];
static size_t nkept;

__attribute__((noinline)) static void *leaf_alloc(size_t n) {
  void *p = malloc(n);
  if (p) memset(p, 1, n);
  return p;
}

__attribute__((noinline)) static void *via_caller(size_t n) { return leaf_alloc(n); }

int main(void) {
  for (int i = 0; i < 20000; i++) kept[nkept++] = leaf_alloc(1000);
  for (int i = 0; i < 20000; i++) {
    void *p = via_caller(3000);
    if (i % 2)
      free(p);
    else
      kept[nkept++] = p;
  }
  printf("kept %zu objects\n", nkept);
  return 0;
}
