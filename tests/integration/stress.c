/* stress: many threads allocating, passing blocks to each other and freeing.
 *
 * usage: stress [threads] [iterations per thread] [rounds]   (default 4 20000 6)
 *
 * In the style of mimalloc's test-stress. Each round starts `threads` threads
 * and joins them (thread churn: a cache is created and flushed per thread per
 * round; half the threads stop half-way). Each thread runs a deterministic
 * xorshift stream that picks, per step: allocate (malloc, calloc, or an
 * aligned allocation), free, realloc, or swap a block with a slot of a shared
 * transfer array through an atomic exchange, so that blocks allocated by one
 * thread are freed by another, also by threads of later rounds. Sizes are
 * mostly small, some up to 1 MiB.
 *
 * Every block holds a pattern derived from a key unique to the block; blocks
 * of 24 bytes or more start with a header (size, key, check word) so that a
 * thread receiving one can check it. Each block is checked before it is freed
 * or reallocated, a calloc'd block is checked to be zero, and an aligned one
 * to be aligned. A mismatch prints what was wrong and aborts.
 *
 * Built with -DIT_CORE the program calls alloc_malloc / alloc_free ...
 * (the allocator linked as a static library, so sanitizers can instrument
 * it) instead of malloc / free.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it_common.h"

#ifdef IT_CORE
#include "alloc_entry.h" /* liballoc/alloc_entry.h: the internal entry points */
#define S_MALLOC(n) alloc_malloc(n)
#define S_CALLOC(k, n) alloc_calloc(k, n)
#define S_REALLOC(p, n) alloc_realloc(p, n)
#define S_FREE(p) alloc_free(p)
#define S_POSIX_MEMALIGN(out, a, n) alloc_posix_memalign(out, a, n)
#define S_MEMALIGN(a, n) alloc_memalign(a, n)
#define S_ALIGNED_ALLOC(a, n) alloc_aligned_alloc(a, n)
#define S_USABLE(p) alloc_usable_size(p)
#define S_FREE_SIZED(p, n) alloc_free_sized(p, n)
#define S_NAME "stress_core"
#else
#define S_MALLOC(n) malloc(n)
#define S_CALLOC(k, n) calloc(k, n)
#define S_REALLOC(p, n) realloc(p, n)
#define S_FREE(p) free(p)
#define S_POSIX_MEMALIGN(out, a, n) posix_memalign(out, a, n)
#define S_MEMALIGN(a, n) memalign(a, n)
#define S_ALIGNED_ALLOC(a, n) aligned_alloc(a, n)
#define S_USABLE(p) malloc_usable_size(p)
#define S_FREE_SIZED(p, n) free(p)
#define S_NAME "stress"
#endif

#define COOKIE 0xC0FFEE5EED5A17EDULL
#define HDR 24          /* header bytes of a self-describing block */
#define LOCAL_SLOTS 300 /* blocks a thread holds */
#define TRANSFER 1000   /* shared slots */
#define MAX_SIZE ((size_t)1 << 20)

struct obj {
  unsigned char *p;
  size_t n;
  uint64_t key;
  size_t align; /* alignment promised, 0 if only the default */
};

static _Atomic(unsigned char *) transfer[TRANSFER];
static atomic_ullong n_alloc, n_free, n_cross;
static long iters_per_thread;

/* ---- blocks ---------------------------------------------------------------- */

static void fill_obj(struct obj *o) {
  it_fill_block(o->p, o->n, o->key);
  if (o->n >= HDR) {
    uint64_t h[3] = {o->n, o->key, o->n ^ o->key ^ COOKIE};
    memcpy(o->p, h, sizeof h);
  }
}

static void check_obj(const struct obj *o, const char *when) {
  size_t from = 0;
  if (o->align && ((uintptr_t)o->p & (o->align - 1)))
    it_die(S_NAME ": %s: block %p of %zu bytes not aligned to %zu", when, (void *)o->p, o->n,
           o->align);
  if (o->n >= HDR) {
    uint64_t h[3];
    memcpy(h, o->p, sizeof h);
    if (h[0] != o->n || h[1] != o->key || h[2] != (o->n ^ o->key ^ COOKIE))
      it_die(S_NAME
             ": %s: header of block %p corrupt: size %llu key %llx check %llx (want %zu %llx)",
             when, (void *)o->p, (unsigned long long)h[0], (unsigned long long)h[1],
             (unsigned long long)h[2], o->n, (unsigned long long)o->key);
    from = HDR;
  }
  size_t bad = it_check_block_from(o->p, o->n, o->key, from);
  if (bad != (size_t)-1)
    it_die(S_NAME ": %s: block %p of %zu bytes (key %llx): byte %zu is 0x%02x, want 0x%02x", when,
           (void *)o->p, o->n, (unsigned long long)o->key, bad, o->p[bad],
           it_pattern_byte(o->key, bad));
  if (S_USABLE(o->p) < o->n)
    it_die(S_NAME ": %s: usable size of %p is %zu < %zu", when, (void *)o->p,
           (size_t)S_USABLE(o->p), o->n);
}

/* Reads a block received through the transfer array from its header. */
static struct obj adopt(unsigned char *p) {
  uint64_t h[3];
  memcpy(h, p, sizeof h);
  if (h[0] < HDR || h[0] > MAX_SIZE || h[2] != (h[0] ^ h[1] ^ COOKIE))
    it_die(S_NAME ": block %p from another thread has a corrupt header: %llx %llx %llx", (void *)p,
           (unsigned long long)h[0], (unsigned long long)h[1], (unsigned long long)h[2]);
  struct obj o = {p, (size_t)h[0], h[1], 0};
  check_obj(&o, "block from another thread");
  return o;
}

static size_t pick_size(uint64_t *rng) {
  uint64_t r = it_rand(rng) % 1000;
  uint64_t x = it_rand(rng);
  if (r < 700) return 1 + x % 128;
  if (r < 900) return 129 + x % 2048;
  if (r < 970) return 2048 + x % (32768 - 2048 + 1024);
  if (r < 992) return 32768 + x % (256 * 1024);
  return 256 * 1024 + x % (MAX_SIZE - 256 * 1024 + 1);
}

static void release(struct obj *o, uint64_t *rng, const char *when) {
  check_obj(o, when);
  if ((it_rand(rng) & 3) == 0)
    S_FREE_SIZED(o->p, o->n);
  else
    S_FREE(o->p);
  atomic_fetch_add_explicit(&n_free, 1, memory_order_relaxed);
  o->p = NULL;
}

static void make(struct obj *o, uint64_t *rng, uint64_t key) {
  size_t n = pick_size(rng);
  uint64_t r = it_rand(rng) % 100;
  o->n = n;
  o->key = key;
  o->align = 0;
  if (r < 6) { /* aligned */
    uint64_t x = it_rand(rng);
    size_t a = (size_t)1 << (3 + x % 10); /* 8 .. 4096 */
    if (x % 97 == 0) a = (size_t)1 << 16;
    if (x % 389 == 0) a = (size_t)1 << 20;
    void *p = NULL;
    switch (x % 3) {
      case 0: {
        int rc = S_POSIX_MEMALIGN(&p, a, n);
        if (rc) it_die(S_NAME ": posix_memalign(%zu, %zu) = %d", a, n, rc);
        break;
      }
      case 1: p = S_MEMALIGN(a, n); break;
      default: p = S_ALIGNED_ALLOC(a, n); break;
    }
    if (!p) it_die(S_NAME ": aligned allocation of %zu bytes at %zu failed", n, a);
    o->p = p;
    o->align = a;
  } else if (r < 16) { /* calloc */
    o->p = S_CALLOC(1, n);
    if (!o->p) it_die(S_NAME ": calloc(1, %zu) failed", n);
    size_t bad = it_check_zero_block(o->p, n);
    if (bad != (size_t)-1)
      it_die(S_NAME ": calloc(1, %zu) = %p: byte %zu is 0x%02x", n, (void *)o->p, bad, o->p[bad]);
    o->align = n >= 16 ? 16 : 0;
  } else {
    o->p = S_MALLOC(n);
    if (!o->p) it_die(S_NAME ": malloc(%zu) failed", n);
    o->align = n >= 16 ? 16 : 0;
  }
  atomic_fetch_add_explicit(&n_alloc, 1, memory_order_relaxed);
  fill_obj(o);
}

static void grow_or_shrink(struct obj *o, uint64_t *rng, uint64_t key) {
  check_obj(o, "before realloc");
  size_t n = pick_size(rng);
  uintptr_t was = it_opaque((uintptr_t)o->p); /* for messages only */
  unsigned char *q = S_REALLOC(o->p, n);
  if (!q) it_die(S_NAME ": realloc(%p, %zu) failed", (void *)o->p, n);
  /* the kept prefix still holds the old header and pattern (all of it when
   * the old block was filled whole, its first page when it was sparse) */
  size_t keep = o->n < n ? o->n : n;
  size_t from = 0;
  if (o->n >= HDR && keep >= HDR) {
    uint64_t h[3];
    memcpy(h, q, sizeof h);
    if (h[0] != o->n || h[1] != o->key)
      it_die(S_NAME ": realloc %zu -> %zu (%p -> %p) lost the header", o->n, n, (void *)was,
             (void *)q);
    from = HDR;
  } else if (o->n >= HDR) {
    from = keep; /* only header bytes were kept */
  }
  size_t lim = o->n <= IT_FULL_FILL_MAX ? keep : (keep < 4096 ? keep : 4096);
  size_t bad = it_check(q, from, lim, o->key);
  if (bad != (size_t)-1)
    it_die(S_NAME ": realloc %zu -> %zu (%p -> %p) lost byte %zu", o->n, n, (void *)was, (void *)q,
           bad);
  o->p = q;
  o->n = n;
  o->key = key;
  o->align = n >= 16 ? 16 : 0;
  fill_obj(o);
}

/* ---- threads ------------------------------------------------------------------ */

struct targ {
  int round, index;
  long iters;
};

static void *worker(void *arg) {
  struct targ *t = arg;
  uint64_t rng = it_seed((uint64_t)t->round, (uint64_t)t->index);
  uint64_t serial = 0;
  struct obj *local = calloc(LOCAL_SLOTS, sizeof *local);
  if (!local) it_die(S_NAME ": no memory for the slot table");
#define NEXT_KEY() it_seed(((uint64_t)t->round << 40) ^ ((uint64_t)t->index << 32), ++serial)

  for (long i = 0; i < t->iters; i++) {
    struct obj *o = &local[it_rand(&rng) % LOCAL_SLOTS];
    uint64_t r = it_rand(&rng) % 100;
    if (r < 45) {
      if (o->p) release(o, &rng, "before free (replaced)");
      make(o, &rng, NEXT_KEY());
    } else if (r < 60) {
      if (o->p) release(o, &rng, "before free");
    } else if (r < 82) {
      size_t slot = (size_t)(it_rand(&rng) % TRANSFER);
      if (o->p && o->n >= HDR) {
        check_obj(o, "before transfer");
        unsigned char *old = atomic_exchange(&transfer[slot], o->p);
        o->p = NULL;
        if (old) {
          *o = adopt(old);
          atomic_fetch_add_explicit(&n_cross, 1, memory_order_relaxed);
        }
      } else {
        unsigned char *old = atomic_exchange(&transfer[slot], NULL);
        if (old) {
          struct obj a = adopt(old);
          release(&a, &rng, "before cross-thread free");
          atomic_fetch_add_explicit(&n_cross, 1, memory_order_relaxed);
        }
      }
    } else {
      if (o->p)
        grow_or_shrink(o, &rng, NEXT_KEY());
      else
        make(o, &rng, NEXT_KEY());
    }
  }
  for (int s = 0; s < LOCAL_SLOTS; s++)
    if (local[s].p) release(&local[s], &rng, "at thread exit");
  free(local);
  return NULL;
}

int main(int argc, char **argv) {
  int nthreads = argc > 1 ? atoi(argv[1]) : 4;
  iters_per_thread = argc > 2 ? atol(argv[2]) : 20000;
  int rounds = argc > 3 ? atoi(argv[3]) : 6;
  if (nthreads < 1 || nthreads > 256 || iters_per_thread < 1 || rounds < 1) {
    fprintf(stderr, "usage: %s [threads 1..256] [iterations] [rounds]\n", argv[0]);
    return 2;
  }
#if defined(IT_EXPECT_LIBALLOC) && !defined(IT_CORE)
  it_require_liballoc(S_NAME);
#endif

  pthread_t *tids = malloc(sizeof *tids * (size_t)nthreads);
  struct targ *args = malloc(sizeof *args * (size_t)nthreads);
  if (!tids || !args) return 1;
  for (int r = 0; r < rounds; r++) {
    for (int i = 0; i < nthreads; i++) {
      args[i].round = r;
      args[i].index = i;
      /* half the threads stop half-way: more churn */
      args[i].iters = (i + r) % 2 ? iters_per_thread / 2 + 1 : iters_per_thread;
      int rc = pthread_create(&tids[i], NULL, worker, &args[i]);
      if (rc) {
        fprintf(stderr, S_NAME ": pthread_create: %s\n", strerror(rc));
        return 1;
      }
    }
    for (int i = 0; i < nthreads; i++) pthread_join(tids[i], NULL);
  }
  /* what is left in the transfer array is freed by the main thread */
  uint64_t rng = 99;
  for (int s = 0; s < TRANSFER; s++) {
    unsigned char *p = atomic_exchange(&transfer[s], NULL);
    if (p) {
      struct obj o = adopt(p);
      release(&o, &rng, "at the end");
    }
  }
  unsigned long long a = atomic_load(&n_alloc), f = atomic_load(&n_free);
  printf(S_NAME
         ": %d threads x %d rounds x %ld iterations: %llu allocations, %llu frees, %llu blocks "
         "passed between threads\n",
         nthreads, rounds, iters_per_thread, a, f, (unsigned long long)atomic_load(&n_cross));
  if (a != f) {
    fprintf(stderr, S_NAME ": FAIL: %llu allocations but %llu frees\n", a, f);
    return 1;
  }
  free(tids);
  free(args);
  printf(S_NAME ": ok\n");
  return 0;
}
