/* profile_index.c: the id index of a decoded profile, and the table that
 * keeps each profile's index beside it. Contract and the rule for code
 * that changes an indexed profile: profile_index.h. */
#include "profile_index.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "errmsg.h"
#include "hashtab.h"

typedef Perftools__Profiles__Profile profile_t;

/* One table per kind; each slot's hash is hash_mix(id), and a candidate is
 * confirmed by the id of the entry at its position. */
struct profile_index {
  const profile_t *p;
  hashtab mappings, locations, functions;
  /* Each table's entries have ids 1..n in order (liballoc, Go and the
   * builder number them so): then an id's position is id - 1, with no hash
   * and no look at the entry (the validator looks up every frame of every
   * sample: a sixth of the time of reading a long snapshot stream). */
  bool dense_mappings, dense_locations, dense_functions;
};

typedef uint64_t (*id_fn)(const profile_t *p, size_t i);
static uint64_t mapping_id(const profile_t *p, size_t i) { return p->mapping[i]->id; }
static uint64_t location_id(const profile_t *p, size_t i) { return p->location[i]->id; }
static uint64_t function_id(const profile_t *p, size_t i) { return p->function[i]->id; }

static long find(const hashtab *t, bool dense, const profile_t *p, uint64_t id, id_fn id_of) {
  if (dense) return id - 1 < t->count ? (long)(id - 1) : -1; /* id 0: none */
  if (id == 0) return -1;
  hashtab_probe pr;
  for (uint32_t c = hashtab_first(t, hash_mix(id), &pr); c != HASHTAB_NONE; c = hashtab_next(&pr))
    if (id_of(p, c) == id) return c;
  return -1;
}

/* Records entry i, failing on a zero or repeated id; *dense stays true
 * while every id so far is its position + 1. */
static int add(hashtab *t, bool *dense, const profile_t *p, size_t i, id_fn id_of, const char *what,
               char *err, size_t errlen) {
  uint64_t id = id_of(p, i);
  if (id == 0) {
    formats_set_err(err, errlen, "invalid profile: %s %zu has id 0", what, i);
    return -1;
  }
  if (find(t, *dense, p, id, id_of) >= 0) {
    formats_set_err(err, errlen, "invalid profile: duplicate %s id %llu", what,
                    (unsigned long long)id);
    return -1;
  }
  if (i >= UINT32_MAX) { /* hashtab's positions are 32-bit */
    formats_set_err(err, errlen, "invalid profile: too many entries");
    return -1;
  }
  /* in the hash table even while dense, for when an id breaks the order */
  if (hashtab_insert(t, hash_mix(id), (uint32_t)i) != 0) {
    formats_set_err(err, errlen, "out of memory");
    return -1;
  }
  if (id != i + 1) *dense = false;
  return 0;
}

static int add_all(hashtab *t, bool *dense, const profile_t *p, size_t n, id_fn id_of,
                   const char *what, char *err, size_t errlen) {
  *dense = true;
  if (n >= UINT32_MAX) {
    formats_set_err(err, errlen, "invalid profile: too many entries");
    return -1;
  }
  if (hashtab_reserve(t, n) != 0) {
    formats_set_err(err, errlen, "out of memory");
    return -1;
  }
  for (size_t i = 0; i < n; i++)
    if (add(t, dense, p, i, id_of, what, err, errlen) != 0) return -1;
  return 0;
}

profile_index *profile_index_build(const profile_t *p, char *err, size_t errlen) {
  profile_index *ix = calloc(1, sizeof *ix);
  if (!ix) {
    formats_set_err(err, errlen, "out of memory");
    return NULL;
  }
  ix->p = p;
  if (add_all(&ix->mappings, &ix->dense_mappings, p, p->n_mapping, mapping_id, "mapping", err,
              errlen) != 0 ||
      add_all(&ix->locations, &ix->dense_locations, p, p->n_location, location_id, "location", err,
              errlen) != 0 ||
      add_all(&ix->functions, &ix->dense_functions, p, p->n_function, function_id, "function", err,
              errlen) != 0) {
    profile_index_free(ix);
    return NULL;
  }
  return ix;
}

void profile_index_free(profile_index *ix) {
  if (!ix) return;
  hashtab_free(&ix->mappings);
  hashtab_free(&ix->locations);
  hashtab_free(&ix->functions);
  free(ix);
}

long profile_index_mapping(const profile_index *ix, uint64_t id) {
  return find(&ix->mappings, ix->dense_mappings, ix->p, id, mapping_id);
}

long profile_index_location(const profile_index *ix, uint64_t id) {
  return find(&ix->locations, ix->dense_locations, ix->p, id, location_id);
}

long profile_index_function(const profile_index *ix, uint64_t id) {
  return find(&ix->functions, ix->dense_functions, ix->p, id, function_id);
}

int profile_index_add_function(profile_index *ix, size_t i, char *err, size_t errlen) {
  /* Positions are only ever appended: any other i would break the rule. */
  if (i != ix->functions.count) {
    formats_set_err(err, errlen, "function %zu is not the next to index (%zu indexed)", i,
                    ix->functions.count);
    return -1;
  }
  return add(&ix->functions, &ix->dense_functions, ix->p, i, function_id, "function", err, errlen);
}

/* ---- each profile's index, beside it ----
 *
 * Keyed by the profile's address: an entry lives from the reader's attach
 * to profile_free's detach, so an address is never stale. Entries are in
 * an array, found through a hashtab of the addresses; a detached entry is
 * left empty (p NULL) and the array is compacted when half of it is, so
 * reading a stream's thousands of snapshots one after another does not
 * grow it. Under a lock: formats is used from any thread. */

typedef struct attached {
  const profile_t *p; /* NULL: detached */
  profile_index *ix;
} attached;

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static attached *reg;
static size_t reg_n, reg_cap, reg_dead;
static hashtab reg_ix;

static uint64_t addr_hash(const profile_t *p) { return hash_mix((uint64_t)(uintptr_t)p); }

/* The entry of p, or NULL. Under reg_lock. */
static attached *reg_find(const profile_t *p) {
  hashtab_probe pr;
  for (uint32_t c = hashtab_first(&reg_ix, addr_hash(p), &pr); c != HASHTAB_NONE;
       c = hashtab_next(&pr))
    if (reg[c].p == p) return &reg[c];
  return NULL;
}

/* Drops the detached entries and indexes the rest again. Under reg_lock.
 * Returns 0, or -1 when out of memory (the old table then stays). */
static int reg_compact(void) {
  hashtab fresh = {0};
  size_t live = reg_n - reg_dead, w = 0;
  if (hashtab_reserve(&fresh, live) != 0) return -1;
  for (size_t i = 0; i < reg_n; i++)
    if (reg[i].p) reg[w++] = reg[i];
  for (size_t i = 0; i < w; i++) hashtab_insert(&fresh, addr_hash(reg[i].p), (uint32_t)i);
  hashtab_free(&reg_ix);
  reg_ix = fresh;
  reg_n = w;
  reg_dead = 0;
  return 0;
}

int profile_index_attach(const profile_t *p, profile_index *ix) {
  int rc = -1;
  pthread_mutex_lock(&reg_lock);
  if (reg_dead > 64 && reg_dead * 2 > reg_n) reg_compact();
  if (reg_n == reg_cap) {
    size_t ncap = reg_cap ? reg_cap * 2 : 16;
    attached *nv = ncap < UINT32_MAX ? realloc(reg, ncap * sizeof *nv) : NULL;
    if (!nv) goto done;
    reg = nv;
    reg_cap = ncap;
  }
  if (hashtab_insert(&reg_ix, addr_hash(p), (uint32_t)reg_n) != 0) goto done;
  reg[reg_n++] = (attached){p, ix};
  rc = 0;
done:
  pthread_mutex_unlock(&reg_lock);
  if (rc != 0) profile_index_free(ix);
  return rc;
}

void profile_index_detach(const profile_t *p) {
  profile_index *ix = NULL;
  pthread_mutex_lock(&reg_lock);
  attached *a = reg_find(p);
  if (a) {
    ix = a->ix;
    *a = (attached){NULL, NULL};
    reg_dead++;
  }
  if (reg_dead == reg_n && reg_n > 0) { /* nothing left: give it all back */
    hashtab_free(&reg_ix);
    free(reg);
    reg = NULL;
    reg_n = reg_cap = reg_dead = 0;
  }
  pthread_mutex_unlock(&reg_lock);
  profile_index_free(ix);
}

/* The index attached to p, or NULL. */
static profile_index *lookup(const profile_t *p) {
  pthread_mutex_lock(&reg_lock);
  attached *a = reg_find(p);
  profile_index *ix = a ? a->ix : NULL;
  pthread_mutex_unlock(&reg_lock);
  return ix;
}

profile_index *profile_index_of_mut(profile_t *p) { return lookup(p); }

const profile_index *profile_index_of(const profile_t *p) { return lookup(p); }

const profile_index *profile_index_use(const profile_t *p, profile_index **own, char *err,
                                       size_t errlen) {
  *own = NULL;
  const profile_index *ix = profile_index_of(p);
  if (ix) return ix;
  return *own = profile_index_build(p, err, errlen);
}
