/* stream.c: appending zstd frames to a snapshot stream and walking them back,
 * resynchronising on the frame magic after damage. Contract: stream.h. */
#include "stream.h"
#include "errmsg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "container.h"
#include "fileio.h"
#include "profile_io.h"

static const uint8_t frame_magic[4] = {0x28, 0xb5, 0x2f, 0xfd};

static int is_frame(const uint8_t *p, size_t len) {
  return len >= 4 && memcmp(p, frame_magic, 4) == 0;
}

static int is_skippable(const uint8_t *p, size_t len) {
  return len >= 4 && (p[0] & 0xf0) == 0x50 && p[1] == 0x2a && p[2] == 0x4d && p[3] == 0x18;
}

/* ---- appending ---- */

int stream_append_fd(int fd, const void *pb, size_t len, int level, char *err, size_t errlen) {
  uint8_t *frame = NULL;
  size_t flen = 0;
  if (container_compress(CONTAINER_ZSTD, pb, len, level, &frame, &flen, err, errlen) != 0)
    return -1;
  struct stat st;
  off_t before = fstat(fd, &st) == 0 ? st.st_size : -1;
  int wrc = fileio_write_full(fd, frame, flen);
  int saved = errno;
  free(frame);
  if (wrc == 0) return 0;
  if (before >= 0 && fstat(fd, &st) == 0 && st.st_size > before && ftruncate(fd, before) != 0) {
    formats_set_err(err, errlen,
                    "cannot append a %zu-byte frame (%s), and cutting it off "
                    "failed: %s",
                    flen, strerror(saved), strerror(errno));
    return -1;
  }
  if (saved == EFBIG)
    formats_set_err(err, errlen,
                    "cannot append a %zu-byte frame: %s (EFBIG: over the file size "
                    "limit, ulimit -f)",
                    flen, strerror(saved));
  else
    formats_set_err(err, errlen, "cannot append a %zu-byte frame: %s", flen, strerror(saved));
  return -1;
}

int stream_open_append(const char *path, char *err, size_t errlen) {
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == ELOOP)
      formats_set_err(err, errlen, "%s: is a symbolic link: refusing to follow it", path);
    else
      formats_set_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    formats_set_err(err, errlen, "%s: not a regular file: refusing to append to it", path);
    close(fd);
    return -1;
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  return fd;
}

int stream_append(const char *path, const void *pb, size_t len, char *err, size_t errlen) {
  int fd = stream_open_append(path, err, errlen);
  if (fd < 0) return -1;
  int rc = stream_append_fd(fd, pb, len, 0, err, errlen);
  if (close(fd) != 0 && rc == 0) {
    formats_set_err(err, errlen, "close failed: %s", strerror(errno));
    rc = -1;
  }
  if (rc != 0 && err && errlen) {
    char *msg = strdup(err);
    if (msg) {
      snprintf(err, errlen, "%s: %s", path, msg);
      free(msg);
    }
  }
  return rc;
}

/* ---- reading ---- */

/* Offset of the next frame magic at or after from, or len. */
static size_t next_magic(const uint8_t *p, size_t len, size_t from) {
  while (from + 4 <= len) {
    const uint8_t *hit = memchr(p + from, frame_magic[0], len - from - 3);
    if (!hit) break;
    size_t at = (size_t)(hit - p);
    if (memcmp(hit, frame_magic, 4) == 0) return at;
    from = at + 1;
  }
  return len;
}

static void describe(stream_report *r) {
  char *m = r->message;
  size_t n = sizeof r->message, used = 0;
  m[0] = 0;
  if (r->bad_frames)
    used += (size_t)snprintf(m + used, n - used, "%zu corrupt frame%s skipped; ", r->bad_frames,
                             r->bad_frames == 1 ? "" : "s");
  if (r->skipped_bytes && used < n)
    used +=
        (size_t)snprintf(m + used, n - used, "%zu unreadable bytes skipped; ", r->skipped_bytes);
  if (r->truncated && used < n)
    used += (size_t)snprintf(m + used, n - used,
                             "truncated final frame at offset %llu (%zu bytes) ignored; ",
                             (unsigned long long)r->truncated_offset, r->truncated_bytes);
  if (used && used < n)
    snprintf(m + used, n - used, "kept %zu good frame%s", r->frames, r->frames == 1 ? "" : "s");
}

/* The walk of stream_read_buffer_limit, with either callback: fn sees
 * each frame's bytes, take gets them (malloc'd). */
static int walk(const void *buf, size_t len, const char *name, size_t frame_limit,
                stream_frame_fn fn, stream_frame_take_fn take, void *ctx, stream_report *rep,
                char *err, size_t errlen) {
  const uint8_t *p = buf;
  stream_report local;
  stream_report *r = rep ? rep : &local;
  memset(r, 0, sizeof *r);
  if (!name) name = "<buffer>";
  if (len > 0 && !is_frame(p, len) && !is_skippable(p, len) &&
      !(len < 4 && memcmp(p, frame_magic, len) == 0)) {
    formats_set_err(err, errlen, "%s: not a snapshot stream (no zstd frame at the start)", name);
    return -1;
  }
  size_t off = 0;
  int rc = 0;
  while (off < len) {
    const uint8_t *at = p + off;
    size_t rest = len - off;
    size_t n = ZSTD_findFrameCompressedSize(at, rest);
    if (ZSTD_isError(n) || n == 0) {
      /* Damaged or cut short: look for the next frame after this point. */
      size_t next = next_magic(p, len, off + 1);
      if (next < len) {
        r->skipped_bytes += next - off;
        off = next;
        continue;
      }
      if (ZSTD_getErrorCode(n) == ZSTD_error_srcSize_wrong || rest < 4) {
        r->truncated = 1;
        r->truncated_offset = off;
        r->truncated_bytes = rest;
      } else {
        r->skipped_bytes += rest;
      }
      break;
    }
    if (is_skippable(at, rest)) {
      off += n;
      continue;
    }
    uint8_t *pb = NULL;
    size_t pblen = 0;
    char why[128];
    if (container_decompress(CONTAINER_ZSTD, at, n, frame_limit, &pb, &pblen, why, sizeof why) !=
        0) {
      r->bad_frames++;
      off += n;
      continue;
    }
    if (take) {
      rc = take(ctx, r->frames, off, pb, pblen);
    } else {
      if (fn) rc = fn(ctx, r->frames, off, pb, pblen);
      free(pb);
    }
    r->frames++;
    off += n;
    if (rc != 0) break;
  }
  describe(r);
  return rc;
}

int stream_read_buffer_limit(const void *buf, size_t len, const char *name, size_t frame_limit,
                             stream_frame_fn fn, void *ctx, stream_report *rep, char *err,
                             size_t errlen) {
  return walk(buf, len, name, frame_limit, fn, NULL, ctx, rep, err, errlen);
}

int stream_read_buffer_take(const void *buf, size_t len, const char *name,
                            stream_frame_take_fn take, void *ctx, stream_report *rep, char *err,
                            size_t errlen) {
  return walk(buf, len, name, 0, NULL, take, ctx, rep, err, errlen);
}

int stream_read_buffer(const void *buf, size_t len, const char *name, stream_frame_fn fn, void *ctx,
                       stream_report *rep, char *err, size_t errlen) {
  return stream_read_buffer_limit(buf, len, name, 0, fn, ctx, rep, err, errlen);
}

int stream_read_file(const char *path, stream_frame_fn fn, void *ctx, stream_report *rep, char *err,
                     size_t errlen) {
  uint8_t *buf = NULL;
  size_t len = 0;
  if (rep) memset(rep, 0, sizeof *rep);
  /* A stream may hold many snapshots: allow it four times the single limit. */
  if (fileio_read_all(path, 4 * CONTAINER_MAX_DECOMPRESSED, &buf, &len, err, errlen) != 0)
    return -1;
  int rc = stream_read_buffer(buf, len, path, fn, ctx, rep, err, errlen);
  free(buf);
  return rc;
}

typedef struct last_ctx {
  const char *path;
  Perftools__Profiles__Profile *p;
  size_t index;
  char why[256];
} last_ctx;

static int keep_last(void *vctx, size_t index, uint64_t offset, const uint8_t *pb, size_t len) {
  last_ctx *c = vctx;
  Perftools__Profiles__Profile *p = NULL;
  (void)offset;
  if (profile_decode(pb, len, c->path, &p, c->why, sizeof c->why) != 0) return 0;
  profile_free(c->p);
  c->p = p;
  c->index = index;
  return 0;
}

int stream_read_last(const char *path, Perftools__Profiles__Profile **out, size_t *index,
                     stream_report *rep, char *err, size_t errlen) {
  last_ctx c = {.path = path};
  *out = NULL;
  if (stream_read_file(path, keep_last, &c, rep, err, errlen) != 0) {
    profile_free(c.p);
    return -1;
  }
  if (!c.p) {
    if (c.why[0])
      formats_set_err(err, errlen, "%s", c.why);
    else
      formats_set_err(err, errlen, "%s: no complete snapshot in the stream", path);
    return -1;
  }
  *out = c.p;
  if (index) *index = c.index;
  return 0;
}
