/* timeline.h: the pieces of `allocprof timeline` (cmd_timeline.c, the
 * command and the overview): the bands drawn, chosen from a series
 * (series.h), and their SVG (timeline_svg.c). */
#ifndef CLI_TIMELINE_H
#define CLI_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "series.h"

/* One band: a stack of the series (or "other", every stack not drawn on its
 * own), its in-use bytes at each snapshot. */
typedef struct tl_band {
  const char *label; /* the stack's label, or "other" */
  size_t stack;      /* index in the series, SIZE_MAX for "other" */
  int64_t *v;        /* in-use bytes at each snapshot (nsnap) */
  int64_t max;       /* the largest of v */
  size_t max_snap;   /* the first snapshot with it */
} tl_band;

typedef struct tl_chart {
  const series *s;
  tl_band *band; /* the top stacks, largest first, then "other" */
  size_t nband;  /* including "other" (always the last) */
  size_t others; /* stacks in "other" */
  const char *title, *subtitle;
} tl_chart;

/* t seconds as "12.5 s" (three significant digits; "350 ms" under a
 * second) into buf[32]; returns buf. */
char *tl_seconds(char *buf, double t);

/* Writes the chart as a self-contained SVG image_w pixels wide (html: an
 * HTML page holding it) to f. */
void tl_write_svg(FILE *f, const tl_chart *c, double image_w, bool html);

#endif
