/* prof_debugfile_lib.c: the library prof_debugfile.sh strips and gives
 * separate debug files (objcopy --only-keep-debug). Built with -g -O2. Its
 * allocating code is a static function with an always_inline helper in
 * it: once stripped, only the debug file can name them, with their file and
 * lines, the helper as an inlined frame. The lines the test expects are
 * marked "LINE:name" (the script finds them with grep).
 *
 * Built twice: DEBUGFILE_BUILD changes a constant, so the second build has
 * another build ID (the debug file "of another build"). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#ifndef DEBUGFILE_BUILD
#define DEBUGFILE_BUILD 1
#endif
#define DEBUGFILE_TEXT(x) #x
#define DEBUGFILE_STR(x) DEBUGFILE_TEXT(x)

/* Written into every block: a constant of the build, so that the two
 * builds' code (and build IDs) differ. */
static const char build_mark[] = "debugfile build " DEBUGFILE_STR(DEBUGFILE_BUILD);

/* Inlined into debugfile_leaf: it has no code of its own, only DWARF's
 * record of the inlined call. */
static inline __attribute__((always_inline)) void *debugfile_make(size_t size) {
  void *p = malloc(size); /* LINE:malloc */
  if (p != NULL && size >= sizeof build_mark) memcpy(p, build_mark, sizeof build_mark);
  return p;
}

/* The allocator's caller, the first frame of every sample: static, so not
 * in the dynamic symbol table. The empty asm keeps the call from becoming a
 * tail call (the frame would vanish). */
static __attribute__((noinline)) void *debugfile_leaf(size_t size) {
  void *p = debugfile_make(size); /* LINE:inlined_call */
  __asm__ volatile("" : : "r"(p) : "memory");
  return p;
}

int debugfile_alloc(void **out, int n, size_t size); /* what the test dlsyms */

/* Fills out[0..n) with blocks of size bytes; returns how many it got. */
__attribute__((noinline, visibility("default"))) int debugfile_alloc(void **out, int n,
                                                                     size_t size) {
  int got = 0;
  for (int i = 0; i < n; i++) {
    out[i] = debugfile_leaf(size); /* LINE:leaf_call */
    got += out[i] != NULL;
  }
  __asm__ volatile("" : : : "memory");
  return got;
}
