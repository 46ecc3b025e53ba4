/* consumer.c: a program built against an installed allocprof (pkg-config or
 * find_package): it links liballoc, allocates at rate 1 and dumps its heap
 * profile with the public API to argv[1]. The headers are where the install
 * puts them: <prefix>/include/allocprof/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <allocprof/alloc.h>
#include <allocprof/allocprof.h>

static void *keep[100];

static __attribute__((noinline)) void consumer_allocate(void) {
  for (int i = 0; i < 100; i++) {
    keep[i] = malloc(1000 + (size_t)i);
    if (keep[i] != NULL) memset(keep[i], i, 16);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  if (allocprof_set_rate(1) != 0) return 3;
  consumer_allocate();
  struct alloc_stats st;
  alloc_get_stats(&st);
  if (st.in_use < 100 * 1000) return 4; /* the malloc here is liballoc's */
  if (allocprof_dump(argv[1]) != 0) return 5;
  puts("consumer: dumped");
  return 0;
}
