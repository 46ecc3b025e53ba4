/* prof_threads.c: what the profiler's own threads share (prof_threads.h):
 * the test of whether the program left them alone, and their messages.
 * Overview of the profiler: liballoc/mprof.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc_entry.h"
#include "prof_threads.h"

/* Whether the main thread (the task whose id is the pid) is a zombie or
 * dead: the state field of its stat, after the ')' that ends its name. */
static int main_thread_gone(void) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/self/task/%ld/stat", (long)getpid());
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  const char *p = strrchr(buf, ')');
  return p != NULL && (p[2] == 'Z' || p[2] == 'X');
}

/* Whether the task named by tid is one of ours (by its name); a task that
 * ended meanwhile counts as ours. */
static int task_is_ours(const char *tid) {
  char path[300], buf[64];
  snprintf(path, sizeof path, "/proc/self/task/%s/comm", tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  buf[n > 0 ? n : 0] = 0;
  return strcmp(buf, PROF_THREAD_NAME "\n") == 0 || strcmp(buf, PROF_HTTP_THREAD_NAME "\n") == 0;
}

int prof_main_thread_ended(void) {
  if (!main_thread_gone()) return 0;
  DIR *d = opendir("/proc/self/task");
  if (d == NULL) return 0;
  int others = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL && !others) {
    if (e->d_name[0] == '.' || atol(e->d_name) == (long)getpid()) continue;
    others = !task_is_ours(e->d_name);
  }
  closedir(d);
  return !others;
}

void prof_say(const char *fmt, ...) {
  char line[640];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  alloc_say(line, NULL);
}
