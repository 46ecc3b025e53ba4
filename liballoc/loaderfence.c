/* loaderfence.c: the fence between fork and the profiler's loader calls.
 * Contract and reasons: loaderfence.h.
 *
 * One word holds the state: the number of threads inside (low 31 bits) and
 * FORKING (the top bit), set by a thread preparing a fork. alloc_loader_enter adds
 * one unless FORKING is set, in which case it sleeps on the word (a futex:
 * no lock the child could inherit); the forking thread sets FORKING and
 * sleeps until the count falls to zero. fork_lock orders two threads that
 * fork at once. The per-thread depth makes nested calls free and keeps a
 * thread from waiting for a fork while it is itself inside. */
#define _GNU_SOURCE
#include "loaderfence.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FORKING 0x80000000u

static uint32_t fence_word;
static pthread_mutex_t fork_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread unsigned fence_depth __attribute__((tls_model("initial-exec")));

static void futex_wait(uint32_t *w, uint32_t seen) {
  int saved = errno;
  syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
  errno = saved;
}

static void futex_wake_all(uint32_t *w) {
  int saved = errno;
  syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
  errno = saved;
}

void alloc_loader_enter(void) {
  if (fence_depth++ != 0) return;
  uint32_t v = __atomic_load_n(&fence_word, __ATOMIC_RELAXED);
  for (;;) {
    if (v & FORKING) {
      futex_wait(&fence_word, v);
      v = __atomic_load_n(&fence_word, __ATOMIC_RELAXED);
      continue;
    }
    if (__atomic_compare_exchange_n(&fence_word, &v, v + 1, 1, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
      return;
  }
}

int alloc_loader_this_thread_inside(void) { return fence_depth != 0; }

void alloc_loader_exit(void) {
  if (--fence_depth != 0) return;
  uint32_t v = __atomic_sub_fetch(&fence_word, 1, __ATOMIC_RELEASE);
  if (v & FORKING) futex_wake_all(&fence_word); /* the forker counts us out */
}

void loader_fence_fork_prepare(void) {
  pthread_mutex_lock(&fork_lock);
  uint32_t v = __atomic_or_fetch(&fence_word, FORKING, __ATOMIC_ACQUIRE);
  /* A thread that forks from inside (never the profiler's own) counts itself. */
  uint32_t self = fence_depth != 0 ? 1 : 0;
  while ((v & ~FORKING) != self) {
    futex_wait(&fence_word, v);
    v = __atomic_load_n(&fence_word, __ATOMIC_ACQUIRE);
  }
}

void loader_fence_fork_parent(void) {
  __atomic_and_fetch(&fence_word, ~FORKING, __ATOMIC_RELEASE);
  futex_wake_all(&fence_word);
  pthread_mutex_unlock(&fork_lock);
}

void loader_fence_fork_child(void) {
  /* The forking thread is the only one: only its own depth can count. */
  __atomic_store_n(&fence_word, fence_depth != 0 ? 1u : 0u, __ATOMIC_RELEASE);
  pthread_mutex_init(&fork_lock, NULL);
}

unsigned loader_fence_inside(void) {
  return __atomic_load_n(&fence_word, __ATOMIC_RELAXED) & ~FORKING;
}
