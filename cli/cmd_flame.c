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

const char cmd_flame_help[] =
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
    "\n"
    "options:\n"
    "  -o, --output OUT.svg  the SVG file (required)\n"
    "  -b, --base BASE       draw the change from BASE (same sample type needed)\n"
    "  -i, --sample-index TYPE\n"
    "                        the value drawn (default: FILE's default sample type,\n"
    "                        else its last one)\n"
    "  -t, --title TEXT      the title (default: \"Flame graph: TYPE\")\n"
    "  -w, --width PX        image width (default 1200)\n"
    "  --focus REGEX         only the stacks through a function matching REGEX\n"
    "                        (POSIX extended, unanchored)\n"
    "  --hide REGEX          leave out the frames of functions matching REGEX\n"
    "                        (wrappers such as 'xmalloc|g_malloc'); their values go\n"
    "                        to their callers\n"
    "  -h, --help            this text\n";

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

int cmd_flame(int argc, char **argv) {
  static const struct option longopts[] = {
      {"output", required_argument, NULL, 'o'},
      {"base", required_argument, NULL, 'b'},
      {"sample-index", required_argument, NULL, 'i'},
      {"title", required_argument, NULL, 't'},
      {"width", required_argument, NULL, 'w'},
      CLI_FILTER_OPTIONS,
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *out = NULL, *base_file = NULL, *index_name = NULL, *title_arg = NULL;
  long width = 1200;
  static cli_filter filter; /* static: reachable until exit on early returns */
  int c;
  while ((c = cli_getopt("flame", argc, argv, "o:b:i:t:w:h", longopts)) != -1) {
    switch (c) {
      case 'o': out = optarg; break;
      case 'b': base_file = optarg; break;
      case 'i': index_name = optarg; break;
      case 't': title_arg = optarg; break;
      case 'w':
        if (cli_parse_count(optarg, &width) != 0 || width < 200 || width > 100000)
          return cli_usage_error("flame", "--width wants pixels from 200 to 100000, not '%s'",
                                 optarg);
        break;
      case CLI_OPT_HIDE:
      case CLI_OPT_FOCUS:
        if (cli_filter_set(&filter, "flame", c, optarg) != 0) return CLI_EXIT_USAGE;
        break;
      case 'h': cli_help("flame", stdout); return cli_finish_stdout(CLI_EXIT_OK);
      default: return CLI_EXIT_USAGE;
    }
  }
  if (!out) return cli_usage_error("flame", "no output file (-o OUT.svg)");
  if (cli_check_output(out) != 0) return CLI_EXIT_USAGE;
  if (argc - optind != 1)
    return cli_usage_error("flame", argc == optind ? "no profile given" : "one profile at a time");
  const char *file = argv[optind];

  profile_pb *p = NULL, *bp = NULL;
  char *text = NULL, *btext = NULL, *svg = NULL;
  size_t svg_len = 0;
  tree t = {0};
  int rc = CLI_EXIT_USAGE;
  ssize_t vi, bvi;
  if (cli_load(file, &p) != 0 || (base_file && cli_load(base_file, &bp) != 0)) goto done;
  /* frames without a symbol named by object and offset, the same in both
   * profiles (frames.h), before the filters see the names */
  if (cli_name_frames((profile_pb *const[]){p, bp}, bp ? 2 : 1) != 0) goto done;
  if (cli_filter_apply(&filter, p) != 0) goto done;
  if (!(text = fold(p, file, index_name, &vi))) goto done;
  const char *type = cli_type_name(p, (size_t)vi), *unit = cli_type_unit(p, (size_t)vi);
  if (base_file) {
    if (cli_filter_apply(&filter, bp) != 0) goto done;
    if (!(btext = fold(bp, base_file, type, &bvi))) goto done;
    if (strcmp(cli_type_unit(bp, (size_t)bvi), unit) != 0) {
      cli_error("%s: %s is in %s, not %s as in %s", base_file, type, cli_type_unit(bp, (size_t)bvi),
                unit, file);
      goto done;
    }
  }
  t.cap = 1024;
  t.v = calloc(t.cap, sizeof *t.v);
  if (!t.v) goto oom;
  t.v[0].name = "all";
  t.n = 1;
  size_t size = perftools__profiles__profile__get_packed_size(p) +
                (bp ? perftools__profiles__profile__get_packed_size(bp) : 0);
  t.max_nodes = FLAME_NODES_BASE + size / FLAME_BYTES_PER_NODE;
  flame_tree_add_folded(&t, text, false);
  if (btext) flame_tree_add_folded(&t, btext, true);
  if (t.too_big) {
    cli_error(
        "%s: the flame graph would need more than %zu boxes (%zu + one per %d bytes of "
        "profile)",
        file, t.max_nodes, FLAME_NODES_BASE, FLAME_BYTES_PER_NODE);
    goto done;
  }
  if (t.oom || flame_tree_sort_children(&t) != 0) goto oom;
  if (t.v[0].value <= 0) {
    /* widths are FILE's values: with none, nothing to draw */
    cli_error("%s: nothing to draw: %s", file,
              cli_filter_active(&filter) ? "no sample the filters keep has a positive value"
              : p->n_sample == 0         ? "the profile has no samples"
                                         : "no sample has a positive value");
    goto done;
  }

  char title[256], sub[512], a[32], b[32], d[32], e[32];
  if (title_arg)
    snprintf(title, sizeof title, "%s", title_arg);
  else
    snprintf(title, sizeof title, "%s: %s", base_file ? "Differential flame graph" : "Flame graph",
             type);
  if (base_file) {
    double gone = 0; /* paths with BASE value only */
    for (size_t i = 1; i < t.n; i++)
      if (t.v[i].value == 0 && t.v[i].base > 0 && t.v[t.v[i].parent].value > 0)
        gone += (double)t.v[i].base;
    snprintf(sub, sizeof sub, "%s vs %s: %s -> %s (%s); in BASE only: %s", file, base_file,
             cli_human(a, (double)t.v[0].base, unit, false),
             cli_human(b, (double)t.v[0].value, unit, false),
             cli_human(d, (double)t.v[0].value - (double)t.v[0].base, unit, true),
             cli_human(e, gone, unit, false));
  } else {
    snprintf(sub, sizeof sub, "%s: %s total, %s (%s)", file,
             cli_human(a, (double)t.v[0].value, unit, false), type, unit);
  }
  if (cli_filter_active(&filter)) {
    char ftext[256];
    size_t used = strlen(sub);
    snprintf(sub + used, sizeof sub - used, "; %s", cli_filter_text(&filter, ftext, sizeof ftext));
  }
  if (t.cut_stacks) {
    size_t used = strlen(sub);
    snprintf(sub + used, sizeof sub - used, "; %zu stack%s cut at %d frames (deepest: %zu)",
             t.cut_stacks, t.cut_stacks == 1 ? "" : "s", FLAME_MAX_DEPTH, t.deepest);
  }
  FILE *mem = open_memstream(&svg, &svg_len);
  if (!mem) goto oom;
  int wrc = flame_write_svg(mem, &t, title, sub, unit, base_file != NULL, (double)width);
  if (fclose(mem) != 0 || wrc != 0) goto oom;
  rc = cli_write_text(out, svg, svg_len) == 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
  svg = NULL; /* cli_write_text frees it */
  if (rc == CLI_EXIT_OK) {
    printf("wrote %s\n", out);
    rc = cli_finish_stdout(rc);
  }
  goto done;
oom:
  cli_error("%s: out of memory", out);
done:
  cli_filter_free(&filter);
  free(svg);
  flame_tree_free(&t);
  free(text);
  free(btext);
  profile_free(p);
  profile_free(bp);
  return rc;
}
