/* thread.c: starting the library's own background threads (the scavenger,
 * scavenger.c; the profiler's, libprof/triggers.c). Declared in
 * internal.h; overview in malloc.c.
 *
 * Such a thread must never run a signal handler of the program: a handler
 * that takes a lock the program holds, or that the program expects on its
 * own threads only (SIGINT for a clean shutdown, a timer signal), would
 * deadlock or misfire there. So it starts with every signal blocked: the
 * mask is set on the calling thread around pthread_create, which the new
 * thread inherits, and the caller's mask is restored at once.
 *
 * pthread_create allocates (the new thread's TLS and DTV, through our
 * calloc), and it is called from inside the allocator: the scavenger
 * starts from the free path that first leaves too much memory free
 * (scavenger_notify), which can run in the middle of a thread-cache
 * refill or flush, with that class's entry half updated (mcache_refill
 * gives its span back before it clears e->span). An allocation of the
 * same class on the same cache there would carve the span being given
 * back again: a span freed twice, seen as crashes and hangs of
 * integration.prof_concurrency about once in 50 runs under load. So the
 * calling thread's allocations during pthread_create go through the
 * global cache instead (tls_cache NULL: malloc and free then take their
 * slow paths, which use it under its lock). alloc_may_create_thread is
 * false for a thread on the global cache, so no caller holds that lock
 * here, and every signal is blocked, so no handler sees the swap. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>

#include "internal.h"
#include "malloc_fork.h"

int alloc_thread_start(void *(*fn)(void *), void *arg, size_t stack_bytes) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (stack_bytes != 0) pthread_attr_setstacksize(&attr, stack_bytes);
  pthread_t t;
  struct mcache *own = tls_cache;
  tls_cache = NULL;
  int e = pthread_create(&t, &attr, fn, arg);
  tls_cache = own;
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return e;
}
