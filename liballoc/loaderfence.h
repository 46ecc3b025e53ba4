/* loaderfence.h: keeps the profiler's calls into the dynamic loader and the
 * unwinders out of fork. Design overview: malloc.c; the fork handlers:
 * malloc_fork.c.
 *
 * glibc 2.36 does not reset every loader lock in a fork child: a thread
 * inside dl_iterate_phdr at the fork (it holds _dl_load_write_lock) leaves
 * the child unable to dlopen or to walk its objects, forever. libgcc's and
 * libunwind's caches have locks of their own with the same problem. So the
 * profiler makes every such call between alloc_loader_enter() and alloc_loader_exit(),
 * and the allocator's fork prepare handler waits, in loader_fence_fork_prepare,
 * until no thread is between the two (new entries wait meanwhile), before it
 * takes any allocator lock. The calls in between may allocate freely.
 *
 * Only calls that hold those locks go inside: never dlopen, dlsym or dladdr.
 * They take the loader's main lock (dl_load_lock), which glibc does reset in
 * the child, and which a program thread holds for as long as the constructor
 * of a library it dlopens runs: a constructor that waits for the thread that
 * forks would deadlock a fenced dlsym, and the fork with it. Nothing that
 * holds the write lock or an unwinder's lock runs the program's code. The
 * profiler's one dlopen (of its dumping half) is kept out of fork another
 * way, which waits only once that dlopen holds dl_load_lock
 * (mprof_dumper.c, "Loads and forks").
 *
 * Calls nest on one thread (a signal handler that samples while its thread is
 * inside; a dump's symbolizer calling the unwinder's lookup), and a thread that
 * is inside never waits for a fork, so the fence cannot deadlock a thread
 * against itself. The program's own loader calls are not fenced: their
 * hazards at fork are the program's, with or without us. */
#ifndef ALLOC_LOADERFENCE_H
#define ALLOC_LOADERFENCE_H

#include "internal.h"

ALLOC_HIDDEN_BEGIN

/* Around every call to dl_iterate_phdr or an unwinder (_Unwind_Find_FDE,
 * _Unwind_Backtrace, libunwind). Waits while a fork is being prepared.
 * Async-signal-safe. */
ALLOC_FOR_DUMPER void alloc_loader_enter(void);
ALLOC_FOR_DUMPER void alloc_loader_exit(void);

/* The fork handlers (malloc_fork.c's, first in its prepare, last in parent
 * and child). */
void loader_fence_fork_prepare(void);
void loader_fence_fork_parent(void);
void loader_fence_fork_child(void);

/* Threads between alloc_loader_enter and alloc_loader_exit now (tests). */
unsigned loader_fence_inside(void);
/* Whether the calling thread is between the two: it may hold the loader's
 * write lock (inside dl_iterate_phdr) or an unwinder's, so it must not
 * create a thread, whose TLS set-up takes the loader's TLS lock while a
 * thread in dlclose holds that one and waits for the write lock
 * (alloc_may_create_thread). */
int alloc_loader_this_thread_inside(void);

ALLOC_HIDDEN_END
#endif /* ALLOC_LOADERFENCE_H */
