/* fileio.c: whole-file reads and atomic replacement of files. Contract:
 * fileio.h.
 *
 * Why the writer looks the way it does. The profiler writes where a user (or
 * its environment) points it, often a shared directory such as /var/tmp, and
 * the process may run with more rights than whoever else writes there. A
 * temporary with a predictable name opened without O_EXCL lets anyone plant
 * a symbolic link there and make us overwrite the link's target. So the data
 * first goes to an unnamed file (O_TMPFILE), which nobody can reach and a
 * crash mid-write leaves nowhere; only when it is complete does it get a name
 * (random, created exclusively by linkat) that rename() moves over the
 * target. File systems without O_TMPFILE get a random name created with
 * O_EXCL | O_NOFOLLOW from the start. */
#define _GNU_SOURCE /* O_TMPFILE, AT_EMPTY_PATH */
#include "fileio.h"
#include "errmsg.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- writing whole buffers ---- */

int fileio_write_full(int fd, const void *data, size_t len) {
  /* A write past RLIMIT_FSIZE raises SIGXFSZ, whose default action kills
   * the process: blocked, the write fails with EFBIG instead. The signal
   * stays pending for this thread, so it is taken off again before the old
   * mask comes back (unless one was already pending: that one is not ours). */
  sigset_t xfsz, old, pending;
  sigemptyset(&xfsz);
  sigaddset(&xfsz, SIGXFSZ);
  int masked = pthread_sigmask(SIG_BLOCK, &xfsz, &old) == 0;
  int had_pending = masked && sigpending(&pending) == 0 && sigismember(&pending, SIGXFSZ);
  const char *p = data;
  int rc = 0;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      rc = -1;
      break;
    }
    if (n == 0) {
      errno = EIO;
      rc = -1;
      break;
    }
    p += n;
    len -= (size_t)n;
  }
  int saved = errno;
  if (masked) {
    if (!had_pending && !sigismember(&old, SIGXFSZ)) {
      struct timespec zero = {0, 0};
      while (sigtimedwait(&xfsz, NULL, &zero) == SIGXFSZ) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
  }
  errno = saved;
  return rc;
}

/* ---- reading ---- */

#define FILEIO_CHECK_PIECE ((size_t)4 << 20)

/* path opened for reading, its stat in *st: a directory, or a regular file
 * larger than max, is refused. Returns the fd, or -1 with err set. */
static int open_input(const char *path, size_t max, struct stat *st, char *err, size_t errlen) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    formats_set_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    return -1;
  }
  if (fstat(fd, st) != 0)
    formats_set_err(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
  else if (S_ISDIR(st->st_mode))
    formats_set_err(err, errlen, "%s: is a directory", path);
  else if (S_ISREG(st->st_mode) && (uint64_t)st->st_size > max)
    formats_set_err(err, errlen, "%s: file too large (%lld bytes, limit %zu)", path,
                    (long long)st->st_size, max);
  else
    return fd;
  close(fd);
  return -1;
}

int fileio_read_all_checked(const char *path, size_t max, fileio_prefix_check check, void *ctx,
                            uint8_t **out, size_t *outlen, char *err, size_t errlen) {
  if (max > SIZE_MAX / 2) max = SIZE_MAX / 2; /* room for max + 2 */
  struct stat st;
  int fd = open_input(path, max, &st, err, errlen);
  if (fd < 0) return -1;
  /* A regular file's size is a hint (it may grow or shrink while we read);
   * anything else grows the buffer by doubling, never beyond max + 2. */
  size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536;
  if (cap > max + 2) cap = max + 2;
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
    /* With a check, read in pieces so it runs before much is read: a
     * sparse 1 GiB file of zeros is refused after its first piece. */
    size_t want = cap - used - 1;
    if (check && want > FILEIO_CHECK_PIECE) want = FILEIO_CHECK_PIECE;
    ssize_t n = read(fd, buf + used, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      formats_set_err(err, errlen, "%s: read error: %s", path, strerror(errno));
      goto fail;
    }
    if (n == 0) break;
    used += (size_t)n;
    if (used > max) {
      formats_set_err(err, errlen, "%s: file too large (limit %zu bytes)", path, max);
      goto fail;
    }
    if (check) {
      char why[256];
      why[0] = 0;
      if (check(ctx, buf, used, why, sizeof why) != 0) {
        formats_set_err(err, errlen, "%s: %s", path, why);
        goto fail;
      }
    }
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

int fileio_read_all(const char *path, size_t max, uint8_t **out, size_t *outlen, char *err,
                    size_t errlen) {
  return fileio_read_all_checked(path, max, NULL, NULL, out, outlen, err, errlen);
}

/* ---- atomic replacement ---- */

static bool use_tmpfile = true;

void fileio_set_use_tmpfile(bool use) { use_tmpfile = use; }

/* The mode files are created with, less the umask (fileio.h). */
static mode_t create_mode = 0600;

void fileio_set_create_mode(unsigned mode) { create_mode = (mode_t)(mode & 0777); }

/* The directory part of path ("." for a bare name), malloc'd. */
static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return strdup(".");
  size_t n = (size_t)(slash - path);
  if (n == 0) n = 1; /* "/file" */
  char *d = malloc(n + 1);
  if (d) {
    memcpy(d, path, n);
    d[n] = 0;
  }
  return d;
}

/* Best effort: make the rename durable. */
static void fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

/* "path.tmp.<16 random hex digits>" into tmp (room for strlen(path) + 32). */
static void random_name(char *tmp, size_t cap, const char *path) {
  uint64_t r = 0;
  if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
    /* No entropy source: still unique per call, if guessable. O_EXCL keeps
     * it safe; only a planted name can then make the write fail. */
    static uint64_t counter;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    r = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^
        (++counter * 0x9e3779b97f4a7c15ull);
  }
  snprintf(tmp, cap, "%s.tmp.%016llx", path, (unsigned long long)r);
}

/* Whether the file at path may be replaced: it is a regular file or a
 * symbolic link (the link itself is replaced, never followed), or there is
 * none. Otherwise sets the message and returns false. */
static bool replaceable(const char *path, char *err, size_t errlen);

/* What kind of file a mode is, for messages. */
static const char *kind_of(mode_t m) {
  if (S_ISLNK(m)) return "a symbolic link";
  if (S_ISDIR(m)) return "a directory";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISFIFO(m)) return "a fifo";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

static bool replaceable(const char *path, char *err, size_t errlen) {
  struct stat st;
  if (lstat(path, &st) != 0 || S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) return true;
  formats_set_err(err, errlen, "%s: is %s, not a regular file: refusing to replace it", path,
                  kind_of(st.st_mode));
  return false;
}

int fileio_check_regular(const char *path, char *err, size_t errlen) {
  struct stat st;
  if (lstat(path, &st) != 0 || S_ISREG(st.st_mode)) return 0;
  formats_set_err(err, errlen, "%s: is %s, not a regular file: refusing to replace it", path,
                  kind_of(st.st_mode));
  return -1;
}

/* Gives the unnamed file fd the name name (never replacing one). Returns 0,
 * or -1 with errno set (EEXIST: the name is taken). */
static int link_fd(int fd, const char *name) {
  /* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH on older kernels; /proc works
   * for anyone who has it mounted. */
  if (linkat(fd, "", AT_FDCWD, name, AT_EMPTY_PATH) == 0) return 0;
  if (errno == EEXIST) return -1;
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  return linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW);
}

/* Gives the complete unnamed file fd a random name next to path, in tmp.
 * Returns 0, or -1 with errno set. */
static int link_tmpfile(int fd, const char *path, char *tmp, size_t cap) {
  for (int tries = 0; tries < 16; tries++) {
    random_name(tmp, cap, path);
    if (link_fd(fd, tmp) == 0) return 0;
    if (errno != EEXIST) return -1;
  }
  errno = EEXIST;
  return -1;
}

/* Creates a new file with a random name next to path, exclusively. */
static int open_named_tmp(const char *path, char *tmp, size_t cap) {
  for (int tries = 0; tries < 16; tries++) {
    random_name(tmp, cap, path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, create_mode);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  errno = EEXIST;
  return -1;
}

/* Writes and syncs fd; returns the failed step or NULL, with errno in
 * *saved. */
static const char *write_sync(int fd, const void *data, size_t len, int *saved) {
  const char *what = NULL;
  if (fileio_write_full(fd, data, len) != 0)
    what = "write";
  else if (fsync(fd) != 0)
    what = "fsync";
  *saved = errno;
  return what;
}

static void set_write_err(char *err, size_t errlen, const char *path, const char *what, int saved) {
  if (saved == EFBIG)
    formats_set_err(err, errlen, "%s: %s failed: %s (EFBIG: over the file size limit, ulimit -f)",
                    path, what, strerror(saved));
  else
    formats_set_err(err, errlen, "%s: %s failed: %s", path, what, strerror(saved));
}

/* The first half of a replacement: checks path, writes data to a complete,
 * synced file with a random name next to it (*tmp, malloc'd) and gives the
 * directory (*dir, malloc'd). With direct set, an unnamed file is linked
 * straight to path when nothing has that name yet (*tmp is then NULL: no
 * rename, and no moment when a temporary name exists). Returns 0, or -1
 * with the message set and nothing left behind. */
static int write_tmp(const char *path, const void *data, size_t len, bool direct, char **tmp_out,
                     char **dir_out, char *err, size_t errlen) {
  if (!replaceable(path, err, errlen)) return -1;
  size_t cap = strlen(path) + 32;
  char *tmp = malloc(cap);
  char *dir = dir_of(path);
  if (!tmp || !dir) {
    free(tmp);
    free(dir);
    formats_set_err(err, errlen, "%s: out of memory", path);
    return -1;
  }
  int saved = 0;
  const char *what = NULL;
  bool named = false; /* tmp names a complete file of ours */

  if (use_tmpfile) {
    int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, create_mode);
    if (fd < 0 && errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
      formats_set_err(err, errlen, "%s: cannot create a temporary file in %s: %s", path, dir,
                      strerror(errno));
      goto fail_quiet;
    }
    if (fd >= 0) {
      what = write_sync(fd, data, len, &saved);
      /* A link that fails (no /proc, no capability for AT_EMPTY_PATH)
       * sends us to the named temporary below. */
      bool placed = false;
      if (!what && direct && link_fd(fd, path) == 0)
        placed = true;
      else if (!what && link_tmpfile(fd, path, tmp, cap) == 0)
        named = true;
      if (close(fd) != 0 && !what && (named || placed)) {
        what = "close";
        saved = errno;
      }
      if (what) goto fail;
      if (placed) {
        free(tmp);
        *tmp_out = NULL;
        *dir_out = dir;
        return 0;
      }
    }
  }
  if (!named) {
    int fd = open_named_tmp(path, tmp, cap);
    if (fd < 0) {
      formats_set_err(err, errlen, "%s: cannot create a temporary file in %s: %s", path, dir,
                      strerror(errno));
      goto fail_quiet;
    }
    named = true;
    what = write_sync(fd, data, len, &saved);
    if (close(fd) != 0 && !what) {
      what = "close";
      saved = errno;
    }
    if (what) goto fail;
  }
  *tmp_out = tmp;
  *dir_out = dir;
  return 0;
fail:
  if (named) unlink(tmp);
  set_write_err(err, errlen, path, what, saved);
fail_quiet:
  free(tmp);
  free(dir);
  return -1;
}

int fileio_write_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen) {
  char *tmp = NULL, *dir = NULL;
  if (write_tmp(path, data, len, true, &tmp, &dir, err, errlen) != 0) return -1;
  int rc = 0;
  if (tmp && rename(tmp, path) != 0) {
    int saved = errno;
    unlink(tmp);
    set_write_err(err, errlen, path, "rename", saved);
    rc = -1;
  } else {
    fsync_dir(dir);
  }
  free(tmp);
  free(dir);
  return rc;
}

/* ---- batches ---- */

int fileio_batch_add(fileio_batch *b, const char *path, const void *data, size_t len, char *err,
                     size_t errlen) {
  for (size_t i = 0; i < b->n; i++)
    if (strcmp(b->v[i].path, path) == 0) {
      formats_set_err(err, errlen, "%s: written twice in one batch", path);
      return -1;
    }
  if (b->n == b->cap) {
    size_t ncap = b->cap ? b->cap * 2 : 8;
    void *nv = realloc(b->v, ncap * sizeof *b->v);
    if (!nv) {
      formats_set_err(err, errlen, "%s: out of memory", path);
      return -1;
    }
    b->v = nv;
    b->cap = ncap;
  }
  char *copy = strdup(path), *tmp = NULL, *dir = NULL;
  if (!copy) {
    formats_set_err(err, errlen, "%s: out of memory", path);
    return -1;
  }
  if (write_tmp(path, data, len, false, &tmp, &dir, err, errlen) != 0) {
    free(copy);
    return -1;
  }
  free(dir);
  b->v[b->n].path = copy;
  b->v[b->n].tmp = tmp;
  b->n++;
  return 0;
}

static void batch_free(fileio_batch *b) {
  for (size_t i = 0; i < b->n; i++) {
    free(b->v[i].path);
    free(b->v[i].tmp);
  }
  free(b->v);
  *b = (fileio_batch){0};
}

void fileio_batch_abort(fileio_batch *b) {
  for (size_t i = 0; i < b->n; i++) unlink(b->v[i].tmp);
  batch_free(b);
}

int fileio_batch_commit(fileio_batch *b, char *err, size_t errlen) {
  /* Check every target again first: a special file that appeared since
   * the batch began fails the batch before anything is replaced. */
  for (size_t i = 0; i < b->n; i++) {
    if (!replaceable(b->v[i].path, err, errlen)) {
      fileio_batch_abort(b);
      return -1;
    }
  }
  int rc = 0;
  for (size_t i = 0; i < b->n; i++) {
    if (rc == 0 && rename(b->v[i].tmp, b->v[i].path) != 0) {
      set_write_err(err, errlen, b->v[i].path, "rename", errno);
      rc = -1;
    }
    if (rc != 0) unlink(b->v[i].tmp); /* this one and those after it */
  }
  for (size_t i = 0; i < b->n && rc == 0; i++) {
    char *dir = dir_of(b->v[i].path);
    if (dir) fsync_dir(dir);
    free(dir);
  }
  batch_free(b);
  return rc;
}
