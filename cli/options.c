/* options.c: option parsing for every subcommand: getopt_long with the
 * command's conventions (one usage line per mistake), sizes, percentages and
 * counts. Contracts in common.h ("options"). */
#include "common.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- options ---- */

void cli_getopt_reset(void) {
  optind = 0; /* glibc: 0 re-initialises getopt completely */
  opterr = 0;
}

int cli_getopt(const char *cmd, int argc, char **argv, const char *shortopts,
               const struct option *longopts) {
  /* A leading ':' makes getopt tell a missing argument (':') from an unknown
   * option ('?'). */
  char opts[64];
  if (shortopts[0] == '+') /* stop at the first operand; glibc wants '+' first */
    snprintf(opts, sizeof opts, "+:%s", shortopts + 1);
  else
    snprintf(opts, sizeof opts, ":%s", shortopts);
  int c = getopt_long(argc, argv, opts, longopts, NULL);
  if (c != '?' && c != ':') return c;
  /* getopt leaves the offending word at argv[optind - 1]. */
  const char *word = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
  bool long_word = word[0] == '-' && word[1] == '-';
  if (c == ':') {
    if (long_word)
      cli_usage_error(cmd, "option %s needs an argument", word);
    else
      cli_usage_error(cmd, "option -%c needs an argument", optopt);
  } else if (!long_word && optopt) {
    cli_usage_error(cmd, "unknown option -%c", optopt);
  } else {
    cli_usage_error(cmd, "unknown option %s", word);
  }
  return '?';
}

int cli_parse_size(const char *s, int64_t *out) {
  if (!s || !*s) return -1;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || errno || !(v >= 0) || isinf(v)) return -1;
  while (*end == ' ') end++;
  double mul = 1;
  static const struct {
    const char *suffix[4];
    double mul;
  } units[] = {
      {{"", "B", "b", NULL}, 1},
      {{"k", "K", "KB", "KiB"}, 1024.0},
      {{"M", "m", "MB", "MiB"}, 1024.0 * 1024},
      {{"G", "g", "GB", "GiB"}, 1024.0 * 1024 * 1024},
      {{"T", "t", "TB", "TiB"}, 1024.0 * 1024 * 1024 * 1024},
  };
  bool found = false;
  for (size_t u = 0; u < sizeof units / sizeof units[0] && !found; u++)
    for (size_t k = 0; k < 4 && units[u].suffix[k] && !found; k++)
      if (strcmp(end, units[u].suffix[k]) == 0) {
        mul = units[u].mul;
        found = true;
      }
  if (!found && (!strcmp(end, "kB") || !strcmp(end, "kiB"))) {
    mul = 1024;
    found = true;
  }
  if (!found) return -1;
  v *= mul;
  if (v >= 9.2e18) return -1;
  *out = (int64_t)llround(v);
  return 0;
}

int cli_parse_percent(const char *s, double *out) {
  if (!s || !*s) return -1;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || errno || !(v >= 0) || isinf(v)) return -1;
  if (*end == '%') end++;
  if (*end) return -1;
  *out = v;
  return 0;
}

int cli_parse_count(const char *s, long *out) {
  if (!s || *s < '0' || *s > '9') return -1;
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (*end || errno) return -1;
  *out = v;
  return 0;
}
