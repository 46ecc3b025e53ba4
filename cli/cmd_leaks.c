/* cmd_leaks.c: `allocprof leaks`: the stacks whose in-use bytes keep
 * growing over a snapshot stream or a series of profiles (series.h),
 * ranked by their growth rate, each with its noise, steadiness and a
 * confidence; --fail-over makes it a soak-test gate (exit 1).
 *
 * This file is the command (options, ranking, text and JSON); the test of
 * one stack, and why it looks as it does, is leaks.c (leaks.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmds.h"
#include "common.h"
#include "leaks.h"
#include "series.h"

static const char leaks_intro[] =
    "usage: allocprof leaks [--min-rate BYTES/s] [--fail-over BYTES/s] [--json]\n"
    "                       [-n N] [--pid PID] [--focus REGEX] [--hide REGEX] FILE...\n"
    "\n"
    "Lists the leak suspects of a snapshot stream (the file ALLOCPROF_STREAM names)\n"
    "or of several profiles of one process in time order (say those\n"
    "ALLOCPROF_INTERVAL writes): the stacks whose estimated in-use bytes grow\n"
    "steadily and have not come back down by the last snapshot, fastest first.\n"
    "For each: its growth rate per second (± one standard error) and per hour,\n"
    "its bytes in use at the end, how steady the growth is (1 - the share of it\n"
    "in a single step), the share of rises among its changes, and a confidence.\n"
    "\n"
    "The rate is a weighted least squares slope whose noise comes from each\n"
    "snapshot's sampling error; a stack is a suspect when that slope is 3.5\n"
    "standard errors above zero, is still 2.5 once the largest single rise is\n"
    "taken out (Theil-Sen slope: one big allocation is not a leak), the last third\n"
    "of the series still grows at least about half as fast, and the end is not\n"
    "below the stack's maximum by more than its noise. Stacks that allocate and\n"
    "free around a steady level (churn) and stacks that held memory and freed it\n"
    "are not suspects. At least 3 snapshots are needed; a few dozen over the\n"
    "program's steady state are better. At the default rate (512 KiB) a stack must\n"
    "leak a few MiB over the series to be told from noise; ALLOCPROF_RATE=4096 sees\n"
    "128 times less.\n"
    "\n"
    "BYTES/s: a size (64k, 1.5MiB, ...) per second, or per hour with /h (100MiB/h).\n"
    "\n";

static const cli_option leaks_options[] = {
    {"min-rate", 'm', "BYTES/s", 'm', "list only suspects growing at least this fast"},
    {"fail-over", 'f', "BYTES/s", 'f',
     "exit 1 when a suspect grows faster than this\n"
     "(a soak-test gate)"},
    {"json", 0, NULL, CLI_OPT_JSON, "one JSON object with every number"},
    {"count", 'n', "N", 'n', "suspects to list (default 20; 0 = all)"},
    {"pid", 'p', "PID", 'p', "only the snapshots of process PID"},
    CLI_FILTER_OPTIONS,
    {NULL},
};

static const char leaks_outro[] =
    "\n"
    "exit status: 0 no suspect over --fail-over (or none given), 1 a suspect grows\n"
    "faster than --fail-over, 2 usage or input error (fewer than 3 snapshots).\n";

static int run_leaks(int argc, char **argv);

const cli_command cmd_leaks = {
    .name = "leaks",
    .summary = "leak suspects: stacks whose in-use bytes keep growing",
    .run = run_leaks,
    .intro = leaks_intro,
    .options = leaks_options,
    .outro = leaks_outro,
};

typedef struct lk_args {
  double min_rate, fail_over; /* bytes per second; fail_over < 0: none */
  const char *fail_text;
  bool json;
  long n, pid;
  cli_filter *filter;
  char **files;
  size_t nfiles;
} lk_args;

typedef struct suspect {
  uint32_t stack;
  leaks_fit fit;
  int64_t inuse; /* at the last snapshot */
} suspect;

/* "64k", "1.5MiB/s", "100MiB/h" into bytes per second. */
static int parse_rate(const char *s, double *out) {
  char buf[64];
  size_t len = strlen(s);
  double per = 1;
  if (len >= sizeof buf) return -1;
  memcpy(buf, s, len + 1);
  if (len > 2 && buf[len - 2] == '/' && strchr("sShH", buf[len - 1])) {
    per = buf[len - 1] == 's' || buf[len - 1] == 'S' ? 1 : 3600;
    buf[len - 2] = 0;
  }
  int64_t v;
  if (cli_parse_size(buf, &v) != 0) return -1;
  *out = (double)v / per;
  return 0;
}

/* Options and operands into a; returns -1 to go on, else the exit status. */
static int parse_leaks(lk_args *a, int argc, char **argv) {
  int c;
  while ((c = cli_option_next(&cmd_leaks, argc, argv)) != -1) {
    switch (c) {
      case 'm':
      case 'f':
        if (parse_rate(optarg, c == 'm' ? &a->min_rate : &a->fail_over) != 0)
          return cli_usage_error("leaks", "--%s wants a rate such as 64k or 1MiB/h, not '%s'",
                                 c == 'm' ? "min-rate" : "fail-over", optarg);
        if (c == 'f') a->fail_text = optarg;
        break;
      case CLI_OPT_JSON: a->json = true; break;
      case 'n':
        if (cli_parse_count(optarg, &a->n) != 0)
          return cli_usage_error("leaks", "-n wants a number of suspects, not '%s'", optarg);
        break;
      case 'p':
        if (cli_parse_count(optarg, &a->pid) != 0 || a->pid < 1)
          return cli_usage_error("leaks", "--pid wants a process id, not '%s'", optarg);
        break;
      case CLI_OPT_HIDE:
      case CLI_OPT_FOCUS:
        if (cli_filter_set(a->filter, "leaks", c, optarg) != 0) return CLI_EXIT_USAGE;
        break;
      default: return cli_option_end(&cmd_leaks, c);
    }
  }
  if (argc == optind) return cli_usage_error("leaks", "no profile or stream given");
  a->files = argv + optind;
  a->nfiles = (size_t)(argc - optind);
  return -1;
}

/* ---- the test of every stack ---- */

static int by_rate(const void *x, const void *y) {
  const suspect *a = x, *b = y;
  if (a->fit.rate != b->fit.rate) return a->fit.rate > b->fit.rate ? -1 : 1;
  return a->stack < b->stack ? -1 : a->stack > b->stack;
}

/* The suspects of s into *out (sorted, fastest first), *nout of them.
 * Returns 0, or -1 when out of memory. */
static int find_suspects(const series *s, suspect **out, size_t *nout) {
  leaks_scratch sc;
  double *t = malloc(s->nsnap * sizeof *t);
  int64_t *bytes = malloc(s->nsnap * sizeof *bytes), *obj = malloc(s->nsnap * sizeof *obj);
  suspect *v = NULL;
  size_t n = 0, cap = 0;
  int rc = -1;
  if (leaks_scratch_init(&sc, s->nsnap) != 0) goto done;
  if (!t || !bytes || !obj) goto done;
  for (size_t i = 0; i < s->nsnap; i++) t[i] = s->snap[i].t;
  for (size_t k = 0; k < s->nstack; k++) {
    if (s->stack[k].max_bytes <= 0) continue;
    series_stack_row(s, k, bytes, obj, sc.v);
    for (size_t i = 0; i < s->nsnap; i++) sc.y[i] = (double)bytes[i], sc.obj[i] = (double)obj[i];
    suspect c = {.stack = (uint32_t)k, .inuse = bytes[s->nsnap - 1]};
    leaks_test(&sc, t, s->nsnap, &c.fit);
    if (!c.fit.suspect) continue;
    if (n == cap) {
      size_t ncap = cap ? 2 * cap : 16;
      suspect *nv = realloc(v, ncap * sizeof *nv);
      if (!nv) goto done;
      v = nv, cap = ncap;
    }
    v[n++] = c;
  }
  if (n > 1) qsort(v, n, sizeof *v, by_rate); /* v is NULL when n is 0 */
  *out = v, *nout = n;
  v = NULL;
  rc = 0;
done:
  leaks_scratch_free(&sc);
  free(t);
  free(bytes);
  free(obj);
  free(v);
  return rc;
}

/* ---- output ---- */

/* What the snapshots are: "40 snapshots over 2.05 s, process 1234, sampled
 * every 512 KiB on average (estimates)". */
static void describe(char *buf, size_t len, const series *s) {
  char b1[32];
  const series_snap *last = &s->snap[s->nsnap - 1];
  int64_t period = s->snap[0].period;
  bool mixed = false;
  for (size_t i = 1; i < s->nsnap; i++) mixed |= s->snap[i].period != period;
  int n = snprintf(buf, len, "%zu snapshots over %.3g s", s->nsnap, last->t);
  if (last->pid && n > 0 && (size_t)n < len)
    n += snprintf(buf + n, len - (size_t)n, ", process %ld", last->pid);
  if (n <= 0 || (size_t)n >= len) return;
  if (mixed)
    snprintf(buf + n, len - (size_t)n, ", sampled at several rates (estimates)");
  else if (period <= 1)
    snprintf(buf + n, len - (size_t)n, ", every allocation recorded (exact)");
  else
    snprintf(buf + n, len - (size_t)n, ", sampled every %s on average (estimates)",
             cli_human(b1, (double)period, "bytes", false));
}

/* Rows to show: those at least --min-rate, at most -n. */
static size_t shown(const lk_args *a, const suspect *v, size_t n) {
  size_t k = 0;
  while (k < n && v[k].fit.rate >= a->min_rate) k++;
  return a->n && (size_t)a->n < k ? (size_t)a->n : k;
}

/* Whether the fastest suspect grows faster than --fail-over. */
static bool failed(const lk_args *a, const suspect *v, size_t n) {
  return a->fail_over >= 0 && n > 0 && v[0].fit.rate > a->fail_over;
}

static void print_text(const lk_args *a, const series *s, const suspect *v, size_t n) {
  char d[256], b1[32], b2[32], b3[32];
  size_t rows = shown(a, v, n);
  describe(d, sizeof d, s);
  printf("%s\n", d);
  if (n == 0)
    printf("no leak suspect: none of the %zu stack%s grows steadily to the end\n", s->nstack,
           s->nstack == 1 ? "" : "s");
  else
    printf("%zu leak suspect%s among %zu stacks (growing steadily, not freed by the end)", n,
           n == 1 ? "" : "s", s->nstack);
  if (n > 0 && rows == 0)
    printf("; none at least --min-rate %s/s\n", cli_human(b1, a->min_rate, "bytes", false));
  else if (rows < n)
    printf("; %zu shown\n", rows);
  else if (n > 0)
    printf("\n");
  if (rows > 0) /* "±" is two bytes: printf's widths count bytes */
    printf("\n      rate/s      ±        rate/h      in use  steady    up  confidence  stack\n");
  for (size_t i = 0; i < rows; i++) {
    const leaks_fit *f = &v[i].fit;
    char r[48], h[48];
    snprintf(r, sizeof r, "%s/s", cli_human(b1, f->rate, "bytes", false));
    snprintf(h, sizeof h, "%s/h", cli_human(b2, f->rate * 3600, "bytes", false));
    printf("%12s  %5.0f%%  %12s  %10s  %5.0f%%  %3.0f%%  %-10s  %s\n", r, 100 * f->se / f->rate, h,
           cli_human(b3, (double)v[i].inuse, "bytes", false), 100 * f->steadiness,
           100 * f->monotone, leaks_confidence_name(f->confidence), s->stack[v[i].stack].label);
  }
  if (a->fail_over >= 0) {
    if (failed(a, v, n))
      printf("\nFAIL: %s grows %s/s, faster than --fail-over %s\n", s->stack[v[0].stack].label,
             cli_human(b1, v[0].fit.rate, "bytes", false), a->fail_text);
    else
      printf("\nPASS: no suspect grows faster than --fail-over %s\n", a->fail_text);
  }
}

static void json_suspect(const series *s, const suspect *c) {
  const leaks_fit *f = &c->fit;
  const series_stack *st = &s->stack[c->stack];
  printf("    {\"label\": ");
  cli_json_string(stdout, st->label);
  printf(", \"name\": ");
  cli_json_string(stdout, st->name);
  printf(
      ",\n     \"rate_bytes_per_s\": %.6g, \"rate_bytes_per_h\": %.6g, \"stderr_bytes_per_s\": "
      "%.6g,"
      " \"z\": %.4g,\n     \"theil_sen_bytes_per_s\": %.6g, \"robust_z\": %.4g, \"steadiness\": "
      "%.4f, \"monotone_fraction\": %.4f,\n     \"inuse_bytes\": %lld, \"max_bytes\": %lld, "
      "\"confidence\": \"%s\",\n     \"stack\": [",
      f->rate, f->rate * 3600, f->se, f->z, f->ts, f->robust_z, f->steadiness, f->monotone,
      (long long)c->inuse, (long long)st->max_bytes, leaks_confidence_name(f->confidence));
  for (size_t j = 0; j < st->nframes; j++) {
    if (j) printf(", ");
    cli_json_string(stdout, series_frame_name(s, c->stack, j));
  }
  printf("]}");
}

static void print_json(const lk_args *a, const series *s, const suspect *v, size_t n) {
  const series_snap *last = &s->snap[s->nsnap - 1];
  size_t rows = shown(a, v, n);
  printf(
      "{\"snapshots\": %zu, \"duration_s\": %.6g, \"pid\": %ld, \"period\": %lld, "
      "\"stacks\": %zu, \"suspects_found\": %zu,\n \"min_rate_bytes_per_s\": %.6g",
      s->nsnap, last->t, last->pid, (long long)last->period, s->nstack, n, a->min_rate);
  if (a->fail_over >= 0)
    printf(", \"fail_over_bytes_per_s\": %.6g, \"failed\": %s", a->fail_over,
           failed(a, v, n) ? "true" : "false");
  printf(",\n \"suspects\": [%s", rows ? "\n" : "");
  for (size_t i = 0; i < rows; i++) {
    json_suspect(s, &v[i]);
    printf(i + 1 < rows ? ",\n" : "\n ");
  }
  printf("]}\n");
}

/* ---- the command ---- */

static int run_leaks(int argc, char **argv) {
  static cli_filter filter; /* static: reachable until exit on early returns */
  lk_args a = {.fail_over = -1, .n = 20, .filter = &filter};
  int rc = parse_leaks(&a, argc, argv);
  if (rc >= 0) return rc;
  series s;
  series_opts o = {.filter = &filter, .pid = a.pid, .cmd = "leaks"};
  if (series_load(&s, a.files, a.nfiles, &o) != 0) {
    cli_filter_free(&filter);
    return CLI_EXIT_USAGE;
  }
  suspect *v = NULL;
  size_t n = 0;
  if (s.nsnap < 3 || s.snap[s.nsnap - 1].t <= 0) {
    cli_error("leaks: %zu snapshot%s%s: a trend needs at least 3 at different times", s.nsnap,
              s.nsnap == 1 ? "" : "s", s.nsnap >= 3 ? " all at one time" : "");
    rc = CLI_EXIT_USAGE;
  } else if (find_suspects(&s, &v, &n) != 0) {
    cli_error("leaks: out of memory");
    rc = CLI_EXIT_USAGE;
  } else {
    if (a.json)
      print_json(&a, &s, v, n);
    else
      print_text(&a, &s, v, n);
    rc = cli_finish_stdout(failed(&a, v, n) ? CLI_EXIT_REGRESSION : CLI_EXIT_OK);
  }
  free(v);
  series_free(&s);
  cli_filter_free(&filter);
  return rc;
}
