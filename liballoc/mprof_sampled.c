/* mprof_sampled.c: recording a sample, and the sampled objects that are
 * still live, so that their free is charged to the bucket their allocation
 * was. A record maps an address to its bucket, size and the in-use
 * estimate it added. A span with at least one sampled object has its
 * `sampled` flag set, and a small one a bitmap of which objects: the flag
 * is all an unsampled free looks at, and in a flagged span the bit.
 * Overview: mprof.h.
 *
 * Where the records live. In the shard (mprof_state.h) that owns their
 * span: the shard of the first thread that sampled in it, for as long as
 * the span has sampled objects. A span's records, `sampled` flag, count and
 * bitmap are its shard's, under that shard's lock, as Go's specials hang
 * off their span under the span's lock. A thread's objects mostly come from
 * spans its own cache carves, so a thread that frees what it sampled takes
 * its own shard's lock and nothing else, in lines no other core writes: a
 * sample enters its record there and appends its event to the log beside
 * it, a free takes the record out and appends its own. What the two mean
 * for the bucket, the in-use estimate and the peak is charged later, in
 * time order, by a flush of every log under prof_lock (mprof_log.c).
 *
 * Lock order: prof_lock, then shard locks (a flush's cut takes them all;
 * any other thread holds one at a time), then the bitmaps' leaf lock. The
 * records come from a fixalloc under prof_lock; each shard keeps a few
 * ready, and a flush gives the freed ones back. */
#define _GNU_SOURCE /* PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP */
#include <string.h>

#include "arena.h"
#include "metalloc.h"
#include "mspan.h"
#include "mprof.h"
#include "mprof_state.h"
#include "sys.h"

uint64_t prof_shard_metadata_bytes;

/* ---- the spans' bitmaps ------------------------------------------------------
 * By word count order (mspan_bits_order), for spans of more than 64
 * objects; a smaller span uses its own sampledWord. Under a leaf lock of
 * their own: a sample takes a bitmap holding a shard's lock, where
 * prof_lock cannot be taken. */
static struct fixalloc bits_alloc[MSPAN_BITS_ORDERS];
static int bits_ready;
static alloc_lock bits_lock = {PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP};

static unsigned bits_order(const struct mspan *s) { return mspan_bits_order(s->nwords); }

static uint64_t *bits_get(unsigned order) {
  lock_acquire(&bits_lock);
  if (!bits_ready) {
    for (unsigned k = 0; k < MSPAN_BITS_ORDERS; k++)
      fixalloc_init(&bits_alloc[k], sizeof(uint64_t) << k);
    bits_ready = 1;
  }
  uint64_t *bits = fixalloc_alloc(&bits_alloc[order]);
  lock_release(&bits_lock);
  if (bits != NULL) ADD_RELAXED(&prof_shard_metadata_bytes, sizeof(uint64_t) << order);
  return bits;
}

static void bits_put(uint64_t *bits, unsigned order) {
  size_t bytes = sizeof(uint64_t) << order;
  memset(bits, 0, bytes);
  lock_acquire(&bits_lock);
  fixalloc_free(&bits_alloc[order], bits);
  lock_release(&bits_lock);
  SUB_RELAXED(&prof_shard_metadata_bytes, bytes);
}

void prof_sampled_fork_prepare(void) { lock_acquire(&bits_lock); }

void prof_sampled_fork_release(void) { lock_release(&bits_lock); }

/* Marks p's bit in its small span's bitmap (made on first use). Returns -1
 * when no bitmap could be had. The span's shard's lock held. */
static int sampled_bit_set(struct mspan *s, uintptr_t p) {
  if (s->state != SPAN_SMALL) return 0;
  if (s->sampledBits == NULL) {
    uint64_t *bits = &s->sampledWord; /* all zero */
    if (s->nwords > 1 && (bits = bits_get(bits_order(s))) == NULL) return -1;
    __atomic_store_n(&s->sampledBits, bits, __ATOMIC_RELEASE);
  }
  uintptr_t i = mspan_object_index(s, p);
  __atomic_fetch_or(&s->sampledBits[i >> 6], (uint64_t)1 << (i & 63), __ATOMIC_RELAXED);
  return 0;
}

/* Clears p's bit; with the span's last sample, detaches the bitmap into o,
 * whose charge frees it. The span's shard's lock held. A free() that read
 * the old pointer just before reads a bitmap that stays mapped (fixalloc
 * memory is never returned), and is only asking about an object that is
 * not sampled: if another span's bitmap by then says yes, it finds no
 * record. */
static void sampled_bit_clear(struct mspan *s, uintptr_t p, struct sampled_obj *o) {
  if (s->state != SPAN_SMALL || s->sampledBits == NULL) return;
  uintptr_t i = mspan_object_index(s, p);
  __atomic_fetch_and(&s->sampledBits[i >> 6], ~((uint64_t)1 << (i & 63)), __ATOMIC_RELAXED);
  if (s->nsampled == 0) {
    if (s->sampledBits != &s->sampledWord) { /* the span's own word stays, all zero */
      o->bits = s->sampledBits;
      o->bits_order = (uint16_t)bits_order(s);
    }
    __atomic_store_n(&s->sampledBits, NULL, __ATOMIC_RELEASE);
  }
}

/* ---- records ---------------------------------------------------------------- */

struct sampled_obj *prof_record_new(void) {
  if (!prof_hot.obj_alloc_ready) {
    fixalloc_init(&prof_hot.obj_alloc, sizeof(struct sampled_obj));
    prof_hot.obj_alloc_ready = 1;
  }
  struct sampled_obj *o = fixalloc_alloc(&prof_hot.obj_alloc);
  if (o != NULL) prof_hot.counters.metadata_bytes += sizeof *o;
  return o;
}

void prof_record_release(struct sampled_obj *o) {
  if (o->bits != NULL) bits_put(o->bits, o->bits_order);
  fixalloc_free(&prof_hot.obj_alloc, o);
  prof_hot.counters.metadata_bytes -= sizeof *o;
}

/* ---- a shard's table -------------------------------------------------------- */

static size_t obj_slot(uintptr_t addr, size_t table_size) {
  uint64_t h = (uint64_t)addr * 0x9e3779b97f4a7c15ull;
  return (size_t)(h >> 32) & (table_size - 1);
}

static size_t obj_node_slot(const void *node, size_t size) {
  return obj_slot(((const struct sampled_obj *)node)->addr, size);
}

/* sh locked. */
static int table_grow(struct prof_shard *sh) {
  if (sh->table_size == 0) {
    sh->table = sh->first_heads;
    sh->table_size = PROF_SHARD_FIRST_HEADS;
    return 0;
  }
  size_t nsize = sh->table_size * 2;
  int first = sh->table == sh->first_heads; /* inside the shard: not to be unmapped */
  void **nt = prof_table_grow((void **)sh->table, sh->table_size, nsize, obj_node_slot, !first);
  if (nt == NULL) return -1;
  ADD_RELAXED(&prof_shard_metadata_bytes,
              (uint64_t)prof_table_grow_bytes(sh->table_size, nsize, !first));
  sh->table = (struct sampled_obj **)nt;
  sh->table_size = nsize;
  return 0;
}

/* The shard that owns span s, locked; with none, me claims it (NULL: none
 * claimed, and NULL returned). The owner can change until its lock is
 * held: a span's last record taken out lets it go. */
static struct prof_shard *owner_lock(struct mspan *s, struct prof_shard *me) {
  for (;;) {
    struct prof_shard *sh = __atomic_load_n(&s->sampledShard, __ATOMIC_ACQUIRE);
    if (sh == NULL) {
      if (me == NULL) return NULL;
      if (!__atomic_compare_exchange_n(&s->sampledShard, &sh, me, 0, __ATOMIC_ACQ_REL,
                                       __ATOMIC_ACQUIRE))
        continue;
      sh = me;
    }
    prof_shard_lock(sh);
    if (LOAD_RELAXED(&s->sampledShard) == sh) return sh;
    prof_shard_unlock(sh);
  }
}

/* A span with no sampled object left belongs to no shard. sh locked. */
static void owner_release(struct mspan *s) {
  if (s->nsampled == 0) __atomic_store_n(&s->sampledShard, NULL, __ATOMIC_RELEASE);
}

/* Enters o (its addr set) in sh, which owns its span s. sh locked. */
static int table_insert(struct prof_shard *sh, struct mspan *s, struct sampled_obj *o) {
  if ((sh->count >= sh->table_size && table_grow(sh) != 0) || sampled_bit_set(s, o->addr) != 0) {
    owner_release(s);
    return -1;
  }
  size_t j = obj_slot(o->addr, sh->table_size);
  o->next = sh->table[j];
  sh->table[j] = o;
  sh->count++;
  if (s->nsampled++ == 0) STORE_RELAXED(&s->sampled, 1);
  return 0;
}

/* The record of address a in sh, or NULL; unlinked if remove. sh locked. */
static struct sampled_obj *table_find(struct prof_shard *sh, struct mspan *s, uintptr_t a,
                                      int remove) {
  if (sh->table_size == 0) return NULL;
  struct sampled_obj **link = &sh->table[obj_slot(a, sh->table_size)];
  for (struct sampled_obj *o = *link; o != NULL; link = &o->next, o = o->next) {
    if (o->addr != a) continue;
    if (remove) {
      *link = o->next;
      o->next = NULL;
      sh->count--;
      if (--s->nsampled == 0) STORE_RELAXED(&s->sampled, 0);
      sampled_bit_clear(s, a, o);
      owner_release(s);
    }
    return o;
  }
  return NULL;
}

/* ---- samples ---------------------------------------------------------------- */

/* The size a bucket is keyed by: the object's block size (its size class,
 * or its pages), as Go's profiles do. Keying by the requested size would
 * make a bucket per distinct request from one call site (and the profiler's
 * memory grow with them); the bucket's bytes still add up the requested
 * sizes, so rate-1 profiles stay exact. */
static uint64_t bucket_key(const struct mspan *s) {
  return s->state == SPAN_SMALL ? s->elemsize : (uint64_t)s->npages * PAGE_BYTES;
}

void prof_inuse_hook(uint64_t inuse) {
  const struct mprof_dumper *d = mprof_dumper(0);
  if (d != NULL && d->inuse != NULL) d->inuse(inuse);
}

/* Whether to record a sample now: profiling is on and the thread was not
 * inside the profiler (it is now, until mprof_guard_exit). */
static int sampling_enter(void) {
  return mprof_rate() != 0 && !prof_lock_held_here() && mprof_guard_enter();
}

/* A sample of a thread without a shard (exiting, or memory short), charged
 * at once after a flush, so that it comes after every event before it. Its
 * span must belong to a shard already: a thread without one cannot claim. */
static void record_now(void *p, struct mspan *s, size_t size, uint64_t estimate,
                       const uintptr_t *frames, int n) {
  uint64_t inuse = 0;
  int recorded = 0;
  prof_lock_enter();
  prof_logs_flush(0);
  struct prof_bucket *b = prof_bucket_get(frames, n, bucket_key(s));
  struct sampled_obj *o = b != NULL ? prof_record_new() : NULL;
  if (o != NULL) {
    o->addr = (uintptr_t)p;
    o->bucket = b;
    o->size = size;
    o->estimate = estimate;
    struct prof_shard *sh = owner_lock(s, NULL);
    if (sh != NULL) {
      recorded = table_insert(sh, s, o) == 0;
      prof_shard_unlock(sh);
    }
    if (recorded) {
      prof_charge_sample(o, prof_realtime_now());
      prof_inuse_published_set();
      inuse = prof_hot.counters.inuse_bytes;
    } else {
      prof_record_release(o);
    }
  }
  prof_lock_exit();
  if (recorded) prof_inuse_hook(inuse);
}

/* Enters p's record in the shard of its span and its sample in the thread's
 * log, once the stack is known. */
static void record_frames(void *p, size_t size, const uintptr_t *frames, int n) {
  struct mspan *s = span_of((uintptr_t)p);
  if (s == NULL) return;
  uint64_t estimate = (uint64_t)((double)size * mprof_scale((double)size, mprof_rate()));
  struct prof_shard *me = prof_shard_mine();
  if (me == NULL) {
    record_now(p, s, size, estimate, frames, n);
    return;
  }
  struct prof_bucket *b = prof_shard_bucket(me, frames, n, bucket_key(s));
  struct sampled_obj *o = b != NULL ? prof_shard_take_spare(me) : NULL;
  if (o == NULL) return;
  o->addr = (uintptr_t)p;
  o->bucket = b;
  o->size = size;
  o->estimate = estimate;
  /* the time before the record can be found: any free of it comes later */
  int64_t when = prof_log_now();
  struct prof_shard *sh = owner_lock(s, me);
  if (table_insert(sh, s, o) != 0) {
    prof_shard_unlock(sh);
    prof_shard_put_spare(me, o);
    return;
  }
  uint64_t top = 0; /* the highest in-use of a flush made here */
  if (sh != me || me->nevents == PROF_LOG_EVENTS) {
    /* a span another thread sampled in first, or a log a signal handler's
     * frees filled */
    prof_shard_unlock(sh);
    top = prof_shard_lock_room(me);
  }
  int full = prof_log_append(me, o, when, 0);
  uint64_t inuse = prof_log_inuse_view(me);
  prof_shard_unlock(me);
  if (full) inuse = prof_log_flush();
  prof_inuse_hook(inuse > top ? inuse : top);
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

/* ---- resizes and frees ---------------------------------------------------------- */

int prof_sampled_resize(struct mspan *s, void *p, size_t size) {
  if (prof_lock_held_here()) return 0; /* a signal handler inside the lock */
  uint64_t key = bucket_key(s);
  uint64_t rate = mprof_rate();
  uint64_t inuse = 0;
  int found = 0;
  prof_lock_enter();
  prof_logs_flush(0); /* p's sample is charged, and everything before now */
  /* p is the caller's: nothing frees it meanwhile, so its record stays
   * valid once the shard's lock is let go */
  struct prof_shard *sh = owner_lock(s, NULL);
  struct sampled_obj *o = NULL;
  if (sh != NULL) {
    o = table_find(sh, s, (uintptr_t)p, 0);
    prof_shard_unlock(sh);
  }
  int64_t now = prof_realtime_now();
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
    prof_peak_check(now);
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
      prof_peak_check(now);
      o->bucket = nb;
      o->size = size;
      o->estimate = estimate;
      inuse = prof_hot.counters.inuse_bytes;
    }
    found = 1;
  }
  prof_inuse_published_set();
  prof_lock_exit();
  if (found && mprof_guard_enter()) {
    prof_inuse_hook(inuse);
    mprof_guard_exit();
  }
  return found;
}

int prof_sampled_free(struct mspan *s, void *p) {
  /* The bookkeeping happens even inside the profiler (a dump freeing what
   * was sampled): a stale entry would be charged to the next object at the
   * same address. No profiler lock is ever held across malloc or free; only
   * a signal handler that interrupted this thread inside one can get here
   * holding it, and then the entry must stay (the one case where the
   * profile may go slightly wrong, rather than deadlock). */
  if (prof_lock_held_here()) return 0;
  struct prof_shard *me = prof_shard_mine();
  /* p's record, if p is sampled, keeps its span's owner where it is */
  struct prof_shard *sh = owner_lock(s, NULL);
  if (sh == NULL) return 0;
  struct sampled_obj *o = table_find(sh, s, (uintptr_t)p, 1);
  if (o == NULL) {
    prof_shard_unlock(sh);
    return 0;
  }
  uint64_t top = 0; /* the highest in-use of a flush made here */
  if (sh != me || me->nevents == PROF_LOG_EVENTS) {
    prof_shard_unlock(sh);
    if (me == NULL) { /* charged at once, after every event before it */
      prof_lock_enter();
      prof_logs_flush(0);
      prof_charge_free(o);
      prof_inuse_published_set();
      prof_lock_exit();
      return 1;
    }
    top = prof_shard_lock_room(me);
  }
  /* the time after the record is gone: later than its sample's */
  int full = prof_log_append(me, o, prof_log_now(), 1);
  prof_shard_unlock(me);
  if (full) {
    uint64_t t = prof_log_flush();
    if (t > top) top = t;
  }
  /* A free lowers in-use, which no trigger waits for; but a flush it made
   * may have charged samples that raised it. */
  if (top != 0 && mprof_guard_enter()) {
    prof_inuse_hook(top);
    mprof_guard_exit();
  }
  return 1;
}
