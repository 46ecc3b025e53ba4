/* it_common.h: small helpers shared by the integration test programs.
 *
 * Deterministic random numbers (xorshift), fill patterns that can be checked
 * later, and the check that the malloc a program runs with is liballoc's.
 * Header-only: every function is static.
 */
#ifndef IT_COMMON_H
#define IT_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* glibc declares these three in <malloc.h>; declared here so that the tests
 * need no glibc-specific header. */
#ifdef __cplusplus
extern "C" {
#endif
extern void *memalign(size_t align, size_t size);
extern void *pvalloc(size_t size);
extern size_t malloc_usable_size(void *p);
#ifdef __cplusplus
}
#endif

/* Keeps the compiler from folding a constant size into a malloc call (and
 * warning that it is too large) or from reasoning about it. */
static inline size_t it_opaque(size_t x) {
  __asm__ volatile("" : "+r"(x));
  return x;
}

/* The same pointer, but the compiler no longer knows where it comes from (so
 * it does not warn about a use after a realloc that failed on purpose). */
static inline void *it_launder(void *p) {
  __asm__ volatile("" : "+r"(p));
  return p;
}

/* xorshift64*: fast, deterministic, good enough to pick sizes and slots. */
static inline uint64_t it_rand(uint64_t *state) {
  uint64_t x = *state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return x * 0x2545F4914F6CDD1DULL;
}

static inline uint64_t it_seed(uint64_t a, uint64_t b) {
  uint64_t z = a * 0x9E3779B97F4A7C15ULL + b + 0x632BE59BD9B4E019ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return z ? z : 1;
}

/* Byte i of the pattern of key. */
static inline unsigned char it_pattern_byte(uint64_t key, size_t i) {
  uint64_t w = key ^ ((uint64_t)(i >> 3) * 0x9E3779B97F4A7C15ULL); /* it_pattern_word */
  return (unsigned char)(w >> ((i & 7) * 8));
}

static inline uint64_t it_pattern_word(uint64_t key, size_t i) {
  return key ^ ((uint64_t)(i >> 3) * 0x9E3779B97F4A7C15ULL);
}

/* Writes the pattern of key into p[from, to), a word at a time where it can
 * (byte i of the pattern is byte i % 8 of a little-endian word). */
static inline void it_fill(unsigned char *p, size_t from, size_t to, uint64_t key) {
  size_t i = from;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  for (; i < to && (i & 7); i++) p[i] = it_pattern_byte(key, i);
  for (; i + 8 <= to; i += 8) {
    uint64_t w = it_pattern_word(key, i);
    memcpy(p + i, &w, 8);
  }
#endif
  for (; i < to; i++) p[i] = it_pattern_byte(key, i);
}

/* Returns the first index in [from, to) that does not hold the pattern of
 * key, or (size_t)-1 if all do. */
static inline size_t it_check(const unsigned char *p, size_t from, size_t to, uint64_t key) {
  size_t i = from;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  for (; i < to && (i & 7); i++)
    if (p[i] != it_pattern_byte(key, i)) return i;
  for (; i + 8 <= to; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    if (w != it_pattern_word(key, i)) break; /* the byte loop below finds which */
  }
#endif
  for (; i < to; i++)
    if (p[i] != it_pattern_byte(key, i)) return i;
  return (size_t)-1;
}

/* Fills a block of n bytes: the whole block when it is at most 64 KiB, else its
 * first and last 4 KiB and 64 bytes of every 4 KiB page between (so each page
 * is touched and an overlap between two blocks would be seen). */
#define IT_FULL_FILL_MAX ((size_t)64 * 1024)
static inline void it_fill_block(unsigned char *p, size_t n, uint64_t key) {
  if (n <= IT_FULL_FILL_MAX) {
    it_fill(p, 0, n, key);
    return;
  }
  it_fill(p, 0, 4096, key);
  for (size_t off = 4096; off + 4096 < n; off += 4096) it_fill(p, off, off + 64, key);
  it_fill(p, n - 4096, n, key);
}

/* Checks what it_fill_block wrote, from byte `from` on (from < 4096): the
 * index of the first bad byte or -1. */
static inline size_t it_check_block_from(const unsigned char *p, size_t n, uint64_t key,
                                         size_t from) {
  size_t bad;
  if (n <= IT_FULL_FILL_MAX) return it_check(p, from, n, key);
  if ((bad = it_check(p, from, 4096, key)) != (size_t)-1) return bad;
  for (size_t off = 4096; off + 4096 < n; off += 4096)
    if ((bad = it_check(p, off, off + 64, key)) != (size_t)-1) return bad;
  return it_check(p, n - 4096, n, key);
}

static inline size_t it_check_block(const unsigned char *p, size_t n, uint64_t key) {
  return it_check_block_from(p, n, key, 0);
}

/* Whether the bytes it_fill_block would write are all zero: the index of the
 * first non-zero one or -1. */
static inline size_t it_check_zero_block(const unsigned char *p, size_t n) {
  size_t lim = n <= IT_FULL_FILL_MAX ? n : 4096;
  for (size_t i = 0; i < lim; i++)
    if (p[i]) return i;
  if (n <= IT_FULL_FILL_MAX) return (size_t)-1;
  for (size_t off = 4096; off + 4096 < n; off += 4096)
    for (size_t i = off; i < off + 64; i++)
      if (p[i]) return i;
  for (size_t i = n - 4096; i < n; i++)
    if (p[i]) return i;
  return (size_t)-1;
}

/* Message on stderr, then abort. Uses no allocation (snprintf into a stack
 * buffer, write(2)) so that it works when the heap is broken or exhausted. */
__attribute__((noreturn, format(printf, 1, 2))) static inline void it_die(const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if (n > (int)sizeof buf - 2) n = (int)sizeof buf - 2;
  buf[n++] = '\n';
  ssize_t w = write(2, buf, (size_t)n);
  (void)w;
  abort();
}

/* Like printf to a file descriptor, without allocating. */
__attribute__((format(printf, 2, 3))) static inline void it_say(int fd, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (n > (int)sizeof buf - 1) n = (int)sizeof buf - 1;
  ssize_t w = write(fd, buf, (size_t)n);
  (void)w;
}

/* The file that defines symbol name in the global lookup scope, or NULL. */
static inline const char *it_symbol_file(const char *name) {
  void *sym = dlsym(RTLD_DEFAULT, name);
  Dl_info info;
  if (!sym || !dladdr(sym, &info) || !info.dli_fname) return NULL;
  return info.dli_fname;
}

/* Whether the process's symbol name resolves into liballoc. */
static inline int it_symbol_is_liballoc(const char *name) {
  const char *f = it_symbol_file(name);
  return f && strstr(f, "liballoc") != NULL;
}

/* Exits the program with status 1 unless malloc and free are liballoc's. */
static inline void it_require_liballoc(const char *prog) {
  static const char *const names[] = {"malloc", "free", "calloc", "realloc"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (!it_symbol_is_liballoc(names[i])) {
      const char *f = it_symbol_file(names[i]);
      it_say(2, "%s: %s resolves to %s, not liballoc: the test would not test liballoc\n", prog,
             names[i], f ? f : "(nothing)");
      exit(1);
    }
  }
}

/* Waits for the test's child pid: 0 when it exited with status 0, else 1
 * after one FAIL line (prog: the test's name) saying how it ended. */
static inline int it_wait_child(pid_t pid, const char *prog) {
  int st;
  if (waitpid(pid, &st, 0) != pid) {
    perror("waitpid");
    return 1;
  }
  if (WIFSIGNALED(st)) {
    fprintf(stderr, "%s: FAIL: child killed by signal %d (%s)\n", prog, WTERMSIG(st),
            strsignal(WTERMSIG(st)));
    return 1;
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "%s: FAIL: child exit status %d\n", prog, WEXITSTATUS(st));
    return 1;
  }
  return 0;
}

#endif /* IT_COMMON_H */
