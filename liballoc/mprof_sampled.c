/* mprof_sampled.c: recording a sample, and the sampled objects that are
 * still live, so that their free is charged to the bucket their allocation
 * was. A record maps an address to its bucket, size and the in-use
 * estimate it added. A span with at least one sampled object has its
 * `sampled` flag set, and a small one a bitmap of which objects: the flag
 * is all an unsampled free looks at, and in a flagged span the bit.
 * Overview: mprof.h.
 *
 * Where the records live. Not in one table under prof_lock, which every
 * sampled free used to take (a process-wide lock, and the lines of the
 * profiler's counters, written by every thread that freed a sampled
 * object): they are spread over NSHARDS tables by their span, and a span's
 * records, `sampled` flag, count and bitmap all belong to its shard, under
 * that shard's lock (as Go's specials hang off their span, under the
 * span's lock). A sampled free takes that lock alone: it unlinks the record
 * and moves it to its shard's list of frees to charge. The charge itself
 * (the bucket's free count and bytes, the in-use estimate) is made under
 * prof_lock, later (prof_sampled_drain): by a dump's snapshot or totals, a
 * resize, and a sample that could make a new peak or is the sixteenth
 * since the last drain. So the estimate still moves only under prof_lock
 * and the peak stays one consistent state (mprof_peak.c), in which a free
 * happens when it is charged: a peak is never recorded with a free left
 * uncharged that had returned before, and no dump misses one.
 *
 * Lock order: prof_lock, then a shard lock (a sample inserts its record
 * holding both; a free takes its shard's alone). The records and bitmaps
 * come from fixallocs under prof_lock: a free only unlinks, the drain
 * gives the memory back. */
#define _GNU_SOURCE /* PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP */
#include <string.h>

#include "arena.h"
#include "metalloc.h"
#include "mspan.h"
#include "mprof.h"
#include "mprof_state.h"
#include "sys.h"

struct sampled_obj {
  struct sampled_obj *next; /* chain in its shard's table, then in its pending list */
  uintptr_t addr;
  struct prof_bucket *bucket;
  uint64_t size;
  uint64_t estimate; /* unsampled bytes this sample stands for */
  uint64_t *bits;    /* freed: its span's bitmap, let go with the span's last sample */
  uint32_t bits_order;
};

/* Spans' sampledBits, by word count order (mspan_bits_order). prof_lock. */
static struct fixalloc bits_alloc[MSPAN_BITS_ORDERS];

static unsigned bits_order(const struct mspan *s) { return mspan_bits_order(s->nwords); }

/* ---- the shards ------------------------------------------------------------
 * Sixteen: two threads freeing sampled objects of different spans meet on
 * one lock once in sixteen. Each shard's table starts in a static array of
 * SHARD_FIRST_HEADS heads (all sixteen share one page of bss, as the one
 * table did) and grows, doubling, into metadata memory. */
#define NSHARDS 16
#define SHARD_FIRST_HEADS 32

struct sampled_shard {
  alloc_lock lock;
  struct sampled_obj **table;
  size_t table_size, count;
  /* Freed records, to charge (prof_sampled_drain): pushed under the shard
   * lock, so that a fork finds none half pushed; taken whole, without it. */
  struct sampled_obj *pending;
} __attribute__((aligned(CACHE_LINE)));

static struct sampled_shard shards[NSHARDS] = {
    [0 ... NSHARDS - 1] = {.lock = {PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP}}};
static struct sampled_obj *shard_first_heads[NSHARDS][SHARD_FIRST_HEADS];

/* Spans are fixalloc'd structs of two cache lines: hash the pointer. */
static struct sampled_shard *shard_of(const struct mspan *s) {
  uint64_t h = (uint64_t)((uintptr_t)s >> 7) * 0x9e3779b97f4a7c15ull;
  return &shards[h >> 60];
}
_Static_assert(NSHARDS == 16, "shard_of takes the top four bits");

/* prof_held's PROF_HELD_SHARD marks this thread inside a shard lock, so
 * that a signal handler's free or sample does not wait for it. The mark
 * covers the lock calls themselves (set before acquiring, cleared after
 * releasing): a handler landing inside pthread_mutex_lock or _unlock sees
 * it too. The signal fences keep the compiler from moving the mark past
 * the calls. */
static void shard_lock(struct sampled_shard *sh) {
  prof_held |= PROF_HELD_SHARD;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  lock_acquire(&sh->lock);
}

static void shard_unlock(struct sampled_shard *sh) {
  lock_release(&sh->lock);
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  prof_held &= ~PROF_HELD_SHARD;
}

/* Marks p's bit in its small span's bitmap (made on first use). Returns -1
 * when no bitmap could be had. prof_lock and the span's shard lock held. */
static int sampled_bit_set(struct mspan *s, uintptr_t p) {
  if (s->state != SPAN_SMALL) return 0;
  if (s->sampledBits == NULL) {
    uint64_t *bits = &s->sampledWord; /* all zero */
    if (s->nwords > 1) {
      bits = fixalloc_alloc(&bits_alloc[bits_order(s)]);
      if (bits == NULL) return -1;
      prof_hot.counters.metadata_bytes += bits_alloc[bits_order(s)].size;
    }
    __atomic_store_n(&s->sampledBits, bits, __ATOMIC_RELEASE);
  }
  uintptr_t i = mspan_object_index(s, p);
  __atomic_fetch_or(&s->sampledBits[i >> 6], (uint64_t)1 << (i & 63), __ATOMIC_RELAXED);
  return 0;
}

/* Clears p's bit; with the span's last sample, detaches the bitmap into o,
 * whose drain frees it. The span's shard lock held. A free() that read the
 * old pointer just before reads a bitmap that stays mapped (fixalloc memory
 * is never returned), and is only asking about an object that is not
 * sampled: if another span's bitmap by then says yes, it finds no record. */
static void sampled_bit_clear(struct mspan *s, uintptr_t p, struct sampled_obj *o) {
  if (s->state != SPAN_SMALL || s->sampledBits == NULL) return;
  uintptr_t i = mspan_object_index(s, p);
  __atomic_fetch_and(&s->sampledBits[i >> 6], ~((uint64_t)1 << (i & 63)), __ATOMIC_RELAXED);
  if (s->nsampled == 0) {
    if (s->sampledBits != &s->sampledWord) { /* the span's own word stays, all zero */
      o->bits = s->sampledBits;
      o->bits_order = bits_order(s);
    }
    __atomic_store_n(&s->sampledBits, NULL, __ATOMIC_RELEASE);
  }
}

static size_t obj_slot(uintptr_t addr, size_t table_size) {
  uint64_t h = (uint64_t)addr * 0x9e3779b97f4a7c15ull;
  return (size_t)(h >> 32) & (table_size - 1);
}

static size_t obj_node_slot(const void *node, size_t size) {
  return obj_slot(((const struct sampled_obj *)node)->addr, size);
}

/* prof_lock and sh's lock held. */
static int shard_grow(struct sampled_shard *sh) {
  if (sh->table_size == 0) {
    sh->table = shard_first_heads[sh - shards];
    sh->table_size = SHARD_FIRST_HEADS;
    return 0;
  }
  size_t nsize = sh->table_size * 2;
  int first = sh->table == shard_first_heads[sh - shards]; /* bss: not to be unmapped */
  void **nt = prof_table_grow((void **)sh->table, sh->table_size, nsize, obj_node_slot, !first);
  if (nt == NULL) return -1;
  sh->table = (struct sampled_obj **)nt;
  sh->table_size = nsize;
  return 0;
}

/* Enters o (its addr set) in the table of its span s. prof_lock held. */
static int shard_insert(struct mspan *s, struct sampled_obj *o) {
  struct sampled_shard *sh = shard_of(s);
  int rc = -1;
  shard_lock(sh);
  if ((sh->count < sh->table_size || shard_grow(sh) == 0) && sampled_bit_set(s, o->addr) == 0) {
    size_t j = obj_slot(o->addr, sh->table_size);
    o->next = sh->table[j];
    sh->table[j] = o;
    sh->count++;
    if (s->nsampled++ == 0) STORE_RELAXED(&s->sampled, 1);
    rc = 0;
  }
  shard_unlock(sh);
  return rc;
}

/* The record of p, of span s, or NULL. For a resize, which nothing can
 * free meanwhile (p is the caller's), so the record stays valid after the
 * shard lock is let go. */
static struct sampled_obj *shard_find(struct mspan *s, uintptr_t a) {
  struct sampled_shard *sh = shard_of(s);
  struct sampled_obj *found = NULL;
  shard_lock(sh);
  if (sh->table_size != 0) {
    for (struct sampled_obj *o = sh->table[obj_slot(a, sh->table_size)]; o != NULL; o = o->next)
      if (o->addr == a) {
        found = o;
        break;
      }
  }
  shard_unlock(sh);
  return found;
}

/* A freed record's charge, made by prof_sampled_drain (prof_lock held). */
static void charge_free(struct sampled_obj *o) {
  prof_bucket_keep_peak(o->bucket);
  o->bucket->free_count++;
  o->bucket->free_bytes += o->size;
  prof_hot.counters.sampled_frees++;
  prof_hot.counters.inuse_bytes -= o->estimate;
  if (o->bits != NULL) {
    size_t bytes = bits_alloc[o->bits_order].size;
    memset(o->bits, 0, bytes);
    fixalloc_free(&bits_alloc[o->bits_order], o->bits);
    prof_hot.counters.metadata_bytes -= bytes;
  }
  fixalloc_free(&prof_hot.obj_alloc, o);
  prof_hot.counters.metadata_bytes -= sizeof *o;
}

void prof_sampled_drain(void) {
  for (unsigned k = 0; k < NSHARDS; k++) {
    if (LOAD_RELAXED(&shards[k].pending) == NULL) continue;
    struct sampled_obj *o = __atomic_exchange_n(&shards[k].pending, NULL, __ATOMIC_ACQUIRE);
    while (o != NULL) {
      struct sampled_obj *next = o->next;
      charge_free(o);
      o = next;
    }
  }
}

void prof_sampled_fork_prepare(void) {
  for (unsigned k = 0; k < NSHARDS; k++) lock_acquire(&shards[k].lock);
}

void prof_sampled_fork_release(void) {
  for (unsigned k = NSHARDS; k-- > 0;) lock_release(&shards[k].lock);
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

#define DRAIN_EVERY 16 /* samples; a power of two */

/* Charges p's bucket and enters p in its shard: the sample's bookkeeping,
 * under prof_lock, once the stack is known. */
static void record_frames(void *p, size_t size, const uintptr_t *frames, int n) {
  uint64_t rate = mprof_rate();
  struct mspan *s = span_of((uintptr_t)p);
  uint64_t estimate = (uint64_t)((double)size * mprof_scale((double)size, rate));
  uint64_t inuse = 0;
  int recorded = 0;
  prof_lock_enter();
  /* The frees not charged yet only lower the estimate: they must be charged
   * before this sample can make a new peak, so that the peak is exact, and
   * every DRAIN_EVERY samples, so that their records go back; not at every
   * sample (a look at each shard). */
  if ((prof_hot.counters.samples & (DRAIN_EVERY - 1)) == 0 ||
      prof_hot.counters.inuse_bytes + estimate > prof_hot.counters.peak_inuse_bytes)
    prof_sampled_drain();
  if (!prof_hot.obj_alloc_ready) {
    fixalloc_init(&prof_hot.obj_alloc, sizeof(struct sampled_obj));
    for (unsigned k = 0; k < MSPAN_BITS_ORDERS; k++)
      fixalloc_init(&bits_alloc[k], sizeof(uint64_t) << k);
    prof_hot.obj_alloc_ready = 1;
  }
  struct prof_bucket *b = s != NULL ? prof_bucket_get(frames, n, bucket_key(s)) : NULL;
  struct sampled_obj *o = b != NULL ? fixalloc_alloc(&prof_hot.obj_alloc) : NULL;
  if (o != NULL) {
    o->addr = (uintptr_t)p;
    o->bucket = b;
    o->size = size;
    o->estimate = estimate;
    o->bits = NULL;
    if (shard_insert(s, o) != 0) {
      fixalloc_free(&prof_hot.obj_alloc, o);
    } else {
      prof_hot.counters.metadata_bytes += sizeof *o;
      prof_bucket_keep_peak(b);
      b->alloc_count++;
      b->alloc_bytes += size;
      prof_hot.counters.samples++;
      prof_hot.counters.alloc_bytes += estimate;
      prof_hot.counters.inuse_bytes += estimate;
      prof_peak_check();
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

int prof_sampled_resize(struct mspan *s, void *p, size_t size) {
  if (prof_lock_held_here()) return 0; /* a signal handler inside the lock */
  uint64_t key = bucket_key(s);
  uint64_t rate = mprof_rate();
  uint64_t inuse = 0;
  int found = 0;
  prof_lock_enter();
  prof_sampled_drain();
  struct sampled_obj *o = shard_find(s, (uintptr_t)p);
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
  struct sampled_obj *found = NULL;
  /* The bookkeeping happens even inside the profiler (a dump freeing what
   * was sampled): a stale entry would be charged to the next object at the
   * same address. No profiler lock is ever held across malloc or free; only
   * a signal handler that interrupted this thread inside one can get here
   * holding it, and then the entry must stay (the one case where the
   * profile may go slightly wrong, rather than deadlock). */
  if (prof_lock_held_here()) return 0;
  struct sampled_shard *sh = shard_of(s);
  shard_lock(sh);
  if (sh->table_size != 0) {
    struct sampled_obj **link = &sh->table[obj_slot(a, sh->table_size)];
    for (struct sampled_obj *o = *link; o != NULL; link = &o->next, o = o->next) {
      if (o->addr != a) continue;
      *link = o->next;
      sh->count--;
      if (--s->nsampled == 0) STORE_RELAXED(&s->sampled, 0);
      sampled_bit_clear(s, a, o);
      o->next = LOAD_RELAXED(&sh->pending);
      while (!__atomic_compare_exchange_n(&sh->pending, &o->next, o, 1, __ATOMIC_RELEASE,
                                          __ATOMIC_RELAXED)) {
      }
      found = o;
      break;
    }
  }
  shard_unlock(sh);
  /* No in-use hook: a free lowers in-use, which no trigger waits for, and
   * the estimate moves at the drain. */
  return found != NULL;
}
