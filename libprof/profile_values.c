/* profile_values.c: the values of each sample of a heap profile, and those
 * of a delta profile (GET /debug/pprof/heap?seconds=N, http.h), which are
 * the differences of two profiles' values. Overview of the profiler:
 * liballoc/mprof.h; the profile around them: profile.c.
 *
 * Values are unsampled per bucket the way Go's heap profile is
 * (scaleHeapSample in Go's pprof writer): every object of a bucket has the
 * same size, so the factor 1 / (1 - exp(-size / rate)) of mprof_scale turns
 * its sampled counts and bytes into estimates of the true ones.
 *
 * A delta profile is what Go's net/http/pprof serves for ?seconds=N
 * (serveDeltaProfile): the profile at the start scaled by -1 and merged
 * with the profile at the end, so every value of every sample is the end's
 * minus the start's, each side unsampled with its own factor as its own
 * profile had it; in-use values go negative where the window freed more
 * than it allocated, and a sample whose values all cancel is dropped. The
 * base keeps the start's values, so the start need not be built as a
 * profile. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dump.h"
#include "mprof.h"
#include "profile_values.h"

void prof_bucket_values(const struct prof_bucket_snap *s, uint64_t rate,
                        int64_t out[PROF_NVALUES]) {
  double scale =
      s->alloc_count ? mprof_scale((double)s->alloc_bytes / (double)s->alloc_count, rate) : 1.0;
  uint64_t live_n = s->alloc_count - s->free_count, live_b = s->alloc_bytes - s->free_bytes;
  out[0] = (int64_t)((double)s->alloc_count * scale);
  out[1] = (int64_t)((double)s->alloc_bytes * scale);
  out[2] = (int64_t)((double)live_n * scale);
  out[3] = (int64_t)((double)live_b * scale);
  out[4] = (int64_t)((double)s->peak_count * scale);
  out[5] = (int64_t)((double)s->peak_bytes * scale);
}

/* ---- the start of a delta profile ---------------------------------------------------
 * A bucket is known by its frames, which stay where they are for the life
 * of the process (mprof.h), and its block size. The base keeps each one's
 * values as the start's profile had them, sorted for a binary search. */

struct base_entry {
  const uintptr_t *frames;
  uint64_t size;
  int64_t values[PROF_NVALUES];
};
struct prof_dump_base {
  int64_t time_nanos;
  size_t n;
  struct base_entry *v;
};

static int base_cmp(const void *a, const void *b) {
  const struct base_entry *x = a, *y = b;
  if (x->frames != y->frames) return (uintptr_t)x->frames < (uintptr_t)y->frames ? -1 : 1;
  return x->size < y->size ? -1 : x->size > y->size;
}

struct prof_dump_base *prof_dump_base_take(void) {
  struct prof_dump_base *base = calloc(1, sizeof *base);
  if (base == NULL) return NULL;
  int entered = mprof_guard_enter();
  struct prof_totals t;
  mprof_get_totals(&t);
  uint64_t rate = mprof_rate();
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  base->time_nanos = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
  struct prof_bucket_snap *snap = mprof_snapshot(&base->n);
  base->v = calloc(base->n + 1, sizeof *base->v);
  if (base->v == NULL || (snap == NULL && t.buckets != 0)) {
    free(snap);
    prof_dump_base_free(base);
    base = NULL;
  } else {
    for (size_t i = 0; i < base->n; i++) {
      base->v[i].frames = snap[i].frames;
      base->v[i].size = snap[i].size;
      prof_bucket_values(&snap[i], rate, base->v[i].values);
    }
    free(snap);
    qsort(base->v, base->n, sizeof *base->v, base_cmp);
  }
  if (entered) mprof_guard_exit();
  return base;
}

void prof_dump_base_free(struct prof_dump_base *base) {
  if (base == NULL) return;
  free(base->v);
  free(base);
}

int64_t prof_dump_base_time(const struct prof_dump_base *base) { return base->time_nanos; }

bool prof_sample_values(const struct prof_dump_base *base, const struct prof_bucket_snap *s,
                        uint64_t rate, int64_t out[PROF_NVALUES]) {
  prof_bucket_values(s, rate, out);
  if (base != NULL) {
    struct base_entry key;
    memset(&key, 0, sizeof key);
    key.frames = s->frames;
    key.size = s->size;
    const struct base_entry *e = bsearch(&key, base->v, base->n, sizeof key, base_cmp);
    for (int k = 0; e != NULL && k < PROF_NVALUES; k++) out[k] -= e->values[k];
  }
  bool any = false;
  for (int k = 0; k < PROF_NVALUES; k++) any |= out[k] != 0;
  return any;
}
