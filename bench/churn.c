/* churn: single-thread small-object churn.
 *
 * A ring of live objects; each step picks a random slot, frees the object
 * there (after reading back what was written into it) and puts a new object
 * of a random size 8..512 bytes in its place. Models the steady-state
 * allocation traffic of a program whose live heap is roughly constant. */
#include "bench_common.h"

#define RING 20000

struct slot {
  unsigned char *p;
  size_t size;
};

int main(int argc, char **argv) {
  double scale = bench_scale(argc, argv);
  size_t ops = scaled(scale, 12000000);
  struct slot *ring = must_malloc(RING * sizeof *ring);
  rng_t r;
  uint64_t sum = 0;

  rng_seed(&r, 1);
  memset(ring, 0, RING * sizeof *ring);

  for (size_t i = 0; i < ops; i++) {
    uint64_t x = rng_next(&r);
    size_t k = (size_t)(x % RING);
    struct slot *s = &ring[k];
    if (s->p) {
      uint64_t tag;
      memcpy(&tag, s->p, sizeof tag);
      sum += mix64(tag) + s->p[s->size - 1];
      free(s->p);
    }
    size_t size = 8 + (size_t)((x >> 32) % 505);
    unsigned char *p = must_malloc(size);
    uint64_t tag = ((uint64_t)i << 16) ^ size;
    memcpy(p, &tag, sizeof tag);
    p[size - 1] = (unsigned char)(i * 31u + size);
    s->p = p;
    s->size = size;
  }
  for (size_t k = 0; k < RING; k++) {
    if (ring[k].p) {
      sum += ring[k].p[ring[k].size - 1];
      free(ring[k].p);
    }
  }
  free(ring);
  bench_print_checksum("churn", sum);
  return 0;
}
