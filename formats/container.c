/* container.c: gzip (zlib) and zstd around serialized profiles, whole buffers
 * at a time, with a hard bound on decompressed size. Contract: container.h. */
#include "container.h"
#include "errmsg.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

/* ---- helpers ---- */

static int has_suffix(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Grows *buf so that it holds more than *cap bytes, never beyond max bytes.
 * Returns 0, or -1 when out of memory. The caller checks the bound itself. */
static int grow(uint8_t **buf, size_t *cap, size_t max) {
  size_t ncap = *cap < 4096 ? 4096 : *cap * 2;
  if (ncap > max) ncap = max;
  if (ncap <= *cap) return 0;
  uint8_t *nb = realloc(*buf, ncap);
  if (!nb) return -1;
  *buf = nb;
  *cap = ncap;
  return 0;
}

static int zstd_is_skippable(const uint8_t *p, size_t len) {
  return len >= 4 && (p[0] & 0xf0) == 0x50 && p[1] == 0x2a && p[2] == 0x4d && p[3] == 0x18;
}

static int zstd_is_frame(const uint8_t *p, size_t len) {
  return len >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd;
}

static const char *size_text(size_t n, char *buf, size_t buflen) {
  if (n % ((size_t)1 << 30) == 0)
    snprintf(buf, buflen, "%zu GiB", n >> 30);
  else if (n % ((size_t)1 << 20) == 0)
    snprintf(buf, buflen, "%zu MiB", n >> 20);
  else
    snprintf(buf, buflen, "%zu bytes", n);
  return buf;
}

/* The output buffer is full: grows it, or says why it cannot (the limit
 * on decompressed size, or memory) and returns -1. */
static int make_room(uint8_t **buf, size_t *cap, size_t limit, const char *what, char *err,
                     size_t errlen) {
  if (*cap > limit) {
    char sz[32];
    formats_set_err(err, errlen, "decompressed size exceeds the limit of %s",
                    size_text(limit, sz, sizeof sz));
    return -1;
  }
  if (grow(buf, cap, limit + 1) != 0) {
    formats_set_err(err, errlen, "%s: out of memory", what);
    return -1;
  }
  return 0;
}

/* ---- detection ---- */

container_kind container_detect(const void *buf, size_t len) {
  const uint8_t *p = buf;
  if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b) return CONTAINER_GZIP;
  if (zstd_is_frame(p, len) || zstd_is_skippable(p, len)) return CONTAINER_ZSTD;
  return CONTAINER_RAW;
}

container_kind container_for_path(const char *path) {
  if (has_suffix(path, ".folded")) return CONTAINER_FOLDED;
  if (has_suffix(path, ".zst")) return CONTAINER_ZSTD;
  if (has_suffix(path, ".gz")) return CONTAINER_GZIP;
  if (has_suffix(path, ".pb")) return CONTAINER_RAW;
  return CONTAINER_GZIP;
}

const char *container_name(container_kind kind) {
  switch (kind) {
    case CONTAINER_RAW: return "raw";
    case CONTAINER_GZIP: return "gzip";
    case CONTAINER_ZSTD: return "zstd";
    case CONTAINER_FOLDED: return "folded";
  }
  return "unknown";
}

/* ---- gzip ---- */

static int gzip_compress(const uint8_t *in, size_t len, int level, uint8_t **out, size_t *outlen,
                         char *err, size_t errlen) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    formats_set_err(err, errlen, "gzip: cannot start compressor");
    return -1;
  }
  size_t cap = deflateBound(&zs, len) + 64;
  uint8_t *buf = malloc(cap);
  if (!buf) {
    deflateEnd(&zs);
    formats_set_err(err, errlen, "gzip: out of memory");
    return -1;
  }
  size_t fed = 0, used = 0;
  int ret = Z_STREAM_ERROR;
  do {
    if (zs.avail_in == 0 && fed < len) {
      size_t n = len - fed > UINT_MAX ? UINT_MAX : len - fed;
      zs.next_in = (Bytef *)(in + fed);
      zs.avail_in = (uInt)n;
      fed += n;
    }
    if (used == cap && grow(&buf, &cap, SIZE_MAX) != 0) break;
    size_t room = cap - used > UINT_MAX ? UINT_MAX : cap - used;
    zs.next_out = buf + used;
    zs.avail_out = (uInt)room;
    ret = deflate(&zs, fed == len ? Z_FINISH : Z_NO_FLUSH);
    used += room - zs.avail_out;
  } while (ret == Z_OK || ret == Z_BUF_ERROR);
  deflateEnd(&zs);
  if (ret != Z_STREAM_END) {
    free(buf);
    formats_set_err(err, errlen, "gzip: compression failed");
    return -1;
  }
  *out = buf;
  *outlen = used;
  return 0;
}

static int gzip_decompress(const uint8_t *in, size_t len, size_t limit, uint8_t **out,
                           size_t *outlen, char *err, size_t errlen) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (inflateInit2(&zs, 15 + 16) != Z_OK) {
    formats_set_err(err, errlen, "gzip: cannot start decompressor");
    return -1;
  }
  char sz[32];
  uint8_t *buf = NULL;
  size_t cap = 0, used = 0, fed = 0;
  int rc = -1;
  for (;;) {
    if (zs.avail_in == 0 && fed < len) {
      size_t n = len - fed > UINT_MAX ? UINT_MAX : len - fed;
      zs.next_in = (Bytef *)(in + fed);
      zs.avail_in = (uInt)n;
      fed += n;
    }
    if (used == cap && make_room(&buf, &cap, limit, "gzip", err, errlen) != 0) break;
    size_t room = cap - used > UINT_MAX ? UINT_MAX : cap - used;
    zs.next_out = buf + used;
    zs.avail_out = (uInt)room;
    int ret = inflate(&zs, Z_NO_FLUSH);
    used += room - zs.avail_out;
    if (used > limit) {
      formats_set_err(err, errlen, "decompressed size exceeds the limit of %s",
                      size_text(limit, sz, sizeof sz));
      break;
    }
    if (ret == Z_STREAM_END) {
      size_t rest = zs.avail_in + (len - fed);
      size_t i = len - rest;
      if (rest == 0) {
        rc = 0;
        break;
      }
      if (rest >= 2 && in[i] == 0x1f && in[i + 1] == 0x8b) {
        inflateReset(&zs); /* another gzip member follows */
        continue;
      }
      while (i < len && in[i] == 0) i++;
      if (i == len) { /* zero padding after the last member */
        rc = 0;
        break;
      }
      formats_set_err(err, errlen, "trailing garbage after gzip data (%zu bytes)", rest);
      break;
    }
    if (ret == Z_OK || ret == Z_BUF_ERROR) {
      if (zs.avail_in == 0 && fed == len && zs.avail_out > 0) {
        formats_set_err(err, errlen, "truncated gzip data (input ends after %zu bytes)", len);
        break;
      }
      continue; /* more output room or more input needed */
    }
    if (ret == Z_MEM_ERROR)
      formats_set_err(err, errlen, "gzip: out of memory");
    else
      formats_set_err(err, errlen, "corrupt gzip data (%s)", zs.msg ? zs.msg : "bad stream");
    break;
  }
  inflateEnd(&zs);
  if (rc != 0) {
    free(buf);
    return -1;
  }
  *out = buf;
  *outlen = used;
  return 0;
}

/* ---- zstd ---- */

static int zstd_compress(const uint8_t *in, size_t len, int level, uint8_t **out, size_t *outlen,
                         char *err, size_t errlen) {
  ZSTD_CCtx *c = ZSTD_createCCtx();
  size_t cap = ZSTD_compressBound(len);
  uint8_t *buf = malloc(cap ? cap : 1);
  if (!c || !buf) {
    ZSTD_freeCCtx(c);
    free(buf);
    formats_set_err(err, errlen, "zstd: out of memory");
    return -1;
  }
  ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
  size_t n = ZSTD_compress2(c, buf, cap, in, len);
  ZSTD_freeCCtx(c);
  if (ZSTD_isError(n)) {
    free(buf);
    formats_set_err(err, errlen, "zstd: compression failed (%s)", ZSTD_getErrorName(n));
    return -1;
  }
  *out = buf;
  *outlen = n;
  return 0;
}

static int zstd_decompress(const uint8_t *in, size_t len, size_t limit, uint8_t **out,
                           size_t *outlen, char *err, size_t errlen) {
  if (len == 0) {
    formats_set_err(err, errlen, "truncated zstd data (no input)");
    return -1;
  }
  ZSTD_DCtx *d = ZSTD_createDCtx();
  if (!d) {
    formats_set_err(err, errlen, "zstd: out of memory");
    return -1;
  }
  char sz[32];
  uint8_t *buf = NULL;
  size_t cap = 0, used = 0;
  /* Start from the first frame's declared size when it is believable. */
  unsigned long long hint = ZSTD_getFrameContentSize(in, len);
  if (hint != ZSTD_CONTENTSIZE_UNKNOWN && hint != ZSTD_CONTENTSIZE_ERROR && hint <= limit &&
      (hint / 64 <= len || hint <= ((size_t)64 << 20))) {
    cap = (size_t)hint + 1;
    buf = malloc(cap);
    if (!buf) cap = 0;
  }
  ZSTD_inBuffer ib = {in, len, 0};
  int rc = -1;
  size_t pending = 0; /* 0 at a frame boundary */
  for (;;) {
    if (pending == 0) {
      if (ib.pos == ib.size) {
        rc = 0;
        break;
      }
      const uint8_t *p = in + ib.pos;
      size_t rest = ib.size - ib.pos;
      if (!zstd_is_frame(p, rest) && !zstd_is_skippable(p, rest)) {
        if (ib.pos == 0)
          formats_set_err(err, errlen, "not zstd data");
        else
          formats_set_err(err, errlen, "trailing garbage after zstd data (%zu bytes)", rest);
        break;
      }
    }
    if (used == cap && make_room(&buf, &cap, limit, "zstd", err, errlen) != 0) break;
    ZSTD_outBuffer ob = {buf, cap, used};
    size_t r = ZSTD_decompressStream(d, &ob, &ib);
    used = ob.pos;
    if (ZSTD_isError(r)) {
      formats_set_err(err, errlen, "corrupt zstd data (%s)", ZSTD_getErrorName(r));
      break;
    }
    if (used > limit) {
      formats_set_err(err, errlen, "decompressed size exceeds the limit of %s",
                      size_text(limit, sz, sizeof sz));
      break;
    }
    pending = r;
    if (r != 0 && ib.pos == ib.size && ob.pos < ob.size) {
      formats_set_err(err, errlen, "truncated zstd data (input ends after %zu bytes)", len);
      break;
    }
  }
  ZSTD_freeDCtx(d);
  if (rc != 0) {
    free(buf);
    return -1;
  }
  *out = buf;
  *outlen = used;
  return 0;
}

long container_zstd_frames(const void *in, size_t len) {
  const uint8_t *p = in;
  size_t off = 0;
  long frames = 0;
  while (off < len) {
    size_t n = ZSTD_findFrameCompressedSize(p + off, len - off);
    if (ZSTD_isError(n) || n == 0) return -1;
    if (!zstd_is_skippable(p + off, len - off)) frames++;
    off += n;
  }
  return frames;
}

/* ---- dispatch ---- */

int container_compress(container_kind kind, const void *in, size_t len, int level, uint8_t **out,
                       size_t *outlen, char *err, size_t errlen) {
  switch (kind) {
    case CONTAINER_GZIP:
      return gzip_compress(in, len, level > 0 ? level : CONTAINER_GZIP_LEVEL, out, outlen, err,
                           errlen);
    case CONTAINER_ZSTD:
      return zstd_compress(in, len, level > 0 ? level : CONTAINER_ZSTD_LEVEL, out, outlen, err,
                           errlen);
    case CONTAINER_RAW: {
      uint8_t *b = malloc(len ? len : 1);
      if (!b) {
        formats_set_err(err, errlen, "out of memory");
        return -1;
      }
      if (len) memcpy(b, in, len);
      *out = b;
      *outlen = len;
      return 0;
    }
    case CONTAINER_FOLDED: break;
  }
  formats_set_err(err, errlen, "%s is not a byte container", container_name(kind));
  return -1;
}

int container_decompress(container_kind kind, const void *in, size_t len, size_t limit,
                         uint8_t **out, size_t *outlen, char *err, size_t errlen) {
  if (limit == 0) limit = CONTAINER_MAX_DECOMPRESSED;
  if (limit > SIZE_MAX / 2) limit = SIZE_MAX / 2; /* room for limit + 1 */
  if (kind == CONTAINER_GZIP) return gzip_decompress(in, len, limit, out, outlen, err, errlen);
  if (kind == CONTAINER_ZSTD) return zstd_decompress(in, len, limit, out, outlen, err, errlen);
  formats_set_err(err, errlen, "%s is not a compressed container", container_name(kind));
  return -1;
}
