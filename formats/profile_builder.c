/* profile_builder.c: a Profile kept as flat arrays and pools with a hash
 * index per table (strings, mappings, functions, locations, samples), turned
 * into protobuf-c structures only while packing. Contract: profile_builder.h;
 * the storage is in profile_builder_impl.h, which profile_merge.c (adding a
 * whole decoded profile) shares. */
#include "profile_builder.h"
#include "errmsg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashtab.h"
#include "profile_builder_impl.h"
#include "profile_io.h"
#include "satint.h"

/* Makes room for `more` items in a VEC; sets oom on failure. */
#define VEC_RESERVE(b, vec, more) \
  vec_reserve((b), (void **)&(vec).v, &(vec).cap, (vec).n, (more), sizeof *(vec).v)

static int vec_reserve(profile_builder *b, void **v, size_t *cap, size_t n, size_t more,
                       size_t elem) {
  if (b->oom) return -1;
  if (n + more <= *cap) return 0;
  size_t ncap = *cap ? *cap : 16;
  while (ncap < n + more) ncap *= 2;
  void *nv = realloc(*v, ncap * elem);
  if (!nv) {
    b->oom = 1;
    return -1;
  }
  *v = nv;
  *cap = ncap;
  return 0;
}

static int index_insert(profile_builder *b, hashtab *t, uint64_t h, size_t idx) {
  if (idx >= UINT32_MAX - 1 || hashtab_insert(t, h, (uint32_t)idx) != 0) {
    b->oom = 1;
    return -1;
  }
  return 0;
}

/* ---- lifecycle and strings ---- */

profile_builder *profile_builder_new(void) {
  profile_builder *b = calloc(1, sizeof *b);
  if (!b) return NULL;
  if (VEC_RESERVE(b, b->chars, 1) != 0 || VEC_RESERVE(b, b->strings, 1) != 0) {
    profile_builder_free(b);
    return NULL;
  }
  b->chars.v[b->chars.n++] = 0; /* string 0 is "" */
  b->strings.v[b->strings.n++] = 0;
  return b;
}

void profile_builder_free(profile_builder *b) {
  if (!b) return;
  free(b->chars.v);
  free(b->strings.v);
  free(b->stypes.v);
  free(b->comments.v);
  free(b->mappings.v);
  free(b->functions.v);
  free(b->locations.v);
  free(b->lines.v);
  free(b->samples.v);
  free(b->locpool.v);
  free(b->vals.v);
  free(b->labpool.v);
  hashtab_free(&b->string_ix);
  hashtab_free(&b->mapping_ix);
  hashtab_free(&b->function_ix);
  hashtab_free(&b->location_ix);
  hashtab_free(&b->sample_ix);
  free(b);
}

int profile_builder_ok(const profile_builder *b) { return b && !b->oom; }

int64_t profile_builder_string(profile_builder *b, const char *s) {
  if (b->oom) return -1;
  if (!s || !*s) return 0;
  size_t len = strlen(s);
  uint64_t h = hash_bytes(s, len);
  hashtab_probe pr;
  for (uint32_t c = hashtab_first(&b->string_ix, h, &pr); c != HASHTAB_NONE; c = hashtab_next(&pr))
    if (strcmp(b->chars.v + b->strings.v[c], s) == 0) return c;
  if (VEC_RESERVE(b, b->chars, len + 1) != 0 || VEC_RESERVE(b, b->strings, 1) != 0) return -1;
  size_t idx = b->strings.n;
  if (index_insert(b, &b->string_ix, h, idx) != 0) return -1;
  memcpy(b->chars.v + b->chars.n, s, len + 1);
  b->strings.v[b->strings.n++] = b->chars.n;
  b->chars.n += len + 1;
  return (int64_t)idx;
}

/* ---- profile-wide fields ---- */

int profile_builder_add_sample_type(profile_builder *b, const char *type, const char *unit) {
  if (b->samples.n > 0) return -1;
  int64_t t = profile_builder_string(b, type), u = profile_builder_string(b, unit);
  if (t < 0 || u < 0 || VEC_RESERVE(b, b->stypes, 1) != 0) return -1;
  b->stypes.v[b->stypes.n++] = (vtype){t, u};
  return 0;
}

size_t profile_builder_sample_types(const profile_builder *b) { return b->stypes.n; }

int profile_builder_set_period(profile_builder *b, const char *type, const char *unit,
                               int64_t period) {
  int64_t t = profile_builder_string(b, type), u = profile_builder_string(b, unit);
  if (t < 0 || u < 0) return -1;
  b->period_type = (vtype){t, u};
  b->period = period;
  return 0;
}

void profile_builder_set_time(profile_builder *b, int64_t time_nanos, int64_t duration_nanos) {
  b->time_nanos = time_nanos;
  b->duration_nanos = duration_nanos;
}

static int set_string_field(profile_builder *b, int64_t *field, const char *s) {
  int64_t i = profile_builder_string(b, s);
  if (i < 0) return -1;
  *field = i;
  return 0;
}

int profile_builder_set_default_sample_type(profile_builder *b, const char *type) {
  return set_string_field(b, &b->default_sample_type, type);
}

int profile_builder_set_drop_frames(profile_builder *b, const char *regex) {
  return set_string_field(b, &b->drop_frames, regex);
}

int profile_builder_set_keep_frames(profile_builder *b, const char *regex) {
  return set_string_field(b, &b->keep_frames, regex);
}

int profile_builder_set_doc_url(profile_builder *b, const char *url) {
  return set_string_field(b, &b->doc_url, url);
}

int profile_builder_add_comment(profile_builder *b, const char *text) {
  int64_t i = profile_builder_string(b, text);
  if (i < 0 || VEC_RESERVE(b, b->comments, 1) != 0) return -1;
  b->comments.v[b->comments.n++] = i;
  return 0;
}

/* ---- mappings, functions, locations ---- */

uint64_t profile_builder_add_mapping(profile_builder *b, const profile_mapping_info *m) {
  int64_t fn = profile_builder_string(b, m->filename), bid = profile_builder_string(b, m->build_id);
  if (fn < 0 || bid < 0) return 0;
  bmapping e = {m->memory_start,
                m->memory_limit,
                m->file_offset,
                fn,
                bid,
                (m->has_functions ? 1u : 0) | (m->has_filenames ? 2u : 0) |
                    (m->has_line_numbers ? 4u : 0) | (m->has_inline_frames ? 8u : 0)};
  uint64_t h = hash_combine(hash_combine(hash_combine(hash_mix(e.start), e.limit), e.offset),
                            (uint64_t)e.filename * 31 + (uint64_t)e.build_id + e.flags);
  hashtab_probe pr;
  for (uint32_t c = hashtab_first(&b->mapping_ix, h, &pr); c != HASHTAB_NONE;
       c = hashtab_next(&pr)) {
    const bmapping *o = &b->mappings.v[c];
    if (o->start == e.start && o->limit == e.limit && o->offset == e.offset &&
        o->filename == e.filename && o->build_id == e.build_id && o->flags == e.flags)
      return (uint64_t)c + 1;
  }
  if (VEC_RESERVE(b, b->mappings, 1) != 0) return 0;
  if (index_insert(b, &b->mapping_ix, h, b->mappings.n) != 0) return 0;
  b->mappings.v[b->mappings.n++] = e;
  return b->mappings.n;
}

uint64_t profile_builder_add_function(profile_builder *b, const char *name, const char *system_name,
                                      const char *filename, int64_t start_line) {
  int64_t n = profile_builder_string(b, name), s = profile_builder_string(b, system_name),
          f = profile_builder_string(b, filename);
  if (n < 0 || s < 0 || f < 0) return 0;
  bfunction e = {n, s, f, start_line};
  uint64_t h =
      hash_combine(hash_combine(hash_combine(hash_mix((uint64_t)n), (uint64_t)s), (uint64_t)f),
                   (uint64_t)start_line);
  hashtab_probe pr;
  for (uint32_t c = hashtab_first(&b->function_ix, h, &pr); c != HASHTAB_NONE;
       c = hashtab_next(&pr)) {
    const bfunction *o = &b->functions.v[c];
    if (o->name == n && o->system_name == s && o->filename == f && o->start_line == start_line)
      return (uint64_t)c + 1;
  }
  if (VEC_RESERVE(b, b->functions, 1) != 0) return 0;
  if (index_insert(b, &b->function_ix, h, b->functions.n) != 0) return 0;
  b->functions.v[b->functions.n++] = e;
  return b->functions.n;
}

uint64_t profile_builder_add_location(profile_builder *b, uint64_t mapping_id, uint64_t address,
                                      const profile_line *lines, size_t nlines, bool is_folded) {
  if (b->oom || mapping_id > b->mappings.n) return 0;
  uint64_t h = hash_combine(hash_combine(hash_mix(mapping_id), address), is_folded);
  for (size_t i = 0; i < nlines; i++) {
    if (lines[i].function_id == 0 || lines[i].function_id > b->functions.n) return 0;
    h = hash_combine(hash_combine(hash_combine(h, lines[i].function_id), (uint64_t)lines[i].line),
                     (uint64_t)lines[i].column);
  }
  hashtab_probe pr;
  for (uint32_t c = hashtab_first(&b->location_ix, h, &pr); c != HASHTAB_NONE;
       c = hashtab_next(&pr)) {
    const blocation *o = &b->locations.v[c];
    if (o->mapping_id != mapping_id || o->address != address || o->nlines != nlines ||
        o->is_folded != is_folded)
      continue;
    /* (no lines yet: lines.v is NULL, and NULL + 0 is undefined) */
    const profile_line *ol = nlines ? b->lines.v + o->line_off : NULL;
    size_t i = 0;
    while (i < nlines && ol[i].function_id == lines[i].function_id && ol[i].line == lines[i].line &&
           ol[i].column == lines[i].column)
      i++;
    if (i == nlines) return (uint64_t)c + 1;
  }
  if (VEC_RESERVE(b, b->locations, 1) != 0 || VEC_RESERVE(b, b->lines, nlines) != 0) return 0;
  if (index_insert(b, &b->location_ix, h, b->locations.n) != 0) return 0;
  b->locations.v[b->locations.n++] =
      (blocation){mapping_id, address, b->lines.n, nlines, is_folded};
  if (nlines) memcpy(b->lines.v + b->lines.n, lines, nlines * sizeof *lines);
  b->lines.n += nlines;
  return b->locations.n;
}

/* ---- samples ---- */

static int label_cmp(const blabel *a, const blabel *b) {
  if (a->key != b->key) return a->key < b->key ? -1 : 1;
  if (a->str != b->str) return a->str < b->str ? -1 : 1;
  if (a->num != b->num) return a->num < b->num ? -1 : 1;
  if (a->unit != b->unit) return a->unit < b->unit ? -1 : 1;
  return 0;
}

int profile_builder_add_sample(profile_builder *b, const uint64_t *location_ids, size_t nlocs,
                               const int64_t *values, size_t nvalues, const profile_label *labels,
                               size_t nlabels) {
  if (b->oom || nvalues != b->stypes.n) return -1;
  for (size_t i = 0; i < nlocs; i++)
    if (location_ids[i] == 0 || location_ids[i] > b->locations.n) return -1;
  /* Labels go straight into the pool's spare room (interning strings does not
   * move it), sorted, so that equal label sets compare equal. */
  if (VEC_RESERVE(b, b->labpool, nlabels) != 0) return -1;
  /* (NULL while no sample has had a label, and NULL + 0 is undefined) */
  blabel *lab = nlabels ? b->labpool.v + b->labpool.n : NULL;
  for (size_t i = 0; i < nlabels; i++) {
    const profile_label *l = &labels[i];
    int64_t k = profile_builder_string(b, l->key);
    int64_t s = l->str ? profile_builder_string(b, l->str) : 0;
    int64_t u = !l->str && l->num_unit ? profile_builder_string(b, l->num_unit) : 0;
    if (k < 0 || s < 0 || u < 0) return -1;
    blabel e = {k, s, l->str ? 0 : l->num, u};
    size_t j = i;
    while (j > 0 && label_cmp(&lab[j - 1], &e) > 0) {
      lab[j] = lab[j - 1];
      j--;
    }
    lab[j] = e;
  }
  uint64_t h = hash_mix(nlocs);
  for (size_t i = 0; i < nlocs; i++) h = hash_combine(h, location_ids[i]);
  for (size_t i = 0; i < nlabels; i++)
    h = hash_combine(hash_combine(h, (uint64_t)lab[i].key * 131 + (uint64_t)lab[i].str),
                     (uint64_t)lab[i].num * 131 + (uint64_t)lab[i].unit);
  hashtab_probe pr;
  for (uint32_t c = hashtab_first(&b->sample_ix, h, &pr); c != HASHTAB_NONE;
       c = hashtab_next(&pr)) {
    const bsample *o = &b->samples.v[c];
    if (o->nlocs != nlocs || o->nlabs != nlabels) continue;
    if (nlocs && memcmp(b->locpool.v + o->loc_off, location_ids, nlocs * sizeof *location_ids))
      continue;
    size_t i = 0;
    while (i < nlabels && label_cmp(&b->labpool.v[o->lab_off + i], &lab[i]) == 0) i++;
    if (i < nlabels) continue;
    int64_t *v = nvalues ? b->vals.v + (size_t)c * b->stypes.n : NULL;
    for (size_t k = 0; k < nvalues; k++) v[k] = sat_add(v[k], values[k]); /* satint.h */
    return 0;
  }
  if (VEC_RESERVE(b, b->samples, 1) != 0 || VEC_RESERVE(b, b->locpool, nlocs) != 0 ||
      VEC_RESERVE(b, b->vals, nvalues) != 0)
    return -1;
  if (index_insert(b, &b->sample_ix, h, b->samples.n) != 0) return -1;
  b->samples.v[b->samples.n++] = (bsample){b->locpool.n, nlocs, b->labpool.n, nlabels};
  if (nlocs) memcpy(b->locpool.v + b->locpool.n, location_ids, nlocs * sizeof *location_ids);
  b->locpool.n += nlocs;
  b->labpool.n += nlabels;
  if (nvalues) memcpy(b->vals.v + b->vals.n, values, nvalues * sizeof *values);
  b->vals.n += nvalues;
  return 0;
}

/* ---- packing ---- */

/* The protobuf-c messages of one pack, each table as an array of messages
 * and the array of pointers to them that the Profile holds. They point into
 * the builder's storage (strings, pools), which outlives the pack. */
typedef struct pack_tables {
  Perftools__Profiles__ValueType *vt, **vtp;
  Perftools__Profiles__Sample *sm, **smp;
  Perftools__Profiles__Label *lb, **lbp;
  Perftools__Profiles__Mapping *mp, **mpp;
  Perftools__Profiles__Location *lo, **lop;
  Perftools__Profiles__Line *ln, **lnp;
  Perftools__Profiles__Function *fn, **fnp;
  char **strs;
} pack_tables;

static void pack_free(pack_tables *t) {
  free(t->vt);
  free(t->vtp);
  free(t->sm);
  free(t->smp);
  free(t->lb);
  free(t->lbp);
  free(t->mp);
  free(t->mpp);
  free(t->lo);
  free(t->lop);
  free(t->ln);
  free(t->lnp);
  free(t->fn);
  free(t->fnp);
  free(t->strs);
}

/* Room for every table of b; -1 (nothing left allocated) when out of memory. */
static int pack_alloc(pack_tables *t, const profile_builder *b) {
  /* +1: calloc(0) may return NULL. */
#define PACK_ALLOC(arr, ptrs, n)                \
  do {                                          \
    t->arr = calloc((n) + 1, sizeof *t->arr);   \
    t->ptrs = calloc((n) + 1, sizeof *t->ptrs); \
    if (!t->arr || !t->ptrs) ok = false;        \
  } while (0)
  bool ok = true;
  memset(t, 0, sizeof *t);
  PACK_ALLOC(vt, vtp, b->stypes.n);
  PACK_ALLOC(sm, smp, b->samples.n);
  PACK_ALLOC(lb, lbp, b->labpool.n);
  PACK_ALLOC(mp, mpp, b->mappings.n);
  PACK_ALLOC(lo, lop, b->locations.n);
  PACK_ALLOC(ln, lnp, b->lines.n);
  PACK_ALLOC(fn, fnp, b->functions.n);
#undef PACK_ALLOC
  t->strs = calloc(b->strings.n + 1, sizeof *t->strs);
  if (ok && t->strs) return 0;
  pack_free(t);
  return -1;
}

static void pack_sample_types(const profile_builder *b, pack_tables *t) {
  for (size_t i = 0; i < b->stypes.n; i++) {
    t->vt[i] = (Perftools__Profiles__ValueType)PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
    t->vt[i].type = b->stypes.v[i].type;
    t->vt[i].unit = b->stypes.v[i].unit;
    t->vtp[i] = &t->vt[i];
  }
}

static void pack_labels(const profile_builder *b, pack_tables *t) {
  for (size_t i = 0; i < b->labpool.n; i++) {
    const blabel *l = &b->labpool.v[i];
    t->lb[i] = (Perftools__Profiles__Label)PERFTOOLS__PROFILES__LABEL__INIT;
    t->lb[i].key = l->key;
    t->lb[i].str = l->str;
    t->lb[i].num = l->num;
    t->lb[i].num_unit = l->unit;
    t->lbp[i] = &t->lb[i];
  }
}

/* After pack_labels: a sample's labels are a run of the label pointers. */
static void pack_samples(const profile_builder *b, pack_tables *t) {
  size_t nst = b->stypes.n;
  for (size_t i = 0; i < b->samples.n; i++) {
    const bsample *s = &b->samples.v[i];
    t->sm[i] = (Perftools__Profiles__Sample)PERFTOOLS__PROFILES__SAMPLE__INIT;
    t->sm[i].n_location_id = s->nlocs;
    /* (an empty stack when no sample has one: locpool.v is NULL) */
    t->sm[i].location_id = s->nlocs ? b->locpool.v + s->loc_off : NULL;
    t->sm[i].n_value = nst;
    t->sm[i].value = nst ? b->vals.v + i * nst : NULL;
    t->sm[i].n_label = s->nlabs;
    t->sm[i].label = t->lbp + s->lab_off;
    t->smp[i] = &t->sm[i];
  }
}

static void pack_mappings(const profile_builder *b, pack_tables *t) {
  for (size_t i = 0; i < b->mappings.n; i++) {
    const bmapping *m = &b->mappings.v[i];
    Perftools__Profiles__Mapping *mp = &t->mp[i];
    *mp = (Perftools__Profiles__Mapping)PERFTOOLS__PROFILES__MAPPING__INIT;
    mp->id = i + 1;
    mp->memory_start = m->start;
    mp->memory_limit = m->limit;
    mp->file_offset = m->offset;
    mp->filename = m->filename;
    mp->build_id = m->build_id;
    mp->has_functions = (m->flags & 1) != 0;
    mp->has_filenames = (m->flags & 2) != 0;
    mp->has_line_numbers = (m->flags & 4) != 0;
    mp->has_inline_frames = (m->flags & 8) != 0;
    t->mpp[i] = mp;
  }
}

static void pack_lines(const profile_builder *b, pack_tables *t) {
  for (size_t i = 0; i < b->lines.n; i++) {
    t->ln[i] = (Perftools__Profiles__Line)PERFTOOLS__PROFILES__LINE__INIT;
    t->ln[i].function_id = b->lines.v[i].function_id;
    t->ln[i].line = b->lines.v[i].line;
    t->ln[i].column = b->lines.v[i].column;
    t->lnp[i] = &t->ln[i];
  }
}

/* After pack_lines: a location's lines are a run of the line pointers. */
static void pack_locations(const profile_builder *b, pack_tables *t) {
  for (size_t i = 0; i < b->locations.n; i++) {
    const blocation *l = &b->locations.v[i];
    t->lo[i] = (Perftools__Profiles__Location)PERFTOOLS__PROFILES__LOCATION__INIT;
    t->lo[i].id = i + 1;
    t->lo[i].mapping_id = l->mapping_id;
    t->lo[i].address = l->address;
    t->lo[i].n_line = l->nlines;
    t->lo[i].line = t->lnp + l->line_off;
    t->lo[i].is_folded = l->is_folded;
    t->lop[i] = &t->lo[i];
  }
}

static void pack_functions(const profile_builder *b, pack_tables *t) {
  for (size_t i = 0; i < b->functions.n; i++) {
    const bfunction *f = &b->functions.v[i];
    t->fn[i] = (Perftools__Profiles__Function)PERFTOOLS__PROFILES__FUNCTION__INIT;
    t->fn[i].id = i + 1;
    t->fn[i].name = f->name;
    t->fn[i].system_name = f->system_name;
    t->fn[i].filename = f->filename;
    t->fn[i].start_line = f->start_line;
    t->fnp[i] = &t->fn[i];
  }
}

static void pack_strings(const profile_builder *b, pack_tables *t) {
  for (size_t i = 0; i < b->strings.n; i++) t->strs[i] = b->chars.v + b->strings.v[i];
}

/* The Profile message: the tables, then the profile-wide fields. period
 * holds the period type when there is one. */
static void pack_profile(const profile_builder *b, const pack_tables *t,
                         Perftools__Profiles__Profile *P, Perftools__Profiles__ValueType *period) {
  P->n_sample_type = b->stypes.n;
  P->sample_type = t->vtp;
  P->n_sample = b->samples.n;
  P->sample = t->smp;
  P->n_mapping = b->mappings.n;
  P->mapping = t->mpp;
  P->n_location = b->locations.n;
  P->location = t->lop;
  P->n_function = b->functions.n;
  P->function = t->fnp;
  P->n_string_table = b->strings.n;
  P->string_table = t->strs;
  P->drop_frames = b->drop_frames;
  P->keep_frames = b->keep_frames;
  P->time_nanos = b->time_nanos;
  P->duration_nanos = b->duration_nanos;
  if (b->period_type.type || b->period_type.unit) {
    period->type = b->period_type.type;
    period->unit = b->period_type.unit;
    P->period_type = period;
  }
  P->period = b->period;
  P->n_comment = b->comments.n;
  P->comment = b->comments.v;
  P->default_sample_type = b->default_sample_type;
  P->doc_url = b->doc_url;
}

int profile_builder_pack(const profile_builder *b, uint8_t **out, size_t *outlen) {
  if (b->oom) return -1;
  pack_tables t;
  if (pack_alloc(&t, b) != 0) return -1;
  pack_sample_types(b, &t);
  pack_labels(b, &t);
  pack_samples(b, &t);
  pack_mappings(b, &t);
  pack_lines(b, &t);
  pack_locations(b, &t);
  pack_functions(b, &t);
  pack_strings(b, &t);
  Perftools__Profiles__Profile P = PERFTOOLS__PROFILES__PROFILE__INIT;
  Perftools__Profiles__ValueType period = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
  pack_profile(b, &t, &P, &period);

  int rc = -1;
  size_t n = perftools__profiles__profile__get_packed_size(&P);
  uint8_t *buf = malloc(n ? n : 1);
  if (buf && perftools__profiles__profile__pack(&P, buf) == n) {
    *out = buf;
    *outlen = n;
    buf = NULL;
    rc = 0;
  }
  free(buf);
  pack_free(&t);
  return rc;
}

int profile_builder_build(const profile_builder *b, Perftools__Profiles__Profile **out) {
  uint8_t *pb = NULL;
  size_t len = 0;
  *out = NULL;
  if (profile_builder_pack(b, &pb, &len) != 0) return -1;
  profile_pb *p = perftools__profiles__profile__unpack(NULL, len, pb);
  free(pb);
  /* Indexed like a profile read from a file (profile_index.h); the
   * builder's ids are nonzero and unique, so only memory can fail. */
  profile_index *ix = p ? profile_index_build(p, NULL, 0) : NULL;
  if (!ix || profile_index_attach(p, ix) != 0) {
    profile_free(p);
    return -1;
  }
  *out = p;
  return 0;
}

int profile_builder_write_file(const profile_builder *b, const char *path, char *err,
                               size_t errlen) {
  uint8_t *pb = NULL;
  size_t len = 0;
  if (profile_builder_pack(b, &pb, &len) != 0) {
    formats_set_err(err, errlen, "%s: out of memory building the profile", path);
    return -1;
  }
  int rc = profile_write_packed_file(path, pb, len, err, errlen);
  free(pb);
  return rc;
}
