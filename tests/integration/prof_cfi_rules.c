/* prof_cfi_rules LIBRARY: loads LIBRARY and, for each hexadecimal offset
 * read from stdin, prints the unwind rule libprof's CFI interpreter
 * (libprof/cfi.c) finds at that offset of the library's code:
 *   OFFSET KIND FLAGS CFA_OFFSET RBP_OFFSET      or      OFFSET nofde
 * prof_cfi_rules --path LIBRARY prints the file dlopen found for LIBRARY.
 * The FDE is found with libgcc's _Unwind_Find_FDE, as stack.c does.
 * prof_cfi_readelf.py compares the output with readelf's own reading of
 * the same tables. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <string.h>

#include "cfi.h"

struct dwarf_eh_bases {
  void *tbase, *dbase, *func;
};
typedef const uint8_t *(*find_fde_fn)(void *pc, struct dwarf_eh_bases *bases);

int main(int argc, char **argv) {
  int path_only = argc == 3 && strcmp(argv[1], "--path") == 0;
  if (argc != 2 && !path_only) {
    fprintf(stderr, "usage: prof_cfi_rules [--path] LIBRARY < offsets\n");
    return 2;
  }
  argv += path_only;
  void *gcc = dlopen("libgcc_s.so.1", RTLD_NOW);
  find_fde_fn find_fde = gcc != NULL ? (find_fde_fn)dlsym(gcc, "_Unwind_Find_FDE") : NULL;
  void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  struct link_map *lm = NULL;
  if (find_fde == NULL || lib == NULL || dlinfo(lib, RTLD_DI_LINKMAP, &lm) != 0) {
    fprintf(stderr, "prof_cfi_rules: cannot load %s or libgcc_s: %s\n", argv[1], dlerror());
    return 1;
  }
  if (path_only) {
    printf("%s\n", lm->l_name);
    return 0;
  }
  unsigned long off;
  while (scanf("%lx", &off) == 1) {
    uintptr_t pc = lm->l_addr + off;
    struct dwarf_eh_bases bases;
    const uint8_t *fde = find_fde((void *)pc, &bases);
    if (fde == NULL) {
      printf("%lx nofde\n", off);
      continue;
    }
    struct cfi_rule r = cfi_rule_at(fde, (uintptr_t)bases.func, pc);
    printf("%lx %d %d %d %d\n", off, r.kind, r.flags, r.cfa_offset, r.rbp_offset);
  }
  return 0;
}
