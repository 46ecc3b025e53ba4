/* fork_profiler: fork while the heap profiler dumps, and check that every
 * child finishes and writes its own profile.
 *
 * usage: fork_profiler TRIGGER CHILD FORKS [BLOCKING_LIB]
 *   TRIGGER  interval | signal | inuse | peak | stream | nopid: the setting
 *            under test (see settings_for); every run also samples at 4 KiB
 *   CHILD    exit | _exit: how each child ends
 *   FORKS    how many children, one after the other
 *   BLOCKING_LIB  a library whose constructor blocks (fork_block_lib.c): the
 *            forks are then taken while another thread is inside dlopen
 *
 * The program runs twice: first as the driver, which makes a fresh directory,
 * sets the ALLOCPROF_* variables and runs itself again (liballoc reads them
 * when it is loaded). The second run starts threads that allocate all the
 * time (and, for the signal trigger, one that sends the dump signal), so that
 * a fork lands at any point of a sample or a dump: inside dl_iterate_phdr,
 * the unwinder, the symbolizer, a file being written. Each child walks the
 * loader's list, dlopens libz, allocates and ends. The parent waits for each
 * child; one that has not ended after HANG_SECONDS is hung (the bug this test
 * is for), is killed and fails the test. After the run the driver checks that
 * every child that ended with exit() left its own profile under its own pid
 * (an _exit() child may or may not have dumped, by a trigger, before it ended),
 * that the parent's profile is the parent's, and that nothing said that a
 * profile was not written.
 */
#define _GNU_SOURCE
#include <dirent.h>
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "it_common.h"

#define HANG_SECONDS 60
#define MAX_FORKS 1000

static int failures;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "fork_profiler: FAIL: ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  failures++;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ==== the run under the profiler ============================================ */

static atomic_int stop;

static void *allocator_thread(void *arg) {
  uint64_t rng = it_seed((uint64_t)(uintptr_t)arg, 7);
  enum { SLOTS = 512 };
  static __thread void *slot[SLOTS];
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    for (int i = 0; i < 4096; i++) {
      unsigned k = (unsigned)(it_rand(&rng) % SLOTS);
      free(slot[k]);
      size_t n = it_rand(&rng) % 8 == 0 ? 4096 + it_rand(&rng) % 65536 : 16 + it_rand(&rng) % 512;
      slot[k] = malloc(it_opaque(n));
      if (slot[k] != NULL) memset(slot[k], 1, n < 64 ? n : 64);
    }
  }
  for (int k = 0; k < SLOTS; k++) free(slot[k]);
  return NULL;
}

static void *signal_thread(void *arg) {
  (void)arg;
  struct timespec pace = {0, 500000};
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    kill(getpid(), SIGUSR2);
    nanosleep(&pace, NULL); /* pacing only: no event is waited for */
  }
  return NULL;
}

static int count_object(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)info, (void)size;
  ++*(int *)arg;
  return 0;
}

/* What each child does: the loader, the heap, then the end it was told. */
static void child_body(int use_exit) {
  int objects = 0;
  dl_iterate_phdr(count_object, &objects);
  void *z = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);
  if (objects == 0 || z == NULL) _exit(3);
  void *keep[64];
  for (int i = 0; i < 64; i++) keep[i] = malloc(it_opaque(1024 + (size_t)i * 512));
  for (int i = 0; i < 64; i++)
    if (keep[i] == NULL) _exit(4);
  for (int i = 0; i < 32; i++) free(keep[i]);
  if (use_exit) exit(0);
  _exit(0);
}

/* Waits for pid; -1 when it did not end in time (it is then killed). */
static int wait_child(pid_t pid, int *status) {
  double deadline = now_s() + HANG_SECONDS;
  struct timespec poll = {0, 2000000};
  for (;;) {
    pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid) return 0;
    if (r < 0 && errno != EINTR) return -1;
    if (now_s() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, status, 0);
      return -1;
    }
    nanosleep(&poll, NULL);
  }
}

struct blocker {
  const char *lib;
  int entered[2], release[2];
};

static void *dlopen_thread(void *arg) {
  struct blocker *b = arg;
  void *h = dlopen(b->lib, RTLD_NOW | RTLD_LOCAL);
  return h;
}

static int run(const char *trigger, int use_exit, int forks, const char *blocking_lib) {
  pthread_t alloc_tid[2], sig_tid, dl_tid;
  for (int i = 0; i < 2; i++)
    pthread_create(&alloc_tid[i], NULL, allocator_thread, (void *)(uintptr_t)(i + 1));
  int with_signal = strcmp(trigger, "signal") == 0;
  if (with_signal) pthread_create(&sig_tid, NULL, signal_thread, NULL);

  struct blocker b = {blocking_lib, {-1, -1}, {-1, -1}};
  if (blocking_lib != NULL) {
    if (pipe(b.entered) != 0 || pipe(b.release) != 0) return 2;
    char fds[64];
    snprintf(fds, sizeof fds, "%d %d", b.entered[1], b.release[0]);
    setenv("FORK_BLOCK_FDS", fds, 1);
    pthread_create(&dl_tid, NULL, dlopen_thread, &b);
    char c;
    /* the library's constructor says it is running (inside dlopen) */
    if (read(b.entered[0], &c, 1) != 1) return 2;
  }

  FILE *pids = fopen("children", "w");
  if (pids == NULL) return 2;
  int hung = 0, bad = 0;
  double slowest = 0;
  for (int i = 0; i < forks; i++) {
    double t0 = now_s();
    fflush(NULL); /* an exit() child would write out what stdio holds */
    pid_t pid = fork();
    if (pid < 0) {
      fail("fork: %s", strerror(errno));
      break;
    }
    if (pid == 0) child_body(use_exit);
    int status = 0;
    if (wait_child(pid, &status) != 0) {
      hung++;
      fprintf(stderr, "fork_profiler: child %d (fork %d) hung; killed\n", (int)pid, i);
      continue;
    }
    double took = now_s() - t0;
    if (took > slowest) slowest = took;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      bad++;
      fprintf(stderr, "fork_profiler: child %d ended with status 0x%x\n", (int)pid, status);
    }
    fprintf(pids, "%d\n", (int)pid);
  }
  fclose(pids);
  if (blocking_lib != NULL) {
    if (write(b.release[1], "x", 1) != 1) return 2;
    void *h;
    pthread_join(dl_tid, &h);
    if (h == NULL) fail("dlopen of %s failed: %s", blocking_lib, dlerror());
  }
  atomic_store(&stop, 1);
  for (int i = 0; i < 2; i++) pthread_join(alloc_tid[i], NULL);
  if (with_signal) pthread_join(sig_tid, NULL);
  printf("fork_profiler: %d forks (%s, %s children): %d hung, %d failed; slowest child %.3f s\n",
         forks, trigger, use_exit ? "exit" : "_exit", hung, bad, slowest);
  if (hung) fail("%d of %d children hung", hung, forks);
  if (bad) fail("%d of %d children failed", bad, forks);
  return failures ? 1 : 0;
}

/* ==== the driver ============================================================== */

/* The variables of one trigger; the output files are in the current
 * directory. Returns 0, or -1 for an unknown trigger. */
static int settings_for(const char *trigger) {
  setenv("ALLOCPROF_RATE", "4k", 1);
  setenv("ALLOCPROF_OUT", "x.%p.%n.pb.gz", 1);
  if (strcmp(trigger, "interval") == 0) {
    setenv("ALLOCPROF_INTERVAL", "0.001", 1);
  } else if (strcmp(trigger, "signal") == 0) {
    setenv("ALLOCPROF_SIGNAL", "USR2", 1);
  } else if (strcmp(trigger, "inuse") == 0) {
    setenv("ALLOCPROF_INUSE_INTERVAL", "64k", 1);
  } else if (strcmp(trigger, "peak") == 0) {
    setenv("ALLOCPROF_PEAK", "16k", 1);
  } else if (strcmp(trigger, "stream") == 0) {
    unsetenv("ALLOCPROF_OUT");
    setenv("ALLOCPROF_STREAM", "s.%p.stream", 1);
    setenv("ALLOCPROF_INTERVAL", "0.001", 1);
  } else if (strcmp(trigger, "nopid") == 0) {
    /* no %p: a child must not write over its parent's x.0.pb.gz */
    setenv("ALLOCPROF_OUT", "x.%n.pb.gz", 1);
  } else {
    return -1;
  }
  return 0;
}

static int file_nonempty(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

/* Whether any line of path contains needle. */
static int file_mentions(const char *path, const char *needle, char *line, size_t len) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return 0;
  int found = 0;
  while (!found && fgets(line, (int)len, f) != NULL) found = strstr(line, needle) != NULL;
  fclose(f);
  return found;
}

static void check_outputs(const char *trigger, int use_exit, pid_t parent) {
  char line[512], path[256];
  static const char *const bad_words[] = {"not written", "not appended", "did not finish",
                                          "cannot"};
  for (size_t i = 0; i < sizeof bad_words / sizeof bad_words[0]; i++)
    if (file_mentions("stderr", bad_words[i], line, sizeof line)) fail("the run said: %s", line);

  int is_stream = strcmp(trigger, "stream") == 0, nopid = strcmp(trigger, "nopid") == 0;
  /* the parent's own exit profile */
  if (is_stream)
    snprintf(path, sizeof path, "s.%d.stream", (int)parent);
  else if (nopid)
    snprintf(path, sizeof path, "x.0.pb.gz");
  else
    snprintf(path, sizeof path, "x.%d.0.pb.gz", (int)parent);
  if (!file_nonempty(path)) fail("the parent's profile %s is missing", path);

  FILE *f = fopen("children", "r");
  if (f == NULL) {
    fail("no list of children");
    return;
  }
  int pid, children = 0, missing = 0;
  while (fscanf(f, "%d", &pid) == 1) {
    children++;
    if (is_stream)
      snprintf(path, sizeof path, "s.%d.stream", pid);
    else
      snprintf(path, sizeof path, "x.%d.0.pb.gz", pid);
    if (use_exit && !file_nonempty(path)) missing++;
  }
  fclose(f);
  if (missing) fail("%d of %d exit() children left no profile of their own", missing, children);
  if (nopid && use_exit) {
    /* said once per child that wrote, naming where it writes instead */
    int said = 0;
    FILE *e = fopen("stderr", "r");
    while (e != NULL && fgets(line, sizeof line, e) != NULL)
      said += strstr(line, "has no %p") != NULL;
    if (e != NULL) fclose(e);
    if (said != children)
      fail("%d children said their profile's name has no %%p, expected %d", said, children);
  }
  printf("fork_profiler: %d children checked\n", children);
}

static int drive(char **argv) {
  char dir[] = "/tmp/fork_profiler.XXXXXX";
  if (mkdtemp(dir) == NULL || chdir(dir) != 0) {
    perror("fork_profiler: temporary directory");
    return 2;
  }
  if (settings_for(argv[1]) != 0) {
    fprintf(stderr, "fork_profiler: unknown trigger %s\n", argv[1]);
    return 2;
  }
  int use_exit = strcmp(argv[2], "exit") == 0;
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open("stderr", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || dup2(fd, 2) < 0) _exit(2);
    setenv("FORK_PROFILER_RUN", "1", 1);
    execv("/proc/self/exe", argv);
    _exit(127);
  }
  int status;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return 2;
  /* the run's own messages, for the log */
  char line[512];
  FILE *e = fopen("stderr", "r");
  for (int n = 0; e != NULL && n < 20 && fgets(line, sizeof line, e) != NULL; n++)
    fputs(line, stderr);
  if (e != NULL) fclose(e);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail("the run ended with status 0x%x", status);
  check_outputs(argv[1], use_exit, pid);
  if (failures == 0) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "fork_profiler: could not remove %s\n", dir);
  } else {
    fprintf(stderr, "fork_profiler: files kept in %s\n", dir);
  }
  return failures ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc < 4 || (strcmp(argv[2], "exit") != 0 && strcmp(argv[2], "_exit") != 0)) {
    fprintf(stderr,
            "usage: fork_profiler interval|signal|inuse|peak|stream|nopid exit|_exit FORKS "
            "[BLOCKING_LIB]\n");
    return 2;
  }
  int forks = atoi(argv[3]);
  if (forks < 1 || forks > MAX_FORKS) return 2;
  if (getenv("FORK_PROFILER_RUN") == NULL) return drive(argv);
  it_require_liballoc("fork_profiler");
  return run(argv[1], strcmp(argv[2], "exit") == 0, forks, argc > 4 ? argv[4] : NULL);
}
