/* freelist.c: the free-list key (freelist.h says what it is for and why its
 * top bits are what they are). Overview: malloc.c. */
#include "freelist.h"

#include <sys/auxv.h>
#include <time.h>

/* Any value with the tag would do before the first free;
 * freelist_key_init replaces it before any list exists. */
uint64_t freelist_key = (uint64_t)FREELIST_TAG << 48 | 0x5a5a5a5a5a5au;

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
  freelist_key = (uint64_t)FREELIST_TAG << 48 | (r & 0xffffffffffffu);
}
