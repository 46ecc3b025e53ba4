/* leaks.h: the leak test of one stack's in-use bytes over time, for
 * `allocprof leaks` (cmd_leaks.c). Pure arithmetic on a row of a series
 * (series.h): no I/O, no allocation beyond the caller's scratch.
 *
 * A leak grows steadily and has not given its memory back. The test asks
 * four questions of a stack's estimates y[i] (with variances v[i]) at
 * times t[i]:
 *
 *   growth      the least squares slope b of y over t, and its standard
 *               error: the larger of what the snapshots' sampling
 *               variances give it (each v[i] + w^2) and what the scatter
 *               of the residuals gives it (real jitter); z = b / se tests
 *               that the stack grows at all. Unweighted: the levels of a
 *               leak are cumulative (a sampled object stays in every later
 *               snapshot), and weights 1/v would lean on its first
 *               snapshots. The error reported with the rate adds the
 *               Poisson count of the samples it rests on (variance
 *               (sum v / sum y) * b / span, 0 for exact values): the
 *               levels are not independent measurements, and a rate drawn
 *               from ten samples is known to about 1/sqrt(10). w is the
 *               stack's "event size": the bytes one sample stands for
 *               (sum v / sum y: about the period P for small objects) plus
 *               its mean object size (the granularity of exact data), so a
 *               snapshot estimated at 0 still has one event's uncertainty.
 *   robust      one big step is not steady growth: the largest single rise
 *               between two snapshots is taken out of the series, and the
 *               Theil-Sen slope (median of the pairwise slopes, on at most
 *               LEAKS_TS_POINTS bin means) of what is left must still be
 *               positive beyond the noise: robust_z = ts / (the trend's
 *               standard error). Steadiness
 *               is ts / b in [0, 1]: 1 for growth spread over the whole
 *               series, 0 for a single step. A sampled leak appears as
 *               steps of about P bytes: removing one of them leaves the
 *               others.
 *   still growing  the rise in the last third of the time span and the
 *               rise before it (each part's least squares slope times its
 *               length) would split in proportion to their lengths at a
 *               constant rate; the last third fails when it grew less than
 *               half its share by 2 standard errors (of a Poisson count of
 *               events of w bytes, split binomially, plus the fits'
 *               jitter): a stack that filled a cache and stopped fails, a
 *               leak whose rate varies, or a sampled leak that drew no
 *               sample in the last third, does not.
 *   not returned  the level at the end (the last third's fit) is not below
 *               the stack's maximum by more than 3 such standard errors: a
 *               stack that held a lot for a while and freed it fails
 *               however fast it grew before.
 *
 * Churn (a steady level, however much is allocated and freed) has a slope
 * within its noise and fails the growth test. The thresholds are
 * LEAKS_MIN_Z and LEAKS_MIN_ROBUST_Z. Confidence: high when robust_z >= 5
 * and steadiness >= 0.5, medium when robust_z >= 3.5, else low.
 *
 * Also reported, not tested: the monotone fraction (of the changes between
 * consecutive snapshots that are not zero, the share that are rises). */
#ifndef CLI_LEAKS_H
#define CLI_LEAKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LEAKS_MIN_Z 3.5
#define LEAKS_MIN_ROBUST_Z 2.5
#define LEAKS_TS_POINTS 64

enum leaks_confidence { LEAKS_LOW, LEAKS_MEDIUM, LEAKS_HIGH };

typedef struct leaks_fit {
  double rate;       /* b: bytes per second */
  double se;         /* its standard error (trend and event count) */
  double z;          /* rate / (the trend's standard error) */
  double ts;         /* Theil-Sen slope without the largest rise */
  double robust_z;   /* ts / se */
  double steadiness; /* ts / rate in [0, 1] */
  double monotone;   /* share of rises among the nonzero changes, [0, 1] */
  double event;      /* w: bytes per event */
  double end_level;  /* the fitted level at the last snapshot */
  double max_level;  /* the largest estimate */
  bool growing;      /* the slope is beyond its noise (z >= LEAKS_MIN_Z) */
  bool robust;       /* robust_z >= LEAKS_MIN_ROBUST_Z */
  bool still_growing, not_returned;
  bool suspect; /* all four */
  enum leaks_confidence confidence;
} leaks_fit;

/* Scratch for leaks_test, sized for n snapshots by leaks_scratch_init. */
typedef struct leaks_scratch {
  double *y, *v, *obj, *ty, *tt, *slopes;
  size_t n;
} leaks_scratch;

int leaks_scratch_init(leaks_scratch *s, size_t nsnap);
void leaks_scratch_free(leaks_scratch *s);

/* Tests a stack whose values are in s->y, s->v, s->obj (n of them, at times
 * t[0..n), strictly increasing not required but sorted), n >= 3. Fills *f. */
void leaks_test(leaks_scratch *s, const double *t, size_t n, leaks_fit *f);

const char *leaks_confidence_name(enum leaks_confidence c);

#endif
