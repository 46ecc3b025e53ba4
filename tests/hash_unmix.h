/* hash_unmix.h: the inverse of formats/hashtab.h's hash_mix (splitmix64's
 * finalizer), for tests that build hash-flooding input: ids whose unseeded
 * hashes collide (tests/cli/gen_profiles.c, tests/unit/test_formats_index.c).
 * Header-only. */
#ifndef TESTS_HASH_UNMIX_H
#define TESTS_HASH_UNMIX_H

#include <stdint.h>

/* The inverse of odd c modulo 2^64. */
static inline uint64_t mul_inverse(uint64_t c) {
  uint64_t inv = c; /* Newton: each step doubles the correct low bits */
  for (int i = 0; i < 6; i++) inv *= 2 - c * inv;
  return inv;
}

/* The x whose hash_mix is y. */
static inline uint64_t unmix(uint64_t y) {
  y ^= y >> 31;
  y ^= y >> 62;
  y *= mul_inverse(0x94d049bb133111ebULL);
  y ^= y >> 27;
  y ^= y >> 54;
  y *= mul_inverse(0xbf58476d1ce4e5b9ULL);
  y ^= y >> 30;
  y ^= y >> 60;
  return y;
}

#endif
