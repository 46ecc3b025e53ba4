/* wire_budget.c: the price of decoding a serialized Profile, from its wire
 * format. Contract and why: wire_budget.h. The walk follows the schema's
 * fixed nesting (Profile > Sample > Label, Profile > Location > Line, and
 * flat messages), one function per level, so it never recurses on input. */
#include "wire_budget.h"

#include <string.h>

#include "profile.pb-c.h"

/* ---- the wire format ---- */

typedef struct rd {
  const uint8_t *p, *start, *end;
  int broken;
} rd;

static inline uint64_t varint(rd *r) {
  if (r->p < r->end && !(*r->p & 0x80)) return *r->p++; /* one byte: tags, most lengths */
  uint64_t v = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (r->p >= r->end) break;
    uint8_t b = *r->p++;
    v |= (uint64_t)(b & 0x7f) << (shift < 64 ? shift : 63);
    if (!(b & 0x80)) return v;
  }
  r->broken = 1;
  return 0;
}

/* One field: its number and wire type; for wire type 2 its payload in
 * *data[0..*len). Skips scalars. Returns 0, or -1 when broken (r->broken). */
typedef struct field {
  uint32_t num;
  int wt;
  const uint8_t *data;
  size_t len;
} field;

static inline int next_field(rd *r, field *f) {
  uint64_t tag = varint(r);
  if (r->broken) return -1;
  f->num = (uint32_t)(tag >> 3);
  f->wt = (int)(tag & 7);
  f->data = NULL;
  f->len = 0;
  if (f->num == 0 || tag >> 32) goto broken;
  switch (f->wt) {
    case 0: varint(r); break;
    case 1:
      if ((size_t)(r->end - r->p) < 8) goto broken;
      r->p += 8;
      break;
    case 2: {
      uint64_t n = varint(r);
      if (r->broken || n > (uint64_t)(r->end - r->p)) goto broken;
      f->data = r->p;
      f->len = (size_t)n;
      r->p += n;
      break;
    }
    case 5:
      if ((size_t)(r->end - r->p) < 4) goto broken;
      r->p += 4;
      break;
    default: goto broken; /* groups (3, 4) and 6, 7 */
  }
  return r->broken ? -1 : 0;
broken:
  r->broken = 1;
  return -1;
}

/* ---- prices (64-bit; a little high rather than low) ---- */

/* malloc's header and rounding, and the pointer in the parent's array. */
#define CHUNK(sz) ((uint64_t)(sz) + 16 + 8)
/* protobuf-c keeps one 32-byte ScannedMember per field while it unpacks a
 * message; an unknown field costs its record and a copy of its bytes. */
#define SCANNED 32
#define UNKNOWN(len) (24 + 16 + (uint64_t)(len))
/* What readers add per element after unpacking: the id index the
 * validator builds and the profile keeps (profile_index.h: at most 48
 * bytes per entry) and the CLI's per-location frame tables (cli_funcs_add,
 * folded). */
#define READER_PER_ENTRY 112

/* Elements of a repeated varint field: packed (wire type 2) or one. */
static uint64_t scalars(const field *f) {
  if (f->wt != 2) return 1;
  /* each varint ends in the one byte of it without the top bit: count
   * those, eight bytes at a time (a packed sample's ids are most of the
   * input) */
  uint64_t n = 0;
  size_t i = 0;
  for (; i + 8 <= f->len; i += 8) {
    uint64_t w;
    memcpy(&w, f->data + i, 8);
    uint64_t ones = (w >> 7) & 0x0101010101010101ULL; /* 1 per byte with the top bit */
    n += 8 - ((ones * 0x0101010101010101ULL) >> 56);  /* their sum in the top byte */
  }
  for (; i < f->len; i++) n += !(f->data[i] & 0x80);
  return n;
}

/* A message of scalar fields numbered 1..known: its fields' scan cost and
 * unknown fields. Returns -1 when broken. */
static int flat(const uint8_t *data, size_t len, uint32_t known, uint64_t *cost, wire_cost *c) {
  rd r = {data, data, data + len, 0};
  field f;
  while (r.p < r.end) {
    if (next_field(&r, &f) != 0) return -1;
    *cost += SCANNED;
    if (f.num > known) {
      *cost += UNKNOWN(f.len + 10);
      c->unknown++;
    }
  }
  return 0;
}

static int sample(const uint8_t *data, size_t len, uint64_t *cost, wire_cost *c) {
  rd r = {data, data, data + len, 0};
  field f;
  uint64_t ids = 0, values = 0;
  while (r.p < r.end) {
    if (next_field(&r, &f) != 0) return -1;
    *cost += SCANNED;
    if (f.num == 1) {
      ids += scalars(&f);
    } else if (f.num == 2) {
      values += scalars(&f);
    } else if (f.num == 3 && f.wt == 2) {
      c->labels++;
      *cost += CHUNK(sizeof(Perftools__Profiles__Label));
      if (flat(f.data, f.len, 4, cost, c) != 0) return -1;
    } else {
      *cost += UNKNOWN(f.len + 10);
      c->unknown++;
    }
  }
  *cost += (ids ? CHUNK(8 * ids) : 0) + (values ? CHUNK(8 * values) : 0);
  c->location_ids += ids;
  c->values += values;
  return 0;
}

static int location(const uint8_t *data, size_t len, uint64_t *cost, wire_cost *c) {
  rd r = {data, data, data + len, 0};
  field f;
  while (r.p < r.end) {
    if (next_field(&r, &f) != 0) return -1;
    *cost += SCANNED;
    if (f.num == 4 && f.wt == 2) {
      *cost += CHUNK(sizeof(Perftools__Profiles__Line)) + 8; /* + the CLI's frame slot */
      if (flat(f.data, f.len, 3, cost, c) != 0) return -1;
    } else if (f.num > 5) {
      *cost += UNKNOWN(f.len + 10);
      c->unknown++;
    }
  }
  return 0;
}

/* ---- the walk ---- */

int wire_profile_cost(const uint8_t *buf, size_t len, wire_cost *c) {
  *c = (wire_cost){0};
  rd r = {buf, buf, buf + len, 0};
  field f;
  uint64_t cost = CHUNK(sizeof(Perftools__Profiles__Profile)), comments = 0;
  while (r.p < r.end) {
    const uint8_t *at = r.p;
    if (next_field(&r, &f) != 0) {
      c->bad_offset = (size_t)(at - buf);
      return -1;
    }
    cost += SCANNED;
    int rc = 0;
    switch (f.num) {
      case 1:  /* sample_type */
      case 11: /* period_type */
        if (f.wt != 2) break;
        if (f.num == 1) c->sample_types++;
        cost += CHUNK(sizeof(Perftools__Profiles__ValueType));
        rc = flat(f.data, f.len, 2, &cost, c);
        break;
      case 2:
        if (f.wt != 2) break;
        c->samples++;
        cost += CHUNK(sizeof(Perftools__Profiles__Sample));
        rc = sample(f.data, f.len, &cost, c);
        break;
      case 3:
        if (f.wt != 2) break;
        c->mappings++;
        cost += CHUNK(sizeof(Perftools__Profiles__Mapping)) + READER_PER_ENTRY;
        rc = flat(f.data, f.len, 10, &cost, c);
        break;
      case 4:
        if (f.wt != 2) break;
        c->locations++;
        cost += CHUNK(sizeof(Perftools__Profiles__Location)) + READER_PER_ENTRY;
        rc = location(f.data, f.len, &cost, c);
        break;
      case 5:
        if (f.wt != 2) break;
        c->functions++;
        cost += CHUNK(sizeof(Perftools__Profiles__Function)) + READER_PER_ENTRY;
        rc = flat(f.data, f.len, 5, &cost, c);
        break;
      case 6:
        c->strings++;
        c->string_bytes += f.len;
        cost += CHUNK(f.len + 1);
        break;
      case 13: comments += scalars(&f); break;
      default:
        if (f.num > 15) {
          cost += UNKNOWN(f.len + 10);
          c->unknown++;
        }
        break;
    }
    if (rc != 0) {
      c->bad_offset = (size_t)(at - buf);
      return -1;
    }
  }
  if (comments) cost += CHUNK(8 * comments);
  c->comments = comments;
  c->bytes = cost;
  return 0;
}

int wire_profile_prefix_ok(const uint8_t *buf, size_t len, size_t *bad_offset) {
  rd r = {buf, buf, buf + len, 0};
  field f;
  while (r.p < r.end) {
    const uint8_t *at = r.p;
    if (next_field(&r, &f) != 0) {
      /* A field the buffer's end cut is not (yet) broken. */
      rd t = {at, at, buf + len, 0};
      uint64_t tag = varint(&t);
      if (t.broken && t.p == t.end) return 0; /* the tag itself is cut */
      int wt = (int)(tag & 7);
      if ((tag >> 3) == 0 || (tag >> 32) || (wt != 0 && wt != 1 && wt != 2 && wt != 5)) {
        *bad_offset = (size_t)(at - buf);
        return -1;
      }
      return 0; /* a valid tag whose value runs past what we have */
    }
  }
  return 0;
}
