/* prof_read: checks a heap profile written by the profiler, for the shell
 * tests (prof_python.sh, prof_gopprof.sh): it reads and validates FILE (any
 * container), checks the fields every heap profile has (prof_check.h) with
 * the period the file states, prints one line of totals, and fails unless
 * each NAME is part of some function's name.
 *
 *   prof_read [--expect RATE MIN] FILE [NAME...]
 *   -> "samples N alloc_objects A alloc_space B inuse_objects C inuse_space D period P"
 *
 * With --expect, FILE is an exact profile (rate 1) and each NAME must also
 * be on stacks that a run at RATE would sample at least MIN times on
 * average: a test at a sampled rate may then expect NAME in its profile
 * (with MIN 20 it is missing once in e^20 runs). Each object of n bytes is
 * sampled with probability 1 - exp(-n/RATE); one line per NAME says how
 * many samples to expect.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prof_check.h"

/* Whether a function named like name is on s's stack. */
static int on_stack(const profile_pb *p, const Perftools__Profiles__Sample *s, const char *name) {
  for (size_t k = 0; k < s->n_location_id; k++) {
    const Perftools__Profiles__Location *l = pc_location(p, s->location_id[k]);
    for (size_t j = 0; l != NULL && j < l->n_line; j++)
      if (strstr(pc_line_function(p, l->id, j), name) != NULL) return 1;
  }
  return 0;
}

/* The number of samples a run at rate would draw, on average, from the
 * objects of the samples (of an exact profile) with name on their stack. */
static double expected_samples(const profile_pb *p, const char *name, double rate) {
  double e = 0;
  for (size_t i = 0; i < p->n_sample; i++) {
    const Perftools__Profiles__Sample *s = p->sample[i];
    if (s->n_value < PC_NVALUES || s->value[PC_ALLOC_OBJECTS] <= 0 || !on_stack(p, s, name))
      continue;
    double objects = (double)s->value[PC_ALLOC_OBJECTS];
    double size = (double)s->value[PC_ALLOC_SPACE] / objects;
    e += objects * -expm1(-size / rate);
  }
  return e;
}

int main(int argc, char **argv) {
  double rate = 0, min = 0;
  int a = 1;
  if (argc > 3 && strcmp(argv[1], "--expect") == 0) {
    rate = atof(argv[2]);
    min = atof(argv[3]);
    a = 4;
  }
  if (argc <= a || (a > 1 && rate < 1)) {
    fprintf(stderr, "usage: prof_read [--expect RATE MIN] FILE [NAME...]\n");
    return 2;
  }
  const char *file = argv[a];
  profile_pb *p = pc_load(file);
  pc_check_header(p, p->period);
  int64_t tot[PC_NVALUES] = {0};
  for (size_t i = 0; i < p->n_sample; i++)
    for (int v = 0; v < PC_NVALUES && v < (int)p->sample[i]->n_value; v++)
      tot[v] += p->sample[i]->value[v];
  printf("samples %zu alloc_objects %" PRId64 " alloc_space %" PRId64 " inuse_objects %" PRId64
         " inuse_space %" PRId64 " period %" PRId64 "\n",
         p->n_sample, tot[0], tot[1], tot[2], tot[3], p->period);
  if (rate >= 1) PC_CHECK(p->period == 1, "%s: --expect needs an exact profile (rate 1)", file);
  for (int k = a + 1; k < argc; k++) {
    int found = 0;
    for (size_t i = 0; i < p->n_function && !found; i++)
      found = strstr(pc_str(p, p->function[i]->name), argv[k]) != NULL;
    PC_CHECK(found, "%s: no function named like %s", file, argv[k]);
    if (rate >= 1 && found) {
      double e = expected_samples(p, argv[k], rate);
      printf("%s: %.1f samples expected at rate %.0f\n", argv[k], e, rate);
      PC_CHECK(e >= min,
               "%s: a run at rate %.0f samples %s %.1f times on average, under %.0f: a check of "
               "it at that rate would fail by chance",
               file, rate, argv[k], e, min);
    }
  }
  profile_free(p);
  return pc_failures ? 1 : 0;
}
