/* prodcons: asymmetric producer/consumer, fixed 64-byte objects.
 *
 * PAIRS producer threads only call malloc(64), and PAIRS consumer threads
 * only call free: each producer hands every object to its own consumer
 * through a single-producer/single-consumer ring (spsc_ring.h), one object
 * at a time, with no lock and no batching on the program's side. So every
 * free is a remote free of an object another thread has just allocated,
 * and the producer never gets an object back from its own frees: whatever
 * the allocator does to return memory to the allocating thread is the
 * whole of the cost. (xmalloc, by contrast, mixes sizes and passes objects
 * in mutex-protected batches of 256.) One pair fits the 2-core machine the
 * suite is sized for. */
#include "bench_common.h"

#include <pthread.h>

#include "spsc_ring.h"

#define PAIRS 1
#define OBJ_SIZE 64

struct pair {
  struct spsc_ring ring;
  size_t count;
  uint64_t seed;
  uint64_t sum; /* consumer's */
};

static void *producer_main(void *arg) {
  struct pair *pr = arg;
  rng_t r;
  rng_seed(&r, pr->seed);
  for (size_t i = 0; i < pr->count; i++) {
    uint64_t *p = must_malloc(OBJ_SIZE);
    p[0] = rng_next(&r);
    p[OBJ_SIZE / sizeof *p - 1] = i;
    spsc_push(&pr->ring, p);
  }
  return NULL;
}

static void *consumer_main(void *arg) {
  struct pair *pr = arg;
  uint64_t sum = 0;
  unsigned idle = 0;
  for (size_t i = 0; i < pr->count;) {
    uint64_t *p = spsc_try_pop(&pr->ring);
    if (p == NULL) {
      if (++idle > 64) {
        sched_yield();
        idle = 0;
      }
      continue;
    }
    sum += mix64(p[0] ^ p[OBJ_SIZE / sizeof *p - 1]);
    free(p);
    i++;
  }
  pr->sum = sum;
  return NULL;
}

int main(int argc, char **argv) {
  double scale = bench_scale(argc, argv);
  static struct pair pairs[PAIRS];
  pthread_t t[2 * PAIRS];
  for (int i = 0; i < PAIRS; i++) {
    spsc_init(&pairs[i].ring);
    pairs[i].count = scaled(scale, 40000000);
    pairs[i].seed = 1800 + (uint64_t)i;
  }
  for (int i = 0; i < PAIRS; i++) {
    if (pthread_create(&t[2 * i], NULL, consumer_main, &pairs[i]) != 0 ||
        pthread_create(&t[2 * i + 1], NULL, producer_main, &pairs[i]) != 0) {
      fprintf(stderr, "pthread_create failed\n");
      return 4;
    }
  }
  uint64_t sum = 0;
  for (int i = 0; i < 2 * PAIRS; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < PAIRS; i++) sum += pairs[i].sum;
  bench_print_checksum("prodcons", sum);
  return 0;
}
