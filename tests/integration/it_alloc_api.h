/* it_alloc_api.h: which allocator a multi-threaded integration test calls.
 *
 * Built with -DIT_CORE the test calls the allocator's internal entry points
 * (alloc_malloc ... from the static library alloc_core), so that the
 * allocator itself is compiled with the test's sanitizer; otherwise it calls
 * malloc ..., which is liballoc when the program is linked against
 * liballoc.so or run with it preloaded.
 *
 * it_get_stats fills st with alloc_get_stats when the allocator has it: always
 * with IT_CORE, else when the process's liballoc exports it (looked up at run
 * time so that the program also runs on glibc's malloc). Returns 0 if it has
 * no statistics.
 */
#ifndef IT_ALLOC_API_H
#define IT_ALLOC_API_H

#include <stdint.h>
#include <stdlib.h>

#include "alloc.h"
#include "it_common.h"

#ifdef IT_CORE
#include "alloc_entry.h" /* liballoc/alloc_entry.h: the internal entry points */
#define A_MALLOC(n) alloc_malloc(n)
#define A_CALLOC(k, n) alloc_calloc(k, n)
#define A_REALLOC(p, n) alloc_realloc(p, n)
#define A_FREE(p) alloc_free(p)
#define A_MEMALIGN(a, n) alloc_memalign(a, n)
#define A_USABLE(p) alloc_usable_size(p)
static inline int it_get_stats(struct alloc_stats *st) { return alloc_get_stats(st) == 0; }
#else
#define A_MALLOC(n) malloc(n)
#define A_CALLOC(k, n) calloc(k, n)
#define A_REALLOC(p, n) realloc(p, n)
#define A_FREE(p) free(p)
#define A_MEMALIGN(a, n) memalign(a, n)
#define A_USABLE(p) malloc_usable_size(p)
static inline int it_get_stats(struct alloc_stats *st) {
  int (*f)(struct alloc_stats *) =
      (int (*)(struct alloc_stats *))(uintptr_t)dlsym(RTLD_DEFAULT, "alloc_get_stats");
  return f && f(st) == 0;
}
#endif

#endif /* IT_ALLOC_API_H */
