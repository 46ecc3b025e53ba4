/* profile_io.c: whole-profile reading (container, unpack, validation) and
 * writing (pack, container, atomic file). Contract: profile_io.h. */
#include "profile_io.h"
#include "errmsg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "folded.h"
#include "legacy_heap.h"
#include "profile_index.h"
#include "wire_budget.h"

/* ---- helpers ---- */

/* Puts "name: " in front of the message already in err. */
static void prefix_err(char *err, size_t errlen, const char *name) {
  if (!err || errlen == 0) return;
  char *msg = strdup(err);
  if (!msg) return;
  snprintf(err, errlen, "%s: %s", name ? name : "<buffer>", msg);
  free(msg);
}

static int looks_like_text(const uint8_t *p, size_t len) {
  size_t n = len < 256 ? len : 256;
  for (size_t i = 0; i < n; i++)
    if (p[i] < 0x09 || (p[i] > 0x0d && p[i] < 0x20) || p[i] == 0x7f) return 0;
  return n > 0;
}

/* ---- validation ---- */

typedef struct vctx {
  const profile_pb *p;
  char *err;
  size_t errlen;
} vctx;

static int str_ok(const vctx *v, int64_t idx, const char *what, const char *field, size_t n) {
  if (idx >= 0 && (uint64_t)idx < v->p->n_string_table) return 1;
  formats_set_err(v->err, v->errlen,
                  "bad reference: %s %zu: %s string index %lld out of range (string table has %zu "
                  "entries)",
                  what, n, field, (long long)idx, v->p->n_string_table);
  return 0;
}

/* The profile-wide fields: the string table's shape, the table sizes, and
 * every string index outside the tables. */
static int validate_header(const vctx *v) {
  const profile_pb *p = v->p;
  if (p->n_string_table == 0) {
    formats_set_err(v->err, v->errlen, "invalid profile: no string table");
    return -1;
  }
  if (!p->string_table[0] || p->string_table[0][0] != 0) {
    formats_set_err(v->err, v->errlen, "invalid profile: string_table[0] is not empty");
    return -1;
  }
  if (p->n_mapping > UINT32_MAX - 1 || p->n_location > UINT32_MAX - 1 ||
      p->n_function > UINT32_MAX - 1) {
    formats_set_err(v->err, v->errlen, "invalid profile: too many entries");
    return -1;
  }
  for (size_t i = 0; i < p->n_sample_type; i++) {
    const Perftools__Profiles__ValueType *vt = p->sample_type[i];
    if (!str_ok(v, vt->type, "sample_type", "type", i) ||
        !str_ok(v, vt->unit, "sample_type", "unit", i))
      return -1;
  }
  if (p->period_type && (!str_ok(v, p->period_type->type, "period_type", "type", 0) ||
                         !str_ok(v, p->period_type->unit, "period_type", "unit", 0)))
    return -1;
  if (!str_ok(v, p->drop_frames, "profile", "drop_frames", 0) ||
      !str_ok(v, p->keep_frames, "profile", "keep_frames", 0) ||
      !str_ok(v, p->default_sample_type, "profile", "default_sample_type", 0) ||
      !str_ok(v, p->doc_url, "profile", "doc_url", 0))
    return -1;
  for (size_t i = 0; i < p->n_comment; i++)
    if (!str_ok(v, p->comment[i], "comment", "text", i)) return -1;
  return 0;
}

/* Mappings' and functions' strings; each location's mapping and
 * functions exist (ix: the profile's ids). */
static int validate_tables(const vctx *v, const profile_index *ix) {
  const profile_pb *p = v->p;
  for (size_t i = 0; i < p->n_mapping; i++) {
    const Perftools__Profiles__Mapping *m = p->mapping[i];
    if (!str_ok(v, m->filename, "mapping", "filename", i) ||
        !str_ok(v, m->build_id, "mapping", "build_id", i))
      return -1;
  }
  for (size_t i = 0; i < p->n_function; i++) {
    const Perftools__Profiles__Function *f = p->function[i];
    if (!str_ok(v, f->name, "function", "name", i) ||
        !str_ok(v, f->system_name, "function", "system_name", i) ||
        !str_ok(v, f->filename, "function", "filename", i))
      return -1;
  }
  for (size_t i = 0; i < p->n_location; i++) {
    const Perftools__Profiles__Location *l = p->location[i];
    if (l->mapping_id != 0 && profile_index_mapping(ix, l->mapping_id) < 0) {
      formats_set_err(v->err, v->errlen,
                      "bad reference: location id %llu: mapping id %llu does not exist",
                      (unsigned long long)l->id, (unsigned long long)l->mapping_id);
      return -1;
    }
    for (size_t j = 0; j < l->n_line; j++) {
      uint64_t fid = l->line[j]->function_id;
      if (profile_index_function(ix, fid) < 0) { /* id 0 included */
        formats_set_err(v->err, v->errlen,
                        "bad reference: location id %llu: line %zu: function id %llu does "
                        "not exist",
                        (unsigned long long)l->id, j, (unsigned long long)fid);
        return -1;
      }
    }
  }
  return 0;
}

/* Each sample: one value per sample type, locations that exist, label
 * strings in range. */
static int validate_samples(const vctx *v, const profile_index *ix) {
  const profile_pb *p = v->p;
  for (size_t i = 0; i < p->n_sample; i++) {
    const Perftools__Profiles__Sample *s = p->sample[i];
    if (s->n_value != p->n_sample_type) {
      formats_set_err(v->err, v->errlen,
                      "invalid profile: sample %zu has %zu values but the profile has %zu "
                      "sample types",
                      i, s->n_value, p->n_sample_type);
      return -1;
    }
    for (size_t j = 0; j < s->n_location_id; j++) {
      if (profile_index_location(ix, s->location_id[j]) < 0) {
        formats_set_err(v->err, v->errlen,
                        "bad reference: sample %zu: location id %llu does not exist", i,
                        (unsigned long long)s->location_id[j]);
        return -1;
      }
    }
    for (size_t j = 0; j < s->n_label; j++) {
      const Perftools__Profiles__Label *lb = s->label[j];
      if (!str_ok(v, lb->key, "sample", "label key", i) ||
          !str_ok(v, lb->str, "sample", "label str", i) ||
          !str_ok(v, lb->num_unit, "sample", "label num_unit", i))
        return -1;
    }
  }
  return 0;
}

/* profile_validate, keeping the id index it builds in *keep (NULL: not
 * kept). */
static int validate(const profile_pb *p, profile_index **keep, char *err, size_t errlen) {
  vctx v = {p, err, errlen};
  if (validate_header(&v) != 0) return -1;
  /* Building the index checks that ids are nonzero and unique. */
  profile_index *ix = profile_index_build(p, err, errlen);
  if (!ix) return -1;
  if (validate_tables(&v, ix) != 0 || validate_samples(&v, ix) != 0) {
    profile_index_free(ix);
    return -1;
  }
  if (keep)
    *keep = ix;
  else
    profile_index_free(ix);
  return 0;
}

int profile_validate(const profile_pb *p, char *err, size_t errlen) {
  return validate(p, NULL, err, errlen);
}

/* ---- reading ---- */

void profile_free(profile_pb *p) {
  if (!p) return;
  profile_index_detach(p);
  perftools__profiles__profile__free_unpacked(p, NULL);
}

/* Whether a message carries an unknown field numbered 0. protobuf-c keeps
 * such a field (it can come from an overlong tag varint) and writes it back,
 * and no decoder accepts what it writes: a profile read from such bytes
 * could not be written again. Field 0 is never valid, so the input is
 * corrupt. */
static int has_field_zero(const ProtobufCMessage *m) {
  for (unsigned i = 0; i < m->n_unknown_fields; i++)
    if (m->unknown_fields[i].tag == 0) return 1;
  return 0;
}

static int profile_has_field_zero(const profile_pb *p) {
  if (has_field_zero(&p->base) || (p->period_type && has_field_zero(&p->period_type->base)))
    return 1;
  for (size_t i = 0; i < p->n_sample_type; i++)
    if (has_field_zero(&p->sample_type[i]->base)) return 1;
  for (size_t i = 0; i < p->n_sample; i++) {
    if (has_field_zero(&p->sample[i]->base)) return 1;
    for (size_t k = 0; k < p->sample[i]->n_label; k++)
      if (has_field_zero(&p->sample[i]->label[k]->base)) return 1;
  }
  for (size_t i = 0; i < p->n_mapping; i++)
    if (has_field_zero(&p->mapping[i]->base)) return 1;
  for (size_t i = 0; i < p->n_location; i++) {
    if (has_field_zero(&p->location[i]->base)) return 1;
    for (size_t k = 0; k < p->location[i]->n_line; k++)
      if (has_field_zero(&p->location[i]->line[k]->base)) return 1;
  }
  for (size_t i = 0; i < p->n_function; i++)
    if (has_field_zero(&p->function[i]->base)) return 1;
  return 0;
}

int profile_decode(const void *pb, size_t len, const char *name, profile_pb **out, char *err,
                   size_t errlen) {
  *out = NULL;
  if (len == 0) {
    formats_set_err(err, errlen, "%s: empty profile (no data)", name ? name : "<buffer>");
    return -1;
  }
  /* Price the decoding first: protobuf-c would allocate per element before
   * anything could be checked (wire_budget.h). */
  wire_cost cost;
  int broken = wire_profile_cost(pb, len, &cost) != 0;
  uint64_t budget = WIRE_BUDGET_BASE + (uint64_t)WIRE_BUDGET_PER_BYTE * len;
  if (!broken && cost.bytes > budget) {
    formats_set_err(err, errlen,
                    "%s: refusing to decode: %zu bytes of profile would take about %llu MiB of "
                    "memory (%llu samples, %llu locations, %llu functions, %llu strings); the "
                    "limit is %llu MiB + %d bytes per byte",
                    name ? name : "<buffer>", len, (unsigned long long)(cost.bytes >> 20),
                    (unsigned long long)cost.samples, (unsigned long long)cost.locations,
                    (unsigned long long)cost.functions, (unsigned long long)cost.strings,
                    (unsigned long long)(WIRE_BUDGET_BASE >> 20), WIRE_BUDGET_PER_BYTE);
    return -1;
  }
  profile_pb *p = broken ? NULL : perftools__profiles__profile__unpack(NULL, len, pb);
  if (p != NULL && profile_has_field_zero(p)) {
    profile_free(p);
    p = NULL;
  }
  if (!p) {
    if (looks_like_text(pb, len))
      formats_set_err(err, errlen, "%s: not a profile (looks like text, not a pprof protobuf)",
                      name ? name : "<buffer>");
    else
      formats_set_err(err, errlen,
                      "%s: corrupt protobuf (cannot decode a pprof Profile from %zu bytes)",
                      name ? name : "<buffer>", len);
    return -1;
  }
  profile_index *ix = NULL;
  if (validate(p, &ix, err, errlen) != 0) {
    prefix_err(err, errlen, name);
    profile_free(p);
    return -1;
  }
  /* The index stays with the profile: its readers look ids up in it. */
  if (profile_index_attach(p, ix) != 0) {
    formats_set_err(err, errlen, "%s: out of memory", name ? name : "<buffer>");
    profile_free(p);
    return -1;
  }
  *out = p;
  return 0;
}

/* profile_decode, or first the conversion of another allocator's text heap
 * profile (legacy_heap.h), which is recognized by its first line. */
static int decode_any(const void *data, size_t len, const char *name, profile_pb **out, char *err,
                      size_t errlen) {
  if (legacy_heap_detect(data, len) == LEGACY_HEAP_NONE)
    return profile_decode(data, len, name, out, err, errlen);
  uint8_t *pb = NULL;
  size_t pblen = 0;
  if (legacy_heap_convert(data, len, &pb, &pblen, err, errlen) != 0) {
    prefix_err(err, errlen, name);
    return -1;
  }
  int rc = profile_decode(pb, pblen, name, out, err, errlen);
  free(pb);
  return rc;
}

int profile_read_buffer_limit(const void *buf, size_t len, const char *name, size_t limit,
                              profile_pb **out, char *err, size_t errlen) {
  *out = NULL;
  if (!name) name = "<buffer>";
  if (limit == 0) limit = CONTAINER_MAX_DECOMPRESSED;
  if (len == 0) {
    formats_set_err(err, errlen, "%s: empty file", name);
    return -1;
  }
  container_kind kind = container_detect(buf, len);
  if (kind == CONTAINER_RAW) {
    if (len > limit) {
      formats_set_err(err, errlen, "%s: profile larger than the limit of %zu bytes", name, limit);
      return -1;
    }
    return decode_any(buf, len, name, out, err, errlen);
  }
  if (kind == CONTAINER_ZSTD) {
    long frames = container_zstd_frames(buf, len);
    if (frames > 1) {
      formats_set_err(err, errlen, "%s: a snapshot stream of %ld profiles, not a single profile",
                      name, frames);
      return -1;
    }
  }
  uint8_t *raw = NULL;
  size_t rawlen = 0;
  if (container_decompress(kind, buf, len, limit, &raw, &rawlen, err, errlen) != 0) {
    prefix_err(err, errlen, name);
    return -1;
  }
  int rc;
  if (rawlen == 0) {
    formats_set_err(err, errlen, "%s: empty profile (%s data decompresses to nothing)", name,
                    container_name(kind));
    rc = -1;
  } else {
    rc = decode_any(raw, rawlen, name, out, err, errlen);
  }
  free(raw);
  return rc;
}

int profile_read_buffer(const void *buf, size_t len, const char *name, profile_pb **out, char *err,
                        size_t errlen) {
  return profile_read_buffer_limit(buf, len, name, 0, out, err, errlen);
}

int profile_input_check(void *ctx, const uint8_t *buf, size_t len, char *err, size_t errlen) {
  (void)ctx;
  /* Small files go through the full reader, which says best what is wrong;
   * this only stops endless or huge input early. */
  if (len < PROFILE_INPUT_CHECK_AFTER) return 0;
  container_kind kind = container_detect(buf, len);
  if (kind == CONTAINER_ZSTD) return 0; /* maybe a long snapshot stream */
  if (len > CONTAINER_MAX_DECOMPRESSED) {
    formats_set_err(err, errlen, "%s data larger than the limit of %zu bytes",
                    kind == CONTAINER_GZIP ? "gzip" : "profile", CONTAINER_MAX_DECOMPRESSED);
    return -1;
  }
  size_t bad = 0;
  if (kind == CONTAINER_RAW && legacy_heap_detect(buf, len) != LEGACY_HEAP_NONE) return 0;
  if (kind == CONTAINER_RAW && wire_profile_prefix_ok(buf, len, &bad) != 0) {
    formats_set_err(err, errlen, "corrupt protobuf (not a pprof Profile: bad field at byte %zu)",
                    bad);
    return -1;
  }
  return 0;
}

int profile_read_file(const char *path, profile_pb **out, char *err, size_t errlen) {
  *out = NULL;
  uint8_t *buf = NULL;
  size_t len = 0;
  if (fileio_read_all_checked(path, CONTAINER_MAX_DECOMPRESSED, profile_input_check, NULL, &buf,
                              &len, err, errlen) != 0)
    return -1;
  int rc = profile_read_buffer(buf, len, path, out, err, errlen);
  free(buf);
  return rc;
}

/* ---- writing ---- */

ssize_t profile_default_value_index(const profile_pb *p) {
  if (p->n_sample_type == 0) return -1;
  if (p->default_sample_type > 0 && (uint64_t)p->default_sample_type < p->n_string_table) {
    const char *want = p->string_table[p->default_sample_type];
    for (size_t i = 0; i < p->n_sample_type; i++) {
      int64_t t = p->sample_type[i]->type;
      if (t >= 0 && (uint64_t)t < p->n_string_table && strcmp(p->string_table[t], want) == 0)
        return (ssize_t)i;
    }
  }
  return (ssize_t)p->n_sample_type - 1;
}

int profile_pack(const profile_pb *p, uint8_t **out, size_t *outlen, char *err, size_t errlen) {
  size_t n = perftools__profiles__profile__get_packed_size(p);
  uint8_t *buf = malloc(n ? n : 1);
  if (!buf) {
    formats_set_err(err, errlen, "out of memory packing a profile of %zu bytes", n);
    return -1;
  }
  size_t m = perftools__profiles__profile__pack(p, buf);
  if (m != n) {
    free(buf);
    formats_set_err(err, errlen, "protobuf packing produced %zu bytes, expected %zu", m, n);
    return -1;
  }
  *out = buf;
  *outlen = n;
  return 0;
}

int profile_write_buffer(const profile_pb *p, container_kind kind, uint8_t **out, size_t *outlen,
                         char *err, size_t errlen) {
  if (kind == CONTAINER_FOLDED) {
    ssize_t vi = profile_default_value_index(p);
    if (vi < 0) {
      formats_set_err(err, errlen, "profile has no sample types to fold");
      return -1;
    }
    char *text = NULL;
    if (folded_format(p, (size_t)vi, &text, outlen, err, errlen) != 0) return -1;
    *out = (uint8_t *)text;
    return 0;
  }
  uint8_t *pb = NULL;
  size_t pblen = 0;
  if (profile_pack(p, &pb, &pblen, err, errlen) != 0) return -1;
  if (kind == CONTAINER_RAW) {
    *out = pb;
    *outlen = pblen;
    return 0;
  }
  int rc = container_compress(kind, pb, pblen, 0, out, outlen, err, errlen);
  free(pb);
  return rc;
}

int profile_write_file(const char *path, const profile_pb *p, char *err, size_t errlen) {
  uint8_t *buf = NULL;
  size_t len = 0;
  if (profile_write_buffer(p, container_for_path(path), &buf, &len, err, errlen) != 0) {
    prefix_err(err, errlen, path);
    return -1;
  }
  int rc = fileio_write_atomic(path, buf, len, err, errlen);
  free(buf);
  return rc;
}

int profile_write_packed_file(const char *path, const void *pb, size_t len, char *err,
                              size_t errlen) {
  container_kind kind = container_for_path(path);
  if (kind == CONTAINER_FOLDED) {
    profile_pb *p = NULL;
    if (profile_decode(pb, len, path, &p, err, errlen) != 0) return -1;
    int rc = profile_write_file(path, p, err, errlen);
    profile_free(p);
    return rc;
  }
  if (kind == CONTAINER_RAW) return fileio_write_atomic(path, pb, len, err, errlen);
  uint8_t *buf = NULL;
  size_t blen = 0;
  if (container_compress(kind, pb, len, 0, &buf, &blen, err, errlen) != 0) {
    prefix_err(err, errlen, path);
    return -1;
  }
  int rc = fileio_write_atomic(path, buf, blen, err, errlen);
  free(buf);
  return rc;
}
