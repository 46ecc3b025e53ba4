/* trig_host.c: the program the trigger tests (trig_tests.sh) profile, run
 * with liballoc.so in LD_PRELOAD and ALLOCPROF_* settings. Each mode
 * allocates in a known shape and says what it did on stdout; its exit status
 * is its own, so the tests can see that the profiler changed neither.
 *
 *   hello STATUS           a little allocation, "hello", exit(STATUS)
 *   run MS STATUS exit|return  churn for MS ms, "done", then exit(STATUS) or
 *                          return STATUS from main
 *   until FILE STATUS exit|return  the same, churning until FILE exists
 *                          (the profiler wrote the dump it names)
 *   wait FILE STATUS       "ready", churn while the main thread blocks in
 *                          read() on a pipe that a helper thread feeds (a
 *                          read that fails with EINTR exits 99: a signal
 *                          handler without SA_RESTART), until FILE exists;
 *                          "bye", exit(STATUS)
 *   grow MB                allocates MB MiB in 256 KiB blocks, kept
 *   peak DIR               grows to 32 MiB, frees it all, grows to 16 MiB,
 *                          then to 96 MiB; after each phase counts the
 *                          profiles DIR/heap.N.pb.gz and prints
 *                          "phaseN=count"
 *   fork DIR LATE          (LATE 1: after the parent's second dump) forks a
 *                          child that churns until it has made two dumps of
 *                          its own and exit(5)s, and one that allocates and
 *                          _exit(6)s; checks their statuses; churns until
 *                          the parent has made two dumps; prints
 *                          "parent=P a=A b=B" (dumps: DIR/heap.PID.N.pb.gz)
 *   threads STATUS         4 threads churn without end; main exit(STATUS)s
 *                          while they run, 300 ms after each made its first
 *                          round
 *   pthread_exit           a thread churns for 500 ms; main ends with
 *                          pthread_exit (the process must still end, status 0)
 *   forever                "ready", churns until killed
 *   freed MB               grows to MB MiB in 256 KiB blocks (letting the
 *                          profiler thread settle after each, as grow),
 *                          frees them all, keeps 100 bytes, "freed"
 *   forkexit               forks a child that allocates and exit(0)s (no
 *                          exec), waits for it, allocates, prints
 *                          "parent=P child=C", returns 0
 *
 * Nothing here waits a fixed time for the profiler: dumps happen on its own
 * thread, later on a loaded machine. A mode that expects a dump waits for
 * its file; grow and peak let the profiler thread settle (see settle())
 * after each block, so that each dump sees the in-use level that triggered
 * it. Every wait gives up, with a message and exit 70, after WAIT_MAX_MS.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "it_common.h"

#define RING 4096
static void *volatile ring[RING]; /* volatile: the compiler must not drop the calls */

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* The longest wait for the profiler: only a profiler that is stuck (or a
 * machine that is hopelessly overloaded) takes this long. */
#define WAIT_MAX_MS 60000

static int exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* n allocations of 16..4111 bytes into random slots of a ring of RING
 * pointers, freeing what was there. One thread per ring: two threads on one
 * would free a slot twice. */
static void churn_ring(void *volatile *slots, uint64_t *rng, int n) {
  for (int i = 0; i < n; i++) {
    uint64_t r = it_rand(rng);
    size_t slot = r % RING;
    free(slots[slot]);
    size_t size = 16 + (size_t)((r >> 20) % 4096);
    unsigned char *p = malloc(it_opaque(size));
    if (p == NULL) it_die("trig_host: out of memory");
    p[0] = (unsigned char)r;
    slots[slot] = p;
  }
}

/* churn_ring on the ring of the main thread (or of the one thread that
 * churns in a mode) */
static void churn(uint64_t *rng, int n) { churn_ring(ring, rng, n); }

/* At least one round of 200, however late the clock is read: a case that
 * expects an exit profile needs a sample (trig_tests.sh). */
static void churn_for(uint64_t *rng, unsigned ms) {
  uint64_t end = now_ms() + ms;
  do {
    churn(rng, 200);
    sleep_ms(2);
  } while (now_ms() < end);
}

static void say_line(const char *s) { it_say(1, "%s\n", s); }

/* Churns until path exists (the profiler wrote it); exit 70 after
 * WAIT_MAX_MS. */
static void churn_until(uint64_t *rng, const char *path) {
  uint64_t end = now_ms() + WAIT_MAX_MS;
  while (!exists(path)) {
    if (now_ms() > end) {
      it_say(2, "trig_host: %s did not appear in %d s\n", path, WAIT_MAX_MS / 1000);
      exit(70);
    }
    churn(rng, 200);
    sleep_ms(2);
  }
}

/* ---- the profiler thread ---------------------------------------------------
 * A peak or growth dump is made by the profiler thread ("allocprof") when an
 * allocation crosses a threshold, and the next threshold is set from the
 * in-use level at that dump. A program that went on growing while the thread
 * waited for a CPU would move that level, and the number of dumps with it.
 * settle() waits instead until the thread is idle: asleep in its futex wait
 * (a timed FUTEX_WAIT_PRIVATE on one word) rather than runnable or dumping.
 * The allocation that crosses a threshold wakes the thread before it
 * returns, so once settle() has seen it idle again, the dump is done and
 * the next threshold is set. The kernel tells: /proc/self/task/TID/stat
 * (state) and .../syscall (the call it is blocked in). */

static long profiler_tid;           /* 0: no profiler thread */
static unsigned long profiler_word; /* the futex word it idles on */

/* Reads a small /proc file without allocating. */
static int read_small(const char *path, char *buf, size_t len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, len - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  return 0;
}

/* Finds the profiler thread: made before main when a growth or peak
 * trigger is set, it names itself when it first runs, which may be later. */
static void find_profiler(void) {
  const char *peak = getenv("ALLOCPROF_PEAK"), *growth = getenv("ALLOCPROF_INUSE_INTERVAL");
  if ((peak == NULL || *peak == 0) && (growth == NULL || *growth == 0)) return;
  uint64_t end = now_ms() + WAIT_MAX_MS;
  while (profiler_tid == 0) {
    if (now_ms() > end) {
      it_say(2, "trig_host: no profiler thread after %d s\n", WAIT_MAX_MS / 1000);
      exit(70);
    }
    DIR *d = opendir("/proc/self/task");
    if (d == NULL) it_die("trig_host: cannot open /proc/self/task");
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      char path[300], comm[32];
      snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
      if (e->d_name[0] != '.' && read_small(path, comm, sizeof comm) == 0 &&
          strcmp(comm, "allocprof\n") == 0)
        profiler_tid = atol(e->d_name);
    }
    closedir(d);
    if (profiler_tid == 0) sleep_ms(1);
  }
}

/* Whether the profiler thread sleeps in its idle wait. */
static int profiler_idle(void) {
  char path[96], buf[512];
  snprintf(path, sizeof path, "/proc/self/task/%ld/stat", profiler_tid);
  if (read_small(path, buf, sizeof buf) != 0) return 0;
  const char *p = strrchr(buf, ')');
  if (p == NULL || p[1] != ' ' || p[2] != 'S') return 0;
  snprintf(path, sizeof path, "/proc/self/task/%ld/syscall", profiler_tid);
  if (read_small(path, buf, sizeof buf) != 0) return 0;
  long nr;
  unsigned long word, op, val, timeout;
  if (sscanf(buf, "%ld %lx %lx %lx %lx", &nr, &word, &op, &val, &timeout) != 5) return 0;
  if (nr != SYS_futex || op != (FUTEX_WAIT | FUTEX_PRIVATE_FLAG) || timeout == 0) return 0;
  if (profiler_word == 0) profiler_word = word; /* the first idle wait names the word */
  return word == profiler_word;
}

/* Waits until the profiler thread, if there is one, is idle; exit 70 after
 * WAIT_MAX_MS. */
static void settle(void) {
  if (profiler_tid == 0) return;
  uint64_t end = now_ms() + WAIT_MAX_MS;
  while (!profiler_idle()) {
    if (now_ms() > end) {
      it_say(2, "trig_host: the profiler thread was still busy after %d s\n", WAIT_MAX_MS / 1000);
      exit(70);
    }
    sleep_ms(1);
  }
}

/* ---- wait --------------------------------------------------------------- */

static int feed_fd;
static int feeding = 1;                /* atomic */
static void *volatile feed_ring[RING]; /* the feeder's own ring */

static void *feeder(void *arg) {
  uint64_t rng = it_seed(2, 0);
  while (__atomic_load_n(&feeding, __ATOMIC_RELAXED)) {
    churn_ring(feed_ring, &rng, 100);
    sleep_ms(20);
    if (write(feed_fd, "x", 1) != 1) break;
  }
  return arg;
}

static int mode_wait(const char *file, int status) {
  int fds[2];
  if (pipe(fds) != 0) it_die("trig_host: pipe");
  feed_fd = fds[1];
  pthread_t t;
  if (pthread_create(&t, NULL, feeder, NULL) != 0) it_die("trig_host: pthread_create");
  uint64_t rng = it_seed(1, 0);
  churn(&rng, 200); /* whatever the loop below does: enough for a sample */
  say_line("ready");
  struct stat st;
  while (stat(file, &st) != 0) {
    char c;
    ssize_t n = read(fds[0], &c, 1);
    if (n < 0 && errno == EINTR) {
      say_line("EINTR");
      exit(99);
    }
    if (n != 1) it_die("trig_host: read from the pipe failed");
    churn(&rng, 50);
  }
  __atomic_store_n(&feeding, 0, __ATOMIC_RELAXED);
  pthread_join(t, NULL);
  say_line("bye");
  exit(status);
}

/* ---- grow and peak ---------------------------------------------------------- */

#define BLOCK ((size_t)256 << 10)
static void *volatile blocks[1024];
static size_t nblocks;

/* Grows to mb MiB, letting the profiler settle after each block. */
static void grow_to(size_t mb) {
  while (nblocks * BLOCK < (mb << 20)) {
    if (nblocks == sizeof blocks / sizeof blocks[0]) it_die("trig_host: too many blocks");
    char *p = malloc(it_opaque(BLOCK));
    if (p == NULL) it_die("trig_host: out of memory");
    p[0] = 1;
    blocks[nblocks++] = p;
    settle();
  }
}

static void free_all(void) {
  while (nblocks > 0) {
    free(blocks[--nblocks]);
    settle();
  }
}

/* The profiles DIR/heap.0.pb.gz, heap.1.pb.gz... that exist, counted
 * without allocating (an allocation here could cross a threshold). */
static int count_profiles(const char *dir) {
  int n = 0;
  for (;; n++) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/heap.%d.pb.gz", dir, n);
    if (!exists(path)) return n;
  }
}

static int mode_peak(const char *dir) {
  static const size_t phases[] = {32, 0, 16, 96};
  int k = 1;
  find_profiler();
  settle();
  for (size_t i = 0; i < sizeof phases / sizeof phases[0]; i++) {
    if (phases[i] == 0) {
      free_all();
      continue;
    }
    grow_to(phases[i]);
    it_say(1, "phase%d=%d\n", k++, count_profiles(dir));
  }
  return 0;
}

/* ---- fork -------------------------------------------------------------------- */

/* DIR/heap.PID.N.pb.gz */
static void dump_name(char *buf, size_t len, const char *dir, pid_t pid, int n) {
  snprintf(buf, len, "%s/heap.%ld.%d.pb.gz", dir, (long)pid, n);
}

static int mode_fork(const char *dir, int late) {
  uint64_t rng = it_seed(3, 0);
  char path[PATH_MAX];
  churn(&rng, 2000);
  /* late: the parent's first dump has registered the later fork handler
   * by the time its second dump is written */
  if (late) {
    dump_name(path, sizeof path, dir, getpid(), 1);
    churn_until(&rng, path);
  }
  pid_t a = fork();
  if (a < 0) it_die("trig_host: fork");
  if (a == 0) {
    uint64_t r = it_seed(4, 0);
    dump_name(path, sizeof path, dir, getpid(), 1);
    churn_until(&r, path);
    exit(5);
  }
  pid_t b = fork();
  if (b < 0) it_die("trig_host: fork");
  if (b == 0) {
    uint64_t r = it_seed(5, 0);
    churn(&r, 2000);
    _exit(6);
  }
  int st;
  if (waitpid(a, &st, 0) != a || !WIFEXITED(st) || WEXITSTATUS(st) != 5)
    it_die("trig_host: child a did not exit(5): status %#x", st);
  if (waitpid(b, &st, 0) != b || !WIFEXITED(st) || WEXITSTATUS(st) != 6)
    it_die("trig_host: child b did not _exit(6): status %#x", st);
  dump_name(path, sizeof path, dir, getpid(), 1);
  churn_until(&rng, path);
  it_say(1, "parent=%ld a=%ld b=%ld\n", (long)getpid(), (long)a, (long)b);
  return 0;
}

/* ---- threads ------------------------------------------------------------------- */

static int churners_started; /* threads that made their first round */

static void *churner(void *arg) {
  uint64_t rng = it_seed((uint64_t)(uintptr_t)arg, 7);
  void *mine[256] = {0};
  for (int round = 0;; round++) {
    for (int i = 0; i < 256; i++) {
      free(mine[i]);
      mine[i] = malloc(it_opaque(32 + (it_rand(&rng) % 2048)));
    }
    if (round == 0) __atomic_fetch_add(&churners_started, 1, __ATOMIC_RELEASE);
  }
  return NULL;
}

/* main exits while the threads allocate: once each has made a round (so
 * they do allocate, and the exit profile has samples to write), 300 ms on */
static int mode_threads(int status) {
  for (uintptr_t i = 1; i <= 4; i++) {
    pthread_t t;
    if (pthread_create(&t, NULL, churner, (void *)i) != 0) it_die("trig_host: pthread_create");
  }
  uint64_t end = now_ms() + WAIT_MAX_MS;
  while (__atomic_load_n(&churners_started, __ATOMIC_ACQUIRE) < 4) {
    if (now_ms() > end) it_die("trig_host: the threads made no round in %d s", WAIT_MAX_MS / 1000);
    sleep_ms(1);
  }
  sleep_ms(300);
  say_line("exiting");
  exit(status);
}

static void *short_worker(void *arg) {
  uint64_t rng = it_seed(9, 0);
  churn_for(&rng, 500);
  say_line("worker done");
  return arg;
}

static int mode_pthread_exit(void) {
  pthread_t t;
  if (pthread_create(&t, NULL, short_worker, NULL) != 0) it_die("trig_host: pthread_create");
  pthread_exit(NULL);
}

static int mode_forkexit(uint64_t *rng) {
  fflush(stdout);
  pid_t child = fork();
  if (child < 0) return 71;
  if (child == 0) {
    churn(rng, 1000);
    exit(0);
  }
  int status;
  if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    it_say(2, "trig_host: the forked child failed\n");
    return 72;
  }
  churn(rng, 1000);
  printf("parent=%ld child=%ld\n", (long)getpid(), (long)child);
  return 0;
}

/* ---- main ------------------------------------------------------------------------ */

static void usage(void) {
  it_say(2,
         "usage: trig_host "
         "hello|run|until|wait|grow|peak|fork|threads|pthread_exit|forever|forkexit|freed ...\n");
  exit(2);
}

int main(int argc, char **argv) {
  if (argc < 2) usage();
  const char *mode = argv[1];
  uint64_t rng = it_seed(0, 0);
  if (strcmp(mode, "hello") == 0 && argc == 3) {
    churn(&rng, 1000);
    say_line("hello");
    exit(atoi(argv[2]));
  }
  if (strcmp(mode, "run") == 0 && argc == 5) {
    churn_for(&rng, (unsigned)atoi(argv[2]));
    say_line("done");
    if (strcmp(argv[4], "exit") == 0) exit(atoi(argv[3]));
    return atoi(argv[3]);
  }
  if (strcmp(mode, "until") == 0 && argc == 5) {
    churn_until(&rng, argv[2]);
    say_line("done");
    if (strcmp(argv[4], "exit") == 0) exit(atoi(argv[3]));
    return atoi(argv[3]);
  }
  if (strcmp(mode, "wait") == 0 && argc == 4) return mode_wait(argv[2], atoi(argv[3]));
  if (strcmp(mode, "grow") == 0 && argc == 3) {
    find_profiler();
    settle();
    grow_to((size_t)atoi(argv[2]));
    say_line("grown");
    return 0;
  }
  if (strcmp(mode, "peak") == 0 && argc == 3) return mode_peak(argv[2]);
  if (strcmp(mode, "fork") == 0 && argc == 4) return mode_fork(argv[2], atoi(argv[3]));
  if (strcmp(mode, "threads") == 0 && argc == 3) return mode_threads(atoi(argv[2]));
  if (strcmp(mode, "pthread_exit") == 0 && argc == 2) return mode_pthread_exit();
  if (strcmp(mode, "freed") == 0 && argc == 3) {
    find_profiler();
    settle();
    grow_to((size_t)atoi(argv[2]));
    free_all();
    ring[0] = malloc(it_opaque(100));
    say_line("freed");
    return 0;
  }
  if (strcmp(mode, "forkexit") == 0 && argc == 2) return mode_forkexit(&rng);
  if (strcmp(mode, "forever") == 0 && argc == 2) {
    say_line("ready");
    for (;;) churn_for(&rng, 1000);
  }
  usage();
}
