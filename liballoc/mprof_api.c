/* mprof_api.c: the profiler's public calls (include/allocprof.h), exported
 * by liballoc.so. The rate and the totals are the sampling record's own;
 * a dump is the dumping half's work, reached through its hook, which the
 * first dump loads if nothing has yet (mprof_dumper.c). */
#include <errno.h>
#include <stdint.h>

#include "allocprof.h"
#include "internal.h"
#include "mprof.h"

ALLOCPROF_API int allocprof_set_rate(uint64_t bytes_per_sample) {
  if (bytes_per_sample > (uint64_t)INT64_MAX) {
    errno = EINVAL;
    return -1;
  }
  mprof_set_rate(bytes_per_sample);
  return 0;
}

ALLOCPROF_API uint64_t allocprof_get_rate(void) { return mprof_rate(); }

ALLOCPROF_API int allocprof_dump(const char *path) {
  int saved = errno;
  if (path == NULL || *path == 0) {
    alloc_say("allocprof_dump: no path given", NULL);
    errno = EINVAL;
    return -1;
  }
  const struct mprof_dumper *d = mprof_dumper(1);
  if (d == NULL || d->dump_file == NULL) {
    /* mprof_dumper said why, once */
    errno = ENOSYS;
    return -1;
  }
  char err[512];
  err[0] = 0;
  if (d->dump_file(path, err, sizeof err) != 0) {
    saved = errno != 0 ? errno : EIO;
    alloc_say(err[0] ? err : "allocprof_dump: failed", NULL);
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
  mprof_get_totals(&t);
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
