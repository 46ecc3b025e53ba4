/* large: malloc/free of large blocks, 64 KiB .. 32 MiB, touching every page.
 *
 * A small ring of four live blocks; each step frees the oldest and allocates
 * a new block of a log-uniform random size, then writes one word in each of
 * its 4 KiB pages (as a program filling a fresh buffer would). An allocator
 * that hands every freed large block straight back to the kernel pays a page
 * fault per page on the next allocation; one that keeps (some) freed pages
 * reuses them for free. The flip side (memory held) is measured by peak RSS
 * here and by rss_return. */
#include "bench_common.h"

#define LIVE 4
#define PAGE 4096

struct blk {
  unsigned char *p;
  size_t size;
};

static uint64_t read_pages(const struct blk *b) {
  uint64_t s = 0;
  for (size_t off = 0; off < b->size; off += PAGE) {
    uint64_t w;
    memcpy(&w, b->p + off, sizeof w);
    s += w;
  }
  return s;
}

int main(int argc, char **argv) {
  double scale = bench_scale(argc, argv);
  size_t steps = scaled(scale, 3000);
  struct blk ring[LIVE];
  rng_t r;
  uint64_t sum = 0;

  memset(ring, 0, sizeof ring);
  rng_seed(&r, 400);
  for (size_t i = 0; i < steps; i++) {
    struct blk *b = &ring[i % LIVE];
    if (b->p) {
      sum += mix64(read_pages(b));
      free(b->p);
    }
    b->size = rng_logsize(&r, 64 << 10, 32 << 20);
    b->p = must_malloc(b->size);
    uint64_t v = rng_next(&r);
    for (size_t off = 0; off < b->size; off += PAGE) {
      uint64_t w = v + off;
      memcpy(b->p + off, &w, sizeof w);
    }
  }
  for (int k = 0; k < LIVE; k++) {
    if (ring[k].p) {
      sum += mix64(read_pages(&ring[k]));
      free(ring[k].p);
    }
  }
  bench_print_checksum("large", sum);
  return 0;
}
