/* mprof_cfi.h: unwind rules read from a function's DWARF call frame information
 * (.eh_frame), reduced to what a stack walker needs on x86-64: where the
 * caller's stack pointer (the CFA) is, where the return address and the
 * caller's rbp were saved. stack.c caches one rule per code address for the
 * whole process and walks stacks with them; this file only interprets the
 * CFI bytes, so a unit test can feed it hand-made ones. Overview: mprof.h. */
#ifndef PROF_CFI_H
#define PROF_CFI_H

#include <stdint.h>

#include "internal.h"

ALLOC_HIDDEN_BEGIN

enum cfi_kind {
  CFI_NONE = 0,        /* never a computed rule: an empty cache slot */
  CFI_STEP = 1,        /* the rule below applies */
  CFI_OUTERMOST = 2,   /* the return address is undefined, or the code has
                          no unwind information: the stack ends here */
  CFI_UNSUPPORTED = 3, /* expressions, signal frames, other registers as
                          the CFA: a full unwinder must take this stack */
};

/* DWARF register numbers of x86-64 (System V psABI, figure 3.36). */
#define CFI_REG_RBP 6
#define CFI_REG_RSP 7
#define CFI_REG_RA 16

/* The rule at one code address, in 8 bytes so that a cache slot can
 * publish it with a single store. The return address is always at CFA - 8
 * (the CFA is, by definition on x86-64, rsp before the call pushed it);
 * CFI that says otherwise gives CFI_UNSUPPORTED. */
#define CFI_CFA_RBP 1 /* CFA = rbp + cfa_offset (else rsp + cfa_offset) */
#define CFI_RBP_SAVED \
  2 /* the caller's rbp is at CFA + rbp_offset (else
                           rbp is unchanged in the caller) */
struct cfi_rule {
  uint8_t kind;  /* enum cfi_kind */
  uint8_t flags; /* CFI_CFA_RBP, CFI_RBP_SAVED */
  int16_t rbp_offset;
  int32_t cfa_offset;
};

/* The rule in effect at pc inside the function whose FDE starts at fde
 * (the pointer libgcc's _Unwind_Find_FDE returns; its CIE is found through
 * the FDE's CIE pointer) and whose code starts at func. Never reads past the
 * FDE's or the CIE's length. */
struct cfi_rule cfi_rule_at(const uint8_t *fde, uintptr_t func, uintptr_t pc);

/* stack.c: the rule at pc of any loaded code, its FDE found with libgcc's
 * _Unwind_Find_FDE; CFI_OUTERMOST for code without one, CFI_UNSUPPORTED
 * without libgcc. The walker caches these; this call does not. */
struct cfi_rule prof_stack_rule_at(uintptr_t pc);

ALLOC_HIDDEN_END
#endif /* PROF_CFI_H */
