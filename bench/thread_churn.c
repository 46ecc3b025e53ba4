/* thread_churn: short-lived threads (thread-per-task servers, thread pools
 * that shrink and grow).
 *
 * Two lanes; in each round the main thread starts one new thread per lane and
 * joins them. A thread frees the objects its lane's previous thread handed
 * on, allocates a few thousand objects of 8 B..1 KiB, frees three quarters of
 * them and hands the rest (in a malloc'ed array) to the next thread, then
 * exits. 2000 thread creations by default. Allocators pay here for setting
 * up and tearing down per-thread caches and for objects that outlive the
 * thread that allocated them. */
#include "bench_common.h"

#include <pthread.h>

#define LANES 2
#define PER_THREAD 3000
#define HANDOFF 750

struct handoff {
  size_t n;
  unsigned char *obj[HANDOFF];
  size_t size[HANDOFF];
};

struct lane {
  rng_t rng;
  struct handoff *h;
  uint64_t sum;
};

static void *worker(void *arg) {
  struct lane *l = arg;
  unsigned char **tmp = must_malloc(PER_THREAD * sizeof *tmp);
  size_t *sz = must_malloc(PER_THREAD * sizeof *sz);
  uint64_t sum = 0;

  if (l->h) {
    for (size_t i = 0; i < l->h->n; i++) {
      uint64_t tag;
      memcpy(&tag, l->h->obj[i], sizeof tag);
      sum += mix64(tag) + l->h->obj[i][l->h->size[i] - 1];
      free(l->h->obj[i]);
    }
    free(l->h);
    l->h = NULL;
  }
  for (size_t i = 0; i < PER_THREAD; i++) {
    uint64_t x = rng_next(&l->rng);
    size_t size = rng_logsize(&l->rng, 8, 1024);
    unsigned char *p = must_malloc(size);
    uint64_t tag = (x & ~(uint64_t)0xffff) | size;
    memcpy(p, &tag, size < sizeof tag ? size : sizeof tag);
    p[size - 1] = (unsigned char)(x >> 52);
    tmp[i] = p;
    sz[i] = size;
  }
  /* shuffle, free the first three quarters, hand on the rest */
  for (size_t i = PER_THREAD; i > 1; i--) {
    size_t j = (size_t)(rng_next(&l->rng) % i);
    unsigned char *t = tmp[i - 1];
    size_t ts = sz[i - 1];
    tmp[i - 1] = tmp[j];
    sz[i - 1] = sz[j];
    tmp[j] = t;
    sz[j] = ts;
  }
  for (size_t i = 0; i < PER_THREAD - HANDOFF; i++) {
    sum += tmp[i][sz[i] - 1];
    free(tmp[i]);
  }
  struct handoff *h = must_malloc(sizeof *h);
  h->n = HANDOFF;
  for (size_t i = 0; i < HANDOFF; i++) {
    h->obj[i] = tmp[PER_THREAD - HANDOFF + i];
    h->size[i] = sz[PER_THREAD - HANDOFF + i];
  }
  l->h = h;
  free(tmp);
  free(sz);
  l->sum += sum;
  return NULL;
}

int main(int argc, char **argv) {
  double scale = bench_scale(argc, argv);
  size_t rounds = scaled(scale, 1000);
  struct lane lanes[LANES];
  uint64_t sum = 0;

  for (int i = 0; i < LANES; i++) {
    rng_seed(&lanes[i].rng, 600 + (uint64_t)i);
    lanes[i].h = NULL;
    lanes[i].sum = 0;
  }
  for (size_t r = 0; r < rounds; r++) {
    pthread_t t[LANES];
    for (int i = 0; i < LANES; i++) {
      if (pthread_create(&t[i], NULL, worker, &lanes[i]) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        return 4;
      }
    }
    for (int i = 0; i < LANES; i++) pthread_join(t[i], NULL);
  }
  for (int i = 0; i < LANES; i++) {
    struct handoff *h = lanes[i].h;
    for (size_t k = 0; h && k < h->n; k++) {
      sum += h->obj[k][h->size[k] - 1];
      free(h->obj[k]);
    }
    free(h);
    sum += mix64(lanes[i].sum);
  }
  bench_print_checksum("thread_churn", sum);
  return 0;
}
