/* runlog.c: tells `allocprof run` which profiles were written (dump.h).
 *
 * run sets ALLOCPROF_RUN_LOG to a file it made in a private directory; each
 * process of the run (children and exec'd programs inherit the variable)
 * appends the absolute path of every profile file it writes, as one
 * NUL-terminated record in a single O_APPEND write, so that records of
 * concurrent processes never interleave. The file is never created here
 * (a process that outlives the run finds it gone and writes nothing), never
 * opened through a symbolic link, and any failure is silent: the list is
 * run's convenience, the profile itself is already written.
 *
 * The variable is read once, at start (prof_runlog_init): a program may
 * change its environment later (allocprof run itself does, when it runs
 * inside another run), and its own profile belongs to the list it was
 * started with. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dump.h"
#include "mprof.h"

static char log_path[PATH_MAX]; /* written once at start, then only read */

void prof_runlog_init(void) {
  const char *log = alloc_env("ALLOCPROF_RUN_LOG");
  if (log == NULL || strlen(log) >= sizeof log_path) return;
  memcpy(log_path, log, strlen(log) + 1);
}

void prof_runlog_note(const char *path) {
  const char *log = log_path;
  if (*log == 0 || path == NULL || *path == 0) return;
  char rec[PATH_MAX * 2 + 2];
  int n;
  if (path[0] == '/') {
    n = snprintf(rec, sizeof rec, "%s", path);
  } else {
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd) == NULL) return;
    n = snprintf(rec, sizeof rec, "%s/%s", cwd, path);
  }
  if (n < 0 || (size_t)n + 1 >= sizeof rec) return;
  rec[n++] = 0; /* the record's end: a path may hold any byte but NUL */
  int fd = open(log, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return;
  ssize_t w;
  do w = write(fd, rec, (size_t)n);
  while (w < 0 && errno == EINTR);
  close(fd);
}
