/* mprof_state.h: the state mprof_buckets.c and mprof_sampled.c share under the profiler
 * lock. Overview: mprof.h. */
#ifndef PROF_STATE_H
#define PROF_STATE_H

#include <stdint.h>

#include "internal.h"
#include "metalloc.h"

ALLOC_HIDDEN_BEGIN

/* A bucket is in the table (found by the stacks that sample into it) until
 * one of the objects its frames belong to is found unloaded: it is then
 * retired (moved to a list that only dumps read; its sampled objects still
 * point to it, and their frees are still charged to it). */
struct prof_bucket {
  struct prof_bucket *next; /* hash chain, or the retired list */
  uint64_t hash;
  uint64_t size; /* block size of its objects (size class or pages) */
  uint64_t alloc_count, alloc_bytes, free_count, free_bytes;
  /* What it held at the process's in-use peak ("The peak" below): valid
   * when peak_epoch is the current peak's; otherwise the bucket has not
   * changed since the peak and holds then what it holds now. */
  uint64_t peak_count, peak_bytes;
  uint16_t nframes;    /* <= PROF_FRAMES_LIMIT + 1 (mprof.h) */
  uint16_t retired;    /* 1 once out of the table (prof_lock) */
  uint32_t objvec;     /* the objects of its frames: an interned vector
                                of registry ids (objects.h), 0 for none */
  uint32_t peak_epoch; /* prof_hot.peak_epoch when peak_* were saved */
  uintptr_t frames[];  /* the allocator's caller first */
};

struct prof_counters {
  uint64_t samples, sampled_frees;
  uint64_t inuse_bytes, alloc_bytes, peak_inuse_bytes; /* estimates */
  uint64_t metadata_bytes;
};

/* Everything a sample or a sampled free writes, kept together with the lock
 * that guards it, in a few adjacent cache lines. When threads free each
 * other's objects (larson, xmalloc), each line the profiler writes moves
 * between cores at about every sample: scattered over the data and bss
 * segments these were seven lines, here they are three. */
struct sampled_obj;
struct prof_hot {
  alloc_lock lock; /* "prof_lock" in comments */
  struct prof_counters counters;
  /* buckets.c: the bucket table (chained, never shrinks) */
  struct prof_bucket **bucket_table;
  size_t bucket_table_size; /* power of two, or 0 */
  size_t bucket_count;
  /* sampled.c: the sampled objects' records (in the shards' tables, or
   * freed and waiting for prof_sampled_drain) come from here */
  struct fixalloc obj_alloc;
  int obj_alloc_ready;
  /* mprof_peak.c: the peak's number, one more at each new peak (32 bits, so
   * that the struct stays three lines; a wrap is handled there) */
  uint32_t peak_epoch;
} __attribute__((aligned(CACHE_LINE)));
extern struct prof_hot prof_hot;

/* Taking and releasing prof_lock, remembering that this thread holds it: a
 * signal handler that allocates or frees while its thread is inside the
 * lock, or inside a shard lock of mprof_sampled.c, must neither sample nor
 * wait for the lock (prof_lock_held_here). prof_held has a bit per kind of
 * lock the thread holds. */
#define PROF_HELD_MAIN 1u
#define PROF_HELD_SHARD 2u
extern __thread unsigned prof_held __attribute__((tls_model("initial-exec")));
void prof_lock_enter(void);
void prof_lock_exit(void);
static inline int prof_lock_held_here(void) { return prof_held != 0; }

/* mprof_sampled.c: charges the sampled frees not charged yet (the bucket's
 * free count and bytes, the in-use estimate) and gives their records back.
 * Under prof_lock before the counts are read, and before a rise of the
 * estimate that could make a new peak. prof_lock held. */
void prof_sampled_drain(void);
/* Fork: every shard lock, taken after prof_lock and released before it. */
void prof_sampled_fork_prepare(void);
void prof_sampled_fork_release(void);

/* Grows a chained hash table whose nodes begin with their `next` pointer to
 * new_size heads (metadata memory), moving every node to slot(node,
 * new_size), and frees the old heads if free_old (they were metadata
 * memory too). Returns the new heads or NULL (the old table is then
 * untouched). prof_lock held. */
void **prof_table_grow(void **table, size_t old_size, size_t new_size,
                       size_t (*slot)(const void *, size_t), int free_old);

/* The bucket of (frames, size), made if new; NULL when memory is short.
 * frames must be the stack just captured on this thread: a new bucket
 * records the object of each frame (objects.h). prof_lock held. */
struct prof_bucket *prof_bucket_get(const uintptr_t *frames, int n, uint64_t size);
/* The bucket of (b's stack and objects, size), for an object of b resized:
 * b's frames may belong to objects unloaded since, so they are not looked
 * up again. A retired b is returned as it is (no table holds its stack).
 * prof_lock held. */
struct prof_bucket *prof_bucket_resized(struct prof_bucket *b, uint64_t size);

/* ---- The peak (mprof_peak.c) -------------------------------------------------
 * What each bucket held when the estimated in-use total was highest, kept
 * copy-on-write: a new peak only bumps peak_epoch (O(1), no copy), which
 * makes every bucket's current counts its peak counts; a bucket about to
 * change saves its counts first, once per peak (prof_bucket_keep_peak). So
 * the recorded peak is the exact highest in-use total (of the sampled
 * estimate, at every rate), at the cost of a compare per bucket update and
 * two subtractions at the first update after each new peak. */

/* Before any change to b's counts (prof_lock held). */
static inline void prof_bucket_keep_peak(struct prof_bucket *b) {
  uint32_t e = prof_hot.peak_epoch;
  if (b->peak_epoch == e) return;
  b->peak_epoch = e;
  b->peak_count = b->alloc_count - b->free_count;
  b->peak_bytes = b->alloc_bytes - b->free_bytes;
}

/* inuse_bytes is a new high: it becomes the peak (prof_lock held). */
void prof_peak_reached(void);

/* After any rise of inuse_bytes (prof_lock held). */
static inline void prof_peak_check(void) {
  if (prof_hot.counters.inuse_bytes > prof_hot.counters.peak_inuse_bytes) prof_peak_reached();
}

/* b's objects and bytes (sampled, raw) at the peak (prof_lock held). */
void prof_bucket_peak(const struct prof_bucket *b, uint64_t *count, uint64_t *bytes);

/* A new bucket held nothing at the peak (prof_lock held). */
void prof_bucket_peak_init(struct prof_bucket *b);

/* When the peak was reached (unix time in ns, CLOCK_REALTIME); 0: none
 * yet. prof_lock. */
extern int64_t prof_peak_time_nanos;

/* mprof_buckets.c: sets the peak_epoch of every bucket, in the table or
 * retired, to e (prof_lock held). */
void prof_buckets_set_peak_epoch(uint32_t e);

ALLOC_HIDDEN_END
#endif /* PROF_STATE_H */
