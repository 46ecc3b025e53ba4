/* wire_budget.h: what decoding a serialized Profile will cost, found by a
 * walk over its wire format before protobuf-c allocates anything. Internal
 * to the formats library (profile_io.c); overview: formats/README.md.
 *
 * Why: protobuf-c gives every repeated message its own allocation, so two
 * bytes of input (an empty Sample) become about 130 bytes of memory, and a
 * 10 KB gzip file of 10 MiB of empty samples took over 600 MiB before the
 * validator could say anything. The walk counts the elements each message
 * holds and prices them as protobuf-c and the readers after it (the id
 * index, profile_index.h; the CLI's per-location tables) will; profile_io refuses a
 * profile whose price exceeds WIRE_BUDGET_BASE + WIRE_BUDGET_PER_BYTE times
 * its size. Real profiles cost 3 to 15 times their size.
 */
#ifndef FORMATS_WIRE_BUDGET_H
#define FORMATS_WIRE_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#define WIRE_BUDGET_BASE ((uint64_t)32 << 20)
#define WIRE_BUDGET_PER_BYTE 32

typedef struct wire_cost {
  uint64_t bytes; /* estimated peak heap bytes */
  uint64_t samples, locations, functions, mappings, strings, unknown;
  /* what the elements hold, for a decoder that sizes its arrays once
   * (profile_lite.c): the samples' location ids, values and labels (packed
   * or not), the strings' bytes, the comments, the sample types */
  uint64_t location_ids, values, labels, string_bytes, comments, sample_types;
  size_t bad_offset; /* where the wire format broke (when -1) */
} wire_cost;

/* Walks buf[0..len) as a Profile. Returns 0 with *c filled, or -1 when the
 * wire format is broken (c->bad_offset says where): a truncated varint or
 * length, a length past the end, a group or reserved wire type, field 0. */
int wire_profile_cost(const uint8_t *buf, size_t len, wire_cost *c);

/* Whether buf[0..len), the start of a serialized Profile that may go on,
 * is already broken at the top level (same rules; a field cut by the end of
 * the buffer is fine). Returns 0 when it may be good, -1 when it is not. */
int wire_profile_prefix_ok(const uint8_t *buf, size_t len, size_t *bad_offset);

#endif
