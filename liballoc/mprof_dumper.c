/* mprof_dumper.c: the one hook between liballoc and the dumping half of the
 * profiler, and the loading of that half (liballoc_dump.so) when a process
 * first needs it. The design: mprof.h ("The hook").
 *
 * Where the library is: beside liballoc.so, as the loader found liballoc
 * (dladdr at load, made absolute then, before the program can change
 * directory). The build tree and an install put the two side by side.
 *
 * When: at load, from this file's constructor, if a setting asks for
 * profiles (trig_config_wanted); otherwise at the first allocprof_dump().
 * Both run on a program thread that holds no lock of liballoc's. The
 * library's constructor (libprof/triggers.c) registers its hook and sets
 * up the triggers; if it cannot be loaded, one line says why and, when the
 * settings asked for profiles, sampling is switched off.
 *
 * One thread loads; another that needs the library meanwhile waits on a
 * futex until the load is over, unless it is the loading thread itself (a
 * constructor of the library calling back): it gets NULL. A fork child of
 * a process that was loading gives up (the loader's state in the child is
 * the loader's business; ours must not wait for a thread that is gone).
 *
 * When liballoc is linked into the program itself (unit and integration
 * tests link the static core), nothing is ever loaded: a program that wants
 * profiles links the dumping half too, and its constructor registers. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "alloc_entry.h"
#include "internal.h"
#include "mprof.h"
#include "settings.h"

#define DUMP_LIB_NAME "liballoc_dump.so"

enum { LOAD_NONE, LOAD_BUSY, LOAD_DONE };

static const struct mprof_dumper *registered;
static uint32_t load_state; /* LOAD_*, a futex word */
static pid_t load_tid;      /* the thread in LOAD_BUSY */
static char lib_path[PATH_MAX]; /* "" when liballoc is part of the program */
static int refused;             /* a dumper of another build tried to register */

int mprof_register_dumper(const struct mprof_dumper *d) {
  if (d != NULL && (d->abi != MPROF_DUMPER_ABI || d->size != sizeof *d)) {
    refused = 1;
    alloc_say("profiling off: ", lib_path[0] ? lib_path : "the dumping half",
              " is of another build than liballoc", NULL);
    return -1;
  }
  __atomic_store_n(&registered, d, __ATOMIC_RELEASE);
  return 0;
}

static void futex_wake_all(uint32_t *word) {
  syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}

/* Loads the library once per process. Returns when the load is over, or at
 * once on the loading thread itself. */
static void load_library(void) {
  uint32_t expect = LOAD_NONE;
  if (__atomic_compare_exchange_n(&load_state, &expect, LOAD_BUSY, 0, __ATOMIC_ACQ_REL,
                                  __ATOMIC_ACQUIRE)) {
    __atomic_store_n(&load_tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELAXED);
    if (lib_path[0] == 0) {
      alloc_say("profiling unavailable: liballoc is linked into the program without its "
                "dumping half (link prof_dump)", NULL);
    } else {
      /* the profiler's own loading is not the program's: not sampled */
      int guarded = mprof_guard_enter();
      void *h = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
      if (guarded) mprof_guard_exit();
      const char *why = h == NULL ? dlerror() : NULL;
      if (h == NULL)
        alloc_say("profiling unavailable: ", why != NULL ? why : lib_path, NULL);
      else if (__atomic_load_n(&registered, __ATOMIC_ACQUIRE) == NULL && !refused)
        alloc_say("profiling unavailable: ", lib_path, " registered no profiler", NULL);
      /* (refused: mprof_register_dumper has said why) */
    }
    __atomic_store_n(&load_state, LOAD_DONE, __ATOMIC_RELEASE);
    futex_wake_all(&load_state);
    return;
  }
  while (__atomic_load_n(&load_state, __ATOMIC_ACQUIRE) == LOAD_BUSY) {
    if (__atomic_load_n(&load_tid, __ATOMIC_RELAXED) == (pid_t)syscall(SYS_gettid)) return;
    syscall(SYS_futex, &load_state, FUTEX_WAIT_PRIVATE, LOAD_BUSY, NULL, NULL, 0);
  }
}

const struct mprof_dumper *mprof_dumper(int load) {
  const struct mprof_dumper *d = __atomic_load_n(&registered, __ATOMIC_ACQUIRE);
  if (d != NULL || !load) return d;
  load_library();
  return __atomic_load_n(&registered, __ATOMIC_ACQUIRE);
}

void mprof_dumper_fork_child(void) {
  if (__atomic_load_n(&load_state, __ATOMIC_RELAXED) == LOAD_BUSY)
    __atomic_store_n(&load_state, LOAD_DONE, __ATOMIC_RELAXED);
}

/* lib_path: DUMP_LIB_NAME in the directory of the object holding this code,
 * unless that object is the program itself. */
static void find_library(void) {
  Dl_info info;
  struct link_map *self = NULL;
  if (dladdr1((void *)find_library, &info, (void **)&self, RTLD_DL_LINKMAP) == 0 || self == NULL ||
      self->l_name == NULL || self->l_name[0] == 0)
    return;
  /* The loader's name for it: absolute, or relative to the directory the
   * program started in (LD_PRELOAD=build/liballoc.so), made absolute now. */
  char dir[PATH_MAX];
  size_t n = 0;
  if (self->l_name[0] != '/') {
    if (getcwd(dir, sizeof dir - 1) == NULL) return;
    n = strlen(dir);
    dir[n++] = '/';
  }
  size_t len = strlen(self->l_name);
  if (n + len >= sizeof dir) return;
  memcpy(dir + n, self->l_name, len + 1);
  char *slash = strrchr(dir, '/');
  size_t dlen = (size_t)(slash - dir) + 1;
  if (dlen + sizeof DUMP_LIB_NAME > sizeof lib_path) return;
  memcpy(lib_path, dir, dlen);
  memcpy(lib_path + dlen, DUMP_LIB_NAME, sizeof DUMP_LIB_NAME);
}

/* At load (liballoc's last constructor: mprof_dumper.c is the last file of
 * the core), on the thread that runs the constructors, holding no lock of
 * ours: what the profiler needs before the program runs, and nothing more
 * (bench/startup.py measures the cost): libgcc's unwinder if sampling is on
 * from the start, the dumping half if the settings want profiles. */
__attribute__((constructor)) static void profiler_at_load(void) {
  alloc_init_once(); /* reads ALLOCPROF_RATE */
  if (mprof_rate() != 0) prof_stack_init();
  find_library();
  if (lib_path[0] == 0 || mprof_dumper(0) != NULL || !trig_config_wanted(alloc_env) ||
      trig_run_excluded(alloc_env, (long)getpid())) /* run --no-children: not us */
    return;
  if (mprof_dumper(1) == NULL) mprof_set_rate(0);
}
