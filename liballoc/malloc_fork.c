/* malloc_fork.c: the allocator's fork handlers (malloc_fork.h), and the one
 * place that lists every pthread_atfork registration of the process's
 * profiler. Design overview: malloc.c.
 *
 * Every lock is taken before fork and released after it in both processes,
 * so the child never inherits a lock held by a thread that does not exist
 * there (in the child, the forking thread owns them all). The child then
 * forgets the other threads' caches.
 *
 * The order, in the prepare handler: signals are blocked on the forking
 * thread (a handler that allocated now would wait for a lock its own thread
 * holds); a load of the dumping half that holds the loader's lock is waited
 * for, and one that does not yet is held back (mprof_dumper.c "Loads and
 * forks": its dlopen may allocate and use the fence, so this comes first);
 * the loader fence waits for the profiler's calls into the loader and
 * the unwinders to finish (loaderfence.h: they may allocate, so this comes
 * before any allocator lock); then the allocator's locks, the profiler's
 * first. Parent and child undo it in the reverse order; the child also
 * forgets a load of the dumping half that was held back, and loads it
 * afresh when it needs it (mprof_dumper.c).
 *
 * This is the process's profiler's only pthread_atfork registration
 * (alloc_fork_register), made when the allocator is first set up
 * (malloc.c, alloc_init). The dumping half's child handler
 * (libprof/triggers.c: profile.c's state, then the triggers', then the
 * profiler thread) is its hook's fork_child, which mprof_dumper_fork_child
 * calls last in the child handler here, with every allocator lock free
 * again: a pthread_atfork made while a load raced a fork would not run in
 * that fork's child (mprof.h). */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>

#include "internal.h"
#include "loaderfence.h"
#include "malloc_fork.h"
#include "mcache.h"
#include "mcentral.h"
#include "metalloc.h"
#include "mheap.h"
#include "mprof.h"
#include "sizeclass.h"

static sigset_t fork_saved_mask; /* written under the fence's fork lock */

static void fork_prepare(void) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  mprof_dumper_fork_prepare();
  loader_fence_fork_prepare();
  fork_saved_mask = old;
  lock_acquire(&global_cache_lock);
  prof_fork_prepare(); /* the profiler lock is taken before persistentalloc's */
  lock_acquire(&mcache_all_lock);
  for (unsigned k = 0; k < SIZECLASS_COUNT; k++) lock_acquire(&mcentral[k].lock);
  lock_acquire(&mheap.lock);
  persistentalloc_lock();
}

static void release_fork_locks(void) {
  persistentalloc_unlock();
  prof_fork_parent();
  lock_release(&mheap.lock);
  for (unsigned k = SIZECLASS_COUNT; k-- > 0;) lock_release(&mcentral[k].lock);
  lock_release(&mcache_all_lock);
  lock_release(&global_cache_lock);
}

static void fork_parent(void) {
  release_fork_locks();
  sigset_t mask = fork_saved_mask;
  loader_fence_fork_parent();
  mprof_dumper_fork_parent();
  pthread_sigmask(SIG_SETMASK, &mask, NULL);
}

static void fork_child(void) {
  /* The forking thread holds every lock in the child too: clean up under
   * them, then release them as the parent does. */
  mcache_after_fork_child(tls_cache, global_cache);
  scavenger_after_fork_child();
  prof_peak_fork_child();
  release_fork_locks();
  sigset_t mask = fork_saved_mask;
  loader_fence_fork_child();
  mprof_dumper_fork_child();
  pthread_sigmask(SIG_SETMASK, &mask, NULL);
}

void alloc_fork_register(void) { pthread_atfork(fork_prepare, fork_parent, fork_child); }
