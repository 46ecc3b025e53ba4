/* hashtab.c: the per-process seed of the formats library's hash index.
 * Why a seed: hashtab.h. */
#include "hashtab.h"

#include <pthread.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static pthread_once_t seed_once = PTHREAD_ONCE_INIT;
static uint64_t seed;

static void seed_init(void) {
  if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    seed =
        hash_mix(((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 16));
  }
}

uint64_t hashtab_seed(void) {
  pthread_once(&seed_once, seed_init);
  return seed;
}
