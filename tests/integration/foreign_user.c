/* foreign_user: a program built against jemalloc (-DUSE_JEMALLOC, linked
 * with libjemalloc) or tcmalloc (-DUSE_TCMALLOC, linked with libtcmalloc),
 * calling the C entry points of its allocator that real programs call.
 * foreign_bindings.sh runs it with liballoc preloaded and every symbol
 * bound at start: none may bind to the other allocator, and the answers
 * must be liballoc's (the statistics' banner, a purge that leaves no free
 * page backed). The prototypes are written here: neither allocator's
 * headers are needed. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

#define FAIL(...)                            \
  do {                                       \
    fprintf(stderr, "foreign_user: FAIL: "); \
    fprintf(stderr, __VA_ARGS__);            \
    fprintf(stderr, "\n");                   \
    exit(1);                                 \
  } while (0)

/* liballoc's free backed bytes, its statistics' call looked up at run time
 * (the program does not link liballoc). */
static uint64_t heap_free(void) {
  struct alloc_stats st;
  int (*get)(struct alloc_stats *) =
      (int (*)(struct alloc_stats *))dlsym(RTLD_DEFAULT, "alloc_get_stats");
  if (get == NULL) FAIL("alloc_get_stats not found: is liballoc preloaded?");
  get(&st);
  return st.heap_free;
}

static void touch_and_free(void) {
  void *b[16];
  for (int i = 0; i < 16; i++) {
    b[i] = malloc(1 << 20);
    if (b[i] == NULL) FAIL("malloc");
    memset(b[i], 1, 1 << 20);
  }
  for (int i = 0; i < 16; i++) free(b[i]);
}

#ifdef USE_JEMALLOC
int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
int mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp);
int mallctlbymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp, void *newp,
                 size_t newlen);
void malloc_stats_print(void (*write_cb)(void *, const char *), void *cbopaque, const char *opts);
void *mallocx(size_t size, int flags);
void dallocx(void *p, int flags);
size_t nallocx(size_t size, int flags);

static void count(void *opaque, const char *s) {
  if (strstr(s, "liballoc") != NULL) ++*(int *)opaque;
}

int main(void) {
  unsigned narenas = 0;
  size_t len = sizeof narenas;
  if (mallctl("arenas.narenas", &narenas, &len, NULL, 0) != 0) FAIL("arenas.narenas");
  char name[32];
  snprintf(name, sizeof name, "arena.%u.purge", narenas);
  touch_and_free();
  if (mallctl(name, NULL, NULL, NULL, 0) != 0) FAIL("%s", name);
  if (heap_free() != 0) FAIL("%s left %llu bytes backed", name, (unsigned long long)heap_free());
  size_t mib[3], miblen = 3;
  if (mallctlnametomib("arena.0.decay", mib, &miblen) != 0 || miblen != 3) FAIL("nametomib");
  if (mallctlbymib(mib, miblen, NULL, NULL, NULL, 0) != 0) FAIL("bymib");
  int lines = 0;
  malloc_stats_print(count, &lines, NULL);
  if (lines == 0) FAIL("malloc_stats_print printed no liballoc statistics");
  void *p = mallocx(100, 0);
  if (p == NULL || nallocx(100, 0) == 0) FAIL("mallocx");
  dallocx(p, 0);
  printf("foreign_user: jemalloc's calls answered by liballoc\n");
  return 0;
}
#endif

#ifdef USE_TCMALLOC
void *tc_new(size_t size);
void tc_delete(void *p);
void *tc_malloc(size_t size);
void tc_free(void *p);
size_t tc_malloc_size(void *p);
void MallocExtension_ReleaseFreeMemory(void);
void MallocExtension_ReleaseToSystem(size_t n);
void MallocExtension_GetStats(char *buffer, int length);
int MallocExtension_GetNumericProperty(const char *property, size_t *value);
void MallocExtension_MarkThreadIdle(void);
void HeapProfilerStart(const char *prefix);
void HeapProfilerDump(const char *reason);
void HeapProfilerStop(void);
int IsHeapProfilerRunning(void);

int main(int argc, char **argv) {
  void *p = tc_new(100);
  if (p == NULL || tc_malloc_size(p) < 100) FAIL("tc_new");
  tc_delete(p);
  touch_and_free();
  MallocExtension_ReleaseToSystem(1);
  if (heap_free() != 0) FAIL("ReleaseToSystem left %llu bytes", (unsigned long long)heap_free());
  touch_and_free();
  MallocExtension_MarkThreadIdle();
  MallocExtension_ReleaseFreeMemory();
  if (heap_free() != 0) FAIL("ReleaseFreeMemory left %llu bytes", (unsigned long long)heap_free());
  char buf[4096];
  MallocExtension_GetStats(buf, sizeof buf);
  if (strstr(buf, "liballoc: in use") == NULL) FAIL("GetStats: %s", buf);
  size_t v = 0;
  if (!MallocExtension_GetNumericProperty("generic.current_allocated_bytes", &v) || v == 0)
    FAIL("GetNumericProperty");
  if (argc > 1) { /* argv[1]: a prefix for the heap profiler */
    HeapProfilerStart(argv[1]);
    if (!IsHeapProfilerRunning()) FAIL("the heap profiler is not running");
    for (int i = 0; i < 64; i++) free(tc_malloc(1 << 20)); /* some samples */
    HeapProfilerDump("test");
    HeapProfilerStop();
  }
  printf("foreign_user: tcmalloc's calls answered by liballoc\n");
  return 0;
}
#endif
