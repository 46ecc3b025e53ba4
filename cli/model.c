/* model.c: the sampling-error model, the one place where the CLI works out
 * how sure a sampled number is: the variance of a heap profile's estimates,
 * per sample, from its sampling period (or per-sample periods from a merge
 * of several rates), the check that a period is plausible, and the rate at
 * which an error would be small enough. The model is stated in common.h
 * ("the sampling-error model"); top prints its standard errors, diff tells
 * changes from noise with it, and gate decides with it (cmd_*.c).
 *
 * The derivation. The sampler (liballoc/mprof_sampler.c) draws the bytes
 * to the next sample from an exponential distribution of mean P, so sample
 * points form a Poisson process of rate 1/P over the bytes allocated, and an
 * object of s bytes is sampled when at least one point falls in it: with
 * probability p = 1 - exp(-s/P), independently of every other object
 * (disjoint stretches of a Poisson process are independent). The profile
 * writes each sampled object with weight s/p (libprof/profile.c, Go's
 * scaleHeapSample), so a stack's value is the Horvitz-Thompson estimator
 *
 *     Y^ = sum over objects i of I_i * s_i / p_i,  I_i ~ Bernoulli(p_i),
 *
 * of the true Y = sum of s_i, unbiased since E[I_i] = p_i. The I_i being
 * independent, Var(Y^) = sum_i Var(I_i) * (s_i/p_i)^2 = sum_i (1-p_i)/p_i *
 * s_i^2, over all objects, sampled or not, which we do not know. Its
 * unbiased estimate from the sample weights each sampled object by 1/p_i
 * once more: V^ = sum over sampled i of (1-p_i)/p_i^2 * s_i^2. A sample of
 * a profile holds the n sampled objects of one stack and one size s (the
 * sample's "bytes" label), written as the count C = n/p and the bytes
 * B = C*s, so V^ = n*(1-p)/p^2 * s^2 = C * s^2 * (1-p)/p, and the count's
 * estimate C has V^ = C * (1-p)/p (s = 1 per object). For s << P,
 * (1-p)/p is about P/s and V^ about B*P: a sampled total's standard error
 * is about sqrt(B*P). Sums over samples (a function's flat and cum, a
 * total) add their variances: the objects are independent. A difference of
 * two independent profiles (diff, gate) has the sum of their variances. */
#include "common.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- the sampling-error model ---- */

/* "inuse" of "inuse_space": the part before the last '_' (or all of it). */
static size_t type_prefix_len(const char *t) {
  const char *u = strrchr(t, '_');
  return u ? (size_t)(u - t) : strlen(t);
}

/* Index of s in p's string table, or 0 when it is not there. */
static int64_t find_string(const profile_pb *p, const char *s) {
  for (size_t i = 1; i < p->n_string_table; i++)
    if (strcmp(p->string_table[i], s) == 0) return (int64_t)i;
  return 0;
}

/* The period label of sample s (key: the label's string index), or -1. */
static int64_t sample_period_label(int64_t key, const Perftools__Profiles__Sample *s) {
  if (key <= 0) return -1;
  for (size_t j = 0; j < s->n_label; j++)
    if (s->label[j]->key == key && !s->label[j]->str) return s->label[j]->num;
  return -1;
}

void cli_model_init(cli_model *m, const profile_pb *p, size_t vi) {
  *m = (cli_model){.vi = vi, .pair = -1};
  const char *unit = cli_type_unit(p, vi);
  m->bytes = strcmp(unit, "bytes") == 0;
  bool counts = strcmp(unit, "count") == 0;
  bool heap = p->period_type && strcmp(cli_str(p, p->period_type->type), "space") == 0 &&
              strcmp(cli_str(p, p->period_type->unit), "bytes") == 0;
  if (!heap || (!m->bytes && !counts)) return; /* not a heap profile: no model */
  m->period = p->period > 1 ? (double)p->period : 0;
  m->pmin = m->pmax = m->period;
  if ((m->label_key = find_string(p, CLI_PERIOD_LABEL)) > 0) {
    bool first = true;
    for (size_t i = 0; i < p->n_sample; i++) {
      int64_t l = sample_period_label(m->label_key, p->sample[i]);
      double ps = l < 0 ? m->period : l > 1 ? (double)l : 0;
      if (first || ps < m->pmin) m->pmin = ps;
      if (first || ps > m->pmax) m->pmax = ps;
      first = false;
    }
  }
  const char *t = cli_type_name(p, vi);
  size_t plen = type_prefix_len(t);
  for (size_t i = 0; i < p->n_sample_type; i++) {
    if (i == vi) continue;
    const char *ti = cli_type_name(p, i), *ui = cli_type_unit(p, i);
    if (type_prefix_len(ti) == plen && strncmp(ti, t, plen) == 0 &&
        strcmp(ui, m->bytes ? "count" : "bytes") == 0) {
      m->pair = (ssize_t)i;
      break;
    }
  }
  m->size_key = find_string(p, CLI_SIZE_LABEL);
  m->known = m->pmax == 0 || m->bytes || m->pair >= 0 || m->size_key > 0;
}

int cli_check_period(const profile_pb *p, const char *file) {
  bool heap = p->period_type && strcmp(cli_str(p, p->period_type->type), "space") == 0 &&
              strcmp(cli_str(p, p->period_type->unit), "bytes") == 0;
  if (!heap) return 0;
  int64_t key = find_string(p, CLI_PERIOD_LABEL);
  for (size_t i = 0; key > 0 && i < p->n_sample; i++) {
    int64_t l = sample_period_label(key, p->sample[i]);
    if (l < 0 || (l >= 1 && l <= CLI_MAX_PERIOD)) continue;
    cli_error("%s: implausible sampling period %lld bytes in sample %zu's " CLI_PERIOD_LABEL
              " label (a heap profile's period is from 1, every allocation, to 1 GiB)",
              file, (long long)l, i);
    return -1;
  }
  if (p->period >= 1 && p->period <= CLI_MAX_PERIOD) return 0;
  cli_error(
      "%s: implausible sampling period %lld bytes (a heap profile's period is from 1, "
      "every allocation, to 1 GiB)",
      file, (long long)p->period);
  return -1;
}

/* The object size of sample s: its "bytes" label (the profiler writes one
 * on every sample: the size of the bucket's objects), or -1. */
static double sample_size(const cli_model *m, const Perftools__Profiles__Sample *s) {
  if (m->size_key <= 0) return -1;
  for (size_t j = 0; j < s->n_label; j++)
    if (s->label[j]->key == m->size_key && !s->label[j]->str && s->label[j]->num > 0)
      return (double)s->label[j]->num;
  return -1;
}

double cli_model_variance(const cli_model *m, const Perftools__Profiles__Sample *s) {
  if (!m->known) return 0;
  double period = m->period;
  int64_t l = sample_period_label(m->label_key, s);
  if (l >= 0) period = l > 1 ? (double)l : 0;
  if (period <= 0) return 0;
  double v = fabs((double)s->value[m->vi]);
  if (v == 0) return 0;
  double size = sample_size(m, s);
  if (size <= 0 && m->pair >= 0) {
    /* no label (a foreign or older profile): the size from the pair */
    double pv = fabs((double)s->value[m->pair]);
    double bytes = m->bytes ? v : pv, count = m->bytes ? pv : v;
    if (count > 0 && bytes > 0) size = bytes / count;
  }
  if (size <= 0) return m->bytes ? v * period : 0; /* bytes of unknown size: B*P */
  double q = -expm1(-size / period);               /* p = 1 - exp(-s/P) */
  if (q <= 0) return m->bytes ? v * period : 0;
  double odds = (1 - q) / q;
  /* bytes B = C*s: C*s^2*(1-p)/p = B*s*(1-p)/p; a count C: C*(1-p)/p */
  return m->bytes ? v * size * odds : v * odds;
}

bool cli_model_sampled(const cli_model *m) { return m->known && m->pmax > 0; }

double cli_model_total_variance(const profile_pb *p, size_t vi) {
  cli_model m;
  cli_model_init(&m, p, vi);
  double var = 0;
  for (size_t i = 0; i < p->n_sample; i++) var += cli_model_variance(&m, p->sample[i]);
  return var;
}

bool cli_beyond_noise(double delta, double var, double k) {
  if (delta == 0) return false;
  return var <= 0 || fabs(delta) > k * sqrt(var);
}

int64_t cli_rate_for_error(double var, double period, double sigma) {
  /* The variance at period P' is var * P'/P for objects small against
   * both periods (B*P), and falls faster for larger ones ((1-p)/p goes to
   * 0 as P' shrinks below s): scaling linearly overstates it, so the rate
   * found is a safe one. */
  if (var <= 0 || period <= 1 || sigma <= 0) return 0;
  double want = period * (sigma * sigma) / var;
  int64_t rate = 1;
  while (rate <= CLI_MAX_PERIOD && (double)(rate * 2) <= want) rate *= 2;
  return rate;
}

char *cli_rate_text(char *buf, int64_t rate) {
  if (rate >= ((int64_t)1 << 20) && rate % ((int64_t)1 << 20) == 0)
    snprintf(buf, 32, "%lldm", (long long)(rate >> 20));
  else if (rate >= 1024 && rate % 1024 == 0)
    snprintf(buf, 32, "%lldk", (long long)(rate >> 10));
  else
    snprintf(buf, 32, "%lld", (long long)rate);
  return buf;
}

char *cli_model_note(char *buf, size_t len, const cli_model *m) {
  char a[32], b[32];
  buf[0] = 0;
  if (!cli_model_sampled(m)) return buf;
  if (m->pmin == m->pmax)
    snprintf(buf, len,
             "estimates from samples every %s allocated on average; ± is one standard error",
             cli_human(a, m->pmax, "bytes", false));
  else
    snprintf(buf, len,
             "estimates from samples every %s to %s allocated on average (per sample); ± is one "
             "standard error",
             m->pmin > 0 ? cli_human(a, m->pmin, "bytes", false) : "allocation",
             cli_human(b, m->pmax, "bytes", false));
  return buf;
}
