/* http.h: the profiled process serves its heap profiles and statistics over
 * HTTP (ALLOCPROF_HTTP), at the paths a Go service's net/http/pprof and a
 * Prometheus exporter use, so that Parca, Pyroscope (Alloy) and Prometheus
 * scrape it as they scrape a Go program:
 *
 *   GET /debug/pprof/            a small HTML index
 *   GET /debug/pprof/heap        the heap profile, gzip pprof, as a dump writes it
 *   GET /debug/pprof/allocs      the same, default sample type alloc_space
 *   GET /debug/pprof/heap?seconds=N   (allocs too) a delta profile over the
 *                                next N seconds (below)
 *   GET /metrics                 Prometheus text format 0.0.4
 *
 * A delta profile is the one Go's net/http/pprof serves (serveDeltaProfile:
 * the start's profile scaled by -1, merged with the end's): every value of
 * every sample is the end's minus the start's, each unsampled as its own
 * profile had it. alloc_objects and alloc_space count what was allocated
 * within the window; inuse_objects and inuse_space what the window added to
 * the heap, negative for a stack that freed more than it allocated; the
 * peak's two types are differenced too, as Go's Merge would difference any
 * value: zero unless the process reached a new peak in the window, then
 * the new peak's holdings minus the old's. A stack whose values all cancel
 * (untouched in the window) has no sample. The duration is the window.
 *
 * The listener (http_server.c), the request parser (http_request.c, pure,
 * so that unit and fuzz tests call it) and the exposition (http_metrics.c). */
#ifndef PROF_HTTP_H
#define PROF_HTTP_H

#include <stddef.h>

#pragma GCC visibility push(hidden)

struct trig_http;

/* ---- http_server.c ------------------------------------------------------------- */

/* Starts serving at h (settings.h) on a thread of its own; portfile, if not
 * empty, gets the port (a unix socket: its path). A failure is one line on
 * stderr; the program and the other outputs go on. Returns 0, or -1. */
int prof_http_start(const struct trig_http *h, const char *portfile);

/* In a fork child (triggers.c's fork handler): the parent's sockets are
 * closed; the child serves again only when serve is set and the address is
 * a unix socket whose path has %p (a port cannot be bound twice). */
void prof_http_fork_child(int serve);

/* ---- http_request.c -------------------------------------------------------------- */

/* The longest request head (request line and headers) read. */
#define PROF_HTTP_REQUEST_MAX 8192
/* The longest delta profile, in seconds. */
#define PROF_HTTP_MAX_SECONDS 300

enum prof_http_route {
  PROF_HTTP_INDEX,
  PROF_HTTP_HEAP,
  PROF_HTTP_ALLOCS,
  PROF_HTTP_METRICS,
};

struct prof_http_request {
  enum prof_http_route route;
  unsigned seconds; /* ?seconds=N of heap and allocs; 0: none */
};

/* Parses the request head in buf[0..len). Returns 0 while the head is not
 * whole yet (len under PROF_HTTP_REQUEST_MAX), 200 with *r filled, or the
 * status to answer: 400 (malformed, a bad seconds), 404 (unknown path), 405
 * (not GET), 431 (no end of head within PROF_HTTP_REQUEST_MAX bytes), 505
 * (not HTTP/1.x). Reads nothing outside buf. */
int prof_http_parse(const char *buf, size_t len, struct prof_http_request *r);

/* ---- http_metrics.c ---------------------------------------------------------------- */

/* The exposition of the allocator's and the profiler's statistics, in a
 * malloc'd buffer. Returns 0, or -1 when memory is short. */
int prof_http_metrics(char **out, size_t *len);

#pragma GCC visibility pop
#endif /* PROF_HTTP_H */
