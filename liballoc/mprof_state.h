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
  uint16_t nframes;   /* <= PROF_FRAMES_LIMIT + 1 (mprof.h) */
  uint16_t retired;   /* 1 once out of the table (prof_lock) */
  uint32_t objvec;    /* the objects of its frames: an interned vector
                               of registry ids (objects.h), 0 for none */
  uintptr_t frames[]; /* the allocator's caller first */
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
  /* sampled.c: the sampled-object table (chained) and its nodes */
  struct sampled_obj **obj_table;
  size_t obj_table_size, obj_count;
  struct fixalloc obj_alloc;
  int obj_alloc_ready;
} __attribute__((aligned(CACHE_LINE)));
extern struct prof_hot prof_hot;

/* Taking and releasing prof_lock, remembering that this thread holds it: a
 * signal handler that allocates or frees while its thread is inside the
 * lock must neither sample nor wait for the lock (prof_lock_held_here). */
void prof_lock_enter(void);
void prof_lock_exit(void);
int prof_lock_held_here(void);

/* Grows a chained hash table whose nodes begin with their `next` pointer to
 * new_size heads (metadata memory), moving every node to slot(node,
 * new_size), and frees the old heads. Returns the new heads or NULL (the
 * old table is then untouched). prof_lock held. */
void **prof_table_grow(void **table, size_t old_size, size_t new_size,
                       size_t (*slot)(const void *, size_t));

/* The bucket of (frames, size), made if new; NULL when memory is short.
 * frames must be the stack just captured on this thread: a new bucket
 * records the object of each frame (objects.h). prof_lock held. */
struct prof_bucket *prof_bucket_get(const uintptr_t *frames, int n, uint64_t size);
/* The bucket of (b's stack and objects, size), for an object of b resized:
 * b's frames may belong to objects unloaded since, so they are not looked
 * up again. A retired b is returned as it is (no table holds its stack).
 * prof_lock held. */
struct prof_bucket *prof_bucket_resized(struct prof_bucket *b, uint64_t size);

ALLOC_HIDDEN_END
#endif /* PROF_STATE_H */
