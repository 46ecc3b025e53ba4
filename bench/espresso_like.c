/* espresso_like: a compiler-like mix of small strings and sets, much realloc.
 *
 * The shape of the espresso logic minimiser's heap traffic, not its logic.
 * Each of two threads keeps a table of POOL entries, each either a name (a
 * string of 3..60 characters), a set (a bit vector of 1..16 words) or a
 * cover (an array of pointers to sets of its own, grown one element at a
 * time with realloc). Each step replaces a random entry by one of:
 *   - a new name, or a name built from two others by concatenation, grown
 *     with realloc piece by piece as a string builder would;
 *   - a copy of a set, or the union or intersection of two sets (a new
 *     block of the larger size), sometimes resized with realloc;
 *   - a cover of 1..40 sets made and grown by realloc to its final length.
 * Entries are freed when replaced; a cover frees its sets and itself. */
#include "bench_common.h"

#include "bench_threads.h"

#define THREADS 2
#define POOL 1024

enum kind { EMPTY = 0, NAME, SET, COVER };

struct set {
  uint32_t nwords;
  uint64_t w[]; /* nwords words */
};

struct cover {
  uint32_t n;
  struct set *s[]; /* n sets, grown one at a time */
};

struct entry {
  enum kind kind;
  void *p;
};

struct worker {
  int id;
  size_t steps;
  uint64_t sum;
  struct entry pool[POOL];
};

static struct set *set_new(rng_t *r, uint32_t nwords) {
  struct set *s = must_malloc(sizeof *s + nwords * sizeof(uint64_t));
  s->nwords = nwords;
  for (uint32_t i = 0; i < nwords; i++) s->w[i] = rng_next(r);
  return s;
}

static uint64_t set_value(const struct set *s) {
  uint64_t v = s->nwords;
  for (uint32_t i = 0; i < s->nwords; i++) v = mix64(v + s->w[i]);
  return v;
}

/* Union (op 0) or intersection of a and b, or a copy of a if b is NULL. */
static struct set *set_combine(const struct set *a, const struct set *b, int op) {
  uint32_t n = b != NULL && b->nwords > a->nwords ? b->nwords : a->nwords;
  struct set *s = must_malloc(sizeof *s + n * sizeof(uint64_t));
  s->nwords = n;
  for (uint32_t i = 0; i < n; i++) {
    uint64_t x = i < a->nwords ? a->w[i] : 0;
    uint64_t y = b != NULL && i < b->nwords ? b->w[i] : (op ? ~(uint64_t)0 : 0);
    s->w[i] = b == NULL ? x : op ? x & y : x | y;
  }
  return s;
}

static char *name_new(rng_t *r) {
  size_t n = rng_range(r, 3, 60);
  char *s = must_malloc(n + 1);
  for (size_t i = 0; i < n; i++) s[i] = (char)('a' + rng_next(r) % 26);
  s[n] = '\0';
  return s;
}

/* a, then "_", then b, appended piece by piece with realloc. */
static char *name_concat(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  char *s = must_malloc(la + 1);
  memcpy(s, a, la + 1);
  s = must_realloc(s, la + 2);
  s[la] = '_';
  s[la + 1] = '\0';
  for (size_t done = 0; done < lb;) { /* chunks of up to 8 characters */
    size_t k = lb - done < 8 ? lb - done : 8;
    size_t len = la + 1 + done;
    s = must_realloc(s, len + k + 1);
    memcpy(s + len, b + done, k);
    s[len + k] = '\0';
    done += k;
  }
  return s;
}

static uint64_t name_value(const char *s) {
  uint64_t v = 0;
  for (; *s; s++) v = v * 131 + (unsigned char)*s;
  return mix64(v);
}

static struct cover *cover_new(rng_t *r, struct worker *w) {
  uint32_t n = (uint32_t)rng_range(r, 1, 40);
  struct cover *c = must_malloc(sizeof *c);
  c->n = 0;
  for (uint32_t i = 0; i < n; i++) {
    c = must_realloc(c, sizeof *c + (i + 1) * sizeof c->s[0]);
    struct entry *e = &w->pool[rng_next(r) % POOL];
    c->s[i] =
        e->kind == SET ? set_combine(e->p, NULL, 0) : set_new(r, (uint32_t)rng_range(r, 1, 4));
    c->n = i + 1;
  }
  return c;
}

static uint64_t entry_release(struct entry *e) {
  uint64_t v = 0;
  if (e->kind == NAME) {
    v = name_value(e->p);
  } else if (e->kind == SET) {
    v = set_value(e->p);
  } else if (e->kind == COVER) {
    struct cover *c = e->p;
    for (uint32_t i = 0; i < c->n; i++) {
      v += set_value(c->s[i]);
      free(c->s[i]);
    }
  }
  free(e->p);
  e->kind = EMPTY;
  e->p = NULL;
  return v;
}

/* A new entry for slot k, made from random others where they fit. */
static void step(struct worker *w, rng_t *r, size_t k) {
  uint64_t x = rng_next(r);
  struct entry *a = &w->pool[(x >> 8) % POOL], *b = &w->pool[(x >> 24) % POOL];
  struct entry made = {EMPTY, NULL};
  unsigned op = (unsigned)(x & 15);
  if (op < 4) {
    made = (struct entry){
        NAME, a->kind == NAME && b->kind == NAME && a != b ? name_concat(a->p, b->p) : name_new(r)};
  } else if (op < 13) {
    struct set *s;
    if (a->kind == SET)
      s = set_combine(a->p, b->kind == SET ? b->p : NULL, (int)(x >> 40) & 1);
    else
      s = set_new(r, (uint32_t)rng_range(r, 1, 16));
    if (((x >> 44) & 3) == 0) { /* resized in place of a new one */
      uint32_t n = (uint32_t)rng_range(r, 1, 16);
      s = must_realloc(s, sizeof *s + n * sizeof(uint64_t));
      for (uint32_t i = s->nwords; i < n; i++) s->w[i] = x + i;
      s->nwords = n;
    }
    made = (struct entry){SET, s};
  } else {
    made = (struct entry){COVER, cover_new(r, w)};
  }
  w->sum += entry_release(&w->pool[k]);
  w->pool[k] = made;
}

static void *worker_main(void *arg) {
  struct worker *w = arg;
  rng_t r;
  rng_seed(&r, 1850 + (uint64_t)w->id);
  for (size_t i = 0; i < w->steps; i++) step(w, &r, (size_t)(rng_next(&r) % POOL));
  for (size_t k = 0; k < POOL; k++) w->sum += entry_release(&w->pool[k]);
  return NULL;
}

int main(int argc, char **argv) {
  double scale = bench_scale(argc, argv);
  static struct worker w[THREADS];
  for (int i = 0; i < THREADS; i++) {
    w[i].id = i;
    w[i].steps = scaled(scale, 2000000);
  }
  if (bench_run_threads(worker_main, w, sizeof w[0], THREADS) != 0) return 4;
  uint64_t sum = 0;
  for (int i = 0; i < THREADS; i++) sum += w[i].sum;
  bench_print_checksum("espresso_like", sum);
  return 0;
}
