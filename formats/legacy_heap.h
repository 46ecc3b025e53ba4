/* legacy_heap.h: the text heap profiles other allocators write, read into a
 * pprof Profile, so that profiles users already have open in every command.
 * Overview: formats/README.md; the formats themselves in legacy_heap.c.
 *
 * - gperftools' (Google's tcmalloc of Debian's libtcmalloc.so.4): a first
 *   line `heap profile: N: B [ N: B] @ heapprofile` (HEAPPROFILE output,
 *   every allocation), `@ heap_v2/RATE` (sampled) or `@ heap/2*RATE` (older
 *   sampling), then `N: B [N: B] @ 0xADDR...` per stack.
 * - jemalloc's (what jeprof reads): a first line `heap_v2/RATE`, then per
 *   stack an `@ 0xADDR...` line followed by its `t*: N: B [N: B]` line and
 *   one `tI:` line per thread.
 * Both end with a `MAPPED_LIBRARIES:` section in /proc/PID/maps form.
 */
#ifndef FORMATS_LEGACY_HEAP_H
#define FORMATS_LEGACY_HEAP_H

#include <stddef.h>
#include <stdint.h>

typedef enum legacy_heap_kind {
  LEGACY_HEAP_NONE,     /* not a legacy heap profile */
  LEGACY_HEAP_GPERF,    /* first line "heap profile:" */
  LEGACY_HEAP_JEMALLOC, /* first line "heap_v2/" */
} legacy_heap_kind;

/* By the first line alone (leading blanks allowed). */
legacy_heap_kind legacy_heap_detect(const void *buf, size_t len);

/* Converts a whole legacy heap profile into a serialized (uncompressed)
 * Profile in *out (malloc'd, length *outlen), for profile_decode to check
 * and unpack. Sample types alloc_objects, alloc_space (only when the file
 * counts allocations, not just live objects), inuse_objects, inuse_space;
 * sampled values unsampled; period type space/bytes. Returns 0, or -1 with
 * a one-line message (no file name) in err[errlen] on a truncated or
 * corrupt file, or when out of memory. */
int legacy_heap_convert(const void *buf, size_t len, uint8_t **out, size_t *outlen, char *err,
                        size_t errlen);

#endif
