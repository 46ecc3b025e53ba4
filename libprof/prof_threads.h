/* prof_threads.h: what the dumping half's own threads, the profiler thread
 * (triggers.c) and the HTTP listener (http_server.c), share: their names,
 * whether the program has left them alone, and their one-line messages
 * (prof_threads.c). Overview of the profiler: liballoc/mprof.h. */
#ifndef PROF_THREADS_H
#define PROF_THREADS_H

#pragma GCC visibility push(hidden)

/* The names our threads carry (pthread_setname_np; 15 bytes at most). */
#define PROF_THREAD_NAME "allocprof"
#define PROF_HTTP_THREAD_NAME "allocprof-http"

/* Whether the program's main thread has ended (pthread_exit) and only
 * threads named as ours are left. glibc ends the process when its last
 * thread ends: then none of ours may be the one that keeps it alive, and
 * each returns, so the process exits with status 0 as it would have
 * without us. Reads /proc; cheap while the main thread lives. */
int prof_main_thread_ended(void);

/* One line on stderr in one write (lines of two threads don't mix):
 * formatted here, written by liballoc's alloc_say (internal.h), which adds
 * the "allocprof: " prefix and the newline, and is the profiler's only
 * writer to fd 2. */
void prof_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#pragma GCC visibility pop
#endif /* PROF_THREADS_H */
