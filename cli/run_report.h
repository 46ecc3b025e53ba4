/* run_report.h: which profiles `allocprof run` says its program and the
 * processes it started wrote (run_report.c): the list every process of the
 * run appends to (ALLOCPROF_RUN_LOG, libprof/runlog.c), or, should the
 * list be impossible to make, the files that match the pattern. */
#ifndef CLI_RUN_REPORT_H
#define CLI_RUN_REPORT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct run_log {
  char dir[PATH_MAX];       /* private (0700), made by mkdtemp */
  char path[PATH_MAX + 16]; /* the list: NUL-terminated absolute paths, appended */
  char outer[PATH_MAX];     /* the list of a run we run inside, or "" */
  bool made;
};

/* Makes the list and points ALLOCPROF_RUN_LOG at it. -1 when it cannot be
 * made (the caller falls back to run_report_pattern). */
int run_log_make(struct run_log *log);

/* Removes the list and its directory, if made. */
void run_log_remove(struct run_log *log);

/* Lists on stderr, once each and in the order they were first written, the
 * profiles and streams of the run that still exist (streams told apart by
 * ALLOCPROF_STREAM, as given to the program); paths under cwd relative to
 * it; then, with ALLOCPROF_PEAK set, the profile of the highest in-use
 * total. Each is passed on to the list of a run we run inside. Returns how
 * many were listed. */
size_t run_log_report(const struct run_log *log, const char *cwd);

/* Without a list: the files that match pattern (ALLOCPROF_OUT) for process
 * pid, or one line saying none does. */
void run_report_pattern(const char *pattern, pid_t pid);

#endif
