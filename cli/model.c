/* model.c: the sampling-error model: the variance of a heap profile's
 * estimates, per sample, from its sampling period (or per-sample periods from
 * a merge of several rates), and the check that a period is plausible.
 * The model is stated in common.h ("the sampling-error model"); the gate
 * uses it to decide (cmd_gate.c). */
#include "common.h"

#include <math.h>
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
  m->known = m->pmax == 0 || m->bytes || m->pair >= 0;
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

double cli_model_variance(const cli_model *m, const Perftools__Profiles__Sample *s) {
  if (!m->known) return 0;
  double period = m->period;
  int64_t l = sample_period_label(m->label_key, s);
  if (l >= 0) period = l > 1 ? (double)l : 0;
  if (period <= 0) return 0;
  double v = fabs((double)s->value[m->vi]);
  if (v == 0) return 0;
  if (m->pair < 0) return v * period; /* bytes without a count: B*P */
  double pv = fabs((double)s->value[m->pair]);
  double bytes = m->bytes ? v : pv, count = m->bytes ? pv : v;
  if (count <= 0 || bytes <= 0) return m->bytes ? v * period : 0;
  double size = bytes / count;
  double q = -expm1(-size / period); /* 1 - exp(-s/P) */
  if (q <= 0) return m->bytes ? v * period : 0;
  double odds = (1 - q) / q;
  return m->bytes ? count * size * size * odds : count * odds;
}
