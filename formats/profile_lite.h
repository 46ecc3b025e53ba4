/* profile_lite.h: a quick, partial decoding of a serialized Profile, for the
 * readers of long snapshot streams (cli/series.c) that decode thousands of
 * profiles whose tables repeat. Overview: formats/README.md.
 *
 * What it decodes: the header (sample types, period, time, comments, the
 * other profile-wide fields) and the samples, into one Profile struct whose
 * arrays live in a few flat allocations instead of one per message (what
 * makes protobuf-c slow here: 10,000 samples are 30,000 mallocs and frees);
 * the whole string table, copied. What it leaves on the wire: the tables
 * that name frames (mappings, locations, functions), kept as slices of the
 * input, so that a reader that has already decoded identical tables (the
 * previous snapshot's) can reuse what it made of them.
 *
 * The contract: profile_lite_decode accepts only input that profile_decode
 * (profile_io.h) accepts, and then its header and samples are what
 * profile_decode gives. It refuses (returns 1) whatever it is not sure of:
 * a wire format it does not expect (an unknown field, a scalar repeated in
 * unpacked form, a 10-byte varint), input that profile_decode's budget or
 * validator would refuse (as far as the header and samples say), and the
 * caller then uses profile_decode, which says what is wrong. Two checks
 * are the caller's, because they need the tables: that every sample's
 * location ids exist (the ids' range is given), and that the tables are
 * valid (the caller reuses tables only when they are byte for byte those of
 * a profile profile_decode accepted, with the strings they name).
 */
#ifndef FORMATS_PROFILE_LITE_H
#define FORMATS_PROFILE_LITE_H

#include <stddef.h>
#include <stdint.h>

#include "profile.pb-c.h"

/* One table field as it is on the wire (its payload). */
typedef struct profile_lite_field {
  uint32_t num;        /* 3 mapping, 4 location, 5 function */
  const uint8_t *wire; /* the field's first byte: its tag, which with its
                        * length may take more bytes than needed (protobuf
                        * allows overlong varints) */
  const uint8_t *data;
  size_t len;
} profile_lite_field;

typedef struct profile_lite {
  /* The header and the samples; n_mapping, n_location and n_function are 0
   * (the tables are below). Not for profile_free: profile_lite_free. */
  Perftools__Profiles__Profile pb;
  const size_t *string_len;         /* bytes of each string (a NUL may be inside) */
  const profile_lite_field *tables; /* the table fields, in input order: slices of the input */
  size_t ntables;
  size_t n_mapping, n_location, n_function;  /* how many the tables hold */
  uint64_t tables_hash;                      /* of the table fields' numbers and bytes */
  uint64_t min_location_id, max_location_id; /* over all samples' ids; 0, 0 when none */
  void *mem;                                 /* internal: the flat allocations */
} profile_lite;

/* Decodes pb[0..len) (an uncompressed serialized Profile) as above. Returns
 * 0 with *out set (free it with profile_lite_free; its table slices point
 * into pb, which must outlive it), 1 when the input is not for this
 * decoder (use profile_decode), -1 when out of memory. spare: a
 * profile_lite the caller is done with, or NULL; its memory is reused
 * (which saves faulting in fresh pages for every snapshot), and it is
 * gone either way. */
int profile_lite_decode(const void *pb, size_t len, profile_lite *spare, profile_lite **out);

void profile_lite_free(profile_lite *l);

#endif
