/* frames_match.c: a frame one profile names and another does not (a
 * symbolized and an unsymbolized profile of the same code) made one frame:
 * the unnamed location takes the named one's lines. The rule: frames.h.
 *
 * Two steps. First every location whose frames all have names, by (object
 * label, file offset): the first seen wins. Then every location of every
 * profile whose frames have none looks its (object, offset) up, and when
 * another profile named it, gets copies of those lines; their Functions
 * (name, system name, file, start line) are appended to its profile once
 * per source function, each complete and indexed (profile_index.h's rule)
 * before a line refers to it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "frames.h"
#include "hashtab.h"

/* A location with names: profile prof, location loc. */
typedef struct named {
  const char *label;
  uint64_t off;
  size_t prof, loc;
} named;

/* The object label and offset of l, or NULL when it has none. */
static const char *key_of(const profile_pb *p, const profile_index *ix,
                          const Perftools__Profiles__Location *l, const char *const *labels,
                          uint64_t *off) {
  long mi = profile_index_mapping(ix, l->mapping_id);
  if (mi < 0 || !labels[mi]) return NULL;
  const Perftools__Profiles__Mapping *m = p->mapping[mi];
  if (l->address < m->memory_start || l->address >= m->memory_limit) return NULL;
  *off = l->address - m->memory_start + m->file_offset;
  return labels[mi];
}

static uint64_t key_hash(const char *label, uint64_t off) {
  return hash_combine(hash_mix((uint64_t)(uintptr_t)label), off);
}

/* ---- copying into one profile ---- */

typedef struct copier {
  profile_pb *p;
  profile_index *ix;
  size_t scap, fcap;
  uint64_t next_id;
  hashtab done; /* source function (profile, index) -> position in ids */
  struct fmap {
    size_t prof, fi;
    uint64_t id;
  } * ids;
  size_t nids, idcap;
} copier;

/* s appended to the string table: its index, 0 for "", -1 out of memory. */
static int64_t add_string(copier *c, const char *s) {
  profile_pb *p = c->p;
  if (!*s) return 0;
  char *d = strdup(s);
  if (!d ||
      cli_grow(&p->string_table, &c->scap, p->n_string_table + 1, sizeof *p->string_table) != 0) {
    free(d);
    return -1;
  }
  p->string_table[p->n_string_table] = d;
  return (int64_t)p->n_string_table++;
}

/* The id in c->p of a copy of function fi of profile q (number prof). */
static uint64_t copy_function(copier *c, const profile_pb *q, size_t prof, size_t fi) {
  uint64_t h = hash_combine(hash_mix(prof), fi);
  hashtab_probe pr;
  for (uint32_t i = hashtab_first(&c->done, h, &pr); i != HASHTAB_NONE; i = hashtab_next(&pr))
    if (c->ids[i].prof == prof && c->ids[i].fi == fi) return c->ids[i].id;
  const Perftools__Profiles__Function *src = q->function[fi];
  profile_pb *p = c->p;
  int64_t name = add_string(c, cli_str(q, src->name));
  int64_t sys = add_string(c, cli_str(q, src->system_name));
  int64_t file = add_string(c, cli_str(q, src->filename));
  if (name < 0 || sys < 0 || file < 0 ||
      cli_grow(&p->function, &c->fcap, p->n_function + 1, sizeof *p->function) != 0 ||
      cli_grow(&c->ids, &c->idcap, c->nids + 1, sizeof *c->ids) != 0)
    return 0;
  Perftools__Profiles__Function *f = malloc(sizeof *f);
  if (!f) return 0;
  perftools__profiles__function__init(f);
  f->id = c->next_id++;
  f->name = name;
  f->system_name = sys;
  f->filename = file;
  f->start_line = src->start_line;
  p->function[p->n_function++] = f;
  if (profile_index_add_function(c->ix, p->n_function - 1, NULL, 0) != 0) {
    perftools__profiles__function__free_unpacked(p->function[--p->n_function], NULL);
    return 0;
  }
  c->ids[c->nids] = (struct fmap){prof, fi, f->id};
  if (hashtab_insert(&c->done, h, (uint32_t)c->nids) != 0) return f->id; /* not remembered */
  c->nids++;
  return f->id;
}

/* l (of c->p) gets copies of the lines of src (of profile q, number prof).
 * Returns 0 or -1 (out of memory; l as it was). */
static int copy_lines(copier *c, Perftools__Profiles__Location *l, const profile_pb *q, size_t prof,
                      const Perftools__Profiles__Location *src) {
  const profile_index *qix = profile_index_of(q);
  Perftools__Profiles__Line **nv = calloc(src->n_line, sizeof *nv);
  if (!nv) return -1;
  for (size_t j = 0; j < src->n_line; j++) {
    long fi = profile_index_function(qix, src->line[j]->function_id);
    uint64_t id = fi >= 0 ? copy_function(c, q, prof, (size_t)fi) : 0;
    if (!id || !(nv[j] = malloc(sizeof *nv[j]))) {
      for (size_t k = 0; k < j; k++) free(nv[k]);
      free(nv);
      return -1;
    }
    perftools__profiles__line__init(nv[j]);
    nv[j]->function_id = id;
    nv[j]->line = src->line[j]->line;
  }
  for (size_t j = 0; j < l->n_line; j++) perftools__profiles__line__free_unpacked(l->line[j], NULL);
  free(l->line);
  l->line = nv;
  l->n_line = src->n_line;
  return 0;
}

/* ---- all profiles ---- */

/* The named locations of every profile, in v (and t, by key). */
static int collect(profile_pb *const *ps, size_t n, const char *const *const *labels, named **v,
                   size_t *nv, hashtab *t) {
  size_t cap = 0;
  for (size_t k = 0; k < n; k++) {
    const profile_index *ix = profile_index_of(ps[k]);
    for (size_t i = 0; ix && i < ps[k]->n_location; i++) {
      const Perftools__Profiles__Location *l = ps[k]->location[i];
      uint64_t off;
      const char *label = key_of(ps[k], ix, l, labels[k], &off);
      if (!label || !cli_location_named(ps[k], ix, l, label)) continue;
      uint64_t h = key_hash(label, off);
      hashtab_probe pr;
      uint32_t e = hashtab_first(t, h, &pr);
      while (e != HASHTAB_NONE && !((*v)[e].label == label && (*v)[e].off == off))
        e = hashtab_next(&pr);
      if (e != HASHTAB_NONE) continue; /* named before */
      if (cli_grow(v, &cap, *nv + 1, sizeof **v) != 0 || hashtab_insert(t, h, (uint32_t)*nv) != 0)
        return -1;
      (*v)[(*nv)++] = (named){label, off, k, i};
    }
  }
  return 0;
}

int cli_match_frames(profile_pb *const *ps, size_t n, const char *const *const *labels) {
  named *v = NULL;
  size_t nv = 0;
  hashtab t = {0};
  int rc = collect(ps, n, labels, &v, &nv, &t);
  for (size_t k = 0; rc == 0 && nv > 0 && k < n; k++) {
    profile_pb *p = ps[k];
    copier c = {.p = p,
                .ix = profile_index_of_mut(p),
                .scap = p->n_string_table,
                .fcap = p->n_function,
                .next_id = 1};
    if (!c.ix) continue;
    for (size_t i = 0; i < p->n_function; i++)
      if (p->function[i]->id >= c.next_id) c.next_id = p->function[i]->id + 1;
    for (size_t i = 0; rc == 0 && i < p->n_location; i++) {
      Perftools__Profiles__Location *l = p->location[i];
      uint64_t off;
      const char *label = key_of(p, c.ix, l, labels[k], &off);
      if (!label || !cli_location_unnamed(p, c.ix, l, label)) continue;
      hashtab_probe pr;
      uint32_t e = hashtab_first(&t, key_hash(label, off), &pr);
      while (e != HASHTAB_NONE && !(v[e].label == label && v[e].off == off)) e = hashtab_next(&pr);
      if (e != HASHTAB_NONE && v[e].prof != k)
        rc = copy_lines(&c, l, ps[v[e].prof], v[e].prof, ps[v[e].prof]->location[v[e].loc]);
    }
    hashtab_free(&c.done);
    free(c.ids);
  }
  hashtab_free(&t);
  free(v);
  return rc;
}
