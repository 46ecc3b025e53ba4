/* scavenge: the ALLOC_* settings that govern returning memory to the OS
 * (liballoc/scavenger.c) do what README.md says, seen in the allocator's
 * statistics and in the resident size the kernel reports (/proc/self/statm).
 *
 * usage: scavenge retain FREE_MB RETAIN_MB [small]
 *          frees FREE_MB (in 1 MiB blocks, or 1 KiB objects with "small");
 *          within a deadline, free backed memory comes down to RETAIN_MB
 *          (the run with ALLOC_RETAIN_MB=RETAIN_MB, or nothing for the
 *          default 8) and no lower (kept for reuse), the resident size
 *          falls by what went back, and it took at least
 *          ALLOC_SCAVENGE_DELAY_MS (500 when unset) after the first free
 *        scavenge sync FREE_MB RETAIN_MB
 *          with ALLOC_SCAVENGER=0: no thread ever starts; frees keep going
 *          (a 1 MiB block allocated and freed every 10 ms) until free
 *          backed memory is within RETAIN_MB + 16 MiB, within a deadline
 *
 * Every wait polls the event with a deadline of 20 s; none is a fixed time.
 * Linked with liballoc.so. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "it_common.h"
#include "it_rss.h"

#define MIB ((size_t)1 << 20)
#define DEADLINE_MS 20000
/* free memory may stay over the budget by one bitmap word of pages */
#define SLACK (MIB / 2)

#define FAIL(...)                  \
  do {                             \
    it_say(2, "scavenge: FAIL: "); \
    it_say(2, __VA_ARGS__);        \
    it_say(2, "\n");               \
    exit(1);                       \
  } while (0)

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void pause_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static int threads(void) {
  DIR *d = opendir("/proc/self/task");
  if (d == NULL) FAIL("cannot open /proc/self/task");
  int n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

static size_t heap_free(void) {
  struct alloc_stats st;
  if (alloc_get_stats(&st) != 0) FAIL("alloc_get_stats failed");
  return (size_t)st.heap_free;
}

static uint64_t env_number(const char *name, uint64_t def) {
  const char *v = getenv(name);
  return v != NULL && *v ? strtoull(v, NULL, 10) : def;
}

/* Allocates free_mb MiB, touches every page, and returns the blocks. */
static void **fill(size_t free_mb, int small, size_t *count) {
  size_t size = small ? 1024 : MIB;
  size_t n = free_mb * (MIB / size);
  void **blocks = malloc(n * sizeof *blocks);
  if (blocks == NULL) FAIL("out of memory");
  for (size_t i = 0; i < n; i++) {
    blocks[i] = malloc(it_opaque(size));
    if (blocks[i] == NULL) FAIL("out of memory");
    memset(blocks[i], 0x5a, size);
  }
  *count = n;
  return blocks;
}

static void test_retain(size_t free_mb, size_t retain_mb, int small) {
  uint64_t delay = env_number("ALLOC_SCAVENGE_DELAY_MS", 500);
  size_t n;
  void **blocks = fill(free_mb, small, &n);
  size_t before = it_resident();
  uint64_t t0 = now_ms();
  for (size_t i = 0; i < n; i++) free(blocks[i]);
  size_t budget = retain_mb * MIB;
  while (heap_free() > budget + SLACK) {
    if (now_ms() - t0 > DEADLINE_MS)
      FAIL("%zu MiB freed, ALLOC_RETAIN_MB %zu: %zu bytes free and backed after %d ms", free_mb,
           retain_mb, heap_free(), DEADLINE_MS);
    pause_ms(10);
  }
  uint64_t took = now_ms() - t0;
  size_t kept = heap_free(), after = it_resident();
  it_say(1, "scavenge: %zu MiB freed, %zu bytes kept backed after %llu ms; resident %zu -> %zu\n",
         free_mb, kept, (unsigned long long)took, before, after);
  if (took < delay)
    FAIL("memory went back after %llu ms, before ALLOC_SCAVENGE_DELAY_MS=%llu",
         (unsigned long long)took, (unsigned long long)delay);
  if (kept + SLACK < budget)
    FAIL("only %zu bytes kept backed, the budget is %zu: released more than it should", kept,
         budget);
  /* What went back was resident (apart from pages never touched, which
   * the free memory before the frees bounds): */
  size_t gone = free_mb * MIB > kept ? free_mb * MIB - kept : 0;
  if (gone > MIB && before - after < gone - MIB)
    FAIL("resident fell by %zu bytes, want at least %zu", before > after ? before - after : 0,
         gone - MIB);
  free(blocks);
}

static void test_sync(size_t free_mb, size_t retain_mb) {
  int threads0 = threads();
  size_t n;
  void **blocks = fill(free_mb, 0, &n);
  size_t before = it_resident();
  uint64_t t0 = now_ms();
  for (size_t i = 0; i < n; i++) free(blocks[i]);
  size_t limit = (retain_mb + 16) * MIB + SLACK;
  while (heap_free() > limit) {
    if (now_ms() - t0 > DEADLINE_MS)
      FAIL("ALLOC_SCAVENGER=0: %zu bytes free and backed after %d ms of frees", heap_free(),
           DEADLINE_MS);
    pause_ms(10);
    free(malloc(it_opaque(MIB))); /* the next free does the work */
  }
  size_t after = it_resident();
  it_say(1, "scavenge: sync: %zu bytes kept backed after %llu ms; resident %zu -> %zu\n",
         heap_free(), (unsigned long long)(now_ms() - t0), before, after);
  if (threads() != threads0)
    FAIL("ALLOC_SCAVENGER=0, but the process went from %d to %d threads", threads0, threads());
  if (before - after < (free_mb - retain_mb - 16 - 1) * MIB)
    FAIL("resident fell by %zu bytes only", before > after ? before - after : 0);
  free(blocks);
}

int main(int argc, char **argv) {
  it_require_liballoc("scavenge");
  if (argc >= 4 && strcmp(argv[1], "retain") == 0) {
    test_retain(strtoul(argv[2], NULL, 10), strtoul(argv[3], NULL, 10),
                argc > 4 && strcmp(argv[4], "small") == 0);
  } else if (argc == 4 && strcmp(argv[1], "sync") == 0) {
    test_sync(strtoul(argv[2], NULL, 10), strtoul(argv[3], NULL, 10));
  } else {
    it_say(2, "usage: scavenge retain FREE_MB RETAIN_MB [small] | sync FREE_MB RETAIN_MB\n");
    return 2;
  }
  it_say(1, "scavenge: ok\n");
  return 0;
}
