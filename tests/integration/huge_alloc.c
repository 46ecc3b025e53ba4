/* huge_alloc: requests the machine cannot back fail like glibc's, and large
 * blocks cost metadata only while they live.
 *
 * usage: huge_alloc [refused|freed]   (default: both parts)
 *
 * The kernel is the oracle: a size is "refused" when the kernel will not
 * give an anonymous private writable mapping of that size (the mmap glibc
 * would make for it) in this process. For every refused size, malloc,
 * calloc, realloc (of a small and of a large block, which must survive
 * intact), reallocarray, memalign, posix_memalign, aligned_alloc, valloc and
 * pvalloc must return NULL (posix_memalign ENOMEM) with errno ENOMEM, and
 * all the attempts together may leave no trace: VmRSS, VmSize and the
 * allocator's mapped, reserved and metadata counters stay where they were.
 * Overflowing requests (calloc n*size, reallocarray, huge alignments) fail
 * the same way.
 *
 * Then a large block the kernel does commit (a power of two up to 16 GiB
 * and up to half of RAM) is allocated, its first and last bytes written,
 * and freed: while it lives VmRSS and the metadata counter grow by far less
 * than one span pointer per page (which would be size/1024), and after it
 * is freed and the memory released they stay there (the scavenger's start
 * and its released-page bits aside).
 *
 * Everything runs in a forked child whose address space is capped
 * (RLIMIT_AS, 2 TiB above its size), so that an allocator that wrongly
 * accepts a request cannot take the host down; the child stops at the first
 * failure. The child does not use stdio (it writes with it_say).
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

#include "alloc.h"
#include "it_common.h"
#include "it_rss.h"

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)
#define GIB ((size_t)1 << 30)

#define FAIL(...)                    \
  do {                               \
    it_say(2, "huge_alloc: FAIL: "); \
    it_say(2, __VA_ARGS__);          \
    it_say(2, "\n");                 \
    _exit(1);                        \
  } while (0)

static size_t mem_total(void) {
  char buf[4096];
  int fd = open("/proc/meminfo", O_RDONLY);
  if (fd < 0) FAIL("cannot open /proc/meminfo");
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) FAIL("cannot read /proc/meminfo");
  buf[n] = 0;
  const char *m = strstr(buf, "MemTotal:");
  if (!m) FAIL("no MemTotal in /proc/meminfo");
  return (size_t)strtoull(m + 9, NULL, 10) * KIB;
}

/* Whether the kernel gives this process a private writable mapping of n
 * bytes, as glibc would ask for a block of n bytes. */
static int kernel_commits(size_t n) {
  void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 0;
  munmap(p, n);
  return 1;
}

static void expect_null(const char *what, size_t size, void *p, int err) {
  if (p != NULL) FAIL("%s(%zu) = %p, want NULL (the kernel would not commit it)", what, size, p);
  if (err != ENOMEM) FAIL("%s(%zu) = NULL with errno %d, want ENOMEM", what, size, err);
}

#define TRY(what, size, call)           \
  do {                                  \
    errno = 0;                          \
    void *q_ = (call);                  \
    expect_null(what, size, q_, errno); \
  } while (0)

static unsigned char *small_block, *big_block;
#define SMALL_N 100
#define BIG_N (1 * MIB)

static void check_blocks(const char *after, size_t size) {
  if (it_check_block(small_block, SMALL_N, 11) != (size_t)-1)
    FAIL("small block damaged after %s(%zu) failed", after, size);
  if (it_check_block(big_block, BIG_N, 12) != (size_t)-1)
    FAIL("large block damaged after %s(%zu) failed", after, size);
}

/* Every entry point with a size the kernel refuses. */
static void refuse_all(size_t s) {
  TRY("malloc", s, malloc(it_opaque(s)));
  TRY("calloc(1, n)", s, calloc(1, it_opaque(s)));
  TRY("calloc(n, 1)", s, calloc(it_opaque(s), 1));
  TRY("realloc(small)", s, realloc(small_block, it_opaque(s)));
  check_blocks("realloc", s);
  TRY("realloc(large)", s, realloc(big_block, it_opaque(s)));
  check_blocks("realloc", s);
  TRY("reallocarray(large, n, 1)", s, reallocarray(big_block, it_opaque(s), 1));
  check_blocks("reallocarray", s);
  TRY("memalign(64)", s, memalign(64, it_opaque(s)));
  TRY("memalign(1 MiB)", s, memalign(MIB, it_opaque(s)));
  TRY("aligned_alloc(4096)", s, aligned_alloc(4096, it_opaque(s)));
  TRY("valloc", s, valloc(it_opaque(s)));
  TRY("pvalloc", s, pvalloc(it_opaque(s)));
  void *q = &q;
  int rc = posix_memalign(&q, 64, it_opaque(s));
  if (rc != ENOMEM || q != &q)
    FAIL("posix_memalign(64, %zu) = %d (out %p), want ENOMEM and no store", s, rc, q);
  rc = posix_memalign(&q, 2 * MIB, it_opaque(s));
  if (rc != ENOMEM || q != &q)
    FAIL("posix_memalign(2 MiB, %zu) = %d (out %p), want ENOMEM and no store", s, rc, q);
}

static void overflows(void) {
  TRY("calloc(SIZE_MAX/2, 3)", SIZE_MAX / 2, calloc(it_opaque(SIZE_MAX / 2), 3));
  TRY("calloc(2^32, 2^32)", (size_t)1 << 32, calloc(it_opaque((size_t)1 << 32), (size_t)1 << 32));
  TRY("reallocarray(large, SIZE_MAX/2, 3)", SIZE_MAX / 2,
      reallocarray(big_block, it_opaque(SIZE_MAX / 2), 3));
  check_blocks("reallocarray", SIZE_MAX / 2);
  /* alignment + size past the address space */
  TRY("memalign(2^62, 16)", 16, memalign(it_opaque((size_t)1 << 62), 16));
  TRY("memalign(2^62, 2^62)", (size_t)1 << 62,
      memalign(it_opaque((size_t)1 << 62), (size_t)1 << 62));
  TRY("aligned_alloc(2^46, 2^46)", (size_t)1 << 46,
      aligned_alloc(it_opaque((size_t)1 << 46), (size_t)1 << 46));
  void *q = &q;
  int rc = posix_memalign(&q, it_opaque((size_t)1 << 63), 16);
  if (rc != ENOMEM || q != &q) FAIL("posix_memalign(2^63, 16) = %d, want ENOMEM", rc);
}

static void get_stats(struct alloc_stats *st) {
  if (alloc_get_stats(st) != 0) FAIL("alloc_get_stats failed");
}

#define GROWTH(after, before) ((after) > (before) ? (after) - (before) : 0)

static void part_refused(size_t ram) {
  size_t sizes[] = {
      (size_t)1 << 40,     (size_t)1 << 44,  (size_t)1 << 46, (size_t)1 << 47,
      SIZE_MAX / 2,        SIZE_MAX / 2 + 1, SIZE_MAX - 4095, SIZE_MAX,
      (size_t)PTRDIFF_MAX, 2 * ram + GIB,    4 * ram,
  };
  size_t nsizes = sizeof sizes / sizeof sizes[0];
  /* warm up: every path has set up its structures before the baseline */
  free(malloc(1));
  free(malloc(BIG_N));
  free(memalign(MIB, BIG_N));
  small_block = malloc(SMALL_N);
  big_block = malloc(BIG_N);
  if (!small_block || !big_block) FAIL("cannot allocate the test blocks");
  it_fill_block(small_block, SMALL_N, 11);
  it_fill_block(big_block, BIG_N, 12);

  struct alloc_stats st0, st1;
  get_stats(&st0);
  size_t rss0 = it_resident(), vm0 = it_vm_size();
  size_t refused = 0;
  for (size_t i = 0; i < nsizes; i++) {
    if (kernel_commits(sizes[i])) {
      it_say(1, "huge_alloc: the kernel commits %zu bytes here: not a refused size\n", sizes[i]);
      continue;
    }
    refuse_all(sizes[i]);
    refused++;
  }
  overflows();
  get_stats(&st1);
  size_t rss1 = it_resident(), vm1 = it_vm_size();
  if (refused < 4)
    FAIL("only %zu of the sizes were refused by the kernel: the test cannot judge", refused);
  it_say(1,
         "huge_alloc: %zu sizes refused; growth: VmRSS %zu KiB, VmSize %zu KiB, mapped %llu KiB, "
         "reserved %llu KiB, metadata %llu KiB\n",
         refused, GROWTH(rss1, rss0) / KIB, GROWTH(vm1, vm0) / KIB,
         (unsigned long long)GROWTH(st1.mapped, st0.mapped) / KIB,
         (unsigned long long)GROWTH(st1.reserved, st0.reserved) / KIB,
         (unsigned long long)GROWTH(st1.metadata, st0.metadata) / KIB);
  if (GROWTH(rss1, rss0) > 2 * MIB)
    FAIL("failed requests grew VmRSS by %zu KiB", GROWTH(rss1, rss0) / KIB);
  if (GROWTH(vm1, vm0) > 8 * MIB)
    FAIL("failed requests kept %zu KiB of address space", GROWTH(vm1, vm0) / KIB);
  if (GROWTH(st1.metadata, st0.metadata) > 256 * KIB)
    FAIL("failed requests grew the allocator's metadata by %llu KiB",
         (unsigned long long)GROWTH(st1.metadata, st0.metadata) / KIB);
  if (GROWTH(st1.reserved, st0.reserved) > 8 * MIB || GROWTH(st1.mapped, st0.mapped) > 8 * MIB)
    FAIL("failed requests kept heap space: reserved +%llu KiB, mapped +%llu KiB",
         (unsigned long long)GROWTH(st1.reserved, st0.reserved) / KIB,
         (unsigned long long)GROWTH(st1.mapped, st0.mapped) / KIB);
  free(small_block);
  free(big_block);
}

static void part_freed(size_t ram) {
  size_t g = 16 * GIB;
  while (g > ram / 2) g /= 2;
  if (g < 2 * GIB || !kernel_commits(g)) {
    it_say(1,
           "huge_alloc: no block of 2 GiB or more that the kernel commits here: part 2 skipped\n");
    return;
  }
  alloc_release_free_memory();
  struct alloc_stats st0, st1, st2;
  get_stats(&st0);
  size_t rss0 = it_resident();
  unsigned char *p = malloc(it_opaque(g));
  if (!p) FAIL("malloc(%zu) = NULL although the kernel commits that much (errno %d)", g, errno);
  /* Two touched pages must cost two pages, not two transparent huge pages. */
  madvise(p, g, MADV_NOHUGEPAGE);
  p[0] = 1;
  p[g - 1] = 2;
  get_stats(&st1);
  size_t rss1 = it_resident();
  if (malloc_usable_size(p) < g) FAIL("malloc_usable_size = %zu < %zu", malloc_usable_size(p), g);
  if (st1.large_in_use < st0.large_in_use + g) FAIL("large_in_use did not grow by the block");
  /* One span pointer per 8 KiB page would be g / 1024 bytes of metadata;
   * allow an eighth of that (at least 512 KiB, for noise). */
  size_t per_page = g / 1024;
  size_t allowed = per_page / 8 > 512 * KIB ? per_page / 8 : 512 * KIB;
  it_say(1,
         "huge_alloc: %zu MiB block: VmRSS +%zu KiB, metadata +%llu KiB (a pointer per page: %zu "
         "KiB)\n",
         g / MIB, GROWTH(rss1, rss0) / KIB,
         (unsigned long long)GROWTH(st1.metadata, st0.metadata) / KIB, per_page / KIB);
  if (GROWTH(rss1, rss0) > allowed)
    FAIL("a %zu MiB block grew VmRSS by %zu KiB", g / MIB, GROWTH(rss1, rss0) / KIB);
  if (GROWTH(st1.metadata, st0.metadata) > allowed)
    FAIL("a %zu MiB block grew the metadata by %llu KiB", g / MIB,
         (unsigned long long)GROWTH(st1.metadata, st0.metadata) / KIB);
  if (p[0] != 1 || p[g - 1] != 2) FAIL("the block does not hold what was written");
  free(p);
  alloc_release_free_memory();
  get_stats(&st2);
  size_t rss2 = it_resident();
  it_say(1, "huge_alloc: after free: VmRSS +%zu KiB, metadata +%llu KiB, in use +%llu KiB\n",
         GROWTH(rss2, rss0) / KIB, (unsigned long long)GROWTH(st2.metadata, st0.metadata) / KIB,
         (unsigned long long)GROWTH(st2.in_use, st0.in_use) / KIB);
  if (st2.large_in_use != st0.large_in_use) FAIL("large_in_use did not come back after free");
  if (st2.heap_free > st0.heap_free + 8 * MIB)
    FAIL("the freed block is still backed after a release");
  if (GROWTH(rss2, rss0) > 2 * allowed)
    FAIL("after free and release VmRSS is still +%zu KiB", GROWTH(rss2, rss0) / KIB);
  if (GROWTH(st2.metadata, st0.metadata) > allowed)
    FAIL("after free and release the metadata is still +%llu KiB",
         (unsigned long long)GROWTH(st2.metadata, st0.metadata) / KIB);
}

static void child(const char *part) {
  struct rlimit core = {0, 0};
  setrlimit(RLIMIT_CORE, &core);
  size_t ram = mem_total();
  size_t cap = it_vm_size() + ((size_t)2 << 40);
  struct rlimit as = {cap, cap};
  if (setrlimit(RLIMIT_AS, &as) != 0) FAIL("setrlimit(RLIMIT_AS): errno %d", errno);
  if (strcmp(part, "freed") != 0) part_refused(ram);
  if (strcmp(part, "refused") != 0) part_freed(ram);
  it_say(1, "huge_alloc: ok\n");
  _exit(0);
}

int main(int argc, char **argv) {
  it_require_liballoc("huge_alloc");
  const char *part = argc > 1 ? argv[1] : "both";
  if (strcmp(part, "both") != 0 && strcmp(part, "refused") != 0 && strcmp(part, "freed") != 0) {
    fprintf(stderr, "usage: huge_alloc [refused|freed]\n");
    return 2;
  }
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 1;
  }
  if (pid == 0) child(part);
  return it_wait_child(pid, "huge_alloc");
}
