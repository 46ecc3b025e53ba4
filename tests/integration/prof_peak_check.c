/* prof_peak_check: reads back the exit profiles of peak_host (prof_peak.sh)
 * and checks their peak sample types (peak_inuse_objects, peak_inuse_space)
 * against the truth peak_host.c states.
 *
 *   prof_peak_check exact FILE     `peak_host run` at rate 1: at the peak
 *                                  site_a 30 MiB in 7680 objects, site_b
 *                                  20 MiB in 320, site_c nothing, exactly;
 *                                  peak_inuse= is the profile's peak total,
 *                                  peak_time= is not after time=
 *   prof_peak_check sampled FILE   the same run sampled at the profile's
 *                                  period: site_a and site_b within 4
 *                                  standard errors of the truth, site_c 0
 *   prof_peak_check fork PARENT CHILD  `peak_host fork` at rate 1: the
 *                                  parent's peak is site_p's 40 MiB, the
 *                                  child's site_q's 8 MiB and no site_p
 *
 * Prints the values it checked; exit 0, or 1 with a line per failure. */
#define _GNU_SOURCE
#include <math.h>
#include <time.h>

#include "prof_check.h"

#define MIB ((int64_t)1 << 20)

/* Peak objects and bytes of the samples whose stack starts in fn. */
static void peak_of(const profile_pb *p, const char *fn, int64_t *objects, int64_t *bytes) {
  int64_t v[PC_NTYPES];
  pc_sum_leaf_n(p, fn, v, PC_NTYPES);
  *objects = v[PC_PEAK_OBJECTS];
  *bytes = v[PC_PEAK_SPACE];
  printf("%s: peak_inuse_objects %" PRId64 " peak_inuse_space %" PRId64 "\n", fn, *objects, *bytes);
}

static void want_exact(const profile_pb *p, const char *fn, int64_t objects, int64_t bytes) {
  int64_t o, b;
  peak_of(p, fn, &o, &b);
  PC_CHECK(o == objects && b == bytes,
           "%s at the peak: %" PRId64 " objects %" PRId64 " bytes, want %" PRId64 " and %" PRId64,
           fn, o, b, objects, bytes);
}

/* The value of comment key=..., or NULL. */
static const char *comment(const profile_pb *p, const char *key) {
  size_t n = strlen(key);
  for (size_t i = 0; i < p->n_comment; i++) {
    const char *c = pc_str(p, p->comment[i]);
    if (strncmp(c, key, n) == 0 && c[n] == '=') return c + n + 1;
  }
  return NULL;
}

/* A comment's UTC time (seconds; fractions dropped), or -1. */
static int64_t comment_time(const profile_pb *p, const char *key) {
  const char *v = comment(p, key);
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  if (v == NULL || strptime(v, "%Y-%m-%dT%H:%M:%S", &tm) == NULL) return -1;
  return (int64_t)timegm(&tm);
}

static void check_exact(const profile_pb *p) {
  pc_check_header(p, 1);
  want_exact(p, "site_a", 30 * MIB / 4096, 30 * MIB);
  want_exact(p, "site_b", 20 * MIB / 65536, 20 * MIB);
  want_exact(p, "site_c", 0, 0);
  int64_t v[PC_NTYPES];
  pc_sum_leaf_n(p, "site_c", v, PC_NTYPES);
  PC_CHECK(v[PC_INUSE_SPACE] == 24 * MIB, "site_c in use at exit: %" PRId64, v[PC_INUSE_SPACE]);
  /* the comment's total is the total of the profile's peak stacks */
  int64_t total = 0;
  for (size_t i = 0; i < p->n_sample; i++)
    if (p->sample[i]->n_value == PC_NTYPES) total += p->sample[i]->value[PC_PEAK_SPACE];
  const char *c = comment(p, "peak_inuse");
  PC_CHECK(c != NULL && strtoll(c, NULL, 10) == total, "peak_inuse=%s, the stacks hold %" PRId64,
           c ? c : "(none)", total);
  PC_CHECK(total >= 50 * MIB && total < 51 * MIB, "peak total %" PRId64, total);
  int64_t peak = comment_time(p, "peak_time"), dump = comment_time(p, "time");
  PC_CHECK(peak > 0 && dump > 0 && peak <= dump, "peak_time=%s, time=%s",
           comment(p, "peak_time") ? comment(p, "peak_time") : "(none)",
           comment(p, "time") ? comment(p, "time") : "(none)");
}

/* Within k standard errors of n objects of size bytes sampled at period. */
static void want_near(const profile_pb *p, const char *fn, int64_t n, int64_t size, double period) {
  const double k = 4;
  double q = 1 - exp(-(double)size / period);
  double sd_objects = sqrt((double)n * (1 - q) / q);
  double sd_bytes = sd_objects * (double)size;
  int64_t o, b;
  peak_of(p, fn, &o, &b);
  printf("%s: truth %" PRId64 " objects %" PRId64 " bytes; off by %.2f and %.2f sigma\n", fn, n,
         n * size, ((double)o - (double)n) / sd_objects,
         ((double)b - (double)(n * size)) / sd_bytes);
  PC_CHECK(fabs((double)o - (double)n) <= k * sd_objects,
           "%s: %" PRId64
           " objects at the peak, "
           "truth %" PRId64 " +- %.0f",
           fn, o, n, sd_objects);
  PC_CHECK(fabs((double)b - (double)(n * size)) <= k * sd_bytes,
           "%s: %" PRId64 " bytes at the peak, truth %" PRId64 " +- %.0f", fn, b, n * size,
           sd_bytes);
}

static void check_sampled(const profile_pb *p) {
  pc_check_header(p, p->period);
  PC_CHECK(p->period > 1, "period %" PRId64 ": not sampled", p->period);
  want_near(p, "site_a", 30 * MIB / 4096, 4096, (double)p->period);
  want_near(p, "site_b", 20 * MIB / 65536, 65536, (double)p->period);
  want_exact(p, "site_c", 0, 0); /* made after the peak */
}

static void check_fork(const profile_pb *parent, const profile_pb *child) {
  pc_check_header(parent, 1);
  pc_check_header(child, 1);
  printf("parent:\n");
  want_exact(parent, "site_p", 40 * MIB / 4096, 40 * MIB);
  want_exact(parent, "site_q", 0, 0);
  printf("child:\n");
  want_exact(child, "site_p", 0, 0);
  want_exact(child, "site_q", 8 * MIB / 4096, 8 * MIB);
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "exact") == 0) {
    profile_pb *p = pc_load(argv[2]);
    check_exact(p);
    profile_free(p);
  } else if (argc == 3 && strcmp(argv[1], "sampled") == 0) {
    profile_pb *p = pc_load(argv[2]);
    check_sampled(p);
    profile_free(p);
  } else if (argc == 4 && strcmp(argv[1], "fork") == 0) {
    profile_pb *parent = pc_load(argv[2]), *child = pc_load(argv[3]);
    check_fork(parent, child);
    profile_free(parent);
    profile_free(child);
  } else {
    fprintf(stderr, "usage: prof_peak_check exact|sampled FILE | fork PARENT CHILD\n");
    return 2;
  }
  return pc_failures ? 1 : 0;
}
