/* malloc_fork.h: the allocator's fork handlers (malloc_fork.c), and the
 * per-thread state of malloc.c that they lock and reset. Design overview:
 * malloc.c. */
#ifndef ALLOC_MALLOC_FORK_H
#define ALLOC_MALLOC_FORK_H

#include "internal.h"

ALLOC_HIDDEN_BEGIN

struct mcache;

/* Registers the fork handlers with pthread_atfork. malloc.c's alloc_init
 * calls it once, when the allocator is first set up (after alloc_ready:
 * glibc may call malloc while registering). */
void alloc_fork_register(void);

/* malloc.c's caches. tls_cache: the calling thread's own, NULL when it has
 * none (initial-exec, as malloc.c defines it: the fast path reads it with
 * one %fs-relative load). global_cache: the one shared under
 * global_cache_lock by threads without a cache of their own. */
extern __thread struct mcache *tls_cache __attribute__((tls_model("initial-exec")));
extern struct mcache *global_cache;
extern alloc_lock global_cache_lock;

ALLOC_HIDDEN_END
#endif /* ALLOC_MALLOC_FORK_H */
