/* cmd_top.c: `allocprof top`: a profile's comments (what it is: trigger,
 * pid, command line, time, rate, sequence number, as liballoc writes them)
 * and totals, then its top functions by flat and by cumulative value, in
 * human units or as JSON. A sampled profile's values are estimates: each
 * gets its standard error (the model of common.h), so that two runs that
 * show 8.2 and 11.9 MiB at one site are seen to agree. The cumulative list
 * leaves out the functions on every stack (_start, main): their cum is the
 * total, which says nothing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "common.h"
#include "frames.h"
#include "satint.h"

static const char top_intro[] =
    "usage: allocprof top [-n N] [--sample-index TYPE] [--focus REGEX] [--hide REGEX]\n"
    "                     [--json] [--no-error] FILE\n"
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
    "A sampled profile's values are estimates: each comes with its standard\n"
    "error (the ± columns; about sqrt(B*P) for B bytes sampled every P bytes), and\n"
    "the header says so. A profile written at rate 1 is exact and has none. The\n"
    "cumulative list leaves out the functions on every stack (such as _start and\n"
    "main), whose cumulative value is the total; a line names them.\n"
    "\n";

static const cli_option top_options[] = {
    {"count", 'n', "N", 'n', "functions per list (default 10; 0 = all)"},
    {"sample-index", 'i', "TYPE", 'i',
     "the value to rank by: a sample type such as inuse_space,\n"
     "alloc_space, inuse_objects, alloc_objects, or its\n"
     "position; default: the profile's default sample type,\n"
     "else its last one; peak_inuse_space: what the program\n"
     "held at its peak"},
    {"json", 0, NULL, CLI_OPT_JSON, "one JSON object with the same content, exact values"},
    {"no-error", 0, NULL, CLI_OPT_NO_ERROR, "leave out the standard errors (the ± columns)"},
    CLI_FILTER_OPTIONS,
    {NULL},
};

static int run_top(int argc, char **argv);

const cli_command cmd_top = {
    .name = "top",
    .summary = "totals and the top functions of a profile",
    .run = run_top,
    .intro = top_intro,
    .options = top_options,
};

/* "±1.23 MiB" (buf: 40 bytes). */
static char *plus_minus(char *buf, double var, const char *unit) {
  char h[32];
  snprintf(buf, 40, "±%s", cli_human(h, sqrt(var), unit, false));
  return buf;
}

/* Whether function f is on every stack that has a value (t counts them):
 * left out of the cumulative list. */
static bool on_every_stack(const cli_funcs *t, const cli_func *f) {
  return t->valued[0] > 1 && f->stacks[0] == t->valued[0];
}

/* The first n functions of t (skipping those on every stack when skip is
 * set); sum% (the running total of flat) only in the list sorted by flat,
 * where it means something; the ± columns when err. */
static void print_table(const cli_funcs *t, size_t n, const char *unit, const char *title,
                        bool sum_column, bool skip, bool err) {
  char a[32], b[32], c[32], d[32], e[32], fe[40], ce[40];
  printf("\n%s\n", title);
  printf("%10s %s%8s %s%10s %s%8s  %s\n", "flat", err ? "      ± 1σ " : "", "flat%",
         sum_column ? "    sum% " : "", "cum", err ? "      ± 1σ " : "", "cum%", "function");
  double sum = 0;
  for (size_t i = 0, shown = 0; i < t->n && shown < n; i++) {
    const cli_func *f = &t->v[i];
    sum += (double)f->flat[0];
    if (skip && on_every_stack(t, f)) continue;
    shown++;
    cli_human(a, (double)f->flat[0], unit, false);
    cli_percent(b, (double)f->flat[0], (double)t->abs_total[0]);
    cli_percent(c, sum, (double)t->abs_total[0]);
    cli_human(d, (double)f->cum[0], unit, false);
    cli_percent(e, (double)f->cum[0], (double)t->abs_total[0]);
    if (err) {
      plus_minus(fe, f->var_flat[0], unit);
      plus_minus(ce, f->var_cum[0], unit);
      printf("%10s %10s ", a, fe);
    } else {
      printf("%10s ", a);
    }
    printf("%8s ", b);
    if (sum_column) printf("%8s ", c);
    printf("%10s ", d);
    if (err) printf("%10s ", ce);
    printf("%8s  %s\n", e, f->name);
  }
}

/* "Not listed, on every stack: _start, __libc_start_main, main" */
static void print_every_stack(const cli_funcs *t) {
  size_t k = 0;
  for (size_t i = 0; i < t->n; i++) {
    if (!on_every_stack(t, &t->v[i])) continue;
    printf(k++ ? ", %s" : "(on every stack, not listed: %s", t->v[i].name);
  }
  if (k) printf(")\n");
}

/* The first n functions of t (skipping those on every stack when skip is
 * set), with their standard errors when err. */
static void json_funcs(const cli_funcs *t, size_t n, bool skip, bool err) {
  printf("[");
  size_t shown = 0;
  for (size_t i = 0; i < t->n && shown < n; i++) {
    const cli_func *f = &t->v[i];
    if (skip && on_every_stack(t, f)) continue;
    printf("%s\n    {\"function\": ", shown++ ? "," : "");
    cli_json_string(stdout, f->name);
    printf(", \"flat\": %lld, \"cum\": %lld", (long long)f->flat[0], (long long)f->cum[0]);
    if (err)
      printf(", \"flat_stderr\": %.0f, \"cum_stderr\": %.0f", sqrt(f->var_flat[0]),
             sqrt(f->var_cum[0]));
    printf("}");
  }
  printf("%s]", shown ? "\n  " : "");
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
    for (size_t k = 0; k < p->n_sample_type; k++) tot[k] = sat_add(tot[k], p->sample[i]->value[k]);
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

/* What top was asked, and what it found. */
typedef struct top_run {
  long count;
  const char *index_name, *file;
  bool json, no_error;
  bool err; /* the values are sampled estimates, and their errors shown */
  cli_filter *filter;
  profile_pb *p;
  size_t vi, n; /* the value ranked by; functions per list */
  cli_funcs t;
  int64_t *totals; /* of every sample type */
  char note[512];  /* freed_note's */
} top_run;

/* Options and the one operand into r; returns -1 to go on, else the exit
 * status. */
static int parse_top(top_run *r, int argc, char **argv) {
  int c;
  while ((c = cli_option_next(&cmd_top, argc, argv)) != -1) {
    switch (c) {
      case 'n':
        if (cli_parse_count(optarg, &r->count) != 0)
          return cli_usage_error("top", "-n wants a number of functions, not '%s'", optarg);
        break;
      case 'i': r->index_name = optarg; break;
      case CLI_OPT_JSON: r->json = true; break;
      case CLI_OPT_NO_ERROR: r->no_error = true; break;
      case CLI_OPT_HIDE:
      case CLI_OPT_FOCUS:
        if (cli_filter_set(r->filter, "top", c, optarg) != 0) return CLI_EXIT_USAGE;
        break;
      default: return cli_option_end(&cmd_top, c);
    }
  }
  if (argc - optind != 1)
    return cli_usage_error("top", argc == optind ? "no profile given" : "one profile at a time");
  r->file = argv[optind];
  return -1;
}

static void print_json(top_run *r) {
  const profile_pb *p = r->p;
  char buf[512];
  const char *ptype = p->period_type ? cli_str(p, p->period_type->type) : "";
  const char *punit = p->period_type ? cli_str(p, p->period_type->unit) : "";
  const char *fields[][2] = {{"file", r->file},
                             {"sample_type", cli_type_name(p, r->vi)},
                             {"unit", cli_type_unit(p, r->vi)},
                             {"period_type", ptype},
                             {"period_unit", punit}};
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    printf(i ? ",\n  \"%s\": " : "{\n  \"%s\": ", fields[i][0]);
    cli_json_string(stdout, fields[i][1]);
  }
  printf(",\n  \"period\": %lld,", (long long)p->period);
  printf("\n  \"comments\": [");
  for (size_t i = 0; i < p->n_comment; i++) {
    printf("%s", i ? ", " : "");
    cli_json_string(stdout, cli_str(p, p->comment[i]));
  }
  printf("],");
  if (cli_filter_active(r->filter)) {
    printf("\n  \"filter\": ");
    cli_json_string(stdout, cli_filter_text(r->filter, buf, sizeof buf));
    printf(",");
  }
  printf("\n  \"totals\": [");
  for (size_t k = 0; k < p->n_sample_type; k++) {
    printf("%s\n    {\"type\": ", k ? "," : "");
    cli_json_string(stdout, cli_type_name(p, k));
    printf(", \"unit\": ");
    cli_json_string(stdout, cli_type_unit(p, k));
    printf(", \"value\": %lld}", (long long)r->totals[k]);
  }
  printf("\n  ],");
  if (r->note[0]) {
    printf("\n  \"note\": ");
    cli_json_string(stdout, r->note);
    printf(",");
  }
  printf("\n  \"total\": %lld,", (long long)r->t.total[0]);
  if (r->err) printf("\n  \"total_stderr\": %.0f,", sqrt(r->t.var_total[0]));
  printf("\n  \"samples\": %zu,\n  \"functions\": %zu,\n", p->n_sample, r->t.n);
  cli_funcs_sort(&r->t, CLI_SORT_FLAT, 0);
  printf("  \"top_flat\": ");
  json_funcs(&r->t, r->n, false, r->err);
  cli_funcs_sort(&r->t, CLI_SORT_CUM, 0);
  printf(",\n  \"top_cum\": ");
  json_funcs(&r->t, r->n, true, r->err);
  printf(",\n  \"on_every_stack\": [");
  for (size_t i = 0, k = 0; i < r->t.n; i++)
    if (on_every_stack(&r->t, &r->t.v[i])) {
      printf("%s", k++ ? ", " : "");
      cli_json_string(stdout, r->t.v[i].name);
    }
  printf("]\n}\n");
}

/* "Type: inuse_space (bytes); sampled every 512 KiB allocated on average". */
static void print_type_line(const profile_pb *p, size_t vi, bool err) {
  const char *pm = err ? "; ± is one standard error" : "";
  char a[32];
  const char *ptype = p->period_type ? cli_str(p, p->period_type->type) : "";
  const char *punit = p->period_type ? cli_str(p, p->period_type->unit) : "";
  printf("Type: %s (%s)", cli_type_name(p, vi), cli_type_unit(p, vi));
  cli_model m;
  cli_model_init(&m, p, vi);
  if (m.pmin != m.pmax)
    printf("; sampled at different rates, per sample (" CLI_PERIOD_LABEL " labels): from %s",
           m.pmin > 0 ? cli_human(a, m.pmin, "bytes", false) : "every allocation");
  if (m.pmin != m.pmax)
    printf(" to %s%s%s", cli_human(a, m.pmax, "bytes", false),
           cli_model_sampled(&m) ? "; the values are estimates" : "",
           cli_model_sampled(&m) ? pm : "");
  else if (*ptype && !strcmp(punit, "bytes") && p->period <= 1)
    printf("; every allocation recorded");
  else if (*ptype && !strcmp(punit, "bytes") && cli_model_sampled(&m))
    printf("; estimates from samples every %s allocated on average%s",
           cli_human(a, (double)p->period, punit, false), pm);
  else if (*ptype && !strcmp(punit, "bytes"))
    printf("; sampled every %s allocated on average",
           cli_human(a, (double)p->period, punit, false));
  else if (*ptype)
    printf("; period %lld %s of %s", (long long)p->period, punit, ptype);
  printf("\n");
}

static void print_text(top_run *r) {
  const profile_pb *p = r->p;
  const char *type = cli_type_name(p, r->vi), *unit = cli_type_unit(p, r->vi);
  char a[32], buf[512];
  printf("File: %s\n", r->file);
  print_comments(p);
  print_type_line(p, r->vi, r->err);
  printf("Totals:");
  for (size_t k = 0; k < p->n_sample_type; k++)
    printf("%s %s %s", k ? "," : "", cli_type_name(p, k),
           cli_human(a, (double)r->totals[k], cli_type_unit(p, k), false));
  if (r->err)
    printf("\nTotal: %s ± %s (%s)", cli_human(a, (double)r->t.total[0], unit, false),
           cli_human(buf, sqrt(r->t.var_total[0]), unit, false), type);
  printf("\nSamples: %zu; functions: %zu\n", p->n_sample, r->t.n);
  if (cli_filter_active(r->filter))
    printf("Filter: %s\n", cli_filter_text(r->filter, buf, sizeof buf));
  if (r->note[0]) printf("Note: %s\n", r->note);
  char title[160];
  cli_funcs_sort(&r->t, CLI_SORT_FLAT, 0);
  snprintf(title, sizeof title, "Top %zu functions by flat %s:", r->n, type);
  print_table(&r->t, r->n, unit, title, true, false, r->err);
  cli_funcs_sort(&r->t, CLI_SORT_CUM, 0);
  size_t every = 0;
  for (size_t i = 0; i < r->t.n; i++) every += on_every_stack(&r->t, &r->t.v[i]);
  size_t ncum = r->t.n - every;
  if (r->count != 0 && (size_t)r->count < ncum) ncum = (size_t)r->count;
  snprintf(title, sizeof title, "Top %zu functions by cumulative %s:", ncum, type);
  print_table(&r->t, ncum, unit, title, false, true, r->err);
  print_every_stack(&r->t);
}

/* Loads r->file and aggregates it. Returns 0, or -1 after printing. */
static int load_top(top_run *r) {
  if (cli_load(r->file, &r->p) != 0) return -1;
  /* frames an older profile names by raw address get their object and
   * offset, as in diff and flame (frames.h) */
  if (cli_name_frames(&r->p, 1) != 0) return -1;
  ssize_t vi = cli_sample_index(r->p, r->index_name, r->file);
  if (vi < 0 || cli_filter_apply(r->filter, r->p) != 0) return -1;
  r->vi = (size_t)vi;
  if (cli_funcs_add(&r->t, r->p, r->vi, 0) != 0) return -1;
  if (!(r->totals = type_totals(r->p))) {
    cli_error("out of memory");
    return -1;
  }
  cli_funcs_sort(&r->t, CLI_SORT_FLAT, 0); /* also drops the functions without samples */
  r->n = r->count == 0 || (size_t)r->count > r->t.n ? r->t.n : (size_t)r->count;
  cli_model m;
  cli_model_init(&m, r->p, r->vi);
  r->err = !r->no_error && cli_model_sampled(&m);
  freed_note(r->note, sizeof r->note, r->p, r->totals, cli_type_name(r->p, r->vi));
  return 0;
}

static int run_top(int argc, char **argv) {
  static cli_filter filter; /* static: reachable until exit on early returns */
  top_run r = {.count = 10, .filter = &filter};
  int rc = parse_top(&r, argc, argv);
  if (rc >= 0) return rc;
  rc = CLI_EXIT_USAGE;
  if (load_top(&r) == 0) {
    if (r.json)
      print_json(&r);
    else
      print_text(&r);
    rc = cli_finish_stdout(CLI_EXIT_OK);
  }
  free(r.totals);
  cli_filter_free(&filter);
  cli_funcs_free(&r.t);
  profile_free(r.p);
  return rc;
}
