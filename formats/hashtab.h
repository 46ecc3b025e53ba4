/* hashtab.h: the formats library's internal hash index (hash -> entry index).
 *
 * Entries live in the caller's own arrays; the table stores only each entry's
 * hash and index, and the caller confirms a candidate by comparing the entry
 * itself. Used by the builder (dedup), the id index of decoded profiles
 * (profile_index.c), the folded writer, and by the profiler's dumping half
 * (libprof/profile.c): every table built at dump or command time. (The
 * sampling half's tables, on the allocation path, must not call malloc and
 * keep their own.) Not part of the public API. Overview: formats/README.md.
 */
#ifndef FORMATS_HASHTAB_H
#define FORMATS_HASHTAB_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HASHTAB_NONE UINT32_MAX

typedef struct hashtab {
  uint64_t *hash; /* hash of the entry in each slot */
  uint32_t *slot; /* entry index + 1; 0 = empty */
  size_t cap;     /* power of two, or 0 before the first insert */
  size_t count;
} hashtab;

/* A probe sequence over the candidates whose hash equals h. */
typedef struct hashtab_probe {
  const hashtab *t;
  uint64_t h;
  size_t pos;
} hashtab_probe;

/* A random value chosen once per process. Input can choose its ids and
 * strings, and every hash here is invertible: without a secret, a profile
 * could put all its entries in one probe chain and make each lookup walk
 * them all (quadratic: minutes for 300,000 locations). The seed goes into
 * where a hash lands in the table and into hash_bytes. Defined in
 * hashtab.c. */
uint64_t hashtab_seed(void);

static inline uint64_t hash_mix(uint64_t x) {
  /* splitmix64's finalizer: every input bit reaches every output bit. */
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

static inline uint64_t hash_combine(uint64_t h, uint64_t v) {
  return hash_mix(h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)));
}

static inline uint64_t hash_bytes(const void *p, size_t n) {
  const unsigned char *s = p;
  uint64_t h = 0x84222325cbf29ce4ULL ^ n ^ hashtab_seed();
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, s, 8);
    h = hash_combine(h, w);
    s += 8;
    n -= 8;
  }
  uint64_t w = 0;
  memcpy(&w, s, n);
  return hash_combine(h, w);
}

/* Where hash h starts probing in a table of cap slots. */
static inline size_t hashtab_home(uint64_t h, size_t cap) {
  return (size_t)hash_mix(h ^ hashtab_seed()) & (cap - 1);
}

static inline void hashtab_free(hashtab *t) {
  free(t->hash);
  free(t->slot);
  memset(t, 0, sizeof *t);
}

/* First candidate index for hash h, or HASHTAB_NONE. */
static inline uint32_t hashtab_first(const hashtab *t, uint64_t h, hashtab_probe *pr) {
  pr->t = t;
  pr->h = h;
  if (t->cap == 0) return HASHTAB_NONE;
  pr->pos = hashtab_home(h, t->cap);
  for (;;) {
    uint32_t s = t->slot[pr->pos];
    if (s == 0) return HASHTAB_NONE;
    if (t->hash[pr->pos] == h) return s - 1;
    pr->pos = (pr->pos + 1) & (t->cap - 1);
  }
}

/* Next candidate after the one hashtab_first or hashtab_next returned. */
static inline uint32_t hashtab_next(hashtab_probe *pr) {
  const hashtab *t = pr->t;
  for (;;) {
    pr->pos = (pr->pos + 1) & (t->cap - 1);
    uint32_t s = t->slot[pr->pos];
    if (s == 0) return HASHTAB_NONE;
    if (t->hash[pr->pos] == pr->h) return s - 1;
  }
}

static inline void hashtab_place(uint64_t *hash, uint32_t *slot, size_t cap, uint64_t h,
                                 uint32_t s) {
  size_t pos = hashtab_home(h, cap);
  while (slot[pos] != 0) pos = (pos + 1) & (cap - 1);
  slot[pos] = s;
  hash[pos] = h;
}

/* Moves the entries to a table of ncap slots (a power of two). Returns 0,
 * or -1 when out of memory (the table is unchanged). */
static inline int hashtab_resize(hashtab *t, size_t ncap) {
  uint64_t *nh = malloc(ncap * sizeof *nh);
  uint32_t *ns = calloc(ncap, sizeof *ns);
  if (!nh || !ns) {
    free(nh);
    free(ns);
    return -1;
  }
  for (size_t i = 0; i < t->cap; i++)
    if (t->slot[i]) hashtab_place(nh, ns, ncap, t->hash[i], t->slot[i]);
  free(t->hash);
  free(t->slot);
  t->hash = nh;
  t->slot = ns;
  t->cap = ncap;
  return 0;
}

/* Makes room for n entries in all, so that inserting up to n allocates
 * nothing more: one table of the final size instead of a doubling series
 * (which holds the old and the new table at once as it grows). Returns 0,
 * or -1 when out of memory. */
static inline int hashtab_reserve(hashtab *t, size_t n) {
  size_t cap = t->cap ? t->cap : 64;
  if (n == 0) return 0;
  if (n > SIZE_MAX / 4) return -1;
  while (cap < 2 * n) cap *= 2;
  return cap == t->cap ? 0 : hashtab_resize(t, cap);
}

/* Records entry idx under hash h (duplicates allowed: the caller looks first).
 * Keeps the load at most one half. Returns 0, or -1 when out of memory. */
static inline int hashtab_insert(hashtab *t, uint64_t h, uint32_t idx) {
  if ((t->count + 1) * 2 > t->cap && hashtab_resize(t, t->cap ? t->cap * 2 : 64) != 0) return -1;
  hashtab_place(t->hash, t->slot, t->cap, h, idx + 1);
  t->count++;
  return 0;
}

#endif
