/* profile_io.h: read, validate and write whole pprof profiles in any container
 * (raw, gzip, zstd; folded text on output). Overview: formats/README.md.
 *
 * Calls that can fail return 0 on success and -1 on failure, with a one-line
 * message (no newline) in err[errlen] that starts with the file name (or the
 * name given for a buffer) and says what is wrong. Profiles returned here are
 * freed with profile_free(). Each carries the id index the validator built
 * (profile_index.h: profile_index_of), freed with it.
 */
#ifndef FORMATS_PROFILE_IO_H
#define FORMATS_PROFILE_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "container.h"
#include "profile_index.h"
#include "profile.pb-c.h"

typedef Perftools__Profiles__Profile profile_pb;

/* Reads path (any container, found by content), unpacks and validates it
 * (profile_validate). Fails on a missing, empty, truncated, corrupt or
 * inconsistent file, or one larger than CONTAINER_MAX_DECOMPRESSED. A zstd file
 * of several frames is a snapshot stream (stream.h) and is refused here. */
int profile_read_file(const char *path, profile_pb **out, char *err, size_t errlen);

/* A fileio_prefix_check (fileio.h) for reading a profile or a snapshot
 * stream: once PROFILE_INPUT_CHECK_AFTER bytes are in, it stops input that
 * is raw protobuf already broken at the top level (say /dev/zero) and gzip
 * or raw input past CONTAINER_MAX_DECOMPRESSED, without reading on. */
#define PROFILE_INPUT_CHECK_AFTER ((size_t)1 << 20)
int profile_input_check(void *ctx, const uint8_t *buf, size_t len, char *err, size_t errlen);

/* The same for a buffer; name (may be NULL) stands for the file in messages. */
int profile_read_buffer(const void *buf, size_t len, const char *name, profile_pb **out, char *err,
                        size_t errlen);

/* profile_read_buffer with its own decompressed size limit (0 = default). */
int profile_read_buffer_limit(const void *buf, size_t len, const char *name, size_t limit,
                              profile_pb **out, char *err, size_t errlen);

/* Unpacks and validates an uncompressed serialized Profile. Before
 * unpacking it prices the decoding from the wire format (wire_budget.h) and
 * refuses a profile that would take more than 32 MiB + 32 bytes of memory
 * per byte of input (empty samples by the million, say). */
int profile_decode(const void *pb, size_t len, const char *name, profile_pb **out, char *err,
                   size_t errlen);

/* Checks internal consistency: string_table[0] == "" and every string index in
 * range; ids of mappings, locations and functions nonzero and unique; every
 * sample's location ids, every location's mapping id (when nonzero) and every
 * line's function id exist; each sample has one value per sample type.
 * The message does not name a file. The readers above keep the id index
 * this builds (profile_index.h); called alone it keeps nothing. */
int profile_validate(const profile_pb *p, char *err, size_t errlen);

/* Frees a profile from any call in this header, with its index (NULL is
 * fine). */
void profile_free(profile_pb *p);

/* Index of the value that tools show by default: the sample type named by
 * default_sample_type, else the last one; -1 when there are no sample types. */
ssize_t profile_default_value_index(const profile_pb *p);

/* Serializes p (no container). */
int profile_pack(const profile_pb *p, uint8_t **out, size_t *outlen, char *err, size_t errlen);

/* Serializes p into kind; CONTAINER_FOLDED gives folded stacks of the default
 * value (profile_default_value_index). *out is malloc'd. */
int profile_write_buffer(const profile_pb *p, container_kind kind, uint8_t **out, size_t *outlen,
                         char *err, size_t errlen);

/* Writes p to path in the container its ending names (container_for_path),
 * all or nothing (fileio_write_atomic: private temporary, fsync, rename over
 * a regular file only); on failure nothing is left. */
int profile_write_file(const char *path, const profile_pb *p, char *err, size_t errlen);

/* The same for an already serialized Profile (e.g. from the builder). */
int profile_write_packed_file(const char *path, const void *pb, size_t len, char *err,
                              size_t errlen);

#endif
