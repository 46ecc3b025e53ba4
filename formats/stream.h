/* stream.h: the snapshot stream, an append-only file of zstd frames, each one
 * whole serialized pprof Profile, so that every frame decodes alone and a
 * process killed mid-write loses only its last, partial frame.
 * Overview: formats/README.md.
 */
#ifndef FORMATS_STREAM_H
#define FORMATS_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "profile.pb-c.h"

/* Compresses pb[0..len) (a serialized Profile) into one zstd frame (with
 * checksum; level <= 0 = default) and appends it to fd, which must be open
 * with O_APPEND, in a single write() (more only if the kernel writes less).
 * If the write fails or comes out short, the file is cut back to its previous
 * length so no partial frame stays behind; that assumes a single writer per
 * file. SIGXFSZ is blocked during the write: over a file size limit it fails
 * with an EFBIG message instead of killing the process. Returns 0, or -1 with a message in err. */
int stream_append_fd(int fd, const void *pb, size_t len, int level, char *err, size_t errlen);

/* Opens path for appending frames: O_WRONLY | O_APPEND | O_CREAT, mode 0600
 * (less the umask) when it creates the file, never following a symbolic
 * link, and only a regular file (a fifo, device or directory there is
 * refused; opening does not block on a fifo). Returns the descriptor, or -1
 * with a message that starts with path. The profiler opens its
 * ALLOCPROF_STREAM file with this. */
int stream_open_append(const char *path, char *err, size_t errlen);

/* Opens path with stream_open_append, appends one frame as stream_append_fd
 * does, closes it. Messages start with path. */
int stream_append(const char *path, const void *pb, size_t len, char *err, size_t errlen);

/* What a read found besides the good frames. */
typedef struct stream_report {
  size_t frames;        /* good frames handed to the callback */
  size_t bad_frames;    /* complete frames that failed to decompress (skipped) */
  size_t skipped_bytes; /* unparseable bytes skipped to reach the next frame */
  int truncated;        /* the data ends inside a frame */
  uint64_t truncated_offset;
  size_t truncated_bytes; /* length of that partial frame */
  char message[256];      /* one line about any damage; "" when there is none */
} stream_report;

/* Called with each good frame's uncompressed bytes (valid during the call
 * only); index counts good frames from 0, offset is the frame's position in
 * the file. A nonzero return stops the walk and becomes the return value. */
typedef int (*stream_frame_fn)(void *ctx, size_t index, uint64_t offset, const uint8_t *pb,
                               size_t len);

/* Walks the frames of buf (frame sizes from ZSTD_findFrameCompressedSize),
 * skipping skippable frames, skipping and counting corrupt frames, and
 * stopping at a truncated last frame; damage is described in *rep (may be
 * NULL) and is not an error. Returns 0, the callback's nonzero value, or -1
 * when the data is not a stream at all (err names the input, or name). An
 * empty input is a stream of no frames. */
int stream_read_buffer(const void *buf, size_t len, const char *name, stream_frame_fn fn, void *ctx,
                       stream_report *rep, char *err, size_t errlen);

/* stream_read_buffer with its own limit on each frame's decompressed size
 * (0 = CONTAINER_MAX_DECOMPRESSED); a frame over it counts as corrupt. */
int stream_read_buffer_limit(const void *buf, size_t len, const char *name, size_t frame_limit,
                             stream_frame_fn fn, void *ctx, stream_report *rep, char *err,
                             size_t errlen);

/* stream_read_buffer, but each good frame's uncompressed bytes are handed
 * over (malloc'd; the callback frees them, also when it returns nonzero),
 * so a reader that keeps them need not copy them. The walk only ever moves
 * forward: once a frame at offset is handed over, buf[0..offset) is not
 * read again. */
typedef int (*stream_frame_take_fn)(void *ctx, size_t index, uint64_t offset, uint8_t *pb,
                                    size_t len);
int stream_read_buffer_take(const void *buf, size_t len, const char *name,
                            stream_frame_take_fn take, void *ctx, stream_report *rep, char *err,
                            size_t errlen);

/* The same for the file at path (read whole). */
int stream_read_file(const char *path, stream_frame_fn fn, void *ctx, stream_report *rep, char *err,
                     size_t errlen);

/* The last good snapshot of the stream at path, unpacked and validated (free
 * with profile_free), and its frame index in *index (may be NULL). Fails when
 * there is none. */
int stream_read_last(const char *path, Perftools__Profiles__Profile **out, size_t *index,
                     stream_report *rep, char *err, size_t errlen);

#endif
