/* fuzz_cfi.c: libFuzzer target for the CFI interpreter (cfi.c), which runs
 * inside every profiled process on unwind tables it did not write. The
 * input is an .eh_frame image: its first two bytes are the address asked
 * about (an offset into the function), the rest holds a CIE and an FDE.
 * The FDE is the entry after the first one; its CIE pointer must land on
 * an entry inside the image, and both lengths must fit in it, which is
 * what libgcc's _Unwind_Find_FDE guarantees of the FDEs it returns. Past
 * that, everything is the fuzzer's: the interpreter must never read
 * outside those two entries, loop forever or crash. Also replayed by a
 * plain driver (formats/fuzz_replay.c) in the prof.fuzz_cfi_replay test. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mprof_cfi.h"

/* Bytes of the entry at off, length field included, or 0 if it does not
 * fit in n (only 4-byte lengths: the 64-bit form is not worth fuzzing). */
static size_t entry_size(const uint8_t *img, size_t n, size_t off) {
  uint32_t len;
  if (off + 4 > n) return 0;
  memcpy(&len, img + off, 4);
  if (len == 0 || len == 0xffffffffu || len > n - off - 4) return 0;
  return (size_t)len + 4;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size); /* libFuzzer's entry */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  uintptr_t pc_off = (uintptr_t)data[0] | (uintptr_t)data[1] << 8;
  size_t n = size - 2;
  /* A copy of exactly n bytes, so that AddressSanitizer sees any read past
   * the image. */
  uint8_t *img = malloc(n ? n : 1);
  if (img == NULL) return 0;
  memcpy(img, data + 2, n);
  size_t first = entry_size(img, n, 0);
  size_t fde = first;
  size_t fde_size = first ? entry_size(img, n, fde) : 0;
  if (fde_size >= 8) {
    uint32_t cie_ptr;
    memcpy(&cie_ptr, img + fde + 4, 4);
    size_t at = fde + 4; /* the CIE pointer counts back from its own field */
    if (cie_ptr != 0 && cie_ptr <= at && entry_size(img, n, at - cie_ptr) != 0) {
      const uintptr_t func = 0x400000;
      struct cfi_rule r = cfi_rule_at(img + fde, func, func + pc_off);
      /* whatever it says must be a rule the walker can act on */
      if (r.kind > CFI_UNSUPPORTED) abort();
      if (r.kind == CFI_STEP && (r.flags & ~(CFI_CFA_RBP | CFI_RBP_SAVED)) != 0) abort();
    }
  }
  free(img);
  return 0;
}
