/* profile_values.h: the values of a bucket's sample, as a full profile has
 * them and as a delta profile differences them (profile_values.c), for the
 * profile builder (profile.c). Overview of the profiler: liballoc/mprof.h. */
#ifndef PROF_PROFILE_VALUES_H
#define PROF_PROFILE_VALUES_H

#include <stdbool.h>
#include <stdint.h>

#pragma GCC visibility push(hidden)

struct prof_bucket_snap;
struct prof_dump_base;

/* A sample's values, in the order of the profile's sample types: Go's four
 * (alloc_objects, alloc_space, inuse_objects, inuse_space), then the peak's
 * two (peak_inuse_objects, peak_inuse_space). */
enum { PROF_NVALUES = 6 };

/* s's values unsampled at rate as a full profile shows them (Go's
 * scaleHeapSample: one factor, of the bucket's mean size, for them all). */
void prof_bucket_values(const struct prof_bucket_snap *s, uint64_t rate, int64_t out[PROF_NVALUES]);

/* s's values in the profile since base (dump.h): those of now, at rate,
 * minus those base's own profile gave the same bucket (none if it had no
 * such bucket yet), each side with its own factor, every value differenced
 * (some may be negative). With base NULL, the full profile's. Returns
 * whether any value is not zero: a sample whose values are all zero is
 * left out, as pprof's Merge leaves it out of a Go delta profile. */
bool prof_sample_values(const struct prof_dump_base *base, const struct prof_bucket_snap *s,
                        uint64_t rate, int64_t out[PROF_NVALUES]);

/* When base was taken: unix time in ns. */
int64_t prof_dump_base_time(const struct prof_dump_base *base);

#pragma GCC visibility pop
#endif /* PROF_PROFILE_VALUES_H */
