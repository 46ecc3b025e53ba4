/* profile_builder.c: a Profile kept as flat arrays and pools with a hash
 * index per table (strings, mappings, functions, locations, samples), turned
 * into protobuf-c structures only while packing. Contract: profile_builder.h. */
#include "profile_builder.h"
#include "errmsg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashtab.h"
#include "profile_io.h"

/* ---- storage ---- */

typedef struct vtype {
  int64_t type, unit;
} vtype;

typedef struct bmapping {
  uint64_t start, limit, offset;
  int64_t filename, build_id;
  unsigned flags; /* bit 0..3: has_functions, filenames, line_numbers, inline_frames */
} bmapping;

typedef struct bfunction {
  int64_t name, system_name, filename, start_line;
} bfunction;

typedef struct blocation {
  uint64_t mapping_id, address;
  size_t line_off; /* into lines */
  size_t nlines;
  bool is_folded;
} blocation;

typedef struct blabel {
  int64_t key, str, num, unit;
} blabel;

typedef struct bsample {
  size_t loc_off, nlocs; /* into locpool */
  size_t lab_off, nlabs; /* into labpool */
  /* values: vals[index * nstypes ...] */
} bsample;

/* A growable array: items, count, capacity. */
#define VEC(T) \
  struct {     \
    T *v;      \
    size_t n, cap; \
  }

struct profile_builder {
  int oom;
  VEC(char) chars;      /* string bytes, each NUL-terminated */
  VEC(size_t) strings;  /* offset of each string in chars */
  hashtab string_ix;
  VEC(vtype) stypes;
  vtype period_type;
  int64_t period, time_nanos, duration_nanos;
  int64_t default_sample_type, drop_frames, keep_frames, doc_url;
  VEC(int64_t) comments;
  VEC(bmapping) mappings;
  hashtab mapping_ix;
  VEC(bfunction) functions;
  hashtab function_ix;
  VEC(blocation) locations;
  hashtab location_ix;
  VEC(profile_line) lines;
  VEC(bsample) samples;
  hashtab sample_ix;
  VEC(uint64_t) locpool;
  VEC(int64_t) vals;
  VEC(blabel) labpool;
};

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
  for (uint32_t c = hashtab_first(&b->string_ix, h, &pr); c != HASHTAB_NONE;
       c = hashtab_next(&pr))
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
  bmapping e = {m->memory_start, m->memory_limit, m->file_offset, fn, bid,
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

uint64_t profile_builder_add_function(profile_builder *b, const char *name,
                                      const char *system_name, const char *filename,
                                      int64_t start_line) {
  int64_t n = profile_builder_string(b, name), s = profile_builder_string(b, system_name),
          f = profile_builder_string(b, filename);
  if (n < 0 || s < 0 || f < 0) return 0;
  bfunction e = {n, s, f, start_line};
  uint64_t h = hash_combine(hash_combine(hash_combine(hash_mix((uint64_t)n), (uint64_t)s),
                                         (uint64_t)f),
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
    const profile_line *ol = b->lines.v + o->line_off;
    size_t i = 0;
    while (i < nlines && ol[i].function_id == lines[i].function_id &&
           ol[i].line == lines[i].line && ol[i].column == lines[i].column)
      i++;
    if (i == nlines) return (uint64_t)c + 1;
  }
  if (VEC_RESERVE(b, b->locations, 1) != 0 || VEC_RESERVE(b, b->lines, nlines) != 0) return 0;
  if (index_insert(b, &b->location_ix, h, b->locations.n) != 0) return 0;
  b->locations.v[b->locations.n++] = (blocation){mapping_id, address, b->lines.n, nlines, is_folded};
  if (nlines) memcpy(b->lines.v + b->lines.n, lines, nlines * sizeof *lines);
  b->lines.n += nlines;
  return b->locations.n;
}

/* ---- samples ---- */

/* Sums wrap around rather than overflow (garbage in, no undefined behaviour). */
static int64_t wrap_add(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }

static int label_cmp(const blabel *a, const blabel *b) {
  if (a->key != b->key) return a->key < b->key ? -1 : 1;
  if (a->str != b->str) return a->str < b->str ? -1 : 1;
  if (a->num != b->num) return a->num < b->num ? -1 : 1;
  if (a->unit != b->unit) return a->unit < b->unit ? -1 : 1;
  return 0;
}

int profile_builder_add_sample(profile_builder *b, const uint64_t *location_ids, size_t nlocs,
                               const int64_t *values, size_t nvalues,
                               const profile_label *labels, size_t nlabels) {
  if (b->oom || nvalues != b->stypes.n) return -1;
  for (size_t i = 0; i < nlocs; i++)
    if (location_ids[i] == 0 || location_ids[i] > b->locations.n) return -1;
  /* Labels go straight into the pool's spare room (interning strings does not
   * move it), sorted, so that equal label sets compare equal. */
  if (VEC_RESERVE(b, b->labpool, nlabels) != 0) return -1;
  blabel *lab = b->labpool.v + b->labpool.n;
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
    int64_t *v = b->vals.v + (size_t)c * b->stypes.n;
    for (size_t k = 0; k < nvalues; k++) v[k] = wrap_add(v[k], values[k]);
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

/* ---- merging a whole profile ---- */

typedef struct merge_ctx {
  profile_builder *b;
  const Perftools__Profiles__Profile *src;
  hashtab map_ix, fn_ix, loc_ix; /* src id -> src index */
  uint64_t *map_new, *fn_new, *loc_new; /* src index -> builder id (0 = not yet) */
} merge_ctx;

static const char *src_str(const Perftools__Profiles__Profile *p, int64_t i) {
  return i > 0 && (uint64_t)i < p->n_string_table ? p->string_table[i] : "";
}

static uint64_t mapping_id(const Perftools__Profiles__Profile *p, size_t i) {
  return p->mapping[i]->id;
}
static uint64_t function_id(const Perftools__Profiles__Profile *p, size_t i) {
  return p->function[i]->id;
}
static uint64_t location_id(const Perftools__Profiles__Profile *p, size_t i) {
  return p->location[i]->id;
}

/* Index in src of the entry with this id, or -1. */
static long src_index(const hashtab *t, const Perftools__Profiles__Profile *src, uint64_t id,
                      uint64_t (*id_of)(const Perftools__Profiles__Profile *, size_t)) {
  hashtab_probe pr;
  for (uint32_t c = hashtab_first(t, hash_mix(id), &pr); c != HASHTAB_NONE; c = hashtab_next(&pr))
    if (id_of(src, c) == id) return c;
  return -1;
}

static uint64_t merge_location(merge_ctx *m, uint64_t src_id) {
  const Perftools__Profiles__Profile *s = m->src;
  long li = src_index(&m->loc_ix, s, src_id, location_id);
  if (li < 0) return 0;
  if (m->loc_new[li]) return m->loc_new[li];
  const Perftools__Profiles__Location *l = s->location[li];
  uint64_t mid = 0;
  if (l->mapping_id) {
    long mi = src_index(&m->map_ix, s, l->mapping_id, mapping_id);
    if (mi < 0) return 0;
    if (!m->map_new[mi]) {
      const Perftools__Profiles__Mapping *sm = s->mapping[mi];
      profile_mapping_info info = {sm->memory_start,     sm->memory_limit,
                                   sm->file_offset,      src_str(s, sm->filename),
                                   src_str(s, sm->build_id), sm->has_functions,
                                   sm->has_filenames,    sm->has_line_numbers,
                                   sm->has_inline_frames};
      m->map_new[mi] = profile_builder_add_mapping(m->b, &info);
      if (!m->map_new[mi]) return 0;
    }
    mid = m->map_new[mi];
  }
  profile_line small[16];
  profile_line *lines = l->n_line <= 16 ? small : malloc(l->n_line * sizeof *lines);
  if (!lines) return 0;
  uint64_t id = 0;
  size_t j;
  for (j = 0; j < l->n_line; j++) {
    long fi = src_index(&m->fn_ix, s, l->line[j]->function_id, function_id);
    if (fi < 0) break;
    if (!m->fn_new[fi]) {
      const Perftools__Profiles__Function *f = s->function[fi];
      m->fn_new[fi] = profile_builder_add_function(m->b, src_str(s, f->name),
                                                   src_str(s, f->system_name),
                                                   src_str(s, f->filename), f->start_line);
      if (!m->fn_new[fi]) break;
    }
    lines[j] = (profile_line){m->fn_new[fi], l->line[j]->line, l->line[j]->column};
  }
  if (j == l->n_line)
    id = profile_builder_add_location(m->b, mid, l->address, lines, l->n_line, l->is_folded);
  if (lines != small) free(lines);
  m->loc_new[li] = id;
  return id;
}

static int same_type(const profile_builder *b, const vtype *t,
                     const Perftools__Profiles__Profile *src, const Perftools__Profiles__ValueType *st) {
  return strcmp(b->chars.v + b->strings.v[t->type], src_str(src, st->type)) == 0 &&
         strcmp(b->chars.v + b->strings.v[t->unit], src_str(src, st->unit)) == 0;
}

int profile_builder_add_profile(profile_builder *b, const Perftools__Profiles__Profile *src,
                                int64_t multiplier, char *err, size_t errlen) {
  return profile_builder_add_profile_labeled(b, src, multiplier, NULL, err, errlen);
}

int profile_builder_add_profile_labeled(profile_builder *b, const Perftools__Profiles__Profile *src,
                                        int64_t multiplier, const profile_label *extra, char *err,
                                        size_t errlen) {
  if (b->oom) {
    formats_set_err(err, errlen, "out of memory");
    return -1;
  }
  if (b->stypes.n == 0 && b->samples.n == 0) {
    for (size_t i = 0; i < src->n_sample_type; i++)
      profile_builder_add_sample_type(b, src_str(src, src->sample_type[i]->type),
                                      src_str(src, src->sample_type[i]->unit));
    if (src->period_type)
      profile_builder_set_period(b, src_str(src, src->period_type->type),
                                 src_str(src, src->period_type->unit), src->period);
    else
      b->period = src->period;
    profile_builder_set_time(b, src->time_nanos, src->duration_nanos);
    profile_builder_set_default_sample_type(b, src_str(src, src->default_sample_type));
    profile_builder_set_drop_frames(b, src_str(src, src->drop_frames));
    profile_builder_set_keep_frames(b, src_str(src, src->keep_frames));
    profile_builder_set_doc_url(b, src_str(src, src->doc_url));
    for (size_t i = 0; i < src->n_comment; i++)
      profile_builder_add_comment(b, src_str(src, src->comment[i]));
  } else {
    if (b->stypes.n != src->n_sample_type) {
      formats_set_err(err, errlen, "sample types differ: %zu here, %zu in the profile added", b->stypes.n,
              src->n_sample_type);
      return -1;
    }
    for (size_t i = 0; i < b->stypes.n; i++)
      if (!same_type(b, &b->stypes.v[i], src, src->sample_type[i])) {
        formats_set_err(err, errlen, "sample type %zu differs: %s/%s here, %s/%s in the profile added", i,
                b->chars.v + b->strings.v[b->stypes.v[i].type],
                b->chars.v + b->strings.v[b->stypes.v[i].unit],
                src_str(src, src->sample_type[i]->type), src_str(src, src->sample_type[i]->unit));
        return -1;
      }
    if (src->time_nanos && (b->time_nanos == 0 || src->time_nanos < b->time_nanos))
      b->time_nanos = src->time_nanos;
  }

  merge_ctx m = {.b = b, .src = src};
  m.map_new = calloc(src->n_mapping + 1, sizeof *m.map_new);
  m.fn_new = calloc(src->n_function + 1, sizeof *m.fn_new);
  m.loc_new = calloc(src->n_location + 1, sizeof *m.loc_new);
  int64_t *vals = calloc(src->n_sample_type + 1, sizeof *vals);
  uint64_t *locs = NULL;
  profile_label *labs = NULL;
  size_t loccap = 0, labcap = 0;
  int rc = -1;
  if (!m.map_new || !m.fn_new || !m.loc_new || !vals) goto oom;
  for (size_t i = 0; i < src->n_mapping; i++)
    if (hashtab_insert(&m.map_ix, hash_mix(src->mapping[i]->id), (uint32_t)i) != 0) goto oom;
  for (size_t i = 0; i < src->n_function; i++)
    if (hashtab_insert(&m.fn_ix, hash_mix(src->function[i]->id), (uint32_t)i) != 0) goto oom;
  for (size_t i = 0; i < src->n_location; i++)
    if (hashtab_insert(&m.loc_ix, hash_mix(src->location[i]->id), (uint32_t)i) != 0) goto oom;

  for (size_t i = 0; i < src->n_sample; i++) {
    const Perftools__Profiles__Sample *s = src->sample[i];
    if (s->n_value != b->stypes.n) {
      formats_set_err(err, errlen, "sample %zu has %zu values, expected %zu", i, s->n_value, b->stypes.n);
      goto done;
    }
    if (s->n_location_id > loccap) {
      free(locs);
      loccap = s->n_location_id;
      locs = malloc(loccap * sizeof *locs);
      if (!locs) goto oom;
    }
    if (s->n_label + 1 > labcap) {
      free(labs);
      labcap = s->n_label + 1;
      labs = malloc(labcap * sizeof *labs);
      if (!labs) goto oom;
    }
    for (size_t j = 0; j < s->n_location_id; j++) {
      locs[j] = merge_location(&m, s->location_id[j]);
      if (!locs[j]) {
        if (b->oom) goto oom;
        formats_set_err(err, errlen, "sample %zu: location id %llu is missing or broken", i,
                (unsigned long long)s->location_id[j]);
        goto done;
      }
    }
    for (size_t j = 0; j < s->n_label; j++) {
      const Perftools__Profiles__Label *l = s->label[j];
      labs[j] = (profile_label){src_str(src, l->key), l->str ? src_str(src, l->str) : NULL, l->num,
                                l->num_unit ? src_str(src, l->num_unit) : NULL};
    }
    size_t nlabs = s->n_label;
    if (extra) {
      bool has = false;
      for (size_t j = 0; j < s->n_label && !has; j++) has = strcmp(labs[j].key, extra->key) == 0;
      if (!has) labs[nlabs++] = *extra;
    }
    for (size_t k = 0; k < s->n_value; k++)
      vals[k] = (int64_t)((uint64_t)s->value[k] * (uint64_t)multiplier);
    if (profile_builder_add_sample(b, locs, s->n_location_id, vals, s->n_value, labs, nlabs) != 0)
      goto oom;
  }
  rc = 0;
  goto done;
oom:
  formats_set_err(err, errlen, "out of memory");
done:
  hashtab_free(&m.map_ix);
  hashtab_free(&m.fn_ix);
  hashtab_free(&m.loc_ix);
  free(m.map_new);
  free(m.fn_new);
  free(m.loc_new);
  free(vals);
  free(locs);
  free(labs);
  if (rc == 0 && b->oom) {
    formats_set_err(err, errlen, "out of memory");
    rc = -1;
  }
  return rc;
}

/* ---- packing ---- */

int profile_builder_pack(const profile_builder *b, uint8_t **out, size_t *outlen) {
  if (b->oom) return -1;
  Perftools__Profiles__Profile P = PERFTOOLS__PROFILES__PROFILE__INIT;
  Perftools__Profiles__ValueType period = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
  size_t nst = b->stypes.n, ns = b->samples.n, nl = b->labpool.n, nm = b->mappings.n;
  size_t nloc = b->locations.n, nln = b->lines.n, nf = b->functions.n, nstr = b->strings.n;
  /* +1: calloc(0) may return NULL. */
  Perftools__Profiles__ValueType *vt = calloc(nst + 1, sizeof *vt);
  Perftools__Profiles__ValueType **vtp = calloc(nst + 1, sizeof *vtp);
  Perftools__Profiles__Sample *sm = calloc(ns + 1, sizeof *sm);
  Perftools__Profiles__Sample **smp = calloc(ns + 1, sizeof *smp);
  Perftools__Profiles__Label *lb = calloc(nl + 1, sizeof *lb);
  Perftools__Profiles__Label **lbp = calloc(nl + 1, sizeof *lbp);
  Perftools__Profiles__Mapping *mp = calloc(nm + 1, sizeof *mp);
  Perftools__Profiles__Mapping **mpp = calloc(nm + 1, sizeof *mpp);
  Perftools__Profiles__Location *lo = calloc(nloc + 1, sizeof *lo);
  Perftools__Profiles__Location **lop = calloc(nloc + 1, sizeof *lop);
  Perftools__Profiles__Line *ln = calloc(nln + 1, sizeof *ln);
  Perftools__Profiles__Line **lnp = calloc(nln + 1, sizeof *lnp);
  Perftools__Profiles__Function *fn = calloc(nf + 1, sizeof *fn);
  Perftools__Profiles__Function **fnp = calloc(nf + 1, sizeof *fnp);
  char **strs = calloc(nstr + 1, sizeof *strs);
  uint8_t *buf = NULL;
  int rc = -1;
  if (!vt || !vtp || !sm || !smp || !lb || !lbp || !mp || !mpp || !lo || !lop || !ln || !lnp ||
      !fn || !fnp || !strs)
    goto done;

  for (size_t i = 0; i < nst; i++) {
    vt[i] = (Perftools__Profiles__ValueType)PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
    vt[i].type = b->stypes.v[i].type;
    vt[i].unit = b->stypes.v[i].unit;
    vtp[i] = &vt[i];
  }
  for (size_t i = 0; i < nl; i++) {
    const blabel *l = &b->labpool.v[i];
    lb[i] = (Perftools__Profiles__Label)PERFTOOLS__PROFILES__LABEL__INIT;
    lb[i].key = l->key;
    lb[i].str = l->str;
    lb[i].num = l->num;
    lb[i].num_unit = l->unit;
    lbp[i] = &lb[i];
  }
  for (size_t i = 0; i < ns; i++) {
    const bsample *s = &b->samples.v[i];
    sm[i] = (Perftools__Profiles__Sample)PERFTOOLS__PROFILES__SAMPLE__INIT;
    sm[i].n_location_id = s->nlocs;
    sm[i].location_id = b->locpool.v + s->loc_off;
    sm[i].n_value = nst;
    sm[i].value = b->vals.v + i * nst;
    sm[i].n_label = s->nlabs;
    sm[i].label = lbp + s->lab_off;
    smp[i] = &sm[i];
  }
  for (size_t i = 0; i < nm; i++) {
    const bmapping *m = &b->mappings.v[i];
    mp[i] = (Perftools__Profiles__Mapping)PERFTOOLS__PROFILES__MAPPING__INIT;
    mp[i].id = i + 1;
    mp[i].memory_start = m->start;
    mp[i].memory_limit = m->limit;
    mp[i].file_offset = m->offset;
    mp[i].filename = m->filename;
    mp[i].build_id = m->build_id;
    mp[i].has_functions = (m->flags & 1) != 0;
    mp[i].has_filenames = (m->flags & 2) != 0;
    mp[i].has_line_numbers = (m->flags & 4) != 0;
    mp[i].has_inline_frames = (m->flags & 8) != 0;
    mpp[i] = &mp[i];
  }
  for (size_t i = 0; i < nln; i++) {
    ln[i] = (Perftools__Profiles__Line)PERFTOOLS__PROFILES__LINE__INIT;
    ln[i].function_id = b->lines.v[i].function_id;
    ln[i].line = b->lines.v[i].line;
    ln[i].column = b->lines.v[i].column;
    lnp[i] = &ln[i];
  }
  for (size_t i = 0; i < nloc; i++) {
    const blocation *l = &b->locations.v[i];
    lo[i] = (Perftools__Profiles__Location)PERFTOOLS__PROFILES__LOCATION__INIT;
    lo[i].id = i + 1;
    lo[i].mapping_id = l->mapping_id;
    lo[i].address = l->address;
    lo[i].n_line = l->nlines;
    lo[i].line = lnp + l->line_off;
    lo[i].is_folded = l->is_folded;
    lop[i] = &lo[i];
  }
  for (size_t i = 0; i < nf; i++) {
    const bfunction *f = &b->functions.v[i];
    fn[i] = (Perftools__Profiles__Function)PERFTOOLS__PROFILES__FUNCTION__INIT;
    fn[i].id = i + 1;
    fn[i].name = f->name;
    fn[i].system_name = f->system_name;
    fn[i].filename = f->filename;
    fn[i].start_line = f->start_line;
    fnp[i] = &fn[i];
  }
  for (size_t i = 0; i < nstr; i++) strs[i] = b->chars.v + b->strings.v[i];

  P.n_sample_type = nst;
  P.sample_type = vtp;
  P.n_sample = ns;
  P.sample = smp;
  P.n_mapping = nm;
  P.mapping = mpp;
  P.n_location = nloc;
  P.location = lop;
  P.n_function = nf;
  P.function = fnp;
  P.n_string_table = nstr;
  P.string_table = strs;
  P.drop_frames = b->drop_frames;
  P.keep_frames = b->keep_frames;
  P.time_nanos = b->time_nanos;
  P.duration_nanos = b->duration_nanos;
  if (b->period_type.type || b->period_type.unit) {
    period.type = b->period_type.type;
    period.unit = b->period_type.unit;
    P.period_type = &period;
  }
  P.period = b->period;
  P.n_comment = b->comments.n;
  P.comment = b->comments.v;
  P.default_sample_type = b->default_sample_type;
  P.doc_url = b->doc_url;

  size_t n = perftools__profiles__profile__get_packed_size(&P);
  buf = malloc(n ? n : 1);
  if (!buf) goto done;
  if (perftools__profiles__profile__pack(&P, buf) != n) goto done;
  *out = buf;
  *outlen = n;
  buf = NULL;
  rc = 0;
done:
  free(buf);
  free(vt);
  free(vtp);
  free(sm);
  free(smp);
  free(lb);
  free(lbp);
  free(mp);
  free(mpp);
  free(lo);
  free(lop);
  free(ln);
  free(lnp);
  free(fn);
  free(fnp);
  free(strs);
  return rc;
}

int profile_builder_build(const profile_builder *b, Perftools__Profiles__Profile **out) {
  uint8_t *pb = NULL;
  size_t len = 0;
  *out = NULL;
  if (profile_builder_pack(b, &pb, &len) != 0) return -1;
  *out = perftools__profiles__profile__unpack(NULL, len, pb);
  free(pb);
  return *out ? 0 : -1;
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
