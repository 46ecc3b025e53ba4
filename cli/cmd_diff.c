/* cmd_diff.c: `allocprof diff`: how a profile changed from BASE to NEW, in
 * total and per function, largest change first; -o writes NEW minus BASE as a
 * profile (values may be negative) that go tool pprof opens.
 *
 * Sampled profiles: each change gets its noise, the standard error of the
 * difference of two independent estimates (the model of common.h), and a
 * change within K of them (2 by default) is not counted as one: two runs of
 * the same compile must not show "4629 of 4629 functions changed". */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "common.h"
#include "profile_builder.h"
#include "satint.h"

static const char diff_intro[] =
    "usage: allocprof diff [--json] [-n N] [--sample-index TYPE] [--sigmas K] [--all]\n"
    "                      [--focus REGEX] [--hide REGEX] [-o OUT] BASE NEW\n"
    "\n"
    "Prints the totals of every sample type in BASE and NEW and their change, then\n"
    "the functions whose value changed, largest absolute change of the flat value\n"
    "first (flat: allocated in the function itself; cum: anywhere below it).\n"
    "\n"
    "When the profiles are sampled, their values are estimates: each change gets\n"
    "its standard error (± 1σ, of both profiles together), and only the changes\n"
    "beyond K of them (--sigmas) count as changed and are listed; --all lists the\n"
    "others too, marked \"(noise)\". Profiles written at rate 1 are exact.\n"
    "\n";

static const cli_option diff_options[] = {
    {"output", 'o', "OUT", 'o',
     "also write NEW minus BASE as a profile (negative values\n"
     "are shrinkage; samples that cancel out are left out);\n"
     "BASE and NEW must have the same sample types"},
    {"count", 'n', "N", 'n',
     "functions to list (default 20 in text, all in JSON;\n"
     "0 = all)"},
    {"sample-index", 'i', "TYPE", 'i',
     "the value to compare (default: NEW's default sample\n"
     "type, else its last one); BASE must have it too"},
    {"sigmas", 'k', "K", 'k',
     "a change within K standard errors is noise, not a\n"
     "change (default 2; 0 = every change counts)"},
    {"all", 0, NULL, CLI_OPT_ALL, "also list the changes within the noise"},
    {"json", 0, NULL, CLI_OPT_JSON, "one JSON object with the same content, exact values"},
    CLI_FILTER_OPTIONS,
    {NULL},
};

static int run_diff(int argc, char **argv);

const cli_command cmd_diff = {
    .name = "diff",
    .summary = "what changed from one profile to another",
    .run = run_diff,
    .intro = diff_intro,
    .options = diff_options,
};

/* Total of the sample type called type in p; 0 with *found false if none. */
static int64_t total_of(const profile_pb *p, const char *type, bool *found) {
  *found = false;
  for (size_t k = 0; k < p->n_sample_type; k++) {
    if (strcmp(cli_type_name(p, k), type) != 0) continue;
    *found = true;
    int64_t t = 0;
    for (size_t i = 0; i < p->n_sample; i++) t = sat_add(t, p->sample[i]->value[k]);
    return t;
  }
  return 0;
}

/* NEW minus BASE, without the samples that cancel out, written to out. */
static int write_difference(const char *out, const char *base_file, const profile_pb *base,
                            const char *new_file, const profile_pb *new) {
  char err[CLI_ERRLEN];
  int rc = -1;
  profile_pb *d = NULL;
  profile_builder *b = profile_builder_new();
  if (!b) {
    cli_error("out of memory");
    return -1;
  }
  if (profile_builder_add_profile(b, new, 1, err, sizeof err) != 0) {
    cli_error("%s: %s", new_file, err);
    goto done;
  }
  if (profile_builder_add_profile(b, base, -1, err, sizeof err) != 0) {
    cli_error("%s: %s", base_file, err);
    goto done;
  }
  profile_builder_add_comment(b, "allocprof diff: values are NEW minus BASE");
  if (profile_builder_build(b, &d) != 0) {
    cli_error("%s: out of memory", out);
    goto done;
  }
  size_t kept = 0;
  for (size_t i = 0; i < d->n_sample; i++) {
    Perftools__Profiles__Sample *s = d->sample[i];
    bool zero = true;
    for (size_t k = 0; k < s->n_value && zero; k++) zero = s->value[k] == 0;
    if (zero)
      perftools__profiles__sample__free_unpacked(s, NULL);
    else
      d->sample[kept++] = s;
  }
  d->n_sample = kept;
  if (profile_write_file(out, d, err, sizeof err) != 0) {
    cli_error("%s", err);
    goto done;
  }
  rc = 0;
done:
  profile_free(d);
  profile_builder_free(b);
  return rc;
}

/* "+12.50%", "-3.00%", "new" (from nothing), "gone" (to nothing), "0.00%". */
static char *signed_percent(char *buf, double delta, double base, bool gone) {
  if (base == 0)
    snprintf(buf, 32, "%s", delta ? "new" : "-");
  else if (gone)
    snprintf(buf, 32, "gone");
  else
    snprintf(buf, 32, "%s%.2f%%", delta > 0 ? "+" : "", 100.0 * delta / base);
  return buf;
}

/* How diff tells changes from noise. */
typedef struct noise {
  bool sampled; /* either profile is sampled: changes have an error */
  double k;     /* --sigmas */
  bool all;     /* --all: list the changes within the noise too */
  char note[200];
} noise;

static bool changed(const cli_func *f) {
  return f->flat[0] != f->flat[1] || f->cum[0] != f->cum[1];
}

/* Whether f's change (flat or cum) lies beyond the noise. */
static bool beyond(const noise *z, const cli_func *f) {
  if (!z->sampled) return changed(f);
  return changed(f) && (cli_beyond_noise((double)f->flat[1] - (double)f->flat[0],
                                         f->var_flat[0] + f->var_flat[1], z->k) ||
                        cli_beyond_noise((double)f->cum[1] - (double)f->cum[0],
                                         f->var_cum[0] + f->var_cum[1], z->k));
}

/* Whether f is listed: every change with --all, else those beyond the noise. */
static bool listed(const noise *z, const cli_func *f) { return z->all ? changed(f) : beyond(z, f); }

static void print_text(const char *base_file, const char *new_file, const profile_pb *base,
                       const profile_pb *new, const cli_funcs *t, const char *type,
                       const char *unit, size_t n, const char *filter, const noise *z) {
  char a[32], b[32], c[32], d[32], e[32], g[32];
  printf("Base: %s\nNew:  %s\nType: %s (%s)\n", base_file, new_file, type, unit);
  if (z->sampled) printf("Values: %s\n", z->note);
  if (*filter) printf("Filter: %s\n", filter);
  printf("Total: %s -> %s: %s (%s)", cli_human(a, (double)t->total[0], unit, false),
         cli_human(b, (double)t->total[1], unit, false),
         cli_human(c, (double)t->total[1] - (double)t->total[0], unit, true),
         signed_percent(d, (double)t->total[1] - (double)t->total[0], (double)t->total[0], false));
  if (z->sampled)
    printf(" ± %s", cli_human(g, sqrt(t->var_total[0] + t->var_total[1]), unit, false));
  printf("\n");
  printf("\nTotals by sample type:\n");
  /* the names' column: as wide as the longest name (peak_inuse_objects),
   * up to 32; a longer one overflows it */
  int w = 16;
  for (size_t k = 0; k < new->n_sample_type; k++) {
    size_t len = strlen(cli_type_name(new, k));
    if (len > (size_t)w && len <= 32) w = (int)len;
  }
  for (size_t k = 0; k < new->n_sample_type; k++) {
    bool found;
    const char *ty = cli_type_name(new, k), *un = cli_type_unit(new, k);
    int64_t nt = total_of(new, ty, &found), bt = total_of(base, ty, &found);
    if (!found) {
      printf("  %-*s %10s -> %-10s (not in BASE)\n", w, ty, "-",
             cli_human(b, (double)nt, un, false));
      continue;
    }
    printf("  %-*s %10s -> %-10s %11s %9s\n", w, ty, cli_human(a, (double)bt, un, false),
           cli_human(b, (double)nt, un, false), cli_human(c, (double)nt - (double)bt, un, true),
           signed_percent(d, (double)nt - (double)bt, (double)bt, false));
  }
  size_t nchanged = 0, nbeyond = 0, nlisted = 0;
  for (size_t i = 0; i < t->n; i++) {
    nchanged += changed(&t->v[i]);
    nbeyond += beyond(z, &t->v[i]);
    nlisted += listed(z, &t->v[i]);
  }
  size_t show = n == 0 || n > nlisted ? nlisted : n;
  if (z->sampled) {
    printf("\n%zu of %zu functions changed beyond the noise (%gσ)", nbeyond, t->n, z->k);
    if (nchanged > nbeyond)
      printf("; %zu more within it%s", nchanged - nbeyond, z->all ? "" : " (--all lists them)");
  } else
    printf("\n%zu of %zu functions changed", nchanged, t->n);
  if (show < nlisted) printf("; the %zu largest changes", show);
  printf(":\n");
  if (!show) return;
  printf("%10s %10s %11s %s%9s %11s  %s\n", "base", "new", "delta", z->sampled ? "      ± 1σ " : "",
         "delta%", "cum delta", "function");
  for (size_t i = 0, shown = 0; i < t->n && shown < show; i++) {
    const cli_func *f = &t->v[i];
    if (!listed(z, f)) continue;
    shown++;
    double delta = (double)f->flat[1] - (double)f->flat[0];
    signed_percent(d, delta, (double)f->flat[0], f->flat[1] == 0);
    printf("%10s %10s %11s ", cli_human(a, (double)f->flat[0], unit, false),
           cli_human(b, (double)f->flat[1], unit, false), cli_human(c, delta, unit, true));
    if (z->sampled) {
      char pm[40];
      snprintf(pm, sizeof pm, "±%s",
               cli_human(g, sqrt(f->var_flat[0] + f->var_flat[1]), unit, false));
      printf("%10s ", pm);
    }
    printf("%9s %11s  %s%s\n", d, cli_human(e, (double)f->cum[1] - (double)f->cum[0], unit, true),
           f->name, z->sampled && !beyond(z, f) ? "  (noise)" : "");
  }
}

static void print_json(const char *base_file, const char *new_file, const profile_pb *base,
                       const profile_pb *new, const cli_funcs *t, const char *type,
                       const char *unit, size_t n, const char *filter, const noise *z) {
  printf("{\n  \"base\": ");
  cli_json_string(stdout, base_file);
  printf(",\n  \"new\": ");
  cli_json_string(stdout, new_file);
  printf(",\n  \"sample_type\": ");
  cli_json_string(stdout, type);
  printf(",\n  \"unit\": ");
  cli_json_string(stdout, unit);
  if (*filter) {
    printf(",\n  \"filter\": ");
    cli_json_string(stdout, filter);
  }
  printf(",\n  \"base_total\": %lld,\n  \"new_total\": %lld,\n  \"delta\": %lld,",
         (long long)t->total[0], (long long)t->total[1],
         (long long)sat_sub(t->total[1], t->total[0]));
  if (z->sampled) {
    size_t nbeyond = 0;
    for (size_t i = 0; i < t->n; i++) nbeyond += beyond(z, &t->v[i]);
    printf("\n  \"delta_stderr\": %.0f,\n  \"sigmas\": %g,\n  \"changed_beyond_noise\": %zu,",
           sqrt(t->var_total[0] + t->var_total[1]), z->k, nbeyond);
  }
  printf("\n  \"totals\": [");
  for (size_t k = 0; k < new->n_sample_type; k++) {
    bool found;
    const char *ty = cli_type_name(new, k);
    int64_t nt = total_of(new, ty, &found), bt = total_of(base, ty, &found);
    printf("%s\n    {\"type\": ", k ? "," : "");
    cli_json_string(stdout, ty);
    printf(", \"unit\": ");
    cli_json_string(stdout, cli_type_unit(new, k));
    if (found)
      printf(", \"base\": %lld, \"new\": %lld, \"delta\": %lld}", (long long)bt, (long long)nt,
             (long long)sat_sub(nt, bt));
    else
      printf(", \"base\": null, \"new\": %lld, \"delta\": null}", (long long)nt);
  }
  printf("\n  ],\n  \"functions\": [");
  size_t shown = 0;
  for (size_t i = 0; i < t->n && (n == 0 || shown < n); i++) {
    const cli_func *f = &t->v[i];
    if (!changed(f)) continue; /* JSON lists every change, marked */
    printf("%s\n    {\"function\": ", shown++ ? "," : "");
    cli_json_string(stdout, f->name);
    printf(
        ", \"base_flat\": %lld, \"new_flat\": %lld, \"delta_flat\": %lld, "
        "\"base_cum\": %lld, \"new_cum\": %lld, \"delta_cum\": %lld",
        (long long)f->flat[0], (long long)f->flat[1], (long long)sat_sub(f->flat[1], f->flat[0]),
        (long long)f->cum[0], (long long)f->cum[1], (long long)sat_sub(f->cum[1], f->cum[0]));
    if (z->sampled)
      printf(", \"delta_flat_stderr\": %.0f, \"delta_cum_stderr\": %.0f, \"beyond_noise\": %s",
             sqrt(f->var_flat[0] + f->var_flat[1]), sqrt(f->var_cum[0] + f->var_cum[1]),
             beyond(z, f) ? "true" : "false");
    printf("}");
  }
  printf("%s]\n}\n", shown ? "\n  " : "");
}

static int run_diff(int argc, char **argv) {
  const char *out = NULL, *index_name = NULL;
  long count = -1;
  bool json = false;
  noise z = {.k = 2};
  char *end;
  static cli_filter filter; /* static: reachable until exit on early returns */
  int c;
  while ((c = cli_option_next(&cmd_diff, argc, argv)) != -1) {
    switch (c) {
      case 'o': out = optarg; break;
      case 'n':
        if (cli_parse_count(optarg, &count) != 0)
          return cli_usage_error("diff", "-n wants a number of functions, not '%s'", optarg);
        break;
      case 'i': index_name = optarg; break;
      case CLI_OPT_JSON: json = true; break;
      case CLI_OPT_ALL: z.all = true; break;
      case 'k':
        z.k = strtod(optarg, &end);
        if (end == optarg || *end || !(z.k >= 0) || z.k > 100)
          return cli_usage_error("diff", "--sigmas wants a number from 0 to 100, not '%s'", optarg);
        break;
      case CLI_OPT_HIDE:
      case CLI_OPT_FOCUS:
        if (cli_filter_set(&filter, "diff", c, optarg) != 0) return CLI_EXIT_USAGE;
        break;
      default: return cli_option_end(&cmd_diff, c);
    }
  }
  if (argc - optind != 2) return cli_usage_error("diff", "wants two profiles: BASE NEW");
  const char *base_file = argv[optind], *new_file = argv[optind + 1];
  if (out && cli_check_output(out) != 0) return CLI_EXIT_USAGE;

  profile_pb *base = NULL, *new = NULL;
  cli_funcs t = {0};
  int rc = CLI_EXIT_USAGE;
  size_t bi, ni;
  if (cli_load_pair(base_file, new_file, index_name, &base, &new, &bi, &ni) != 0) goto done;
  if (cli_filter_apply(&filter, base) != 0 || cli_filter_apply(&filter, new) != 0) goto done;
  const char *type = cli_type_name(new, ni), *unit = cli_type_unit(new, ni);
  if (cli_funcs_add(&t, base, (size_t)bi, 0) != 0 || cli_funcs_add(&t, new, (size_t)ni, 1) != 0)
    goto done;
  cli_funcs_sort(&t, CLI_SORT_FLAT_DELTA, 0);
  if (out && write_difference(out, base_file, base, new_file, new) != 0) goto done;
  cli_model mb, mn;
  cli_model_init(&mb, base, bi);
  cli_model_init(&mn, new, ni);
  z.sampled = z.k > 0 && (cli_model_sampled(&mb) || cli_model_sampled(&mn));
  cli_model_note(z.note, sizeof z.note, cli_model_sampled(&mn) ? &mn : &mb);
  char ftext[512];
  size_t n = count >= 0 ? (size_t)count : json ? 0 : 20;
  if (json)
    print_json(base_file, new_file, base, new, &t, type, unit, n,
               cli_filter_text(&filter, ftext, sizeof ftext), &z);
  else
    print_text(base_file, new_file, base, new, &t, type, unit, n,
               cli_filter_text(&filter, ftext, sizeof ftext), &z);
  rc = cli_finish_stdout(CLI_EXIT_OK);
done:
  cli_filter_free(&filter);
  cli_funcs_free(&t);
  profile_free(base);
  profile_free(new);
  return rc;
}
