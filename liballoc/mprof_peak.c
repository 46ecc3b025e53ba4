/* mprof_peak.c: the peak, in every profile: what each bucket held when
 * the process's estimated in-use total was highest so far. The scheme
 * (copy-on-write by epoch) is in mprof_state.h, "The peak"; the dumping
 * half reads it through mprof_snapshot and mprof_get_totals (mprof.h).
 *
 * Why copy-on-write rather than copying every bucket when the total has
 * grown past the last copy by some margin: a copy costs O(buckets) under
 * prof_lock, so it must be rare, and then the peak it records can be up to
 * the margin below the true one, or needs a second copy when the total
 * turns down, which a program rising in small steps (alloc, alloc, free)
 * asks for at nearly every free. Here a new peak costs a counter increment
 * and a clock read, and the only copies are of the buckets that change
 * after it, each at most once per peak, in the cache line the sample
 * writes anyway. The recorded peak is the true maximum of the estimate.
 *
 * The estimate moves only under prof_lock (mprof_sampled.c), so the peak
 * and every bucket's counts at that moment are one consistent state. */
#define _GNU_SOURCE
#include <time.h>

#include "mprof.h"
#include "mprof_state.h"

int64_t prof_peak_time_nanos;

void prof_peak_reached(void) {
  struct timespec ts;
  prof_hot.counters.peak_inuse_bytes = prof_hot.counters.inuse_bytes;
  if (++prof_hot.peak_epoch == 0) {
    /* After 2^32 peaks a bucket untouched since one of the first could
     * carry the new number and pass its old copy for the peak: every
     * bucket's counts are the peak's now, so all get a number that is not
     * the current one. O(buckets), once per 2^32 peaks (each at least a
     * byte of estimate above the last). */
    prof_buckets_set_peak_epoch(0);
    prof_hot.peak_epoch = 1;
  }
  /* the vDSO's clock: no lock, no allocation, safe in a signal handler */
  clock_gettime(CLOCK_REALTIME, &ts);
  prof_peak_time_nanos = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void prof_bucket_peak(const struct prof_bucket *b, uint64_t *count, uint64_t *bytes) {
  if (b->peak_epoch == prof_hot.peak_epoch) {
    *count = b->peak_count;
    *bytes = b->peak_bytes;
  } else { /* unchanged since the peak */
    *count = b->alloc_count - b->free_count;
    *bytes = b->alloc_bytes - b->free_bytes;
  }
}

void prof_bucket_peak_init(struct prof_bucket *b) {
  b->peak_epoch = prof_hot.peak_epoch;
  b->peak_count = 0;
  b->peak_bytes = 0;
}

/* The child's peak starts from what it holds at fork: the parent's higher
 * peak, before the fork, is not the child's. Called with prof_lock held by
 * the forking thread (malloc_fork.c). */
void prof_peak_fork_child(void) {
  prof_sampled_drain(); /* what was freed before the fork is not held */
  prof_peak_reached();
}
