/* http_request.c: the request head of ALLOCPROF_HTTP's clients, parsed
 * (http.h). Pure: no allocation, no state, nothing read beyond the bytes
 * given, so that any bytes a client sends end in a status (tests: unit
 * test_prof_http, fuzz). Only what the server needs is looked at: the
 * request line (method, path, query); headers are skipped. */
#include <string.h>

#include "http.h"

/* The end of the head: the offset after "\r\n\r\n" (or "\n\n"), or 0. */
static size_t head_end(const char *buf, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (buf[i] != '\n') continue;
    if (i + 1 < len && buf[i + 1] == '\n') return i + 2;
    if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n') return i + 3;
  }
  return 0;
}

static int is_tchar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Whether s[0..n) is word. */
static int equals(const char *s, size_t n, const char *word) {
  return strlen(word) == n && memcmp(s, word, n) == 0;
}

/* ?seconds=N among the query's parameters (others are ignored, as Go's
 * handler ignores gc=1). Returns 200, or 400 for a seconds that is not 1 to
 * PROF_HTTP_MAX_SECONDS. */
static int parse_query(const char *q, size_t n, unsigned *seconds) {
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    while (j < n && q[j] != '&') j++;
    if (j - i > 8 && memcmp(q + i, "seconds=", 8) == 0) {
      unsigned v = 0;
      for (size_t k = i + 8; k < j; k++) {
        if (q[k] < '0' || q[k] > '9' || v > PROF_HTTP_MAX_SECONDS) return 400;
        v = v * 10 + (unsigned)(q[k] - '0');
      }
      if (v == 0 || v > PROF_HTTP_MAX_SECONDS) return 400;
      *seconds = v;
    } else if (equals(q + i, j - i, "seconds") || equals(q + i, j - i, "seconds=")) {
      return 400;
    }
    i = j + 1;
  }
  return 200;
}

/* The path's route. Returns 200, or 404. */
static int route_of(const char *p, size_t n, enum prof_http_route *route) {
  if (equals(p, n, "/debug/pprof/") || equals(p, n, "/debug/pprof")) {
    *route = PROF_HTTP_INDEX;
  } else if (equals(p, n, "/debug/pprof/heap")) {
    *route = PROF_HTTP_HEAP;
  } else if (equals(p, n, "/debug/pprof/allocs")) {
    *route = PROF_HTTP_ALLOCS;
  } else if (equals(p, n, "/metrics")) {
    *route = PROF_HTTP_METRICS;
  } else {
    return 404;
  }
  return 200;
}

int prof_http_parse(const char *buf, size_t len, struct prof_http_request *r) {
  memset(r, 0, sizeof *r);
  size_t end = head_end(buf, len);
  if (end == 0) return len >= PROF_HTTP_REQUEST_MAX ? 431 : 0;
  /* the request line: METHOD SP TARGET SP HTTP/1.x */
  size_t line = 0;
  while (buf[line] != '\r' && buf[line] != '\n') line++;
  size_t m = 0;
  while (m < line && is_tchar(buf[m])) m++;
  if (m == 0 || m >= line || buf[m] != ' ') return 400;
  size_t t = m + 1, te = t;
  while (te < line && buf[te] != ' ') te++;
  if (te == t || te >= line || buf[t] != '/') return 400;
  const char *version = buf + te + 1;
  size_t vlen = line - te - 1;
  if (vlen < 5 || memcmp(version, "HTTP/", 5) != 0) return 400;
  if (vlen != 8 || memcmp(version, "HTTP/1.", 7) != 0 || version[7] < '0' || version[7] > '9')
    return 505;
  for (size_t i = t; i < te; i++)
    if ((unsigned char)buf[i] <= ' ' || buf[i] == 0x7f) return 400;
  if (!equals(buf, m, "GET")) return 405;
  size_t q = t;
  while (q < te && buf[q] != '?') q++;
  int status = route_of(buf + t, q - t, &r->route);
  if (status != 200) return status;
  if (q < te) status = parse_query(buf + q + 1, te - q - 1, &r->seconds);
  if (status != 200) return status;
  if (r->seconds != 0 && r->route != PROF_HTTP_HEAP && r->route != PROF_HTTP_ALLOCS) r->seconds = 0;
  return 200;
}
