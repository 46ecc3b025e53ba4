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
  uint16_t retired;    /* 1 once out of the table (prof_lock; relaxed atomic: the logs'
                          caches read it without the lock) */
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

/* A sampled object's record (mprof_sampled.c): in its span's shard's
 * table from its sample until its free, and named by the events of the
 * sample logs (mprof_log.c) until both its sample and its free are
 * charged. Records come from prof_hot.obj_alloc; a thread keeps a few
 * ready in its log. */
enum sampled_charge {
  SAMPLED_UNCHARGED = 0, /* its sample waits in a log */
  SAMPLED_CHARGED,       /* its sample is in its bucket and the in-use estimate */
  SAMPLED_FREED_EARLY,   /* its free was replayed first (clocks that disagree) */
};
struct sampled_obj {
  struct sampled_obj *next; /* chain in its shard's table, or in its spares */
  uintptr_t addr;
  struct prof_bucket *bucket;
  uint64_t size;
  uint64_t estimate; /* unsampled bytes this sample stands for */
  uint64_t *bits;    /* freed: its span's bitmap, let go with the span's last sample */
  uint16_t bits_order;
  uint16_t charge; /* enum sampled_charge; prof_lock */
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
  /* sampled.c: the sampled objects' records come from here (the shards keep
   * a few each; a flush gives the freed ones back) */
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
#define PROF_HELD_LOG 4u
extern __thread unsigned prof_held __attribute__((tls_model("initial-exec")));
void prof_lock_enter(void);
void prof_lock_exit(void);
static inline int prof_lock_held_here(void) { return prof_held != 0; }

/* mprof_sampled.c: a record from the pool (zeroed), or NULL when memory is
 * short; a record back to the pool, with the span bitmap it let go, if
 * any. prof_lock held. */
struct sampled_obj *prof_record_new(void);
void prof_record_release(struct sampled_obj *o);
/* The in-use hook (triggers) with the estimate inuse, if one is set. The
 * guard held, no lock. */
void prof_inuse_hook(uint64_t inuse);
/* mprof_sampled.c: the leaf lock of the spans' pooled bitmaps, at fork. */
void prof_sampled_fork_prepare(void);
void prof_sampled_fork_release(void);

/* ---- Shards and their sample logs (mprof_log.c) -----------------------------
 * Each thread that samples or frees a sampled object has a shard: the
 * records of the sampled objects of the spans it owns (a span belongs to
 * the shard of the first thread that sampled in it, for as long as it has
 * sampled objects: s->sampledShard) and the thread's sample log, the
 * events (samples and sampled frees) that the next flush charges, all
 * logs merged by time (mprof_log.c says why and how the peak stays exact).
 * One lock guards both, so a thread that frees what it sampled takes one
 * lock, its own. Shards are never freed: an exited thread's is adopted,
 * with the records it still holds, by the next thread that needs one. */
#define PROF_LOG_EVENTS 64        /* events a log holds before it is flushed */
#define PROF_SHARD_SPARES 32      /* records a shard keeps ready for samples */
#define PROF_SHARD_CACHE 256      /* buckets a shard remembers (a power of two) */
#define PROF_SHARD_FIRST_HEADS 32 /* record table heads before it grows */

struct prof_event {
  int64_t when;  /* prof_log_now() */
  uintptr_t obj; /* the record; | 1 for its free */
};

struct prof_shard {
  alloc_lock lock;
  struct prof_shard *next; /* every shard (prof_lock) */
  /* the records, by address (lock) */
  struct sampled_obj **table;
  size_t table_size, count;
  /* the log: events in ev[side] (lock); a flush takes that half and gives
   * the owner the other one, and replays the taken events without the lock */
  uint32_t nevents, side;
  uint32_t taken, cursor; /* a flush's events and next one (prof_lock) */
  uint32_t orphan;        /* its thread has exited (lock and prof_lock) */
  uint32_t nspares;       /* lock */
  struct sampled_obj *spares;
  int64_t pending; /* estimates the log's events add to in-use (lock) */
  /* Buckets the owner sampled into, by the hash of (stack, size): a sample
   * that finds its bucket here takes no prof_lock. The owner's alone. */
  struct prof_bucket *cache[PROF_SHARD_CACHE];
  struct sampled_obj *first_heads[PROF_SHARD_FIRST_HEADS];
  struct prof_event ev[2][PROF_LOG_EVENTS];
};

/* The calling thread's shard, made or adopted at its first use; NULL when
 * it has none (the thread is exiting, metadata memory is short, or it holds
 * prof_lock): its events are then charged at once. */
struct prof_shard *prof_shard_mine(void);
/* A shard's lock; marks the thread inside one (PROF_HELD_SHARD). */
void prof_shard_lock(struct prof_shard *sh);
void prof_shard_unlock(struct prof_shard *sh);
/* The owner's lock on its shard with room in its log for one event (a
 * full log is flushed first). Returns the highest in-use of the flushes it
 * made, for the hook (0 for none). */
uint64_t prof_shard_lock_room(struct prof_shard *sh);
/* The bucket of (frames, size) for a sample of the shard's owner: from its
 * cache, or under prof_lock (which also refills the shard's spare records).
 * frames as for prof_bucket_get. NULL when memory is short. */
struct prof_bucket *prof_shard_bucket(struct prof_shard *sh, const uintptr_t *frames, int n,
                                      uint64_t size);
/* A spare record (NULL when none is left), and one given back. Locked. */
struct sampled_obj *prof_shard_take_spare(struct prof_shard *sh);
void prof_shard_put_spare(struct prof_shard *sh, struct sampled_obj *o);
/* An event's time: only its order means something (mprof_log.c). */
int64_t prof_log_now(void);
/* Appends o's sample or free at when to sh's log; locked, with room.
 * Returns 1 when the log is full: the caller flushes (prof_log_flush) once
 * unlocked. */
int prof_log_append(struct prof_shard *sh, struct sampled_obj *o, int64_t when, int is_free);
/* The in-use estimate as the last flush left it, plus what sh's log adds:
 * for the hook after a sample. Locked. */
uint64_t prof_log_inuse_view(const struct prof_shard *sh);
/* Charges every log's events, in time order, and leaves exited threads'
 * shards to be adopted. locked: every shard's lock is held already (a
 * fork's child). Returns the highest in-use estimate the charges went
 * through. prof_lock held; before the counts are read, and before any
 * change of the estimate outside a flush. */
uint64_t prof_logs_flush(int locked);
/* prof_logs_flush under prof_lock; returns its highest in-use, for the
 * hook. Nothing (0) if this thread holds prof_lock. */
uint64_t prof_log_flush(void);
/* After a change of the in-use estimate outside a flush (prof_lock held). */
void prof_inuse_published_set(void);
/* A sample's and a free's charge: the bucket, the counters, the peak (when:
 * the sample's CLOCK_REALTIME time), o given back after its free. prof_lock
 * held; a flush's replay, or an event charged at once. */
void prof_charge_sample(struct sampled_obj *o, int64_t when_realtime);
void prof_charge_free(struct sampled_obj *o);
/* Fork: every shard's lock after prof_lock (prepare), released (parent and
 * child); in the child, with every lock held, the other threads' shards
 * orphaned and their logs charged. */
void prof_shards_fork_prepare(void);
void prof_shards_fork_release(void);
void prof_shards_fork_child(void);
/* Metadata bytes of the shards' tables and the spans' bitmaps, which are
 * not counted under prof_lock (relaxed atomic). */
extern uint64_t prof_shard_metadata_bytes;

/* Grows a chained hash table whose nodes begin with their `next` pointer to
 * new_size heads (metadata memory), moving every node to slot(node,
 * new_size), and frees the old heads if free_old (they were metadata
 * memory too). Returns the new heads or NULL (the old table is then
 * untouched). Under the lock of the table; the caller counts the memory
 * (prof_table_grow_bytes). */
void **prof_table_grow(void **table, size_t old_size, size_t new_size,
                       size_t (*slot)(const void *, size_t), int free_old);
/* What such a growth changes the metadata by: the new heads, less the old
 * ones when they were freed. */
static inline int64_t prof_table_grow_bytes(size_t old_size, size_t new_size, int free_old) {
  return (int64_t)(new_size - (free_old ? old_size : 0)) * (int64_t)sizeof(void *);
}

/* The hash of (frames, size) that buckets are found by. */
uint64_t prof_stack_hash(const uintptr_t *frames, int n, uint64_t size);
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

/* inuse_bytes is a new high, reached at when (CLOCK_REALTIME, ns): it
 * becomes the peak (prof_lock held). */
void prof_peak_reached(int64_t when);

/* After any rise of inuse_bytes, made at when (prof_lock held). */
static inline void prof_peak_check(int64_t when) {
  if (prof_hot.counters.inuse_bytes > prof_hot.counters.peak_inuse_bytes) prof_peak_reached(when);
}

/* CLOCK_REALTIME in ns: a peak's time when it is reached now. */
int64_t prof_realtime_now(void);

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
