/* environ.c: where the allocator and the profiler read their settings
 * (ALLOC_*, ALLOCPROF_*). Declared in internal.h; overview in malloc.c.
 *
 * A process that runs with more privilege than the user who started it
 * (setuid, setgid, file capabilities: the kernel's AT_SECURE) ignores every
 * one of them, as glibc ignores MALLOC_CHECK_ and LD_PRELOAD there: otherwise
 * whoever runs a setuid program linked with liballoc (or any program, when
 * liballoc is in /etc/ld.so.preload) could make it create or append to any
 * file they name, as root. secure_getenv answers NULL in such a process. */
#define _GNU_SOURCE
#include <stdlib.h>

#include "internal.h"

const char *alloc_env(const char *name) { return secure_getenv(name); }
