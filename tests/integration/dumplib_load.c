/* dumplib_load.c: tries to break the loading of the profiler's dumping half
 * (liballoc_dump.so, liballoc/mprof_dumper.c) from a program's side. One
 * mode per attack; dumplib_load.sh runs them. allocprof_dump is looked up
 * with dlsym, so the same source runs linked against liballoc.so
 * (dumplib_linked), preloaded (dumplib_plain) or with liballoc.so opened
 * by the program itself (mode dlopen).
 *
 *   threads T ROUNDS DIR  per round a fresh child in which T threads make
 *                         the process's first allocprof_dump at once: every
 *                         call succeeds, every file is written, the library
 *                         is loaded once
 *   fork ROUNDS DIR       per round a fresh child in which one thread makes
 *                         the first allocprof_dump while the main thread
 *                         forks in a loop; every grandchild dumps too and
 *                         writes a profile, forked before, during or after
 *                         the parent's load of the library; none hangs (60 s)
 *   ctorfork DIR LIB      one thread makes the first allocprof_dump while
 *                         the main thread is inside dlopen(LIB)
 *                         (dumplib_ctor.c), whose constructor, holding the
 *                         loader's lock, waits until that thread sleeps (on
 *                         that lock), then forks 8 children that each
 *                         dump: no deadlock, every profile written
 *   signal DIR            SIGUSR1, whose handler mallocs, is sent to the
 *                         main thread over and over while it makes the first
 *                         allocprof_dump
 *   chdir DIR             chdir("/"), then the first allocprof_dump
 *   maps [DIR]            prints "secure=S" (AT_SECURE) and "dumplib=PATH" (or "dumplib=none") for the
 *                         liballoc_dump.so mapped after a little allocating
 *                         (and an allocprof_dump into DIR, if given)
 *   preinit DIR           the first allocprof_dump from the program's
 *                         .preinit_array, before any library's constructor
 *                         (liballoc's included) has run
 *   dlopen LIB FLAGS DIR  dlopen(LIB) (FLAGS: local or global), allocprof_dump
 *                         via dlsym: prints "dump=0" or "dump=-1 errno=E"
 *
 * Hang detection: every mode arms alarm(); a deadlock dies of SIGALRM. Waits
 * for children poll waitpid until a deadline, then count the child as hung. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "it_common.h"

typedef int (*dump_fn)(const char *path);
static dump_fn dump;

static void die(const char *what) {
  fprintf(stderr, "dumplib_load: FAIL: %s\n", what);
  exit(1);
}

static int file_nonempty(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

/* How many liballoc_dump.so objects are loaded; the path of the last. */
struct dumplib_count {
  int n;
  char path[4096];
};
static int count_one(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  struct dumplib_count *c = arg;
  const char *slash = strrchr(info->dlpi_name, '/');
  const char *base = slash ? slash + 1 : info->dlpi_name;
  if (strcmp(base, "liballoc_dump.so") == 0) {
    c->n++;
    snprintf(c->path, sizeof c->path, "%s", info->dlpi_name);
  }
  return 0;
}
static struct dumplib_count dumplib_loaded(void) {
  struct dumplib_count c = {0, ""};
  dl_iterate_phdr(count_one, &c);
  return c;
}

static void *churn(int n) { /* something for the profile to hold */
  void *keep = NULL;
  for (int i = 0; i < n; i++) {
    void **p = malloc(it_opaque(64 + (size_t)(i % 500)));
    if (p == NULL) die("malloc failed");
    *p = keep;
    keep = p;
  }
  return keep;
}

static void unchurn(void *keep) {
  while (keep != NULL) {
    void *next = *(void **)keep;
    free(keep);
    keep = next;
  }
}

/* Waits for pid until deadline (CLOCK_MONOTONIC seconds); returns its status,
 * or -1 after killing it when it is still running then (hung). */
static int wait_until(pid_t pid, time_t deadline) {
  for (;;) {
    int st;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) return st;
    if (r < 0) die("waitpid");
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      return -1;
    }
    struct timespec ms = {0, 2000000};
    nanosleep(&ms, NULL); /* polling for an exit: no synchronisation rides on it */
  }
}

static time_t deadline_in(int seconds) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return now.tv_sec + seconds;
}

/* ---- threads ---------------------------------------------------------------- */

struct racer {
  pthread_barrier_t *start;
  char path[4096];
  int rc, err;
};

static void *race_dump(void *arg) {
  struct racer *r = arg;
  pthread_barrier_wait(r->start);
  errno = 0;
  r->rc = dump(r->path);
  r->err = errno;
  return NULL;
}

static int threads_round(int nthreads, const char *dir, int round) {
  if (dumplib_loaded().n != 0) die("liballoc_dump.so is loaded before the first dump");
  void *keep = churn(1000);
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, (unsigned)nthreads);
  struct racer *r = calloc((size_t)nthreads, sizeof *r);
  pthread_t *t = calloc((size_t)nthreads, sizeof *t);
  if (r == NULL || t == NULL) die("calloc");
  for (int i = 0; i < nthreads; i++) {
    r[i].start = &start;
    snprintf(r[i].path, sizeof r[i].path, "%s/threads.%d.%d.pb.gz", dir, round, i);
    if (pthread_create(&t[i], NULL, race_dump, &r[i]) != 0) die("pthread_create");
  }
  int bad = 0;
  for (int i = 0; i < nthreads; i++) {
    pthread_join(t[i], NULL);
    if (r[i].rc != 0) {
      fprintf(stderr, "round %d thread %d: allocprof_dump = %d (%s)\n", round, i, r[i].rc,
              strerror(r[i].err));
      bad = 1;
    } else if (!file_nonempty(r[i].path)) {
      fprintf(stderr, "round %d thread %d: %s missing after a successful dump\n", round, i,
              r[i].path);
      bad = 1;
    }
  }
  struct dumplib_count c = dumplib_loaded();
  if (c.n != 1) {
    fprintf(stderr, "round %d: liballoc_dump.so loaded %d times\n", round, c.n);
    bad = 1;
  }
  unchurn(keep);
  return bad;
}

/* Each round in a child of this process, which has never dumped: the child's
 * first dump is the process's first. */
static int mode_threads(int nthreads, int rounds, const char *dir) {
  int failed = 0;
  for (int round = 0; round < rounds; round++) {
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
      alarm(60);
      _exit(threads_round(nthreads, dir, round));
    }
    int st = wait_until(pid, deadline_in(70));
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      fprintf(stderr, "round %d: %s (status %d)\n", round, st == -1 ? "hung" : "failed", st);
      failed++;
    }
  }
  printf("threads: %d rounds of %d threads, %d failed\n", rounds, nthreads, failed);
  return failed != 0;
}

/* ---- fork ------------------------------------------------------------------- */

#define MAX_CHILDREN 64 /* a cap: a dump starved by the forks may take a while */
static atomic_int parent_dump_done;

static void *parent_dump(void *arg) {
  const char *path = arg;
  int rc = dump(path);
  if (rc != 0) fprintf(stderr, "the parent's first dump failed: %s\n", strerror(errno));
  atomic_store(&parent_dump_done, rc == 0 ? 1 : 2);
  return NULL;
}

/* A grandchild: dumps once, with its stderr in a file of its own, and
 * judges the outcome: 0 a profile, 3 a clean error (-1, errno set, exactly
 * one line on stderr), 1 anything else. */
static int child_dump(const char *dir) {
  char path[4096], errpath[4096];
  snprintf(path, sizeof path, "%s/child.%ld.pb.gz", dir, (long)getpid());
  snprintf(errpath, sizeof errpath, "%s/child.%ld.err", dir, (long)getpid());
  int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || dup2(fd, 2) < 0) return 1;
  close(fd);
  errno = 0;
  int rc = dump(path);
  int err = errno;
  FILE *f = fopen(errpath, "r");
  int lines = 0, ch;
  while (f != NULL && (ch = fgetc(f)) != EOF) lines += ch == '\n';
  if (f != NULL) fclose(f);
  if (rc == 0) {
    if (!file_nonempty(path)) return 1;
    unlink(path);
    unlink(errpath);
    return 0;
  }
  if (err == 0 || lines != 1) {
    fprintf(stderr, "a child's failed dump: errno %d, %d lines on stderr\n", err, lines);
    return 1;
  }
  return 3;
}

/* Waits for a child of child_dump; 0 profile, 3 clean error, 1 failed or hung. */
static int judge_child(pid_t pid, time_t deadline, const char *what, int i) {
  int st = wait_until(pid, deadline);
  if (st == -1) {
    fprintf(stderr, "%s: child %d (pid %ld) hung\n", what, i, (long)pid);
    return 1;
  }
  if (WIFEXITED(st) && (WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == 3)) return WEXITSTATUS(st);
  fprintf(stderr, "%s: child %d failed (status %#x)\n", what, i, st);
  return 1;
}

static int fork_round(const char *dir, int round, int *profiles, int *errors, int *during) {
  char path[4096];
  snprintf(path, sizeof path, "%s/parent.%d.pb.gz", dir, round);
  static pid_t kids[MAX_CHILDREN];
  int nkids = 0, after = 0;
  pthread_t t;
  /* The children dump once the parent's dump is over (EOF on go[0]): 120
   * loads and dumps at once would starve the parent's. */
  int go[2];
  if (pipe(go) != 0) die("pipe");
  atomic_store(&parent_dump_done, 0);
  if (pthread_create(&t, NULL, parent_dump, path) != 0) die("pthread_create");
  /* fork as fast as possible until the dump is over, and a few more */
  while (nkids < MAX_CHILDREN && after < 4) {
    int done_before = atomic_load(&parent_dump_done) != 0;
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
      alarm(0); /* the parent judges hangs */
      close(go[1]);
      char c;
      while (read(go[0], &c, 1) < 0 && errno == EINTR) continue;
      _exit(child_dump(dir));
    }
    kids[nkids++] = pid;
    if (!done_before) (*during)++;
    if (done_before) after++;
  }
  pthread_join(t, NULL);
  close(go[1]);
  close(go[0]);
  int bad = atomic_load(&parent_dump_done) != 1;
  /* Hung: a child still running 120 s after the last one ended (or after
   * the release). 64 children dumping at once on a loaded machine under
   * UBSan may take a minute between them; a hang takes forever. */
  char what[32];
  snprintf(what, sizeof what, "round %d", round);
  for (int i = 0; i < nkids; i++) {
    int r = judge_child(kids[i], deadline_in(120), what, i);
    if (r == 0) (*profiles)++;
    if (r == 3) (*errors)++;
    if (r == 1) bad = 1;
  }
  /* a child forked during the load starts its own: every child has a profile */
  if (*profiles != nkids) {
    fprintf(stderr, "round %d: %d of %d children wrote a profile\n", round, *profiles, nkids);
    bad = 1;
  }
  return bad;
}

static int mode_fork(int rounds, const char *dir) {
  int failed = 0;
  for (int round = 0; round < rounds; round++) {
    int fds[2];
    if (pipe(fds) != 0) die("pipe");
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
      close(fds[0]);
      alarm(900); /* the children's waits judge hangs; this is the last resort */
      int counts[3] = {0, 0, 0};
      int bad = fork_round(dir, round, &counts[0], &counts[1], &counts[2]);
      if (write(fds[1], counts, sizeof counts) != (ssize_t)sizeof counts) bad = 1;
      _exit(bad);
    }
    close(fds[1]);
    int counts[3] = {0, 0, 0};
    ssize_t got = read(fds[0], counts, sizeof counts);
    close(fds[0]);
    int st = wait_until(pid, deadline_in(60));
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || got != (ssize_t)sizeof counts) {
      fprintf(stderr, "fork round %d failed (status %#x)\n", round, st);
      failed++;
    }
    printf(
        "fork round %d: %d children forked during the first dump; %d profiles, %d clean "
        "errors\n",
        round, counts[2], counts[0], counts[1]);
  }
  return failed != 0;
}

/* ---- ctorfork ------------------------------------------------------------------ */

#define CTOR_CHILDREN 8
static const char *ctor_dir;
static atomic_int ctor_tid, ctor_dump_rc = -2; /* -2: not returned yet */
static int ctor_forked, ctor_profiles, ctor_bad, ctor_returned_early;

static void *ctor_dumper(void *arg) {
  (void)arg;
  atomic_store(&ctor_tid, (int)gettid());
  char path[4096];
  snprintf(path, sizeof path, "%s/ctor_parent.pb.gz", ctor_dir);
  int rc = dump(path);
  if (rc == 0 && !file_nonempty(path)) rc = -3;
  atomic_store(&ctor_dump_rc, rc);
  return NULL;
}

/* 1 when thread tid is asleep (S): blocked, here on the loader's lock. */
static int thread_sleeps(int tid) {
  char p[64], buf[512];
  snprintf(p, sizeof p, "/proc/self/task/%d/stat", tid);
  FILE *f = fopen(p, "r");
  if (f == NULL) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  const char *close_paren = strrchr(buf, ')');
  return close_paren != NULL && close_paren[1] == ' ' && close_paren[2] == 'S';
}

/* dumplib_ctor.c's constructor calls this, inside dlopen: the main thread
 * holds dl_load_lock, which the dumping thread's load needs. */
static void in_ctor(void) {
  pthread_t t;
  if (pthread_create(&t, NULL, ctor_dumper, NULL) != 0) die("pthread_create");
  pthread_detach(t);
  while (atomic_load(&ctor_tid) == 0 || !thread_sleeps(atomic_load(&ctor_tid))) sched_yield();
  pid_t kids[CTOR_CHILDREN];
  for (int i = 0; i < CTOR_CHILDREN; i++) {
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
      alarm(0); /* the parent judges hangs */
      _exit(child_dump(ctor_dir));
    }
    kids[ctor_forked++] = pid;
  }
  /* each child loads the library and dumps: slow under UBSan on a busy machine */
  time_t deadline = deadline_in(200);
  for (int i = 0; i < ctor_forked; i++) {
    int r = judge_child(kids[i], deadline, "ctorfork", i);
    if (r == 0) ctor_profiles++;
    if (r != 0) ctor_bad = 1;
  }
  /* the load cannot have ended while this constructor holds the lock */
  ctor_returned_early = atomic_load(&ctor_dump_rc) != -2;
}

static int mode_ctorfork(const char *dir, const char *lib) {
  alarm(280);
  ctor_dir = dir;
  void *keep = churn(1000);
  char hook[32];
  snprintf(hook, sizeof hook, "%jx", (uintmax_t)(uintptr_t)in_ctor);
  setenv("DUMPLIB_CTOR_HOOK", hook, 1);
  void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) die(dlerror());
  time_t deadline = deadline_in(60); /* the parent's load and dump, after the children */
  while (atomic_load(&ctor_dump_rc) == -2) {
    struct timespec now, ms = {0, 2000000};
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec >= deadline) die("the parent's first dump hung after the constructor");
    nanosleep(&ms, NULL); /* polling for the thread's end: no synchronisation rides on it */
  }
  unchurn(keep);
  int rc = atomic_load(&ctor_dump_rc);
  printf("ctorfork: %d children forked inside the constructor, %d profiles; the parent's dump %d\n",
         ctor_forked, ctor_profiles, rc);
  if (ctor_returned_early) die("the parent's load ended while the constructor held the lock");
  if (ctor_bad || ctor_profiles != CTOR_CHILDREN) die("a child forked in the constructor failed");
  if (rc != 0) die("the parent's first dump failed");
  return 0;
}

/* ---- signal ------------------------------------------------------------------ */

static atomic_int in_dump, handled_in_dump, stop_sending;

static void on_usr1(int sig) {
  (void)sig;
  int saved = errno;
  /* not async-signal-safe by POSIX; liballoc is meant to survive it */
  void *p = malloc(it_opaque(48));
  void *q = malloc(it_opaque(5000));
  free(p);
  free(q);
  if (atomic_load(&in_dump)) atomic_fetch_add(&handled_in_dump, 1);
  errno = saved;
}

static void *send_usr1(void *arg) {
  pthread_t main_thread = *(pthread_t *)arg;
  while (!atomic_load(&stop_sending)) pthread_kill(main_thread, SIGUSR1);
  return NULL;
}

static int mode_signal(const char *dir) {
  alarm(60);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, NULL);
  void *keep = churn(1000);
  pthread_t self = pthread_self(), t;
  if (pthread_create(&t, NULL, send_usr1, &self) != 0) die("pthread_create");
  char path[4096];
  snprintf(path, sizeof path, "%s/signal.pb.gz", dir);
  atomic_store(&in_dump, 1);
  int rc = dump(path);
  atomic_store(&in_dump, 0);
  atomic_store(&stop_sending, 1);
  pthread_join(t, NULL);
  unchurn(keep);
  printf("signal: %d handler runs during the first dump\n", atomic_load(&handled_in_dump));
  if (rc != 0) die("allocprof_dump failed");
  if (!file_nonempty(path)) die("no profile");
  if (atomic_load(&handled_in_dump) == 0) die("no signal landed during the dump");
  return 0;
}

/* ---- chdir, maps, dlopen ---------------------------------------------------------- */

static int mode_chdir(const char *dir) {
  alarm(60);
  void *keep = churn(1000);
  if (chdir("/") != 0) die("chdir");
  char path[4096];
  snprintf(path, sizeof path, "%s/chdir.pb.gz", dir);
  int rc = dump(path);
  unchurn(keep);
  if (rc != 0) die("allocprof_dump after chdir failed");
  if (!file_nonempty(path)) die("no profile");
  printf("chdir: ok\n");
  return 0;
}

static int mode_maps(const char *dir) {
  alarm(60);
  void *keep = churn(5000);
  int rc = 0;
  if (dir != NULL) {
    char path[4096];
    snprintf(path, sizeof path, "%s/maps.pb.gz", dir);
    rc = dump(path);
    printf("dump=%d\n", rc);
  }
  unchurn(keep);
  struct dumplib_count c = dumplib_loaded();
  printf("secure=%lu\n", getauxval(AT_SECURE));
  printf("dumplib=%s\n", c.n ? c.path : "none");
  return 0;
}

static int mode_dlopen(const char *lib, const char *flags, const char *dir) {
  alarm(60);
  int mode = RTLD_NOW | (strcmp(flags, "global") == 0 ? RTLD_GLOBAL : RTLD_LOCAL);
  void *h = dlopen(lib, mode);
  if (h == NULL) die(dlerror());
  dump_fn f = (dump_fn)(uintptr_t)dlsym(h, "allocprof_dump");
  if (f == NULL) die("no allocprof_dump in the library");
  void *keep = churn(1000);
  char path[4096];
  snprintf(path, sizeof path, "%s/dlopen.pb.gz", dir);
  errno = 0;
  int rc = f(path);
  int err = errno;
  unchurn(keep);
  if (rc == 0)
    printf("dump=0 file=%d\n", file_nonempty(path));
  else
    printf("dump=%d errno=%d\n", rc, err);
  /* a second call: the same outcome, and no second line */
  rc = f(path);
  printf("again=%d\n", rc);
  /* the program lets go of liballoc.so while it may have loaded the dumping
   * half: nothing may run code of a library that is gone */
  if (dlclose(h) != 0) die(dlerror());
  unchurn(churn(1000));
  return 0;
}

/* Runs before every constructor of every library, liballoc's included. */
static int preinit_rc = 1;
static void preinit_dump(int argc, char **argv, char **envp) {
  (void)envp;
  if (argc != 3 || strcmp(argv[1], "preinit") != 0) return;
  dump_fn f = (dump_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "allocprof_dump");
  char path[4096];
  snprintf(path, sizeof path, "%s/preinit.pb.gz", argv[2]);
  preinit_rc = f != NULL ? f(path) : 2;
}
__attribute__((section(".preinit_array"),
               used)) static void (*const preinit_entry)(int, char **, char **) = preinit_dump;

static int mode_preinit(const char *dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/preinit.pb.gz", dir);
  printf("preinit: allocprof_dump = %d\n", preinit_rc);
  if (preinit_rc != 0) die("the dump before the constructors failed");
  if (!file_nonempty(path)) die("no profile");
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2) die("usage: dumplib_load MODE ARGS...");
  const char *m = argv[1];
  if (strcmp(m, "dlopen") == 0 && argc == 5) return mode_dlopen(argv[2], argv[3], argv[4]);
  dump = (dump_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "allocprof_dump");
  if (dump == NULL) die("allocprof_dump not found: liballoc.so is neither linked nor preloaded");
  if (strcmp(m, "threads") == 0 && argc == 5)
    return mode_threads(atoi(argv[2]), atoi(argv[3]), argv[4]);
  if (strcmp(m, "fork") == 0 && argc == 4) return mode_fork(atoi(argv[2]), argv[3]);
  if (strcmp(m, "ctorfork") == 0 && argc == 4) return mode_ctorfork(argv[2], argv[3]);
  if (strcmp(m, "signal") == 0 && argc == 3) return mode_signal(argv[2]);
  if (strcmp(m, "chdir") == 0 && argc == 3) return mode_chdir(argv[2]);
  if (strcmp(m, "preinit") == 0 && argc == 3) return mode_preinit(argv[2]);
  if (strcmp(m, "maps") == 0 && (argc == 2 || argc == 3))
    return mode_maps(argc == 3 ? argv[2] : NULL);
  die("bad arguments");
}
