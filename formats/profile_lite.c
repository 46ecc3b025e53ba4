/* profile_lite.c: the quick, partial Profile decoder. Contract and why:
 * profile_lite.h. The pricing walk profile_decode makes first
 * (wire_budget.h) also counts the elements, so every array is allocated
 * once at its size; one walk over the top-level fields then fills them and
 * the Profile struct's pointers, and the checks profile_decode's validator
 * would make on the header and the samples are made on the result.
 * Anything unexpected refuses (1). */
#include "profile_lite.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hashtab.h"
#include "wire_budget.h"

/* ---- flat arrays, sized once ---- */

/* An array of elements of 8 bytes with room for cap (of have allocated). */
typedef struct arr8 {
  uint64_t *v;
  size_t n, cap, have;
} arr8;

/* Everything one profile_lite owns, each array sized by the pricing walk
 * (wire_budget.h counts what the elements hold). */
typedef struct lite_mem {
  arr8 ids, values, comments;
  Perftools__Profiles__Sample *sample_v, **sample_p;
  Perftools__Profiles__Label *label_v, **label_p;
  Perftools__Profiles__ValueType *type_v, **type_p, period_type;
  size_t nsamples, nlabels, ntypes, nstrings, ntables;
  size_t cap_samples, cap_labels, cap_types, cap_strings, cap_tables;
  char *chars, **string_p;
  size_t *string_len, nchars, cap_chars;
  profile_lite_field *tables;
  /* how many of each the arrays above have room for (they are kept when a
   * profile_lite is decoded into again) */
  size_t have_sample_v, have_sample_p, have_label_v, have_label_p, have_type_v, have_type_p;
  size_t have_chars, have_string_p, have_string_len, have_tables;
  /* gathered as the samples go by, checked at the end (the arrays are out
   * of the cache by then): the range of values per sample and of the
   * labels' string indices */
  size_t min_values, max_values;
  int64_t min_label_str, max_label_str;
} lite_mem;

/* ---- the wire ---- */

enum { OK = 0, REFUSE = 1, NOMEM = -1 };

/* A varint of at most 9 bytes (63 bits); REFUSE for a longer one (a
 * negative int64: protobuf-c's reading of the tenth byte is its own) or one
 * the end cuts. */
static inline int varint(const uint8_t **pp, const uint8_t *end, uint64_t *out) {
  const uint8_t *p = *pp;
  uint64_t v = 0;
  for (int shift = 0; shift < 63 && p < end; shift += 7) {
    uint8_t b = *p++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *pp = p;
      *out = v;
      return OK;
    }
  }
  return REFUSE;
}

/* A field's tag; for wire type 2 its payload; for 0 its value. */
typedef struct field {
  uint32_t num;
  uint32_t wt;
  uint64_t v;
  const uint8_t *wire; /* where the field starts: its tag's first byte */
  const uint8_t *data;
  size_t len;
} field;

/* The longest tag or length prefix protobuf-c reads (a 32-bit varint):
 * what this decoder accepts, protobuf-c must unpack, so a longer one, even
 * a valid overlong encoding of a small number, goes to profile_decode,
 * which refuses it as protobuf-c does. */
#define PREFIX_MAX_BYTES 5

/* A tag or length prefix: a varint of at most PREFIX_MAX_BYTES bytes. */
static inline int prefix(const uint8_t **pp, const uint8_t *end, uint64_t *out) {
  const uint8_t *at = *pp;
  if (varint(pp, end, out) != OK || *pp - at > PREFIX_MAX_BYTES) return REFUSE;
  return OK;
}

static inline int next_field(const uint8_t **pp, const uint8_t *end, field *f) {
  uint64_t tag;
  f->wire = *pp;
  if (prefix(pp, end, &tag) != OK || (tag >> 32) || (tag >> 3) == 0) return REFUSE;
  f->num = (uint32_t)(tag >> 3);
  f->wt = (uint32_t)(tag & 7);
  if (f->wt == 0) return varint(pp, end, &f->v);
  if (f->wt != 2) return REFUSE; /* no fixed-width or group field in the schema */
  uint64_t n;
  if (prefix(pp, end, &n) != OK || n > (uint64_t)(end - *pp)) return REFUSE;
  f->data = *pp;
  f->len = (size_t)n;
  *pp += n;
  return OK;
}

/* The varints of a packed field appended to a (elements of 8 bytes). */
static int packed(arr8 *a, const field *f) {
  const uint8_t *p = f->data, *end = f->data + f->len;
  uint64_t *v = a->v;
  size_t n = a->n;
  while (p < end) {
    if (n == a->cap) return REFUSE; /* more than the pricing counted: not expected */
    if (!(*p & 0x80)) {             /* one or two bytes: most ids and small values */
      v[n++] = *p++;
      continue;
    }
    if (end - p >= 2 && !(p[1] & 0x80)) {
      v[n++] = (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7;
      p += 2;
      continue;
    }
    if (varint(&p, end, &v[n++]) != OK) return REFUSE;
  }
  a->n = n;
  return OK;
}

/* A message of int64 fields 1..n (ValueType, Label): the last of each
 * wins, as in protobuf-c. */
static int scalars(const field *f, int64_t *out, uint32_t n) {
  const uint8_t *p = f->data, *end = f->data + f->len;
  field g;
  while (p < end) {
    if (next_field(&p, end, &g) != OK || g.wt != 0 || g.num > n) return REFUSE;
    out[g.num - 1] = (int64_t)g.v;
  }
  return OK;
}

static int sample(lite_mem *m, const field *f, uint64_t *min_id, uint64_t *max_id) {
  if (m->nsamples == m->cap_samples) return REFUSE;
  Perftools__Profiles__Sample *s = &m->sample_v[m->nsamples];
  m->sample_p[m->nsamples++] = s;
  *s = (Perftools__Profiles__Sample)PERFTOOLS__PROFILES__SAMPLE__INIT;
  size_t ids = m->ids.n, values = m->values.n, labels = m->nlabels;
  const uint8_t *p = f->data, *end = f->data + f->len;
  field g;
  while (p < end) {
    int rc;
    if (next_field(&p, end, &g) != OK || g.wt != 2) return REFUSE;
    if (g.num == 1) {
      rc = packed(&m->ids, &g);
    } else if (g.num == 2) {
      rc = packed(&m->values, &g);
    } else if (g.num == 3) {
      if (m->nlabels == m->cap_labels) return REFUSE;
      Perftools__Profiles__Label *l = &m->label_v[m->nlabels];
      m->label_p[m->nlabels++] = l;
      *l = (Perftools__Profiles__Label)PERFTOOLS__PROFILES__LABEL__INIT;
      int64_t v[4] = {0, 0, 0, 0};
      rc = scalars(&g, v, 4);
      l->key = v[0], l->str = v[1], l->num = v[2], l->num_unit = v[3];
      const int64_t strs[3] = {l->key, l->str, l->num_unit};
      for (int k = 0; k < 3; k++) {
        if (strs[k] < m->min_label_str) m->min_label_str = strs[k];
        if (strs[k] > m->max_label_str) m->max_label_str = strs[k];
      }
    } else {
      return REFUSE;
    }
    if (rc != OK) return rc;
  }
  s->n_location_id = m->ids.n - ids;
  s->location_id = s->n_location_id ? m->ids.v + ids : NULL;
  uint64_t lo = *min_id, hi = *max_id;
  for (size_t i = 0; i < s->n_location_id; i++) {
    if (s->location_id[i] < lo) lo = s->location_id[i];
    if (s->location_id[i] > hi) hi = s->location_id[i];
  }
  *min_id = lo, *max_id = hi;
  s->n_value = m->values.n - values;
  if (s->n_value < m->min_values) m->min_values = s->n_value;
  if (s->n_value > m->max_values) m->max_values = s->n_value;
  s->value = s->n_value ? (int64_t *)(m->values.v + values) : NULL;
  s->n_label = m->nlabels - labels;
  s->label = s->n_label ? m->label_p + labels : NULL;
  return OK;
}

/* A string, copied NUL-terminated as protobuf-c makes it. */
static int string(lite_mem *m, const field *f) {
  if (m->nstrings == m->cap_strings || f->len + 1 > m->cap_chars - m->nchars) return REFUSE;
  char *c = m->chars + m->nchars;
  memcpy(c, f->data, f->len);
  c[f->len] = 0;
  m->nchars += f->len + 1;
  m->string_p[m->nstrings] = c;
  m->string_len[m->nstrings++] = f->len;
  return OK;
}

static int table(profile_lite *l, lite_mem *m, const field *f) {
  if (m->ntables == m->cap_tables) return REFUSE;
  m->tables[m->ntables++] = (profile_lite_field){f->num, f->wire, f->data, f->len};
  if (f->num == 3) l->n_mapping++;
  if (f->num == 4) l->n_location++;
  if (f->num == 5) l->n_function++;
  return OK;
}

/* A ValueType: a sample type, or (at) the period type. */
static int value_type(lite_mem *m, const field *f, Perftools__Profiles__ValueType *at) {
  if (!at) {
    if (m->ntypes == m->cap_types) return REFUSE;
    at = &m->type_v[m->ntypes];
    m->type_p[m->ntypes++] = at;
  }
  *at = (Perftools__Profiles__ValueType)PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
  int64_t v[2] = {0, 0};
  int rc = scalars(f, v, 2);
  at->type = v[0], at->unit = v[1];
  return rc;
}

/* One top-level field into l / m. */
static int top_field(profile_lite *l, lite_mem *m, const field *f) {
  Perftools__Profiles__Profile *pb = &l->pb;
  if (f->wt == 0) {
    switch (f->num) {
      case 7: pb->drop_frames = (int64_t)f->v; return OK;
      case 8: pb->keep_frames = (int64_t)f->v; return OK;
      case 9: pb->time_nanos = (int64_t)f->v; return OK;
      case 10: pb->duration_nanos = (int64_t)f->v; return OK;
      case 12: pb->period = (int64_t)f->v; return OK;
      case 14: pb->default_sample_type = (int64_t)f->v; return OK;
      case 15: pb->doc_url = (int64_t)f->v; return OK;
      default: return REFUSE; /* comments unpacked, or a field we do not expect */
    }
  }
  switch (f->num) {
    case 1: return value_type(m, f, NULL);
    case 2: return sample(m, f, &l->min_location_id, &l->max_location_id);
    case 3:
    case 4:
    case 5: return table(l, m, f);
    case 6: return string(m, f);
    case 11: /* a second one would be merged into the first: not here */
      if (pb->period_type) return REFUSE;
      pb->period_type = &m->period_type;
      return value_type(m, f, &m->period_type);
    case 13: return packed(&m->comments, f);
    default: return REFUSE;
  }
}

/* ---- sizing and finishing ---- */

/* Room for n elements of size at *v, which has room for *have: OK or
 * NOMEM. Arrays only grow: a profile_lite decoded into again reuses memory
 * already touched (malloc would give freed megabytes back to the system,
 * and each snapshot would fault them in again: a fifth of the time). */
static int room(void *v, size_t *have, uint64_t n, size_t size) {
  if (n <= *have && *(void **)v) return OK;
  if (n > SIZE_MAX / 2 / size) return NOMEM;
  size_t want = n ? (size_t)n + (size_t)n / 8 : 1;
  free(*(void **)v);
  *(void **)v = malloc(want * size);
  *have = *(void **)v ? want : 0;
  return *(void **)v ? OK : NOMEM;
}

/* The arrays, sized by the pricing walk's counts. Returns OK or NOMEM. */
static int size_arrays(lite_mem *m, const wire_cost *c) {
  m->ids.cap = c->location_ids, m->values.cap = c->values, m->comments.cap = c->comments;
  m->cap_samples = c->samples, m->cap_labels = c->labels, m->cap_types = c->sample_types;
  m->cap_strings = c->strings, m->cap_chars = c->string_bytes + c->strings;
  m->cap_tables = c->mappings + c->locations + c->functions;
  if (room(&m->ids.v, &m->ids.have, m->ids.cap, 8) ||
      room(&m->values.v, &m->values.have, m->values.cap, 8) ||
      room(&m->comments.v, &m->comments.have, m->comments.cap, 8) ||
      room(&m->sample_v, &m->have_sample_v, m->cap_samples, sizeof *m->sample_v) ||
      room(&m->sample_p, &m->have_sample_p, m->cap_samples, sizeof *m->sample_p) ||
      room(&m->label_v, &m->have_label_v, m->cap_labels, sizeof *m->label_v) ||
      room(&m->label_p, &m->have_label_p, m->cap_labels, sizeof *m->label_p) ||
      room(&m->type_v, &m->have_type_v, m->cap_types, sizeof *m->type_v) ||
      room(&m->type_p, &m->have_type_p, m->cap_types, sizeof *m->type_p) ||
      room(&m->chars, &m->have_chars, m->cap_chars, 1) ||
      room(&m->string_p, &m->have_string_p, m->cap_strings, sizeof *m->string_p) ||
      room(&m->string_len, &m->have_string_len, m->cap_strings, sizeof *m->string_len) ||
      room(&m->tables, &m->have_tables, m->cap_tables, sizeof *m->tables))
    return NOMEM;
  return OK;
}

/* m emptied for another decoding, its arrays kept. */
static void reset(lite_mem *m) {
  m->ids.n = m->values.n = m->comments.n = 0;
  m->nsamples = m->nlabels = m->ntypes = m->nstrings = m->ntables = m->nchars = 0;
  m->min_values = SIZE_MAX;
  m->max_values = 0;
  m->min_label_str = m->max_label_str = 0;
}

/* Points the Profile's arrays at the filled ones; the ids' range, the
 * tables' hash. */
static void finish(profile_lite *l, lite_mem *m) {
  Perftools__Profiles__Profile *pb = &l->pb;
  pb->sample = m->sample_p;
  pb->n_sample = m->nsamples;
  pb->sample_type = m->type_p;
  pb->n_sample_type = m->ntypes;
  pb->comment = (int64_t *)m->comments.v;
  pb->n_comment = m->comments.n;
  pb->string_table = m->string_p;
  pb->n_string_table = m->nstrings;
  l->string_len = m->string_len;
  l->tables = m->tables;
  l->ntables = m->ntables;
  if (m->ids.n == 0) l->min_location_id = l->max_location_id = 0;
  uint64_t h = 0;
  for (size_t i = 0; i < l->ntables; i++)
    h = hash_combine(hash_combine(h, l->tables[i].num),
                     hash_bytes(l->tables[i].data, l->tables[i].len));
  l->tables_hash = h;
}

/* ---- the validator's checks on what was decoded ---- */

static bool str_ok(const Perftools__Profiles__Profile *pb, int64_t i) {
  return i >= 0 && (uint64_t)i < pb->n_string_table;
}

/* What profile_io.c's validate_header and validate_samples check, but the
 * location ids (the caller's: it has the tables). */
static bool valid(const profile_lite *l) {
  const Perftools__Profiles__Profile *pb = &l->pb;
  if (pb->n_string_table == 0 || pb->string_table[0][0] != 0) return false;
  if (l->n_mapping > UINT32_MAX - 1 || l->n_location > UINT32_MAX - 1 ||
      l->n_function > UINT32_MAX - 1)
    return false;
  for (size_t i = 0; i < pb->n_sample_type; i++)
    if (!str_ok(pb, pb->sample_type[i]->type) || !str_ok(pb, pb->sample_type[i]->unit))
      return false;
  if (pb->period_type && (!str_ok(pb, pb->period_type->type) || !str_ok(pb, pb->period_type->unit)))
    return false;
  if (!str_ok(pb, pb->drop_frames) || !str_ok(pb, pb->keep_frames) ||
      !str_ok(pb, pb->default_sample_type) || !str_ok(pb, pb->doc_url))
    return false;
  for (size_t i = 0; i < pb->n_comment; i++)
    if (!str_ok(pb, pb->comment[i])) return false;
  const lite_mem *m = l->mem;
  if (pb->n_sample && (m->min_values != pb->n_sample_type || m->max_values != pb->n_sample_type))
    return false;
  return !m->nlabels || (str_ok(pb, m->min_label_str) && str_ok(pb, m->max_label_str));
}

/* ---- the interface ---- */

void profile_lite_free(profile_lite *l) {
  if (!l) return;
  lite_mem *m = l->mem;
  if (m) {
    free(m->ids.v);
    free(m->values.v);
    free(m->comments.v);
    free(m->sample_v);
    free(m->sample_p);
    free(m->label_v);
    free(m->label_p);
    free(m->type_v);
    free(m->type_p);
    free(m->chars);
    free(m->string_p);
    free(m->string_len);
    free(m->tables);
    free(m);
  }
  free(l);
}

int profile_lite_decode(const void *pb, size_t len, profile_lite *spare, profile_lite **out) {
  *out = NULL;
  /* profile_decode's price first: what it refuses, this refuses too */
  wire_cost cost;
  if (len == 0 || wire_profile_cost(pb, len, &cost) != 0 ||
      cost.bytes > WIRE_BUDGET_BASE + (uint64_t)WIRE_BUDGET_PER_BYTE * len) {
    profile_lite_free(spare);
    return REFUSE;
  }
  profile_lite *l = spare ? spare : calloc(1, sizeof *l);
  lite_mem *m = spare ? spare->mem : calloc(1, sizeof *m);
  if (!l || !m) {
    free(l);
    free(m);
    return NOMEM;
  }
  *l = (profile_lite){.mem = m};
  l->pb = (Perftools__Profiles__Profile)PERFTOOLS__PROFILES__PROFILE__INIT;
  l->min_location_id = UINT64_MAX;
  reset(m);
  int rc = size_arrays(m, &cost);
  const uint8_t *p = pb, *end = p + len;
  field f;
  while (rc == OK && p < end) {
    rc = next_field(&p, end, &f);
    if (rc == OK) rc = top_field(l, m, &f);
  }
  if (rc == OK) {
    finish(l, m);
    if (!valid(l)) rc = REFUSE;
  }
  if (rc != OK) {
    profile_lite_free(l);
    return rc;
  }
  *out = l;
  return OK;
}
