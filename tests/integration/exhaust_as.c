/* exhaust_as: the allocator runs out of address space gracefully.
 *
 * usage: exhaust_as [limit_mib]   (default 512)
 *
 * A forked child limits its address space (RLIMIT_AS) to what it uses now plus
 * limit_mib, then allocates large blocks until malloc returns NULL, then small
 * ones until NULL. Each NULL must come with errno ENOMEM, and nothing may
 * abort. Under that pressure calloc, posix_memalign and realloc must fail the
 * same way (realloc keeping the old block). Then everything is freed and the
 * child must be able to allocate again about as much as the first time. The
 * parent checks the child's exit status (a signal, e.g. SIGABRT from an
 * allocator that gives up, fails the test).
 *
 * Built with IT_EXPECT_LIBALLOC the program first checks that its malloc is
 * liballoc's. The child never uses stdio (which allocates): it writes with
 * it_say.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "it_common.h"
#include "it_rss.h"

#define MIB ((size_t)1 << 20)
#define CAP ((size_t)4 << 20) /* pointer slots */

static unsigned char **blocks;
static size_t *sizes;
static size_t nblocks;

#define FAIL(...)                    \
  do {                               \
    it_say(2, "exhaust_as: FAIL: "); \
    it_say(2, __VA_ARGS__);          \
    it_say(2, "\n");                 \
    _exit(1);                        \
  } while (0)

static void mark(unsigned char *p, size_t n, size_t i) {
  unsigned char v = (unsigned char)(i * 13 + 1);
  p[0] = v;
  p[n / 2] = v;
  p[n - 1] = v;
}

static int marked(const unsigned char *p, size_t n, size_t i) {
  unsigned char v = (unsigned char)(i * 13 + 1);
  return p[0] == v && p[n / 2] == v && p[n - 1] == v;
}

static size_t large_size(size_t i) {
  static const size_t cycle[] = {1 * MIB, 256 * 1024 + 17, 4 * MIB, 100 * 1024};
  return cycle[i % 4];
}

/* Allocates large blocks until NULL; returns the bytes obtained. */
static size_t fill_large(const char *phase) {
  size_t bytes = 0;
  for (size_t i = 0;; i++) {
    if (nblocks == CAP) FAIL("%s: %zu blocks and no NULL", phase, nblocks);
    size_t n = large_size(i);
    errno = 0;
    unsigned char *p = malloc(n);
    if (!p) {
      if (errno != ENOMEM)
        FAIL("%s: malloc(%zu) = NULL with errno %d, not ENOMEM", phase, n, errno);
      break;
    }
    mark(p, n, nblocks);
    blocks[nblocks] = p;
    sizes[nblocks++] = n;
    bytes += n;
  }
  return bytes;
}

/* Allocates small blocks until NULL; returns the count obtained. */
static size_t fill_small(const char *phase, uint64_t *rng) {
  size_t count = 0;
  for (;;) {
    if (nblocks == CAP) FAIL("%s: %zu blocks and no NULL", phase, nblocks);
    size_t n = 1 + (size_t)(it_rand(rng) % 2048);
    errno = 0;
    unsigned char *p = malloc(n);
    if (!p) {
      if (errno != ENOMEM)
        FAIL("%s: malloc(%zu) = NULL with errno %d, not ENOMEM", phase, n, errno);
      break;
    }
    mark(p, n, nblocks);
    blocks[nblocks] = p;
    sizes[nblocks++] = n;
    count++;
  }
  return count;
}

static void check_all(const char *phase) {
  for (size_t i = 0; i < nblocks; i++)
    if (!marked(blocks[i], sizes[i], i))
      FAIL("%s: block %zu (%zu bytes) was overwritten", phase, i, sizes[i]);
}

static void free_all(void) {
  for (size_t i = 0; i < nblocks; i++) free(blocks[i]);
  nblocks = 0;
}

static void child(size_t limit_mib) {
  struct rlimit core = {0, 0};
  setrlimit(RLIMIT_CORE, &core);
  free(malloc(1)); /* the allocator is initialised before the limit */

  blocks = mmap(NULL, CAP * sizeof *blocks, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  sizes = mmap(NULL, CAP * sizeof *sizes, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (blocks == MAP_FAILED || sizes == MAP_FAILED) FAIL("mmap of the block table");

  size_t limit = it_vm_size() + limit_mib * MIB;
  struct rlimit as = {limit, limit};
  if (setrlimit(RLIMIT_AS, &as) != 0) FAIL("setrlimit(RLIMIT_AS): errno %d", errno);

  uint64_t rng = 7;
  size_t large1 = fill_large("large 1");
  size_t small1 = fill_small("small 1", &rng);
  it_say(1, "round 1: %zu MiB in large blocks, then %zu small blocks\n", large1 / MIB, small1);
  if (large1 < limit_mib * MIB / 4)
    FAIL("only %zu MiB of large blocks fit in %zu MiB of address space", large1 / MIB, limit_mib);

  /* other entry points under the same pressure */
  errno = 0;
  void *q = calloc(1, 64 * MIB);
  if (q || errno != ENOMEM) FAIL("calloc(1, 64 MiB) when exhausted = %p errno %d", q, errno);
  q = NULL;
  int rc = posix_memalign(&q, 4096, 64 * MIB);
  if (rc != ENOMEM) FAIL("posix_memalign(4096, 64 MiB) when exhausted = %d", rc);
  errno = 0;
  q = aligned_alloc(MIB, 64 * MIB);
  if (q || errno != ENOMEM)
    FAIL("aligned_alloc(1 MiB, 64 MiB) when exhausted = %p errno %d", q, errno);
  if (nblocks > 0) {
    errno = 0;
    q = realloc(blocks[0], 256 * MIB);
    if (q || errno != ENOMEM)
      FAIL("realloc(block, 256 MiB) when exhausted = %p errno %d", q, errno);
  }
  check_all("after round 1");

  free_all();
  size_t large2 = fill_large("large 2");
  check_all("after large 2");
  it_say(1, "round 2: %zu MiB in large blocks after freeing everything\n", large2 / MIB);
  if (large2 < large1 / 4 * 3)
    FAIL("after freeing everything only %zu MiB of large blocks fit again (first time %zu MiB)",
         large2 / MIB, large1 / MIB);
  free_all();

  /* and small ones again, plenty of them */
  for (size_t i = 0; i < 100000; i++) {
    size_t n = 1 + (size_t)(it_rand(&rng) % 2048);
    unsigned char *p = malloc(n);
    if (!p) FAIL("small malloc(%zu) #%zu failed after freeing everything", n, i);
    mark(p, n, nblocks);
    blocks[nblocks] = p;
    sizes[nblocks++] = n;
  }
  check_all("after small 2");
  free_all();
  it_say(1, "exhaust_as: ok\n");
  _exit(0);
}

int main(int argc, char **argv) {
#ifdef IT_EXPECT_LIBALLOC
  it_require_liballoc("exhaust_as");
#endif
  size_t limit_mib = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 512;
  if (limit_mib < 64) limit_mib = 64;
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 1;
  }
  if (pid == 0) child(limit_mib);
  return it_wait_child(pid, "exhaust_as");
}
