/* mprof_dumper.c: the one hook between liballoc and the dumping half of the
 * profiler, and the loading of that half (liballoc_dump.so) when a process
 * first needs it. The design: mprof.h ("The hook").
 *
 * Where the library is: beside the file liballoc.so is, found at load
 * (dladdr1's name for liballoc, made absolute and rid of symbolic links
 * then, before the program can change directory). The build tree, an
 * install and the Debian package put the two files side by side; an
 * operator's link to liballoc.so from elsewhere (LD_PRELOAD=/x/liballoc.so,
 * a link to /opt/allocprof/lib/liballoc.so) finds the liballoc_dump.so of
 * the same build, never a file that happens to sit beside the link. The
 * name comes only from the loader, never from the environment: a
 * privileged process loads nothing an unprivileged user chose.
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
 * constructor of the library calling back, or a signal handler on that
 * thread): it gets NULL. The futex word holds the loading thread's id, set
 * by the one compare-and-swap that elects it, so a signal arriving on that
 * thread at any moment of the load sees itself as the loader.
 *
 * Loads and forks. glibc resets the loader's main lock (dl_load_lock) in a
 * fork child but not its write lock (dl_load_write_lock, which dlopen takes
 * while it links a new object in), nor does it mend a half-linked list of
 * objects: a fork while our dlopen is between those steps leaves a child
 * whose every dl_iterate_phdr (the unwinder's, the symbolizer's) hangs.
 * So a fork waits for our dlopen to end, but only once the dlopen holds
 * dl_load_lock: the forking thread may hold that lock itself (a library
 * constructor that forks, inside the program's dlopen), and a dlopen of
 * ours waiting for it would then never end (loaderfence.h). The moment the
 * lock is taken is told by the loading thread's first allocation inside
 * dlopen: glibc takes dl_load_lock first thing, then copies the name with
 * malloc before it opens, maps or links anything. Before dlopen, the
 * loading thread blocks its signals (no handler's allocation may pass for
 * dlopen's) and arms its sampler so that its next allocation, whatever the
 * size, goes down the sampling path, where prof_record_sample calls
 * mprof_dumper_load_watched. That call sets INSIDE in fork_word, then
 * waits for the forks being prepared already (it holds dl_load_lock, which
 * a fork does not need, and nothing of the loader's a child could inherit
 * broken). The fork prepare handler, first of all, waits while INSIDE is
 * set (so a program that forks without pause cannot starve the load), then
 * counts itself in fork_word until its parent or child handler. So a fork
 * sees our load either not begun (the
 * child starts it afresh on demand and gets its profile) or over. A thread
 * without a cache of its own cannot be watched: its load goes unwatched, as
 * every load did before.
 *
 * The dumping half's fork child handler is its hook's fork_child, called
 * from mprof_dumper_fork_child (mprof.h says why not pthread_atfork).
 *
 * When liballoc is linked into the program itself (unit and integration
 * tests link the static core), nothing is ever loaded: a program that wants
 * profiles links the dumping half too, and its constructor registers. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "alloc_entry.h"
#include "internal.h"
#include "mprof.h"
#include "mprof_build_id.h"
#include "settings.h"

#define DUMP_LIB_NAME "liballoc_dump.so"

/* load_state, a futex word: LOAD_NONE, the loading thread's id while it
 * loads (thread ids are below 2^22), LOAD_DONE, or LOAD_GAVE_UP in a fork
 * child of a process that was loading, until its first dump has said so. */
#define LOAD_NONE 0u
#define LOAD_DONE UINT32_MAX
#define LOAD_GAVE_UP (UINT32_MAX - 1)

static const struct mprof_dumper *registered;
static uint32_t load_state;

/* fork_word, a futex word: the forks being prepared (FORKS_MASK), and
 * INSIDE while our dlopen holds the loader's lock. A fork is counted only
 * while INSIDE is clear; the dlopen goes on past its first allocation only
 * once no fork is counted. */
#define INSIDE 0x80000000u
#define FORKS_MASK 0x7fffffffu
static uint32_t fork_word;
int mprof_load_watch; /* threads whose next allocation is watched */
static __thread int watch_here __attribute__((tls_model("initial-exec")));
static __thread int inside_here __attribute__((tls_model("initial-exec")));
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
  int saved = errno;
  syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
  errno = saved;
}

static void futex_wait(uint32_t *word, uint32_t seen) {
  int saved = errno;
  syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
  errno = saved;
}

/* ---- Loads and forks (the header comment says why) ---------------------- */

void mprof_dumper_load_watched(void) {
  if (!watch_here) return; /* another thread's sample */
  watch_here = 0;
  __atomic_sub_fetch(&mprof_load_watch, 1, __ATOMIC_RELAXED);
  /* This thread is inside dlopen and holds dl_load_lock now: new forks
   * wait from here on; those already counted go first. */
  uint32_t w = __atomic_or_fetch(&fork_word, INSIDE, __ATOMIC_ACQ_REL);
  inside_here = 1;
  while (w & FORKS_MASK) {
    futex_wait(&fork_word, w);
    w = __atomic_load_n(&fork_word, __ATOMIC_ACQUIRE);
  }
}

/* dlopen of the library, which no fork sees half done. */
static void *dlopen_watched(void) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  if (alloc_sample_next_here()) {
    watch_here = 1;
    __atomic_add_fetch(&mprof_load_watch, 1, __ATOMIC_RELAXED);
  }
  void *h = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
  if (watch_here) { /* dlopen allocated nothing */
    watch_here = 0;
    __atomic_sub_fetch(&mprof_load_watch, 1, __ATOMIC_RELAXED);
  }
  if (inside_here) {
    inside_here = 0;
    __atomic_and_fetch(&fork_word, ~INSIDE, __ATOMIC_RELEASE);
    futex_wake_all(&fork_word);
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return h;
}

void mprof_dumper_fork_prepare(void) {
  uint32_t w = __atomic_load_n(&fork_word, __ATOMIC_ACQUIRE);
  for (;;) {
    /* (a fork from inside our own dlopen, by a constructor it runs, cannot
     * wait for it) */
    if ((w & INSIDE) && !inside_here) {
      futex_wait(&fork_word, w);
      w = __atomic_load_n(&fork_word, __ATOMIC_ACQUIRE);
    } else if (__atomic_compare_exchange_n(&fork_word, &w, w + 1, 1, __ATOMIC_ACQ_REL,
                                           __ATOMIC_ACQUIRE)) {
      return;
    }
  }
}

void mprof_dumper_fork_parent(void) {
  __atomic_sub_fetch(&fork_word, 1, __ATOMIC_RELEASE);
  futex_wake_all(&fork_word);
}

static void find_library(void);

/* Whether the process's malloc is this liballoc's. Not when a program
 * dlopen()s liballoc.so (the program's malloc, and liballoc's own calls of
 * malloc, are bound to libc's already) or another allocator comes first:
 * then no allocation of the program is ever sampled, and a profile would
 * be empty and misleading. Asked of a block, not of symbol addresses: this
 * call of malloc goes where the program's go (the loader binds liballoc's
 * calls as the program's), and a non-PIE program's canonical PLT entry would
 * make an address comparison wrong. */
static int malloc_is_ours(void) {
  void *p = malloc(1);
  int ours = p != NULL && alloc_owns(p);
  free(p); /* the same binding as the malloc: the owner frees it */
  return ours;
}

/* Loads the library once per process. Returns when the load is over, or at
 * once on the loading thread itself. */
static void load_library(void) {
  uint32_t self = (uint32_t)syscall(SYS_gettid);
  uint32_t expect = LOAD_NONE;
  if (__atomic_compare_exchange_n(&load_state, &expect, self, 0, __ATOMIC_ACQ_REL,
                                  __ATOMIC_ACQUIRE)) {
    /* a dump before liballoc's constructor (from the program's
     * .preinit_array, or the constructor of a library initialised first)
     * finds the library now */
    if (lib_path[0] == 0) find_library();
    if (lib_path[0] == 0) {
      alloc_say(
          "profiling unavailable: liballoc is linked into the program without its "
          "dumping half (link prof_dump)",
          NULL);
    } else if (!malloc_is_ours()) {
      alloc_say(
          "profiling unavailable: liballoc.so is not this process's malloc (opened with "
          "dlopen? preload it or link it)",
          NULL);
    } else {
      /* the profiler's own loading is not the program's: not sampled */
      int guarded = mprof_guard_enter();
      void *h = dlopen_watched();
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
  for (;;) {
    uint32_t w = __atomic_load_n(&load_state, __ATOMIC_ACQUIRE);
    if (w == LOAD_DONE || w == LOAD_GAVE_UP || w == self) return;
    syscall(SYS_futex, &load_state, FUTEX_WAIT_PRIVATE, w, NULL, NULL, 0);
  }
}

const struct mprof_dumper *mprof_dumper(int load) {
  const struct mprof_dumper *d = __atomic_load_n(&registered, __ATOMIC_ACQUIRE);
  if (d != NULL || !load) return d;
  load_library();
  d = __atomic_load_n(&registered, __ATOMIC_ACQUIRE);
  uint32_t gave_up = LOAD_GAVE_UP;
  if (d == NULL && __atomic_compare_exchange_n(&load_state, &gave_up, LOAD_DONE, 0,
                                               __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    alloc_say("profiling unavailable: the process was forked while its parent was loading ",
              lib_path, NULL);
  return d;
}

/* The forking thread is the child's only one: a load in progress (a thread
 * id in load_state, even this thread's, whose id is new) will never end
 * there. It had not begun to change the loader's state (the prepare handler
 * saw to that), so the child's first need loads the library afresh; unless
 * the fork came from inside that very dlopen (a constructor it ran), whose
 * half-done state the child gives up. The library's own state is reset by
 * its hook, if it registered before the fork. */
void mprof_dumper_fork_child(void) {
  uint32_t w = __atomic_load_n(&load_state, __ATOMIC_RELAXED);
  if (w != LOAD_NONE && w != LOAD_DONE && w != LOAD_GAVE_UP)
    __atomic_store_n(&load_state, inside_here ? LOAD_GAVE_UP : LOAD_NONE, __ATOMIC_RELAXED);
  __atomic_store_n(&fork_word, inside_here ? INSIDE : 0u, __ATOMIC_RELAXED);
  __atomic_store_n(&mprof_load_watch, 0, __ATOMIC_RELAXED);
  watch_here = 0;
  const struct mprof_dumper *d = __atomic_load_n(&registered, __ATOMIC_ACQUIRE);
  if (d != NULL && d->fork_child != NULL) d->fork_child();
}

/* lib_path: DUMP_LIB_NAME in the directory of the file holding this code
 * (symbolic links resolved), unless that object is the program itself. */
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
  /* The file itself, not a link to it: its pair sits beside it. Should the
   * name no longer resolve (renamed since the loader opened it), the
   * loader's name as it is. */
  char real[PATH_MAX];
  if (realpath(dir, real) != NULL) memcpy(dir, real, strlen(real) + 1);
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
  if (lib_path[0] == 0) find_library(); /* (a dump before this constructor found it) */
  if (lib_path[0] == 0 || mprof_dumper(0) != NULL || !trig_config_wanted(alloc_env) ||
      trig_run_excluded(alloc_env, (long)getpid())) /* run --no-children: not us */
    return;
  if (mprof_dumper(1) == NULL) mprof_set_rate(0);
}
