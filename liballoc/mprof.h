/* mprof.h: the heap profiler's sampling half, inside liballoc, and how the
 * dumping half meets it.
 *
 * As in the Go runtime, where mprof.go keeps the sampling record beside
 * malloc.go and runtime/pprof writes the profiles, the profiler is two
 * layers. This one (mprof_sampler.c, mprof_stack.c with its CFI reader
 * mprof_cfi.c, mprof_buckets.c, mprof_objects.c, mprof_sampled.c,
 * mprof_peak.c) runs on
 * the allocation path, never calls malloc, and takes one lock only after
 * the stack is captured. The dumping half (libprof/: profile.c,
 * symbolize.c, triggers.c, ...) builds and writes profiles later, on a
 * thread with sampling disabled, and may allocate. It is a library of its
 * own that liballoc loads only when a process wants profiles; it reaches
 * this layer through the functions marked ALLOC_FOR_DUMPER, and this layer
 * reaches it only through the hook it registers ("The hook" below).
 *
 * How a sample happens (one path, liballoc/malloc.c "Sampling"): each
 * thread cache counts down bytes_until_sample; an allocation that takes it
 * below zero draws the next distance from an exponential distribution whose
 * mean is the rate (mprof_sampler.c) and is recorded (mprof_sampled.c): its stack
 * walked with unwind rules cached for the whole process (mprof_stack.c), its
 * bucket of (stack, size) charged (mprof_buckets.c). The object's record
 * is entered in the table of its span's shard and its span flagged, so the
 * free of a sampled object can be charged to the same bucket while an
 * unsampled free pays only the test of that flag; a sampled free takes its
 * shard's lock, never the profiler's, and is charged at the next time that
 * lock is taken (mprof_sampled.c).
 *
 * Names after dlclose: a stack's addresses mean something only with the
 * objects that were loaded when it was captured. A new bucket records, per
 * frame, an entry of the registry of loaded objects (mprof_objects.c: path, build
 * ID, range, executable segments, told apart by content, never by pointers
 * the loader frees); a dump symbolizes a frame of an object unloaded since
 * from that record (libprof/profile.c): its own mapping at the range it had, names
 * from its file only if the file still has its build ID, else none, and
 * never from whatever is mapped at that address now. Existing buckets cost
 * nothing more per sample. */
#ifndef PROF_H
#define PROF_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

ALLOC_HIDDEN_BEGIN

/* Frames kept per stack: ALLOCPROF_MAX_FRAMES, PROF_DEFAULT_FRAMES unless
 * set, at most PROF_FRAMES_LIMIT. A deeper stack keeps its innermost frames
 * and ends in PROF_FRAME_TRUNCATED, an address no code has, which a dump
 * writes as a frame named "(truncated)": the cut stack stays one tower,
 * under a visible mark, instead of a new tower at the root. */
#define PROF_DEFAULT_FRAMES 64
#define PROF_FRAMES_LIMIT 256
#define PROF_FRAME_TRUNCATED ((uintptr_t)1)
#define PROF_DEFAULT_RATE 524288

struct mcache;
struct mspan;

/* ---- sampler.c ------------------------------------------------------------ */

/* Per-thread sampler state, kept in the thread cache. */
struct prof_sampler {
  int64_t bytes_until_sample; /* the fast path subtracts sizes from this */
  uint64_t rng;               /* xorshift state */
  uint64_t rate_epoch;        /* rate generation the distance was drawn with */
};

/* Reads ALLOCPROF_RATE and ALLOCPROF_SEED (allocator init). Bad values
 * print one line on stderr and leave profiling off. */
void prof_init(void);
/* Frames kept per stack (ALLOCPROF_MAX_FRAMES), 1..PROF_FRAMES_LIMIT. */
int prof_max_frames(void);
/* Bytes between samples (0: off, 1: every allocation). */
ALLOC_FOR_DUMPER uint64_t mprof_rate(void);
/* Sets the rate for every thread. The calling thread redraws its distance
 * at once; others when their current distance runs out (at most 4 MiB of
 * allocation later when profiling was off): such a distance was drawn at
 * the old rate, so the thread starts afresh there (prof_sampler_stale). */
ALLOC_FOR_DUMPER void mprof_set_rate(uint64_t rate);
/* mprof_set_rate's count of changes (mprof_sampler.c). */
extern uint64_t prof_rate_epoch;
/* Whether s's distance was drawn at a rate that is no longer in force (or
 * while profiling was off). The allocator then does not sample where that
 * distance ran out: it draws a distance at the new rate from there, as if
 * the thread had just started (malloc.c, sample_due). */
static inline int prof_sampler_stale(const struct prof_sampler *s) {
  return s->rate_epoch != __atomic_load_n(&prof_rate_epoch, __ATOMIC_RELAXED);
}
/* malloc.c: redraws the calling thread's distance at the current rate. */
void alloc_reset_thread_sampler(void);
/* malloc.c: the calling thread's next allocation goes down the sampling
 * path (prof_record_sample), whatever its size; returns 0, doing nothing,
 * for a thread without a cache of its own. mprof_dumper.c's load watch. */
int alloc_sample_next_here(void);
/* Sets up a new thread cache's sampler. */
void prof_sampler_init(struct prof_sampler *s);
/* Next distance in bytes for s at the current rate: exponential with mean
 * the rate; 0 at rate 1; a recheck distance of 4 MiB when off. Marks s
 * with the rate's epoch. */
int64_t prof_next_sample(struct prof_sampler *s);
/* log2(x) for a positive normal x, from a table: at most 4.5e-5 below the
 * true value, exact at powers of two. No libm (sampler.c says why). */
double prof_fastlog2(double x);
/* e^x without libm, within a few ulps of libm's exp for x <= 0 (0 below
 * -746; x above 709 is taken as 709). */
double prof_exp(double x);

/* ---- the per-thread guard ---------------------------------------------------
 * While a thread is inside the profiler (capturing, recording, dumping), its
 * own allocations are not sampled: no recursion, no self-deadlock. */
ALLOC_FOR_DUMPER int mprof_guard_enter(void); /* 0 if the thread was already inside */
ALLOC_FOR_DUMPER void mprof_guard_exit(void);

/* ---- Hooks called by the allocator (malloc.c) ----------------------------- */

/* Records p, just allocated with size bytes, as a sample: captures the
 * stack here, charges the bucket of (stack, p's block size) and enters p in
 * its shard's table. Does nothing when profiling is off or the
 * thread is already inside the profiler. Returns p, so that the
 * allocator's sampling path reaches it by a tail call and the unwinder
 * walks no frame of the allocator but this one. The caller has drawn the
 * thread's next distance already. */
void *prof_record_sample(void *p, size_t size);
/* p, sampled, was resized in place to size bytes: it moves to the bucket of
 * (its stack, size), without unwinding again. Returns 1 if p was sampled. */
int prof_sampled_resize(struct mspan *s, void *p, size_t size);
/* Whether p, of a span whose `sampled` flag is set, may be sampled: a
 * lock-free test of the span's bitmap for small spans (false only when p
 * is surely not sampled). */
static inline int prof_maybe_sampled(const struct mspan *s, const void *p);
/* Free of p, whose span is flagged as holding sampled objects. Returns 1 if
 * p was sampled (and is now forgotten; its bucket and the in-use estimate
 * are charged at the next drain, mprof_state.h). Takes the lock of p's
 * shard only. Call before p is reused. */
int prof_sampled_free(struct mspan *s, void *p);

/* ---- buckets.c: what dumps read ---------------------------------------- */

struct prof_bucket_snap {
  const uintptr_t *frames; /* return addresses, the allocator's caller first */
  const uint32_t *objects; /* per frame, the registry id of the object that
                              held it when the stack was first seen
                              (objects.h), 0 if none; NULL: none known */
  uint32_t nframes;
  uint64_t size;                     /* block size of its objects (size class or pages) */
  uint64_t alloc_count, alloc_bytes; /* sampled, raw */
  uint64_t free_count, free_bytes;   /* sampled, raw */
  uint64_t peak_count, peak_bytes;   /* sampled, raw: in use at the peak
                                        (mprof_totals' peak_inuse_bytes) */
};

/* A snapshot of every bucket in a malloc'd array (free() it); *n gets the
 * count. Call with the guard held. NULL with *n = 0 when there are none or
 * memory is short. The frames stay valid forever (buckets are never freed). */
ALLOC_FOR_DUMPER struct prof_bucket_snap *mprof_snapshot(size_t *n);

/* The registry of loaded objects (objects.h), for dumps. Entries made so
 * far: */
struct prof_object;
ALLOC_FOR_DUMPER uint32_t mprof_objects_known(void);
/* Marks closed every entry with id <= upto that live() does not find among
 * the objects loaded now, and retires the buckets that name it. live runs
 * under prof_lock: it must not allocate. */
ALLOC_FOR_DUMPER void mprof_objects_check(int (*live)(const struct prof_object *o, void *arg),
                                          void *arg, uint32_t upto);
/* A malloc'd array v[0..*n] (free() it) of the entries (v[id], id >= 1)
 * and whether each is closed; NULL when memory is short. The entries stay
 * valid forever. Call with the guard held. */
struct prof_object_view {
  const struct prof_object *object;
  int closed;
};
ALLOC_FOR_DUMPER struct prof_object_view *mprof_objects_snapshot(uint32_t *n);

struct prof_totals {
  uint64_t rate;
  uint64_t samples;       /* sampled allocations, cumulative */
  uint64_t sampled_frees; /* sampled objects freed */
  uint64_t buckets;
  uint64_t inuse_bytes;      /* estimated (unsampled) bytes in use */
  uint64_t alloc_bytes;      /* estimated bytes allocated, cumulative */
  uint64_t peak_inuse_bytes; /* highest inuse_bytes seen (since fork in a child) */
  uint64_t metadata_bytes;   /* memory the profiler itself holds */
  int64_t peak_time_nanos;   /* unix time of that peak in ns; 0: none yet */
};
ALLOC_FOR_DUMPER void mprof_get_totals(struct prof_totals *out);

/* Go's unsampling factor for objects of avg_size bytes at rate:
 * 1 / (1 - exp(-avg_size / rate)); 1 at rate 1 or less. */
ALLOC_FOR_DUMPER double mprof_scale(double avg_size, uint64_t rate);

/* ---- The hook: how the dumping half joins (mprof_dumper.c) -----------------
 *
 * The layers run one way. liballoc (the allocator and this sampling record)
 * needs nothing but libc and never calls into libprof (the dumping half:
 * building, symbolizing and writing profiles, the triggers) except through
 * the one hook below, which libprof registers when it is loaded. libprof
 * links to liballoc's functions marked ALLOC_FOR_DUMPER.
 *
 * libprof is liballoc_dump.so, installed beside liballoc.so. liballoc loads
 * it with dlopen only when it is needed: at load when a setting asks for
 * profiles (ALLOCPROF_OUT, ALLOCPROF_STREAM or a trigger), else at the first
 * allocprof_dump(). Always on a thread of the program that holds no lock of
 * liballoc's, never on the allocation path. A process that profiles nothing
 * maps no library of the profiler's.
 *
 * Both halves must come from one build: the dumping half uses liballoc's
 * internal functions and structures (ALLOC_FOR_DUMPER), which change from
 * one build to the next without a word. MPROF_DUMPER_ABI, which the hook
 * carries, is the build's identity, a hash of liballoc's headers generated
 * at build time (build_id.cmake, generated/mprof_build_id.h, included by
 * the two files that use it); liballoc refuses a hook with another. */
struct mprof_dumper {
  uint64_t abi;  /* MPROF_DUMPER_ABI as the registering side was built */
  uint32_t size; /* sizeof(struct mprof_dumper), likewise */
  /* After a sample or a resize, outside every lock and with the guard
   * held, with the new in-use estimate (in-use growth and peak dumps). Not
   * after a sampled free: that lowers the estimate, which no trigger waits
   * for, and is charged at the next drain. NULL: not wanted. */
  void (*inuse)(uint64_t inuse_bytes);
  /* allocprof_dump(path): 0, or -1 with a one-line message in err. */
  int (*dump_file)(const char *path, char *err, size_t errlen);
  /* A full unwinder (libunwind's unw_backtrace) for the stacks the walker
   * cannot follow, once a thread has used libgcc's for a while (stack.c).
   * NULL: libgcc's for every such stack. */
  int (*full_backtrace)(void **buf, int size);
  /* In a fork child, from liballoc's own child handler once every
   * allocator lock is free again: resets the dumping half (a dump in
   * progress is forgotten) and restarts its thread. Called by liballoc, not
   * registered with pthread_atfork: a handler registered while another
   * thread is inside fork() (a load racing a fork) is not run in that
   * fork's child, which would inherit the dump's lock held. NULL: nothing. */
  void (*fork_child)(void);
};
/* Registers d (static storage; a later call replaces it, NULL removes it).
 * Returns 0, or -1 (and a line on stderr) when d comes from another build
 * of the profiler: the caller must then switch itself off. */
ALLOC_FOR_DUMPER int mprof_register_dumper(const struct mprof_dumper *d);
/* The registered dumper, or NULL. With load set, loads liballoc_dump.so
 * first if nothing is registered yet (one line on stderr when that fails).
 * Never call with load set on the allocation path or holding a lock. */
const struct mprof_dumper *mprof_dumper(int load);
/* malloc_fork.c's fork handlers: prepare waits while a load of the dumping
 * half holds the loader's lock, and holds back one that has not taken it
 * yet; the child forgets a load that had not begun and reloads on demand
 * (mprof_dumper.c "Loads and forks"). */
void mprof_dumper_fork_prepare(void);
void mprof_dumper_fork_parent(void);
void mprof_dumper_fork_child(void);
/* prof_record_sample, first thing: the loading thread's first allocation
 * inside dlopen (mprof_dumper.c). mprof_load_watch is nonzero while a load
 * waits for it. */
extern int mprof_load_watch;
void mprof_dumper_load_watched(void);

/* ---- stack.c --------------------------------------------------------------- */

/* Captures the calling thread's stack into frames (at most max), skipping
 * the allocator's own frames. Returns the number of frames. */
int prof_capture_stack(uintptr_t *frames, int max);
/* Finds libgcc's unwinder (loading libgcc_s if need be), once: before the
 * first sample, from a program thread that holds no lock of liballoc's (at
 * load when sampling is on from the start, else when a rate is set).
 * Until then a stack is empty. */
void prof_stack_init(void);
/* Bytes of the walker's unwind-rule tables (part of the profiler's memory). */
uint64_t prof_stack_metadata_bytes(void);
/* Fork: holds the rule table's writer flag across fork (buckets.c calls these). */
void prof_stack_fork_prepare(void);
void prof_stack_fork_release(void);

/* Fork: the profiler's lock, taken before fork and released after it in
 * both processes (malloc_fork.c's handlers call these). */
void prof_fork_prepare(void);
void prof_fork_parent(void);
/* Fork child, prof_lock still held: the child's peak starts from what it
 * holds now (mprof_peak.c). */
void prof_peak_fork_child(void);

ALLOC_HIDDEN_END

#include "mspan.h"

static inline int prof_maybe_sampled(const struct mspan *s, const void *p) {
  if (s->state != SPAN_SMALL) return 1;
  uint64_t *bits = __atomic_load_n(&s->sampledBits, __ATOMIC_ACQUIRE);
  if (bits == NULL) return 1; /* bitmap not set up: ask the shard */
  uintptr_t i = mspan_object_index(s, (uintptr_t)p);
  return (int)((__atomic_load_n(&bits[i >> 6], __ATOMIC_RELAXED) >> (i & 63)) & 1);
}

#endif /* PROF_H */
