/* cmd_gate.c: `allocprof gate`: the CI verdict on memory growth from BASE to
 * NEW. Exit 0 pass, 1 regression, 2 usage or input error, 3 undecided.
 *
 * Why it looks at the sampling error: both profiles are sampled, so their
 * totals are estimates. The variance of each total is summed over its samples
 * by the model (common.h, derived in model.c; about B*P for B bytes at period
 * P); the growth NEW - BASE then has standard error sigma = sqrt(var_base +
 * var_new). With K standard errors of slack (3 by default) a limit has three
 * verdicts: FAIL when growth - K*sigma still exceeds it, PASS when growth +
 * K*sigma does not reach it, and UNDECIDED when the limit lies within K*sigma
 * of the growth: the run cannot tell, and passing it would let a real
 * regression through (a page cache grown by half measured "+36% ± 38%").
 * UNDECIDED names the rate that would decide and exits 3, or as --undecided
 * maps it. A limit of 0 (the default) asks only whether NEW grew beyond the
 * noise, which no sampled run can rule out otherwise: within it, it passes.
 * The report states the growth as "x% ± y% (3σ)". */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "common.h"

static const char gate_intro[] =
    "usage: allocprof gate --base BASE [--max-growth PCT%] [--max-bytes N]\n"
    "                      [--max-total N] [--sample-index TYPE] [--sigmas K]\n"
    "                      [--undecided pass|fail] [--focus REGEX] [--hide REGEX]\n"
    "                      [--junit FILE] [-n N] NEW\n"
    "\n"
    "Compares NEW with BASE on one value (default: NEW's default sample type, for\n"
    "heap profiles inuse_space) and fails when it grew past a limit. It reports the\n"
    "growth with its sampling error and the functions that grew.\n"
    "\n"
    "The profiles are sampled (one sample per P bytes allocated on average, P the\n"
    "profile's period), so their totals are estimates: a growth of B bytes has a\n"
    "standard error of about sqrt(B*P) per profile, less for objects larger than P.\n"
    "With K standard errors of both profiles together (sigma), each limit gets one\n"
    "of three verdicts: FAIL when the growth minus K sigma still exceeds it, PASS\n"
    "when the growth plus K sigma stays within it, and UNDECIDED when the limit\n"
    "lies within K sigma of the growth: the noise is too large to decide, and a\n"
    "note names the ALLOCPROF_RATE at which it would not be. Any FAIL fails the\n"
    "gate; else any UNDECIDED makes it undecided (exit 3; --undecided maps it).\n"
    "A limit of 0 (the default) passes a growth within K sigma: only rate 1 could\n"
    "show a growth of exactly 0. Profiles written at rate 1 are exact. A heap\n"
    "profile whose period is not from 1 to 1 GiB is refused (exit 2): its noise\n"
    "would hide any growth.\n"
    "\n";

static const cli_option gate_options[] = {
    {"base", 'b', "BASE", 'b', "the reference profile (required)"},
    {"max-growth", 'g', "PCT%", 'g', "the total may grow by at most PCT percent of BASE's"},
    {"max-bytes", 'm', "N", 'm', "the total may grow by at most N bytes (512k, 4MiB, ...)"},
    {"max-total", 't', "N", 't',
     "NEW's total may be at most N bytes\n"
     "(without any limit: --max-growth 0%, i.e. any growth\n"
     "larger than the sampling error fails)"},
    {"sample-index", 'i', "TYPE", 'i',
     "the value to compare: inuse_space, alloc_space,\n"
     "inuse_objects, alloc_objects, ... or its position;\n"
     "peak_inuse_space: what the program held at its peak"},
    {"sigmas", 'k', "K", 'k',
     "standard errors of slack (default 3; 0 = compare the\n"
     "estimates as they are)"},
    {"junit", 'j', "FILE", 'j',
     "also write the verdict as JUnit XML (one test case per\n"
     "limit)"},
    {"undecided", 'u', "pass|fail", 'u',
     "the exit status of an UNDECIDED verdict: 0 (pass) or 1\n"
     "(fail), for CI systems that know only those (default:\n"
     "3; in JUnit XML a skipped test case)"},
    {"count", 'n', "N", 'n', "functions that grew to list (default 10; 0 = all)"},
    CLI_FILTER_OPTIONS,
    {NULL},
};

static const char gate_outro[] =
    "\n"
    "exit status: 0 pass, 1 regression, 2 usage or input error, 3 undecided.\n";

static int run_gate(int argc, char **argv);

const cli_command cmd_gate = {
    .name = "gate",
    .summary = "CI verdict: fail when memory grew past a limit",
    .run = run_gate,
    .intro = gate_intro,
    .options = gate_options,
    .outro = gate_outro,
};

typedef struct limit {
  char name[64];    /* the option as given: "--max-growth 5%" */
  bool total;       /* a ceiling on NEW's total, not on the growth */
  double allowed;   /* the growth (or total) allowed, in the value's unit */
  double excess;    /* growth (or total) beyond allowed after the slack */
  bool fail, noisy; /* noisy: over the limit, but within the sampling error */
  bool undecided;   /* the limit lies within the sampling error */
  char verdict[320];
  char advice[320]; /* the rate that would decide it, when the noise cannot */
} limit;

/* The gate's verdict, worst first. */
enum verdict { V_FAIL, V_UNDECIDED, V_PASS };

/* "12.3%" with more digits for small values. */
static char *pct(char *buf, double v, bool plus) {
  snprintf(buf, 32, fabs(v) < 1 ? "%s%.2f%%" : "%s%.1f%%", plus && v >= 0 ? "+" : "", v);
  return buf;
}

/* "+12.3% ± 4.1% (3σ)" or, from an empty base, "+1.00 MiB ± 12.0 KiB (3σ)". */
static char *growth_text(char *buf, size_t len, double growth, double noise, double base,
                         const char *unit, double k) {
  char a[32], b[32];
  if (base > 0)
    snprintf(buf, len, "%s ± %s (%gσ)", pct(a, 100 * growth / base, true),
             pct(b, 100 * noise / base, false), k);
  else
    snprintf(buf, len, "%s ± %s (%gσ)", cli_human(a, growth, unit, true),
             cli_human(b, noise, unit, false), k);
  return buf;
}

/* "512 KiB" on average, or "allocation" when every one is recorded. */
static char *period_text(char *buf, double period) {
  if (period <= 1)
    snprintf(buf, 32, "allocation");
  else
    cli_human(buf, period, "bytes", false);
  return buf;
}

/* The model's period, or "allocation to 512 KiB (per sample)" for a merge
 * of profiles taken at different rates. buf: 80 bytes. */
static char *model_period_text(char *buf, const cli_model *m) {
  char a[32], b[32];
  if (m->pmin == m->pmax)
    snprintf(buf, 80, "%s", period_text(a, m->pmax));
  else
    snprintf(buf, 80, "%s to %s (per sample)", period_text(a, m->pmin), period_text(b, m->pmax));
  return buf;
}

static void write_report(FILE *f, const char *base_file, const char *new_file,
                         const profile_pb *base, size_t bi, const profile_pb *new, size_t ni,
                         const cli_funcs *t, double k, limit *lim, size_t nlim, size_t nfuncs,
                         enum verdict v, const char *undecided, const char *filter) {
  const char *type = cli_type_name(new, ni), *unit = cli_type_unit(new, ni);
  char a[32], b[80], c[80], g[96];
  double B = (double)t->total[0], N = (double)t->total[1], growth = N - B;
  double sigma = sqrt(t->var_total[0] + t->var_total[1]);
  fprintf(f, "allocprof gate: %s (%s)\n", type, unit);
  fprintf(f, "  base    %10s  %s\n", cli_human(a, B, unit, false), base_file);
  fprintf(f, "  new     %10s  %s\n", cli_human(a, N, unit, false), new_file);
  if (*filter) fprintf(f, "  filter  %s\n", filter);
  fprintf(f, "  growth  %10s  %s\n", cli_human(a, growth, unit, true),
          growth_text(g, sizeof g, growth, k * sigma, B, unit, k));
  cli_model mb, mn;
  cli_model_init(&mb, base, bi);
  cli_model_init(&mn, new, ni);
  if (!mb.known || !mn.known)
    fprintf(f, "  noise   no sampling model for %s: compared as exact values\n", type);
  else if (mb.pmax == 0 && mn.pmax == 0)
    fprintf(f, "  noise   none: both profiles record every allocation\n");
  else
    fprintf(f, "  noise   1σ = %s (sampled every %s in base, %s in new)\n",
            cli_human(a, sigma, unit, false), model_period_text(b, &mb), model_period_text(c, &mn));
  for (size_t i = 0; i < nlim; i++) {
    fprintf(f, "  %-5s   %s: %s\n",
            lim[i].fail        ? "FAIL"
            : lim[i].undecided ? "undecided"
                               : "pass",
            lim[i].name, lim[i].verdict);
    if (lim[i].advice[0]) fprintf(f, "  note    %s\n", lim[i].advice);
  }
  if (v == V_UNDECIDED)
    fprintf(f, "UNDECIDED: the sampling error is too large to decide%s%s%s\n",
            undecided ? " (--undecided " : "", undecided ? undecided : "", undecided ? ")" : "");
  else
    fprintf(f, "%s\n", v == V_PASS ? "PASS" : "FAIL: regression");

  /* Which functions grew: flat growth, largest first (t is sorted by
   * absolute flat change). */
  size_t grew = 0, shrank = 0;
  double shrink_sum = 0;
  for (size_t i = 0; i < t->n; i++) {
    double d = (double)t->v[i].flat[1] - (double)t->v[i].flat[0];
    if (d > 0) grew++;
    if (d < 0) {
      shrank++;
      shrink_sum += d;
    }
  }
  size_t show = nfuncs == 0 || nfuncs > grew ? grew : nfuncs;
  fprintf(f, "\n%zu function%s grew", grew, grew == 1 ? "" : "s");
  if (shrank) fprintf(f, ", %zu shrank (%s in all)", shrank, cli_human(a, shrink_sum, unit, true));
  if (!show) {
    fprintf(f, "\n");
    return;
  }
  if (show < grew)
    fprintf(f, "; the %zu largest (flat %s):\n", show, type);
  else
    fprintf(f, " (flat %s):\n", type);
  fprintf(f, "%10s %10s %11s %9s %12s  %s\n", "base", "new", "growth", "growth%", "± noise",
          "function");
  size_t shown = 0;
  for (size_t i = 0; i < t->n && shown < show; i++) {
    const cli_func *fn = &t->v[i];
    double d = (double)fn->flat[1] - (double)fn->flat[0];
    if (d <= 0) continue;
    double noise = k * sqrt(fn->var_flat[0] + fn->var_flat[1]);
    char n4[40];
    snprintf(n4, sizeof n4, "± %s", cli_human(c, noise, unit, false));
    fprintf(f, "%10s %10s %11s %9s %12s  %s%s\n", cli_human(a, (double)fn->flat[0], unit, false),
            cli_human(b, (double)fn->flat[1], unit, false), cli_human(g, d, unit, true),
            fn->flat[0] ? pct(c, 100 * d / (double)fn->flat[0], true) : "new", n4, fn->name,
            d > noise ? "" : "  (within noise)");
    shown++;
  }
}

/* An undecided limit in JUnit XML: a failure under --undecided fail, a
 * passed test case under --undecided pass, else a skipped one (neither
 * passed nor failed, which is what it is). */
static void write_junit(FILE *f, const char *type, const limit *lim, size_t nlim,
                        const char *undecided, const char *report) {
  size_t failures = 0, skipped = 0;
  bool und_fail = undecided && !strcmp(undecided, "fail");
  bool und_skip = !undecided;
  for (size_t i = 0; i < nlim; i++) {
    failures += lim[i].fail || (lim[i].undecided && und_fail);
    skipped += lim[i].undecided && und_skip;
  }
  fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  fprintf(f,
          "<testsuites name=\"allocprof gate\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
          "skipped=\"%zu\">\n",
          nlim, failures, skipped);
  fprintf(f,
          "  <testsuite name=\"allocprof.gate\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
          "skipped=\"%zu\">\n",
          nlim, failures, skipped);
  for (size_t i = 0; i < nlim; i++) {
    fprintf(f, "    <testcase classname=\"allocprof.gate\" name=\"");
    cli_xml_text(f, type);
    fprintf(f, " ");
    cli_xml_text(f, lim[i].name);
    fprintf(f, "\"");
    if (lim[i].undecided && und_skip) {
      fprintf(f, ">\n      <skipped message=\"undecided: ");
      cli_xml_text(f, lim[i].verdict);
      fprintf(f, "\"/>\n    </testcase>\n");
      continue;
    }
    if (!lim[i].fail && !(lim[i].undecided && und_fail)) {
      fprintf(f, "/>\n");
      continue;
    }
    fprintf(f, ">\n      <failure type=\"%s\" message=\"",
            lim[i].fail ? "regression" : "undecided");
    cli_xml_text(f, lim[i].verdict);
    fprintf(f, "\">");
    cli_xml_text(f, report);
    fprintf(f, "</failure>\n    </testcase>\n");
  }
  fprintf(f, "    <system-out>");
  cli_xml_text(f, report);
  fprintf(f, "</system-out>\n  </testsuite>\n</testsuites>\n");
}

/* For an undecided limit l, names the rate at which its K standard errors
 * (variance var now, at period cur_period) would shrink to the distance
 * between the value and the limit, which is what decides it (model.c:
 * cli_rate_for_error; the variance falls at least in proportion to the
 * rate). A value right at the limit needs every allocation recorded. Bytes
 * only. */
static void advise(limit *l, double value, double var, double cur_period, double B,
                   const char *unit, double k) {
  l->advice[0] = 0;
  if (!l->undecided || k <= 0 || strcmp(unit, "bytes") != 0) return;
  double margin = fabs(value - l->allowed);
  int64_t rate = margin > 0 ? cli_rate_for_error(var, cur_period, margin / k) : 1;
  if (rate <= 0 || (double)rate >= cur_period) return;
  char r[32], a[32];
  if (!l->total && B > 0 && strncmp(l->name, "--max-growth", 12) == 0)
    snprintf(a, sizeof a, "%.3g%%", 100 * margin / B);
  else
    cli_human(a, margin, unit, false);
  if (rate == 1)
    snprintf(l->advice, sizeof l->advice,
             "the sampling error is too large to decide %s: the value is at the limit, and only "
             "`ALLOCPROF_RATE=1` (every allocation) decides it",
             l->name);
  else
    snprintf(l->advice, sizeof l->advice,
             "the sampling error is too large to decide %s: at this heap size, "
             "`ALLOCPROF_RATE=%s` resolves ±%s at %gσ",
             l->name, cli_rate_text(r, rate), a, k);
}

/* Decides one limit. growth/total and noise in the value's unit. */
static void judge(limit *l, double value, double noise, double B, const char *unit, double k) {
  char a[32], b[32], g[96];
  l->excess = value - noise - l->allowed;
  l->fail = l->excess > 0;
  /* A zero growth limit asks only whether it grew beyond the noise. */
  bool zero = !l->total && l->allowed <= 0;
  l->undecided = !l->fail && !zero && value + noise > l->allowed;
  l->noisy = !l->fail && !l->undecided && value > l->allowed;
  if (l->total) {
    snprintf(l->verdict, sizeof l->verdict, "total %s ± %s (%gσ) %s %s%s",
             cli_human(a, value, unit, false), cli_human(b, noise, unit, false), k,
             l->fail        ? "is over"
             : l->undecided ? "may be over or within"
                            : "is within",
             cli_human(g, l->allowed, unit, false),
             l->undecided ? ": the sampling error is too large to decide" : "");
    return;
  }
  char allowed[64];
  if (B > 0)
    snprintf(allowed, sizeof allowed, "%s (%s)", pct(a, 100 * l->allowed / B, true),
             cli_human(b, l->allowed, unit, true));
  else
    snprintf(allowed, sizeof allowed, "%s", cli_human(a, l->allowed, unit, true));
  snprintf(l->verdict, sizeof l->verdict, "growth %s %s the limit of %s%s",
           growth_text(g, sizeof g, value, noise, B, unit, k),
           l->fail || l->noisy ? "is over"
           : l->undecided      ? "may be over or within"
                               : "is within",
           allowed,
           l->noisy       ? " by less than the sampling error"
           : l->undecided ? ": the sampling error is too large to decide"
                          : "");
}

/* What gate was asked. */
typedef struct gate_args {
  const char *base_file, *new_file, *index_name, *junit;
  const char *growth_arg, *bytes_arg, *total_arg; /* the limits as given, or NULL */
  const char *undecided;                          /* --undecided: "pass", "fail" or NULL */
  double max_growth, k;
  int64_t max_bytes, max_total;
  long count;
  cli_filter *filter;
} gate_args;

/* One option into a; returns -1 to go on, else the exit status. */
static int gate_option(gate_args *a, int c) {
  char *end;
  switch (c) {
    case 'b': a->base_file = optarg; break;
    case 'g':
      if (cli_parse_percent(optarg, &a->max_growth) != 0)
        return cli_usage_error("gate", "--max-growth wants a percentage such as 5%%, not '%s'",
                               optarg);
      a->growth_arg = optarg;
      break;
    case 'm':
      if (cli_parse_size(optarg, &a->max_bytes) != 0)
        return cli_usage_error("gate", "--max-bytes wants a size such as 1048576 or 1MiB, not '%s'",
                               optarg);
      a->bytes_arg = optarg;
      break;
    case 't':
      if (cli_parse_size(optarg, &a->max_total) != 0)
        return cli_usage_error("gate", "--max-total wants a size such as 64MiB, not '%s'", optarg);
      a->total_arg = optarg;
      break;
    case 'k':
      a->k = strtod(optarg, &end);
      if (end == optarg || *end || !(a->k >= 0) || a->k > 100)
        return cli_usage_error("gate", "--sigmas wants a number from 0 to 100, not '%s'", optarg);
      break;
    case 'i': a->index_name = optarg; break;
    case 'j': a->junit = optarg; break;
    case 'u':
      if (strcmp(optarg, "pass") != 0 && strcmp(optarg, "fail") != 0)
        return cli_usage_error("gate", "--undecided wants pass or fail, not '%s'", optarg);
      a->undecided = optarg;
      break;
    case 'n':
      if (cli_parse_count(optarg, &a->count) != 0)
        return cli_usage_error("gate", "-n wants a number of functions, not '%s'", optarg);
      break;
    case CLI_OPT_HIDE:
    case CLI_OPT_FOCUS:
      if (cli_filter_set(a->filter, "gate", c, optarg) != 0) return CLI_EXIT_USAGE;
      break;
    default: return cli_option_end(&cmd_gate, c);
  }
  return -1;
}

/* Options and the operand into a; returns -1 to go on, else the exit
 * status. */
static int parse_gate(gate_args *a, int argc, char **argv) {
  int c, rc;
  while ((c = cli_option_next(&cmd_gate, argc, argv)) != -1)
    if ((rc = gate_option(a, c)) >= 0) return rc;
  if (!a->base_file) return cli_usage_error("gate", "no base profile (--base BASE)");
  if (argc - optind != 1)
    return cli_usage_error("gate",
                           argc == optind ? "no new profile given" : "one new profile at a time");
  a->new_file = argv[optind];
  if (a->junit && cli_check_output(a->junit) != 0) return CLI_EXIT_USAGE;
  return -1;
}

/* Judges every limit asked for (the growth limit by default) into lim;
 * returns how many. */
static size_t judge_limits(const gate_args *a, const cli_funcs *t, double cur_period,
                           const char *unit, limit lim[3]) {
  double B = (double)t->total[0], N = (double)t->total[1], k = a->k;
  double var = t->var_total[0] + t->var_total[1], noise = k * sqrt(var);
  size_t nlim = 0;
  if (a->growth_arg || (!a->bytes_arg && !a->total_arg)) {
    limit *l = &lim[nlim++];
    *l = (limit){.allowed = (a->max_growth > 0 ? a->max_growth : 0) / 100 * (B > 0 ? B : 0)};
    snprintf(l->name, sizeof l->name, "--max-growth %s",
             a->growth_arg ? a->growth_arg : "0% (default)");
    judge(l, N - B, noise, B, unit, k);
    advise(l, N - B, var, cur_period, B, unit, k);
  }
  if (a->bytes_arg) {
    limit *l = &lim[nlim++];
    *l = (limit){.allowed = (double)a->max_bytes};
    snprintf(l->name, sizeof l->name, "--max-bytes %s", a->bytes_arg);
    judge(l, N - B, noise, B, unit, k);
    advise(l, N - B, var, cur_period, B, unit, k);
  }
  if (a->total_arg) {
    limit *l = &lim[nlim++];
    *l = (limit){.allowed = (double)a->max_total, .total = true};
    snprintf(l->name, sizeof l->name, "--max-total %s", a->total_arg);
    judge(l, N, k * sqrt(t->var_total[1]), B, unit, k);
    advise(l, N, t->var_total[1], cur_period, B, unit, k);
  }
  return nlim;
}

/* The JUnit XML of the verdict, written to a->junit. Returns 0 or -1
 * after printing. */
static int write_junit_file(const gate_args *a, const char *type, const limit *lim, size_t nlim,
                            const char *report) {
  char *xml = NULL;
  size_t xml_len = 0;
  FILE *x = open_memstream(&xml, &xml_len);
  if (!x) {
    cli_error("%s: out of memory", a->junit);
    return -1;
  }
  write_junit(x, type, lim, nlim, a->undecided, report);
  if (fclose(x) != 0) {
    free(xml);
    xml = NULL;
  }
  return cli_write_text(a->junit, xml, xml_len);
}

/* The exit status of verdict v: an undecided one as --undecided says. */
static int exit_status(const gate_args *a, enum verdict v) {
  if (v == V_PASS) return CLI_EXIT_OK;
  if (v == V_FAIL) return CLI_EXIT_REGRESSION;
  if (!a->undecided) return CLI_EXIT_UNDECIDED;
  return strcmp(a->undecided, "pass") == 0 ? CLI_EXIT_OK : CLI_EXIT_REGRESSION;
}

/* Decides and reports BASE -> NEW, loaded with value bi / ni. Returns the
 * exit status. */
static int verdict(const gate_args *a, const profile_pb *base, size_t bi, const profile_pb *new,
                   size_t ni, cli_funcs *t) {
  const char *type = cli_type_name(new, ni), *unit = cli_type_unit(new, ni);
  if ((a->bytes_arg || a->total_arg) && strcmp(unit, "bytes") != 0)
    return cli_usage_error("gate", "%s needs a sample type in bytes; %s is in %s",
                           a->bytes_arg ? "--max-bytes" : "--max-total", type, unit);
  if (cli_funcs_add(t, base, bi, 0) != 0 || cli_funcs_add(t, new, ni, 1) != 0)
    return CLI_EXIT_USAGE;
  cli_funcs_sort(t, CLI_SORT_FLAT_DELTA, 0);
  cli_model mb, mn;
  cli_model_init(&mb, base, bi);
  cli_model_init(&mn, new, ni);
  limit lim[3];
  size_t nlim = judge_limits(a, t, mb.pmax > mn.pmax ? mb.pmax : mn.pmax, unit, lim);
  enum verdict v = V_PASS;
  for (size_t i = 0; i < nlim; i++)
    if (lim[i].fail)
      v = V_FAIL;
    else if (lim[i].undecided && v == V_PASS)
      v = V_UNDECIDED;

  char ftext[512], *report = NULL;
  size_t report_len = 0;
  FILE *mem = open_memstream(&report, &report_len);
  if (!mem) {
    cli_error("out of memory");
    return CLI_EXIT_USAGE;
  }
  write_report(mem, a->base_file, a->new_file, base, bi, new, ni, t, a->k, lim, nlim,
               (size_t)a->count, v, a->undecided, cli_filter_text(a->filter, ftext, sizeof ftext));
  int rc = CLI_EXIT_USAGE;
  if (fclose(mem) != 0)
    cli_error("out of memory");
  else if (!a->junit || write_junit_file(a, type, lim, nlim, report) == 0) {
    fwrite(report, 1, report_len, stdout);
    rc = cli_finish_stdout(exit_status(a, v));
  }
  free(report);
  return rc;
}

static int run_gate(int argc, char **argv) {
  static cli_filter filter; /* static: reachable until exit on early returns */
  gate_args a = {
      .max_growth = -1, .k = 3, .max_bytes = -1, .max_total = -1, .count = 10, .filter = &filter};
  int rc = parse_gate(&a, argc, argv);
  if (rc >= 0) return rc;
  profile_pb *base = NULL, *new = NULL;
  cli_funcs t = {0};
  size_t bi, ni;
  rc = CLI_EXIT_USAGE;
  if (cli_load_pair(a.base_file, a.new_file, a.index_name, &base, &new, &bi, &ni) == 0 &&
      cli_check_period(base, a.base_file) == 0 && cli_check_period(new, a.new_file) == 0 &&
      cli_filter_apply(&filter, base) == 0 && cli_filter_apply(&filter, new) == 0)
    rc = verdict(&a, base, bi, new, ni, &t);
  cli_filter_free(&filter);
  cli_funcs_free(&t);
  profile_free(base);
  profile_free(new);
  return rc;
}
