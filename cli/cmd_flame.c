/* cmd_flame.c: `allocprof flame`: a self-contained SVG flame graph of one
 * value of a profile; with --base, a differential one (widths from FILE,
 * colours from the change since BASE).
 *
 * The stacks come from the formats library's folded stacks (folded.h), so the
 * graph names frames exactly as .folded output does; they are merged into a
 * tree (one node per distinct path), laid out root at the bottom with widths
 * proportional to the value, and written as plain SVG: one <g> per frame
 * holding a <title> (shown on hover), a <rect> and a clipped label. Frames
 * without a symbol are first named by object and offset (frames.h), so that
 * with --base the same frame of two runs is one box, whatever ASLR did.
 *
 * Input is untrusted, so nothing here grows with it beyond a node per
 * distinct path: the tree is walked with an explicit stack (a 200,000-frame
 * stack used to overflow the C stack), siblings are put in order once with
 * qsort (not an insertion sort per node, quadratic for a wide tree), and
 * paths deeper than FLAME_MAX_DEPTH frames end in one dark marker box
 * ("deeper frames cut"), named in the subtitle.
 *
 * This file is the command (options, loading, titles, writing the file);
 * the tree of stacks is flame_tree.c, its SVG flame_svg.c (flame.h). */
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "common.h"
#include "flame.h"
#include "folded.h"
#include "frames.h"

static const char flame_intro[] =
    "usage: allocprof flame [--sample-index TYPE] [--base BASE] [--title TEXT]\n"
    "                       [--width PX] [--focus REGEX] [--hide REGEX]\n"
    "                       -o OUT.svg FILE\n"
    "\n"
    "Writes an SVG flame graph of FILE: each box a function on a stack, callers\n"
    "below callees, its width proportional to the value (bytes or objects) of all\n"
    "the samples through it. Hovering a box shows its name, value and share;\n"
    "clicking one zooms to it (Reset zoom, the bottom box or Escape go back);\n"
    "Search (or Ctrl-F) highlights the functions matching a regular expression\n"
    "and shows their share of the total. The file needs nothing else (its script\n"
    "is inline): open it in a browser. The path written is printed.\n"
    "\n"
    "With --base, a differential flame graph: widths are FILE's values, colours the\n"
    "change from BASE: red grew, blue shrank, the deeper the larger the change\n"
    "relative to the box's size (hover for the values); paths found only in BASE\n"
    "have no width and are summed in the subtitle.\n"
    "\n";

static const cli_option flame_options[] = {
    {"output", 'o', "OUT.svg", 'o', "the SVG file (required)"},
    {"base", 'b', "BASE", 'b', "draw the change from BASE (same sample type needed)"},
    {"sample-index", 'i', "TYPE", 'i',
     "the value drawn (default: FILE's default sample type,\n"
     "else its last one)"},
    {"title", 't', "TEXT", 't', "the title (default: \"Flame graph: TYPE\")"},
    {"width", 'w', "PX", 'w', "image width (default 1200)"},
    CLI_FILTER_OPTIONS,
    {NULL},
};

static int run_flame(int argc, char **argv);

const cli_command cmd_flame = {
    .name = "flame",
    .summary = "SVG flame graph, plain or differential",
    .run = run_flame,
    .intro = flame_intro,
    .options = flame_options,
};

/* Folded text of value type (by name, or the default when NULL) of file. */
static char *fold(const profile_pb *p, const char *file, const char *type, ssize_t *vi) {
  char err[CLI_ERRLEN];
  *vi = cli_sample_index(p, type, file);
  if (*vi < 0) return NULL;
  char *text = NULL;
  size_t len = 0;
  if (folded_format(p, (size_t)*vi, &text, &len, err, sizeof err) != 0) {
    cli_error("%s: %s", file, err);
    return NULL;
  }
  return text;
}

/* What flame was asked. */
typedef struct flame_args {
  const char *out, *base_file, *index_name, *title, *file;
  long width;
  cli_filter *filter;
} flame_args;

/* Options and the operand into a; returns -1 to go on, else the exit
 * status. */
static int parse_flame(flame_args *a, int argc, char **argv) {
  int c;
  while ((c = cli_option_next(&cmd_flame, argc, argv)) != -1) {
    switch (c) {
      case 'o': a->out = optarg; break;
      case 'b': a->base_file = optarg; break;
      case 'i': a->index_name = optarg; break;
      case 't': a->title = optarg; break;
      case 'w':
        if (cli_parse_count(optarg, &a->width) != 0 || a->width < 200 || a->width > 100000)
          return cli_usage_error("flame", "--width wants pixels from 200 to 100000, not '%s'",
                                 optarg);
        break;
      case CLI_OPT_HIDE:
      case CLI_OPT_FOCUS:
        if (cli_filter_set(a->filter, "flame", c, optarg) != 0) return CLI_EXIT_USAGE;
        break;
      default: return cli_option_end(&cmd_flame, c);
    }
  }
  if (!a->out) return cli_usage_error("flame", "no output file (-o OUT.svg)");
  if (cli_check_output(a->out) != 0) return CLI_EXIT_USAGE;
  if (argc - optind != 1)
    return cli_usage_error("flame", argc == optind ? "no profile given" : "one profile at a time");
  a->file = argv[optind];
  return -1;
}

/* The profiles flame draws, their folded stacks and the tree of them. */
typedef struct flame_data {
  profile_pb *p, *bp;
  char *text, *btext;
  const char *type, *unit; /* of the value drawn */
  tree t;
} flame_data;

/* Loads FILE (and BASE), filters and folds them. Returns 0 or -1 after
 * printing. */
static int load_flame(const flame_args *a, flame_data *d) {
  ssize_t vi, bvi;
  if (cli_load(a->file, &d->p) != 0 || (a->base_file && cli_load(a->base_file, &d->bp) != 0))
    return -1;
  /* frames without a symbol named by object and offset, the same in both
   * profiles (frames.h), before the filters see the names */
  if (cli_name_frames((profile_pb *const[]){d->p, d->bp}, d->bp ? 2 : 1) != 0) return -1;
  if (cli_filter_apply(a->filter, d->p) != 0) return -1;
  if (!(d->text = fold(d->p, a->file, a->index_name, &vi))) return -1;
  d->type = cli_type_name(d->p, (size_t)vi);
  d->unit = cli_type_unit(d->p, (size_t)vi);
  if (!a->base_file) return 0;
  if (cli_filter_apply(a->filter, d->bp) != 0) return -1;
  if (!(d->btext = fold(d->bp, a->base_file, d->type, &bvi))) return -1;
  if (strcmp(cli_type_unit(d->bp, (size_t)bvi), d->unit) != 0) {
    cli_error("%s: %s is in %s, not %s as in %s", a->base_file, d->type,
              cli_type_unit(d->bp, (size_t)bvi), d->unit, a->file);
    return -1;
  }
  return 0;
}

/* The tree of the folded stacks, children in name order. Returns 0 or -1
 * after printing. */
static int build_tree(const flame_args *a, flame_data *d) {
  tree *t = &d->t;
  t->cap = 1024;
  t->v = calloc(t->cap, sizeof *t->v);
  if (!t->v) goto oom;
  t->v[0].name = "all";
  t->n = 1;
  size_t size = perftools__profiles__profile__get_packed_size(d->p) +
                (d->bp ? perftools__profiles__profile__get_packed_size(d->bp) : 0);
  t->max_nodes = FLAME_NODES_BASE + size / FLAME_BYTES_PER_NODE;
  flame_tree_add_folded(t, d->text, false);
  if (d->btext) flame_tree_add_folded(t, d->btext, true);
  if (t->too_big) {
    cli_error(
        "%s: the flame graph would need more than %zu boxes (%zu + one per %d bytes of "
        "profile)",
        a->file, t->max_nodes, FLAME_NODES_BASE, FLAME_BYTES_PER_NODE);
    return -1;
  }
  if (t->oom || flame_tree_sort_children(t) != 0) goto oom;
  if (t->v[0].value <= 0) {
    /* widths are FILE's values: with none, nothing to draw */
    cli_error("%s: nothing to draw: %s", a->file,
              cli_filter_active(a->filter) ? "no sample the filters keep has a positive value"
              : d->p->n_sample == 0        ? "the profile has no samples"
                                           : "no sample has a positive value");
    return -1;
  }
  return 0;
oom:
  cli_error("%s: out of memory", a->out);
  return -1;
}

/* The graph's title and the line under it into title[256] and sub[512]. */
static void titles(const flame_args *a, const flame_data *d, char *title, char *sub) {
  char b1[32], b2[32], b3[32], b4[32];
  const tree *t = &d->t;
  if (a->title)
    snprintf(title, 256, "%s", a->title);
  else
    snprintf(title, 256, "%s: %s", a->base_file ? "Differential flame graph" : "Flame graph",
             d->type);
  if (a->base_file) {
    double gone = 0; /* paths with BASE value only */
    for (size_t i = 1; i < t->n; i++)
      if (t->v[i].value == 0 && t->v[i].base > 0 && t->v[t->v[i].parent].value > 0)
        gone += (double)t->v[i].base;
    snprintf(sub, 512, "%s vs %s: %s -> %s (%s); in BASE only: %s", a->file, a->base_file,
             cli_human(b1, (double)t->v[0].base, d->unit, false),
             cli_human(b2, (double)t->v[0].value, d->unit, false),
             cli_human(b3, (double)t->v[0].value - (double)t->v[0].base, d->unit, true),
             cli_human(b4, gone, d->unit, false));
  } else {
    snprintf(sub, 512, "%s: %s total, %s (%s)", a->file,
             cli_human(b1, (double)t->v[0].value, d->unit, false), d->type, d->unit);
  }
  size_t used = strlen(sub);
  if (cli_filter_active(a->filter)) {
    char ftext[256];
    snprintf(sub + used, 512 - used, "; %s", cli_filter_text(a->filter, ftext, sizeof ftext));
  }
  used = strlen(sub);
  if (t->cut_stacks)
    snprintf(sub + used, 512 - used, "; %zu stack%s cut at %d frames (deepest: %zu)", t->cut_stacks,
             t->cut_stacks == 1 ? "" : "s", FLAME_MAX_DEPTH, t->deepest);
}

/* Draws d's tree into a->out. Returns the exit status. */
static int draw(const flame_args *a, const flame_data *d) {
  char title[256], sub[512], *svg = NULL;
  size_t svg_len = 0;
  titles(a, d, title, sub);
  FILE *mem = open_memstream(&svg, &svg_len);
  if (!mem) goto oom;
  int wrc =
      flame_write_svg(mem, &d->t, title, sub, d->unit, a->base_file != NULL, (double)a->width);
  if (fclose(mem) != 0 || wrc != 0) goto oom;
  if (cli_write_text(a->out, svg, svg_len) != 0) return CLI_EXIT_USAGE; /* it frees svg */
  printf("wrote %s\n", a->out);
  return cli_finish_stdout(CLI_EXIT_OK);
oom:
  free(svg);
  cli_error("%s: out of memory", a->out);
  return CLI_EXIT_USAGE;
}

static int run_flame(int argc, char **argv) {
  static cli_filter filter; /* static: reachable until exit on early returns */
  flame_args a = {.width = 1200, .filter = &filter};
  int rc = parse_flame(&a, argc, argv);
  if (rc >= 0) return rc;
  flame_data d = {0};
  rc = CLI_EXIT_USAGE;
  if (load_flame(&a, &d) == 0 && build_tree(&a, &d) == 0) rc = draw(&a, &d);
  cli_filter_free(&filter);
  flame_tree_free(&d.t);
  free(d.text);
  free(d.btext);
  profile_free(d.p);
  profile_free(d.bp);
  return rc;
}
