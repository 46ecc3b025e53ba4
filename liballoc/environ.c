/* environ.c: where the allocator and the profiler read their settings
 * (ALLOC_*, ALLOCPROF_*). Declared in internal.h; overview in malloc.c.
 *
 * A process that runs with more privilege than the user who started it
 * (setuid, setgid, file capabilities: the kernel's AT_SECURE) ignores every
 * one of them, as glibc ignores MALLOC_CHECK_ and LD_PRELOAD there: otherwise
 * whoever runs a setuid program linked with liballoc (or any program, when
 * liballoc is in /etc/ld.so.preload) could make it create or append to any
 * file they name, as root. secure_getenv answers NULL in such a process.
 *
 * The ALLOC_* values are parsed once, by settings.c's parsers (the module
 * that parses ALLOCPROF_*): a bad value prints one line and keeps its
 * default. */
#define _GNU_SOURCE
#include <stdlib.h>

#include "internal.h"
#include "settings.h"

const char *alloc_env(const char *name) { return secure_getenv(name); }

static struct alloc_settings settings;
static int settings_read; /* acquire/release: settings is filled */

static void settings_bad(const char *name, const char *value, const char *why) {
  alloc_say(name, "=", value, why, NULL);
}

const struct alloc_settings *alloc_settings(void) {
  if (!__atomic_load_n(&settings_read, __ATOMIC_ACQUIRE)) {
    alloc_settings_parse(alloc_env, &settings, settings_bad);
    __atomic_store_n(&settings_read, 1, __ATOMIC_RELEASE);
  }
  return &settings;
}
