/* mprof_sampled.c: recording a sample, and the table of sampled objects that are
 * still live, so that their free is charged to the bucket their allocation
 * was. The table maps an address to its bucket, size and the in-use
 * estimate it added. A span with at least one sampled object has its
 * `sampled` flag set, and a small one a bitmap of which objects: the flag
 * is all an unsampled free looks at, and in a flagged span the bit.
 * Overview: mprof.h. */
#include <string.h>

#include "arena.h"
#include "metalloc.h"
#include "mspan.h"
#include "mprof.h"
#include "mprof_state.h"
#include "sys.h"

struct sampled_obj {
  struct sampled_obj *next;
  uintptr_t addr;
  struct prof_bucket *bucket;
  uint64_t size;
  uint64_t estimate; /* unsampled bytes this sample stands for */
};

/* Spans' sampledBits, by word count order (mspan_bits_order). */
static struct fixalloc bits_alloc[MSPAN_BITS_ORDERS];

static unsigned bits_order(const struct mspan *s) { return mspan_bits_order(s->nwords); }

/* Marks p's bit in its small span's bitmap (made on first use). Returns -1
 * when no bitmap could be had. prof_lock held. */
static int sampled_bit_set(struct mspan *s, uintptr_t p) {
  if (s->state != SPAN_SMALL) return 0;
  if (s->sampledBits == NULL) {
    uint64_t *bits = fixalloc_alloc(&bits_alloc[bits_order(s)]);
    if (bits == NULL) return -1;
    prof_hot.counters.metadata_bytes += bits_alloc[bits_order(s)].size;
    __atomic_store_n(&s->sampledBits, bits, __ATOMIC_RELEASE);
  }
  uintptr_t i = mspan_object_index(s, p);
  __atomic_fetch_or(&s->sampledBits[i >> 6], (uint64_t)1 << (i & 63), __ATOMIC_RELAXED);
  return 0;
}

/* Clears p's bit; frees the bitmap with the span's last sample. prof_lock
 * held. A free() that read the old pointer just before reads a bitmap that
 * stays mapped (fixalloc memory is never returned), and is only asking
 * about an object that is not sampled. */
static void sampled_bit_clear(struct mspan *s, uintptr_t p) {
  if (s->state != SPAN_SMALL || s->sampledBits == NULL) return;
  uintptr_t i = mspan_object_index(s, p);
  __atomic_fetch_and(&s->sampledBits[i >> 6], ~((uint64_t)1 << (i & 63)), __ATOMIC_RELAXED);
  if (s->nsampled == 0) {
    uint64_t *bits = s->sampledBits;
    __atomic_store_n(&s->sampledBits, NULL, __ATOMIC_RELEASE);
    memset(bits, 0, bits_alloc[bits_order(s)].size);
    fixalloc_free(&bits_alloc[bits_order(s)], bits);
    prof_hot.counters.metadata_bytes -= bits_alloc[bits_order(s)].size;
  }
}

static size_t obj_slot(uintptr_t addr, size_t table_size) {
  uint64_t h = (uint64_t)addr * 0x9e3779b97f4a7c15ull;
  return (size_t)(h >> 32) & (table_size - 1);
}

static size_t obj_node_slot(const void *node, size_t size) {
  return obj_slot(((const struct sampled_obj *)node)->addr, size);
}

static int obj_table_grow(void) {
  size_t nsize = prof_hot.obj_table_size ? prof_hot.obj_table_size * 2 : 512; /* a page */
  void **nt =
      prof_table_grow((void **)prof_hot.obj_table, prof_hot.obj_table_size, nsize, obj_node_slot);
  if (nt == NULL) return -1;
  prof_hot.obj_table = (struct sampled_obj **)nt;
  prof_hot.obj_table_size = nsize;
  return 0;
}

/* The size a bucket is keyed by: the object's block size (its size class,
 * or its pages), as Go's profiles do. Keying by the requested size would
 * make a bucket per distinct request from one call site (and the profiler's
 * memory grow with them); the bucket's bytes still add up the requested
 * sizes, so rate-1 profiles stay exact. */
static uint64_t bucket_key(const struct mspan *s) {
  return s->state == SPAN_SMALL ? s->elemsize : (uint64_t)s->npages * PAGE_BYTES;
}

static void call_hook(uint64_t inuse) {
  const struct mprof_dumper *d = mprof_dumper(0);
  if (d != NULL && d->inuse != NULL) d->inuse(inuse);
}

/* Whether to record a sample now: profiling is on and the thread was not
 * inside the profiler (it is now, until mprof_guard_exit). */
static int sampling_enter(void) {
  return mprof_rate() != 0 && !prof_lock_held_here() && mprof_guard_enter();
}

/* Charges p's bucket and enters p in the table: the sample's bookkeeping,
 * under prof_lock, once the stack is known. */
static void record_frames(void *p, size_t size, const uintptr_t *frames, int n) {
  uint64_t rate = mprof_rate();
  struct mspan *s = span_of((uintptr_t)p);
  uint64_t estimate = (uint64_t)((double)size * mprof_scale((double)size, rate));
  uint64_t inuse = 0;
  int recorded = 0;
  prof_lock_enter();
  if (!prof_hot.obj_alloc_ready) {
    fixalloc_init(&prof_hot.obj_alloc, sizeof(struct sampled_obj));
    for (unsigned k = 0; k < MSPAN_BITS_ORDERS; k++)
      fixalloc_init(&bits_alloc[k], sizeof(uint64_t) << k);
    prof_hot.obj_alloc_ready = 1;
  }
  struct prof_bucket *b = s != NULL ? prof_bucket_get(frames, n, bucket_key(s)) : NULL;
  if (b != NULL && (prof_hot.obj_count < prof_hot.obj_table_size || obj_table_grow() == 0) &&
      sampled_bit_set(s, (uintptr_t)p) == 0) {
    struct sampled_obj *o = fixalloc_alloc(&prof_hot.obj_alloc);
    if (o != NULL) {
      prof_hot.counters.metadata_bytes += sizeof *o;
      o->addr = (uintptr_t)p;
      o->bucket = b;
      o->size = size;
      o->estimate = estimate;
      size_t j = obj_slot(o->addr, prof_hot.obj_table_size);
      o->next = prof_hot.obj_table[j];
      prof_hot.obj_table[j] = o;
      prof_hot.obj_count++;
      prof_bucket_keep_peak(b);
      b->alloc_count++;
      b->alloc_bytes += size;
      prof_hot.counters.samples++;
      prof_hot.counters.alloc_bytes += estimate;
      prof_hot.counters.inuse_bytes += estimate;
      prof_peak_check();
      if (s->nsampled++ == 0) STORE_RELAXED(&s->sampled, 1);
      inuse = prof_hot.counters.inuse_bytes;
      recorded = 1;
    }
  }
  prof_lock_exit();
  if (recorded) call_hook(inuse);
}

void *prof_record_sample(void *p, size_t size) {
  if (unlikely(__atomic_load_n(&mprof_load_watch, __ATOMIC_RELAXED) != 0))
    mprof_dumper_load_watched();
  if (!sampling_enter()) return p;
  /* one frame more than kept tells a cut stack from one that fits */
  uintptr_t frames[PROF_FRAMES_LIMIT + 1];
  int max = prof_max_frames();
  int n = prof_capture_stack(frames, max + 1);
  if (n > max) frames[max] = PROF_FRAME_TRUNCATED, n = max + 1;
  record_frames(p, size, frames, n);
  mprof_guard_exit();
  return p;
}

static struct sampled_obj *obj_find(uintptr_t a) {
  if (prof_hot.obj_table_size == 0) return NULL;
  struct sampled_obj *first = prof_hot.obj_table[obj_slot(a, prof_hot.obj_table_size)];
  for (struct sampled_obj *o = first; o != NULL; o = o->next)
    if (o->addr == a) return o;
  return NULL;
}

int prof_sampled_resize(struct mspan *s, void *p, size_t size) {
  if (prof_lock_held_here()) return 0; /* a signal handler inside the lock */
  uint64_t key = bucket_key(s);
  uint64_t rate = mprof_rate();
  uint64_t inuse = 0;
  int found = 0;
  prof_lock_enter();
  struct sampled_obj *o = obj_find((uintptr_t)p);
  if (o != NULL && key < 2 * o->bucket->size && 2 * key > o->bucket->size) {
    /* Within a factor of two of its bucket's size: stay there and let the
     * bucket's bytes follow the object, so a buffer grown a line at a time
     * makes a handful of buckets, not one per size. */
    struct prof_bucket *b = o->bucket;
    uint64_t estimate = (uint64_t)((double)size * mprof_scale((double)size, rate));
    prof_bucket_keep_peak(b);
    if (size > o->size)
      b->alloc_bytes += size - o->size;
    else
      b->alloc_bytes -= o->size - size;
    prof_hot.counters.inuse_bytes += estimate - o->estimate;
    if (estimate > o->estimate) prof_hot.counters.alloc_bytes += estimate - o->estimate;
    prof_peak_check();
    o->size = size;
    o->estimate = estimate;
    inuse = prof_hot.counters.inuse_bytes;
    found = 1;
  } else if (o != NULL) {
    /* Moved to the bucket of (its stack, its new size): no unwinding. */
    struct prof_bucket *b = o->bucket;
    struct prof_bucket *nb = prof_bucket_resized(b, key);
    if (nb != NULL) {
      uint64_t estimate = (uint64_t)((double)size * mprof_scale((double)size, rate));
      prof_bucket_keep_peak(b);
      prof_bucket_keep_peak(nb);
      b->free_count++;
      b->free_bytes += o->size;
      nb->alloc_count++;
      nb->alloc_bytes += size;
      prof_hot.counters.inuse_bytes += estimate - o->estimate;
      prof_hot.counters.alloc_bytes += estimate;
      prof_peak_check();
      o->bucket = nb;
      o->size = size;
      o->estimate = estimate;
      inuse = prof_hot.counters.inuse_bytes;
    }
    found = 1;
  }
  prof_lock_exit();
  if (found && mprof_guard_enter()) {
    call_hook(inuse);
    mprof_guard_exit();
  }
  return found;
}

int prof_sampled_free(struct mspan *s, void *p) {
  uintptr_t a = (uintptr_t)p;
  uint64_t inuse = 0;
  int found = 0;
  /* The bookkeeping happens even inside the profiler (a dump freeing what
   * was sampled): a stale entry would be charged to the next object at the
   * same address. prof_lock is never held across malloc or free; only a
   * signal handler that interrupted this thread inside the lock can get
   * here holding it, and then the entry must stay (the one case where the
   * profile may go slightly wrong, rather than deadlock). */
  if (prof_lock_held_here()) return 0;
  prof_lock_enter();
  if (prof_hot.obj_table_size != 0) {
    struct sampled_obj **link = &prof_hot.obj_table[obj_slot(a, prof_hot.obj_table_size)];
    for (struct sampled_obj *o = *link; o != NULL; link = &o->next, o = o->next) {
      if (o->addr != a) continue;
      *link = o->next;
      prof_hot.obj_count--;
      prof_bucket_keep_peak(o->bucket);
      o->bucket->free_count++;
      o->bucket->free_bytes += o->size;
      prof_hot.counters.sampled_frees++;
      prof_hot.counters.inuse_bytes -= o->estimate;
      if (--s->nsampled == 0) STORE_RELAXED(&s->sampled, 0);
      sampled_bit_clear(s, a);
      inuse = prof_hot.counters.inuse_bytes;
      fixalloc_free(&prof_hot.obj_alloc, o);
      prof_hot.counters.metadata_bytes -= sizeof *o;
      found = 1;
      break;
    }
  }
  prof_lock_exit();
  if (found && mprof_guard_enter()) {
    call_hook(inuse);
    mprof_guard_exit();
  }
  return found;
}
