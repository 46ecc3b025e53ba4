/* malloc_thread.c: the allocator's start-up and the life of each thread's
 * cache: setting everything up once (at load, or at the first request,
 * whichever comes first), creating a thread's cache at its first request,
 * destroying it when the thread exits, and the statistics printed at exit.
 * The entry points that use them are in malloc.c; the contracts, in
 * malloc_thread.h. */
#define _GNU_SOURCE
#include "malloc_thread.h"

#include <fcntl.h>
#include <pthread.h>

#include "alloc.h"
#include "alloc_entry.h"
#include "loaderfence.h"
#include "malloc_fork.h"
#include "mcache.h"
#include "mcentral.h"
#include "mheap.h"
#include "mprof.h"
#include "settings.h"
#include "sizeclass.h"

enum thread_state { THREAD_NEW = 0, THREAD_CREATING, THREAD_HAS_CACHE, THREAD_EXITED };

/* initial-exec: one %fs-relative load, no __tls_get_addr call, which matters
 * on the fast path and keeps TLS access from ever allocating. tls_cache and
 * the global cache are also read by the fork handlers (malloc_fork.h). */
__thread struct mcache *tls_cache __attribute__((tls_model("initial-exec")));
static __thread int tls_state __attribute__((tls_model("initial-exec")));

static pthread_key_t thread_key;
int alloc_ready;
static alloc_lock init_lock = ALLOC_LOCK_INIT;

/* Threads with no cache of their own (exiting ones, or when a cache cannot
 * be had) share this one under its lock. */
struct mcache *global_cache;
alloc_lock global_cache_lock = ALLOC_LOCK_INIT;
static int stats_at_exit;
/* A copy of stderr taken at start: programs such as sort(1) close fd 2
 * before they exit, and the statistics would be lost. */
static int stats_fd = 2;

static void thread_exit(void *arg) {
  struct mcache *c = arg;
  tls_cache = NULL;
  tls_state = THREAD_EXITED;
  if (c != NULL) mcache_destroy(c);
}

int alloc_init(void) {
  static int core_done, key_done; /* steps that must not run twice (init_lock) */
  lock_acquire(&init_lock);
  if (LOAD_RELAXED(&alloc_ready)) {
    lock_release(&init_lock);
    return 0;
  }
  if (!core_done) {
    freelist_key_init(); /* before any object can be freed */
    sizeclass_init();
    mcache_set_grow_budget(alloc_settings()->thread_cache_kb << 10);
    mheap_init();
    prof_init();
    for (unsigned k = 0; k < SIZECLASS_COUNT; k++)
      mcentral_init(&mcentral[k], k, &mcentral_heap_backend);
    core_done = 1;
  }
  if (!key_done && pthread_key_create(&thread_key, thread_exit) == 0) key_done = 1;
  if (key_done && global_cache == NULL) global_cache = mcache_create();
  if (global_cache == NULL) {
    lock_release(&init_lock);
    return -1;
  }
  stats_at_exit = alloc_settings()->stats != 0;
  if (stats_at_exit) {
    int fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
    if (fd >= 0) stats_fd = fd;
  }
  __atomic_store_n(&alloc_ready, 1, __ATOMIC_RELEASE);
  lock_release(&init_lock);
  /* After alloc_ready: glibc may call malloc while registering. */
  alloc_fork_register();
  return 0;
}

void alloc_init_once(void) { (void)alloc_ensure_ready(); }

__attribute__((constructor)) static void alloc_constructor(void) { alloc_init_once(); }

__attribute__((destructor)) static void alloc_destructor(void) {
  if (stats_at_exit) alloc_print_stats(stats_fd);
}

struct mcache *thread_cache_slow(void) {
  if (alloc_ensure_ready() != 0) return NULL;
  if (tls_state != THREAD_NEW) return tls_cache;
  tls_state = THREAD_CREATING; /* pthread_setspecific may allocate */
  struct mcache *c = mcache_create();
  if (c == NULL) {
    tls_state = THREAD_NEW;
    return NULL;
  }
  pthread_setspecific(thread_key, c);
  tls_cache = c;
  tls_state = THREAD_HAS_CACHE;
  return c;
}

/* Not on the global cache (its lock may be held), and not inside the
 * profiler's loader calls: the scavenger once started from a free in a
 * dl_iterate_phdr callback of a dump (mappings.c's realloc), and its
 * pthread_create waited for the loader's TLS lock, held by a thread in
 * dlclose that waited for the write lock the dump held
 * (integration.prof_concurrency hung about once in 300 runs under load). */
int alloc_may_create_thread(void) {
  return tls_cache != NULL && !alloc_loader_this_thread_inside();
}
