/* cmd_top.c: `allocprof top`: a profile's comments (what it is: trigger,
 * pid, command line, time, rate, sequence number, as liballoc writes them)
 * and totals, then its top functions by flat and by cumulative value, in
 * human units or as JSON. */
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "common.h"
#include "frames.h"

const char cmd_top_help[] =
    "usage: allocprof top [-n N] [--sample-index TYPE] [--focus REGEX] [--hide REGEX]\n"
    "                     [--json] FILE\n"
    "\n"
    "Prints the profile's comments (liballoc's say what started the dump, the\n"
    "process, its command line, the time, the rate and the dump's sequence\n"
    "number), its sample types and totals, then the N functions with the\n"
    "largest flat value (allocated in the function itself: the leaf frame of a\n"
    "stack) and the N with the largest cumulative value (the function anywhere on\n"
    "the stack, once per stack). Bytes are shown in B/KiB/MiB/GiB, counts with\n"
    "k/M/G. A snapshot stream (ALLOCPROF_STREAM) gives its last snapshot. When\n"
    "less than 1% of what was allocated is still in use (a program that freed\n"
    "nearly everything before exit), a note says so and where to look instead.\n"
    "\n"
    "options:\n"
    "  -n, --count N         functions per list (default 10; 0 = all)\n"
    "  -i, --sample-index TYPE\n"
    "                        the value to rank by: a sample type such as inuse_space,\n"
    "                        alloc_space, inuse_objects, alloc_objects, or its\n"
    "                        position; default: the profile's default sample type,\n"
    "                        else its last one; peak_inuse_space: what the program\n"
    "                        held at its peak\n"
    "  --json                one JSON object with the same content, exact values\n"
    "  --focus REGEX         only the stacks through a function matching REGEX\n"
    "                        (POSIX extended, unanchored)\n"
    "  --hide REGEX          leave out the frames of functions matching REGEX\n"
    "                        (wrappers such as 'xmalloc|g_malloc'); their values go\n"
    "                        to their callers\n"
    "  -h, --help            this text\n";

/* The first n functions of t; sum% (the running total of flat) only in the
 * list sorted by flat, where it means something. */
static void print_table(const cli_funcs *t, size_t n, const char *unit, const char *title,
                        bool sum_column) {
  char a[32], b[32], c[32], d[32], e[32];
  printf("\n%s\n", title);
  if (sum_column)
    printf("%10s %8s %8s %10s %8s  %s\n", "flat", "flat%", "sum%", "cum", "cum%", "function");
  else
    printf("%10s %8s %10s %8s  %s\n", "flat", "flat%", "cum", "cum%", "function");
  double sum = 0;
  for (size_t i = 0; i < n; i++) {
    const cli_func *f = &t->v[i];
    sum += (double)f->flat[0];
    cli_human(a, (double)f->flat[0], unit, false);
    cli_percent(b, (double)f->flat[0], (double)t->abs_total[0]);
    cli_percent(c, sum, (double)t->abs_total[0]);
    cli_human(d, (double)f->cum[0], unit, false);
    cli_percent(e, (double)f->cum[0], (double)t->abs_total[0]);
    if (sum_column)
      printf("%10s %8s %8s %10s %8s  %s\n", a, b, c, d, e, f->name);
    else
      printf("%10s %8s %10s %8s  %s\n", a, b, d, e, f->name);
  }
}

static void json_funcs(const cli_funcs *t, size_t n) {
  printf("[");
  for (size_t i = 0; i < n; i++) {
    printf("%s\n    {\"function\": ", i ? "," : "");
    cli_json_string(stdout, t->v[i].name);
    printf(", \"flat\": %lld, \"cum\": %lld}", (long long)t->v[i].flat[0],
           (long long)t->v[i].cum[0]);
  }
  printf("%s]", n ? "\n  " : "");
}

/* The profile's comments, one "Comment: " line each; a byte that would
 * upset a terminal (a foreign profile may hold any) shows as '?'. */
static void print_comments(const profile_pb *p) {
  for (size_t i = 0; i < p->n_comment; i++) {
    const char *c = cli_str(p, p->comment[i]);
    fputs("Comment: ", stdout);
    for (const unsigned char *u = (const unsigned char *)c; *u; u++)
      putchar(*u < 0x20 || *u == 0x7f ? '?' : *u);
    putchar('\n');
  }
}

/* Totals of every sample type. */
static int64_t *type_totals(const profile_pb *p) {
  int64_t *tot = calloc(p->n_sample_type + 1, sizeof *tot);
  if (!tot) return NULL;
  for (size_t i = 0; i < p->n_sample; i++)
    for (size_t k = 0; k < p->n_sample_type; k++)
      tot[k] = (int64_t)((uint64_t)tot[k] + (uint64_t)p->sample[i]->value[k]);
  return tot;
}

/* Total of the sample type called name, or -1 when p has none. */
static int64_t total_named(const profile_pb *p, const int64_t *totals, const char *name) {
  for (size_t k = 0; k < p->n_sample_type; k++)
    if (strcmp(cli_type_name(p, k), name) == 0) return totals[k];
  return -1;
}

/* When the program freed nearly all it allocated before the profile was
 * written (in use under 1% of allocated), an in-use view is nearly empty
 * and says little: the note says so and where to look instead. Written to
 * buf (empty when there is nothing to say); only for an in-use value. */
static void freed_note(char *buf, size_t len, const profile_pb *p, const int64_t *totals,
                       const char *type) {
  buf[0] = 0;
  if (strncmp(type, "inuse_", 6) != 0) return;
  int64_t inuse = total_named(p, totals, "inuse_space");
  int64_t alloc = total_named(p, totals, "alloc_space");
  if (inuse < 0 || alloc <= 0 || (double)inuse >= 0.01 * (double)alloc) return;
  char a[32], b[32], c[32];
  bool peak = total_named(p, totals, "peak_inuse_space") >= 0;
  snprintf(buf, len,
           "in use is %s of allocated (%s of %s): the program freed nearly everything before "
           "this profile was written. Where it allocated: -i alloc_space. What it held at its "
           "peak: %sALLOCPROF_PEAK=10%% (a profile at each new high of in-use memory).",
           cli_percent(a, (double)inuse, (double)alloc),
           cli_human(b, (double)inuse, "bytes", false), cli_human(c, (double)alloc, "bytes", false),
           peak ? "-i peak_inuse_space, or run with " : "run with ");
}

int cmd_top(int argc, char **argv) {
  static const struct option longopts[] = {
      {"count", required_argument, NULL, 'n'}, {"sample-index", required_argument, NULL, 'i'},
      {"json", no_argument, NULL, 'j'},        CLI_FILTER_OPTIONS,
      {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
  };
  long count = 10;
  const char *index_name = NULL;
  bool json = false;
  static cli_filter filter; /* static: reachable until exit on early returns */
  int c;
  while ((c = cli_getopt("top", argc, argv, "n:i:h", longopts)) != -1) {
    switch (c) {
      case 'n':
        if (cli_parse_count(optarg, &count) != 0)
          return cli_usage_error("top", "-n wants a number of functions, not '%s'", optarg);
        break;
      case 'i': index_name = optarg; break;
      case 'j': json = true; break;
      case CLI_OPT_HIDE:
      case CLI_OPT_FOCUS:
        if (cli_filter_set(&filter, "top", c, optarg) != 0) return CLI_EXIT_USAGE;
        break;
      case 'h': cli_help("top", stdout); return cli_finish_stdout(CLI_EXIT_OK);
      default: return CLI_EXIT_USAGE;
    }
  }
  if (argc - optind != 1)
    return cli_usage_error("top", argc == optind ? "no profile given" : "one profile at a time");
  const char *file = argv[optind];

  profile_pb *p = NULL;
  if (cli_load(file, &p) != 0) return CLI_EXIT_USAGE;
  int rc = CLI_EXIT_USAGE;
  cli_funcs t = {0};
  int64_t *totals = NULL;
  /* frames an older profile names by raw address get their object and
   * offset, as in diff and flame (frames.h) */
  if (cli_name_frames(&p, 1) != 0) goto done;
  ssize_t vi = cli_sample_index(p, index_name, file);
  if (vi < 0 || cli_filter_apply(&filter, p) != 0) goto done;
  if (cli_funcs_add(&t, p, (size_t)vi, 0) != 0) goto done;
  if (!(totals = type_totals(p))) {
    cli_error("out of memory");
    goto done;
  }
  cli_funcs_sort(&t, CLI_SORT_FLAT, 0); /* also drops the functions without samples */
  size_t n = count == 0 || (size_t)count > t.n ? t.n : (size_t)count;
  const char *type = cli_type_name(p, (size_t)vi), *unit = cli_type_unit(p, (size_t)vi);
  const char *ptype = p->period_type ? cli_str(p, p->period_type->type) : "";
  const char *punit = p->period_type ? cli_str(p, p->period_type->unit) : "";
  char a[32], title_buf[512], note[512];
  freed_note(note, sizeof note, p, totals, type);

  if (json) {
    printf("{\n  \"file\": ");
    cli_json_string(stdout, file);
    printf(",\n  \"sample_type\": ");
    cli_json_string(stdout, type);
    printf(",\n  \"unit\": ");
    cli_json_string(stdout, unit);
    printf(",\n  \"period_type\": ");
    cli_json_string(stdout, ptype);
    printf(",\n  \"period_unit\": ");
    cli_json_string(stdout, punit);
    printf(",\n  \"period\": %lld,", (long long)p->period);
    printf("\n  \"comments\": [");
    for (size_t i = 0; i < p->n_comment; i++) {
      printf("%s", i ? ", " : "");
      cli_json_string(stdout, cli_str(p, p->comment[i]));
    }
    printf("],");
    if (cli_filter_active(&filter)) {
      printf("\n  \"filter\": ");
      cli_json_string(stdout, cli_filter_text(&filter, title_buf, sizeof title_buf));
      printf(",");
    }
    printf("\n  \"totals\": [");
    for (size_t k = 0; k < p->n_sample_type; k++) {
      printf("%s\n    {\"type\": ", k ? "," : "");
      cli_json_string(stdout, cli_type_name(p, k));
      printf(", \"unit\": ");
      cli_json_string(stdout, cli_type_unit(p, k));
      printf(", \"value\": %lld}", (long long)totals[k]);
    }
    printf("\n  ],");
    if (note[0]) {
      printf("\n  \"note\": ");
      cli_json_string(stdout, note);
      printf(",");
    }
    printf("\n  \"total\": %lld,\n  \"samples\": %zu,\n  \"functions\": %zu,\n",
           (long long)t.total[0], p->n_sample, t.n);
    cli_funcs_sort(&t, CLI_SORT_FLAT, 0);
    printf("  \"top_flat\": ");
    json_funcs(&t, n);
    cli_funcs_sort(&t, CLI_SORT_CUM, 0);
    printf(",\n  \"top_cum\": ");
    json_funcs(&t, n);
    printf("\n}\n");
  } else {
    printf("File: %s\n", file);
    print_comments(p);
    printf("Type: %s (%s)", type, unit);
    cli_model m;
    cli_model_init(&m, p, (size_t)vi);
    if (m.pmin != m.pmax)
      printf("; sampled at different rates, per sample (" CLI_PERIOD_LABEL " labels): from %s",
             m.pmin > 0 ? cli_human(a, m.pmin, "bytes", false) : "every allocation");
    if (m.pmin != m.pmax)
      printf(" to %s", cli_human(a, m.pmax, "bytes", false));
    else if (*ptype && !strcmp(punit, "bytes") && p->period <= 1)
      printf("; every allocation recorded");
    else if (*ptype && !strcmp(punit, "bytes"))
      printf("; sampled every %s allocated on average",
             cli_human(a, (double)p->period, punit, false));
    else if (*ptype)
      printf("; period %lld %s of %s", (long long)p->period, punit, ptype);
    printf("\nTotals:");
    for (size_t k = 0; k < p->n_sample_type; k++)
      printf("%s %s %s", k ? "," : "", cli_type_name(p, k),
             cli_human(a, (double)totals[k], cli_type_unit(p, k), false));
    printf("\nSamples: %zu; functions: %zu\n", p->n_sample, t.n);
    if (cli_filter_active(&filter))
      printf("Filter: %s\n", cli_filter_text(&filter, title_buf, sizeof title_buf));
    if (note[0]) printf("Note: %s\n", note);
    char title[160];
    cli_funcs_sort(&t, CLI_SORT_FLAT, 0);
    snprintf(title, sizeof title, "Top %zu functions by flat %s:", n, type);
    print_table(&t, n, unit, title, true);
    cli_funcs_sort(&t, CLI_SORT_CUM, 0);
    snprintf(title, sizeof title, "Top %zu functions by cumulative %s:", n, type);
    print_table(&t, n, unit, title, false);
  }
  rc = cli_finish_stdout(CLI_EXIT_OK);
done:
  free(totals);
  cli_filter_free(&filter);
  cli_funcs_free(&t);
  profile_free(p);
  return rc;
}
