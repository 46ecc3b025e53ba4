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
 * ("deeper frames cut"), named in the subtitle. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "common.h"
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

/* ---- the tree of stacks ---- */

/* Frames drawn above the root at most; deeper ones are summed into one
 * marker box per path (8192 pixels of height at 16 per frame). */
#define FLAME_MAX_DEPTH 512
#define CUT_NAME "[deeper frames cut]"

typedef struct node {
  const char *name;        /* NUL-terminated inside the folded text (or static) */
  int64_t value, base;     /* cumulative: FILE's and BASE's */
  uint32_t parent, child, next; /* indices; 0 = none (node 0 is the root) */
  uint32_t depth;
  bool cut;                /* the marker for frames beyond FLAME_MAX_DEPTH */
} node;

typedef struct tree {
  node *v;
  size_t n, cap;
  uint32_t *slots; /* (parent, name) -> node */
  size_t nslots;
  uint32_t max_depth;
  size_t deepest;  /* frames in the deepest stack seen, cut or not */
  size_t cut_stacks; /* stacks that were cut */
  size_t max_nodes;  /* refused beyond: FLAME_NODES_BASE + size / FLAME_BYTES_PER_NODE */
  int oom, too_big;
} tree;

/* Nodes allowed: a node costs about 56 bytes (with its hash slot), so this
 * keeps the tree within 14 MiB + 28 bytes per byte of the profiles. A real
 * profile spends 2 or more bytes per frame (location ids past 127 take two),
 * and its stacks share their roots, so it stays well below. */
#define FLAME_NODES_BASE ((size_t)1 << 18)
#define FLAME_BYTES_PER_NODE 2

static uint64_t key_hash(uint32_t parent, const char *s, size_t len) {
  uint64_t h = 1469598103934665603ull ^ cli_hash_seed() ^ parent;
  for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return cli_hash_finish(h);
}

static int tree_rehash(tree *t) {
  size_t n = t->nslots ? t->nslots * 2 : 1024;
  uint32_t *s = calloc(n, sizeof *s);
  if (!s) return -1;
  for (size_t i = 1; i < t->n; i++) {
    size_t j = key_hash(t->v[i].parent, t->v[i].name, strlen(t->v[i].name)) & (n - 1);
    while (s[j]) j = (j + 1) & (n - 1);
    s[j] = (uint32_t)i;
  }
  free(t->slots);
  t->slots = s;
  t->nslots = n;
  return 0;
}

/* The child of parent called name[0..len), added when create is set (else 0
 * when there is none). */
static uint32_t tree_child(tree *t, uint32_t parent, const char *name, size_t len, bool create) {
  if ((t->n + 1) * 2 > t->nslots && tree_rehash(t) != 0) goto oom;
  size_t j = key_hash(parent, name, len) & (t->nslots - 1);
  for (; t->slots[j]; j = (j + 1) & (t->nslots - 1)) {
    const node *c = &t->v[t->slots[j]];
    if (c->parent == parent && strncmp(c->name, name, len) == 0 && c->name[len] == 0)
      return t->slots[j];
  }
  if (!create) return 0;
  if (t->n >= t->max_nodes) {
    t->too_big = 1;
    t->oom = 1;
    return 0;
  }
  if (t->n == t->cap) {
    size_t ncap = t->cap * 2;
    node *nv = realloc(t->v, ncap * sizeof *nv);
    if (!nv) goto oom;
    t->v = nv;
    t->cap = ncap;
  }
  uint32_t id = (uint32_t)t->n++;
  node *p = &t->v[parent];
  t->v[id] = (node){.name = name, .parent = parent, .next = p->child, .depth = p->depth + 1};
  p->child = id;
  if (t->v[id].depth > t->max_depth) t->max_depth = t->v[id].depth;
  t->slots[j] = id;
  return id;
oom:
  t->oom = 1;
  return 0;
}

/* Adds the folded text's stacks: values into FILE's (is_base false) or
 * BASE's column. Stacks with a value <= 0 are skipped (no width). Frames past
 * FLAME_MAX_DEPTH go into one CUT_NAME child of the last frame kept. The
 * text is cut in place (each ';' and the space before the value become NUL)
 * so that the nodes name their frames inside it: it must outlive the tree. */
static void tree_add_folded(tree *t, char *text, bool is_base) {
  char *line = text;
  while (*line && !t->oom) {
    char *eol = strchr(line, '\n');
    if (!eol) eol = line + strlen(line);
    char *sp = eol;
    while (sp > line && sp[-1] != ' ') sp--;
    int64_t v = sp > line ? strtoll(sp, NULL, 10) : 0;
    if (sp > line && v > 0) {
      char *end = sp - 1; /* the stack is line[0..end) */
      *end = 0;
      uint32_t at = 0;
      size_t frames = 0;
      t->v[0].value += is_base ? 0 : v;
      t->v[0].base += is_base ? v : 0;
      for (char *f = line; f < end && !t->oom;) {
        char *semi = memchr(f, ';', (size_t)(end - f));
        if (!semi) semi = end;
        *semi = 0;
        frames++;
        if (t->v[at].depth + 1 < FLAME_MAX_DEPTH || (semi == end && t->v[at].depth + 1 == FLAME_MAX_DEPTH)) {
          at = tree_child(t, at, f, (size_t)(semi - f), true);
        } else if (!t->v[at].cut) {
          /* the marker; the rest of this stack only counts */
          at = tree_child(t, at, CUT_NAME, strlen(CUT_NAME), true);
          if (!t->oom) t->v[at].cut = true;
          t->cut_stacks++;
        } else {
          f = semi + 1;
          continue;
        }
        if (t->oom) break;
        if (is_base)
          t->v[at].base += v;
        else
          t->v[at].value += v;
        f = semi + 1;
      }
      if (frames > t->deepest) t->deepest = frames;
    }
    line = *eol ? eol + 1 : eol;
  }
}

static void tree_free(tree *t) {
  free(t->v);
  free(t->slots);
}

/* ---- drawing ---- */

typedef struct canvas {
  FILE *f;
  const tree *t;
  const char *unit;
  bool diff;
  double scale;       /* pixels per unit of value */
  double left, width; /* of the frame area */
  double bottom;      /* y of the root's bottom edge */
} canvas;

#define FRAME_H 16.0
#define CHAR_W 6.6 /* of 11px monospace */

static uint32_t name_hash(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

static void fill(const canvas *c, const node *n, char *buf) {
  if (!c->diff) {
    /* flamegraph.pl's warm palette, fixed per name */
    uint32_t h = name_hash(n->name);
    snprintf(buf, 32, "rgb(%u,%u,%u)", 205 + h % 50, (h >> 8) % 230, (h >> 16) % 55);
    return;
  }
  /* The change relative to the box's larger value: a function that doubled
   * is as red as a new one, whatever its size; the width shows the size. */
  double d = (double)n->value - (double)n->base;
  double big = n->value > n->base ? (double)n->value : (double)n->base;
  double s = big > 0 ? fabs(d) / big : 0;
  int fade = (int)lround(210 * (1 - sqrt(s))); /* sqrt: small changes still show */
  if (d > 0)
    snprintf(buf, 32, "rgb(255,%d,%d)", fade + 40 > 255 ? 255 : fade + 40, fade);
  else if (d < 0)
    snprintf(buf, 32, "rgb(%d,%d,255)", fade, fade + 40 > 255 ? 255 : fade + 40);
  else
    snprintf(buf, 32, "rgb(235,235,235)");
}

/* One frame's box at x (its children are drawn by the caller). */
static void draw_one(const canvas *c, const node *n, double x, double w) {
  double y = c->bottom - (n->depth + 1) * FRAME_H;
  const node *root = &c->t->v[0];
  char a[32], b[32], d[32], col[32];
  fprintf(c->f, n->cut ? "<g class=\"f cut\"><title>" : "<g class=\"f\"><title>");
  if (n->cut)
    fprintf(c->f, "stack cut: frames deeper than %d not drawn (deepest stack: %zu frames)",
            FLAME_MAX_DEPTH, c->t->deepest);
  else
    cli_xml_text(c->f, n->name);
  if (c->diff) {
    double delta = (double)n->value - (double)n->base;
    fprintf(c->f, "\n%s, was %s: %s", cli_human(a, (double)n->value, c->unit, false),
            cli_human(b, (double)n->base, c->unit, false), cli_human(d, delta, c->unit, true));
    if (n->base) fprintf(c->f, " (%+.2f%%)", 100 * delta / (double)n->base);
  } else {
    fprintf(c->f, "\n%s (%s)", cli_human(a, (double)n->value, c->unit, false),
            cli_percent(b, (double)n->value, (double)root->value));
  }
  if (n->cut)
    snprintf(col, sizeof col, "rgb(40,40,40)");
  else
    fill(c, n, col);
  fprintf(c->f, "</title><rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"%s\"/>",
          x, y, w, FRAME_H - 1, col);
  size_t fit = w > 8 ? (size_t)((w - 6) / CHAR_W) : 0;
  size_t len = strlen(n->name);
  if (fit >= 3) {
    fprintf(c->f, "<text x=\"%.2f\" y=\"%.1f\">", x + 3, y + FRAME_H - 4.5);
    if (len <= fit) {
      cli_xml_text(c->f, n->name);
    } else {
      /* cut on a character boundary, then "..": the title has it all */
      char *cut = strndup(n->name, fit - 2);
      if (cut) {
        size_t k = strlen(cut);
        while (k > 0 && ((unsigned char)cut[k - 1] & 0xc0) == 0x80) k--;
        if (k > 0 && (unsigned char)cut[k - 1] >= 0xc0) k--;
        cut[k] = 0;
        cli_xml_text(c->f, cut);
        free(cut);
      }
      fputs("..", c->f);
    }
    fputs("</text>", c->f);
  }
  fputs("</g>\n", c->f);
}

/* Draws the tree depth first, children left to right, with an explicit
 * stack: as deep as the tree is, the C stack is not used. A box too thin
 * to see (under 0.3 px) is left out with everything above it. Returns -1
 * when out of memory. */
static int draw(const canvas *c) {
  typedef struct todo {
    uint32_t id;
    double x;
  } todo;
  todo *stack = malloc((c->t->n + 1) * sizeof *stack);
  uint32_t *kids = malloc((c->t->n + 1) * sizeof *kids);
  if (!stack || !kids) {
    free(stack);
    free(kids);
    return -1;
  }
  size_t top = 0;
  stack[top++] = (todo){0, c->left};
  while (top > 0) {
    todo at = stack[--top];
    const node *n = &c->t->v[at.id];
    double w = (double)n->value * c->scale;
    if (w < 0.3) continue;
    draw_one(c, n, at.x, w);
    /* Children in their (sorted) order, pushed last first. */
    size_t nk = 0;
    for (uint32_t k = n->child; k; k = c->t->v[k].next) kids[nk++] = k;
    double cx = at.x;
    for (size_t i = 0; i < nk; i++) cx += (double)c->t->v[kids[i]].value * c->scale;
    for (size_t i = nk; i-- > 0;) {
      cx -= (double)c->t->v[kids[i]].value * c->scale;
      stack[top++] = (todo){kids[i], cx};
    }
  }
  free(stack);
  free(kids);
  return 0;
}

static const tree *sort_tree;

static int by_parent_name(const void *a, const void *b) {
  const node *x = &sort_tree->v[*(const uint32_t *)a], *y = &sort_tree->v[*(const uint32_t *)b];
  if (x->parent != y->parent) return x->parent < y->parent ? -1 : 1;
  return strcmp(x->name, y->name);
}

/* Relinks every node's children in name order, so the same profile draws
 * the same: one sort of all nodes by (parent, name), O(n log n). */
static int tree_sort_children(tree *t) {
  if (t->n < 2) return 0;
  uint32_t *order = malloc((t->n - 1) * sizeof *order);
  if (!order) return -1;
  for (size_t i = 1; i < t->n; i++) order[i - 1] = (uint32_t)i;
  sort_tree = t;
  qsort(order, t->n - 1, sizeof *order, by_parent_name);
  for (size_t i = 0; i < t->n; i++) t->v[i].child = 0;
  for (size_t i = t->n - 1; i-- > 0;) { /* last first: each becomes the head */
    node *nd = &t->v[order[i]];
    nd->next = t->v[nd->parent].child;
    t->v[nd->parent].child = order[i];
  }
  free(order);
  return 0;
}

/* The script that makes the SVG interactive, as flamegraph.pl's do: click a
 * box to zoom to it, "Reset zoom" (or the bottom box, or Escape) to go
 * back, "Search" (or Ctrl-F) to highlight the functions matching a regular
 * expression with their share of the total. Inline, nothing fetched: the
 * file stays self-contained. It reads the layout back from the boxes'
 * rects and titles (first line: the name), so the SVG without the script
 * is the same picture. write_svg defines LEFT, WIDTH, ROOT_Y, CHAR_W and
 * TEXT_DY before it. */
static const char flame_js[] =
    "(function () {\n"
    "  \"use strict\";\n"
    "  var NS = \"http://www.w3.org/2000/svg\";\n"
    "  var boxes = [], zoomed = null, searching = null;\n"
    "  var resetBtn = document.getElementById(\"reset\");\n"
    "  var searchBtn = document.getElementById(\"search\");\n"
    "  var matched = document.getElementById(\"matched\");\n"
    "\n"
    "  /* The label of a box w pixels wide: the name, cut with \"..\" to fit. */\n"
    "  function label(b, x, w) {\n"
    "    var fit = w > 8 ? Math.floor((w - 6) / CHAR_W) : 0;\n"
    "    b.t.setAttribute(\"x\", (x + 3).toFixed(2));\n"
    "    if (fit < 3) b.t.textContent = \"\";\n"
    "    else if (b.name.length <= fit) b.t.textContent = b.name;\n"
    "    else b.t.textContent = b.name.substring(0, fit - 2) + \"..\";\n"
    "  }\n"
    "\n"
    "  function place(b, x, w, shown, faded) {\n"
    "    b.g.style.display = shown ? \"\" : \"none\";\n"
    "    if (!shown) return;\n"
    "    b.r.setAttribute(\"x\", x.toFixed(2));\n"
    "    b.r.setAttribute(\"width\", w.toFixed(2));\n"
    "    b.g.style.opacity = faded ? \"0.55\" : \"\";\n"
    "    label(b, x, w);\n"
    "  }\n"
    "\n"
    "  /* Zoom to box z: it and everything above it within its span fill the\n"
    "   * width; its callers (below it) stay, full width and faded; the rest\n"
    "   * goes. The bottom box (\"all\") goes back to the whole graph. */\n"
    "  function zoom(z) {\n"
    "    if (z.y === ROOT_Y) { reset(); return; }\n"
    "    var scale = WIDTH / z.w, eps = 1e-3;\n"
    "    for (var i = 0; i < boxes.length; i++) {\n"
    "      var b = boxes[i];\n"
    "      if (b.y > z.y && b.x <= z.x + eps && b.x + b.w >= z.x + z.w - eps)\n"
    "        place(b, LEFT, WIDTH, true, true);\n"
    "      else if (b.y <= z.y && b.x >= z.x - eps && b.x + b.w <= z.x + z.w + eps)\n"
    "        place(b, LEFT + (b.x - z.x) * scale, b.w * scale, true, false);\n"
    "      else\n"
    "        place(b, 0, 0, false, false);\n"
    "    }\n"
    "    zoomed = z;\n"
    "    resetBtn.style.display = \"\";\n"
    "  }\n"
    "\n"
    "  function reset() {\n"
    "    for (var i = 0; i < boxes.length; i++) place(boxes[i], boxes[i].x, boxes[i].w, true, false);\n"
    "    zoomed = null;\n"
    "    resetBtn.style.display = \"none\";\n"
    "  }\n"
    "\n"
    "  /* Highlights the boxes whose function matches re and shows their share\n"
    "   * of the whole: the union of their spans, so nested matches count once. */\n"
    "  function search(re) {\n"
    "    var rx;\n"
    "    try { rx = new RegExp(re); } catch (e) { matched.textContent = \"bad expression: \" + re; return; }\n"
    "    var spans = [];\n"
    "    for (var i = 0; i < boxes.length; i++) {\n"
    "      var b = boxes[i], hit = rx.test(b.name);\n"
    "      b.r.setAttribute(\"fill\", hit ? \"rgb(230,0,230)\" : b.fill);\n"
    "      if (hit) spans.push([b.x, b.x + b.w]);\n"
    "    }\n"
    "    spans.sort(function (a, c) { return a[0] - c[0]; });\n"
    "    var total = 0, end = -Infinity;\n"
    "    for (var k = 0; k < spans.length; k++) {\n"
    "      var lo = Math.max(spans[k][0], end);\n"
    "      if (spans[k][1] > lo) total += spans[k][1] - lo;\n"
    "      if (spans[k][1] > end) end = spans[k][1];\n"
    "    }\n"
    "    searching = re;\n"
    "    searchBtn.textContent = \"Clear search\";\n"
    "    matched.textContent = \"Matched: \" + (100 * total / WIDTH).toFixed(1) + \"% (\" + re + \")\";\n"
    "  }\n"
    "\n"
    "  function clearSearch() {\n"
    "    for (var i = 0; i < boxes.length; i++) boxes[i].r.setAttribute(\"fill\", boxes[i].fill);\n"
    "    searching = null;\n"
    "    searchBtn.textContent = \"Search\";\n"
    "    matched.textContent = \"\";\n"
    "  }\n"
    "\n"
    "  function askSearch() {\n"
    "    var re = window.prompt(\"Highlight functions matching (regular expression):\", searching || \"\");\n"
    "    if (re) search(re); else if (re !== null) clearSearch();\n"
    "  }\n"
    "\n"
    "  var gs = document.getElementsByTagName(\"g\");\n"
    "  for (var i = 0; i < gs.length; i++) {\n"
    "    var g = gs[i];\n"
    "    if (!/(^| )f( |$)/.test(g.getAttribute(\"class\") || \"\")) continue;\n"
    "    var r = g.getElementsByTagName(\"rect\")[0], title = g.getElementsByTagName(\"title\")[0];\n"
    "    var t = g.getElementsByTagName(\"text\")[0];\n"
    "    if (!t) {\n"
    "      t = document.createElementNS(NS, \"text\");\n"
    "      t.setAttribute(\"y\", (Number(r.getAttribute(\"y\")) + TEXT_DY).toFixed(1));\n"
    "      g.appendChild(t);\n"
    "    }\n"
    "    var b = {g: g, r: r, t: t, name: title.textContent.split(\"\\n\")[0],\n"
    "             x: Number(r.getAttribute(\"x\")), w: Number(r.getAttribute(\"width\")),\n"
    "             y: Number(r.getAttribute(\"y\")), fill: r.getAttribute(\"fill\")};\n"
    "    boxes.push(b);\n"
    "    g.addEventListener(\"click\", (function (b) { return function () { zoom(b); }; })(b));\n"
    "  }\n"
    "  resetBtn.addEventListener(\"click\", reset);\n"
    "  searchBtn.addEventListener(\"click\", function () { if (searching) clearSearch(); else askSearch(); });\n"
    "  document.addEventListener(\"keydown\", function (e) {\n"
    "    if ((e.ctrlKey || e.metaKey) && (e.key === \"f\" || e.key === \"F\")) { e.preventDefault(); askSearch(); }\n"
    "    else if (e.key === \"Escape\") { reset(); clearSearch(); }\n"
    "  });\n"
    "  /* for tests and the console */\n"
    "  window.flame = {zoom: function (name) {\n"
    "    for (var i = 0; i < boxes.length; i++) if (boxes[i].name === name) { zoom(boxes[i]); return true; }\n"
    "    return false;\n"
    "  }, reset: reset, search: search, clearSearch: clearSearch};\n"
    "})();\n"
    ;

static int write_svg(FILE *f, const tree *t, const char *title, const char *subtitle,
                      const char *unit, bool diff, double image_w) {
  canvas c = {.f = f, .t = t, .unit = unit, .diff = diff, .left = 10, .width = image_w - 20};
  double top = 56, foot = 24;
  double h = top + (t->max_depth + 1) * FRAME_H + foot;
  c.bottom = h - foot;
  c.scale = t->v[0].value > 0 ? c.width / (double)t->v[0].value : 0;
  fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n");
  fprintf(f,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" "
          "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\">\n",
          image_w, h, image_w, h);
  fprintf(f, "<style>\n"
             "text { font-family: monospace; font-size: 11px; fill: #000; }\n"
             "g.f text { pointer-events: none; }\n"
             "g.f:hover rect { stroke: #000; stroke-width: 0.8; }\n"
             "g.f { cursor: pointer; }\n"
             ".btn { font-size: 12px; font-family: sans-serif; fill: #0645ad; cursor: pointer; }\n"
             ".title { font-size: 16px; font-family: sans-serif; }\n"
             ".sub { font-size: 12px; font-family: sans-serif; fill: #444; }\n"
             "%s"
             "</style>\n", t->cut_stacks ? "g.cut text { fill: #fff; font-weight: bold; }\n" : "");
  fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#fdfdf8\"/>\n", image_w,
          h);
  fprintf(f, "<text class=\"title\" x=\"%.1f\" y=\"22\" text-anchor=\"middle\">", image_w / 2);
  cli_xml_text(f, title);
  fprintf(f, "</text>\n<text class=\"sub\" x=\"%.1f\" y=\"40\" text-anchor=\"middle\">",
          image_w / 2);
  cli_xml_text(f, subtitle);
  fprintf(f, "</text>\n");
  fprintf(f, "<text id=\"reset\" class=\"btn\" x=\"10\" y=\"22\" style=\"display:none\">"
             "Reset zoom</text>\n");
  fprintf(f, "<text id=\"search\" class=\"btn\" x=\"%.1f\" y=\"22\" text-anchor=\"end\">"
             "Search</text>\n", image_w - 10);
  fprintf(f, "<text id=\"matched\" class=\"sub\" x=\"%.1f\" y=\"%.1f\" "
             "text-anchor=\"end\"></text>\n", image_w - 10, h - 7);
  if (t->v[0].value > 0) {
    if (draw(&c) != 0) return -1;
  } else {
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">no samples</text>\n",
            image_w / 2, top + 12);
  }
  fprintf(f, "<text class=\"sub\" x=\"10\" y=\"%.1f\">%s</text>\n", h - 7,
          diff ? "hover a box for its values, click to zoom; width: the new profile; red: grew, "
                 "blue: shrank"
               : "hover a box for its name and value, click to zoom; width: share of the total");
  fprintf(f, "<script type=\"text/ecmascript\"><![CDATA[\n");
  fprintf(f, "var LEFT = %.2f, WIDTH = %.2f, ROOT_Y = %.1f, CHAR_W = %.1f, TEXT_DY = %.1f;\n",
          c.left, c.width, c.bottom - FRAME_H, CHAR_W, FRAME_H - 4.5);
  fputs(flame_js, f);
  fprintf(f, "]]></script>\n</svg>\n");
  return 0;
}

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
      cli_error("%s: %s is in %s, not %s as in %s", base_file, type,
                cli_type_unit(bp, (size_t)bvi), unit, file);
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
  tree_add_folded(&t, text, false);
  if (btext) tree_add_folded(&t, btext, true);
  if (t.too_big) {
    cli_error("%s: the flame graph would need more than %zu boxes (%zu + one per %d bytes of "
              "profile)",
              file, t.max_nodes, FLAME_NODES_BASE, FLAME_BYTES_PER_NODE);
    goto done;
  }
  if (t.oom || tree_sort_children(&t) != 0) goto oom;

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
  int wrc = write_svg(mem, &t, title, sub, unit, base_file != NULL, (double)width);
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
  tree_free(&t);
  free(text);
  free(btext);
  profile_free(p);
  profile_free(bp);
  return rc;
}
