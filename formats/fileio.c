/* fileio.c: whole-file reads and atomic replacement of files. Contract:
 * fileio.h. */
#include "fileio.h"
#include "errmsg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


int fileio_write_full(int fd, const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) {
      errno = EIO;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int fileio_read_all(const char *path, size_t max, uint8_t **out, size_t *outlen, char *err,
                    size_t errlen) {
  if (max > SIZE_MAX / 2) max = SIZE_MAX / 2; /* room for max + 2 */
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    formats_set_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    formats_set_err(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
    close(fd);
    return -1;
  }
  if (S_ISDIR(st.st_mode)) {
    formats_set_err(err, errlen, "%s: is a directory", path);
    close(fd);
    return -1;
  }
  if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
    formats_set_err(err, errlen, "%s: file too large (%lld bytes, limit %zu)", path,
            (long long)st.st_size, max);
    close(fd);
    return -1;
  }
  size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536;
  size_t used = 0;
  uint8_t *buf = malloc(cap);
  if (!buf) {
    formats_set_err(err, errlen, "%s: out of memory", path);
    close(fd);
    return -1;
  }
  for (;;) {
    if (used + 1 >= cap) {
      /* Room for max bytes, one more to notice a larger file, and the NUL. */
      size_t ncap = cap * 2 < max + 2 ? cap * 2 : max + 2;
      if (ncap <= cap) {
        formats_set_err(err, errlen, "%s: file too large (limit %zu bytes)", path, max);
        goto fail;
      }
      uint8_t *nb = realloc(buf, ncap);
      if (!nb) {
        formats_set_err(err, errlen, "%s: out of memory", path);
        goto fail;
      }
      buf = nb;
      cap = ncap;
    }
    ssize_t n = read(fd, buf + used, cap - used - 1);
    if (n < 0) {
      if (errno == EINTR) continue;
      formats_set_err(err, errlen, "%s: read error: %s", path, strerror(errno));
      goto fail;
    }
    if (n == 0) break;
    used += (size_t)n;
  }
  if (used > max) {
    formats_set_err(err, errlen, "%s: file too large (limit %zu bytes)", path, max);
    goto fail;
  }
  close(fd);
  buf[used] = 0;
  *out = buf;
  *outlen = used;
  return 0;
fail:
  free(buf);
  close(fd);
  return -1;
}

/* Best effort: make the rename durable. */
static void fsync_parent(const char *path) {
  const char *slash = strrchr(path, '/');
  char dir[4096];
  if (!slash) {
    strcpy(dir, ".");
  } else {
    size_t n = (size_t)(slash - path);
    if (n == 0) n = 1; /* "/file" */
    if (n >= sizeof dir) return;
    memcpy(dir, path, n);
    dir[n] = 0;
  }
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

int fileio_write_atomic(const char *path, const void *data, size_t len, char *err,
                        size_t errlen) {
  size_t plen = strlen(path);
  char *tmp = malloc(plen + 32);
  if (!tmp) {
    formats_set_err(err, errlen, "%s: out of memory", path);
    return -1;
  }
  snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    formats_set_err(err, errlen, "%s: cannot create %s: %s", path, tmp, strerror(errno));
    free(tmp);
    return -1;
  }
  const char *what = NULL;
  if (fileio_write_full(fd, data, len) != 0)
    what = "write";
  else if (fsync(fd) != 0)
    what = "fsync";
  int saved = errno;
  if (close(fd) != 0 && !what) {
    what = "close";
    saved = errno;
  }
  if (!what && rename(tmp, path) != 0) {
    what = "rename";
    saved = errno;
  }
  if (what) {
    unlink(tmp);
    formats_set_err(err, errlen, "%s: %s failed: %s", path, what, strerror(saved));
    free(tmp);
    return -1;
  }
  free(tmp);
  fsync_parent(path);
  return 0;
}
