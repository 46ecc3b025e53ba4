/* prof_names: checks the function names of a C++ heap profile, for
 * prof_cxx_names.sh: every Function.name must be in pprof's short form (no
 * template arguments, no parameter list, outside operator names,
 * "(anonymous namespace)" and lambdas' "{...}"), every C++ one with its
 * full demangled name, which is longer, in system_name; and each NAME must
 * be exactly the name of some function whose system name has its
 * parameters.
 *
 *   prof_names FILE [NAME...]
 *   -> "functions N cxx M" (M: those whose system name differs from the name)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "prof_check.h"

/* name with the parts that may hold brackets removed: operator names,
 * "(anonymous namespace)", "{lambda(int)#1}" and the like. */
static void strip_allowed(const char *name, char *out) {
  static const char *const ops[] = {
      "operator<=>", "operator<<=", "operator>>=",          "operator->*", "operator->",
      "operator<<",  "operator>>",  "operator<=",           "operator>=",  "operator<",
      "operator>",   "operator()",  "(anonymous namespace)"};
  while (*name) {
    size_t skip = 0;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0] && !skip; i++)
      if (strncmp(name, ops[i], strlen(ops[i])) == 0) skip = strlen(ops[i]);
    if (!skip && *name == '{') {
      const char *end = strchr(name, '}');
      skip = end ? (size_t)(end - name) + 1 : strlen(name);
    }
    if (skip) {
      name += skip;
      continue;
    }
    *out++ = *name++;
  }
  *out = '\0';
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: prof_names FILE [NAME...]\n");
    return 2;
  }
  profile_pb *p = pc_load(argv[1]);
  size_t ncxx = 0;
  for (size_t i = 0; i < p->n_function; i++) {
    const char *name = pc_str(p, p->function[i]->name);
    const char *sys = pc_str(p, p->function[i]->system_name);
    char *rest = malloc(strlen(name) + 1);
    if (rest == NULL) pc_die("out of memory");
    strip_allowed(name, rest);
    PC_CHECK(strpbrk(rest, "<>()") == NULL, "function name '%s' is not in short form", name);
    PC_CHECK(strlen(sys) >= strlen(name), "system name '%s' shorter than name '%s'", sys, name);
    if (strcmp(sys, name) != 0) ncxx++;
    free(rest);
  }
  for (int a = 2; a < argc; a++) {
    int found = 0;
    for (size_t i = 0; i < p->n_function && !found; i++) {
      if (strcmp(pc_str(p, p->function[i]->name), argv[a]) != 0) continue;
      const char *sys = pc_str(p, p->function[i]->system_name);
      PC_CHECK(strchr(sys, '(') != NULL && strlen(sys) > strlen(argv[a]),
               "%s: system name '%s' is not the full name", argv[a], sys);
      found = 1;
    }
    PC_CHECK(found, "%s: no function named exactly %s", argv[1], argv[a]);
  }
  printf("functions %zu cxx %zu\n", p->n_function, ncxx);
  profile_free(p);
  return pc_failures ? 1 : 0;
}
