/* mprof_log.c: the shards (mprof_state.h) and their sample logs. Each
 * thread that samples or frees a sampled object writes what it did into
 * the log of its own shard, and the logs are charged (the buckets' counts,
 * the in-use estimate, the peak) in batches, all of them at once, in the
 * order the events happened. Overview: mprof.h; the records and the
 * sample and free paths: mprof_sampled.c.
 *
 * Why. A sample used to take prof_lock and write the bucket of its stack,
 * the profiler's counters, the records' pool and one of sixteen shards
 * picked by its span: lines that every sampling thread writes, so on two
 * cores each sample waited for the other core's copy of a dozen of them
 * (bench/RESULTS.md §12 and §13: three quarters of glibc_thread's profiler
 * cost). Now a sample and the free of what it sampled write the thread's
 * own shard, and prof_lock is taken once per batch.
 *
 * The peak stays exact. An event carries the monotonic clock's time, read
 * after everything it depends on is done: a sample's before its record can
 * be found, a free's after the record is taken out, so a free always has a
 * later time than its sample. A flush takes prof_lock and, for as long as
 * it takes to swap the halves of each log, every shard's lock: one cut,
 * with every event appended before it in and every later one after it.
 * Then it replays the events of all logs merged by time, as one history,
 * checking the peak after each sample as prof_lock's holders did when
 * samples were charged at once. A sample can be appended to its log after
 * another thread's free of it was flushed (the sampling thread enters the
 * record in another thread's shard, and appends to its own log after that
 * lock is let go): the free then waits in the record (SAMPLED_FREED_EARLY)
 * and both are charged with the sample.
 *
 * When a flush happens: when a log is full (PROF_LOG_EVENTS), before a
 * dump's snapshot or totals, before a resize of a sampled object, in a
 * fork's child (the other threads are gone, their events are not), and
 * when a thread without a shard charges an event at once. The in-use hook
 * (triggers) hears the highest in-use of each flush, and after each sample
 * the last flush's figure plus what the thread's own log adds; the trigger
 * thread's totals flush every log before it decides.
 *
 * Threads. A thread gets a shard at its first sample or sampled free. When
 * it exits, its shard is orphaned, with the records of the objects it
 * sampled that still live; the next thread that needs a shard adopts it,
 * records, log, spares and all. So shards are never freed (a free may
 * still be looking at one through a span), and there are never more of
 * them than threads that sampled at once. */
#define _GNU_SOURCE /* PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "metalloc.h"
#include "mprof.h"
#include "mprof_state.h"
#include "sys.h"

static __thread struct prof_shard *shard_mine __attribute__((tls_model("initial-exec")));
static __thread int shard_gone __attribute__((tls_model("initial-exec"))); /* thread exited */

/* A thread's own key, whose destructor orphans its shard when it exits (a
 * thread whose requests were all large has no thread cache, whose
 * destructor could do it). */
static pthread_key_t shard_key;
static int shard_key_made; /* prof_lock; then read-only */

/* prof_lock guards these */
static struct prof_shard *shards;
static size_t nshards;
static struct prof_shard **heap; /* a flush's merge: shards by their next event's time */
static size_t heap_cap;
static struct fixalloc shard_alloc;
static int shard_alloc_ready;

/* The in-use estimate as of the last change under prof_lock, for the hook
 * of a sample that takes no lock (relaxed atomic). */
static uint64_t inuse_published;

/* ---- the events' clock --------------------------------------------------------
 * Only the order of events matters, and a flush turns the time of a sample
 * that made a new peak into wall-clock time. clock_gettime costs about
 * 30 ns a call here (two a sampled object: a tenth of glibc_thread's
 * profiler cost); the x86 time-stamp counter, read with one instruction,
 * costs a few. It orders events on different cores only where its counters
 * agree across cores, which is what Linux checks before it makes the TSC
 * its clocksource: so the counter is used when the clocksource is "tsc",
 * CLOCK_MONOTONIC otherwise. Chosen once, at the first shard (prof_lock),
 * before any event. */
enum { CLOCK_UNSET, CLOCK_TSC, CLOCK_MONO };
static int event_clock = CLOCK_UNSET; /* written before any shard exists */
static int64_t tsc_base, mono_base;   /* a (counter, ns) pair from that time */

static int64_t mono_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#if defined(__x86_64__)
#include <fcntl.h>
#include <unistd.h>
#include <x86intrin.h>

static void event_clock_choose(void) {
  char name[16] = {0};
  int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource",
                O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = read(fd, name, sizeof name - 1);
    close(fd);
    if (n < 0) name[0] = 0;
  }
  event_clock = strncmp(name, "tsc\n", 4) == 0 ? CLOCK_TSC : CLOCK_MONO;
  tsc_base = (int64_t)__rdtsc();
  mono_base = mono_now();
}

int64_t prof_log_now(void) { return event_clock == CLOCK_TSC ? (int64_t)__rdtsc() : mono_now(); }
#else
static void event_clock_choose(void) { event_clock = CLOCK_MONO; }

int64_t prof_log_now(void) { return mono_now(); }
#endif

/* A factor and an offset that turn an event's time into CLOCK_REALTIME ns,
 * now (a flush's start). With the counter, its rate is measured against
 * CLOCK_MONOTONIC since the first shard; before 10 ms have passed, too
 * short to measure, every event is taken as happening now. */
static void event_clock_to_realtime(double *scale, int64_t *event_now, int64_t *real_now) {
  *real_now = prof_realtime_now();
  *scale = 1.0;
  *event_now = prof_log_now();
  if (event_clock != CLOCK_TSC) return;
  int64_t ns = mono_now() - mono_base;
  int64_t ticks = *event_now - tsc_base;
  *scale = ns > 10000000 && ticks > 0 ? (double)ns / (double)ticks : 0.0;
}

/* ---- locks ----------------------------------------------------------------- */

/* prof_held's PROF_HELD_SHARD marks this thread inside a shard's lock, so
 * that a signal handler's free or sample does not wait for it. The mark
 * covers the lock calls themselves (set before acquiring, cleared after
 * releasing): a handler landing inside pthread_mutex_lock or _unlock sees
 * it too. The signal fences keep the compiler from moving the mark past
 * the calls. */
void prof_shard_lock(struct prof_shard *sh) {
  prof_held |= PROF_HELD_SHARD;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  lock_acquire(&sh->lock);
}

void prof_shard_unlock(struct prof_shard *sh) {
  lock_release(&sh->lock);
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  prof_held &= ~PROF_HELD_SHARD;
}

uint64_t prof_shard_lock_room(struct prof_shard *sh) {
  uint64_t top = 0;
  for (;;) {
    prof_shard_lock(sh);
    if (sh->nevents < PROF_LOG_EVENTS) return top;
    prof_shard_unlock(sh);
    uint64_t t = prof_log_flush();
    if (t > top) top = t;
  }
}

/* ---- records kept ready ------------------------------------------------------
 * Taken and given back by the owner without a lock (a signal handler never
 * samples inside a sample: mprof_guard), filled by the owner under
 * prof_lock. */

static void spares_fill(struct prof_shard *sh) {
  while (sh->nspares < PROF_SHARD_SPARES) {
    struct sampled_obj *o = prof_record_new();
    if (o == NULL) break;
    o->next = sh->spares;
    sh->spares = o;
    sh->nspares++;
  }
}

struct sampled_obj *prof_shard_take_spare(struct prof_shard *sh) {
  struct sampled_obj *o = sh->spares;
  if (o == NULL) return NULL;
  sh->spares = o->next;
  sh->nspares--;
  o->next = NULL;
  return o;
}

void prof_shard_put_spare(struct prof_shard *sh, struct sampled_obj *o) {
  memset(o, 0, sizeof *o);
  o->next = sh->spares;
  sh->spares = o;
  sh->nspares++;
}

/* ---- this thread's shard ---------------------------------------------------- */

/* The thread is exiting (shard_key's destructor): its shard waits for the
 * next thread that needs one, its later events are charged at once. */
static void shard_key_exit(void *arg) {
  (void)arg;
  shard_gone = 1; /* this thread's later events are charged at once */
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  struct prof_shard *sh = shard_mine;
  if (sh == NULL || prof_lock_held_here()) return;
  prof_lock_enter();
  shard_mine = NULL;
  sh->orphan = 1; /* the next thread that needs a shard takes it */
  prof_lock_exit();
}

/* prof_lock held. */
static struct prof_shard *shard_make(void) {
  for (struct prof_shard *sh = shards; sh != NULL; sh = sh->next)
    if (sh->orphan) { /* orphans are only written under prof_lock */
      sh->orphan = 0;
      return sh;
    }
  if (!shard_alloc_ready) {
    shard_key_made = pthread_key_create(&shard_key, shard_key_exit) == 0;
    event_clock_choose();
    fixalloc_init(&shard_alloc, sizeof(struct prof_shard));
    shard_alloc_ready = 1;
  }
  if (nshards + 1 > heap_cap) {
    size_t ncap = heap_cap ? heap_cap * 2 : 64;
    struct prof_shard **nh = sys_alloc(ncap * sizeof *nh);
    if (nh == NULL) return NULL;
    if (heap != NULL) {
      sys_free_metadata(heap, heap_cap * sizeof *heap);
      prof_hot.counters.metadata_bytes -= heap_cap * sizeof *heap;
    }
    prof_hot.counters.metadata_bytes += ncap * sizeof *nh;
    heap = nh;
    heap_cap = ncap;
  }
  struct prof_shard *sh = fixalloc_alloc(&shard_alloc);
  if (sh == NULL) return NULL;
  prof_hot.counters.metadata_bytes += sizeof *sh;
  /* adaptive, as prof_lock: a waiter spins a little before it sleeps */
  sh->lock = (alloc_lock){PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP};
  sh->next = shards;
  shards = sh;
  nshards++;
  return sh;
}

struct prof_shard *prof_shard_mine(void) {
  struct prof_shard *sh = shard_mine;
  if (likely(sh != NULL) || shard_gone || prof_lock_held_here()) return sh;
  prof_lock_enter();
  /* set under the lock: a signal handler's free cannot make a second one */
  if (shard_mine == NULL) shard_mine = shard_make();
  sh = shard_mine;
  prof_lock_exit();
  /* outside the lock: a key's value may need memory */
  if (sh != NULL && shard_key_made) pthread_setspecific(shard_key, sh);
  return sh;
}

struct prof_bucket *prof_shard_bucket(struct prof_shard *sh, const uintptr_t *frames, int n,
                                      uint64_t size) {
  uint64_t h = prof_stack_hash(frames, n, size);
  struct prof_bucket **slot = &sh->cache[h & (PROF_SHARD_CACHE - 1)];
  struct prof_bucket *b = *slot;
  if (b != NULL && sh->spares != NULL && b->hash == h && b->size == size &&
      b->nframes == (uint32_t)n && !LOAD_RELAXED(&b->retired) &&
      memcmp(b->frames, frames, (size_t)n * sizeof *frames) == 0)
    return b;
  prof_lock_enter();
  b = prof_bucket_get(frames, n, size);
  spares_fill(sh);
  prof_lock_exit();
  if (b != NULL) *slot = b;
  return b;
}

/* ---- the log ------------------------------------------------------------------ */

int prof_log_append(struct prof_shard *sh, struct sampled_obj *o, int64_t when, int is_free) {
  struct prof_event *e = &sh->ev[sh->side][sh->nevents++];
  e->when = when;
  e->obj = (uintptr_t)o | (uintptr_t)(is_free != 0);
  sh->pending += is_free ? -(int64_t)o->estimate : (int64_t)o->estimate;
  return sh->nevents == PROF_LOG_EVENTS;
}

uint64_t prof_log_inuse_view(const struct prof_shard *sh) {
  int64_t v = (int64_t)LOAD_RELAXED(&inuse_published) + sh->pending;
  return v > 0 ? (uint64_t)v : 0;
}

void prof_inuse_published_set(void) {
  STORE_RELAXED(&inuse_published, prof_hot.counters.inuse_bytes);
}

/* ---- charging ----------------------------------------------------------------- */

void prof_charge_sample(struct sampled_obj *o, int64_t when_realtime) {
  struct prof_bucket *b = o->bucket;
  prof_bucket_keep_peak(b);
  b->alloc_count++;
  b->alloc_bytes += o->size;
  prof_hot.counters.samples++;
  prof_hot.counters.alloc_bytes += o->estimate;
  if (o->charge == SAMPLED_FREED_EARLY) {
    b->free_count++;
    b->free_bytes += o->size;
    prof_hot.counters.sampled_frees++;
    prof_record_release(o);
    return;
  }
  o->charge = SAMPLED_CHARGED;
  prof_hot.counters.inuse_bytes += o->estimate;
  prof_peak_check(when_realtime);
}

void prof_charge_free(struct sampled_obj *o) {
  if (o->charge != SAMPLED_CHARGED) {
    o->charge = SAMPLED_FREED_EARLY; /* charged with its sample */
    return;
  }
  struct prof_bucket *b = o->bucket;
  prof_bucket_keep_peak(b);
  b->free_count++;
  b->free_bytes += o->size;
  prof_hot.counters.sampled_frees++;
  prof_hot.counters.inuse_bytes -= o->estimate;
  prof_record_release(o);
}

/* ---- the flush ------------------------------------------------------------------- */

/* The next event of a shard's log in a flush (prof_lock held). */
static const struct prof_event *next_event(const struct prof_shard *sh) {
  return &sh->ev[sh->side ^ 1][sh->cursor];
}

static void heap_down(size_t n, size_t i) {
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) return;
    if (c + 1 < n && next_event(heap[c + 1])->when < next_event(heap[c])->when) c++;
    if (next_event(heap[i])->when <= next_event(heap[c])->when) return;
    struct prof_shard *t = heap[i];
    heap[i] = heap[c];
    heap[c] = t;
    i = c;
  }
}

uint64_t prof_logs_flush(int locked) {
  /* The cut: every shard's lock at once, for as long as it takes to swap
   * its log's halves. The replay holds prof_lock alone, so a thread that
   * samples or frees meanwhile does not wait for it. */
  if (!locked)
    for (struct prof_shard *sh = shards; sh != NULL; sh = sh->next) lock_acquire(&sh->lock);
  size_t n = 0;
  for (struct prof_shard *sh = shards; sh != NULL; sh = sh->next) {
    sh->taken = sh->nevents;
    sh->cursor = 0;
    if (sh->nevents != 0) {
      sh->side ^= 1;
      heap[n++] = sh;
    }
    sh->nevents = 0;
    sh->pending = 0;
  }
  if (!locked)
    for (struct prof_shard *sh = shards; sh != NULL; sh = sh->next) lock_release(&sh->lock);
  uint64_t top = prof_hot.counters.inuse_bytes;
  if (n != 0) {
    double scale;
    int64_t event_now, real_now;
    event_clock_to_realtime(&scale, &event_now, &real_now);
    for (size_t i = n / 2; i-- > 0;) heap_down(n, i);
    while (n != 0) {
      struct prof_shard *sh = heap[0];
      struct prof_event e = *next_event(sh);
      struct sampled_obj *o = (struct sampled_obj *)(e.obj & ~(uintptr_t)1);
      if (e.obj & 1)
        prof_charge_free(o);
      else
        prof_charge_sample(o, real_now - (int64_t)((double)(event_now - e.when) * scale));
      if (prof_hot.counters.inuse_bytes > top) top = prof_hot.counters.inuse_bytes;
      if (++sh->cursor == sh->taken) heap[0] = heap[--n];
      heap_down(n, 0);
    }
  }
  prof_inuse_published_set();
  return top;
}

uint64_t prof_log_flush(void) {
  if (prof_lock_held_here()) return 0;
  prof_lock_enter();
  uint64_t top = prof_logs_flush(0);
  prof_lock_exit();
  return top;
}

/* ---- forks -------------------------------------------------------------------- */

void prof_shards_fork_prepare(void) {
  for (struct prof_shard *sh = shards; sh != NULL; sh = sh->next) lock_acquire(&sh->lock);
}

void prof_shards_fork_release(void) {
  for (struct prof_shard *sh = shards; sh != NULL; sh = sh->next) lock_release(&sh->lock);
}

void prof_shards_fork_child(void) {
  /* Only the forking thread lives on: the others' events are charged (their
   * samples are the child's objects too), and their shards wait for the
   * child's threads to adopt them. */
  for (struct prof_shard *sh = shards; sh != NULL; sh = sh->next)
    if (sh != shard_mine) sh->orphan = 1;
  /* The charges give bitmaps back under their leaf lock, which this thread
   * holds since the prepare: let it go meanwhile (no other thread runs). */
  prof_sampled_fork_release();
  prof_logs_flush(1);
  prof_sampled_fork_prepare();
}
