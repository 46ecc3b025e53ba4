/* realloc: growth of buffers by realloc, string-builder style.
 *
 * Eight builders are active at once. Each step picks a builder at random and
 * appends a chunk of 8..512 bytes to its buffer, calling realloc for the
 * exact new length every time (the naive builder that never over-allocates).
 * A buffer starts at 16 bytes and grows to a random target of 64..512 KiB,
 * so it crosses every small size class and then the large-object range.
 * When it is done its contents are hashed (checking that realloc kept the
 * data), it is shrunk to an eighth and then to 16 bytes, checked again and
 * freed, and the builder starts over. Allocators that can grow in place or
 * remap pages win; ones that copy on every step pay for it. */
#include "bench_common.h"

#define BUILDERS 8

struct builder {
  unsigned char *buf;
  size_t len;
  size_t target;
};

static uint64_t hash_bytes(const unsigned char *p, size_t n) {
  uint64_t h = 0x84222325cbf29ce4ull;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, sizeof w);
    h = (h ^ w) * 0x100000001b3ull;
  }
  for (; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h ^ n;
}

static void builder_start(struct builder *b, rng_t *r) {
  b->len = 16;
  b->buf = must_malloc(16);
  memset(b->buf, 0x5a, 16);
  b->target = rng_range(r, 64 << 10, 512 << 10);
}

int main(int argc, char **argv) {
  double scale = bench_scale(argc, argv);
  size_t steps = scaled(scale, 1500000);
  struct builder bl[BUILDERS];
  rng_t r;
  uint64_t sum = 0;
  size_t finished = 0;

  rng_seed(&r, 300);
  for (int i = 0; i < BUILDERS; i++) builder_start(&bl[i], &r);

  for (size_t s = 0; s < steps; s++) {
    uint64_t x = rng_next(&r);
    struct builder *b = &bl[x % BUILDERS];
    size_t chunk = 8 + (size_t)((x >> 8) % 505);
    b->buf = must_realloc(b->buf, b->len + chunk);
    memset(b->buf + b->len, (int)(x >> 48), chunk);
    b->len += chunk;
    if (b->len >= b->target) {
      sum += mix64(hash_bytes(b->buf, b->len));
      size_t eighth = b->len / 8;
      b->buf = must_realloc(b->buf, eighth);
      sum += hash_bytes(b->buf, eighth);
      b->buf = must_realloc(b->buf, 16);
      sum += hash_bytes(b->buf, 16);
      free(b->buf);
      finished++;
      builder_start(b, &r);
    }
  }
  for (int i = 0; i < BUILDERS; i++) {
    sum += hash_bytes(bl[i].buf, bl[i].len);
    free(bl[i].buf);
  }
  sum += finished;
  bench_print_checksum("realloc", sum);
  return 0;
}
