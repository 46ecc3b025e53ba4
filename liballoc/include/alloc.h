/* alloc.h: the public interface of liballoc beyond the C allocation ABI.
 *
 * liballoc replaces malloc and friends when it is linked or LD_PRELOADed; this
 * header adds what a program may want to ask the allocator directly: its
 * statistics. The design overview is in liballoc/malloc.c.
 */
#ifndef ALLOC_H
#define ALLOC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ALLOC_API __attribute__((visibility("default")))

#define ALLOC_STATS_MAX_CLASSES 96

/* One size class's counters. Objects are counted when a thread hands them to
 * the program (nmalloc) and when the program frees them (nfree). */
struct alloc_class_stats {
  uint32_t size;    /* object size of the class in bytes */
  uint32_t npages;  /* 8 KiB pages per span of the class */
  uint64_t nmalloc; /* objects handed out, cumulative */
  uint64_t nfree;   /* objects freed, cumulative */
  uint64_t nspans;  /* spans of this class currently allocated from the heap */
};

struct alloc_stats {
  uint64_t mapped;        /* bytes of heap address space made usable (Prepared or Ready) */
  uint64_t reserved;      /* bytes of address space reserved for the heap (any state) */
  uint64_t in_use;        /* bytes in objects handed out and not yet freed (by class size) */
  uint64_t heap_in_spans; /* bytes of pages held by spans (small and large) */
  uint64_t heap_free;     /* bytes of free pages still backed by memory */
  uint64_t released;      /* bytes of free pages returned to the OS */
  uint64_t metadata;      /* bytes mapped for the allocator's own structures */
  uint64_t profiler;     /* of metadata: bytes the heap profiler holds (buckets, sampled objects) */
  uint64_t large_in_use; /* bytes in large (> 32 KiB) objects */
  uint64_t nlarge_alloc; /* large objects allocated, cumulative */
  uint64_t nlarge_free;  /* large objects freed, cumulative */
  uint64_t nthreads;     /* thread caches currently live */
  uint32_t nclasses;     /* entries used in by_class (class 0 = large) */
  struct alloc_class_stats by_class[ALLOC_STATS_MAX_CLASSES];
};

/* Fills *out with a snapshot of the allocator's counters. Counters of other
 * threads are read without stopping them, so the snapshot is approximate while
 * they run. Returns 0. Never allocates. */
ALLOC_API int alloc_get_stats(struct alloc_stats *out);

/* Writes a readable table of the statistics to the file descriptor fd.
 * Never allocates. The same table is printed at exit when ALLOC_STATS=1. */
ALLOC_API void alloc_print_stats(int fd);

/* Returns free memory to the OS now, as the background scavenger would later.
 * Returns the number of bytes released. */
ALLOC_API size_t alloc_release_free_memory(void);

#ifdef __cplusplus
}
#endif
#endif /* ALLOC_H */
