/* override_tcmalloc.c: gperftools' (tcmalloc's) C entry points with
 * liballoc's meaning. Overview: malloc.c; override_compat.c says why a
 * program built for another allocator must find these here.
 *
 *   tc_*               the allocation calls (tc_new and tc_delete families
 *                      in override_cxx.c, beside operator new and delete)
 *   MallocExtension_*  numbers from alloc_get_stats, releasing memory,
 *                      thread caches; SetNumericProperty knows no property
 *                      (0), the Verify* calls find nothing wrong (1),
 *                      MallocMemoryStats has no histogram (0)
 *   HeapProfiler*      gperftools' heap profiler API on allocprof's
 *                      sampler: Start turns sampling on (512 KiB unless a
 *                      rate is set) and remembers the prefix; Dump writes
 *                      PREFIX.NNNN.heap, a gzipped pprof profile (what
 *                      `go tool pprof` and `allocprof` read), as
 *                      allocprof_dump does; Stop turns sampling off;
 *                      GetHeapProfile has no text profile to give and
 *                      returns a line that says so
 *
 * Not here: MallocHook_* (libtcmalloc calls them on itself while it starts,
 * and aborts when they fail; they only keep its list of hooks, which
 * liballoc never calls), tcmalloc's wrappers of mmap, munmap, mremap and
 * sbrk (they call its hooks, then the kernel, and touch no heap; taking
 * those names would wrap them in every preloaded process) and its C++ classes
 * (MallocExtension::instance() and the rest), whose calls still reach
 * tcmalloc's code in a program linked with it. */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "alloc_entry.h"
#include "allocprof.h"
#include "internal.h"
#include "override.h"

#define EXPORT ALLOC_EXPORT

EXPORT void *tc_malloc(size_t size) { return alloc_malloc(size); }
EXPORT void *tc_malloc_skip_new_handler(size_t size) { return alloc_malloc(size); }
EXPORT void tc_free(void *p) { alloc_free(p); }
EXPORT void tc_free_sized(void *p, size_t size) { alloc_free_sized(p, size); }
EXPORT void *tc_realloc(void *p, size_t size) { return alloc_realloc(p, size); }
EXPORT void *tc_calloc(size_t n, size_t size) { return alloc_calloc(n, size); }
EXPORT void tc_cfree(void *p) { alloc_free(p); }
EXPORT void *tc_memalign(size_t align, size_t size) { return alloc_memalign(align, size); }
EXPORT int tc_posix_memalign(void **out, size_t align, size_t size) {
  return alloc_posix_memalign(out, align, size);
}
EXPORT void *tc_valloc(size_t size) { return alloc_valloc(size); }
EXPORT void *tc_pvalloc(size_t size) { return alloc_pvalloc(size); }
EXPORT size_t tc_malloc_size(void *p) { return alloc_usable_size(p); }
EXPORT size_t tc_nallocx(size_t size, int flags) { return nallocx(size, flags); }
EXPORT int tc_mallopt(int cmd, int value) {
  (void)cmd, (void)value;
  return 1;
}
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations" /* tcmalloc still has it */
EXPORT struct mallinfo tc_mallinfo(void) { return mallinfo(); }
#pragma GCC diagnostic pop
EXPORT void tc_malloc_stats(void) { alloc_print_stats(2); }
EXPORT int tc_set_new_mode(int flag) {
  (void)flag;
  return 0; /* malloc never calls the C++ new-handler here */
}
EXPORT const char *tc_version(int *major, int *minor, const char **patch) {
  if (major != NULL) *major = 2;
  if (minor != NULL) *minor = 10;
  if (patch != NULL) *patch = "";
  return "liballoc (tcmalloc-compatible entry points)";
}

/* MallocExtension's C entry points that read numbers or release memory.
 * Properties: generic.current_allocated_bytes, generic.heap_size,
 * tcmalloc.pageheap_free_bytes, tcmalloc.pageheap_unmapped_bytes. */
EXPORT int MallocExtension_GetNumericProperty(const char *property, size_t *value) {
  if (property == NULL || value == NULL) return 0;
  struct alloc_stats st;
  alloc_get_stats(&st);
  if (strcmp(property, "generic.current_allocated_bytes") == 0)
    *value = (size_t)st.in_use;
  else if (strcmp(property, "generic.heap_size") == 0)
    *value = (size_t)(st.heap_in_spans + st.heap_free + st.released);
  else if (strcmp(property, "tcmalloc.pageheap_free_bytes") == 0)
    *value = (size_t)st.heap_free;
  else if (strcmp(property, "tcmalloc.pageheap_unmapped_bytes") == 0)
    *value = (size_t)st.released;
  else
    return 0;
  return 1;
}
EXPORT void MallocExtension_ReleaseFreeMemory(void) { alloc_release_free_memory(); }
EXPORT size_t MallocExtension_GetAllocatedSize(const void *p) { return alloc_usable_size(p); }
EXPORT size_t MallocExtension_GetEstimatedAllocatedSize(size_t size) {
  return alloc_good_size(size, 0);
}
/* 0: unknown ownership, 1: ours (kOwned), 2: not ours (kNotOwned) */
EXPORT int MallocExtension_GetOwnership(const void *p) {
  return p == NULL ? 0 : alloc_owns(p) ? 1 : 2;
}
EXPORT size_t malloc_size(void *p) { return alloc_usable_size(p); }
EXPORT void __libc_cfree(void *p) { alloc_free(p); }

/* The rest of MallocExtension's C entry points. */
EXPORT int MallocExtension_VerifyAllMemory(void) { return 1; }
EXPORT int MallocExtension_VerifyNewMemory(const void *p) {
  (void)p;
  return 1;
}
EXPORT int MallocExtension_VerifyArrayNewMemory(const void *p) {
  (void)p;
  return 1;
}
EXPORT int MallocExtension_VerifyMallocMemory(const void *p) {
  (void)p;
  return 1;
}
EXPORT int MallocExtension_MallocMemoryStats(int *blocks, size_t *total, int histogram[]) {
  (void)blocks, (void)total, (void)histogram;
  return 0;
}
EXPORT int MallocExtension_SetNumericProperty(const char *property, size_t value) {
  (void)property, (void)value;
  return 0;
}
EXPORT void MallocExtension_MarkThreadIdle(void) { alloc_flush_thread_cache(); }
EXPORT void MallocExtension_MarkThreadTemporarilyIdle(void) { alloc_flush_thread_cache(); }
EXPORT void MallocExtension_MarkThreadBusy(void) {}
EXPORT void MallocExtension_ReleaseToSystem(size_t num_bytes) {
  (void)num_bytes; /* everything free goes back, which is at least that */
  alloc_release_free_memory();
}
/* liballoc's thread caches hold spans, not counted bytes. */
EXPORT size_t MallocExtension_GetThreadCacheSize(void) { return 0; }

struct text_buffer {
  char *buf;
  size_t len, at;
};

static void text_append(void *arg, const char *line) {
  struct text_buffer *t = arg;
  size_t n = strlen(line);
  if (t->at + 1 >= t->len) return;
  if (n > t->len - 1 - t->at) n = t->len - 1 - t->at;
  memcpy(t->buf + t->at, line, n);
  t->at += n;
  t->buf[t->at] = 0;
}

/* alloc_print_stats' table, cut to the buffer and always terminated. */
EXPORT void MallocExtension_GetStats(char *buffer, int buffer_length) {
  if (buffer == NULL || buffer_length <= 0) return;
  struct text_buffer t = {buffer, (size_t)buffer_length, 0};
  buffer[0] = 0;
  alloc_stats_write(text_append, &t);
}

/* ---- the heap profiler ------------------------------------------------------------ */

#define HEAP_PREFIX_MAX 4000
static alloc_lock heap_profiler_lock = ALLOC_LOCK_INIT;
static char heap_prefix[HEAP_PREFIX_MAX]; /* "" when not running (lock) */
static uint64_t heap_seq;                 /* dumps since Start (lock) */

EXPORT void HeapProfilerStart(const char *prefix) {
  if (prefix == NULL || *prefix == 0 || strlen(prefix) >= HEAP_PREFIX_MAX) return;
  lock_acquire(&heap_profiler_lock);
  if (heap_prefix[0] == 0) {
    strcpy(heap_prefix, prefix);
    heap_seq = 0;
    if (allocprof_get_rate() == 0) allocprof_set_rate((uint64_t)512 << 10);
  }
  lock_release(&heap_profiler_lock);
}

EXPORT int IsHeapProfilerRunning(void) {
  lock_acquire(&heap_profiler_lock);
  int on = heap_prefix[0] != 0;
  lock_release(&heap_profiler_lock);
  return on;
}

EXPORT void HeapProfilerStop(void) {
  lock_acquire(&heap_profiler_lock);
  if (heap_prefix[0] != 0) allocprof_set_rate(0);
  heap_prefix[0] = 0;
  lock_release(&heap_profiler_lock);
}

/* PREFIX.NNNN.heap, as gperftools names its dumps (at least four digits). */
EXPORT void HeapProfilerDump(const char *reason) {
  (void)reason;
  char path[HEAP_PREFIX_MAX + 32];
  lock_acquire(&heap_profiler_lock);
  if (heap_prefix[0] == 0) {
    lock_release(&heap_profiler_lock);
    return;
  }
  char num[24];
  alloc_fmt_u64(num, heap_seq++, 0);
  size_t at = strlen(heap_prefix);
  memcpy(path, heap_prefix, at);
  path[at++] = '.';
  for (size_t pad = strlen(num); pad < 4; pad++) path[at++] = '0';
  strcpy(path + at, num);
  strcat(path, ".heap");
  lock_release(&heap_profiler_lock);
  allocprof_dump(path);
}

EXPORT char *GetHeapProfile(void) {
  static const char text[] =
      "liballoc: no text heap profile; HeapProfilerDump writes a pprof file\n";
  char *p = alloc_malloc(sizeof text);
  if (p != NULL) memcpy(p, text, sizeof text);
  return p;
}

/* ---- the rest of gperftools' C names a program may call --------------------------- */

EXPORT int RunningOnValgrind(void) { return 0; }
EXPORT int ProfilingIsEnabledForAllThreads(void) { return 0; }
EXPORT const char *TCMallocGetenvSafe(const char *name) { return alloc_env(name); }
