/* prof_cfi_rules LIBRARY: loads LIBRARY and, for each hexadecimal offset
 * read from stdin, prints the unwind rule libprof's CFI interpreter
 * (liballoc/mprof_cfi.c) finds at that offset of the library's code:
 *   OFFSET KIND FLAGS CFA_OFFSET RBP_OFFSET
 * prof_cfi_rules --path LIBRARY prints the file dlopen found for LIBRARY.
 * The rule comes from prof_stack_rule_at, the walker's own uncached lookup
 * (libgcc's _Unwind_Find_FDE, then cfi_rule_at).
 * prof_cfi_readelf.py compares the output with readelf's own reading of
 * the same tables. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <string.h>

#include "mprof.h"
#include "mprof_cfi.h"

int main(int argc, char **argv) {
  prof_stack_init(); /* libgcc's FDE lookup, as liballoc does before sampling */
  int path_only = argc == 3 && strcmp(argv[1], "--path") == 0;
  if (argc != 2 && !path_only) {
    fprintf(stderr, "usage: prof_cfi_rules [--path] LIBRARY < offsets\n");
    return 2;
  }
  argv += path_only;
  void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  struct link_map *lm = NULL;
  if (lib == NULL || dlinfo(lib, RTLD_DI_LINKMAP, &lm) != 0) {
    fprintf(stderr, "prof_cfi_rules: cannot load %s: %s\n", argv[1], dlerror());
    return 1;
  }
  if (path_only) {
    printf("%s\n", lm->l_name);
    return 0;
  }
  unsigned long off;
  while (scanf("%lx", &off) == 1) {
    struct cfi_rule r = prof_stack_rule_at(lm->l_addr + off);
    printf("%lx %d %d %d %d\n", off, r.kind, r.flags, r.cfa_offset, r.rbp_offset);
  }
  return 0;
}
