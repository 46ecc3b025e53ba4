/* profile_index.h: the one lookup from a profile's ids to its entries:
 * mapping, location and function id -> position in p->mapping[],
 * p->location[], p->function[]. Samples name locations, locations name
 * mappings and functions, by id; everything that follows those references
 * (the validator, folded stacks, the merge, the command's reports and
 * filters) takes its lookups from here. Overview: formats/README.md.
 *
 * Built once, by the validator (profile_io.h): building it is the check
 * that ids are nonzero and unique, so an index exists only for ids that
 * are. Every profile this library hands out (the readers of profile_io.h
 * and stream.h, profile_builder_build) carries its index until
 * profile_free; profile_index_of finds it. protobuf-c's Profile struct,
 * which every caller holds, has no room for it, so the library keeps a
 * table from profile to index beside it (thread-safe).
 *
 * The tables are the seeded hashtab.h: ids come from the input, and an
 * unseeded table lets a file choose ids that share one probe chain
 * (quadratic). Each table is sized once for its entries: at most 48 bytes
 * per entry (slots of 12 bytes, at least half empty), which the decoding
 * budget counts (wire_budget.c, READER_PER_ENTRY).
 *
 * The rule for code that changes a profile that has an index: positions
 * are stored, so the index stays right while no mapping, location or
 * function is removed, moved or given another id. Dropping samples or a
 * location's lines and changing other fields needs nothing. A function
 * appended at the end of p->function is looked up only once recorded with
 * profile_index_add_function (cli/frames.c does that). Anything else:
 * profile_index_free the old one and build a new one.
 */
#ifndef FORMATS_PROFILE_INDEX_H
#define FORMATS_PROFILE_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "profile.pb-c.h"

typedef struct profile_index profile_index;

/* Indexes p's mappings, locations and functions (in that order). Fails
 * with the validator's messages on an id 0 ("invalid profile: location 3
 * has id 0") or a repeated id ("invalid profile: duplicate function id
 * 7"), or when out of memory. Returns the index (it keeps p's address: it
 * is p's alone), or NULL with a message in err[errlen]. */
profile_index *profile_index_build(const Perftools__Profiles__Profile *p, char *err, size_t errlen);

/* Frees an index (NULL is fine). Not one attached to a profile: that one
 * goes with profile_free. */
void profile_index_free(profile_index *ix);

/* The position of the entry with this id in its array of the indexed
 * profile, or -1 when there is none (id 0 never has one). */
long profile_index_mapping(const profile_index *ix, uint64_t id);
long profile_index_location(const profile_index *ix, uint64_t id);
long profile_index_function(const profile_index *ix, uint64_t id);

/* Records the function at position i == the number indexed so far (just
 * appended to the indexed profile's p->function). Fails on id 0, an id
 * already there, or out of memory: 0, or -1 with a message. */
int profile_index_add_function(profile_index *ix, size_t i, char *err, size_t errlen);

/* The index built when p was read (or built, profile_builder_build), or
 * NULL for a profile from elsewhere (assembled by hand, unpacked directly). */
const profile_index *profile_index_of(const Perftools__Profiles__Profile *p);

/* The same for a caller that changes p (see the rule above). */
profile_index *profile_index_of_mut(Perftools__Profiles__Profile *p);

/* p's own index when it has one; else a new one in *own, which the caller
 * frees (profile_index_free(*own)) when done. *own is NULL unless built.
 * NULL with a message (profile_index_build's) on failure. */
const profile_index *profile_index_use(const Perftools__Profiles__Profile *p, profile_index **own,
                                       char *err, size_t errlen);

/* For the library's readers: p keeps ix (built over p) until
 * profile_index_detach, which profile_free calls. Returns 0, or -1 when
 * out of memory (ix is then freed). */
int profile_index_attach(const Perftools__Profiles__Profile *p, profile_index *ix);
void profile_index_detach(const Perftools__Profiles__Profile *p);

#endif /* FORMATS_PROFILE_INDEX_H */
