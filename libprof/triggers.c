/* triggers.c: when heap profiles are written, and where. Overview of the
 * profiler: liballoc/mprof.h; building one profile: profile.c; writing
 * it: dump.c (dump.h); the names of the files: trigger_out.c; the snapshot stream's
 * fd: trigger_stream.c.
 *
 * Settings (read once, when liballoc is loaded; each off unless set; an
 * empty value counts as unset, and 0 switches a trigger off):
 *
 *   ALLOCPROF_OUT=pattern     a profile file per dump: %p pid, %n the dump's
 *                             sequence number (0, 1, 2... per process), %t
 *                             unix time, %% '%'. ".pb.gz" gzip, ".pb.zst"
 *                             zstd, ".pb" raw; a relative pattern is taken
 *                             from the directory the program started in.
 *                             Without %n, a repeated trigger numbers the
 *                             files anyway (trigger_out.c).
 *   ALLOCPROF_STREAM=path     a snapshot stream: one zstd frame per dump,
 *                             appended; %p %t %% as above.
 *   ALLOCPROF_SIGNAL=sig      dump when the process receives sig (SIGUSR2,
 *                             USR2, 12, RTMIN+1...; not KILL, STOP or a
 *                             fault signal). The signal is ours: its previous
 *                             disposition is replaced (no chaining), and a
 *                             handler the program installs later wins. The
 *                             handler uses SA_RESTART, so the program's
 *                             system calls are not interrupted.
 *   ALLOCPROF_INTERVAL=secs   dump every secs seconds (fractions allowed).
 *   ALLOCPROF_INUSE_INTERVAL=bytes  dump when the estimated in-use heap has
 *                             grown by bytes (512k, 64m...) since the last
 *                             dump, whatever triggered that one.
 *   ALLOCPROF_PEAK=margin     dump when in-use exceeds the level of the last
 *                             peak dump by margin ("10%" or a byte count);
 *                             the first peak dump comes at margin bytes, or
 *                             at 1 MiB for a percentage.
 *
 * Whenever ALLOCPROF_OUT or ALLOCPROF_STREAM is set, the process also dumps
 * once as it exits (exit() or a return from main, also in a forked child,
 * and when main ends with pthread_exit; not _exit() or a fatal signal),
 * unless it never took a sample (a shell that only forks and execs; rate 0):
 * then the exit dump writes nothing. Every dump writes the next ALLOCPROF_OUT
 * file and appends a frame to ALLOCPROF_STREAM, with comments saying what
 * started it, its %n and the process (dump_comments.c), and tells
 * `allocprof run` the file's name (runlog.c).
 *
 *   ALLOCPROF_RUN_PID=pid     (set by allocprof run) the program it started:
 *                             other processes of the run add their pid to
 *                             an ALLOCPROF_OUT without %p.
 *   ALLOCPROF_OUT_OWNER=id    (set by trigger_out.c) the process whose
 *                             files an ALLOCPROF_OUT without %p names as it
 *                             is.
 *   ALLOCPROF_NO_CHILDREN=1   (set by allocprof run --no-children) only the
 *                             process ALLOCPROF_RUN_PID names profiles; its
 *                             fork children and the programs they run do not.
 *
 * The names of the files (one name, one process; the files of a repeated
 * trigger numbered): trigger_out.c.
 *
 * A bad setting (syntax, a directory that does not exist or is not
 * writable, a stream that cannot be opened, a trigger with nowhere to
 * write) prints one line on stderr (alloc_say, liballoc's one writer to
 * fd 2) and switches profiling off; the program itself runs on as if the
 * profiler were not there. The settings are parsed and checked by
 * settings.c (settings.h).
 *
 * Threads. The program's threads only ever run the signal handler and
 * prof_inuse_hook, which set a flag and wake the profiler thread with a
 * futex (async-signal-safe, no fd the program could close or reuse). The
 * profiler thread exists only when a trigger other than exit is set; it has
 * every signal blocked and does every dump but the exit one, which the
 * exiting thread does itself in a destructor (which runs after the
 * program's own atexit handlers and destructors, before those of the
 * libraries liballoc uses). The dumps take the profiler
 * guard (dump.c), never stop the program's threads, and hold no
 * allocator lock while they allocate.
 *
 * Locking: trig_lock serializes the dumps started here and guards seq,
 * peak_level, the stream's fd (trigger_stream.c), what the names of the
 * files have yet to say (trigger_out.c) and exiting. The
 * thresholds the hook reads (growth_next, peak_next) are relaxed atomics
 * written by dumps; the flags (sig_pending, hook_pending, exit_started)
 * are atomics.
 *
 * fork: the child profiles into its own files. Its sequence number restarts
 * at 0, %p names its own pid, a stream whose name has %p or %t is reopened
 * under the child's name, and the profiler thread is made again (threads do
 * not survive fork). A stream without %p stays shared: parent and child
 * append to one file, each frame in a single O_APPEND write, so frames of
 * the two interleave but never tear. A dump in progress in the parent at
 * fork is lost to the child, which starts afresh (dump.c and profile.c
 * drop their own state in the same case). */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include <errno.h>
#include <fcntl.h>
#include <libunwind.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "alloc_entry.h"
#include "dump.h"
#include "errmsg.h"
#include "http.h"
#include "mprof.h"
#include "prof_threads.h"
#include "mprof_build_id.h"
#include "settings.h"
#include "trigger_out.h"
#include "trigger_stream.h"

/* The settings are parsed and checked by settings.c (settings.h), which
 * allocprof run links too; this file acts on them. */

/* ==== the runtime ============================================================== */

/* Reasons for a dump: dump.h's bits, which the profile's comments name
 * (trigger=peak). */
enum {
  TRIG_EXIT = PROF_TRIG_EXIT,
  TRIG_SIGNAL = PROF_TRIG_SIGNAL,
  TRIG_INTERVAL = PROF_TRIG_INTERVAL,
  TRIG_GROWTH = PROF_TRIG_GROWTH,
  TRIG_PEAK = PROF_TRIG_PEAK,
};

/* Failures reported once each. */
enum {
  FAIL_OUT = 1,
  FAIL_STREAM = 2,
  FAIL_THREAD = 4,
  FAIL_EXIT_WAIT = 8,
};

/* The exit dump waits this long for a dump in progress, then gives up. */
#define TRIG_EXIT_WAIT_MS 10000
/* How often the idle profiler thread checks that the program still has a
 * thread besides ours (see prof_main_thread_ended). */
#define TRIG_LIVENESS_MS 1000

static struct trig_config cfg; /* written at start and in a fork child only */
static long run_pid;           /* ALLOCPROF_RUN_PID: the program allocprof run started; 0 none */
static int no_children;        /* ALLOCPROF_NO_CHILDREN=1: profile run_pid only */
static int armed;              /* cfg is valid and some output is set */
static int thread_wanted;      /* cfg needs the thread and it could be made */

static pthread_mutex_t trig_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t seq;        /* trig_lock: the next dump's %n */
static int exiting;         /* trig_lock: the exit dump is done or running */
static uint64_t peak_level; /* trig_lock: in-use at the last peak dump */

static uint64_t growth_next = UINT64_MAX; /* relaxed: growth dump at this in-use */
static uint64_t peak_next = UINT64_MAX;   /* relaxed: peak dump at this in-use */
static int sig_pending, hook_pending;     /* atomic: set by the handler, the hook */
static int exit_started;                  /* atomic: the exit dump has begun */
static unsigned failed;                   /* atomic: FAIL_* reported so far */
static uint32_t wake_word;                /* futex: bumped to wake the thread */

/* ---- messages -------------------------------------------------------------------- */

/* The first failure of each kind is reported; later ones are silent. */
static int first_failure(unsigned kind) {
  return (__atomic_fetch_or(&failed, kind, __ATOMIC_RELAXED) & kind) == 0;
}

/* ---- waking the profiler thread ---------------------------------------------------
 * Async-signal-safe: called from the signal handler and from the hook inside
 * malloc and free. It keeps errno as it was. */

static void wake(void) {
  int saved = errno;
  __atomic_fetch_add(&wake_word, 1, __ATOMIC_RELEASE);
  syscall(SYS_futex, &wake_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  errno = saved;
}

static void on_signal(int signo) {
  (void)signo;
  __atomic_store_n(&sig_pending, 1, __ATOMIC_RELEASE);
  wake();
}

/* The hook's inuse: after each sample or resize, outside every lock. */
static void on_inuse(uint64_t inuse) {
  if (inuse < LOAD_RELAXED(&growth_next) && inuse < LOAD_RELAXED(&peak_next)) return;
  if (__atomic_exchange_n(&hook_pending, 1, __ATOMIC_ACQ_REL)) return;
  wake();
}

/* The API's dump (allocprof_dump, through the hook): its comments say
 * trigger=api, and seq numbers the calls apart from the triggers' %n, whose
 * files must stay 0, 1, 2... allocprof run hears of the file. */
static int api_dump_file(const char *path, char *err, size_t errlen) {
  static int64_t api_seq;
  struct prof_dump_meta meta = {PROF_TRIG_API, __atomic_fetch_add(&api_seq, 1, __ATOMIC_RELAXED)};
  int rc = prof_dump_file(path, &meta, err, errlen);
  if (rc == 0) prof_runlog_note(path);
  return rc;
}

/* ---- the hook ---------------------------------------------------------------------------
 * What this library offers liballoc (liballoc/mprof.h, "The hook"): the
 * API's dump, libunwind for the stack walker, and, when an in-use trigger
 * is set, the in-use callback. Registered when the library is loaded. */
static void fork_child(void);
static const struct mprof_dumper hook_plain = {
    .abi = MPROF_DUMPER_ABI,
    .size = sizeof(struct mprof_dumper),
    .dump_file = api_dump_file,
    .full_backtrace = unw_backtrace,
    .fork_child = fork_child,
};
static const struct mprof_dumper hook_inuse = {
    .abi = MPROF_DUMPER_ABI,
    .size = sizeof(struct mprof_dumper),
    .inuse = on_inuse,
    .dump_file = api_dump_file,
    .full_backtrace = unw_backtrace,
    .fork_child = fork_child,
};

/* ---- dumping --------------------------------------------------------------------------- */

static uint64_t sat_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

/* After a dump, or at start: the in-use levels of the next growth and peak
 * dumps. crossed_peak: this dump was a peak dump (trig_lock held). */
static void rearm(int crossed_peak) {
  if (cfg.inuse_interval == 0 && trig_margin_off(&cfg.peak)) return;
  struct prof_totals t;
  mprof_get_totals(&t);
  if (cfg.inuse_interval != 0)
    STORE_RELAXED(&growth_next, sat_add(t.inuse_bytes, cfg.inuse_interval));
  if (!trig_margin_off(&cfg.peak)) {
    if (crossed_peak) {
      uint64_t reached = LOAD_RELAXED(&peak_next);
      peak_level = t.inuse_bytes > reached ? t.inuse_bytes : reached;
    }
    STORE_RELAXED(&peak_next, trig_margin_next(&cfg.peak, peak_level));
  }
}

/* One dump to every output (trig_lock held). */
static void dump(unsigned why) {
  char err[640];
  uint64_t n = seq++;
  struct prof_dump_meta meta = {why, (int64_t)n};
  if (cfg.out[0] != 0) {
    char path[TRIG_PATH_MAX];
    if (trig_out_path(cfg.out, n, path, sizeof path) != 0) {
      if (first_failure(FAIL_OUT))
        prof_say("heap profile not written: ALLOCPROF_OUT expands to a path too long");
    } else {
      err[0] = 0;
      if (prof_dump_file(path, &meta, err, sizeof err) != 0) {
        if (first_failure(FAIL_OUT)) prof_say("heap profile not written: %s", err[0] ? err : path);
      } else {
        prof_runlog_note(path);
      }
    }
  }
  if (cfg.stream[0] != 0) {
    err[0] = 0;
    int fd = trig_stream_get(cfg.stream, err, sizeof err);
    if (fd >= 0) {
      if (prof_dump_stream(fd, &meta, err, sizeof err) != 0) {
        if (first_failure(FAIL_STREAM))
          prof_say("ALLOCPROF_STREAM: snapshot not appended: %s", err[0] ? err : "failed");
      } else {
        /* allocprof run hears of the stream once per file opened */
        const char *told = trig_stream_new_path();
        if (told != NULL) prof_runlog_note(told);
      }
    } else if (first_failure(FAIL_STREAM)) {
      prof_say("ALLOCPROF_STREAM: snapshot not appended: %s", err);
    }
  }
  rearm((why & TRIG_PEAK) != 0);
}

/* A dump by the profiler thread: none once the exit dump has begun. */
static void thread_dump(unsigned why) {
  pthread_mutex_lock(&trig_lock);
  if (!exiting) dump(why);
  pthread_mutex_unlock(&trig_lock);
}

/* Whether this process (with what a fork parent passed on) ever took a
 * sample. A process that never did has nothing to show at exit: a shell
 * that only forks and execs, a program run at rate 0. Its exit dump writes
 * nothing, so a run over a script is not buried in empty profiles; a
 * signal, interval or API dump, which someone asked for, still writes. */
static int took_samples(void) {
  struct prof_totals t;
  mprof_get_totals(&t);
  return t.samples != 0;
}

/* At exit, on the exiting thread, once. Other threads may still be running
 * and allocating: nothing here stops them, and the dump holds no lock of
 * theirs while it allocates. A dump already running on the profiler thread
 * is waited for (up to TRIG_EXIT_WAIT_MS); later ones are refused. */
__attribute__((destructor)) static void trig_at_exit(void) {
  if (!armed || __atomic_exchange_n(&exit_started, 1, __ATOMIC_ACQ_REL)) return;
  if (!took_samples()) {
    wake(); /* the thread sees exit_started and ends */
    return;
  }
  /* exit() from a signal handler that interrupted this thread inside the
   * profiler: the profiler's lock may be ours already */
  if (!mprof_guard_enter()) {
    if (first_failure(FAIL_EXIT_WAIT))
      prof_say("exit profile not written: exit() was called from inside the profiler");
    return;
  }
  mprof_guard_exit();
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += TRIG_EXIT_WAIT_MS / 1000;
  if (pthread_mutex_timedlock(&trig_lock, &until) != 0) {
    if (first_failure(FAIL_EXIT_WAIT))
      prof_say("exit profile not written: a dump in progress did not finish");
    return;
  }
  exiting = 1;
  dump(TRIG_EXIT);
  pthread_mutex_unlock(&trig_lock);
  wake(); /* the thread sees exit_started and ends */
}

/* ---- the profiler thread ------------------------------------------------------------- */

/* Which of the growth and peak thresholds in-use has reached. */
static unsigned thresholds_reached(void) {
  struct prof_totals t;
  mprof_get_totals(&t);
  unsigned why = 0;
  if (t.inuse_bytes >= LOAD_RELAXED(&growth_next)) why |= TRIG_GROWTH;
  if (t.inuse_bytes >= LOAD_RELAXED(&peak_next)) why |= TRIG_PEAK;
  return why;
}

static void futex_wait(uint32_t seen, uint64_t ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
  syscall(SYS_futex, &wake_word, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0);
}

static void *profiler_thread(void *arg) {
  (void)arg;
  pthread_setname_np(pthread_self(), PROF_THREAD_NAME);
  uint64_t now = alloc_now_ms();
  uint64_t next_tick = cfg.interval_ms ? now + cfg.interval_ms : 0;
  uint64_t next_check = now + TRIG_LIVENESS_MS;
  for (;;) {
    uint32_t seen = __atomic_load_n(&wake_word, __ATOMIC_ACQUIRE);
    if (__atomic_load_n(&exit_started, __ATOMIC_ACQUIRE)) return NULL;
    now = alloc_now_ms();
    unsigned why = 0;
    if (__atomic_exchange_n(&sig_pending, 0, __ATOMIC_ACQ_REL)) why |= TRIG_SIGNAL;
    if (next_tick != 0 && now >= next_tick) {
      why |= TRIG_INTERVAL;
      next_tick += cfg.interval_ms;
      if (next_tick <= now) next_tick = now + cfg.interval_ms; /* missed ticks are not made up */
    }
    if (__atomic_exchange_n(&hook_pending, 0, __ATOMIC_ACQ_REL)) why |= thresholds_reached();
    if (why != 0) {
      thread_dump(why);
      continue;
    }
    if (now >= next_check) {
      if (prof_main_thread_ended()) return NULL; /* not the last thread */
      next_check = now + TRIG_LIVENESS_MS;
    }
    uint64_t wait = next_check - now;
    if (next_tick != 0 && next_tick - now < wait) wait = next_tick - now;
    futex_wait(seen, wait);
  }
}

/* Starts the thread with every signal blocked (alloc_thread_start).
 * Returns 0 or an errno. */
static int thread_start(void) {
  /* pthread_create allocates: not a sample (a child's thread must not find
   * a threshold crossed before every fork handler has run) */
  int entered = mprof_guard_enter();
  int e = alloc_thread_start(profiler_thread, NULL, 0);
  if (entered) mprof_guard_exit();
  return e;
}

static void thread_start_or_say(void) {
  int e = thread_start();
  if (e == 0) return;
  thread_wanted = 0;
  mprof_register_dumper(&hook_plain);
  if (first_failure(FAIL_THREAD))
    prof_say("cannot start the profiler thread (%s): only the exit dump is armed", strerror(e));
}

/* ---- fork --------------------------------------------------------------------------------
 * The forking thread is the child's only thread. One handler, the hook's
 * fork_child, which liballoc's own child handler calls once every allocator
 * lock is free again (not pthread_atfork: mprof.h says why), resets the
 * dumping half in order: profile.c's state first (a dump the parent had in
 * progress is forgotten, never waited for), then ours, then the profiler
 * thread is made again, which may dump at once. Profiling the child needs no
 * loader lock that a thread of the parent held at the fork: those calls are
 * fenced (liballoc/loaderfence.h). */

static void fork_child(void) {
  prof_dump_fork_child();
  prof_http_fork_child(armed && !no_children);
  if (!armed) return;
  if (no_children) { /* allocprof run --no-children: not this child */
    armed = 0;
    thread_wanted = 0;
    mprof_set_rate(0);
    return;
  }
  pthread_mutex_init(&trig_lock, NULL);
  seq = 0;
  exiting = 0;
  __atomic_store_n(&exit_started, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&sig_pending, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&hook_pending, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&failed, 0, __ATOMIC_RELAXED);
  /* Files named without %p would be the parent's: the child adds its pid
   * (none if it cannot: then the child writes no file). */
  trig_out_fork_child(cfg.out);
  /* a stream named by the parent's pid or time: the child opens its own at
   * its first frame */
  if (trig_pattern_per_process(cfg.stream)) trig_stream_forget();
  if (thread_wanted) thread_start_or_say();
}

/* ---- start ----------------------------------------------------------------------------------- */

static const char *env(const char *name) { return alloc_env(name); }

/* The output directory exists and is writable; the stream opens. */
static int check_outputs(char *err, size_t errlen) {
  if (trig_out_check(cfg.out, err, errlen) != 0) return -1;
  if (cfg.stream[0] != 0) {
    char why[TRIG_PATH_MAX + 128];
    if (trig_stream_open(cfg.stream, why, sizeof why) != 0) {
      formats_set_err(err, errlen, "ALLOCPROF_STREAM=%s: %s", alloc_env("ALLOCPROF_STREAM"), why);
      return -1;
    }
  }
  return 0;
}

/* allocprof run's settings for the processes of a run (cmd_run.c):
 * ALLOCPROF_RUN_PID names the program run started, ALLOCPROF_NO_CHILDREN=1
 * (--no-children) makes it the one process profiled: every other process
 * that inherits the settings (a fork child, a program it execs) runs on
 * unprofiled, silently. The same process after an exec (a wrapper script
 * that execs the real program) is still the one. liballoc applies the same
 * rule (trig_run_excluded) before it samples or loads this library at all;
 * this is for a process that loaded it anyway (allocprof_dump). Returns -1
 * when this process is not to be profiled (the rate is then 0). */
static int read_run_settings(void) {
  if (trig_run_excluded(env, (long)getpid())) {
    mprof_set_rate(0);
    return -1;
  }
  const char *pid = alloc_env("ALLOCPROF_RUN_PID");
  uint64_t v;
  if (pid != NULL && *pid != 0 && trig_parse_count(pid, 1, INT64_MAX, &v) == 0) run_pid = (long)v;
  const char *only = alloc_env("ALLOCPROF_NO_CHILDREN");
  no_children = only != NULL && strcmp(only, "1") == 0; /* and we are the one (above) */
  return 0;
}

__attribute__((constructor)) static void trig_start(void) {
  /* The allocator (and its fork handler) first: prof_init must not undo a
   * rate set here, and our fork handler must run after the allocator's. A
   * process that only dumps through the API needs it too (profile.c). */
  alloc_init_once();
  if (mprof_register_dumper(&hook_plain) != 0) return; /* liballoc said why */
  prof_runlog_init();
  if (read_run_settings() != 0) return;
  char cwd_buf[TRIG_PATH_MAX];
  const char *cwd = getcwd(cwd_buf, sizeof cwd_buf);
  char err[TRIG_PATH_MAX + 256];
  int rc = trig_config_parse(env, cwd, &cfg, err, sizeof err);
  if (rc == TRIG_CONFIG_NONE) return;
  /* A bad ALLOCPROF_RATE: the sampler has said so, and that profiling is off */
  if (trig_rate_rejected(alloc_env("ALLOCPROF_RATE"), mprof_rate())) return;
  if (rc == TRIG_CONFIG_OK && check_outputs(err, sizeof err) != 0) rc = TRIG_CONFIG_BAD;
  if (rc != TRIG_CONFIG_OK) {
    prof_say("%s; profiling is off", err);
    mprof_set_rate(0);
    return;
  }
  trig_out_name(&cfg, run_pid);
  armed = 1;
  rearm(0);
  if (cfg.http.kind != TRIG_HTTP_OFF) prof_http_start(&cfg.http, cfg.http_portfile);
  if (!trig_config_needs_thread(&cfg)) return;
  thread_wanted = 1;
  if (cfg.inuse_interval != 0 || !trig_margin_off(&cfg.peak)) mprof_register_dumper(&hook_inuse);
  thread_start_or_say();
  if (!thread_wanted || cfg.signo == 0) return;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART; /* the program's system calls go on undisturbed */
  sigemptyset(&sa.sa_mask);
  sigaction(cfg.signo, &sa, NULL);
}
