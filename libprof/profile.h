/* profile.h: one heap profile built and packed (profile.c), for the dumps
 * that write or serve it (dump.c). Overview of the profiler:
 * liballoc/mprof.h. */
#ifndef PROF_PROFILE_H
#define PROF_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#pragma GCC visibility push(hidden)

struct prof_dump_meta;
struct prof_dump_view;

/* Builds the profile of the heap as it is now, seen as view says (NULL: as
 * a dump), and packs it (uncompressed protobuf) into a malloc'd buffer.
 * meta: what the comments say started the dump (NULL: nothing). Call it
 * with the profiler guard held, and dump.c's lock, which guards the
 * symbolizer kept from one build to the next. Returns 0, or -1 with a
 * one-line message in err. */
int prof_profile_build(uint8_t **out, size_t *outlen, const struct prof_dump_meta *meta,
                       const struct prof_dump_view *view, char *err, size_t errlen);

/* In a fork child whose parent was building a profile: the symbolizer,
 * perhaps half updated, is forgotten (leaked), and a new one made at the
 * next build. */
void prof_profile_fork_child(void);

#pragma GCC visibility pop
#endif /* PROF_PROFILE_H */
