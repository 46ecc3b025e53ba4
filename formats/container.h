/* container.h: the byte containers a profile travels in (raw protobuf, gzip,
 * zstd, folded text): detection by content, choice by file name, whole-buffer
 * compression and bounded decompression. Overview: formats/README.md.
 *
 * Every call that can fail returns 0 on success and -1 on failure, writing a
 * one-line reason (no file name, no newline) to err[errlen]; output buffers
 * come from malloc and belong to the caller.
 */
#ifndef FORMATS_CONTAINER_H
#define FORMATS_CONTAINER_H

#include <stddef.h>
#include <stdint.h>

typedef enum container_kind {
  CONTAINER_RAW,    /* a serialized perftools.profiles.Profile */
  CONTAINER_GZIP,   /* gzip (RFC 1952) around it: what `go tool pprof` reads */
  CONTAINER_ZSTD,   /* zstd frame(s) around it */
  CONTAINER_FOLDED, /* folded stacks text (written only) */
} container_kind;

/* Refused above this many decompressed bytes (1 GiB). */
#define CONTAINER_MAX_DECOMPRESSED ((size_t)1 << 30)

/* Default compression levels. */
#define CONTAINER_GZIP_LEVEL 6
#define CONTAINER_ZSTD_LEVEL 3

/* By the first bytes: gzip (1f 8b), zstd (28 b5 2f fd), otherwise raw. */
container_kind container_detect(const void *buf, size_t len);

/* By the path's ending: .gz (.pb.gz) gzip, .zst (.pb.zst) zstd, .pb raw,
 * .folded folded text; any other ending gzip, pprof's on-disk convention. */
container_kind container_for_path(const char *path);

/* "raw", "gzip", "zstd" or "folded". */
const char *container_name(container_kind kind);

/* Compresses in[0..len) whole into *out (raw: a copy). level <= 0 picks the
 * default. CONTAINER_FOLDED is refused (it is not a byte container). */
int container_compress(container_kind kind, const void *in, size_t len, int level, uint8_t **out,
                       size_t *outlen, char *err, size_t errlen);

/* Decompresses all of in (gzip: every member; zstd: every frame, skippable
 * frames ignored) into *out. Fails on truncated, corrupt or trailing data and
 * when the output would exceed limit bytes (0 = CONTAINER_MAX_DECOMPRESSED).
 * kind must be CONTAINER_GZIP or CONTAINER_ZSTD. */
int container_decompress(container_kind kind, const void *in, size_t len, size_t limit,
                         uint8_t **out, size_t *outlen, char *err, size_t errlen);

/* Number of data frames (skippable frames excluded) in a zstd buffer, or -1
 * when it is not a whole sequence of frames. */
long container_zstd_frames(const void *in, size_t len);

#endif
