/* api.c: the profiler's public calls (include/allocprof.h), thin wrappers
 * over the sampler (prof.h) and the dump (dump.h). Overview: prof.h. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "allocprof.h"
#include "dump.h"
#include "prof.h"

/* One line on stderr, in a single write so lines of two threads don't mix;
 * no stdio (its buffer would allocate and could be mid-use). */
static void report(const char *msg) {
  char line[640];
  size_t n = 0;
  const char *parts[3] = {"allocprof: ", msg, "\n"};
  for (int i = 0; i < 3; i++) {
    size_t len = strlen(parts[i]);
    if (len > sizeof line - 1 - n) len = sizeof line - 1 - n;
    memcpy(line + n, parts[i], len);
    n += len;
  }
  if (n > 0 && line[n - 1] != '\n') line[n - 1] = '\n';
  ssize_t w;
  do w = write(2, line, n);
  while (w < 0 && errno == EINTR);
}

ALLOCPROF_API int allocprof_set_rate(uint64_t bytes_per_sample) {
  if (bytes_per_sample > (uint64_t)INT64_MAX) {
    errno = EINVAL;
    return -1;
  }
  prof_set_rate(bytes_per_sample);
  return 0;
}

ALLOCPROF_API uint64_t allocprof_get_rate(void) { return prof_rate(); }

ALLOCPROF_API int allocprof_dump(const char *path) {
  int saved = errno;
  if (path == NULL || *path == 0) {
    report("allocprof_dump: no path given");
    errno = EINVAL;
    return -1;
  }
  char err[512];
  err[0] = 0;
  if (prof_dump_file(path, err, sizeof err) != 0) {
    saved = errno != 0 ? errno : EIO;
    report(err[0] ? err : "allocprof_dump: failed");
    errno = saved;
    return -1;
  }
  errno = saved; /* a success leaves errno as it was */
  return 0;
}

ALLOCPROF_API int allocprof_get_totals(struct allocprof_totals *out) {
  if (out == NULL) {
    errno = EINVAL;
    return -1;
  }
  struct prof_totals t;
  prof_get_totals(&t);
  out->rate = t.rate;
  out->samples = t.samples;
  out->sampled_frees = t.sampled_frees;
  out->buckets = t.buckets;
  out->inuse_bytes = t.inuse_bytes;
  out->alloc_bytes = t.alloc_bytes;
  out->peak_inuse_bytes = t.peak_inuse_bytes;
  out->profiler_bytes = t.metadata_bytes;
  return 0;
}
