/* larson: server-like mix in the style of Larson & Krishnan's benchmark.
 *
 * Two lanes run at once. Each lane owns a working set (an array of slots)
 * and a random generator. In every round a fresh thread takes over the
 * lane's array and randomly replaces slots: free the old object, malloc a new
 * one of 16..4096 bytes (log-skewed towards small sizes). When the round is
 * over the thread exits and the array passes to a new thread, so most objects
 * are freed by a different thread from the one that allocated them, and
 * threads keep coming and going as in a thread-per-connection server. */
#include "bench_common.h"

#include <pthread.h>

#define LANES 2
#define SLOTS 4000

struct lane {
  unsigned char **slot;
  size_t *size;
  rng_t rng;
  size_t ops_per_round;
  size_t rounds;
  uint64_t sum;
};

static void *round_worker(void *arg) {
  struct lane *l = arg;
  uint64_t sum = 0;
  for (size_t i = 0; i < l->ops_per_round; i++) {
    uint64_t x = rng_next(&l->rng);
    size_t k = (size_t)(x % SLOTS);
    unsigned char *old = l->slot[k];
    if (old) {
      uint64_t tag;
      memcpy(&tag, old, sizeof tag);
      sum += mix64(tag) + old[l->size[k] - 1];
      free(old);
    }
    size_t size = rng_logsize(&l->rng, 16, 4096);
    unsigned char *p = must_malloc(size);
    uint64_t tag = (x & ~(uint64_t)0xffff) | size;
    memcpy(p, &tag, sizeof tag);
    p[size - 1] = (unsigned char)(x >> 56);
    l->slot[k] = p;
    l->size[k] = size;
  }
  l->sum += sum;
  return NULL;
}

static void *lane_driver(void *arg) {
  struct lane *l = arg;
  for (size_t r = 0; r < l->rounds; r++) {
    pthread_t t;
    if (pthread_create(&t, NULL, round_worker, l) != 0) {
      fprintf(stderr, "pthread_create failed\n");
      exit(4);
    }
    pthread_join(t, NULL);
  }
  return NULL;
}

int main(int argc, char **argv) {
  double scale = bench_scale(argc, argv);
  struct lane lanes[LANES];
  pthread_t drivers[LANES];
  uint64_t sum = 0;

  for (int i = 0; i < LANES; i++) {
    struct lane *l = &lanes[i];
    l->slot = must_malloc(SLOTS * sizeof *l->slot);
    l->size = must_malloc(SLOTS * sizeof *l->size);
    memset(l->slot, 0, SLOTS * sizeof *l->slot);
    memset(l->size, 0, SLOTS * sizeof *l->size);
    rng_seed(&l->rng, 100 + (uint64_t)i);
    l->ops_per_round = 40000;
    l->rounds = scaled(scale, 100);
    l->sum = 0;
  }
  for (int i = 0; i < LANES; i++) {
    if (pthread_create(&drivers[i], NULL, lane_driver, &lanes[i]) != 0) {
      fprintf(stderr, "pthread_create failed\n");
      return 4;
    }
  }
  for (int i = 0; i < LANES; i++) pthread_join(drivers[i], NULL);

  for (int i = 0; i < LANES; i++) {
    struct lane *l = &lanes[i];
    for (size_t k = 0; k < SLOTS; k++) {
      if (l->slot[k]) {
        sum += l->slot[k][l->size[k] - 1];
        free(l->slot[k]);
      }
    }
    sum += l->sum;
    free(l->slot);
    free(l->size);
  }
  bench_print_checksum("larson", sum);
  return 0;
}
