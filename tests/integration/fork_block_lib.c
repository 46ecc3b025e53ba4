/* fork_block_lib.c: a library whose constructor blocks, so that
 * fork_profiler forks while another thread is inside dlopen (holding the
 * loader's locks). FORK_BLOCK_FDS="W R": the constructor writes a byte to W
 * once it runs, then waits for a byte on R. It allocates first, so that the
 * profiler samples inside dlopen too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *kept[32];

__attribute__((constructor)) static void block_ctor(void) {
  for (int i = 0; i < 32; i++) kept[i] = malloc(4096 + (size_t)i);
  const char *fds = getenv("FORK_BLOCK_FDS");
  int w, r;
  char c = 'x';
  if (fds == NULL || sscanf(fds, "%d %d", &w, &r) != 2) return;
  if (write(w, &c, 1) != 1) return;
  if (read(r, &c, 1) != 1) return;
}

__attribute__((destructor)) static void block_dtor(void) {
  for (int i = 0; i < 32; i++) free(kept[i]);
}
