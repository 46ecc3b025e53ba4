/* thread_churn: thousands of short-lived threads, each with its own cache.
 *
 * usage: thread_churn [threads] [at once]   (default 3000 8)
 *
 * Threads are started in batches (`at once` at a time, about one in ten of them
 * detached) and each allocates a few dozen blocks, frees some itself and
 * leaves the others in a shared array of slots, from which later threads take
 * them (checking their contents) and free them. So every thread's cache is
 * created, used for local and remote frees, and flushed at exit.
 *
 * When the allocator's statistics are available (linked against liballoc.so,
 * or -DIT_CORE), the test also checks that the count of live thread caches
 * goes up while a batch of threads is alive and comes back down to where it
 * started (give or take one) once all threads are gone, and that the bytes in
 * use come back (within 4 MiB).
 * Built with IT_EXPECT_LIBALLOC the statistics must be available.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "it_alloc_api.h"

#define SLOTS 512
#define PER_THREAD 40
#define COOKIE 0x7E11AB1E0DDB10CCULL

static _Atomic(unsigned char *) slots[SLOTS];
static atomic_int failed;
static atomic_int running_detached;
static pthread_barrier_t barrier;

static void fail(const char *what, const void *p) {
  fprintf(stderr, "thread_churn: %s (%p)\n", what, p);
  atomic_store(&failed, 1);
}

/* A block is [size][key][check] then the pattern of key. */
static unsigned char *make(size_t n, uint64_t key) {
  if (n < 24) n = 24;
  unsigned char *p = A_MALLOC(n);
  if (!p) return NULL;
  it_fill(p, 24, n, key);
  uint64_t h[3] = {n, key, n ^ key ^ COOKIE};
  memcpy(p, h, sizeof h);
  return p;
}

static void check_and_free(unsigned char *p) {
  uint64_t h[3];
  memcpy(h, p, sizeof h);
  if (h[2] != (h[0] ^ h[1] ^ COOKIE) || h[0] > ((size_t)1 << 21))
    fail("corrupt block header", p);
  else if (it_check(p, 24, h[0], h[1]) != (size_t)-1)
    fail("corrupt block contents", p);
  else if (A_USABLE(p) < h[0])
    fail("usable size below the size asked", p);
  A_FREE(p);
}

struct job {
  uint64_t seed;
  int wait_at_barrier;
  int detached;
};

static void *worker(void *arg) {
  struct job job = *(struct job *)arg;
  if (job.detached) free(arg);
  uint64_t rng = job.seed;
  unsigned char *mine[PER_THREAD];
  for (int i = 0; i < PER_THREAD; i++) {
    uint64_t r = it_rand(&rng);
    size_t n = r % 64 == 0 ? 4096 + r % 60000 : 1 + r % 400;
    if (r % 997 == 0) n = (size_t)1 << 20;
    mine[i] = make(n, it_seed(job.seed, (uint64_t)i));
    if (!mine[i]) {
      fail("malloc failed", NULL);
      return NULL;
    }
  }
  if (job.wait_at_barrier) pthread_barrier_wait(&barrier); /* main reads the statistics */
  for (int i = 0; i < PER_THREAD; i++) {
    if (it_rand(&rng) % 2) {
      check_and_free(mine[i]);
    } else { /* leave it to a later thread, free what was there */
      unsigned char *old = atomic_exchange(&slots[it_rand(&rng) % SLOTS], mine[i]);
      if (old) check_and_free(old);
    }
  }
  if (job.wait_at_barrier) pthread_barrier_wait(&barrier);
  if (job.detached) atomic_fetch_sub(&running_detached, 1);
  return NULL;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) && errno == EINTR) {
  }
}

int main(int argc, char **argv) {
  int total = argc > 1 ? atoi(argv[1]) : 3000;
  int batch = argc > 2 ? atoi(argv[2]) : 8;
  if (total < 1 || batch < 1 || batch > 256) {
    fprintf(stderr, "usage: thread_churn [threads] [at once 1..256]\n");
    return 2;
  }
#if defined(IT_EXPECT_LIBALLOC) && !defined(IT_CORE)
  it_require_liballoc("thread_churn");
#endif
  A_FREE(A_MALLOC(16)); /* the main thread's cache exists from here on */
  struct alloc_stats st0, st;
  int have_stats = it_get_stats(&st0);
#if defined(IT_EXPECT_LIBALLOC) || defined(IT_CORE)
  if (!have_stats) {
    fprintf(stderr, "thread_churn: alloc_get_stats is not available\n");
    return 1;
  }
#endif

  /* a batch that waits: its caches must be counted */
  pthread_t tids[256];
  struct job jobs[256];
  pthread_barrier_init(&barrier, NULL, (unsigned)batch + 1);
  for (int i = 0; i < batch; i++) {
    jobs[i] = (struct job){it_seed(1, (uint64_t)i), 1, 0};
    if (pthread_create(&tids[i], NULL, worker, &jobs[i])) {
      perror("pthread_create");
      return 1;
    }
  }
  pthread_barrier_wait(&barrier);
  if (have_stats) {
    it_get_stats(&st);
    printf("thread_churn: thread caches: %llu at start, %llu with %d threads alive\n",
           (unsigned long long)st0.nthreads, (unsigned long long)st.nthreads, batch);
    if (st.nthreads < st0.nthreads + (uint64_t)batch) {
      fprintf(stderr,
              "thread_churn: FAIL: %d live threads allocated but nthreads went from %llu to %llu\n",
              batch, (unsigned long long)st0.nthreads, (unsigned long long)st.nthreads);
      atomic_store(&failed, 1);
    }
  }
  pthread_barrier_wait(&barrier);
  for (int i = 0; i < batch; i++) pthread_join(tids[i], NULL);
  pthread_barrier_destroy(&barrier);

  /* the churn */
  int started = batch;
  uint64_t rng = 3;
  while (started < total) {
    int n = 0;
    for (; n < batch && started < total; n++, started++) {
      int detach = it_rand(&rng) % 10 == 0;
      struct job *j = detach ? malloc(sizeof *j) : &jobs[n];
      if (!j) return 1;
      *j = (struct job){it_seed(2, (uint64_t)started), 0, detach};
      if (detach) {
        pthread_attr_t attr;
        pthread_t t;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        atomic_fetch_add(&running_detached, 1);
        int rc = pthread_create(&t, &attr, worker, j);
        pthread_attr_destroy(&attr);
        if (rc) {
          fprintf(stderr, "thread_churn: pthread_create: %s\n", strerror(rc));
          return 1;
        }
        tids[n] = 0;
      } else if (pthread_create(&tids[n], NULL, worker, j)) {
        perror("pthread_create");
        return 1;
      }
    }
    for (int i = 0; i < n; i++)
      if (tids[i]) pthread_join(tids[i], NULL);
  }
  /* detached threads end on their own: wait for them (a minute at most, on a
   * loaded machine; only a hang takes longer) */
  for (int i = 0; i < 60000 && atomic_load(&running_detached) > 0; i++) sleep_ms(1);
  for (int s = 0; s < SLOTS; s++) {
    unsigned char *p = atomic_exchange(&slots[s], NULL);
    if (p) check_and_free(p);
  }

  if (have_stats) {
    /* detached threads may still be running their exit path: wait for their
     * caches to go, up to 60 s (a loaded machine can be slow to run them) */
    for (int i = 0; i < 6000; i++) {
      it_get_stats(&st);
      if (st.nthreads <= st0.nthreads) break;
      sleep_ms(10);
    }
    printf(
        "thread_churn: %d threads: thread caches %llu at start, %llu at the end; in use %llu -> "
        "%llu bytes\n",
        total, (unsigned long long)st0.nthreads, (unsigned long long)st.nthreads,
        (unsigned long long)st0.in_use, (unsigned long long)st.in_use);
    /* one more is allowed: a helper thread of the allocator's own may have started */
    if (st.nthreads > st0.nthreads + 1) {
      fprintf(
          stderr,
          "thread_churn: FAIL: %llu thread caches live after all threads exited (%llu at start)\n",
          (unsigned long long)st.nthreads, (unsigned long long)st0.nthreads);
      atomic_store(&failed, 1);
    }
    if (st.in_use > st0.in_use + ((uint64_t)4 << 20)) {
      fprintf(stderr,
              "thread_churn: FAIL: %llu bytes in use after everything was freed (%llu at start)\n",
              (unsigned long long)st.in_use, (unsigned long long)st0.in_use);
      atomic_store(&failed, 1);
    }
  } else {
    printf("thread_churn: %d threads (no allocator statistics to check)\n", total);
  }
  return atomic_load(&failed) ? 1 : 0;
}
