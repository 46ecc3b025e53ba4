/* folded.c: pprof profile -> folded stacks text. Each location's frames are
 * rendered once, each sample's stack is joined root first and merged with
 * equal stacks in a hash table, then the stacks are sorted. Contract:
 * folded.h. */
#include "folded.h"
#include "errmsg.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hashtab.h"
#include "profile_index.h"
#include "satint.h"

typedef Perftools__Profiles__Profile profile_t;

/* ---- a growable string ---- */

typedef struct sbuf {
  char *s;
  size_t len, cap;
  int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->len + n + 1 > b->cap) {
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < b->len + n + 1) ncap *= 2;
    char *ns = realloc(b->s, ncap);
    if (!ns) {
      b->oom = 1;
      return;
    }
    b->s = ns;
    b->cap = ncap;
  }
  memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = 0;
}

static void sb_puts(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

/* ---- frames ---- */

static const char *str_at(const profile_t *p, int64_t i) {
  return i > 0 && (uint64_t)i < p->n_string_table ? p->string_table[i] : "";
}

/* One frame name, with the separators of the format made harmless. */
static void put_name(sbuf *b, const char *name) {
  for (const char *c = name; *c; c++) {
    char ch = *c == ';' ? ':' : (*c == '\n' || *c == '\r') ? ' ' : *c;
    sb_put(b, &ch, 1);
  }
}

static void put_addr(sbuf *b, uint64_t addr) {
  char hex[24];
  snprintf(hex, sizeof hex, "0x%llx", (unsigned long long)addr);
  sb_puts(b, hex);
}

typedef struct folder {
  const profile_t *p;
  const profile_index *ix; /* p's ids (profile_index.h) */
  char **loc_text;         /* per location: its frames root first, ';'-joined; lazily */
  size_t used, limit;      /* bytes of text kept (location texts, stacks, output) */
} folder;

/* Frames of one location, caller (last line) first. NULL when out of memory. */
static const char *location_text(folder *f, size_t li) {
  if (f->loc_text[li]) return f->loc_text[li];
  const Perftools__Profiles__Location *l = f->p->location[li];
  sbuf b = {0};
  if (l->n_line == 0) put_addr(&b, l->address);
  for (size_t j = l->n_line; j-- > 0;) {
    long fi = profile_index_function(f->ix, l->line[j]->function_id);
    const Perftools__Profiles__Function *fn = fi >= 0 ? f->p->function[fi] : NULL;
    const char *name = fn ? str_at(f->p, fn->name) : "";
    if (!*name && fn) name = str_at(f->p, fn->system_name);
    if (j + 1 < l->n_line) sb_puts(&b, ";");
    if (*name)
      put_name(&b, name);
    else
      put_addr(&b, l->address);
  }
  if (b.oom) {
    free(b.s);
    return NULL;
  }
  f->used += b.len + 1;
  f->loc_text[li] = b.s;
  return b.s;
}

/* ---- stacks ---- */

typedef struct stack {
  char *text;
  size_t len;
  int64_t sum;
} stack;

static int stack_cmp(const void *a, const void *b) {
  return strcmp(((const stack *)a)->text, ((const stack *)b)->text);
}

/* The distinct stacks folded so far, with their sums. */
typedef struct stack_set {
  hashtab ix; /* by the text's hash */
  stack *v;
  size_t n, cap;
} stack_set;

enum { FOLD_OK, FOLD_OOM, FOLD_TOO_BIG };

/* Sample s's stack as one line, root first, into line. */
static int stack_line(folder *f, const Perftools__Profiles__Sample *s, sbuf *line) {
  line->len = 0;
  for (size_t j = s->n_location_id; j-- > 0;) {
    long li = profile_index_location(f->ix, s->location_id[j]);
    const char *t = li >= 0 ? location_text(f, (size_t)li) : "[unknown]";
    if (!t) return FOLD_OOM;
    if (j + 1 < s->n_location_id) sb_puts(line, ";");
    sb_puts(line, t);
    if (f->used + line->len > f->limit) return FOLD_TOO_BIG;
  }
  if (s->n_location_id == 0) sb_puts(line, "[no stack]");
  return line->oom ? FOLD_OOM : FOLD_OK;
}

/* Adds value v to the stack line in set (a copy of it, if new). */
static int stack_add(stack_set *set, folder *f, const sbuf *line, int64_t v) {
  uint64_t h = hash_bytes(line->s, line->len);
  hashtab_probe pr;
  for (uint32_t c = hashtab_first(&set->ix, h, &pr); c != HASHTAB_NONE; c = hashtab_next(&pr))
    if (set->v[c].len == line->len && memcmp(set->v[c].text, line->s, line->len) == 0) {
      set->v[c].sum = sat_add(set->v[c].sum, v);
      return FOLD_OK;
    }
  if (set->n == set->cap) {
    size_t ncap = set->cap ? set->cap * 2 : 64;
    stack *ns = realloc(set->v, ncap * sizeof *ns);
    if (!ns) return FOLD_OOM;
    set->v = ns;
    set->cap = ncap;
  }
  if (f->used + 2 * (line->len + 1) > f->limit) return FOLD_TOO_BIG; /* the copy, its line out */
  f->used += line->len + 1;
  char *copy = malloc(line->len + 1);
  if (!copy) return FOLD_OOM;
  memcpy(copy, line->s, line->len + 1);
  set->v[set->n] = (stack){copy, line->len, v};
  if (hashtab_insert(&set->ix, h, (uint32_t)set->n) != 0) {
    free(copy);
    return FOLD_OOM;
  }
  set->n++;
  return FOLD_OK;
}

/* The stacks of set, sorted, one "stack sum" line each (those that sum to
 * 0 left out), into text. */
static int stacks_text(stack_set *set, sbuf *text) {
  if (set->n) qsort(set->v, set->n, sizeof *set->v, stack_cmp);
  sb_puts(text, ""); /* an empty profile gives an empty, non-NULL text */
  for (size_t i = 0; i < set->n; i++) {
    if (set->v[i].sum == 0) continue;
    char num[32];
    snprintf(num, sizeof num, " %lld\n", (long long)set->v[i].sum);
    sb_put(text, set->v[i].text, set->v[i].len);
    sb_puts(text, num);
  }
  return text->oom ? FOLD_OOM : FOLD_OK;
}

int folded_format(const profile_t *p, size_t value_index, char **out, size_t *outlen, char *err,
                  size_t errlen) {
  if (value_index >= p->n_sample_type) {
    formats_set_err(err, errlen, "value index %zu out of range (profile has %zu sample types)",
                    value_index, p->n_sample_type);
    return -1;
  }
  folder f = {.p = p};
  size_t packed = perftools__profiles__profile__get_packed_size(p);
  f.limit = FOLDED_MAX_BASE + (packed < (SIZE_MAX - FOLDED_MAX_BASE) / FOLDED_MAX_PER_BYTE
                                   ? packed * FOLDED_MAX_PER_BYTE
                                   : SIZE_MAX - FOLDED_MAX_BASE);
  stack_set set = {0};
  sbuf line = {0}, text = {0};
  int rc = -1, r = FOLD_OOM;
  profile_index *own_ix = NULL; /* for a profile without one of its own */
  if (!(f.ix = profile_index_use(p, &own_ix, err, errlen))) goto done;
  if ((f.loc_text = calloc(p->n_location + 1, sizeof *f.loc_text))) r = FOLD_OK;
  for (size_t i = 0; i < p->n_sample && r == FOLD_OK; i++) {
    const Perftools__Profiles__Sample *s = p->sample[i];
    if (value_index >= s->n_value) continue;
    if ((r = stack_line(&f, s, &line)) == FOLD_OK)
      r = stack_add(&set, &f, &line, s->value[value_index]);
  }
  if (r == FOLD_OK) r = stacks_text(&set, &text);
  if (r == FOLD_OK) {
    *out = text.s;
    *outlen = text.len;
    text.s = NULL;
    rc = 0;
  } else if (r == FOLD_TOO_BIG) {
    formats_set_err(err, errlen,
                    "folded stacks would take more than %zu MiB (%zu MiB + %d bytes per byte of "
                    "the %zu-byte profile): too many long stacks to fold",
                    f.limit >> 20, FOLDED_MAX_BASE >> 20, FOLDED_MAX_PER_BYTE, packed);
  } else {
    formats_set_err(err, errlen, "out of memory folding stacks");
  }
done:
  for (size_t i = 0; i < set.n; i++) free(set.v[i].text);
  free(set.v);
  if (f.loc_text)
    for (size_t i = 0; i < p->n_location; i++) free(f.loc_text[i]);
  free(f.loc_text);
  profile_index_free(own_ix);
  hashtab_free(&set.ix);
  free(line.s);
  free(text.s);
  return rc;
}

int folded_write(FILE *fp, const profile_t *p, size_t value_index, char *err, size_t errlen) {
  char *text = NULL;
  size_t len = 0;
  if (folded_format(p, value_index, &text, &len, err, errlen) != 0) return -1;
  int rc = 0;
  if (fwrite(text, 1, len, fp) != len || fflush(fp) != 0) {
    formats_set_err(err, errlen, "cannot write folded stacks");
    rc = -1;
  }
  free(text);
  return rc;
}
