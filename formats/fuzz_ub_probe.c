/* fuzz_ub_probe: one signed overflow, built with the flags the profile
 * readers are fuzzed with (FORMATS_FUZZ_FLAGS). formats.fuzz_ub_fatal passes
 * only when the overflow kills it, which is what makes undefined behaviour in
 * formats.fuzz_bounded a failure rather than a line on stderr. */
#include <limits.h>
#include <stdio.h>

int main(int argc, char **argv) {
  (void)argv;
  /* INT_MAX - 1 + argc overflows when run without arguments; the compiler
   * cannot fold it away */
  volatile int big = INT_MAX - 1;
  int sum = big + argc + 1;
  printf("fuzz_ub_probe: survived with %d\n", sum);
  return 0;
}
