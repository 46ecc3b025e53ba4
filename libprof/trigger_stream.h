/* trigger_stream.h: the fd of ALLOCPROF_STREAM, the snapshot stream the
 * triggers append a frame to at each dump (trigger_stream.c). Overview of
 * the triggers: triggers.c.
 *
 * Locking: every call is made with trig_lock held (triggers.c), or at start
 * and in a fork child, where no other thread dumps. */
#ifndef PROF_TRIGGER_STREAM_H
#define PROF_TRIGGER_STREAM_H

#include <stddef.h>

#pragma GCC visibility push(hidden)

/* Opens the stream named by pattern (ALLOCPROF_STREAM made absolute; %p
 * %t %% expanded now). Returns 0, or -1 with err. */
int trig_stream_open(const char *pattern, char *err, size_t errlen);

/* The stream's fd, opened again (from pattern) if the program closed or
 * reused it, or if the file was removed. Returns the fd, or -1 with err. */
int trig_stream_get(const char *pattern, char *err, size_t errlen);

/* The path of the stream opened last, the first time it is asked for
 * after each open (for `allocprof run`'s list of files written: runlog.c),
 * else NULL. */
const char *trig_stream_new_path(void);

/* Gives the stream's fd up; closed only if it is still ours. */
void trig_stream_forget(void);

#pragma GCC visibility pop
#endif /* PROF_TRIGGER_STREAM_H */
