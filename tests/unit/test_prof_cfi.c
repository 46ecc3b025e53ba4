/* Unit tests of the CFI interpreter (liballoc/mprof_cfi.c) on hand-assembled
 * .eh_frame entries: each test writes one CIE and one FDE the way GCC lays
 * them out, then asks for the rule at addresses inside the function.
 * Covered: the frame-pointer prologue, remember/restore around an epilogue,
 * the advance_loc widths, the _sf forms, restore to the CIE's rule, and
 * every case that must give CFI_UNSUPPORTED or CFI_OUTERMOST (expressions,
 * signal frames, a CFA on another register, an undefined return address,
 * truncated and corrupt entries). tests/integration/prof_cfi_readelf.sh
 * checks the same code against readelf on whole libraries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "mprof_cfi.h"

#define FUNC 0x1000u

/* An .eh_frame image: a CIE at 0, an FDE after it. */
struct image {
  uint8_t b[512];
  size_t n;
  size_t fde; /* offset of the FDE */
};

static void put(struct image *im, const uint8_t *bytes, size_t n) {
  assert_true(im->n + n <= sizeof im->b);
  if (n > 0) memcpy(im->b + im->n, bytes, n);
  im->n += n;
}

static void put32(struct image *im, uint32_t v) { put(im, (const uint8_t *)&v, 4); }

static void pad4(struct image *im) {
  while (im->n % 4) im->b[im->n++] = 0; /* DW_CFA_nop */
}

/* CIE: version 1, augmentation aug ("zR", "zRS"...), code align 1, data
 * align -8, return address register ra_reg, FDE encoding pcrel|sdata4,
 * initial instructions: CFA = rsp + 8, ra at CFA - 8 (what GCC writes). */
static void put_cie(struct image *im, const char *aug, uint8_t ra_reg) {
  size_t start = im->n;
  put32(im, 0); /* length, patched below */
  put32(im, 0); /* CIE id */
  uint8_t v = 1;
  put(im, &v, 1);
  put(im, (const uint8_t *)aug, strlen(aug) + 1);
  const uint8_t fields[] = {1, 0x78, ra_reg, 1, 0x1b};
  put(im, fields, sizeof fields);
  const uint8_t init[] = {0x0c, 7, 8, 0x80 | 16, 1};
  put(im, init, sizeof init);
  pad4(im);
  uint32_t len = (uint32_t)(im->n - start - 4);
  memcpy(im->b + start, &len, 4);
}

static void put_fde(struct image *im, const uint8_t *ins, size_t n) {
  im->fde = im->n;
  put32(im, 0);
  put32(im, (uint32_t)(im->n - 0)); /* back to the CIE at offset 0 */
  put32(im, 0);                     /* pc_begin (func is passed in) */
  put32(im, 0x20000);               /* pc_range */
  uint8_t auglen = 0;
  put(im, &auglen, 1);
  put(im, ins, n);
  pad4(im);
  uint32_t len = (uint32_t)(im->n - im->fde - 4);
  memcpy(im->b + im->fde, &len, 4);
}

static struct image make(const char *aug, const uint8_t *ins, size_t n) {
  struct image im = {.n = 0};
  put_cie(&im, aug, 16);
  put_fde(&im, ins, n);
  return im;
}

static struct cfi_rule at(const struct image *im, uintptr_t off) {
  return cfi_rule_at(im->b + im->fde, FUNC, FUNC + off);
}

static void assert_step(struct cfi_rule r, int on_rbp, int32_t cfa, int rbp_saved,
                        int16_t rbp_off) {
  assert_int_equal(r.kind, CFI_STEP);
  assert_int_equal(!!(r.flags & CFI_CFA_RBP), on_rbp);
  assert_int_equal(r.cfa_offset, cfa);
  assert_int_equal(!!(r.flags & CFI_RBP_SAVED), rbp_saved);
  if (rbp_saved) assert_int_equal(r.rbp_offset, rbp_off);
}

/* push %rbp; mov %rsp,%rbp; ...; leave; ret */
static void test_frame_pointer_prologue(void **state) {
  (void)state;
  const uint8_t ins[] = {
      0x41,          /* advance_loc 1 */
      0x0e, 16,      /* def_cfa_offset 16 */
      0x86, 2,       /* offset rbp, 2 * -8 */
      0x43,          /* advance_loc 3 */
      0x0d, 6,       /* def_cfa_register rbp */
      0x02, 0x20,    /* advance_loc1 32 (to 0x24) */
      0x0c, 7,    8, /* def_cfa rsp+8 */
  };
  struct image im = make("zR", ins, sizeof ins);
  assert_step(at(&im, 0), 0, 8, 0, 0);
  assert_step(at(&im, 1), 0, 16, 1, -16);
  assert_step(at(&im, 3), 0, 16, 1, -16);
  assert_step(at(&im, 4), 1, 16, 1, -16);
  assert_step(at(&im, 0x23), 1, 16, 1, -16);
  assert_step(at(&im, 0x24), 0, 8, 1, -16);
}

/* An epilogue in the middle of a function: remember_state before it,
 * restore_state after it brings back the body's CFA and saved rbp. */
static void test_remember_restore(void **state) {
  (void)state;
  const uint8_t ins[] = {
      0x41, 0x0e, 16,   0x86, 2, /* at 1: push rbp */
      0x44, 0x0e, 48,            /* at 5: sub $32,%rsp */
      0x45, 0x0a,                /* at 10: remember_state */
      0x0e, 16,                  /*   add $32,%rsp */
      0x41, 0xc6,                /* at 11: pop rbp: restore rbp */
      0x0e, 8,    0x41, 0x0b,    /* at 12 (after ret): restore_state */
  };
  struct image im = make("zR", ins, sizeof ins);
  assert_step(at(&im, 5), 0, 48, 1, -16);
  assert_step(at(&im, 10), 0, 16, 1, -16);
  assert_step(at(&im, 11), 0, 8, 0, 0);
  assert_step(at(&im, 12), 0, 48, 1, -16);
  assert_step(at(&im, 200), 0, 48, 1, -16);
}

static void test_wide_advances_and_sf_forms(void **state) {
  (void)state;
  const uint8_t ins[] = {
      0x03, 0x00, 0x01,             /* advance_loc2 256 */
      0x12, 6,    0x7e,             /* def_cfa_sf rbp, -2 * -8 = 16 */
      0x04, 0x00, 0x00, 0x01, 0x00, /* advance_loc4 65536 */
      0x13, 0x7c,                   /* def_cfa_offset_sf -4 * -8 = 32 */
      0x11, 6,    0x7d,             /* offset_extended_sf rbp, -3 * -8 = +24 */
      0x2e, 0x10,                   /* GNU_args_size: ignored */
  };
  struct image im = make("zR", ins, sizeof ins);
  assert_step(at(&im, 255), 0, 8, 0, 0);
  assert_step(at(&im, 256), 1, 16, 0, 0);
  struct cfi_rule r = at(&im, 256 + 65536);
  assert_step(r, 1, 32, 1, 24);
}

static void test_unsupported(void **state) {
  (void)state;
  /* def_cfa_expression (a PLT entry, a realigned stack) */
  const uint8_t expr[] = {0x41, 0x0f, 2, 0x77, 8};
  struct image im = make("zR", expr, sizeof expr);
  assert_int_equal(at(&im, 0).kind, CFI_STEP);
  assert_int_equal(at(&im, 1).kind, CFI_UNSUPPORTED);
  /* CFA on r10 */
  const uint8_t r10[] = {0x41, 0x0c, 10, 0};
  im = make("zR", r10, sizeof r10);
  assert_int_equal(at(&im, 1).kind, CFI_UNSUPPORTED);
  /* rbp saved by an expression, or in another register */
  const uint8_t rbp_expr[] = {0x41, 0x10, 6, 1, 0x70};
  im = make("zR", rbp_expr, sizeof rbp_expr);
  assert_int_equal(at(&im, 1).kind, CFI_UNSUPPORTED);
  const uint8_t rbp_reg[] = {0x41, 0x09, 6, 3};
  im = make("zR", rbp_reg, sizeof rbp_reg);
  assert_int_equal(at(&im, 1).kind, CFI_UNSUPPORTED);
  /* the return address somewhere other than CFA - 8 */
  const uint8_t ra[] = {0x41, 0x90, 2};
  im = make("zR", ra, sizeof ra);
  assert_int_equal(at(&im, 1).kind, CFI_UNSUPPORTED);
  /* a signal frame ('S') */
  im = make("zRS", NULL, 0);
  assert_int_equal(at(&im, 0).kind, CFI_UNSUPPORTED);
  /* restore_state with nothing remembered */
  const uint8_t pop[] = {0x0b};
  im = make("zR", pop, sizeof pop);
  assert_int_equal(at(&im, 0).kind, CFI_UNSUPPORTED);
  /* an opcode that does not exist */
  const uint8_t bad[] = {0x3f};
  im = make("zR", bad, sizeof bad);
  assert_int_equal(at(&im, 0).kind, CFI_UNSUPPORTED);
}

static void test_outermost(void **state) {
  (void)state;
  const uint8_t undef[] = {0x07, 16}; /* undefined rip: _start, clone */
  struct image im = make("zR", undef, sizeof undef);
  assert_int_equal(at(&im, 0).kind, CFI_OUTERMOST);
  /* a pc past the FDE's range has no rule, whatever its program says (an
   * FDE found by the sorted search need not cover the pc) */
  const uint8_t step[] = {0x0e, 16};
  im = make("zR", step, sizeof step);
  assert_int_equal(at(&im, 0x1ffff).kind, CFI_STEP);
  assert_int_equal(at(&im, 0x20000).kind, CFI_OUTERMOST);
  assert_int_equal(at(&im, 0x7fffffff).kind, CFI_OUTERMOST);
}

static void test_corrupt_entries(void **state) {
  (void)state;
  /* An instruction cut off by the FDE's length: offset_extended with no
   * operands (the length is patched to stop right after the opcode). */
  const uint8_t cut[] = {0x41, 0x05};
  struct image im = make("zR", cut, sizeof cut);
  uint32_t len = (uint32_t)(13 + sizeof cut); /* CIE pointer, pc_begin, pc_range, aug length */
  memcpy(im.b + im.fde, &len, 4);
  im.b[im.fde + 4 + len] = 0x06; /* would be read if the bound were ignored */
  assert_int_equal(at(&im, 1).kind, CFI_UNSUPPORTED);
  /* a CIE of an unknown version */
  im = make("zR", NULL, 0);
  im.b[8] = 2;
  assert_int_equal(at(&im, 0).kind, CFI_UNSUPPORTED);
  /* a CIE pointer of 0 makes the FDE a CIE */
  im = make("zR", NULL, 0);
  memset(im.b + im.fde + 4, 0, 4);
  assert_int_equal(at(&im, 0).kind, CFI_UNSUPPORTED);
  /* a huge length */
  im = make("zR", NULL, 0);
  memset(im.b + im.fde, 0x7f, 4);
  assert_int_equal(at(&im, 0).kind, CFI_UNSUPPORTED);
  /* offsets whose product with the data alignment overflows (found by
   * fuzz_cfi: UBSan caught the signed overflow) */
  const uint8_t huge_offset[] = {0x41, 0x86, 0x80, 0x80, 0x80, 0x80,
                                 0x80, 0x80, 0x80, 0x80, 0x40}; /* 2^62 */
  im = make("zR", huge_offset, sizeof huge_offset);
  assert_int_equal(at(&im, 1).kind, CFI_UNSUPPORTED);
  const uint8_t huge_cfa[] = {0x41, 0x13, 0x80, 0x80, 0x80, 0x80,
                              0x80, 0x80, 0x80, 0x80, 0x80, 0x7f};
  im = make("zR", huge_cfa, sizeof huge_cfa);
  assert_int_equal(at(&im, 1).kind, CFI_UNSUPPORTED);
  const uint8_t huge_negative[] = {0x41, 0x2f, 6,    0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
  im = make("zR", huge_negative, sizeof huge_negative);
  assert_int_equal(at(&im, 1).kind, CFI_UNSUPPORTED);
  /* a return address column other than 16 */
  im = (struct image){.n = 0};
  put_cie(&im, "zR", 15);
  put_fde(&im, NULL, 0);
  assert_int_equal(at(&im, 0).kind, CFI_UNSUPPORTED);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_frame_pointer_prologue),
      cmocka_unit_test(test_remember_restore),
      cmocka_unit_test(test_wide_advances_and_sf_forms),
      cmocka_unit_test(test_unsupported),
      cmocka_unit_test(test_outermost),
      cmocka_unit_test(test_corrupt_entries),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
