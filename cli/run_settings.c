/* run_settings.c: `allocprof run`'s options checked as the library will
 * check the settings they become. Contract: run_settings.h. Each option goes
 * through the library's parser for its setting first, for a message that
 * names the option; then the whole configuration the program will read
 * (the options over the inherited environment) goes through
 * trig_config_parse, the call the library itself makes, so that no
 * combination run lets through is turned down after the program started. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "run_settings.h"

#include "errmsg.h"

/* ---- the environment the program will see ---- */

/* trig_config_parse takes a lookup without a context: the one check in
 * progress is here (the command is single-threaded). */
static const struct run_options *checking;
static const char *(*checking_inherit)(const char *name);
static char checking_rate[24];

static const char *program_env(const char *name) {
  const char *mine = NULL;
  if (strcmp(name, "ALLOCPROF_RATE") == 0)
    mine = checking->rate ? checking_rate : NULL;
  else if (strcmp(name, "ALLOCPROF_OUT") == 0)
    mine = checking->out;
  else if (strcmp(name, "ALLOCPROF_INTERVAL") == 0)
    mine = checking->interval;
  else if (strcmp(name, "ALLOCPROF_SIGNAL") == 0)
    mine = checking->signal;
  else if (strcmp(name, "ALLOCPROF_HTTP") == 0)
    mine = checking->http;
  if (mine != NULL) return mine;
  return checking_inherit ? checking_inherit(name) : NULL;
}

/* ---- the options, one by one ---- */

static int check_options(const struct run_options *opt, const char *cwd, struct run_env *env,
                         char *err, size_t errlen) {
  if (opt->rate != NULL) {
    uint64_t v;
    if (trig_parse_bytes(opt->rate, &v) != 0) {
      formats_set_err(err, errlen, "--rate wants bytes per sample such as 524288 or 512k, not '%s'",
                      opt->rate);
      return -1;
    }
    snprintf(env->rate, sizeof env->rate, "%llu", (unsigned long long)v);
  }
  if (opt->out != NULL) {
    char why[256];
    if (*opt->out == 0) {
      formats_set_err(err, errlen, "-o wants a file name pattern");
      return -1;
    }
    if (trig_pattern_check(opt->out, TRIG_PATTERN_OUT, why, sizeof why) != 0) {
      formats_set_err(err, errlen, "-o '%s' %s", opt->out, why);
      return -1;
    }
    if (trig_pattern_absolute(opt->out, cwd, env->out, sizeof env->out) != 0) {
      formats_set_err(err, errlen, "-o '%s' is too long", opt->out);
      return -1;
    }
  }
  uint64_t ms = 0;
  if (opt->interval != NULL) {
    if (trig_parse_seconds(opt->interval, &ms) != 0) {
      formats_set_err(err, errlen, "--interval wants seconds such as 30 or 0.5, not '%s'",
                      opt->interval);
      return -1;
    }
  }
  if (opt->signal != NULL) {
    int signo = trig_parse_signal(opt->signal);
    if (signo == TRIG_SIG_UNKNOWN) {
      formats_set_err(err, errlen, "--signal wants a signal such as USR2 or 12, not '%s'",
                      opt->signal);
      return -1;
    }
    if (signo < 0) {
      formats_set_err(err, errlen, "--signal %s %s", opt->signal, trig_signal_problem(signo));
      return -1;
    }
    env->signo = signo;
  }
  struct trig_http h;
  char why[256];
  if (opt->http != NULL && trig_http_parse(opt->http, cwd, &h, why, sizeof why) != 0) {
    formats_set_err(err, errlen, "--http '%s' %s", opt->http, why);
    return -1;
  }
  /* --interval and --signal dump again and again: numbered files, as the
   * library would make them (run lists them all; no line about it) */
  if (env->out[0] != 0 && (ms != 0 || env->signo != 0) && !trig_pattern_has_seq(env->out) &&
      trig_pattern_with_seq(env->out, env->out, sizeof env->out) != 0) {
    formats_set_err(err, errlen, "-o '%s' is too long", opt->out);
    return -1;
  }
  return 0;
}

/* ---- the whole configuration ---- */

int run_settings_check(const struct run_options *opt, const char *(*inherit)(const char *name),
                       const char *cwd, struct run_env *env, char *err, size_t errlen) {
  memset(env, 0, sizeof *env);
  if (check_options(opt, cwd, env, err, errlen) != 0) return -1;

  /* The rate is the sampler's: trig_config_parse leaves it out. An
   * inherited one is checked here, with the sampler's parser. */
  const char *rate = opt->rate ? env->rate : inherit ? inherit("ALLOCPROF_RATE") : NULL;
  uint64_t v;
  if (rate != NULL && *rate != 0 && trig_parse_bytes(rate, &v) != 0) {
    formats_set_err(err, errlen, "ALLOCPROF_RATE=%s is not a byte count (e.g. 524288 or 512k)",
                    rate);
    return -1;
  }

  checking = opt;
  checking_inherit = inherit;
  snprintf(checking_rate, sizeof checking_rate, "%s", env->rate);
  struct trig_config cfg;
  char why[TRIG_PATH_MAX + 256];
  int rc = trig_config_parse(program_env, cwd, &cfg, why, sizeof why);
  checking = NULL;
  checking_inherit = NULL;
  if (rc == TRIG_CONFIG_BAD) {
    formats_set_err(err, errlen, "%s", why);
    return -1;
  }
  return 0;
}
