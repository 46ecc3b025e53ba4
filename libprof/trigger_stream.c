/* trigger_stream.c: the snapshot stream's fd (ALLOCPROF_STREAM), for the
 * triggers' dumps (trigger_stream.h). Overview of the triggers and their
 * locking: triggers.c.
 *
 * One fd, kept for the life of the process (so the stream survives a later
 * chdir, chroot or drop of privileges), moved out of the low numbers that
 * programs and shells pick for themselves, close-on-exec. A program may
 * still close it or reuse its number: before each frame the fd is checked
 * to be still the file we opened, and the file is opened again if not, or
 * if someone removed it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "errmsg.h"
#include "settings.h"
#include "stream.h"
#include "trigger_stream.h"

static int stream_fd = -1; /* trig_lock: open on the stream, or -1 */
static dev_t stream_dev;   /* trig_lock: what stream_fd was opened on */
static ino_t stream_ino;
static char stream_path[TRIG_PATH_MAX]; /* trig_lock: what stream_fd was opened as */
static int stream_told;                 /* trig_lock: stream_path given out since */

static int fd_move_high(int fd) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return fd;
  rlim_t base = rl.rlim_cur / 2;
  if (base > 1000) base = 1000;
  if ((rlim_t)fd >= base) return fd;
  int nfd = fcntl(fd, F_DUPFD_CLOEXEC, (int)base);
  if (nfd < 0) return fd;
  close(fd);
  return nfd;
}

/* Opens the stream (trig_lock held, or at start). Returns 0, or -1 with err. */
int trig_stream_open(const char *pattern, char *err, size_t errlen) {
  char path[TRIG_PATH_MAX];
  if (trig_pattern_expand(pattern, (long)getpid(), 0, (int64_t)time(NULL), path, sizeof path) !=
      0) {
    formats_set_err(err, errlen, "the stream's name is too long");
    return -1;
  }
  /* never through a symlink someone planted at the name, never a fifo or a
   * device; readable by the owner only, as perf's files and core dumps are */
  int fd = stream_open_append(path, err, errlen);
  struct stat st;
  if (fd < 0) return -1;
  if (fstat(fd, &st) != 0) {
    formats_set_err(err, errlen, "%s: %s", path, strerror(errno));
    close(fd);
    return -1;
  }
  stream_fd = fd_move_high(fd);
  stream_dev = st.st_dev;
  stream_ino = st.st_ino;
  memcpy(stream_path, path, sizeof stream_path);
  stream_told = 0;
  return 0;
}

const char *trig_stream_new_path(void) {
  if (stream_told || stream_path[0] == 0) return NULL;
  stream_told = 1;
  return stream_path;
}

/* Whether stream_fd is still open on the file we opened; *linked is
 * whether that file still has a name. */
static int stream_still_ours(int *linked) {
  struct stat st;
  int fl = fcntl(stream_fd, F_GETFL);
  if (fl < 0 || !(fl & O_APPEND) || fstat(stream_fd, &st) != 0 || st.st_dev != stream_dev ||
      st.st_ino != stream_ino)
    return 0;
  *linked = st.st_nlink > 0;
  return 1;
}

/* Gives the stream's fd up; closed only if it is still ours. */
void trig_stream_forget(void) {
  int linked;
  if (stream_fd >= 0 && stream_still_ours(&linked)) close(stream_fd);
  stream_fd = -1;
}

/* The stream's fd, opened again if the program closed or reused it, or if
 * the file was removed (nobody could read what we append). trig_lock held.
 * -1 with err on failure. */
int trig_stream_get(const char *pattern, char *err, size_t errlen) {
  int linked;
  if (stream_fd >= 0 && stream_still_ours(&linked) && linked) return stream_fd;
  trig_stream_forget();
  return trig_stream_open(pattern, err, errlen) == 0 ? stream_fd : -1;
}
