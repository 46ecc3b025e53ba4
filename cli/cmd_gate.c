/* cmd_gate.c: `allocprof gate`: the CI verdict on memory growth from BASE to
 * NEW. Exit 0 pass, 1 regression, 2 usage or input error.
 *
 * Why it looks at the sampling error: both profiles are sampled, so their
 * totals are estimates. The variance of each total is summed over its samples
 * by the model in common.h (about B*P for B bytes at period P); the growth
 * NEW - BASE then has standard error sigma = sqrt(var_base + var_new), and a
 * limit fails only when growth - K*sigma still exceeds it (K = 3 by default),
 * so that two runs of the same program at the default rate do not fail the
 * gate by chance. The report states the growth as "x% ± y% (3σ)". */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "common.h"

static const char gate_intro[] =
    "usage: allocprof gate --base BASE [--max-growth PCT%] [--max-bytes N]\n"
    "                      [--max-total N] [--sample-index TYPE] [--sigmas K]\n"
    "                      [--focus REGEX] [--hide REGEX] [--junit FILE] [-n N] NEW\n"
    "\n"
    "Compares NEW with BASE on one value (default: NEW's default sample type, for\n"
    "heap profiles inuse_space) and fails when it grew past a limit. It reports the\n"
    "growth with its sampling error and the functions that grew.\n"
    "\n"
    "The profiles are sampled (one sample per P bytes allocated on average, P the\n"
    "profile's period), so their totals are estimates: a growth of B bytes has a\n"
    "standard error of about sqrt(B*P) per profile, less for objects larger than P.\n"
    "A limit fails only when the growth minus K standard errors of both profiles\n"
    "together still exceeds it: a change within the sampling error passes, with a\n"
    "note, and when the error is too large to decide a limit, the note names the\n"
    "ALLOCPROF_RATE at which it would not be (from the heap's size: a total T at\n"
    "rate P has an error of about sqrt(T*P)). Profiles written at rate 1 are\n"
    "exact. A heap profile whose period is not from 1 to 1 GiB is refused (exit\n"
    "2): its noise would hide any growth.\n"
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
    {"count", 'n', "N", 'n', "functions that grew to list (default 10; 0 = all)"},
    CLI_FILTER_OPTIONS,
    {NULL},
};

static const char gate_outro[] =
    "\n"
    "exit status: 0 pass, 1 regression, 2 usage or input error.\n";

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
  char verdict[320];
  char advice[320]; /* the rate that would decide it, when the noise cannot */
} limit;

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
                         bool pass, const char *filter) {
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
    fprintf(f, "  %-5s   %s: %s\n", lim[i].fail ? "FAIL" : "pass", lim[i].name, lim[i].verdict);
    if (lim[i].advice[0]) fprintf(f, "  note    %s\n", lim[i].advice);
  }
  fprintf(f, "%s\n", pass ? "PASS" : "FAIL: regression");

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

static void write_junit(FILE *f, const char *type, const limit *lim, size_t nlim,
                        const char *report) {
  size_t failures = 0;
  for (size_t i = 0; i < nlim; i++) failures += lim[i].fail;
  fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  fprintf(f, "<testsuites name=\"allocprof gate\" tests=\"%zu\" failures=\"%zu\" errors=\"0\">\n",
          nlim, failures);
  fprintf(f, "  <testsuite name=\"allocprof.gate\" tests=\"%zu\" failures=\"%zu\" errors=\"0\">\n",
          nlim, failures);
  for (size_t i = 0; i < nlim; i++) {
    fprintf(f, "    <testcase classname=\"allocprof.gate\" name=\"");
    cli_xml_text(f, type);
    fprintf(f, " ");
    cli_xml_text(f, lim[i].name);
    fprintf(f, "\"");
    if (!lim[i].fail) {
      fprintf(f, "/>\n");
      continue;
    }
    fprintf(f, ">\n      <failure type=\"regression\" message=\"");
    cli_xml_text(f, lim[i].verdict);
    fprintf(f, "\">");
    cli_xml_text(f, report);
    fprintf(f, "</failure>\n    </testcase>\n");
  }
  fprintf(f, "    <system-out>");
  cli_xml_text(f, report);
  fprintf(f, "</system-out>\n  </testsuite>\n</testsuites>\n");
}

/* "16k", "2m", "512": a rate as ALLOCPROF_RATE takes it. */
static char *rate_text(char *buf, int64_t rate) {
  if (rate >= ((int64_t)1 << 20) && rate % ((int64_t)1 << 20) == 0)
    snprintf(buf, 32, "%lldm", (long long)(rate >> 20));
  else if (rate >= 1024 && rate % 1024 == 0)
    snprintf(buf, 32, "%lldk", (long long)(rate >> 10));
  else
    snprintf(buf, 32, "%lld", (long long)rate);
  return buf;
}

/* When the sampling error is too large to decide limit l (the value lies
 * within K standard errors of the limit, either side), names the rate at
 * which K standard errors would be no larger than the limit itself. The
 * model for this is the small-object one (common.h): a total T sampled at
 * period P has variance about T*P, so the growth's is (T_base + T_new)*P
 * (a ceiling on NEW's total: T_new*P), and K*sqrt(heap*P) <= allowed gives
 * P <= (allowed/K)^2 / heap, rounded down to a power of two. Objects large
 * against P have less error than this, so the rate named is a safe one. For
 * a ceiling on the total the error to resolve is the total's distance from
 * it rather than the limit. It
 * is only named when it is below the rate the profiles were taken at
 * (cur_period): otherwise the growth is merely close to the limit, and a
 * lower rate would not settle much. Bytes only; a limit of 0 names none
 * (only rate 1 decides it). */
static void advise(limit *l, double value, double noise, double heap, double cur_period, double B,
                   const char *unit, double k) {
  l->advice[0] = 0;
  if (noise <= 0 || k <= 0 || l->allowed <= 0 || heap <= 0 || strcmp(unit, "bytes") != 0) return;
  if (fabs(value - l->allowed) > noise) return; /* decided */
  /* The error to get under: the limit itself for a growth; for a ceiling
   * on the total, the distance from the total to it. */
  double margin = l->total ? fabs(value - l->allowed) : l->allowed;
  if (margin <= 0) return;
  double p = (margin / k) * (margin / k) / heap;
  int64_t rate = 1;
  while (rate <= CLI_MAX_PERIOD && (double)(rate * 2) <= p) rate *= 2;
  if ((double)rate >= cur_period) return;
  char r[32], a[32];
  if (!l->total && B > 0 && strncmp(l->name, "--max-growth", 12) == 0)
    snprintf(a, sizeof a, "%g%%", 100 * margin / B);
  else
    cli_human(a, margin, unit, false);
  snprintf(l->advice, sizeof l->advice,
           "the sampling error is too large to decide %s: at this heap size, "
           "`ALLOCPROF_RATE=%s` resolves ±%s at %gσ",
           l->name, rate_text(r, rate), a, k);
}

/* Decides one limit. growth/total and noise in the value's unit. */
static void judge(limit *l, double value, double noise, double B, const char *unit, double k) {
  char a[32], b[32], g[96];
  l->excess = value - noise - l->allowed;
  l->fail = l->excess > 0;
  l->noisy = !l->fail && value > l->allowed;
  if (l->total) {
    snprintf(l->verdict, sizeof l->verdict, "total %s ± %s (%gσ) %s %s%s",
             cli_human(a, value, unit, false), cli_human(b, noise, unit, false), k,
             l->fail ? "is over" : "is within", cli_human(g, l->allowed, unit, false),
             l->noisy ? ", by less than the sampling error" : "");
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
           l->fail    ? "is over"
           : l->noisy ? "is over"
                      : "is within",
           allowed, l->noisy ? " by less than the sampling error" : "");
}

/* What gate was asked. */
typedef struct gate_args {
  const char *base_file, *new_file, *index_name, *junit;
  const char *growth_arg, *bytes_arg, *total_arg; /* the limits as given, or NULL */
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
  double noise = k * sqrt(t->var_total[0] + t->var_total[1]);
  size_t nlim = 0;
  if (a->growth_arg || (!a->bytes_arg && !a->total_arg)) {
    limit *l = &lim[nlim++];
    *l = (limit){.allowed = (a->max_growth > 0 ? a->max_growth : 0) / 100 * (B > 0 ? B : 0)};
    snprintf(l->name, sizeof l->name, "--max-growth %s",
             a->growth_arg ? a->growth_arg : "0% (default)");
    judge(l, N - B, noise, B, unit, k);
    advise(l, N - B, noise, B + N, cur_period, B, unit, k);
  }
  if (a->bytes_arg) {
    limit *l = &lim[nlim++];
    *l = (limit){.allowed = (double)a->max_bytes};
    snprintf(l->name, sizeof l->name, "--max-bytes %s", a->bytes_arg);
    judge(l, N - B, noise, B, unit, k);
    advise(l, N - B, noise, B + N, cur_period, B, unit, k);
  }
  if (a->total_arg) {
    limit *l = &lim[nlim++];
    *l = (limit){.allowed = (double)a->max_total, .total = true};
    snprintf(l->name, sizeof l->name, "--max-total %s", a->total_arg);
    judge(l, N, k * sqrt(t->var_total[1]), B, unit, k);
    advise(l, N, k * sqrt(t->var_total[1]), N, cur_period, B, unit, k);
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
  write_junit(x, type, lim, nlim, report);
  if (fclose(x) != 0) {
    free(xml);
    xml = NULL;
  }
  return cli_write_text(a->junit, xml, xml_len);
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
  bool pass = true;
  for (size_t i = 0; i < nlim; i++) pass = pass && !lim[i].fail;

  char ftext[512], *report = NULL;
  size_t report_len = 0;
  FILE *mem = open_memstream(&report, &report_len);
  if (!mem) {
    cli_error("out of memory");
    return CLI_EXIT_USAGE;
  }
  write_report(mem, a->base_file, a->new_file, base, bi, new, ni, t, a->k, lim, nlim,
               (size_t)a->count, pass, cli_filter_text(a->filter, ftext, sizeof ftext));
  int rc = CLI_EXIT_USAGE;
  if (fclose(mem) != 0)
    cli_error("out of memory");
  else if (!a->junit || write_junit_file(a, type, lim, nlim, report) == 0) {
    fwrite(report, 1, report_len, stdout);
    rc = cli_finish_stdout(pass ? CLI_EXIT_OK : CLI_EXIT_REGRESSION);
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
