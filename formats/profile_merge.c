/* profile_merge.c: adding a whole decoded profile to a builder
 * (profile_builder_add_profile, _labeled; contract: profile_builder.h).
 * The source's mappings, functions and locations are added on first use,
 * through the builder's own deduplicating calls, so that profiles merged
 * share one table of each; samples are scaled by the multiplier and may get
 * one extra label. Comments are those of every source, each once, in order
 * (as pprof's own merge keeps them): a merge of two processes' profiles
 * says pid= of both, not only of the first. Split from profile_builder.c, whose storage it reads
 * through profile_builder_impl.h. */
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "profile_index.h"
#include "profile_builder_impl.h"
#include "satint.h"

typedef struct merge_ctx {
  profile_builder *b;
  const Perftools__Profiles__Profile *src;
  const profile_index *ix;              /* src's ids (profile_index.h) */
  uint64_t *map_new, *fn_new, *loc_new; /* src index -> builder id (0 = not yet) */
  int64_t multiplier;
  const profile_label *extra;
  /* one sample's parts, reused */
  int64_t *vals;
  uint64_t *locs;
  profile_label *labs;
  size_t loccap, labcap;
} merge_ctx;

static const char *src_str(const Perftools__Profiles__Profile *p, int64_t i) {
  return i > 0 && (uint64_t)i < p->n_string_table ? p->string_table[i] : "";
}

static uint64_t merge_location(merge_ctx *m, uint64_t src_id) {
  const Perftools__Profiles__Profile *s = m->src;
  long li = profile_index_location(m->ix, src_id);
  if (li < 0) return 0;
  if (m->loc_new[li]) return m->loc_new[li];
  const Perftools__Profiles__Location *l = s->location[li];
  uint64_t mid = 0;
  if (l->mapping_id) {
    long mi = profile_index_mapping(m->ix, l->mapping_id);
    if (mi < 0) return 0;
    if (!m->map_new[mi]) {
      const Perftools__Profiles__Mapping *sm = s->mapping[mi];
      profile_mapping_info info = {
          sm->memory_start,         sm->memory_limit,         sm->file_offset,
          src_str(s, sm->filename), src_str(s, sm->build_id), sm->has_functions,
          sm->has_filenames,        sm->has_line_numbers,     sm->has_inline_frames};
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
    long fi = profile_index_function(m->ix, l->line[j]->function_id);
    if (fi < 0) break;
    if (!m->fn_new[fi]) {
      const Perftools__Profiles__Function *f = s->function[fi];
      m->fn_new[fi] =
          profile_builder_add_function(m->b, src_str(s, f->name), src_str(s, f->system_name),
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

/* Adds the comments of src that b does not have yet. */
static void merge_comments(profile_builder *b, const Perftools__Profiles__Profile *src) {
  for (size_t i = 0; i < src->n_comment; i++) {
    int64_t s = profile_builder_string(b, src_str(src, src->comment[i]));
    if (s < 0) return; /* out of memory: the builder says so */
    bool have = false;
    for (size_t k = 0; k < b->comments.n && !have; k++) have = b->comments.v[k] == s;
    if (!have) profile_builder_add_comment(b, src_str(src, src->comment[i]));
  }
}

static int same_type(const profile_builder *b, const vtype *t,
                     const Perftools__Profiles__Profile *src,
                     const Perftools__Profiles__ValueType *st) {
  return strcmp(b->chars.v + b->strings.v[t->type], src_str(src, st->type)) == 0 &&
         strcmp(b->chars.v + b->strings.v[t->unit], src_str(src, st->unit)) == 0;
}

int profile_builder_add_profile(profile_builder *b, const Perftools__Profiles__Profile *src,
                                int64_t multiplier, char *err, size_t errlen) {
  return profile_builder_add_profile_labeled(b, src, multiplier, NULL, err, errlen);
}

/* An empty builder takes src's sample types and profile-wide fields;
 * otherwise src's sample types must be b's, and the earliest time wins.
 * Returns 0, or -1 with err set. */
static int merge_header(profile_builder *b, const Perftools__Profiles__Profile *src, char *err,
                        size_t errlen) {
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
    return 0;
  }
  if (b->stypes.n != src->n_sample_type) {
    formats_set_err(err, errlen, "sample types differ: %zu here, %zu in the profile added",
                    b->stypes.n, src->n_sample_type);
    return -1;
  }
  for (size_t i = 0; i < b->stypes.n; i++)
    if (!same_type(b, &b->stypes.v[i], src, src->sample_type[i])) {
      formats_set_err(
          err, errlen, "sample type %zu differs: %s/%s here, %s/%s in the profile added", i,
          b->chars.v + b->strings.v[b->stypes.v[i].type],
          b->chars.v + b->strings.v[b->stypes.v[i].unit], src_str(src, src->sample_type[i]->type),
          src_str(src, src->sample_type[i]->unit));
      return -1;
    }
  if (src->time_nanos && (b->time_nanos == 0 || src->time_nanos < b->time_nanos))
    b->time_nanos = src->time_nanos;
  return 0;
}

/* Room for a sample of nlocs locations and nlabs labels in m's buffers. */
static int merge_reserve(merge_ctx *m, size_t nlocs, size_t nlabs) {
  if (nlocs > m->loccap) {
    free(m->locs);
    m->loccap = nlocs;
    if (!(m->locs = malloc(nlocs * sizeof *m->locs))) return -1;
  }
  if (nlabs > m->labcap) {
    free(m->labs);
    m->labcap = nlabs;
    if (!(m->labs = malloc(nlabs * sizeof *m->labs))) return -1;
  }
  return 0;
}

/* Adds sample i of m->src: its locations remapped, its labels (and the
 * extra one), its values scaled, saturating (satint.h). Returns 0, 1 when
 * out of memory, or -1 with err set. */
static int merge_sample(merge_ctx *m, size_t i, char *err, size_t errlen) {
  const Perftools__Profiles__Profile *src = m->src;
  const Perftools__Profiles__Sample *s = src->sample[i];
  if (s->n_value != m->b->stypes.n) {
    formats_set_err(err, errlen, "sample %zu has %zu values, expected %zu", i, s->n_value,
                    m->b->stypes.n);
    return -1;
  }
  if (merge_reserve(m, s->n_location_id, s->n_label + 1) != 0) return 1;
  for (size_t j = 0; j < s->n_location_id; j++) {
    if ((m->locs[j] = merge_location(m, s->location_id[j])) != 0) continue;
    if (m->b->oom) return 1;
    formats_set_err(err, errlen, "sample %zu: location id %llu is missing or broken", i,
                    (unsigned long long)s->location_id[j]);
    return -1;
  }
  for (size_t j = 0; j < s->n_label; j++) {
    const Perftools__Profiles__Label *l = s->label[j];
    m->labs[j] = (profile_label){src_str(src, l->key), l->str ? src_str(src, l->str) : NULL, l->num,
                                 l->num_unit ? src_str(src, l->num_unit) : NULL};
  }
  size_t nlabs = s->n_label;
  if (m->extra) {
    bool has = false;
    for (size_t j = 0; j < s->n_label && !has; j++)
      has = strcmp(m->labs[j].key, m->extra->key) == 0;
    if (!has) m->labs[nlabs++] = *m->extra;
  }
  for (size_t k = 0; k < s->n_value; k++) m->vals[k] = sat_mul(s->value[k], m->multiplier);
  if (profile_builder_add_sample(m->b, m->locs, s->n_location_id, m->vals, s->n_value, m->labs,
                                 nlabs) != 0)
    return 1;
  return 0;
}

int profile_builder_add_profile_labeled(profile_builder *b, const Perftools__Profiles__Profile *src,
                                        int64_t multiplier, const profile_label *extra, char *err,
                                        size_t errlen) {
  if (b->oom) {
    formats_set_err(err, errlen, "out of memory");
    return -1;
  }
  if (merge_header(b, src, err, errlen) != 0) return -1;
  merge_comments(b, src);

  merge_ctx m = {.b = b, .src = src, .multiplier = multiplier, .extra = extra};
  m.map_new = calloc(src->n_mapping + 1, sizeof *m.map_new);
  m.fn_new = calloc(src->n_function + 1, sizeof *m.fn_new);
  m.loc_new = calloc(src->n_location + 1, sizeof *m.loc_new);
  m.vals = calloc(src->n_sample_type + 1, sizeof *m.vals);
  int rc = -1;
  profile_index *own_ix = NULL; /* for a source without an index of its own */
  if (!m.map_new || !m.fn_new || !m.loc_new || !m.vals) {
    rc = 1;
  } else if ((m.ix = profile_index_use(src, &own_ix, err, errlen))) {
    rc = 0;
    for (size_t i = 0; i < src->n_sample && rc == 0; i++) rc = merge_sample(&m, i, err, errlen);
  }
  profile_index_free(own_ix);
  free(m.map_new);
  free(m.fn_new);
  free(m.loc_new);
  free(m.vals);
  free(m.locs);
  free(m.labs);
  if (rc == 1 || (rc == 0 && b->oom)) {
    formats_set_err(err, errlen, "out of memory");
    rc = -1;
  }
  return rc;
}
