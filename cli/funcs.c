/* funcs.c: aggregation by function: each frame named as folded stacks name
 * it, flat and cum per function for one or two profiles side by side (diff,
 * gate, top), in a hash table seeded per process (names come from the input),
 * then sorted. Contracts in common.h ("hashing names", "aggregation by
 * function"). */
#include "common.h"
#include "satint.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* ---- aggregation by function ---- */

uint64_t cli_hash_seed(void) {
  static uint64_t seed; /* the command is single-threaded */
  static bool have;
  if (!have) {
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
      seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    have = true;
  }
  return seed;
}

uint64_t cli_hash_finish(uint64_t h) {
  h ^= h >> 31; /* splitmix64's finalizer */
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull ^ cli_hash_seed();
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return cli_hash_finish(h);
}

static int funcs_grow_index(cli_funcs *t) {
  size_t n = t->nslots ? t->nslots * 2 : 256;
  uint32_t *s = malloc(n * sizeof *s);
  if (!s) return -1;
  memset(s, 0xff, n * sizeof *s);
  for (size_t i = 0; i < t->n; i++) {
    size_t j = hash_str(t->v[i].name) & (n - 1);
    while (s[j] != UINT32_MAX) j = (j + 1) & (n - 1);
    s[j] = (uint32_t)i;
  }
  free(t->slots);
  t->slots = s;
  t->nslots = n;
  return 0;
}

/* Index of the function called name, added if new; -1 when out of memory. */
static long funcs_intern(cli_funcs *t, const char *name) {
  if ((t->n + 1) * 2 > t->nslots && funcs_grow_index(t) != 0) return -1;
  size_t j = hash_str(name) & (t->nslots - 1);
  for (; t->slots[j] != UINT32_MAX; j = (j + 1) & (t->nslots - 1))
    if (strcmp(t->v[t->slots[j]].name, name) == 0) return t->slots[j];
  if (t->n == t->cap) {
    size_t ncap = t->cap ? t->cap * 2 : 64;
    cli_func *nv = realloc(t->v, ncap * sizeof *nv);
    if (!nv) return -1;
    t->v = nv;
    t->cap = ncap;
  }
  char *copy = strdup(name);
  if (!copy) return -1;
  t->v[t->n] = (cli_func){.name = copy, .stamp = SIZE_MAX};
  t->slots[j] = (uint32_t)t->n;
  return (long)t->n++;
}

const char *cli_frame_name(const profile_pb *p, const profile_index *ix,
                           const Perftools__Profiles__Location *l, size_t j, char addr[24]) {
  const char *name = "";
  if (j < l->n_line) {
    long fi = profile_index_function(ix, l->line[j]->function_id);
    if (fi >= 0) {
      name = cli_str(p, p->function[fi]->name);
      if (!*name) name = cli_str(p, p->function[fi]->system_name);
    }
  }
  if (!*name) {
    snprintf(addr, 24, "0x%llx", (unsigned long long)l->address);
    name = addr;
  }
  return name;
}

/* A sample's value v (variance var) into f's flat, or its cum (f on the
 * sample's stack, counted once). */
static void add_flat(cli_func *f, int slot, int64_t v, double var) {
  f->flat[slot] = sat_add(f->flat[slot], v);
  f->var_flat[slot] += var;
}

static void add_cum(cli_func *f, int slot, int64_t v, double var) {
  f->cum[slot] = sat_add(f->cum[slot], v);
  f->var_cum[slot] += var;
  if (v != 0) f->stacks[slot]++;
}

int cli_funcs_add(cli_funcs *t, const profile_pb *p, size_t vi, int slot) {
  int rc = -1;
  cli_model model;
  cli_model_init(&model, p, vi);
  char err[CLI_ERRLEN];
  profile_index *own_ix = NULL; /* for a profile without one of its own */
  const profile_index *ix = profile_index_use(p, &own_ix, err, sizeof err);
  /* Per location: its frames' function indices, innermost first. */
  long **loc_funcs = calloc(p->n_location + 1, sizeof *loc_funcs);
  size_t *loc_nfuncs = calloc(p->n_location + 1, sizeof *loc_nfuncs);
  if (!ix) {
    cli_error("%s", err);
    goto done;
  }
  if (!loc_funcs || !loc_nfuncs) goto oom;
  for (size_t i = 0; i < p->n_location; i++) {
    const Perftools__Profiles__Location *l = p->location[i];
    size_t n = l->n_line ? l->n_line : 1;
    loc_funcs[i] = malloc(n * sizeof **loc_funcs);
    if (!loc_funcs[i]) goto oom;
    loc_nfuncs[i] = n;
    for (size_t j = 0; j < n; j++) {
      char addr[24];
      long f = funcs_intern(t, cli_frame_name(p, ix, l, j, addr));
      if (f < 0) goto oom;
      loc_funcs[i][j] = f;
    }
  }
  long nostack = -1;
  for (size_t i = 0; i < p->n_sample; i++) {
    const Perftools__Profiles__Sample *s = p->sample[i];
    int64_t v = s->value[vi];
    double var = cli_model_variance(&model, s);
    t->total[slot] = sat_add(t->total[slot], v);
    t->abs_total[slot] = sat_add(t->abs_total[slot], sat_abs(v));
    t->var_total[slot] += var;
    t->samples[slot]++;
    if (v != 0) t->valued[slot]++;
    size_t stamp = ++t->stamp;
    bool leaf = true;
    if (s->n_location_id == 0) {
      if (nostack < 0 && (nostack = funcs_intern(t, "[no stack]")) < 0) goto oom;
      add_flat(&t->v[nostack], slot, v, var);
      add_cum(&t->v[nostack], slot, v, var);
      continue;
    }
    for (size_t k = 0; k < s->n_location_id; k++) {
      long li = profile_index_location(ix, s->location_id[k]);
      if (li < 0) continue; /* validated profiles have none */
      for (size_t j = 0; j < loc_nfuncs[li]; j++) {
        cli_func *f = &t->v[loc_funcs[li][j]];
        if (leaf) add_flat(f, slot, v, var);
        leaf = false;
        if (f->stamp != stamp) {
          f->stamp = stamp;
          add_cum(f, slot, v, var);
        }
      }
    }
  }
  rc = 0;
  goto done;
oom:
  cli_error("out of memory aggregating functions");
done:
  if (loc_funcs)
    for (size_t i = 0; i < p->n_location; i++) free(loc_funcs[i]);
  free(loc_funcs);
  free(loc_nfuncs);
  profile_index_free(own_ix);
  return rc;
}

void cli_funcs_free(cli_funcs *t) {
  for (size_t i = 0; i < t->n; i++) free(t->v[i].name);
  free(t->v);
  free(t->slots);
  *t = (cli_funcs){0};
}

static int sort_slot;

static int cmp_i64_desc(int64_t a, int64_t b) { return a > b ? -1 : a < b; }

static int by_flat(const void *a, const void *b) {
  const cli_func *x = a, *y = b;
  int c = cmp_i64_desc(x->flat[sort_slot], y->flat[sort_slot]);
  if (!c) c = cmp_i64_desc(x->cum[sort_slot], y->cum[sort_slot]);
  return c ? c : strcmp(x->name, y->name);
}

static int by_cum(const void *a, const void *b) {
  const cli_func *x = a, *y = b;
  int c = cmp_i64_desc(x->cum[sort_slot], y->cum[sort_slot]);
  if (!c) c = cmp_i64_desc(x->flat[sort_slot], y->flat[sort_slot]);
  return c ? c : strcmp(x->name, y->name);
}

static int64_t abs_delta(const int64_t v[2]) { return sat_abs(sat_sub(v[1], v[0])); }

static int by_flat_delta(const void *a, const void *b) {
  const cli_func *x = a, *y = b;
  int c = cmp_i64_desc(abs_delta(x->flat), abs_delta(y->flat));
  if (!c) c = cmp_i64_desc(abs_delta(x->cum), abs_delta(y->cum));
  return c ? c : strcmp(x->name, y->name);
}

void cli_funcs_sort(cli_funcs *t, enum cli_sort how, int slot) {
  free(t->slots);
  t->slots = NULL;
  t->nslots = 0;
  /* Functions no sample touches (nothing in either slot) are dropped. */
  size_t kept = 0;
  for (size_t i = 0; i < t->n; i++) {
    const cli_func *f = &t->v[i];
    if (f->flat[0] || f->flat[1] || f->cum[0] || f->cum[1])
      t->v[kept++] = *f;
    else
      free(f->name);
  }
  t->n = kept;
  sort_slot = slot;
  if (t->n)
    qsort(t->v, t->n, sizeof *t->v,
          how == CLI_SORT_FLAT  ? by_flat
          : how == CLI_SORT_CUM ? by_cum
                                : by_flat_delta);
}
