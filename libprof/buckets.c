/* buckets.c: the profile's records. A bucket is one (stack, object size)
 * pair with the counts and bytes of its sampled allocations and frees
 * (Go's mprof.go keeps the same records, for the same reason: unsampling
 * needs the size, and a stack with two sizes is two buckets). Buckets live
 * forever in metadata memory, so a dump can read a bucket's frames without a
 * lock. The profiler lock guards the table, the counts and the totals; it is
 * taken only after the stack has been captured. Overview: prof.h. */
#define _GNU_SOURCE /* PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP */
#include <stdlib.h>
#include <string.h>

#include "metalloc.h"
#include "prof.h"
#include "prof_state.h"
#include "sys.h"

/* The lock is adaptive: a waiter spins a little before it sleeps. Hold
 * times are a few hundred nanoseconds, and a thread put to sleep here waits
 * behind every runnable thread for its next turn (larson: +10% wall time
 * with a plain mutex, from about 130 futex waits a run). */
struct prof_hot prof_hot = {.lock = {PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP}};
static __thread int prof_lock_depth __attribute__((tls_model("initial-exec")));

void prof_lock_enter(void) {
  lock_acquire(&prof_hot.lock);
  prof_lock_depth = 1;
}

void prof_lock_exit(void) {
  prof_lock_depth = 0;
  lock_release(&prof_hot.lock);
}

int prof_lock_held_here(void) { return prof_lock_depth; }
void (*prof_inuse_hook)(uint64_t inuse_bytes);

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

void **prof_table_grow(void **table, size_t old_size, size_t new_size, size_t (*slot)(const void *, size_t)) {
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
  if (table != NULL) sys_free_metadata(table, old_size * sizeof *table);
  prof_hot.counters.metadata_bytes += (new_size - old_size) * sizeof *nt;
  return (void **)nt;
}

static size_t bucket_slot(const void *node, size_t size) {
  return ((const struct prof_bucket *)node)->hash & (size - 1);
}

static int table_grow(void) {
  size_t nsize = prof_hot.bucket_table_size ? prof_hot.bucket_table_size * 2 : 512; /* a page */
  void **nt = prof_table_grow((void **)prof_hot.bucket_table, prof_hot.bucket_table_size, nsize, bucket_slot);
  if (nt == NULL) return -1;
  prof_hot.bucket_table = (struct prof_bucket **)nt;
  prof_hot.bucket_table_size = nsize;
  return 0;
}

struct prof_bucket *prof_bucket_get(const uintptr_t *frames, int n, uint64_t size) {
  uint64_t h = hash_stack(frames, n, size);
  if (prof_hot.bucket_table_size != 0) {
    struct prof_bucket *first = prof_hot.bucket_table[h & (prof_hot.bucket_table_size - 1)];
    for (struct prof_bucket *b = first; b != NULL; b = b->next) {
      if (b->hash == h && b->size == size && b->nframes == (uint32_t)n &&
          memcmp(b->frames, frames, (size_t)n * sizeof *frames) == 0)
        return b;
    }
  }
  if (prof_hot.bucket_count >= prof_hot.bucket_table_size && table_grow() != 0 &&
      prof_hot.bucket_table_size == 0)
    return NULL;
  size_t bytes = sizeof(struct prof_bucket) + (size_t)n * sizeof *frames;
  struct prof_bucket *b = persistentalloc(bytes, 8);
  if (b == NULL) return NULL;
  prof_hot.counters.metadata_bytes += bytes;
  b->hash = h;
  b->size = size;
  b->nframes = (uint32_t)n;
  memcpy(b->frames, frames, (size_t)n * sizeof *frames);
  size_t j = h & (prof_hot.bucket_table_size - 1);
  b->next = prof_hot.bucket_table[j];
  prof_hot.bucket_table[j] = b;
  prof_hot.bucket_count++;
  return b;
}

struct prof_bucket_snap *prof_snapshot(size_t *n) {
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
  for (size_t i = 0; i < prof_hot.bucket_table_size && k < cap; i++) {
    for (struct prof_bucket *b = prof_hot.bucket_table[i]; b != NULL && k < cap; b = b->next) {
      struct prof_bucket_snap *o = &out[k++];
      o->frames = b->frames;
      o->nframes = b->nframes;
      o->size = b->size;
      o->alloc_count = b->alloc_count;
      o->alloc_bytes = b->alloc_bytes;
      o->free_count = b->free_count;
      o->free_bytes = b->free_bytes;
    }
  }
  prof_lock_exit();
  *n = k;
  return out;
}

void prof_get_totals(struct prof_totals *out) {
  prof_lock_enter();
  out->rate = prof_rate();
  out->samples = prof_hot.counters.samples;
  out->sampled_frees = prof_hot.counters.sampled_frees;
  out->buckets = prof_hot.bucket_count;
  out->inuse_bytes = prof_hot.counters.inuse_bytes;
  out->alloc_bytes = prof_hot.counters.alloc_bytes;
  out->peak_inuse_bytes = prof_hot.counters.peak_inuse_bytes;
  out->metadata_bytes = prof_hot.counters.metadata_bytes + prof_stack_metadata_bytes();
  prof_lock_exit();
}

void prof_fork_prepare(void) {
  lock_acquire(&prof_hot.lock);
  prof_stack_fork_prepare();
}

void prof_fork_parent(void) {
  prof_stack_fork_release();
  lock_release(&prof_hot.lock);
}
