/* satint.h: saturating arithmetic on the int64 values of profiles. A
 * profile's values come from the input and can be anything a varint holds:
 * summing, negating or scaling them must neither overflow (undefined
 * behaviour) nor wrap around (a total of INT64_MAX + 100 printed as a large
 * negative number). Every sum, difference, negation and absolute value of
 * sample values in formats/ and cli/ goes through these: a result beyond
 * the range sticks at INT64_MAX or INT64_MIN, the nearest value there is. */
#ifndef FORMATS_SATINT_H
#define FORMATS_SATINT_H

#include <stdint.h>

static inline int64_t sat_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
  return r;
}

static inline int64_t sat_sub(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) return b < 0 ? INT64_MAX : INT64_MIN;
  return r;
}

static inline int64_t sat_mul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return (a < 0) != (b < 0) ? INT64_MIN : INT64_MAX;
  return r;
}

/* -a; -INT64_MIN is INT64_MAX. */
static inline int64_t sat_neg(int64_t a) { return a == INT64_MIN ? INT64_MAX : -a; }

/* |a|; |INT64_MIN| is INT64_MAX. */
static inline int64_t sat_abs(int64_t a) { return a < 0 ? sat_neg(a) : a; }

#endif
