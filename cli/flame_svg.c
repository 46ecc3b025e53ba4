/* flame_svg.c: the SVG of `allocprof flame` (flame.h): the tree drawn
 * root at the bottom, widths proportional to the value, one <g> per frame
 * with a <title>, a <rect> and a clipped label, and the inline script for
 * zoom and search. Overview: cmd_flame.c. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "flame.h"

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

/* The script that makes the SVG interactive, as flamegraph.pl's do: click a
 * box to zoom to it, "Reset zoom" (or the bottom box, or Escape) to go
 * back, "Search" (or Ctrl-F) to highlight the functions matching a regular
 * expression with their share of the total. Inline, nothing fetched: the
 * file stays self-contained. It reads the layout back from the boxes'
 * rects and titles (first line: the name), so the SVG without the script
 * is the same picture. flame_write_svg defines LEFT, WIDTH, ROOT_Y, CHAR_W and
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
    "    for (var i = 0; i < boxes.length; i++) place(boxes[i], boxes[i].x, boxes[i].w, true, "
    "false);\n"
    "    zoomed = null;\n"
    "    resetBtn.style.display = \"none\";\n"
    "  }\n"
    "\n"
    "  /* Highlights the boxes whose function matches re and shows their share\n"
    "   * of the whole: the union of their spans, so nested matches count once. */\n"
    "  function search(re) {\n"
    "    var rx;\n"
    "    try { rx = new RegExp(re); } catch (e) { matched.textContent = \"bad expression: \" + re; "
    "return; }\n"
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
    "    matched.textContent = \"Matched: \" + (100 * total / WIDTH).toFixed(1) + \"% (\" + re + "
    "\")\";\n"
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
    "    var re = window.prompt(\"Highlight functions matching (regular expression):\", searching "
    "|| \"\");\n"
    "    if (re) search(re); else if (re !== null) clearSearch();\n"
    "  }\n"
    "\n"
    "  var gs = document.getElementsByTagName(\"g\");\n"
    "  for (var i = 0; i < gs.length; i++) {\n"
    "    var g = gs[i];\n"
    "    if (!/(^| )f( |$)/.test(g.getAttribute(\"class\") || \"\")) continue;\n"
    "    var r = g.getElementsByTagName(\"rect\")[0], title = "
    "g.getElementsByTagName(\"title\")[0];\n"
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
    "  searchBtn.addEventListener(\"click\", function () { if (searching) clearSearch(); else "
    "askSearch(); });\n"
    "  document.addEventListener(\"keydown\", function (e) {\n"
    "    if ((e.ctrlKey || e.metaKey) && (e.key === \"f\" || e.key === \"F\")) { "
    "e.preventDefault(); askSearch(); }\n"
    "    else if (e.key === \"Escape\") { reset(); clearSearch(); }\n"
    "  });\n"
    "  /* for tests and the console */\n"
    "  window.flame = {zoom: function (name) {\n"
    "    for (var i = 0; i < boxes.length; i++) if (boxes[i].name === name) { zoom(boxes[i]); "
    "return true; }\n"
    "    return false;\n"
    "  }, reset: reset, search: search, clearSearch: clearSearch};\n"
    "})();\n";

int flame_write_svg(FILE *f, const tree *t, const char *title, const char *subtitle,
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
  fprintf(f,
          "<style>\n"
          "text { font-family: monospace; font-size: 11px; fill: #000; }\n"
          "g.f text { pointer-events: none; }\n"
          "g.f:hover rect { stroke: #000; stroke-width: 0.8; }\n"
          "g.f { cursor: pointer; }\n"
          ".btn { font-size: 12px; font-family: sans-serif; fill: #0645ad; cursor: pointer; }\n"
          ".title { font-size: 16px; font-family: sans-serif; }\n"
          ".sub { font-size: 12px; font-family: sans-serif; fill: #444; }\n"
          "%s"
          "</style>\n",
          t->cut_stacks ? "g.cut text { fill: #fff; font-weight: bold; }\n" : "");
  fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#fdfdf8\"/>\n", image_w,
          h);
  fprintf(f, "<text class=\"title\" x=\"%.1f\" y=\"22\" text-anchor=\"middle\">", image_w / 2);
  cli_xml_text(f, title);
  fprintf(f, "</text>\n<text class=\"sub\" x=\"%.1f\" y=\"40\" text-anchor=\"middle\">",
          image_w / 2);
  cli_xml_text(f, subtitle);
  fprintf(f, "</text>\n");
  fprintf(f,
          "<text id=\"reset\" class=\"btn\" x=\"10\" y=\"22\" style=\"display:none\">"
          "Reset zoom</text>\n");
  fprintf(f,
          "<text id=\"search\" class=\"btn\" x=\"%.1f\" y=\"22\" text-anchor=\"end\">"
          "Search</text>\n",
          image_w - 10);
  fprintf(f,
          "<text id=\"matched\" class=\"sub\" x=\"%.1f\" y=\"%.1f\" "
          "text-anchor=\"end\"></text>\n",
          image_w - 10, h - 7);
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
