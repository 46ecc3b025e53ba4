/* throw.c: fatal errors and allocation-free output. Everything here writes
 * with write(2) on a stack buffer, because the allocator cannot call itself
 * to report its own failure. Overview: malloc.c. */
#include "internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void alloc_write_str(int fd, const char *s) {
  size_t n = strlen(s);
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w <= 0) return;
    s += w;
    n -= (size_t)w;
  }
}

char *alloc_fmt_u64(char *buf, uint64_t v, int hex) {
  char tmp[24];
  int n = 0;
  unsigned base = hex ? 16 : 10;
  do {
    tmp[n++] = "0123456789abcdef"[v % base];
    v /= base;
  } while (v != 0);
  char *o = buf;
  if (hex) {
    *o++ = '0';
    *o++ = 'x';
  }
  while (n > 0) *o++ = tmp[--n];
  *o = 0;
  return buf;
}

void alloc_throw(const char *msg) {
  alloc_write_str(2, "liballoc: fatal error: ");
  alloc_write_str(2, msg);
  alloc_write_str(2, "\n");
  abort();
}

void alloc_throw_ptr(const char *msg, const void *p) {
  char num[24];
  alloc_write_str(2, "liballoc: fatal error: ");
  alloc_write_str(2, msg);
  alloc_write_str(2, ": ");
  alloc_write_str(2, alloc_fmt_u64(num, (uint64_t)(uintptr_t)p, 1));
  alloc_write_str(2, "\n");
  abort();
}

void alloc_say(const char *first, ...) {
  char line[640];
  size_t n = 0;
  const char *prefix = "allocprof: ";
  size_t plen = strlen(prefix);
  memcpy(line, prefix, plen);
  n = plen;
  va_list ap;
  va_start(ap, first);
  for (const char *part = first; part != NULL; part = va_arg(ap, const char *)) {
    size_t len = strlen(part);
    if (len > sizeof line - 1 - n) len = sizeof line - 1 - n;
    memcpy(line + n, part, len);
    n += len;
  }
  va_end(ap);
  if (line[n - 1] == '\n') n--; /* a message that brings its own newline */
  line[n++] = '\n';
  ssize_t w;
  do w = write(2, line, n);
  while (w < 0 && errno == EINTR);
}

uint64_t alloc_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
