/* free_key_data: the double-free check never fires on a legitimate free,
 * and never shows its key to the program (liballoc/freelist.h).
 *
 * usage: free_key_data
 *
 * A freed block's first word is its free-list link XORed with the process's
 * key. The program learns the key the way an attacker would, by reading two
 * freed blocks (a read after free: undefined in C, harmless with this
 * allocator, whose freed blocks stay mapped), then
 *   - checks that no block malloc, calloc or realloc hands out, from a
 *     thread's list or from a span after malloc_trim, starts with a word that
 *     looks like a link (the rule freelist.h states: (word ^ key) has its
 *     top 16 bits zero);
 *   - stores the key itself, and links to blocks that are free, in the first
 *     word of live blocks of every class, and frees them, in this thread and
 *     in another: none may be taken for a double free.
 * Exits 0 and prints "ok" when all went well; a false positive aborts. */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it_common.h"

#define FIXED_BITS 0xffff000000000000ull

static uint64_t key;
static int failures;

static uint64_t first_word(const void *p) {
  uint64_t w;
  memcpy(&w, (const void *)it_launder((void *)(uintptr_t)p), sizeof w);
  return w;
}

static void set_first_word(void *p, uint64_t w) { memcpy(it_launder(p), &w, sizeof w); }

static int looks_like_link(uint64_t w) { return ((w ^ key) & FIXED_BITS) == 0; }

static void check_handed_out(const char *how, size_t size, const void *p) {
  if (p == NULL) {
    fprintf(stderr, "free_key_data: %s(%zu) returned NULL\n", how, size);
    exit(1);
  }
  if (looks_like_link(first_word(p))) {
    fprintf(stderr, "free_key_data: FAIL: %s(%zu) = %p starts with a free-list link %#llx\n", how,
            size, p, (unsigned long long)first_word(p));
    failures++;
  }
}

/* The key, from a and b freed in that order: b's link is a. The blocks
 * malloc gives next (b and a again) are checked against the key learnt. */
static uint64_t learn_key(size_t size) {
  void *a = malloc(it_opaque(size)), *b = malloc(it_opaque(size));
  memset(a, 0x11, size);
  memset(b, 0x22, size);
  free(a);
  free(b);
  uint64_t k = first_word(b) ^ (uint64_t)(uintptr_t)a;
  if (key == 0) key = k;
  void *b2 = malloc(it_opaque(size)), *a2 = malloc(it_opaque(size));
  check_handed_out("malloc", size, b2);
  check_handed_out("malloc", size, a2);
  free(a2);
  free(b2);
  return k;
}

static const size_t sizes[] = {1, 8, 16, 24, 48, 100, 640, 4096, 20000, 32768};
#define NSIZES (sizeof sizes / sizeof sizes[0])
enum { PER_SIZE = 300 };

/* Blocks of every size whose first word is the key, or a link to a free
 * block; freeing them is legitimate. */
static void *blocks[NSIZES][PER_SIZE];

static void fill_key_like(void) {
  for (size_t i = 0; i < NSIZES; i++) {
    void *freed = malloc(it_opaque(sizes[i]));
    for (int j = 0; j < PER_SIZE; j++) {
      blocks[i][j] = malloc(it_opaque(sizes[i]));
      check_handed_out("malloc", sizes[i], blocks[i][j]);
    }
    free(freed); /* a free block, which the links below point at */
    for (int j = 0; j < PER_SIZE; j++) {
      uint64_t w = key;
      if (j % 3 == 1) w = key ^ (uint64_t)(uintptr_t)freed;
      if (j % 3 == 2) w = key ^ (uint64_t)(uintptr_t)blocks[i][(j + 1) % PER_SIZE];
      set_first_word(blocks[i][j], w);
    }
  }
}

static void free_half(int from) {
  for (size_t i = 0; i < NSIZES; i++)
    for (int j = from; j < PER_SIZE; j += 2) free(blocks[i][j]);
}

static void *free_odd(void *arg) {
  (void)arg;
  free_half(1);
  return NULL;
}

int main(void) {
#ifdef IT_EXPECT_LIBALLOC
  it_require_liballoc("free_key_data");
#endif
  learn_key(48);
  if (learn_key(8) != key || learn_key(640) != key) {
    fprintf(stderr, "free_key_data: FAIL: blocks of different classes show different keys\n");
    return 1;
  }
  if ((key & FIXED_BITS) == 0) {
    fprintf(stderr, "free_key_data: FAIL: key %#llx has no fixed bits\n", (unsigned long long)key);
    return 1;
  }

  /* Live blocks holding the key, freed here and by another thread (whose
   * frees go to its remote lists); then again after a trim, so that the
   * frees meet slots free in their spans. */
  for (int round = 0; round < 2; round++) {
    fill_key_like();
    pthread_t t;
    if (pthread_create(&t, NULL, free_odd, NULL) != 0) return 1;
    free_half(0);
    pthread_join(t, NULL);
    malloc_trim(0);
  }

  /* Blocks handed out from spans whose slots were freed (and kept their
   * links) are cleared too, and so are calloc's and realloc's. */
  for (size_t i = 0; i < NSIZES; i++) {
    void *p[64];
    for (int j = 0; j < 64; j++) {
      p[j] = malloc(it_opaque(sizes[i]));
      check_handed_out("malloc", sizes[i], p[j]);
    }
    for (int j = 0; j < 64; j++) free(p[j]);
    void *c = calloc(1, it_opaque(sizes[i]));
    check_handed_out("calloc", sizes[i], c);
    void *r = realloc(c, it_opaque(sizes[i] * 2));
    check_handed_out("realloc", sizes[i] * 2, r);
    free(r);
  }
  if (failures) return 1;
  printf("free_key_data: ok (key %#llx never mistaken, never handed out)\n",
         (unsigned long long)key);
  return 0;
}
