/* deep_stack.c DEPTH: allocates one block at the bottom of DEPTH nested
 * calls of descend() and keeps it, for max_frames.sh. */
#include <stdio.h>
#include <stdlib.h>

static void *kept;

/* noinline and a use of the result after the call: each level is a frame */
__attribute__((noinline)) static int descend(int depth) {
  if (depth == 0) {
    kept = malloc(4096);
    return kept != NULL;
  }
  int r = descend(depth - 1);
  __asm__ volatile("" : "+r"(r));
  return r + 1;
}

int main(int argc, char **argv) {
  int depth = argc > 1 ? atoi(argv[1]) : 100;
  int r = descend(depth);
  printf("%d\n", r);
  return 0;
}
