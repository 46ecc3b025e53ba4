/* cmd_merge.c: `allocprof merge`: the sum of several profiles in one file. The
 * profile builder (formats/profile_builder.h) deduplicates strings, mappings,
 * functions and locations and merges samples with equal stacks and labels.
 * Frames without a symbol are first named by object and offset, across all
 * inputs (frames.h): the same frame of two runs is then one function,
 * though its address differs.
 *
 * Rates. A heap profile's period is the rate it was sampled at, and the
 * gate's noise model (common.h) reads it. When the inputs were taken at
 * different rates, one period cannot describe the sum: each sample then gets
 * its input's period as a numeric label CLI_PERIOD_LABEL ("sampling_period",
 * bytes), which the model prefers to the profile's (a label already there,
 * from an earlier merge, is kept). Samples of different rates stay apart.
 * The profile's own period is the first input's, as before, for readers that
 * know nothing of the label. Knowing whether the rates differ needs every
 * input read before the first is added: they are all loaded (within the
 * command's memory bound, which counts all inputs), then each freed once
 * added.
 *
 * Comments. A profile's comments describe one dump (trigger=, pid=,
 * cmdline=, seq=: dump_comments.c). Merged one by one and deduplicated, the
 * pid= of one input would end up beside the trigger= of another. With two
 * or more inputs, each input's comments become one comment, "FILE: c1; c2;
 * ...", in the order of the inputs; when the inputs' cmdline= differ, a
 * comment and a note on stderr say that they come from different programs.
 * One input keeps its comments as they are. */
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "common.h"
#include "frames.h"
#include "profile_builder.h"

static const char merge_intro[] =
    "usage: allocprof merge -o OUT IN...\n"
    "\n"
    "Writes one profile holding the sum of the inputs: samples with the same stack\n"
    "and labels are added together; mappings, locations, functions and strings are\n"
    "deduplicated; frames without a symbol are named OBJECT+0xOFFSET, one name for\n"
    "the same frame of every input whatever its address. The inputs must have the\n"
    "same sample types; the output takes the period and default sample type of the\n"
    "first and the earliest time. Each input's comments (trigger=, pid=, cmdline=,\n"
    "seq=...) become one comment \"IN: c1; c2; ...\"; a note says when the inputs\n"
    "come from different programs (their cmdline= differ). Heap profiles sampled at\n"
    "different rates keep each sample's rate as a numeric label sampling_period\n"
    "(bytes), which gate's sampling error uses, so the merged profile's noise is\n"
    "that of its parts. OUT's ending picks its container (.pb.gz, .pb.zst, .pb,\n"
    ".folded).\n"
    "\n";

static const cli_option merge_options[] = {
    {"output", 'o', "OUT", 'o', "the merged profile (required)"},
    {NULL},
};

static int run_merge(int argc, char **argv);

const cli_command cmd_merge = {
    .name = "merge",
    .summary = "sum profiles into one",
    .run = run_merge,
    .intro = merge_intro,
    .options = merge_options,
};

static bool is_heap(const profile_pb *p) {
  return p->period_type && strcmp(cli_str(p, p->period_type->type), "space") == 0 &&
         strcmp(cli_str(p, p->period_type->unit), "bytes") == 0;
}

/* Whether the heap profiles among the inputs were sampled at different
 * rates, or one of them already carries per-sample rates: then every sample
 * gets its rate as a label. */
static bool per_sample_rates(profile_pb *const *in, size_t n) {
  bool have = false;
  int64_t period = 0;
  for (size_t i = 0; i < n; i++) {
    const profile_pb *p = in[i];
    if (!is_heap(p)) continue;
    for (size_t k = 1; k < p->n_string_table; k++)
      if (strcmp(p->string_table[k], CLI_PERIOD_LABEL) == 0) return true;
    if (have && p->period != period) return true;
    period = p->period;
    have = true;
  }
  return false;
}

/* p's comments joined into one: "file: c1; c2; ..." (NULL when p has none,
 * or out of memory: the caller then says so). *oom tells the two apart. */
static char *joined_comments(const profile_pb *p, const char *file, bool *oom) {
  *oom = false;
  if (p->n_comment == 0) return NULL;
  char *s = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&s, &len);
  if (!f) {
    *oom = true;
    return NULL;
  }
  fprintf(f, "%s:", file);
  for (size_t i = 0; i < p->n_comment; i++)
    fprintf(f, "%s %s", i ? ";" : "", cli_str(p, p->comment[i]));
  if (fclose(f) != 0) {
    free(s);
    *oom = true;
    return NULL;
  }
  return s;
}

/* The value of p's comment "cmdline=...", or NULL. */
static const char *cmdline_of(const profile_pb *p) {
  for (size_t i = 0; i < p->n_comment; i++) {
    const char *c = cli_str(p, p->comment[i]);
    if (strncmp(c, "cmdline=", 8) == 0) return c + 8;
  }
  return NULL;
}

/* Whether two inputs name different programs (cmdline=); says so on
 * stderr. */
static bool different_programs(profile_pb *const *in, char **names, size_t n) {
  size_t first = n;
  for (size_t i = 0; i < n; i++) {
    const char *c = cmdline_of(in[i]);
    if (!c) continue;
    if (first == n) {
      first = i;
    } else if (strcmp(c, cmdline_of(in[first])) != 0) {
      fprintf(stderr,
              "allocprof merge: note: the inputs come from different programs: %s runs '%s', "
              "%s runs '%s'\n",
              names[first], cmdline_of(in[first]), names[i], c);
      return true;
    }
  }
  return false;
}

static int run_merge(int argc, char **argv) {
  const char *out = NULL;
  int c;
  while ((c = cli_option_next(&cmd_merge, argc, argv)) != -1) {
    if (c != 'o') return cli_option_end(&cmd_merge, c);
    out = optarg;
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
  size_t n = (size_t)(argc - optind);
  profile_pb **in = calloc(n, sizeof *in);
  if (!in) {
    cli_error("out of memory");
    goto done;
  }
  for (size_t i = 0; i < n; i++)
    if (cli_load(argv[optind + (int)i], &in[i]) != 0) goto done;
  /* a frame without a symbol is one frame in every input (frames.h) */
  if (cli_name_frames(in, n) != 0) goto done;
  bool label = per_sample_rates(in, n);
  bool programs = n > 1 && different_programs(in, argv + optind, n);
  for (size_t i = 0; i < n; i++) {
    const char *name = argv[optind + (int)i];
    if (cli_check_types(in[i], name) != 0) goto done;
    if (label && cli_check_period(in[i], name) != 0) goto done;
    bool oom = false;
    char *comments = n > 1 ? joined_comments(in[i], name, &oom) : NULL;
    if (oom) {
      cli_error("out of memory");
      goto done;
    }
    if (n > 1) in[i]->n_comment = 0; /* they go in as one, below */
    profile_label l = {.key = CLI_PERIOD_LABEL, .num = in[i]->period, .num_unit = "bytes"};
    int r = profile_builder_add_profile_labeled(b, in[i], 1, label && is_heap(in[i]) ? &l : NULL,
                                                err, sizeof err);
    if (r == 0 && comments) profile_builder_add_comment(b, comments);
    free(comments);
    profile_free(in[i]); /* added: its memory can go */
    in[i] = NULL;
    if (r != 0) {
      cli_error("%s: %s", name, err);
      goto done;
    }
  }
  if (programs)
    profile_builder_add_comment(b,
                                "allocprof merge: the inputs come from different programs "
                                "(their cmdline= differ)");
  if (label)
    profile_builder_add_comment(b,
                                "allocprof merge: inputs sampled at different rates; each "
                                "sample's rate is its " CLI_PERIOD_LABEL " label");
  if (profile_builder_write_file(b, out, err, sizeof err) != 0) {
    cli_error("%s", err);
    goto done;
  }
  rc = CLI_EXIT_OK;
done:
  for (size_t i = 0; in && i < n; i++) profile_free(in[i]);
  free(in);
  profile_builder_free(b);
  return rc;
}
