/* fork_threads: fork while other threads allocate, and use the heap in the child.
 *
 * usage: fork_threads [forks] [busy threads]   (default 60 3)
 *
 * Busy threads allocate and free all the time (small and large blocks, calloc,
 * realloc) while the main thread forks repeatedly. A fork can land while a
 * busy thread holds any of the allocator's locks, so the allocator must make
 * its state consistent in the child. Each child:
 *   - frees blocks the parent allocated before the fork, checking them first;
 *   - mallocs, checks and frees small and large blocks;
 *   - creates a thread that does the same, joins it (not under
 *     ThreadSanitizer, which does not support that);
 *   - then _exit(0).
 * A child that deadlocks is killed by its own alarm (SIGALRM). The parent
 * checks every child's exit status and fails on anything but 0.
 *
 * With -DIT_CORE the test calls alloc_malloc ... (see it_alloc_api.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "it_alloc_api.h"

#define RING 64
#define INHERITED 200

static atomic_int stop;

struct blk {
  unsigned char *p;
  size_t n;
  uint64_t key;
};

static size_t pick_size(uint64_t *rng) {
  uint64_t r = it_rand(rng) % 100;
  uint64_t x = it_rand(rng);
  if (r < 80) return 1 + x % 512;
  if (r < 95) return 512 + x % 32768;
  return 32768 + x % (2u << 20);
}

static int blk_new(struct blk *b, uint64_t *rng, uint64_t key) {
  b->n = pick_size(rng);
  b->key = key;
  uint64_t how = it_rand(rng) % 10;
  if (how == 0) {
    b->p = A_CALLOC(1, b->n);
    if (b->p && it_check_zero_block(b->p, b->n) != (size_t)-1) return -1;
  } else {
    b->p = A_MALLOC(b->n);
  }
  if (!b->p) return -1;
  it_fill_block(b->p, b->n, key);
  return 0;
}

static int blk_free(struct blk *b) {
  int bad = it_check_block(b->p, b->n, b->key) != (size_t)-1;
  A_FREE(b->p);
  b->p = NULL;
  return bad ? -1 : 0;
}

/* Allocates, checks and frees for `steps` steps (or until stop when steps
 * is 0). Returns 0, or -1 on a bad block. */
static int churn(uint64_t seed, long steps) {
  struct blk ring[RING];
  memset(ring, 0, sizeof ring);
  uint64_t rng = seed, serial = 0;
  for (long i = 0; steps ? i < steps : !atomic_load_explicit(&stop, memory_order_relaxed); i++) {
    struct blk *b = &ring[it_rand(&rng) % RING];
    if (b->p && blk_free(b)) return -1;
    if (it_rand(&rng) % 8 == 0) continue; /* leave the slot empty */
    if (blk_new(b, &rng, it_seed(seed, ++serial))) return -1;
    if (it_rand(&rng) % 16 == 0) { /* grow or shrink it */
      size_t n = pick_size(&rng);
      size_t keep = n < b->n ? n : b->n;
      if (keep > 4096) keep = 4096;
      unsigned char *q = A_REALLOC(b->p, n);
      if (!q) return -1;
      if (it_check(q, 0, keep, b->key) != (size_t)-1) return -1;
      b->p = q;
      b->n = n;
      b->key = it_seed(seed, ++serial);
      it_fill_block(b->p, b->n, b->key);
    }
  }
  for (int s = 0; s < RING; s++)
    if (ring[s].p && blk_free(&ring[s])) return -1;
  return 0;
}

static void *busy(void *arg) {
  uint64_t seed = (uint64_t)(uintptr_t)arg;
  if (churn(seed, 0)) it_die("fork_threads: a busy thread found a corrupt block");
  return NULL;
}

static void *child_thread(void *arg) {
  uint64_t seed = (uint64_t)(uintptr_t)arg;
  return (void *)(uintptr_t)(churn(seed, 2000) == 0);
}

static struct blk inherited[INHERITED];

/* ThreadSanitizer cannot start a thread in the child of a multi-threaded
 * parent (it fails inside its own runtime), so under it the child stays
 * single-threaded. */
#if defined(__SANITIZE_THREAD__)
#define IT_CHILD_THREAD 0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define IT_CHILD_THREAD 0
#endif
#endif
#ifndef IT_CHILD_THREAD
#define IT_CHILD_THREAD 1
#endif

static void run_child(int i) {
  alarm(20);
  /* blocks from before the fork */
  for (int k = 0; k < INHERITED; k++)
    if (blk_free(&inherited[k])) _exit(10);
  /* small and large blocks in the child's main thread */
  if (churn(it_seed(1000, (uint64_t)i), 3000)) _exit(11);
  unsigned char *big = A_MALLOC((size_t)8 << 20);
  if (!big) _exit(12);
  memset(big, 0x77, (size_t)8 << 20);
  A_FREE(big);
  /* a thread in the child */
  if (IT_CHILD_THREAD) {
    pthread_t t;
    if (pthread_create(&t, NULL, child_thread, (void *)(uintptr_t)it_seed(2000, (uint64_t)i)))
      _exit(13);
    void *ok = NULL;
    pthread_join(t, &ok);
    if (!ok) _exit(14);
  }
  if (churn(it_seed(3000, (uint64_t)i), 500)) _exit(15);
  _exit(0);
}

int main(int argc, char **argv) {
  int forks = argc > 1 ? atoi(argv[1]) : 60;
  int nbusy = argc > 2 ? atoi(argv[2]) : 3;
  if (forks < 1 || nbusy < 0 || nbusy > 64) {
    fprintf(stderr, "usage: fork_threads [forks] [busy threads 0..64]\n");
    return 2;
  }
#if defined(IT_EXPECT_LIBALLOC) && !defined(IT_CORE)
  it_require_liballoc("fork_threads");
#endif
  pthread_t tids[64];
  for (int t = 0; t < nbusy; t++)
    if (pthread_create(&tids[t], NULL, busy, (void *)(uintptr_t)it_seed(7, (uint64_t)t))) {
      perror("pthread_create");
      return 1;
    }

  int failures = 0;
  uint64_t rng = 5;
  for (int i = 0; i < forks; i++) {
    for (int k = 0; k < INHERITED; k++)
      if (blk_new(&inherited[k], &rng, it_seed(500, (uint64_t)(i * INHERITED + k)))) {
        fprintf(stderr, "fork_threads: allocation failed in the parent\n");
        return 1;
      }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
      perror("fork");
      return 1;
    }
    if (pid == 0) run_child(i);
    int st;
    while (waitpid(pid, &st, 0) < 0)
      if (errno != EINTR) {
        perror("waitpid");
        return 1;
      }
    if (WIFSIGNALED(st)) {
      fprintf(stderr, "fork_threads: child %d killed by signal %d (%s)%s\n", i, WTERMSIG(st),
              strsignal(WTERMSIG(st)), WTERMSIG(st) == SIGALRM ? ": deadlocked after fork" : "");
      failures++;
    } else if (WEXITSTATUS(st) != 0) {
      fprintf(stderr, "fork_threads: child %d exited with status %d\n", i, WEXITSTATUS(st));
      failures++;
    }
    /* the parent's copies are untouched by what the child did */
    for (int k = 0; k < INHERITED; k++)
      if (blk_free(&inherited[k])) {
        fprintf(stderr, "fork_threads: parent block %d corrupt after fork %d\n", k, i);
        failures++;
      }
  }
  atomic_store(&stop, 1);
  for (int t = 0; t < nbusy; t++) pthread_join(tids[t], NULL);
  printf("fork_threads: %d forks with %d busy threads, %d failures\n", forks, nbusy, failures);
  return failures ? 1 : 0;
}
