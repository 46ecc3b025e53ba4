/* freelist.h: how a freed small object is linked into a free list, and the
 * key that lets free() tell a freed object from a live one cheaply.
 * Overview: malloc.c; the check itself: mcache_check_free (mcache.h).
 *
 * A freed object's first word links it to the next one on its list (a
 * thread cache's list, a remote list, a transfer batch). The link is stored
 * XORed with freelist_key, so the first word of every free object carries
 * the key's top 16 bits: those of (word ^ key) are zero, because a link is
 * NULL or a heap address, below 2^48 (HEAP_ADDR_BITS). That word stays as
 * it is when the object goes back to its span, so a slot free in its span
 * carries those bits too.
 *
 * free() compares the first word's top 16 bits with the key's
 * (freelist_maybe_free): one compare of memory with a constant and a
 * branch, on a line free() writes next anyway. Only when they match does
 * it ask where the object is (mcache_check_free), which is exact: it dies
 * only when it finds the object free, so a live object whose data happens
 * to match pays a search and nothing else.
 *
 * The key's top 16 bits are the constant FREELIST_TAG, so that the compare
 * needs no load of the key (every instruction on free() shows in the
 * benchmarks); its low 48 bits are random per process and scramble the
 * links, so a read after free shows no heap address. The tag is one that
 * programs' first words rarely hold: its top byte is a control character
 * (not a tab, newline or carriage return), so it is the top of no pointer,
 * no integer below 2^56 in magnitude, no text, no double between 2^-500
 * and 2^1000 in magnitude. Random data matches once in 2^16 frees, and a
 * program that stores the tag on purpose only makes its frees slower.
 *
 * Why XOR with a key rather than the link as it is with the tag in its top
 * 16 bits (link | TAG << 48, which the 16-bit compare would accept too):
 * the XOR is one instruction with its operand in memory on each side (free
 * scrambles, malloc unscrambles), while the tag's OR and the mask that
 * takes it off need a 64-bit immediate loaded first, two instructions each
 * (or a shift pair); and a link stored as it is can be read after free
 * and forged by a program's data, where a scrambled one needs the key
 * (glibc's safe-linking scrambles its tcache links for that reason).
 *
 * Objects are handed out with the first word cleared (malloc.c cache_take,
 * mcache_window_take, the refill's batch head), so a program never sees the
 * key, and a block it frees untouched does not match. The middle bits of a
 * link are scrambled by the key's, so a read after free shows no heap
 * address either. */
#ifndef ALLOC_FREELIST_H
#define ALLOC_FREELIST_H

#include <stdint.h>

#include "internal.h"

ALLOC_HIDDEN_BEGIN

/* The key's top 16 bits: the bytes at offset 6 and 7 of a free object's
 * first word (little-endian), 0xa7 then 0x1c. */
#define FREELIST_TAG 0x1ca7u

/* Set once by freelist_key_init, before the first object is freed, and
 * kept across fork (the child inherits its parent's lists). */
extern uint64_t freelist_key;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define FREELIST_TAG_OFFSET 6
#else
#define FREELIST_TAG_OFFSET 0
#endif

/* An object's first word, which may hold data of any type. */
typedef uint64_t __attribute__((may_alias)) freelist_word;

static inline void *freelist_next(const void *p) {
  return (void *)(uintptr_t)(*(const freelist_word *)p ^ freelist_key);
}

static inline void freelist_set_next(void *p, const void *next) {
  *(freelist_word *)p = (uint64_t)(uintptr_t)next ^ freelist_key;
}

/* Clears the word a link was kept in, before p is handed out. */
static inline void freelist_clear(void *p) { *(freelist_word *)p = 0; }

/* Whether p's first word looks like a link: always true when p is free,
 * almost never for a live object (see above). */
static inline int freelist_maybe_free(const void *p) {
  uint16_t top;
  __builtin_memcpy(&top, (const char *)p + FREELIST_TAG_OFFSET, sizeof top);
  return top == FREELIST_TAG;
}

/* Draws the key's low 48 bits from the kernel's random bytes (AT_RANDOM). */
void freelist_key_init(void);

ALLOC_HIDDEN_END
#endif /* ALLOC_FREELIST_H */
