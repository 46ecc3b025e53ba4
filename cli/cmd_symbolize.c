/* cmd_symbolize.c: `allocprof symbolize`: names, files and lines for the
 * frames a profile has no name for, later and on another machine, from the
 * objects' files, debug directories and debuginfod servers, by build ID.
 * The work on one profile: symbolize_profile.h; where files come from:
 * symbolize_find.h. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmds.h"
#include "common.h"
#include "container.h"
#include "debuginfod.h"
#include "symbolize_find.h"
#include "symbolize_profile.h"

static const char symbolize_intro[] =
    "usage: allocprof symbolize [-o OUT] [--debug-dir DIR]... [--debuginfod URL]... IN...\n"
    "\n"
    "Names the frames of IN that have no name (\"libfoo.so+0x1a2b\", raw addresses):\n"
    "functions, source files, lines and inlined calls, from the files of the object\n"
    "each frame is in, found by its mapping's build ID, in this order: the object's\n"
    "own file, if it is the same build; its separate debug file in each --debug-dir\n"
    "(DIR/.build-id/xx/rest.debug, or by .gnu_debuglink), then in /usr/lib/debug;\n"
    "then the debuginfod servers of --debuginfod and DEBUGINFOD_URLS (libdebuginfod,\n"
    "with its cache DEBUGINFOD_CACHE_PATH; DEBUGINFOD_TIMEOUT, default " DINFOD_TIMEOUT
    " seconds).\n"
    "A file of another build is never used. Legacy gperftools and jemalloc profiles\n"
    "have no build IDs: their objects are read from the files at their paths, as\n"
    "jeprof does, with a note that they were not checked.\n"
    "\n"
    "Everything else in the profile stays as it was. The result is written to OUT,\n"
    "or beside each IN as NAME.sym.pb.gz (NAME: IN without .pb.gz, .pb.zst, .pb or\n"
    ".heap); one line on stderr per input says how many frames were named and how\n"
    "many were not. diff, gate and merge match a symbolized profile's frames with\n"
    "the same code's frames in an unsymbolized one.\n"
    "\n";

/* keys of the long-only options */
enum { OPT_DEBUG_DIR = 'D', OPT_DEBUGINFOD = 'U' };

static const cli_option symbolize_options[] = {
    {"output", 'o', "OUT", 'o', "the symbolized profile (with one IN only)"},
    {"debug-dir", 0, "DIR", OPT_DEBUG_DIR,
     "look for debug files under DIR, before\n/usr/lib/debug (repeatable)"},
    {"debuginfod", 0, "URL", OPT_DEBUGINFOD,
     "ask the debuginfod server at URL too (listed before\nthose of DEBUGINFOD_URLS; libdebuginfod "
     "asks them\nall at once) (repeatable)"},
    {NULL},
};

static int run_symbolize(int argc, char **argv);

const cli_command cmd_symbolize = {
    .name = "symbolize",
    .summary = "name unnamed frames from debug files and debuginfod",
    .run = run_symbolize,
    .intro = symbolize_intro,
    .options = symbolize_options,
};

#define MAX_SOURCES 64

typedef struct args {
  const char *out;
  char *dirs[MAX_SOURCES + 1];
  size_t ndirs;
  char *urls[MAX_SOURCES];
  size_t nurls;
} args;

/* IN's default output: its name without a profile ending, + ".sym.pb.gz". */
static char *default_output(const char *in) {
  static const char *const endings[] = {".pb.gz", ".pb.zst", ".pb", ".heap"};
  size_t n = strlen(in);
  for (size_t i = 0; i < sizeof endings / sizeof *endings; i++) {
    size_t el = strlen(endings[i]);
    if (n > el && strcmp(in + n - el, endings[i]) == 0) {
      n -= el;
      break;
    }
  }
  char *s = malloc(n + sizeof ".sym.pb.gz");
  if (s) sprintf(s, "%.*s.sym.pb.gz", (int)n, in);
  return s;
}

static int parse(args *a, int argc, char **argv) {
  int c;
  struct stat st;
  while ((c = cli_option_next(&cmd_symbolize, argc, argv)) != -1) {
    switch (c) {
      case 'o': a->out = optarg; break;
      case OPT_DEBUG_DIR:
        if (stat(optarg, &st) != 0 || !S_ISDIR(st.st_mode))
          return cli_usage_error("symbolize", "--debug-dir '%s': not a directory", optarg);
        if (a->ndirs == MAX_SOURCES)
          return cli_usage_error("symbolize", "more than %d --debug-dir", MAX_SOURCES);
        a->dirs[a->ndirs++] = optarg;
        break;
      case OPT_DEBUGINFOD:
        if (strncmp(optarg, "http://", 7) != 0 && strncmp(optarg, "https://", 8) != 0 &&
            strncmp(optarg, "file://", 7) != 0)
          return cli_usage_error("symbolize",
                                 "--debuginfod wants an http://, https:// or file:// URL, not '%s'",
                                 optarg);
        if (a->nurls == MAX_SOURCES)
          return cli_usage_error("symbolize", "more than %d --debuginfod", MAX_SOURCES);
        a->urls[a->nurls++] = optarg;
        break;
      default: return cli_option_end(&cmd_symbolize, c);
    }
  }
  if (argc == optind) return cli_usage_error("symbolize", "no input given");
  if (a->out && argc - optind > 1)
    return cli_usage_error("symbolize",
                           "-o takes one input (without it each IN is written to "
                           "NAME.sym.pb.gz)");
  a->dirs[a->ndirs++] = "/usr/lib/debug";
  return -1;
}

/* The line that says what was done to in. */
static void report(const char *in, const symprof_stats *st) {
  char missing[256] = "";
  if (st->missing)
    snprintf(missing, sizeof missing, " (no files for %zu object%s: %s%s)", st->missing,
             st->missing == 1 ? "" : "s", st->first_missing, st->missing > 1 ? ", ..." : "");
  fprintf(stderr, "allocprof: %s: named %zu frame%s, %zu left unnamed%s\n", in, st->named,
          st->named == 1 ? "" : "s", st->unnamed, missing);
  if (st->unchecked == 1)
    fprintf(stderr,
            "allocprof: %s: note: 1 object without a build ID in the profile named from the file "
            "at its path, not checked to be the same build\n",
            in);
  else if (st->unchecked)
    fprintf(stderr,
            "allocprof: %s: note: %zu objects without a build ID in the profile named from the "
            "files at their paths, not checked to be the same build\n",
            in, st->unchecked);
}

/* Symbolizes in into out. Returns the exit status. */
static int symbolize_one(const char *in, const char *out, const symfind_cfg *c) {
  profile_pb *p = NULL;
  if (cli_load(in, &p) != 0) return CLI_EXIT_USAGE;
  symprof_stats st;
  int rc = CLI_EXIT_USAGE;
  char err[CLI_ERRLEN];
  uint8_t *buf = NULL;
  size_t len = 0;
  if (symprof_run(p, c, &st) == 0) {
    if (profile_write_buffer(p, container_for_path(out), &buf, &len, err, sizeof err) != 0)
      cli_error("%s: %s", out, err);
    else if (cli_write_text(out, (char *)buf, len) == 0)
      rc = CLI_EXIT_OK;
    if (rc == CLI_EXIT_OK) report(in, &st);
  }
  profile_free(p);
  return rc;
}

static int run_symbolize(int argc, char **argv) {
  args a = {0};
  int rc = parse(&a, argc, argv);
  if (rc >= 0) return rc;
  size_t nin = (size_t)(argc - optind);
  char **outs = calloc(nin, sizeof *outs);
  if (!outs) {
    cli_error("out of memory");
    return CLI_EXIT_USAGE;
  }
  rc = CLI_EXIT_OK;
  /* every output checked before any work */
  for (size_t i = 0; i < nin && rc == CLI_EXIT_OK; i++) {
    outs[i] = a.out ? strdup(a.out) : default_output(argv[optind + i]);
    if (!outs[i]) {
      cli_error("out of memory");
      rc = CLI_EXIT_USAGE;
    } else if (container_for_path(outs[i]) == CONTAINER_FOLDED) {
      rc =
          cli_usage_error("symbolize", "%s: symbolize writes profiles, not folded stacks", outs[i]);
    } else if (cli_check_output(outs[i]) != 0) {
      rc = CLI_EXIT_USAGE;
    }
  }
  symfind_cfg cfg = {a.dirs, a.ndirs, NULL};
  if (rc == CLI_EXIT_OK) cfg.servers = dinfod_open(a.urls, a.nurls);
  for (size_t i = 0; i < nin && rc == CLI_EXIT_OK; i++)
    rc = symbolize_one(argv[optind + i], outs[i], &cfg);
  dinfod_close(cfg.servers);
  for (size_t i = 0; i < nin; i++) free(outs[i]);
  free(outs);
  return rc;
}
