/* options.c: option parsing for every subcommand: its option table (a
 * cli_command) made into getopt_long's lists with the command's conventions
 * (one usage line per mistake) and into its --help; then the values
 * options take: sizes, percentages and counts. Contracts in common.h
 * ("commands and their options"). */
#include "common.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the option table: parser and --help ---- */

/* Options in a table at most (a command has about ten). */
#define MAX_OPTIONS 32

void cli_option_reset(void) {
  optind = 0; /* glibc: 0 re-initialises getopt completely */
  opterr = 0;
}

/* getopt's short and long option lists from cmd's table, -h/--help added.
 * A leading ':' makes getopt tell a missing argument (':') from an unknown
 * option ('?'); '+' first stops at the first operand. */
static void getopt_lists(const cli_command *cmd, char *shortopts, size_t len,
                         struct option *longopts) {
  size_t used = 0, n = 0;
  if (cmd->stop_at_operand) shortopts[used++] = '+';
  shortopts[used++] = ':';
  for (const cli_option *o = cmd->options; o->name && n < MAX_OPTIONS; o++, n++) {
    longopts[n] = (struct option){o->name, o->arg ? required_argument : no_argument, NULL, o->key};
    if (o->letter && used + 3 < len) {
      shortopts[used++] = o->letter;
      if (o->arg) shortopts[used++] = ':';
    }
  }
  longopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
  longopts[n] = (struct option){NULL, 0, NULL, 0};
  shortopts[used++] = 'h';
  shortopts[used] = 0;
}

int cli_option_next(const cli_command *cmd, int argc, char **argv) {
  char shortopts[2 * MAX_OPTIONS + 8];
  struct option longopts[MAX_OPTIONS + 2];
  getopt_lists(cmd, shortopts, sizeof shortopts, longopts);
  int c = getopt_long(argc, argv, shortopts, longopts, NULL);
  if (c == 'h') return CLI_OPT_HELP;
  if (c != '?' && c != ':') return c;
  /* getopt leaves the offending word at argv[optind - 1]. */
  const char *word = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
  bool long_word = word[0] == '-' && word[1] == '-';
  if (c == ':') {
    if (long_word)
      cli_usage_error(cmd->name, "option %s needs an argument", word);
    else
      cli_usage_error(cmd->name, "option -%c needs an argument", optopt);
  } else if (!long_word && optopt) {
    cli_usage_error(cmd->name, "unknown option -%c", optopt);
  } else {
    cli_usage_error(cmd->name, "unknown option %s", word);
  }
  return '?';
}

int cli_option_end(const cli_command *cmd, int key) {
  if (key != CLI_OPT_HELP) return CLI_EXIT_USAGE;
  cli_command_help(cmd, stdout);
  return cli_finish_stdout(CLI_EXIT_OK);
}

/* The column an option's help starts at; an option written wider than
 * that, less one space, has its help start on the next line. */
#define HELP_COLUMN 24

static void option_help(FILE *f, char letter, const char *name, const char *arg, const char *help) {
  char lead[128], first[8] = "";
  if (letter) snprintf(first, sizeof first, "-%c, ", letter);
  snprintf(lead, sizeof lead, "  %s--%s%s%s", first, name, arg ? " " : "", arg ? arg : "");
  size_t len = strlen(lead);
  if (len < HELP_COLUMN)
    fprintf(f, "%s%*s", lead, (int)(HELP_COLUMN - len), "");
  else
    fprintf(f, "%s\n%*s", lead, HELP_COLUMN, "");
  for (const char *line = help; *line;) {
    size_t k = strcspn(line, "\n");
    fprintf(f, "%.*s\n", (int)k, line);
    line += k;
    if (*line == '\n' && *++line) fprintf(f, "%*s", HELP_COLUMN, "");
  }
}

void cli_command_help(const cli_command *cmd, FILE *f) {
  fputs(cmd->intro, f);
  fputs("options:\n", f);
  for (const cli_option *o = cmd->options; o->name; o++)
    option_help(f, o->letter, o->name, o->arg, o->help);
  option_help(f, 'h', "help", NULL, "this text");
  if (cmd->outro) fputs(cmd->outro, f);
}

/* ---- values ---- */

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
