/* trigger_out.c: the names of this process's ALLOCPROF_OUT files
 * (trigger_out.h). Overview of the triggers and their locking: triggers.c.
 *
 * One name, one process. When ALLOCPROF_OUT has no %p, the first process
 * that arms it claims the name: it exports ALLOCPROF_OUT_OWNER (its pid and
 * start time) to its environment, which whatever it starts inherits (fork,
 * fork and exec, posix_spawn, system, a wrapper such as timeout, env or
 * sh -c). Any other process that finds the claim adds its pid to the name
 * and says so once, at its first file; the owner after an exec of itself
 * (same pid, same start time) keeps the name, as does a process that
 * rewrites its own file. A fork child adds its pid too, and says so at its
 * first file (trig_out_fork_child). A process of allocprof run follows
 * ALLOCPROF_RUN_PID instead, silently: run lists every file.
 *
 * Files of a repeated trigger. A signal, interval, growth or peak trigger
 * writes many profiles: an ALLOCPROF_OUT without %n gets ".%n" before its
 * ending ("x.pb.gz" -> "x.%n.pb.gz"), with one line at start, so that no
 * dump replaces the last; the process exports the numbered setting, so
 * what it starts numbers its files without a word. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc_entry.h"
#include "errmsg.h"
#include "prof_threads.h"
#include "settings.h"
#include "trigger_out.h"

#define OWNER_ENV "ALLOCPROF_OUT_OWNER"

/* Why this process added its pid to the name, not said yet (trig_lock). */
enum { RENAMED_FORK = 1, RENAMED_OTHER = 2 };
static int out_renamed;
static long out_owner; /* RENAMED_OTHER: the pid that owns the name */

/* Replaces out with its name with this process's pid in it; "" (no file)
 * when that is too long. Returns 0, or -1 in that case. */
static int add_pid(char *out) {
  char renamed[TRIG_PATH_MAX];
  if (trig_pattern_with_pid(out, (long)getpid(), renamed, sizeof renamed) != 0) {
    out[0] = 0;
    return -1;
  }
  memcpy(out, renamed, strlen(renamed) + 1);
  return 0;
}

int trig_out_check(const char *out, char *err, size_t errlen) {
  if (out[0] == 0) return 0;
  const char *value = alloc_env("ALLOCPROF_OUT");
  char path[TRIG_PATH_MAX], dir[TRIG_PATH_MAX];
  struct stat st;
  if (trig_pattern_expand(out, (long)getpid(), 0, (int64_t)time(NULL), path, sizeof path) != 0 ||
      trig_dirname(path, dir, sizeof dir) != 0) {
    formats_set_err(err, errlen, "ALLOCPROF_OUT=%s is too long", value);
    return -1;
  }
  if (stat(dir, &st) != 0) {
    formats_set_err(err, errlen, "ALLOCPROF_OUT=%s: directory %s %s", value, dir,
                    errno == ENOENT || errno == ENOTDIR ? "does not exist" : strerror(errno));
    return -1;
  }
  if (!S_ISDIR(st.st_mode)) {
    formats_set_err(err, errlen, "ALLOCPROF_OUT=%s: %s is not a directory", value, dir);
    return -1;
  }
  if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) != 0) {
    formats_set_err(err, errlen, "ALLOCPROF_OUT=%s: directory %s is not writable", value, dir);
    return -1;
  }
  return 0;
}

/* A program that the program of a run started (exec'd: a fork child has
 * trig_out_fork_child's rule) writes under its own pid when ALLOCPROF_OUT
 * has none, so that the processes of a run never replace each other's
 * files. No message: run lists every file. */
static void run_child_pattern(char *out, long run_main) {
  if (run_main == 0 || run_main == (long)getpid() || out[0] == 0 || trig_pattern_has_pid(out))
    return;
  char renamed[TRIG_PATH_MAX];
  if (trig_pattern_with_pid(out, (long)getpid(), renamed, sizeof renamed) == 0)
    memcpy(out, renamed, strlen(renamed) + 1);
}

/* "pid.starttime" (/proc/self/stat's field 22): the same for this process
 * after an exec, never for another, even one given this pid again later. */
static void self_identity(char *buf, size_t len) {
  char stat[1024];
  unsigned long long start = 0;
  int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? read(fd, stat, sizeof stat - 1) : -1;
  if (fd >= 0) close(fd);
  if (n > 0) {
    stat[n] = 0;
    const char *p = strrchr(stat, ')'); /* the end of field 2 */
    for (int field = 2; p != NULL && field < 22; field++) p = strchr(p + 1, ' ');
    if (p != NULL) start = strtoull(p + 1, NULL, 10);
  }
  snprintf(buf, len, "%ld.%llu", (long)getpid(), start);
}

/* The rule "one name, one process" (top of file) for ALLOCPROF_OUT without
 * %p, outside allocprof run: claim the name, or add this pid to it. */
static void claim_or_rename(char *out, long run_main) {
  if (run_main != 0 || out[0] == 0 || trig_pattern_has_pid(out)) return;
  char self[64];
  self_identity(self, sizeof self);
  const char *owner = alloc_env(OWNER_ENV);
  if (owner == NULL || *owner == 0) {
    setenv(OWNER_ENV, self, 1); /* at load, before the program's threads */
    return;
  }
  if (strcmp(owner, self) == 0) return; /* the owner, after an exec of itself */
  if (add_pid(out) != 0) return; /* no name of its own: no file (a stream still gets frames) */
  out_renamed = RENAMED_OTHER;
  out_owner = atol(owner);
}

/* The files of a repeated trigger numbered (top of file). */
static void number_repeated(struct trig_config *conf) {
  if (conf->out[0] == 0 || trig_pattern_has_seq(conf->out)) return;
  const char *what = conf->interval_ms               ? "ALLOCPROF_INTERVAL"
                     : conf->signo                   ? "ALLOCPROF_SIGNAL"
                     : conf->inuse_interval          ? "ALLOCPROF_INUSE_INTERVAL"
                     : !trig_margin_off(&conf->peak) ? "ALLOCPROF_PEAK"
                                                     : NULL;
  if (what == NULL) return;
  char numbered[TRIG_PATH_MAX], setting[TRIG_PATH_MAX];
  const char *value = alloc_env("ALLOCPROF_OUT");
  if (value == NULL || trig_pattern_with_seq(conf->out, numbered, sizeof numbered) != 0 ||
      trig_pattern_with_seq(value, setting, sizeof setting) != 0)
    return;
  memcpy(conf->out, numbered, strlen(numbered) + 1);
  /* what this process starts inherits the numbered setting, and says nothing */
  setenv("ALLOCPROF_OUT", setting, 1);
  prof_say(
      "ALLOCPROF_OUT has no %%n and %s dumps again and again: its profiles are numbered "
      "(%s), so that none replaces the last",
      what, conf->out);
}

void trig_out_name(struct trig_config *conf, long run_main) {
  number_repeated(conf);
  run_child_pattern(conf->out, run_main);
  claim_or_rename(conf->out, run_main);
}

void trig_out_fork_child(char *out) {
  out_renamed = 0;
  if (out[0] != 0 && !trig_pattern_has_pid(out) && add_pid(out) == 0) out_renamed = RENAMED_FORK;
}

int trig_out_path(const char *out, uint64_t n, char *path, size_t len) {
  if (trig_pattern_expand(out, (long)getpid(), n, (int64_t)time(NULL), path, len) != 0) return -1;
  if (out_renamed == RENAMED_FORK)
    prof_say(
        "ALLOCPROF_OUT has no %%p: this process, forked from %ld, writes %s so as not to "
        "replace its parent's files",
        (long)getppid(), path);
  if (out_renamed == RENAMED_OTHER)
    prof_say(
        "ALLOCPROF_OUT has no %%p and process %ld writes to it: this process (%ld) writes %s "
        "so as not to replace its files",
        out_owner, (long)getpid(), path);
  out_renamed = 0;
  return 0;
}
