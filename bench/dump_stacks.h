/* dump_stacks.h: 100,000 distinct allocation stacks, the profile that
 * bench_dump_speed times the dumps of (against the bar) and
 * tests/integration/prof_dump_speed checks the content of. Header-only, for
 * one program each: it defines the functions and the array of blocks.
 *
 * The stacks: 1024 distinct functions fn_x000 ... fn_x3ff, each calling one
 * of the others through a table, the second one allocating 16 bytes (step()
 * is inlined into it): (x % 1024, (x / 1024 + 7x) % 1024) for x < 100,000
 * are 100,000 distinct pairs, and about 2,000 distinct code addresses to
 * symbolize. make_stacks() calls them all, at rate 1 one sample each.
 * Build with -fno-ipa-icf where GCC has it: its identical-code folding
 * would spend most of the compile time comparing the 1024 functions. */
#ifndef DUMP_STACKS_H
#define DUMP_STACKS_H

#include <stdlib.h>

#define DUMP_NSTACKS 100000
#define DUMP_NF 1024

typedef int (*dump_fn_t)(int d, unsigned x);
static const dump_fn_t dump_table[DUMP_NF];
void *dump_keep[DUMP_NSTACKS];
static int dump_nkeep;

/* The size, hidden from the compiler so that no malloc is folded away. */
static inline size_t dump_opaque(size_t x) {
  __asm__ volatile("" : "+r"(x));
  return x;
}

static inline __attribute__((always_inline)) int step(int d, unsigned x) {
  if (d == 1) {
    dump_keep[dump_nkeep++] = malloc(dump_opaque(16));
    return 1;
  }
  unsigned next = ((x / DUMP_NF) + 7u * x) % DUMP_NF;
  return dump_table[x % DUMP_NF](d + 1, next);
}

/* The asm makes every body distinct, so no two functions are merged. */
#define DUMP_FN(k)                                                 \
  __attribute__((noinline)) static int fn_##k(int d, unsigned x) { \
    int r = step(d, x);                                            \
    __asm__ volatile("# " #k : "+r"(r));                           \
    return r + 1;                                                  \
  }
/* (the tables of macros read best as laid out) */
/* clang-format off */
#define DUMP_F16(p, M)                                                         \
  M(p##0) M(p##1) M(p##2) M(p##3) M(p##4) M(p##5) M(p##6) M(p##7) M(p##8)    \
  M(p##9) M(p##a) M(p##b) M(p##c) M(p##d) M(p##e) M(p##f)
#define DUMP_F256(p, M)                                                        \
  DUMP_F16(p##0, M) DUMP_F16(p##1, M) DUMP_F16(p##2, M) DUMP_F16(p##3, M)    \
  DUMP_F16(p##4, M) DUMP_F16(p##5, M) DUMP_F16(p##6, M) DUMP_F16(p##7, M)    \
  DUMP_F16(p##8, M) DUMP_F16(p##9, M) DUMP_F16(p##a, M) DUMP_F16(p##b, M)    \
  DUMP_F16(p##c, M) DUMP_F16(p##d, M) DUMP_F16(p##e, M) DUMP_F16(p##f, M)
/* clang-format on */
#define DUMP_F1024(M) DUMP_F256(x0, M) DUMP_F256(x1, M) DUMP_F256(x2, M) DUMP_F256(x3, M)
#define DUMP_ENTRY(k) fn_##k,

DUMP_F1024(DUMP_FN)
static const dump_fn_t dump_table[DUMP_NF] = {DUMP_F1024(DUMP_ENTRY)};

/* x's stack: the caller of dump_table[x % DUMP_NF] is this function */
__attribute__((noinline)) static void make_stacks(void) {
  for (unsigned x = 0; x < DUMP_NSTACKS; x++) {
    int r = dump_table[x % DUMP_NF](0, ((x / DUMP_NF) + 7u * x) % DUMP_NF);
    __asm__ volatile("" : "+r"(r));
  }
}

#endif
