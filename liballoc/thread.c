/* thread.c: starting the library's own background threads (the scavenger,
 * scavenger.c; the profiler's, libprof/triggers.c). Declared in
 * internal.h; overview in malloc.c.
 *
 * Such a thread must never run a signal handler of the program: a handler
 * that takes a lock the program holds, or that the program expects on its
 * own threads only (SIGINT for a clean shutdown, a timer signal), would
 * deadlock or misfire there. So it starts with every signal blocked: the
 * mask is set on the calling thread around pthread_create, which the new
 * thread inherits, and the caller's mask is restored at once. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>

#include "internal.h"

int alloc_thread_start(void *(*fn)(void *), void *arg, size_t stack_bytes) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (stack_bytes != 0) pthread_attr_setstacksize(&attr, stack_bytes);
  pthread_t t;
  int e = pthread_create(&t, &attr, fn, arg);
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return e;
}
