/* randmix: random sizes, random lifetimes, some frees on the other thread.
 *
 * Two threads, each with a working set of SLOTS slots. Each step picks a
 * random slot; an object there is freed (or, one time in four, handed to
 * the other thread, which frees it), and a new object of 16 B..8 KiB
 * (uniform) takes its place, or, one time in eight, the slot is left empty
 * so that the working set breathes. Hand-offs go through a
 * single-producer/single-consumer ring per direction (spsc_ring.h), and
 * each thread frees what it was handed every 32 steps; when a ring is full
 * the object is freed at home. The program's own sums do not depend on who
 * frees what, so the checksum is the same under any schedule. */
#include "bench_common.h"

#include <pthread.h>

#include "spsc_ring.h"

#define THREADS 2
#define SLOTS 2048

struct worker {
  int id;
  size_t steps;
  struct spsc_ring *out, *in;
  uint64_t sum;
  unsigned char *slot[SLOTS];
  size_t size[SLOTS];
};

static struct spsc_ring rings[THREADS]; /* rings[i]: from thread i to i+1 */
static struct worker workers[THREADS];

/* What an object contributes to the checksum: its first word and last byte. */
static uint64_t object_value(const unsigned char *p) {
  uint64_t tag;
  uint32_t size; /* bytes 8..11; the last byte is at 15 or beyond */
  memcpy(&tag, p, sizeof tag);
  memcpy(&size, p + 8, sizeof size);
  return mix64(tag) + p[size - 1];
}

static void drain(struct worker *w) {
  unsigned char *p;
  while ((p = spsc_try_pop(w->in)) != NULL) {
    w->sum += object_value(p);
    free(p);
  }
}

static void *worker_main(void *arg) {
  struct worker *w = arg;
  rng_t r;
  rng_seed(&r, 1810 + (uint64_t)w->id);
  for (size_t i = 0; i < w->steps; i++) {
    uint64_t x = rng_next(&r);
    size_t k = (size_t)(x % SLOTS);
    unsigned char *old = w->slot[k];
    if (old != NULL) {
      if (((x >> 32) & 3) == 0 && spsc_try_push(w->out, old)) {
        /* the other thread adds it to its sum and frees it */
      } else {
        w->sum += object_value(old);
        free(old);
      }
      w->slot[k] = NULL;
    }
    if (((x >> 40) & 7) != 0) {
      size_t size = rng_range(&r, 16, 8192);
      unsigned char *p = must_malloc(size);
      uint64_t tag = x ^ i;
      uint32_t sz = (uint32_t)size;
      memcpy(p, &tag, sizeof tag);
      memcpy(p + 8, &sz, sizeof sz);
      p[size - 1] = (unsigned char)(x >> 48);
      w->slot[k] = p;
    }
    if ((i & 31) == 31) drain(w);
  }
  for (size_t k = 0; k < SLOTS; k++) {
    if (w->slot[k] != NULL) {
      w->sum += object_value(w->slot[k]);
      free(w->slot[k]);
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  double scale = bench_scale(argc, argv);
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++) spsc_init(&rings[i]);
  for (int i = 0; i < THREADS; i++) {
    struct worker *w = &workers[i];
    w->id = i;
    w->steps = scaled(scale, 4000000);
    w->out = &rings[i];
    w->in = &rings[(i + THREADS - 1) % THREADS];
    if (pthread_create(&t[i], NULL, worker_main, w) != 0) {
      fprintf(stderr, "pthread_create failed\n");
      return 4;
    }
  }
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  uint64_t sum = 0;
  for (int i = 0; i < THREADS; i++) {
    drain(&workers[i]); /* what was handed over after the last drain */
    sum += workers[i].sum;
  }
  bench_print_checksum("randmix", sum);
  return 0;
}
