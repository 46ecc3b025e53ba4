/* test_prof_http.c: ALLOCPROF_HTTP's pure halves: the address's parser
 * (liballoc/settings.h, trig_http_parse and trig_config_parse) and the
 * request head's (libprof/http_request.c, compiled in here: it is part of
 * prof_dump, which the unit tests do not link). The server itself is tested
 * with real clients (tests/integration/http_tests.sh). */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../libprof/http_request.c"
#include "settings.h"

/* ---- addresses ------------------------------------------------------------------ */

static void test_addresses(void **state) {
  (void)state;
  struct trig_http h;
  char err[256];
  assert_int_equal(trig_http_parse("127.0.0.1:6060", NULL, &h, err, sizeof err), 0);
  assert_int_equal(h.kind, TRIG_HTTP_IPV4);
  assert_int_equal(h.port, 6060);
  assert_memory_equal(h.addr, "\x7f\x00\x00\x01", 4);
  assert_int_equal(trig_http_parse("[::1]:0", NULL, &h, err, sizeof err), 0);
  assert_int_equal(h.kind, TRIG_HTTP_IPV6);
  assert_int_equal(h.port, 0);
  assert_int_equal(h.addr[15], 1);
  /* every address only when written so; a bare port and localhost: loopback */
  assert_int_equal(trig_http_parse(":6060", NULL, &h, err, sizeof err), 0);
  assert_int_equal(h.kind, TRIG_HTTP_ANY);
  assert_int_equal(trig_http_parse("6060", NULL, &h, err, sizeof err), 0);
  assert_int_equal(h.kind, TRIG_HTTP_IPV4);
  assert_memory_equal(h.addr, "\x7f\x00\x00\x01", 4);
  assert_int_equal(trig_http_parse("localhost:1", NULL, &h, err, sizeof err), 0);
  assert_int_equal(h.kind, TRIG_HTTP_IPV4);
  assert_memory_equal(h.addr, "\x7f\x00\x00\x01", 4);
  /* unix sockets: made absolute, escapes checked */
  assert_int_equal(trig_http_parse("unix:s.%p.sock", "/run/x", &h, err, sizeof err), 0);
  assert_int_equal(h.kind, TRIG_HTTP_UNIX);
  assert_string_equal(h.path, "/run/x/s.%p.sock");
  assert_int_equal(trig_http_parse("unix:/a/%n", NULL, &h, err, sizeof err), -1);
  assert_int_equal(trig_http_parse("unix:", NULL, &h, err, sizeof err), -1);
  assert_int_equal(trig_http_parse("unix:/a/", NULL, &h, err, sizeof err), -1);
  static const char *const bad[] = {
      "",      "nonsense",        "1.2.3.4:65536", "1.2.3:80",  "[::1:80", "::1:80",
      "[::1]", "host.example:80", "1.2.3.4:",      "1.2.3.4:x", "-1",      "1.2.3.4:+80"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    err[0] = 0;
    assert_int_equal(trig_http_parse(bad[i], NULL, &h, err, sizeof err), -1);
    assert_true(err[0] != 0);
    assert_int_equal(h.kind, TRIG_HTTP_OFF);
  }
}

static const char *const *table;
static const char *get(const char *name) {
  for (const char *const *t = table; *t; t += 2)
    if (strcmp(t[0], name) == 0) return t[1];
  return NULL;
}

/* ALLOCPROF_HTTP alone is something to do, and wants the dumping half */
static void test_config(void **state) {
  (void)state;
  static struct trig_config cfg;
  char err[512];
  static const char *const alone[] = {"ALLOCPROF_HTTP", ":0", "ALLOCPROF_HTTP_PORTFILE", "p", NULL};
  table = alone;
  assert_int_equal(trig_config_wanted(get), 1);
  assert_int_equal(trig_config_parse(get, "/w", &cfg, err, sizeof err), TRIG_CONFIG_OK);
  assert_int_equal(cfg.http.kind, TRIG_HTTP_ANY);
  assert_string_equal(cfg.http_portfile, "/w/p");
  assert_false(trig_config_needs_thread(&cfg));
  static const char *const badv[] = {"ALLOCPROF_HTTP", "x:1", NULL};
  table = badv;
  assert_int_equal(trig_config_parse(get, "/w", &cfg, err, sizeof err), TRIG_CONFIG_BAD);
  assert_non_null(strstr(err, "ALLOCPROF_HTTP=x:1 "));
  /* a trigger still needs a file to write */
  static const char *const sig[] = {"ALLOCPROF_HTTP", "1", "ALLOCPROF_SIGNAL", "USR2", NULL};
  table = sig;
  assert_int_equal(trig_config_parse(get, "/w", &cfg, err, sizeof err), TRIG_CONFIG_BAD);
  static const char *const none[] = {"ALLOCPROF_HTTP_PORTFILE", "p", NULL};
  table = none;
  assert_int_equal(trig_config_wanted(get), 0);
  assert_int_equal(trig_config_parse(get, "/w", &cfg, err, sizeof err), TRIG_CONFIG_NONE);
}

/* ---- requests ------------------------------------------------------------------- */

static int parse(const char *s, struct prof_http_request *r) {
  return prof_http_parse(s, strlen(s), r);
}

static void test_requests(void **state) {
  (void)state;
  struct prof_http_request r;
  assert_int_equal(parse("GET /debug/pprof/heap HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
  assert_int_equal(r.route, PROF_HTTP_HEAP);
  assert_int_equal(r.seconds, 0);
  assert_int_equal(parse("GET /debug/pprof/allocs?gc=1&seconds=30 HTTP/1.0\n\n", &r), 200);
  assert_int_equal(r.route, PROF_HTTP_ALLOCS);
  assert_int_equal(r.seconds, 30);
  assert_int_equal(parse("GET /metrics HTTP/1.1\r\n\r\n", &r), 200);
  assert_int_equal(r.route, PROF_HTTP_METRICS);
  assert_int_equal(parse("GET /debug/pprof/ HTTP/1.1\r\n\r\n", &r), 200);
  assert_int_equal(r.route, PROF_HTTP_INDEX);
  assert_int_equal(parse("GET /debug/pprof HTTP/1.1\r\n\r\n", &r), 200);
  /* not whole yet */
  assert_int_equal(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n", &r), 0);
  assert_int_equal(parse("", &r), 0);
  /* statuses */
  assert_int_equal(parse("POST /metrics HTTP/1.1\r\n\r\n", &r), 405);
  assert_int_equal(parse("HEAD /metrics HTTP/1.1\r\n\r\n", &r), 405);
  assert_int_equal(parse("GET /debug/pprof/goroutine HTTP/1.1\r\n\r\n", &r), 404);
  assert_int_equal(parse("GET /metrics/ HTTP/1.1\r\n\r\n", &r), 404);
  assert_int_equal(parse("GET /debug/pprof/heap?seconds=0 HTTP/1.1\r\n\r\n", &r), 400);
  assert_int_equal(parse("GET /debug/pprof/heap?seconds=301 HTTP/1.1\r\n\r\n", &r), 400);
  assert_int_equal(parse("GET /debug/pprof/heap?seconds=9999999999999 HTTP/1.1\r\n\r\n", &r), 400);
  assert_int_equal(parse("GET /debug/pprof/heap?seconds=1x HTTP/1.1\r\n\r\n", &r), 400);
  assert_int_equal(parse("GET /debug/pprof/heap?seconds HTTP/1.1\r\n\r\n", &r), 400);
  assert_int_equal(parse("GET /metrics HTTP/2.0\r\n\r\n", &r), 505);
  assert_int_equal(parse("GET /metrics FTP/1.1\r\n\r\n", &r), 400);
  assert_int_equal(parse("GET metrics HTTP/1.1\r\n\r\n", &r), 400);
  assert_int_equal(parse("GET  /metrics HTTP/1.1\r\n\r\n", &r), 400);
  assert_int_equal(parse("GET /metrics\r\n\r\n", &r), 400);
  assert_int_equal(parse("\r\n\r\n", &r), 400);
  assert_int_equal(parse("G\x01T /metrics HTTP/1.1\r\n\r\n", &r), 400);
  /* seconds only for the profiles */
  assert_int_equal(parse("GET /metrics?seconds=5 HTTP/1.1\r\n\r\n", &r), 200);
  assert_int_equal(r.seconds, 0);
}

/* A head with no end: 431 once the limit is reached, never a read past it. */
static void test_limits(void **state) {
  (void)state;
  struct prof_http_request r;
  char *buf = malloc(PROF_HTTP_REQUEST_MAX);
  memset(buf, 'a', PROF_HTTP_REQUEST_MAX);
  memcpy(buf, "GET /", 5);
  assert_int_equal(prof_http_parse(buf, PROF_HTTP_REQUEST_MAX - 1, &r), 0);
  assert_int_equal(prof_http_parse(buf, PROF_HTTP_REQUEST_MAX, &r), 431);
  free(buf);
  /* every prefix of a request and random bytes end in a status or 0 */
  const char *req = "GET /debug/pprof/heap?seconds=2 HTTP/1.1\r\nHost: x\r\n\r\n";
  for (size_t n = 0; n < strlen(req); n++) {
    char *p = malloc(n + 1); /* exactly n bytes given: the sanitizers see overruns */
    memcpy(p, req, n);
    int st = prof_http_parse(p, n, &r);
    assert_true(st == 0 || st == 200 || st == 400);
    free(p);
  }
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 20000; i++) {
    size_t n = (size_t)(i % 97);
    unsigned char *p = malloc(n + 1);
    for (size_t k = 0; k < n; k++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      p[k] = (unsigned char)(x % 5 == 0 ? '\n' : x % 7 == 0 ? ' ' : x >> 24);
    }
    int st = prof_http_parse((const char *)p, n, &r);
    assert_true(st == 0 || st == 200 || st == 400 || st == 404 || st == 405 || st == 505);
    free(p);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_addresses),
      cmocka_unit_test(test_config),
      cmocka_unit_test(test_requests),
      cmocka_unit_test(test_limits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
