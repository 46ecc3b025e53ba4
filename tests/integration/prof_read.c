/* prof_read: checks a heap profile written by the profiler, for the shell
 * tests (prof_python.sh, prof_gopprof.sh): it reads and validates FILE (any
 * container), checks the fields every heap profile has (prof_check.h) with
 * the period the file states, prints one line of totals, and fails unless
 * each NAME is part of some function's name.
 *
 *   prof_read FILE [NAME...]
 *   -> "samples N alloc_objects A alloc_space B inuse_objects C inuse_space D period P"
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "prof_check.h"

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: prof_read FILE [NAME...]\n");
    return 2;
  }
  profile_pb *p = pc_load(argv[1]);
  pc_check_header(p, p->period);
  int64_t tot[PC_NVALUES] = {0};
  for (size_t i = 0; i < p->n_sample; i++)
    for (int v = 0; v < PC_NVALUES && v < (int)p->sample[i]->n_value; v++)
      tot[v] += p->sample[i]->value[v];
  printf("samples %zu alloc_objects %" PRId64 " alloc_space %" PRId64 " inuse_objects %" PRId64
         " inuse_space %" PRId64 " period %" PRId64 "\n",
         p->n_sample, tot[0], tot[1], tot[2], tot[3], p->period);
  for (int a = 2; a < argc; a++) {
    int found = 0;
    for (size_t i = 0; i < p->n_function && !found; i++)
      found = strstr(pc_str(p, p->function[i]->name), argv[a]) != NULL;
    PC_CHECK(found, "%s: no function named like %s", argv[1], argv[a]);
  }
  profile_free(p);
  return pc_failures ? 1 : 0;
}
