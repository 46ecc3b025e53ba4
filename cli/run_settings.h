/* run_settings.h: the ALLOCPROF_* settings `allocprof run` gives its program
 * (cmd_run.c), checked with the library's own parsers (liballoc/settings.h)
 * before the program starts, so that whatever run accepts the library
 * accepts too, and a bad value is a usage error (exit 2) instead of a
 * program that runs with profiling silently off. Pure: no environment (the
 * caller hands in a lookup), no files; tests/unit/test_prof_config.c checks
 * it against the library value by value. */
#ifndef CLI_RUN_SETTINGS_H
#define CLI_RUN_SETTINGS_H

#include <stddef.h>

#include "settings.h"

/* run's options, as given; NULL when not given. */
struct run_options {
  const char *rate;     /* --rate: ALLOCPROF_RATE */
  const char *out;      /* -o: ALLOCPROF_OUT (cmd_run.c passes its default) */
  const char *interval; /* --interval: ALLOCPROF_INTERVAL */
  const char *signal;   /* --signal: ALLOCPROF_SIGNAL */
  const char *http;     /* --http: ALLOCPROF_HTTP */
};

/* What the program's environment gets from the options. */
struct run_env {
  char rate[24];           /* --rate as a decimal byte count; "" when not given */
  char out[TRIG_PATH_MAX]; /* -o made absolute against cwd; "" when not given */
  int signo;               /* --signal's number; 0 when not given */
};

/* Checks each option with the library's parser for its setting, then the
 * whole configuration the program will read: the options, and for the
 * settings they leave alone what inherit(name) returns (the environment run
 * was started with; inherit may be NULL). Relative patterns are made
 * absolute against cwd (NULL: left as they are), as the library does.
 * Returns 0 with *env filled, or -1 with one line in err: about the option
 * ("--interval wants seconds such as 30 or 0.5, not '1e-1'") or the
 * inherited setting ("ALLOCPROF_PEAK=lots is not a margin ..."). */
int run_settings_check(const struct run_options *opt, const char *(*inherit)(const char *name),
                       const char *cwd, struct run_env *env, char *err, size_t errlen);

#endif /* CLI_RUN_SETTINGS_H */
