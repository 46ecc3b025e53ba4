/* leaks.c: the leak test of one stack over time (leaks.h): a least
 * squares trend, a Theil-Sen check without the largest step, and the
 * last third of the series. The model and the thresholds are in leaks.h. */
#include "leaks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int leaks_scratch_init(leaks_scratch *s, size_t nsnap) {
  memset(s, 0, sizeof *s);
  size_t n = nsnap ? nsnap : 1, np = (size_t)LEAKS_TS_POINTS * LEAKS_TS_POINTS / 2;
  s->y = malloc(n * sizeof *s->y);
  s->v = malloc(n * sizeof *s->v);
  s->obj = malloc(n * sizeof *s->obj);
  s->ty = malloc(LEAKS_TS_POINTS * 2 * sizeof *s->ty);
  s->tt = s->ty ? s->ty + LEAKS_TS_POINTS : NULL;
  s->slopes = malloc(np * sizeof *s->slopes);
  s->n = nsnap;
  if (!s->y || !s->v || !s->obj || !s->ty || !s->slopes) {
    leaks_scratch_free(s);
    return -1;
  }
  return 0;
}

void leaks_scratch_free(leaks_scratch *s) {
  free(s->y);
  free(s->v);
  free(s->obj);
  free(s->ty);
  free(s->slopes);
  memset(s, 0, sizeof *s);
}

const char *leaks_confidence_name(enum leaks_confidence c) {
  return c == LEAKS_HIGH ? "high" : c == LEAKS_MEDIUM ? "medium" : "low";
}

/* ---- least squares ---- */

typedef struct line {
  double b, a;   /* y = a + b t */
  double se;     /* standard error of b */
  double resvar; /* residual variance (bytes^2) */
} line;

/* Fits y over t on [from, to) by least squares, unweighted: the levels of a
 * leak are cumulative (a sampled object stays in every later snapshot), so
 * weights from their variances would lean on the early snapshots and the
 * slope would follow the first part of the series. The standard error of b
 * is the larger of what the snapshots' variances (plus w2, one event, so a
 * level estimated at 0 is not certain) give it, sum (t - tm)^2 (v + w2) /
 * Stt^2, and what the residuals' scatter gives it (real jitter). */
static line fit(const double *t, const double *y, const double *v, size_t from, size_t to,
                double w2) {
  line l = {0};
  double st = 0, sy = 0, m = (double)(to - from);
  for (size_t i = from; i < to; i++) st += t[i], sy += y[i];
  double tm = st / m, ym = sy / m, stt = 0, sty = 0, svar = 0;
  for (size_t i = from; i < to; i++) {
    double dt = t[i] - tm;
    stt += dt * dt, sty += dt * (y[i] - ym), svar += dt * dt * (v[i] + w2);
  }
  if (stt <= 0) return l; /* all at one time */
  l.b = sty / stt;
  l.a = ym - l.b * tm;
  double rss = 0;
  for (size_t i = from; i < to; i++) {
    double r = y[i] - l.a - l.b * t[i];
    rss += r * r;
  }
  l.resvar = rss / (m > 2 ? m - 2 : 1);
  double se_model = sqrt(svar) / stt, se_res = sqrt(l.resvar / stt);
  l.se = se_model > se_res ? se_model : se_res;
  return l;
}

/* ---- Theil-Sen without the largest step ---- */

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return a < b ? -1 : a > b;
}

/* The median of the pairwise slopes of y over t (y with the largest rise
 * between consecutive snapshots taken out), on up to LEAKS_TS_POINTS means
 * of consecutive snapshots. */
static double theil_sen_no_step(leaks_scratch *s, const double *t, size_t n) {
  size_t big = 0;
  double rise = 0;
  for (size_t i = 1; i < n; i++)
    if (s->y[i] - s->y[i - 1] > rise) rise = s->y[i] - s->y[i - 1], big = i;
  size_t m = n < LEAKS_TS_POINTS ? n : LEAKS_TS_POINTS;
  for (size_t b = 0; b < m; b++) {
    size_t lo = b * n / m, hi = (b + 1) * n / m;
    double sy = 0, st = 0;
    for (size_t i = lo; i < hi; i++) {
      sy += s->y[i] - (big && i >= big ? rise : 0);
      st += t[i];
    }
    s->ty[b] = sy / (double)(hi - lo);
    s->tt[b] = st / (double)(hi - lo);
  }
  size_t np = 0;
  for (size_t i = 0; i < m; i++)
    for (size_t j = i + 1; j < m; j++)
      if (s->tt[j] > s->tt[i]) s->slopes[np++] = (s->ty[j] - s->ty[i]) / (s->tt[j] - s->tt[i]);
  if (np == 0) return 0;
  qsort(s->slopes, np, sizeof *s->slopes, cmp_double);
  return np % 2 ? s->slopes[np / 2] : (s->slopes[np / 2 - 1] + s->slopes[np / 2]) / 2;
}

/* ---- the test ---- */

/* w: bytes per event (leaks.h); *per_sample: its sampling part (sum v /
 * sum y, 0 for exact values). */
static double event_size(const leaks_scratch *s, size_t n, double *per_sample) {
  double sy = 0, sv = 0, so = 0;
  for (size_t i = 0; i < n; i++) sy += s->y[i], sv += s->v[i], so += s->obj[i];
  *per_sample = sy > 0 ? sv / sy : 0;
  if (sy <= 0) return 1;
  double w = sv / sy + (so > 0 ? sy / so : 0);
  return w >= 1 ? w : 1;
}

/* The variance of the rise a fit of m points over [from, to) gives, from
 * its residuals' scatter (the slope's variance resvar / Stt, Stt about m
 * len^2 / 12). */
static double jitter(const line *l, size_t m) { return m > 2 ? 12 * l->resvar / (double)m : 0; }

/* The last third of the series: still growing, not returned. The rises
 * before and in it (R12, R3: each part's least squares slope times its
 * length; they share the snapshot at the border) would split in
 * proportion to their lengths at a constant rate, R3 = f (R12 + R3), with
 * the binomial variance of a Poisson count of events of w bytes, plus the
 * fits' jitter. A leak whose rate varies is still one: the last third
 * fails only when it grew less than half its share by 2 standard errors. */
static void last_third(const leaks_scratch *s, const double *t, size_t n, leaks_fit *f) {
  double span = t[n - 1] - t[0], w = f->event;
  size_t from = n - 3;
  while (from > 0 && t[from - 1] >= t[0] + span * 2 / 3) from--;
  line l3 = fit(t, s->y, s->v, from, n, w * w), l12 = {0};
  if (from > 0) l12 = fit(t, s->y, s->v, 0, from + 1, w * w);
  double len3 = t[n - 1] - t[from], len12 = t[from] - t[0];
  double r3 = l3.b * len3, total = r3 + l12.b * len12, frac = len3 / span;
  double share = total > 0 ? total * frac : 0;
  double var =
      w * share * (1 - frac) + w * w + jitter(&l3, n - from) + frac * frac * jitter(&l12, from + 1);
  f->still_growing = total > 0 && r3 >= share / 2 - 2 * sqrt(var);
  f->end_level = l3.a + l3.b * t[n - 1];
  size_t imax = 0;
  for (size_t i = 1; i < n; i++)
    if (s->y[i] > s->y[imax]) imax = i;
  f->max_level = s->y[imax];
  f->not_returned = f->end_level >= f->max_level - 3 * sqrt(s->v[imax] + w * w + l3.resvar);
}

void leaks_test(leaks_scratch *s, const double *t, size_t n, leaks_fit *f) {
  memset(f, 0, sizeof *f);
  double per_sample;
  f->event = event_size(s, n, &per_sample);
  line all = fit(t, s->y, s->v, 0, n, f->event * f->event);
  double span = t[n - 1] - t[0];
  f->rate = all.b;
  f->z = all.b / (all.se > 0 ? all.se : 1e-300);
  /* the rate's own error adds the Poisson count of the events it rests on
   * (samples persist: the levels are not independent measurements) */
  f->se = sqrt(all.se * all.se + (all.b > 0 ? per_sample * all.b / span : 0));
  size_t up = 0, changes = 0;
  for (size_t i = 1; i < n; i++)
    if (s->y[i] != s->y[i - 1]) changes++, up += s->y[i] > s->y[i - 1];
  f->monotone = changes ? (double)up / (double)changes : 0;
  f->growing = f->rate > 0 && f->z >= LEAKS_MIN_Z;
  if (!f->growing) return; /* the rest costs more and could not matter */
  f->ts = theil_sen_no_step(s, t, n);
  f->robust_z = f->ts / (all.se > 0 ? all.se : 1e-300);
  f->steadiness = f->ts <= 0 ? 0 : f->ts >= f->rate ? 1 : f->ts / f->rate;
  f->robust = f->robust_z >= LEAKS_MIN_ROBUST_Z;
  last_third(s, t, n, f);
  f->suspect = f->growing && f->robust && f->still_growing && f->not_returned;
  f->confidence = f->robust_z >= 5 && f->steadiness >= 0.5 ? LEAKS_HIGH
                  : f->robust_z >= 3.5                     ? LEAKS_MEDIUM
                                                           : LEAKS_LOW;
}
