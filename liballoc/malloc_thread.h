/* malloc_thread.h: what malloc.c's entry points need of the allocator's
 * start-up and of the calling thread's cache (malloc_thread.c). The cache
 * pointers themselves, tls_cache and global_cache, are declared in
 * malloc_fork.h, which the fork handlers share. */
#ifndef ALLOC_MALLOC_THREAD_H
#define ALLOC_MALLOC_THREAD_H

#include "internal.h"

ALLOC_HIDDEN_BEGIN

struct mcache;

/* 1 once the allocator is set up (acquire loads: what alloc_init set up
 * is then visible). */
extern int alloc_ready;

/* Sets the allocator up. Returns 0 when it is ready, or -1 when the OS
 * refused what it needs to start (under a tight `ulimit -v`): the request
 * that asked then fails with ENOMEM, and the next one tries again from the
 * step that failed. */
int alloc_init(void);

/* 0 if the allocator is ready (set up now if need be), -1 if it cannot be. */
static inline int alloc_ensure_ready(void) {
  return likely(__atomic_load_n(&alloc_ready, __ATOMIC_ACQUIRE)) ? 0 : alloc_init();
}

/* The calling thread's cache, created on first use; NULL if the thread must
 * use the global cache (global_cache, under global_cache_lock). */
struct mcache *thread_cache_slow(void);

ALLOC_HIDDEN_END
#endif /* ALLOC_MALLOC_THREAD_H */
