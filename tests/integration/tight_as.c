/* tight_as: a small program that allocates, runs out and recovers inside a
 * tight address-space limit set before it starts (ulimit -v in
 * ulimit_v.sh), with liballoc preloaded.
 *
 * usage: tight_as
 *
 * It allocates small and large blocks and grows a buffer with realloc, then
 * allocates 1 MiB blocks and then small ones until malloc returns NULL; each
 * NULL must come with errno ENOMEM (never an abort), and every block must
 * keep what was written into it. After freeing everything it must be able to
 * allocate again. Its tables are static and small, since everything it maps
 * counts against the limit. No stdio: it writes with it_say.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "it_common.h"

#define MIB ((size_t)1 << 20)
#define CAP 65536

static unsigned char *blocks[CAP];
static size_t sizes[CAP];
static size_t nblocks;

#define FAIL(...)                  \
  do {                             \
    it_say(2, "tight_as: FAIL: "); \
    it_say(2, __VA_ARGS__);        \
    it_say(2, "\n");               \
    _exit(1);                      \
  } while (0)

static void keep(unsigned char *p, size_t n) {
  if (nblocks == CAP) FAIL("%zu blocks and malloc never returned NULL", nblocks);
  it_fill_block(p, n, nblocks + 1);
  blocks[nblocks] = p;
  sizes[nblocks++] = n;
}

static void check_all(const char *phase) {
  for (size_t i = 0; i < nblocks; i++)
    if (it_check_block(blocks[i], sizes[i], i + 1) != (size_t)-1)
      FAIL("%s: block %zu (%zu bytes) was overwritten", phase, i, sizes[i]);
}

static void free_all(void) {
  for (size_t i = 0; i < nblocks; i++) free(blocks[i]);
  nblocks = 0;
}

/* Allocates blocks of size(i) until NULL; returns how many. */
static size_t fill(const char *phase, size_t (*size)(uint64_t *), uint64_t *rng) {
  size_t count = 0;
  for (;;) {
    size_t n = size(rng);
    errno = 0;
    unsigned char *p = malloc(n);
    if (!p) {
      if (errno != ENOMEM)
        FAIL("%s: malloc(%zu) = NULL with errno %d, not ENOMEM", phase, n, errno);
      return count;
    }
    keep(p, n);
    count++;
  }
}

static size_t one_mib(uint64_t *rng) {
  (void)rng;
  return MIB;
}

static size_t small_size(uint64_t *rng) { return 1 + (size_t)(it_rand(rng) % 2048); }

int main(void) {
  it_require_liballoc("tight_as");
  uint64_t rng = 42;

  /* ordinary work: small and large blocks, a buffer grown by realloc */
  for (size_t i = 0; i < 5000; i++) {
    size_t n = small_size(&rng);
    unsigned char *p = malloc(n);
    if (!p) FAIL("small malloc(%zu) #%zu failed before the heap was full", n, i);
    keep(p, n);
  }
  static const size_t large[] = {64 << 10, 100 << 10, 1 << 20};
  for (size_t i = 0; i < sizeof large / sizeof large[0]; i++) {
    unsigned char *p = malloc(large[i]);
    if (!p) FAIL("malloc(%zu) failed before the heap was full", large[i]);
    keep(p, large[i]);
  }
  unsigned char *buf = NULL;
  for (size_t n = 16; n <= 2 * MIB; n *= 2) {
    unsigned char *q = realloc(buf, n);
    if (!q) FAIL("realloc to %zu failed before the heap was full", n);
    if (buf != NULL && it_check(q, 0, n / 2, 99) != (size_t)-1)
      FAIL("realloc to %zu lost the contents", n);
    it_fill(q, n / 2 * (buf != NULL), n, 99);
    buf = q;
  }
  free(buf);
  check_all("ordinary work");
  free_all();

  /* run out: large blocks, then small ones */
  size_t nlarge = fill("large", one_mib, &rng);
  size_t nsmall = fill("small", small_size, &rng);
  check_all("exhausted");
  it_say(1, "tight_as: ran out after %zu blocks of 1 MiB and %zu small ones\n", nlarge, nsmall);
  if (nlarge < 4) FAIL("only %zu blocks of 1 MiB fit", nlarge);
  errno = 0;
  void *q = calloc(1, 8 * MIB);
  if (q || errno != ENOMEM) FAIL("calloc(1, 8 MiB) when exhausted = %p errno %d", q, errno);
  free_all();

  /* and recover */
  size_t again = fill("large again", one_mib, &rng);
  if (again < nlarge / 4 * 3)
    FAIL("after freeing everything only %zu blocks of 1 MiB fit (first time %zu)", again, nlarge);
  check_all("large again");
  free_all();
  for (size_t i = 0; i < 5000; i++) {
    size_t n = small_size(&rng);
    unsigned char *p = malloc(n);
    if (!p) FAIL("small malloc(%zu) #%zu failed after freeing everything", n, i);
    keep(p, n);
  }
  check_all("small again");
  free_all();
  it_say(1, "tight_as: ok\n");
  return 0;
}
