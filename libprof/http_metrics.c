/* http_metrics.c: GET /metrics (http.h), the allocator's statistics
 * (alloc_get_stats, alloc.h) and the profiler's (mprof_get_totals,
 * mprof.h; dumps: dump.c) in the Prometheus text exposition format
 * 0.0.4, as a Go service exports its runtime's memory statistics. Names
 * follow Prometheus conventions: the allocprof_ prefix, _bytes for sizes,
 * _total for counters, a HELP and a TYPE line each. Labels are bounded:
 * the size class, never a stack. The text has a fixed bound (about 100
 * bytes per size class), so one buffer of that size holds it. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "alloc.h"
#include "dump.h"
#include "http.h"
#include "mprof.h"

struct text {
  char *buf;
  size_t len, cap;
  int full;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= t->cap - t->len)
    t->full = 1;
  else
    t->len += (size_t)n;
}

/* One metric without labels: HELP, TYPE and the value. */
static void metric(struct text *t, const char *name, const char *type, const char *help,
                   uint64_t v) {
  put(t, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n", name, help, name, type, name, v);
}

static void allocator_metrics(struct text *t, const struct alloc_stats *s) {
  metric(t, "allocprof_heap_inuse_bytes", "gauge",
         "Bytes in objects handed out and not yet freed (by block size).", s->in_use);
  metric(t, "allocprof_heap_mapped_bytes", "gauge", "Bytes of heap address space made usable.",
         s->mapped);
  metric(t, "allocprof_heap_reserved_bytes", "gauge",
         "Bytes of address space reserved for the heap.", s->reserved);
  metric(t, "allocprof_heap_spans_bytes", "gauge", "Bytes of pages held by spans.",
         s->heap_in_spans);
  metric(t, "allocprof_heap_retained_bytes", "gauge",
         "Bytes of free pages still backed by memory (not yet released).", s->heap_free);
  metric(t, "allocprof_heap_released_bytes", "gauge",
         "Bytes of free pages returned to the operating system.", s->released);
  metric(t, "allocprof_metadata_bytes", "gauge", "Bytes mapped for the allocator's own structures.",
         s->metadata);
  metric(t, "allocprof_large_inuse_bytes", "gauge", "Bytes in large objects (over 32 KiB).",
         s->large_in_use);
  metric(t, "allocprof_large_allocs_total", "counter", "Large objects allocated.", s->nlarge_alloc);
  metric(t, "allocprof_large_frees_total", "counter", "Large objects freed.", s->nlarge_free);
  metric(t, "allocprof_thread_caches", "gauge", "Thread caches live.", s->nthreads);
  const char *name = "allocprof_size_class_inuse_bytes";
  put(t, "# HELP %s Bytes in objects of each small size class handed out and not yet freed.\n",
      name);
  put(t, "# TYPE %s gauge\n", name);
  for (uint32_t c = 1; c < s->nclasses && c < ALLOC_STATS_MAX_CLASSES; c++) {
    const struct alloc_class_stats *k = &s->by_class[c];
    uint64_t live = k->nmalloc > k->nfree ? k->nmalloc - k->nfree : 0;
    put(t, "%s{size_class=\"%" PRIu32 "\"} %" PRIu64 "\n", name, k->size, live * k->size);
  }
}

static void profiler_metrics(struct text *t, const struct prof_totals *p, uint64_t written,
                             uint64_t failed) {
  metric(t, "allocprof_profiler_sampling_rate_bytes", "gauge",
         "Mean bytes allocated between two samples (0: sampling off).", p->rate);
  metric(t, "allocprof_profiler_samples_total", "counter", "Allocations sampled.", p->samples);
  metric(t, "allocprof_profiler_sampled_frees_total", "counter", "Sampled objects freed.",
         p->sampled_frees);
  metric(t, "allocprof_profiler_stacks", "gauge", "Stacks (buckets) the profiler holds.",
         p->buckets);
  metric(t, "allocprof_profiler_inuse_estimate_bytes", "gauge",
         "Bytes in use as the samples estimate them.", p->inuse_bytes);
  metric(t, "allocprof_profiler_memory_bytes", "gauge", "Bytes the profiler itself holds.",
         p->metadata_bytes);
  metric(t, "allocprof_profiler_dumps_total", "counter", "Profiles made (files, frames, served).",
         written);
  metric(t, "allocprof_profiler_dumps_failed_total", "counter", "Profiles that failed.", failed);
}

int prof_http_metrics(char **out, size_t *len) {
  struct text t = {NULL, 0, 4096 + 128 * ALLOC_STATS_MAX_CLASSES, 0};
  t.buf = malloc(t.cap);
  struct alloc_stats *s = malloc(sizeof *s);
  if (t.buf == NULL || s == NULL) {
    free(t.buf);
    free(s);
    return -1;
  }
  alloc_get_stats(s);
  struct prof_totals p;
  mprof_get_totals(&p);
  uint64_t written, failed;
  prof_dump_counts(&written, &failed);
  allocator_metrics(&t, s);
  profiler_metrics(&t, &p, written, failed);
  free(s);
  if (t.full) { /* the bound above is wrong: a bug, not a client's doing */
    free(t.buf);
    return -1;
  }
  *out = t.buf;
  *len = t.len;
  return 0;
}
