/* cmd_timeline.c: `allocprof timeline`: estimated in-use bytes over time,
 * from a snapshot stream or a series of profiles (series.h), as a stacked
 * area chart (SVG or an HTML page holding it), a CSV table, or a summary on
 * stdout.
 *
 * The bands are the N stacks whose in-use bytes were highest at their own
 * maximum (so a stack that held much early and freed it before the peak
 * still has its band), largest first, then "other" for every stack not
 * drawn alone. A stack's maximum, not its value at the peak: the chart is
 * about how memory moved, and `top -i peak_inuse_space` answers what held
 * the peak. Values below zero (a profile of differences) count as zero in
 * the chart and stay as they are in the CSV.
 *
 * This file is the command (options, the bands, CSV and the summary); the
 * SVG is timeline_svg.c (timeline.h). */
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "common.h"
#include "satint.h"
#include "timeline.h"

static const char timeline_intro[] =
    "usage: allocprof timeline [-o OUT.svg|OUT.html|OUT.csv] [--csv] [-n N]\n"
    "                          [--pid PID] [--focus REGEX] [--hide REGEX] FILE...\n"
    "\n"
    "Draws the estimated bytes in use over time from a snapshot stream (the file\n"
    "ALLOCPROF_STREAM names) or from several profiles of one process (say those\n"
    "ALLOCPROF_INTERVAL writes), in time order: one band for each of the N stacks\n"
    "that held the most at their own maximum, named by their leaf-most function\n"
    "that is not an allocator or one of its wrappers, plus \"other\". The peak is\n"
    "marked; hovering shows each snapshot's exact values.\n"
    "\n"
    "OUT's ending picks the format: .svg a self-contained image, .html a page\n"
    "holding it, .csv a table (seconds since the first snapshot, then the bytes of\n"
    "each band, \"other\" and the total; exact at rate 1). Without -o a summary\n"
    "goes to stdout (with --csv, the table). Profiles of several processes are\n"
    "refused unless --pid picks one.\n"
    "\n";

static const cli_option timeline_options[] = {
    {"output", 'o', "OUT", 'o', "the chart (.svg, .html) or table (.csv) to write"},
    {"csv", 'c', NULL, 'c', "write the table: to OUT, or stdout without -o"},
    {"count", 'n', "N", 'n', "bands for the N largest stacks (default 10)"},
    {"pid", 'p', "PID", 'p', "only the snapshots of process PID"},
    CLI_FILTER_OPTIONS,
    {NULL},
};

static int run_timeline(int argc, char **argv);

const cli_command cmd_timeline = {
    .name = "timeline",
    .summary = "in-use memory over time from a stream (SVG, HTML, CSV)",
    .run = run_timeline,
    .intro = timeline_intro,
    .options = timeline_options,
};

enum tl_format { TL_SUMMARY, TL_SVG, TL_HTML, TL_CSV };

typedef struct tl_args {
  const char *out;
  bool csv;
  long n, pid;
  cli_filter *filter;
  enum tl_format format;
  char **files;
  size_t nfiles;
} tl_args;

static bool ends_with(const char *s, const char *end) {
  size_t ls = strlen(s), le = strlen(end);
  return ls >= le && strcasecmp(s + ls - le, end) == 0;
}

/* The format from -o's ending and --csv. Returns -1 to go on, else the
 * exit status. */
static int pick_format(tl_args *a) {
  if (!a->out) {
    a->format = a->csv ? TL_CSV : TL_SUMMARY;
    return -1;
  }
  if (a->csv || ends_with(a->out, ".csv"))
    a->format = TL_CSV;
  else if (ends_with(a->out, ".svg"))
    a->format = TL_SVG;
  else if (ends_with(a->out, ".html") || ends_with(a->out, ".htm"))
    a->format = TL_HTML;
  else
    return cli_usage_error("timeline", "-o %s: the name must end in .svg, .html or .csv", a->out);
  return cli_check_output(a->out) != 0 ? CLI_EXIT_USAGE : -1;
}

/* Options and operands into a; returns -1 to go on, else the exit status. */
static int parse_timeline(tl_args *a, int argc, char **argv) {
  int c;
  while ((c = cli_option_next(&cmd_timeline, argc, argv)) != -1) {
    switch (c) {
      case 'o': a->out = optarg; break;
      case 'c': a->csv = true; break;
      case 'n':
        if (cli_parse_count(optarg, &a->n) != 0 || a->n < 1 || a->n > 1000)
          return cli_usage_error("timeline", "-n wants a count from 1 to 1000, not '%s'", optarg);
        break;
      case 'p':
        if (cli_parse_count(optarg, &a->pid) != 0 || a->pid < 1)
          return cli_usage_error("timeline", "--pid wants a process id, not '%s'", optarg);
        break;
      case CLI_OPT_HIDE:
      case CLI_OPT_FOCUS:
        if (cli_filter_set(a->filter, "timeline", c, optarg) != 0) return CLI_EXIT_USAGE;
        break;
      default: return cli_option_end(&cmd_timeline, c);
    }
  }
  if (argc == optind) return cli_usage_error("timeline", "no profile or stream given");
  a->files = argv + optind;
  a->nfiles = (size_t)(argc - optind);
  return pick_format(a);
}

/* ---- the bands ---- */

static const series *rank_series; /* for by_max (qsort has no context) */

static int by_max(const void *x, const void *y) {
  const series_stack *a = &rank_series->stack[*(const uint32_t *)x];
  const series_stack *b = &rank_series->stack[*(const uint32_t *)y];
  if (a->max_bytes != b->max_bytes) return a->max_bytes > b->max_bytes ? -1 : 1;
  return strcmp(a->label, b->label);
}

static void band_max(tl_band *b, size_t nsnap) {
  for (size_t i = 0; i < nsnap; i++)
    if (i == 0 || b->v[i] > b->max) {
      b->max = b->v[i];
      b->max_snap = i;
    }
}

/* The top n stacks by their maximum and "other". Returns 0 or -1 (out of
 * memory). */
static int make_bands(tl_chart *c, size_t n) {
  const series *s = c->s;
  uint32_t *order = malloc((s->nstack ? s->nstack : 1) * sizeof *order);
  bool *drawn = calloc(s->nstack + 1, sizeof *drawn);
  size_t top = 0;
  if (!order || !drawn) goto oom;
  for (size_t k = 0; k < s->nstack; k++)
    if (s->stack[k].max_bytes > 0) order[top++] = (uint32_t)k;
  rank_series = s;
  qsort(order, top, sizeof *order, by_max);
  c->others = s->nstack - (top < n ? top : n);
  if (top > n) top = n;
  if (!(c->band = calloc(top + 1, sizeof *c->band))) goto oom;
  for (size_t b = 0; b <= top; b++)
    if (!(c->band[b].v = calloc(s->nsnap ? s->nsnap : 1, sizeof *c->band[b].v))) goto oom;
  c->nband = top + 1;
  for (size_t b = 0; b < top; b++) {
    c->band[b].stack = order[b];
    c->band[b].label = s->stack[order[b]].label;
    drawn[order[b]] = true;
    series_stack_row(s, order[b], c->band[b].v, NULL, NULL);
    band_max(&c->band[b], s->nsnap);
  }
  tl_band *other = &c->band[top];
  *other = (tl_band){.label = "other", .stack = SIZE_MAX, .v = other->v};
  for (size_t i = 0; i < s->nsnap; i++)
    for (size_t j = s->snap[i].first; j < s->snap[i].first + s->snap[i].ncells; j++)
      if (!drawn[s->cell[j].stack]) other->v[i] = sat_add(other->v[i], s->cell[j].bytes);
  band_max(other, s->nsnap);
  free(order);
  free(drawn);
  return 0;
oom:
  free(order);
  free(drawn);
  return -1;
}

static void free_bands(tl_chart *c) {
  for (size_t b = 0; b < c->nband; b++) free(c->band[b].v);
  free(c->band);
}

/* ---- CSV ---- */

/* A CSV field: quoted when it holds a comma, quote or line break. */
static void csv_field(FILE *f, const char *s) {
  if (!strpbrk(s, ",\"\r\n")) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"') fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

static void write_csv(FILE *f, const tl_chart *c) {
  fputs("time_s", f);
  for (size_t b = 0; b < c->nband; b++) {
    fputc(',', f);
    csv_field(f, c->band[b].label);
  }
  fputs(",total\n", f);
  for (size_t i = 0; i < c->s->nsnap; i++) {
    fprintf(f, "%.3f", c->s->snap[i].t);
    for (size_t b = 0; b < c->nband; b++) fprintf(f, ",%lld", (long long)c->band[b].v[i]);
    fprintf(f, ",%lld\n", (long long)c->s->snap[i].bytes);
  }
}

/* ---- the summary ---- */

/* What the snapshots are: "40 snapshots over 2.05 s, process 1234, sampled
 * at 512 KiB (estimates)". */
static void describe(char *buf, size_t len, const series *s) {
  char b1[32], b2[32];
  const series_snap *last = &s->snap[s->nsnap - 1];
  int64_t period = s->snap[0].period;
  bool mixed = false;
  for (size_t i = 1; i < s->nsnap; i++) mixed |= s->snap[i].period != period;
  int n = s->nsnap == 1
              ? snprintf(buf, len, "1 snapshot")
              : snprintf(buf, len, "%zu snapshots over %s", s->nsnap, tl_seconds(b1, last->t));
  if (last->pid && n > 0 && (size_t)n < len)
    n += snprintf(buf + n, len - (size_t)n, ", process %ld", last->pid);
  if (n > 0 && (size_t)n < len)
    snprintf(buf + n, len - (size_t)n, "%s%s%s",
             mixed         ? ", sampled at several rates (estimates)"
             : period == 0 ? ", every allocation recorded (exact)"
                           : ", sampled every ",
             mixed || period == 0 ? "" : cli_human(b2, (double)period, "bytes", false),
             mixed || period == 0 ? "" : " on average (estimates)");
}

static void write_summary(FILE *f, const tl_chart *c, bool filtered) {
  const series *s = c->s;
  char d[256], b1[32], b2[32], b3[32], b4[32];
  describe(d, sizeof d, s);
  size_t pk = s->peak_snap, end = s->nsnap - 1;
  fprintf(f, "%s\n", d);
  fprintf(f, "peak: %s in use at %s (snapshot %zu of %zu)\n",
          cli_human(b1, (double)s->peak_bytes, "bytes", false), tl_seconds(b2, s->snap[pk].t),
          pk + 1, s->nsnap);
  if (s->peak_bytes <= 0) {
    fprintf(f, "\nnothing in use in any snapshot%s\n", filtered ? " (with these filters)" : "");
    return;
  }
  fprintf(f, "\n%10s  %10s  %10s  %10s  %s\n", "max", "max at", "at peak", "at end", "stack");
  for (size_t b = 0; b < c->nband; b++) {
    const tl_band *t = &c->band[b];
    if (t->stack == SIZE_MAX && t->max == 0) continue;
    fprintf(f, "%10s  %10s  %10s  %10s  ", cli_human(b1, (double)t->max, "bytes", false),
            tl_seconds(b2, s->snap[t->max_snap].t), cli_human(b3, (double)t->v[pk], "bytes", false),
            cli_human(b4, (double)t->v[end], "bytes", false));
    if (t->stack == SIZE_MAX)
      fprintf(f, "other (%zu stack%s)\n", c->others, c->others == 1 ? "" : "s");
    else
      fprintf(f, "%s\n", t->label);
  }
}

/* ---- the command ---- */

/* Title and subtitle of the chart into title[256] and sub[512]. */
static void titles(const tl_args *a, const tl_chart *c, char *title, char *sub) {
  char d[256], b1[32], b2[32], ftext[256];
  const series *s = c->s;
  snprintf(title, 256, "Memory in use over time: %s%s", a->files[0], a->nfiles > 1 ? ", ..." : "");
  describe(d, sizeof d, s);
  snprintf(sub, 512, "%s; peak %s at %s%s%s", d,
           cli_human(b1, (double)s->peak_bytes, "bytes", false),
           tl_seconds(b2, s->snap[s->peak_snap].t), cli_filter_active(a->filter) ? "; " : "",
           cli_filter_active(a->filter) ? cli_filter_text(a->filter, ftext, sizeof ftext) : "");
}

/* Writes the chart, the table or the summary. Returns the exit status. */
static int emit(const tl_args *a, tl_chart *c) {
  if (!a->out) {
    if (a->format == TL_CSV)
      write_csv(stdout, c);
    else
      write_summary(stdout, c, cli_filter_active(a->filter));
    return cli_finish_stdout(CLI_EXIT_OK);
  }
  char title[256], sub[512], *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  if (!mem) goto oom;
  if (a->format == TL_CSV) {
    write_csv(mem, c);
  } else {
    titles(a, c, title, sub);
    c->title = title;
    c->subtitle = sub;
    tl_write_svg(mem, c, 1200, a->format == TL_HTML);
  }
  if (fclose(mem) != 0) goto oom;
  if (cli_write_text(a->out, text, len) != 0) return CLI_EXIT_USAGE; /* it frees text */
  printf("wrote %s\n", a->out);
  return cli_finish_stdout(CLI_EXIT_OK);
oom:
  free(text);
  cli_error("%s: out of memory", a->out);
  return CLI_EXIT_USAGE;
}

static int run_timeline(int argc, char **argv) {
  static cli_filter filter; /* static: reachable until exit on early returns */
  tl_args a = {.n = 10, .filter = &filter};
  int rc = parse_timeline(&a, argc, argv);
  if (rc >= 0) return rc;
  series s;
  series_opts o = {.filter = &filter, .pid = a.pid, .cmd = "timeline"};
  if (series_load(&s, a.files, a.nfiles, &o) != 0) {
    cli_filter_free(&filter);
    return CLI_EXIT_USAGE;
  }
  tl_chart c = {.s = &s};
  if (make_bands(&c, (size_t)a.n) != 0) {
    cli_error("out of memory drawing the timeline");
    rc = CLI_EXIT_USAGE;
  } else {
    rc = emit(&a, &c);
  }
  free_bands(&c);
  series_free(&s);
  cli_filter_free(&filter);
  return rc;
}
