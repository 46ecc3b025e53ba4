/* timeline_svg.c: the SVG of `allocprof timeline` (timeline.h): the bands
 * stacked, largest at the bottom, over a time axis in seconds and a bytes
 * axis in binary units, the peak marked, a legend whose entries hold each
 * stack's frames, and one hover strip per snapshot whose <title> has its
 * exact values. Plain SVG with no script, in the flame graphs' style
 * (flame_svg.c: fonts, background, warm colours). Overview:
 * cmd_timeline.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "timeline.h"

#define IMAGE_H 640.0
#define PLOT_TOP 70.0
#define PLOT_LEFT 78.0
#define LEGEND_W 300.0 /* right of the plot */
#define PLOT_FOOT 64.0 /* below the plot: ticks, axis title, the note */
#define CHAR_W 6.6     /* of 11px monospace */

typedef struct plot {
  FILE *f;
  const tl_chart *c;
  double left, top, width, height;
  double tmax;   /* the time axis: 0 .. tmax seconds */
  double ymax;   /* the bytes axis: 0 .. ymax */
  double *x;     /* each snapshot's x */
  double *lower; /* per snapshot: the top of the bands drawn so far */
} plot;

/* Warm colours like the flame graphs', neighbours far apart so that
 * stacked bands stay distinct; "other" is grey. */
static const char *const palette[] = {
    "rgb(226,88,52)",   "rgb(248,186,76)", "rgb(196,58,44)",  "rgb(242,140,62)",
    "rgb(232,204,110)", "rgb(210,112,84)", "rgb(250,160,96)", "rgb(178,78,40)",
    "rgb(236,124,110)", "rgb(222,170,52)", "rgb(204,84,96)",  "rgb(246,212,150)",
};
#define NPALETTE (sizeof palette / sizeof palette[0])
#define OTHER_FILL "rgb(200,200,192)"

static const char *band_fill(const tl_chart *c, size_t b) {
  return c->band[b].stack == SIZE_MAX ? OTHER_FILL : palette[b % NPALETTE];
}

/* ---- axes ---- */

/* A step of 1, 2 or 5 times a power of ten that cuts range into about n. */
static double nice_step(double range, int n) {
  double raw = range / n, p = pow(10, floor(log10(raw)));
  double m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/* The binary unit for values up to v: its size and name. */
static double byte_unit(double v, const char **name) {
  static const char *const names[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double u = 1;
  int i = 0;
  while (i < 5 && v >= 1024 * u) {
    u *= 1024;
    i++;
  }
  *name = names[i];
  return u;
}

static double ypos(const plot *p, double v) {
  return p->top + p->height - (v > 0 ? v : 0) / p->ymax * p->height;
}

/* The bytes axis: grid lines and labels; sets p->ymax a little above the
 * highest stack (room for the peak's dot), not up to the next tick, which
 * could waste a fifth of the height. */
static void bytes_axis(plot *p, double vmax) {
  const char *uname;
  if (vmax <= 0) vmax = 1024; /* nothing in use: an axis to 1 KiB */
  p->ymax = vmax * 1.06;
  double unit = byte_unit(p->ymax, &uname);
  double step = nice_step(p->ymax / unit, 6) * unit;
  if (step < 1) step = 1; /* no fractions of a byte */
  for (double v = 0; v <= p->ymax; v += step) {
    double y = ypos(p, v);
    fprintf(p->f,
            "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
            "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g %s</text>\n",
            p->left, y, p->left + p->width, y, p->left - 6, y + 4, v / unit, uname);
  }
  fprintf(p->f,
          "<text class=\"axis\" transform=\"translate(%.1f,%.1f) rotate(-90)\" "
          "text-anchor=\"middle\">in use</text>\n",
          16.0, p->top + p->height / 2);
}

/* The time axis: ticks and labels in seconds (milliseconds under 1 s). */
static void time_axis(const plot *p) {
  double y = p->top + p->height;
  bool ms = p->tmax < 1;
  double scale = ms ? 1000 : 1, span = p->tmax * scale;
  double step = nice_step(span > 0 ? span : 1, 8);
  for (double t = 0; t <= span * (1 + 1e-9) + (span == 0); t += step) {
    double x = p->left + (span > 0 ? t / span : 0) * p->width;
    fprintf(p->f,
            "<line class=\"axisline\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
            "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g %s</text>\n",
            x, y, x, y + 5, x, y + 18, t, ms ? "ms" : "s");
    if (span == 0) break;
  }
  fprintf(p->f,
          "<line class=\"axisline\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
          "<line class=\"axisline\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
          p->left, y, p->left + p->width, y, p->left, p->top, p->left, y);
  fprintf(p->f,
          "<text class=\"axis\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">time since the "
          "first snapshot</text>\n",
          p->left + p->width / 2, y + 36);
}

/* ---- bands, peak, hover ---- */

/* Band b's area over the bands below it (p->lower, raised after). */
static void draw_band(plot *p, size_t b) {
  const tl_band *band = &p->c->band[b];
  size_t n = p->c->s->nsnap;
  bool one = n == 1; /* one snapshot: a flat band across the plot */
  fprintf(p->f, "<path class=\"band\" fill=\"%s\" d=\"", band_fill(p->c, b));
  for (size_t i = 0; i < n; i++) {
    double top = p->lower[i] + (band->v[i] > 0 ? (double)band->v[i] : 0);
    fprintf(p->f, "%s%.1f,%.1f", i ? " L" : "M", p->x[i], ypos(p, top));
    if (one) fprintf(p->f, " L%.1f,%.1f", p->left + p->width, ypos(p, top));
  }
  for (size_t i = n; i-- > 0;) {
    if (one) fprintf(p->f, " L%.1f,%.1f", p->left + p->width, ypos(p, p->lower[i]));
    fprintf(p->f, " L%.1f,%.1f", p->x[i], ypos(p, p->lower[i]));
    p->lower[i] += band->v[i] > 0 ? (double)band->v[i] : 0;
  }
  fprintf(p->f, " Z\"><title>");
  cli_xml_text(p->f, band->label);
  char b1[32];
  fprintf(p->f, ": at most %s</title></path>\n", cli_human(b1, (double)band->max, "bytes", false));
}

char *tl_seconds(char *buf, double t) {
  if (t != 0 && t < 1)
    snprintf(buf, 32, "%.3g ms", t * 1000);
  else
    snprintf(buf, 32, "%.3g s", t);
  return buf;
}

/* The peak: a dashed line, a dot on top of the stack and its label. */
static void draw_peak(const plot *p) {
  const series *s = p->c->s;
  size_t k = s->peak_snap;
  double x = s->nsnap == 1 ? p->left + p->width / 2 : p->x[k];
  double y = ypos(p, (double)s->peak_bytes);
  char b1[32], b2[32];
  bool right = x > p->left + p->width * 0.6; /* label on the left of the line then */
  fprintf(p->f,
          "<line class=\"peak\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
          "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#222\"/>\n",
          x, p->top - 4, x, p->top + p->height, x, y);
  fprintf(p->f,
          "<text class=\"peaklabel\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">peak %s at %s"
          "</text>\n",
          right ? x - 6 : x + 6, p->top + 8, right ? "end" : "start",
          cli_human(b1, (double)s->peak_bytes, "bytes", false), tl_seconds(b2, s->snap[k].t));
}

/* Snapshot i's exact values, as a hover title. */
static void snapshot_title(const plot *p, size_t i) {
  const series *s = p->c->s;
  const series_snap *sn = &s->snap[i];
  char b1[32], b2[32];
  fprintf(p->f, "<title>%s (snapshot %zu of %zu)\ntotal: %lld bytes (%s", tl_seconds(b1, sn->t),
          i + 1, s->nsnap, (long long)sn->bytes, cli_human(b2, (double)sn->bytes, "bytes", false));
  if (sn->var > 0) fprintf(p->f, " \u00b1 %s", cli_human(b1, sqrt(sn->var), "bytes", false));
  fprintf(p->f, ")");
  for (size_t b = 0; b < p->c->nband; b++) {
    const tl_band *band = &p->c->band[b];
    fprintf(p->f, "\n");
    cli_xml_text(p->f, band->label);
    fprintf(p->f, ": %lld", (long long)band->v[i]);
  }
  fprintf(p->f, "</title>");
}

/* One invisible strip per snapshot (between its neighbours' midpoints)
 * that shows its values on hover. */
static void hover_strips(const plot *p) {
  size_t n = p->c->s->nsnap;
  for (size_t i = 0; i < n; i++) {
    double a = i ? (p->x[i - 1] + p->x[i]) / 2 : p->left;
    double b = i + 1 < n ? (p->x[i] + p->x[i + 1]) / 2 : p->left + p->width;
    if (n == 1) a = p->left, b = p->left + p->width;
    /* a tick on the time axis where the snapshot was taken (unless they
     * would be too dense to tell apart) */
    if ((double)n <= p->width / 4)
      fprintf(p->f, "<line class=\"when\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
              p->x[i], p->top + p->height - 4, p->x[i], p->top + p->height);
    fprintf(p->f, "<rect class=\"snap\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\">", a,
            p->top, b - a > 0 ? b - a : 0, p->height);
    snapshot_title(p, i);
    fputs("</rect>\n", p->f);
  }
}

/* ---- legend ---- */

/* s cut to fit chars characters: its start and its end, ".." between
 * (names differ at both: "ns::Cache::insert (Loader::load)"), cut on
 * UTF-8 boundaries; the title has it all. */
static void clipped(FILE *f, const char *s, size_t chars) {
  size_t len = strlen(s);
  if (len <= chars) {
    cli_xml_text(f, s);
    return;
  }
  size_t head = (chars - 2) / 2, tail = len - (chars - 2 - head);
  while (head > 0 && ((unsigned char)s[head] & 0xc0) == 0x80) head--;
  while (tail < len && ((unsigned char)s[tail] & 0xc0) == 0x80) tail++;
  char *cut = strndup(s, head);
  if (!cut) return;
  cli_xml_text(f, cut);
  fputs("..", f);
  cli_xml_text(f, s + tail);
  free(cut);
}

/* The stack's frames, leaf first, for its legend entry's title. */
static void stack_frames(FILE *f, const series *s, size_t k) {
  const series_stack *st = &s->stack[k];
  size_t shown = st->nframes < 24 ? st->nframes : 24;
  for (size_t j = 0; j < shown; j++) {
    fputs("\n  ", f);
    cli_xml_text(f, series_frame_name(s, k, j));
  }
  if (shown < st->nframes) fprintf(f, "\n  ... %zu more frames", st->nframes - shown);
}

static void legend(const plot *p) {
  const tl_chart *c = p->c;
  double x = p->left + p->width + 24, y = p->top;
  char b1[32], b2[32];
  fprintf(p->f, "<text class=\"axis\" x=\"%.1f\" y=\"%.1f\">stacks, by their largest</text>\n", x,
          y + 4);
  for (size_t b = 0; b < c->nband; b++) {
    const tl_band *band = &c->band[b];
    if (band->stack == SIZE_MAX && band->max == 0) continue;
    y += 20;
    fprintf(p->f, "<g class=\"key\"><title>");
    cli_xml_text(p->f, band->label);
    fprintf(p->f, "\nat most %s, at %s", cli_human(b1, (double)band->max, "bytes", false),
            tl_seconds(b2, c->s->snap[band->max_snap].t));
    if (band->stack != SIZE_MAX)
      stack_frames(p->f, c->s, band->stack);
    else
      fprintf(p->f, "\nthe %zu stacks not drawn alone", c->others);
    fprintf(p->f,
            "</title><rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>"
            "<text x=\"%.1f\" y=\"%.1f\">",
            x, y - 6, band_fill(c, b), x + 18, y + 4);
    clipped(p->f, band->label, 28);
    fprintf(p->f, "</text><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text></g>\n",
            x + LEGEND_W - 30, y + 4, cli_human(b1, (double)band->max, "bytes", false));
  }
}

/* ---- the image ---- */

static const char style[] =
    "<style>\n"
    "text { font-family: monospace; font-size: 11px; fill: #000; }\n"
    ".title { font-size: 16px; font-family: sans-serif; }\n"
    ".sub { font-size: 12px; font-family: sans-serif; fill: #444; }\n"
    ".axis { font-size: 12px; font-family: sans-serif; fill: #333; }\n"
    ".tick { fill: #444; }\n"
    ".grid { stroke: #e2e2d8; stroke-width: 1; }\n"
    ".axisline { stroke: #888; stroke-width: 1; }\n"
    ".when { stroke: #555; stroke-width: 1; }\n"
    ".band { stroke: #fdfdf8; stroke-width: 0.7; stroke-linejoin: round; }\n"
    ".peak { stroke: #222; stroke-width: 1.2; stroke-dasharray: 5 3; }\n"
    ".peaklabel { font-size: 12px; font-family: sans-serif; font-weight: bold; fill: #222; }\n"
    ".snap { fill: #000; fill-opacity: 0; }\n"
    ".snap:hover { fill-opacity: 0.12; }\n"
    "g.key:hover text { font-weight: bold; }\n"
    "</style>\n";

/* The x of each snapshot: by time, or evenly when all share one time. */
static void place(plot *p) {
  const series *s = p->c->s;
  p->tmax = s->snap[s->nsnap - 1].t;
  for (size_t i = 0; i < s->nsnap; i++)
    p->x[i] = p->left + (p->tmax > 0    ? s->snap[i].t / p->tmax
                         : s->nsnap > 1 ? (double)i / (double)(s->nsnap - 1)
                                        : 0) *
                            p->width;
}

static void header(FILE *f, const tl_chart *c, double w, bool html) {
  if (html)
    fprintf(f,
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>allocprof timeline"
            "</title>\n<style>body { margin: 0; background: #fdfdf8; }</style></head><body>\n");
  else
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n");
  fprintf(f,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" "
          "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\">\n%s",
          w, IMAGE_H, w, IMAGE_H, style);
  fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#fdfdf8\"/>\n", w,
          IMAGE_H);
  fprintf(f, "<text class=\"title\" x=\"%.1f\" y=\"24\" text-anchor=\"middle\">", w / 2);
  cli_xml_text(f, c->title);
  fprintf(f, "</text>\n<text class=\"sub\" x=\"%.1f\" y=\"44\" text-anchor=\"middle\">", w / 2);
  cli_xml_text(f, c->subtitle);
  fprintf(f, "</text>\n");
}

void tl_write_svg(FILE *f, const tl_chart *c, double image_w, bool html) {
  const series *s = c->s;
  plot p = {.f = f,
            .c = c,
            .left = PLOT_LEFT,
            .top = PLOT_TOP,
            .width = image_w - PLOT_LEFT - LEGEND_W,
            .height = IMAGE_H - PLOT_TOP - PLOT_FOOT};
  p.x = calloc(s->nsnap, sizeof *p.x);
  p.lower = calloc(s->nsnap, sizeof *p.lower);
  header(f, c, image_w, html);
  if (!p.x || !p.lower) {
    fprintf(f, "</svg>\n");
    goto done;
  }
  place(&p);
  double vmax = 0;
  for (size_t i = 0; i < s->nsnap; i++) {
    double sum = 0;
    for (size_t b = 0; b < c->nband; b++) sum += c->band[b].v[i] > 0 ? (double)c->band[b].v[i] : 0;
    if (sum > vmax) vmax = sum;
  }
  bytes_axis(&p, vmax);
  time_axis(&p);
  for (size_t b = 0; b < c->nband; b++)
    if (c->band[b].max > 0) draw_band(&p, b);
  if (s->peak_bytes > 0)
    draw_peak(&p);
  else
    fprintf(f,
            "<text class=\"axis\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">nothing in use in "
            "any snapshot</text>\n",
            p.left + p.width / 2, p.top + p.height / 2);
  hover_strips(&p);
  legend(&p);
  fprintf(f,
          "<text class=\"sub\" x=\"%.1f\" y=\"%.1f\">hover for a snapshot's exact values, "
          "on a legend entry for the stack's frames</text>\n",
          p.left, IMAGE_H - 8);
  fprintf(f, "</svg>\n");
done:
  if (html) fprintf(f, "</body></html>\n");
  free(p.x);
  free(p.lower);
}
