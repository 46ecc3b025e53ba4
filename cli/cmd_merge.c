/* cmd_merge.c: `allocprof merge`: the sum of several profiles in one file. The
 * profile builder (formats/profile_builder.h) deduplicates strings, mappings,
 * functions and locations and merges samples with equal stacks and labels. */
#include <stdlib.h>

#include "cmds.h"
#include "common.h"
#include "profile_builder.h"

const char cmd_merge_help[] =
    "usage: allocprof merge -o OUT IN...\n"
    "\n"
    "Writes one profile holding the sum of the inputs: samples with the same stack\n"
    "and labels are added together; mappings, locations, functions and strings are\n"
    "deduplicated. The inputs must have the same sample types; the output takes\n"
    "the period, default sample type and comments of the first and the earliest\n"
    "time. OUT's ending picks its container (.pb.gz, .pb.zst, .pb, .folded).\n"
    "\n"
    "options:\n"
    "  -o, --output OUT      the merged profile (required)\n"
    "  -h, --help            this text\n";

int cmd_merge(int argc, char **argv) {
  static const struct option longopts[] = {
      {"output", required_argument, NULL, 'o'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *out = NULL;
  int c;
  while ((c = cli_getopt("merge", argc, argv, "o:h", longopts)) != -1) {
    switch (c) {
      case 'o': out = optarg; break;
      case 'h': cli_help("merge", stdout); return cli_finish_stdout(CLI_EXIT_OK);
      default: return CLI_EXIT_USAGE;
    }
  }
  if (!out) return cli_usage_error("merge", "no output file (-o OUT)");
  if (cli_check_output(out) != 0) return CLI_EXIT_USAGE;
  if (optind == argc) return cli_usage_error("merge", "no input profiles");

  profile_builder *b = profile_builder_new();
  if (!b) {
    cli_error("out of memory");
    return CLI_EXIT_USAGE;
  }
  char err[CLI_ERRLEN];
  int rc = CLI_EXIT_USAGE;
  for (int i = optind; i < argc; i++) {
    profile_pb *p = NULL;
    if (cli_load(argv[i], &p) != 0) goto done;
    int r = profile_builder_add_profile(b, p, 1, err, sizeof err);
    profile_free(p);
    if (r != 0) {
      cli_error("%s: %s", argv[i], err);
      goto done;
    }
  }
  if (profile_builder_write_file(b, out, err, sizeof err) != 0) {
    cli_error("%s", err);
    goto done;
  }
  rc = CLI_EXIT_OK;
done:
  profile_builder_free(b);
  return rc;
}
