/* internal.h: constants, fatal errors, debug asserts and the lock shared by
 * every part of liballoc. Design overview: malloc.c. */
#ifndef ALLOC_INTERNAL_H
#define ALLOC_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* The declarations of every internal header sit between these two, so they
 * are hidden: liballoc.so calls and reads its internals directly, never
 * through the PLT or GOT. (System headers must stay outside: their symbols
 * live in libc.) Public symbols say ALLOC_EXPORT. */
#define ALLOC_HIDDEN_BEGIN _Pragma("GCC visibility push(hidden)")
#define ALLOC_HIDDEN_END _Pragma("GCC visibility pop")

ALLOC_HIDDEN_BEGIN

/* ---- Geometry ------------------------------------------------------------ */

#define PAGE_SHIFT 13 /* the heap's page: 8 KiB */
#define PAGE_BYTES ((uintptr_t)1 << PAGE_SHIFT)
#define PAGE_MASK (PAGE_BYTES - 1)

#define ARENA_SHIFT 26 /* heap arenas: 64 MiB, aligned */
#define ARENA_BYTES ((uintptr_t)1 << ARENA_SHIFT)
#define PAGES_PER_ARENA (ARENA_BYTES / PAGE_BYTES)

/* User addresses on x86-64 and arm64 Linux fit in 48 bits. The arena map
 * covers all of them, so any pointer can be looked up. Its first level is
 * 1024 entries (8 KiB of BSS), each for 256 GiB of address space; a leaf
 * is for 4096 arenas (64 KiB), made when first needed (arena.h). */
#define HEAP_ADDR_BITS 48
#define ARENA_L1_BITS 10
#define ARENA_L2_BITS (HEAP_ADDR_BITS - ARENA_SHIFT - ARENA_L1_BITS)

/* The heap's first address hint (arena.c), a multiple of 256 GiB. Under
 * ThreadSanitizer, whose shadow memory owns 0x00c0<<32, one inside its
 * application range, so that the near leaf and the flat span map (arena.h)
 * are tested there too. */
#if defined(__SANITIZE_THREAD__)
#define ALLOC_HEAP_HINT ((uintptr_t)0x5600 << 32)
#else
#define ALLOC_HEAP_HINT ((uintptr_t)0x00c0 << 32)
#endif

/* The largest request we try to serve: anything larger cannot be mapped on
 * a 48-bit address space anyway, and rounding it up could overflow. */
#define MAX_ALLOC_BYTES ((size_t)1 << 46)

#define CACHE_LINE 64

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define ALLOC_HIDDEN __attribute__((visibility("hidden")))
/* What liballoc.so offers the dumping half of the profiler (libprof, a
 * library of its own: liballoc/mprof.h): exported, so that library can link
 * to it, but protected, so that liballoc's own calls always reach liballoc's
 * definition, whatever else in the process has the same name. Nothing else
 * but the public API is exported. */
#ifdef ALLOC_CORE_BUILD
#define ALLOC_FOR_DUMPER __attribute__((visibility("protected")))
#else /* the dumping half, which links to them */
#define ALLOC_FOR_DUMPER __attribute__((visibility("default")))
#endif
/* Symbols of the public ABI; everything else is hidden in liballoc.so. */
#define ALLOC_EXPORT __attribute__((visibility("default")))

static inline uintptr_t align_up(uintptr_t x, uintptr_t a) { return (x + a - 1) & ~(a - 1); }
static inline uintptr_t align_down(uintptr_t x, uintptr_t a) { return x & ~(a - 1); }
static inline int is_pow2(size_t x) { return x != 0 && (x & (x - 1)) == 0; }

/* Relaxed atomics for counters and maps read without a lock: plain moves on
 * x86-64, but visible to ThreadSanitizer as intended races. */
#define LOAD_RELAXED(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE_RELAXED(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define ADD_RELAXED(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define SUB_RELAXED(p, v) __atomic_fetch_sub((p), (v), __ATOMIC_RELAXED)
/* A counter only its thread writes: a plain increment, which the compiler
 * may combine with neighbouring code. Readers from other threads use
 * LOAD_RELAXED in functions marked NO_TSAN (a torn or stale read of a
 * statistic is acceptable; a lock or atomic on the fast path is not). */
#define BUMP_OWNED(p, v) (*(p) += (v))
#define NO_TSAN __attribute__((no_sanitize("thread")))

/* ---- Fatal errors ---------------------------------------------------------
 * Messages go straight to fd 2 and never allocate: the allocator may be the
 * thing that is broken. */
__attribute__((noreturn, cold)) void alloc_throw(const char *msg);
__attribute__((noreturn, cold)) void alloc_throw_ptr(const char *msg, const void *p);
/* Writes s to fd without allocating. */
void alloc_write_str(int fd, const char *s);
/* Formats v in base 10 (or 16 with "0x") into buf, returns buf. */
char *alloc_fmt_u64(char *buf, uint64_t v, int hex);

/* ---- Debug levels (CMake ALLOC_DEBUG) -------------------------------------
 * 0: none; 1: cheap asserts; 2: also the expensive *_valid() walkers.
 * The expression is always type-checked, even when compiled out. */
#ifndef ALLOC_DEBUG
#define ALLOC_DEBUG 0
#endif
#define ALLOC_STR2(x) #x
#define ALLOC_STR(x) ALLOC_STR2(x)
#define ALLOC_ASSERT(c)                                                             \
  do {                                                                              \
    if (ALLOC_DEBUG >= 1 && !(c))                                                   \
      alloc_throw("assertion failed: " #c " at " __FILE__ ":" ALLOC_STR(__LINE__)); \
  } while (0)
#define ALLOC_ASSERT_EXPENSIVE(c)                                                             \
  do {                                                                                        \
    if (ALLOC_DEBUG >= 2 && !(c))                                                             \
      alloc_throw("expensive assertion failed: " #c " at " __FILE__ ":" ALLOC_STR(__LINE__)); \
  } while (0)

/* ---- Locks ----------------------------------------------------------------
 * A pthread mutex: it never allocates, sleeps under contention, and can be
 * re-initialised in a forked child. */
typedef struct {
  pthread_mutex_t m;
} alloc_lock;
#define ALLOC_LOCK_INIT \
  { PTHREAD_MUTEX_INITIALIZER }
static inline void lock_acquire(alloc_lock *l) { pthread_mutex_lock(&l->m); }
static inline void lock_release(alloc_lock *l) { pthread_mutex_unlock(&l->m); }
static inline void lock_reinit(alloc_lock *l) { pthread_mutex_init(&l->m, NULL); }

/* malloc_thread.c: whether the scavenger may start its thread from here:
 * the calling thread has a thread cache of its own (a thread being made or
 * torn down by the C library has none) and is not inside the profiler's
 * loader calls (loaderfence.h). */
int alloc_may_create_thread(void);

/* Milliseconds on the monotonic clock. */
ALLOC_FOR_DUMPER uint64_t alloc_now_ms(void);

/* thread.c: starts fn(arg) on a detached thread with every signal blocked,
 * with a stack of stack_bytes (0: the default). Returns 0 or an errno
 * value. The calling thread's signal mask is unchanged. */
ALLOC_FOR_DUMPER int alloc_thread_start(void *(*fn)(void *), void *arg, size_t stack_bytes);

/* ---- Settings (environ.c) ----------------------------------------------- */

/* The value of the setting name (ALLOC_* or ALLOCPROF_*) in the environment,
 * or NULL when unset or when the process is privileged (setuid, setgid,
 * capabilities): such a process ignores every setting. */
ALLOC_FOR_DUMPER const char *alloc_env(const char *name);

/* The ALLOC_* settings (settings.h), parsed at the first call, which
 * alloc_init makes under its lock: a bad value has printed its line then. */
struct alloc_settings;
const struct alloc_settings *alloc_settings(void);

/* One line on stderr, "allocprof: " and the parts (NULL-terminated list)
 * joined, in a single write so that lines of two threads never mix; cut
 * to 640 bytes. Allocates nothing: the allocator and the sampler use it,
 * and the dumping half, for every message the profiler prints. */
ALLOC_FOR_DUMPER void alloc_say(const char *first, ...);

ALLOC_HIDDEN_END
#endif /* ALLOC_INTERNAL_H */
