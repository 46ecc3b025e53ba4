/* trigger_out.h: the names of this process's ALLOCPROF_OUT files, the
 * profiles the triggers write at each dump (trigger_out.c): one name, one
 * process; the files of a repeated trigger numbered. Overview of the
 * triggers: triggers.c.
 *
 * Every call rewrites the pattern it is given in place (the triggers'
 * cfg.out, TRIG_PATH_MAX bytes; "" when this process writes no file). The
 * locking is the stream's (trigger_stream.h): calls are made with trig_lock
 * held, or at start and in a fork child, where no other thread dumps. */
#ifndef PROF_TRIGGER_OUT_H
#define PROF_TRIGGER_OUT_H

#include <stddef.h>
#include <stdint.h>

#pragma GCC visibility push(hidden)

struct trig_config;

/* At start: the directory of out's first file exists and this process may
 * write in it. Returns 0, or -1 with err naming ALLOCPROF_OUT. */
int trig_out_check(const char *out, char *err, size_t errlen);

/* At start, once the settings are good: the files of a repeated trigger
 * numbered; then, without %p, the name given to a program of allocprof
 * run (run_main: the program run started, 0 outside a run), or claimed, or
 * made this process's own. */
void trig_out_name(struct trig_config *conf, long run_main);

/* In a fork child: without %p, the parent's name is not the child's. */
void trig_out_fork_child(char *out);

/* The path of dump n into path, saying once on stderr why it holds this
 * process's pid when a name was made its own. Returns 0, or -1 when it is
 * too long. */
int trig_out_path(const char *out, uint64_t n, char *path, size_t len);

#pragma GCC visibility pop
#endif /* PROF_TRIGGER_OUT_H */
