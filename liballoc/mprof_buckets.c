/* mprof_buckets.c: the profile's records. A bucket is one (stack, object size)
 * pair with the counts and bytes of its sampled allocations and frees
 * (Go's mprof.go keeps the same records, for the same reason: unsampling
 * needs the size, and a stack with two sizes is two buckets). Buckets live
 * forever in metadata memory, so a dump can read a bucket's frames without a
 * lock. The profiler lock guards the table, the counts and the totals; it is
 * taken only after the stack has been captured. Overview: mprof.h.
 *
 * A new bucket also records, per frame, the loaded object that holds it
 * (objects.c: an interned vector of registry ids, by index), so that a dump
 * names its frames after that object even once it is unloaded. Only new buckets pay for it (a _dl_find_object per frame
 * outside the objects already met in the stack); a sample into an existing
 * bucket costs what it did. When an object is found unloaded, the buckets
 * that name it are retired: they leave the table (so another object's code
 * later at the same addresses makes buckets of its own) for a list that
 * only dumps read. */
#define _GNU_SOURCE /* PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP */
#include <stdlib.h>
#include <string.h>

#include "metalloc.h"
#include "mprof_objects.h"
#include "mprof.h"
#include "mprof_state.h"
#include "sys.h"

/* The lock is adaptive: a waiter spins a little before it sleeps. Hold
 * times are a few hundred nanoseconds, and a thread put to sleep here waits
 * behind every runnable thread for its next turn (larson: +10% wall time
 * with a plain mutex, from about 130 futex waits a run). */
struct prof_hot prof_hot = {.lock = {PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP}};
__thread unsigned prof_held __attribute__((tls_model("initial-exec")));

/* The mark covers the lock calls (mprof_sampled.c's shard_lock says why). */
void prof_lock_enter(void) {
  prof_held |= PROF_HELD_MAIN;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  lock_acquire(&prof_hot.lock);
}

void prof_lock_exit(void) {
  lock_release(&prof_hot.lock);
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  prof_held &= ~PROF_HELD_MAIN;
}

static uint64_t hash_stack(const uintptr_t *frames, int n, uint64_t size) {
  uint64_t h = 0xcbf29ce484222325ull ^ size;
  for (int i = 0; i < n; i++) {
    h ^= frames[i];
    h *= 0x100000001b3ull;
    h ^= h >> 29;
  }
  return h;
}

struct chain_node {
  struct chain_node *next;
};

void **prof_table_grow(void **table, size_t old_size, size_t new_size,
                       size_t (*slot)(const void *, size_t), int free_old) {
  struct chain_node **nt = sys_alloc(new_size * sizeof *nt);
  if (nt == NULL) return NULL;
  for (size_t i = 0; i < old_size; i++) {
    struct chain_node *n = table[i];
    while (n != NULL) {
      struct chain_node *next = n->next;
      size_t j = slot(n, new_size);
      n->next = nt[j];
      nt[j] = n;
      n = next;
    }
  }
  if (table != NULL && free_old) {
    sys_free_metadata(table, old_size * sizeof *table);
    prof_hot.counters.metadata_bytes -= old_size * sizeof *table;
  }
  prof_hot.counters.metadata_bytes += new_size * sizeof *nt;
  return (void **)nt;
}

static size_t bucket_slot(const void *node, size_t size) {
  return ((const struct prof_bucket *)node)->hash & (size - 1);
}

static int table_grow(void) {
  size_t nsize = prof_hot.bucket_table_size ? prof_hot.bucket_table_size * 2 : 512; /* a page */
  void **nt = prof_table_grow((void **)prof_hot.bucket_table, prof_hot.bucket_table_size, nsize,
                              bucket_slot, 1);
  if (nt == NULL) return -1;
  prof_hot.bucket_table = (struct prof_bucket **)nt;
  prof_hot.bucket_table_size = nsize;
  return 0;
}

/* The bucket of (frames, size) in the table; with objvec >= 0, only one
 * whose frames belong to the same objects. */
static struct prof_bucket *bucket_find(const uintptr_t *frames, int n, uint64_t size, uint64_t h,
                                       int64_t objvec) {
  if (prof_hot.bucket_table_size == 0) return NULL;
  struct prof_bucket *first = prof_hot.bucket_table[h & (prof_hot.bucket_table_size - 1)];
  for (struct prof_bucket *b = first; b != NULL; b = b->next) {
    if (b->hash == h && b->size == size && b->nframes == (uint32_t)n &&
        memcmp(b->frames, frames, (size_t)n * sizeof *frames) == 0 &&
        (objvec < 0 || b->objvec == (uint32_t)objvec))
      return b;
  }
  return NULL;
}

/* ---- retired buckets ----------------------------------------------------------
 * Buckets whose stacks run through an object found unloaded (objects.c).
 * They leave the table so that the same addresses, now another object's
 * code, make buckets of their own; dumps still read them here. */

static struct prof_bucket *retired; /* prof_lock */

static int names_closed_object(struct prof_bucket *b) {
  const uint32_t *objs = prof_objects_vec_ids(b->objvec);
  for (uint32_t k = 0; objs != NULL && k < b->nframes; k++)
    if (prof_object_closed(objs[k])) return 1;
  return 0;
}

/* Work in proportion to every frame of every bucket, once per unload found. */
static void retire_closed(void) {
  for (size_t i = 0; i < prof_hot.bucket_table_size; i++) {
    struct prof_bucket **link = &prof_hot.bucket_table[i];
    while (*link != NULL) {
      struct prof_bucket *b = *link;
      if (!names_closed_object(b)) {
        link = &b->next;
        continue;
      }
      *link = b->next;
      b->retired = 1;
      b->next = retired;
      retired = b;
    }
  }
}

/* A new bucket in the table; objvec < 0: look the frames' objects up. */
static struct prof_bucket *bucket_make(const uintptr_t *frames, int n, uint64_t size, uint64_t h,
                                       int64_t objvec) {
  if (prof_hot.bucket_count >= prof_hot.bucket_table_size && table_grow() != 0 &&
      prof_hot.bucket_table_size == 0)
    return NULL;
  size_t bytes = sizeof(struct prof_bucket) + (size_t)n * sizeof *frames;
  struct prof_bucket *b = persistentalloc(bytes, 8);
  if (b == NULL) return NULL;
  prof_hot.counters.metadata_bytes += bytes;
  b->hash = h;
  b->size = size;
  b->nframes = (uint16_t)n;
  prof_bucket_peak_init(b);
  memcpy(b->frames, frames, (size_t)n * sizeof *frames);
  if (objvec >= 0) {
    b->objvec = (uint32_t)objvec;
  } else if (n <= PROF_FRAMES_LIMIT + 1) {
    uint32_t ids[PROF_FRAMES_LIMIT + 1];
    if (prof_objects_of_frames(frames, n, ids) > 0) retire_closed();
    b->objvec = prof_objects_vec(ids, n);
  }
  size_t j = h & (prof_hot.bucket_table_size - 1);
  b->next = prof_hot.bucket_table[j];
  prof_hot.bucket_table[j] = b;
  prof_hot.bucket_count++;
  return b;
}

struct prof_bucket *prof_bucket_get(const uintptr_t *frames, int n, uint64_t size) {
  uint64_t h = hash_stack(frames, n, size);
  struct prof_bucket *b = bucket_find(frames, n, size, h, -1);
  return b != NULL ? b : bucket_make(frames, n, size, h, -1);
}

struct prof_bucket *prof_bucket_resized(struct prof_bucket *old, uint64_t size) {
  if (old->retired) return old;
  int n = (int)old->nframes;
  uint64_t h = hash_stack(old->frames, n, size);
  struct prof_bucket *b = bucket_find(old->frames, n, size, h, old->objvec);
  return b != NULL ? b : bucket_make(old->frames, n, size, h, old->objvec);
}

uint32_t mprof_objects_known(void) {
  prof_lock_enter();
  uint32_t n = prof_objects_count();
  prof_lock_exit();
  return n;
}

void mprof_objects_check(int (*live)(const struct prof_object *o, void *arg), void *arg,
                         uint32_t upto) {
  prof_lock_enter();
  if (prof_objects_sweep(live, arg, upto) > 0) retire_closed();
  prof_lock_exit();
}

struct prof_object_view *mprof_objects_snapshot(uint32_t *n) {
  *n = 0;
  uint32_t want = mprof_objects_known();
  struct prof_object_view *v = calloc((size_t)want + 1, sizeof *v);
  if (v == NULL) return NULL;
  prof_lock_enter();
  uint32_t have = prof_objects_count();
  if (have > want) have = want; /* entries made meanwhile wait for next time */
  for (uint32_t id = 1; id <= have; id++) {
    v[id].object = prof_object_get(id);
    v[id].closed = prof_object_closed(id);
  }
  prof_lock_exit();
  *n = have;
  return v;
}

struct prof_bucket_snap *mprof_snapshot(size_t *n) {
  *n = 0;
  prof_lock_enter();
  size_t want = prof_hot.bucket_count;
  prof_lock_exit();
  if (want == 0) return NULL;
  /* Allocated without the lock; buckets made meanwhile wait for next time. */
  size_t cap = want + want / 8 + 16;
  struct prof_bucket_snap *out = malloc(cap * sizeof *out);
  if (out == NULL) return NULL;
  size_t k = 0;
  prof_lock_enter();
  prof_sampled_drain();
  for (size_t i = 0; i <= prof_hot.bucket_table_size && k < cap; i++) {
    /* the table's chains, then the retired list */
    struct prof_bucket *b = i < prof_hot.bucket_table_size ? prof_hot.bucket_table[i] : retired;
    for (; b != NULL && k < cap; b = b->next) {
      struct prof_bucket_snap *o = &out[k++];
      o->frames = b->frames;
      o->objects = prof_objects_vec_ids(b->objvec);
      o->nframes = b->nframes;
      o->size = b->size;
      o->alloc_count = b->alloc_count;
      o->alloc_bytes = b->alloc_bytes;
      o->free_count = b->free_count;
      o->free_bytes = b->free_bytes;
      prof_bucket_peak(b, &o->peak_count, &o->peak_bytes);
    }
  }
  prof_lock_exit();
  *n = k;
  return out;
}

void prof_buckets_set_peak_epoch(uint32_t e) {
  for (size_t i = 0; i <= prof_hot.bucket_table_size; i++) {
    struct prof_bucket *b = i < prof_hot.bucket_table_size ? prof_hot.bucket_table[i] : retired;
    for (; b != NULL; b = b->next) b->peak_epoch = e;
  }
}

void mprof_get_totals(struct prof_totals *out) {
  prof_lock_enter();
  prof_sampled_drain();
  out->rate = mprof_rate();
  out->samples = prof_hot.counters.samples;
  out->sampled_frees = prof_hot.counters.sampled_frees;
  out->buckets = prof_hot.bucket_count;
  out->inuse_bytes = prof_hot.counters.inuse_bytes;
  out->alloc_bytes = prof_hot.counters.alloc_bytes;
  out->peak_inuse_bytes = prof_hot.counters.peak_inuse_bytes;
  out->metadata_bytes = prof_hot.counters.metadata_bytes + prof_stack_metadata_bytes();
  out->peak_time_nanos = prof_peak_time_nanos;
  prof_lock_exit();
}

void prof_fork_prepare(void) {
  lock_acquire(&prof_hot.lock);
  prof_sampled_fork_prepare();
  prof_stack_fork_prepare();
}

void prof_fork_parent(void) {
  prof_stack_fork_release();
  prof_sampled_fork_release();
  lock_release(&prof_hot.lock);
}
