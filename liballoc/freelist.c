/* freelist.c: the free-list key (freelist.h says what it is for and why its
 * fixed bits are what they are). Overview: malloc.c. */
#include "freelist.h"

#include <sys/auxv.h>
#include <time.h>

/* Any value whose fixed bits follow the rules would do before the first
 * free; freelist_key_init replaces it before any list exists. */
uint64_t freelist_key = 0x1a5a5a5a5a5a5a5au;
uint16_t freelist_key_top = 0x1a5a;

/* Top bytes that programs' first words rarely hold: control characters
 * other than tab, newline and carriage return, and bytes that never occur
 * in UTF-8 text. As the top byte of a word, none is that of a pointer, an
 * integer below 2^56 in magnitude, or a double between 2^-600 and 2^850 in
 * magnitude. */
static const uint8_t rare_top_bytes[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x0e,
                                         0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
                                         0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0xf5,
                                         0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe};

uint64_t freelist_key_from(uint64_t r) {
  uint64_t top = rare_top_bytes[(r >> 56) % sizeof rare_top_bytes];
  return (top << 56) | (r & 0x00ffffffffffffffu);
}

/* splitmix64's finaliser: every input bit reaches every output bit. */
static uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9u;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebu;
  return x ^ (x >> 31);
}

void freelist_key_init(void) {
  /* The kernel's 16 random bytes for this process (glibc draws its stack
   * guard from them too; mixed, they reveal nothing of it). A system
   * without them still gets the clock and ASLR's placement of this
   * library. */
  uint64_t r = mix64((uint64_t)(uintptr_t)&freelist_key);
  const unsigned char *rnd = (const unsigned char *)getauxval(AT_RANDOM);
  if (rnd != NULL) {
    uint64_t a = 0, b = 0;
    for (int i = 0; i < 8; i++) {
      a = a << 8 | rnd[i];
      b = b << 8 | rnd[8 + i];
    }
    r = mix64(r ^ a) ^ mix64(b + 0x9e3779b97f4a7c15u);
  }
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  r = mix64(r ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32));
  freelist_key = freelist_key_from(r);
  freelist_key_top = (uint16_t)(freelist_key >> 48);
}
