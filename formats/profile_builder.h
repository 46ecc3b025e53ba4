/* profile_builder.h: build a pprof Profile piece by piece (strings, sample
 * types, mappings, functions, locations, samples) with deduplication, then
 * serialize it, without handling protobuf-c structures. Used by the profiler
 * (libprof) and the CLI. Overview: formats/README.md.
 *
 * Ids handed out are 1, 2, 3... per table, in order of first appearance.
 * Calls that return an id return 0 on failure; calls that return int return 0
 * on success and -1 on failure. Out of memory makes the builder fail every
 * later call (profile_builder_ok() tells). A builder is not thread-safe. It
 * allocates with malloc: the profiler must use it with sampling switched off.
 */
#ifndef FORMATS_PROFILE_BUILDER_H
#define FORMATS_PROFILE_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile.pb-c.h"

typedef struct profile_builder profile_builder;

typedef struct profile_mapping_info {
  uint64_t memory_start, memory_limit, file_offset;
  const char *filename; /* NULL = "" */
  const char *build_id; /* NULL = "" */
  bool has_functions, has_filenames, has_line_numbers, has_inline_frames;
} profile_mapping_info;

typedef struct profile_line {
  uint64_t function_id; /* from profile_builder_add_function */
  int64_t line;
  int64_t column;
} profile_line;

/* A sample label: a string value (str != NULL) or a number with an optional
 * unit (str == NULL; num_unit NULL = none). */
typedef struct profile_label {
  const char *key;
  const char *str;
  int64_t num;
  const char *num_unit;
} profile_label;

profile_builder *profile_builder_new(void);
void profile_builder_free(profile_builder *b); /* NULL is fine */

/* 1 while no allocation has failed, 0 after. */
int profile_builder_ok(const profile_builder *b);

/* Index of s in the string table, adding it if new; "" and NULL are index 0.
 * -1 when out of memory. */
int64_t profile_builder_string(profile_builder *b, const char *s);

/* Appends a sample type; all must be added before the first sample. */
int profile_builder_add_sample_type(profile_builder *b, const char *type, const char *unit);
size_t profile_builder_sample_types(const profile_builder *b);

/* Profile-wide fields. */
int profile_builder_set_period(profile_builder *b, const char *type, const char *unit,
                               int64_t period);
void profile_builder_set_time(profile_builder *b, int64_t time_nanos, int64_t duration_nanos);
int profile_builder_set_default_sample_type(profile_builder *b, const char *type);
int profile_builder_add_comment(profile_builder *b, const char *text);
int profile_builder_set_drop_frames(profile_builder *b, const char *regex);
int profile_builder_set_keep_frames(profile_builder *b, const char *regex);
int profile_builder_set_doc_url(profile_builder *b, const char *url);

/* Mapping id; an identical mapping (all fields) returns its existing id. */
uint64_t profile_builder_add_mapping(profile_builder *b, const profile_mapping_info *m);

/* Function id, deduplicated by (name, system_name, filename, start_line).
 * NULL strings are "". */
uint64_t profile_builder_add_function(profile_builder *b, const char *name, const char *system_name,
                                      const char *filename, int64_t start_line);

/* Location id, deduplicated by (mapping_id, address, lines, is_folded).
 * mapping_id is 0 (none) or an id from add_mapping; lines[0] is the innermost
 * inlined function, lines[nlines - 1] the caller that contains them. */
uint64_t profile_builder_add_location(profile_builder *b, uint64_t mapping_id, uint64_t address,
                                      const profile_line *lines, size_t nlines, bool is_folded);

/* Adds a sample: location ids leaf first, one value per sample type. A
 * sample with the same locations and labels as an earlier one is merged into
 * it (values summed). */
int profile_builder_add_sample(profile_builder *b, const uint64_t *location_ids, size_t nlocs,
                               const int64_t *values, size_t nvalues, const profile_label *labels,
                               size_t nlabels);

/* Adds every sample of a valid profile (profile_validate), remapping its
 * strings, mappings, functions and locations, each value multiplied by
 * multiplier (1 merges, -1 subtracts for a diff). An empty builder takes src's
 * sample types, period and time; otherwise the sample types must match.
 * src's ids are looked up in its index (profile_index.h), or one built
 * here for a profile without. */
int profile_builder_add_profile(profile_builder *b, const Perftools__Profiles__Profile *src,
                                int64_t multiplier, char *err, size_t errlen);

/* profile_builder_add_profile, with label extra added to every sample of
 * src that has no label of the same key (NULL: none). merge uses it to put
 * each input's sampling period on its samples when the inputs' periods
 * differ. */
int profile_builder_add_profile_labeled(profile_builder *b, const Perftools__Profiles__Profile *src,
                                        int64_t multiplier, const profile_label *extra, char *err,
                                        size_t errlen);

/* Serialized Profile (malloc'd) in *out. The builder stays usable. */
int profile_builder_pack(const profile_builder *b, uint8_t **out, size_t *outlen);

/* The same profile unpacked, with its id index (profile_index_of); free
 * with profile_free() (profile_io.h). */
int profile_builder_build(const profile_builder *b, Perftools__Profiles__Profile **out);

/* Packs and writes to path in the container its ending names, all or nothing
 * (profile_write_packed_file). err as in profile_io.h. */
int profile_builder_write_file(const profile_builder *b, const char *path, char *err,
                               size_t errlen);

#endif
