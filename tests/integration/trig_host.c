/* trig_host.c: the program the trigger tests (trig_tests.sh) profile, run
 * with liballoc.so in LD_PRELOAD and ALLOCPROF_* settings. Each mode
 * allocates in a known shape and says what it did on stdout; its exit status
 * is its own, so the tests can see that the profiler changed neither.
 *
 *   hello STATUS           a little allocation, "hello", exit(STATUS)
 *   run MS STATUS exit|return  churn for MS ms, "done", then exit(STATUS) or
 *                          return STATUS from main
 *   wait FILE STATUS       "ready", churn while the main thread blocks in
 *                          read() on a pipe that a helper thread feeds (a
 *                          read that fails with EINTR exits 99: a signal
 *                          handler without SA_RESTART), until FILE exists;
 *                          "bye", exit(STATUS)
 *   grow MB PAUSE_MS       allocates MB MiB in 256 KiB blocks, kept, with a
 *                          pause of PAUSE_MS ms after each MiB
 *   peak DIR PAUSE_MS      grows to 32 MiB, frees it all, grows to 16 MiB,
 *                          then to 96 MiB; after each phase waits, counts the
 *                          profiles in DIR and prints "phaseN=count"
 *   fork MS DELAY_MS       after DELAY_MS ms of churn, forks a child that
 *                          churns for MS ms and exit(5)s, and one that
 *                          allocates and _exit(6)s; checks their statuses;
 *                          prints "parent=P a=A b=B"
 *   threads STATUS         4 threads churn without end; main exit(STATUS)s
 *                          after 300 ms while they run
 *   pthread_exit           a thread churns for 500 ms; main ends with
 *                          pthread_exit (the process must still end, status 0)
 *   forever                "ready", churns until killed
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* n allocations of 16..4111 bytes into random slots of the ring, freeing
 * what was there. */
static void churn(uint64_t *rng, int n) {
  for (int i = 0; i < n; i++) {
    uint64_t r = it_rand(rng);
    size_t slot = r % RING;
    free(ring[slot]);
    size_t size = 16 + (size_t)((r >> 20) % 4096);
    unsigned char *p = malloc(it_opaque(size));
    if (p == NULL) it_die("trig_host: out of memory");
    p[0] = (unsigned char)r;
    ring[slot] = p;
  }
}

static void churn_for(uint64_t *rng, unsigned ms) {
  uint64_t end = now_ms() + ms;
  while (now_ms() < end) {
    churn(rng, 200);
    sleep_ms(2);
  }
}

static void say_line(const char *s) {
  it_say(1, "%s\n", s);
}

/* ---- wait --------------------------------------------------------------- */

static int feed_fd;
static volatile int feeding = 1;

static void *feeder(void *arg) {
  uint64_t rng = it_seed(2, 0);
  while (feeding) {
    churn(&rng, 100);
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
  say_line("ready");
  uint64_t rng = it_seed(1, 0);
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
  feeding = 0;
  pthread_join(t, NULL);
  say_line("bye");
  exit(status);
}

/* ---- grow and peak ---------------------------------------------------------- */

#define BLOCK ((size_t)256 << 10)
static void *volatile blocks[1024];
static size_t nblocks;

static void grow_to(size_t mb, unsigned pause_ms) {
  while (nblocks * BLOCK < (mb << 20)) {
    if (nblocks == sizeof blocks / sizeof blocks[0]) it_die("trig_host: too many blocks");
    char *p = malloc(it_opaque(BLOCK));
    if (p == NULL) it_die("trig_host: out of memory");
    p[0] = 1;
    blocks[nblocks++] = p;
    if (nblocks % 4 == 0 && pause_ms) sleep_ms(pause_ms);
  }
}

static void free_all(void) {
  while (nblocks > 0) free(blocks[--nblocks]);
}

static int count_profiles(const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL) it_die("trig_host: cannot open %s", dir);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    size_t len = strlen(e->d_name);
    if (len > 6 && strcmp(e->d_name + len - 6, ".pb.gz") == 0) n++;
  }
  closedir(d);
  return n;
}

static int mode_peak(const char *dir, unsigned pause_ms) {
  static const size_t phases[] = {32, 0, 16, 96};
  int k = 1;
  for (size_t i = 0; i < sizeof phases / sizeof phases[0]; i++) {
    if (phases[i] == 0) {
      free_all();
      continue;
    }
    grow_to(phases[i], pause_ms);
    sleep_ms(700); /* the profiler thread catches up */
    it_say(1, "phase%d=%d\n", k++, count_profiles(dir));
  }
  return 0;
}

/* ---- fork -------------------------------------------------------------------- */

static int mode_fork(unsigned ms, unsigned delay_ms) {
  uint64_t rng = it_seed(3, 0);
  churn(&rng, 2000);
  churn_for(&rng, delay_ms);
  pid_t a = fork();
  if (a < 0) it_die("trig_host: fork");
  if (a == 0) {
    uint64_t r = it_seed(4, 0);
    churn_for(&r, ms);
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
  churn(&rng, 2000);
  it_say(1, "parent=%ld a=%ld b=%ld\n", (long)getpid(), (long)a, (long)b);
  return 0;
}

/* ---- threads ------------------------------------------------------------------- */

static void *churner(void *arg) {
  uint64_t rng = it_seed((uint64_t)(uintptr_t)arg, 7);
  void *mine[256] = {0};
  for (;;) {
    for (int i = 0; i < 256; i++) {
      free(mine[i]);
      mine[i] = malloc(it_opaque(32 + (it_rand(&rng) % 2048)));
    }
  }
  return NULL;
}

static int mode_threads(int status) {
  for (uintptr_t i = 1; i <= 4; i++) {
    pthread_t t;
    if (pthread_create(&t, NULL, churner, (void *)i) != 0) it_die("trig_host: pthread_create");
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

/* ---- main ------------------------------------------------------------------------ */

static void usage(void) {
  it_say(2, "usage: trig_host hello|run|wait|grow|peak|fork|threads|pthread_exit|forever ...\n");
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
  if (strcmp(mode, "wait") == 0 && argc == 4) return mode_wait(argv[2], atoi(argv[3]));
  if (strcmp(mode, "grow") == 0 && argc == 4) {
    grow_to((size_t)atoi(argv[2]), (unsigned)atoi(argv[3]));
    sleep_ms(300);
    say_line("grown");
    return 0;
  }
  if (strcmp(mode, "peak") == 0 && argc == 4) return mode_peak(argv[2], (unsigned)atoi(argv[3]));
  if (strcmp(mode, "fork") == 0 && argc == 4)
    return mode_fork((unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]));
  if (strcmp(mode, "threads") == 0 && argc == 3) return mode_threads(atoi(argv[2]));
  if (strcmp(mode, "pthread_exit") == 0 && argc == 2) return mode_pthread_exit();
  if (strcmp(mode, "forever") == 0 && argc == 2) {
    say_line("ready");
    for (;;) churn_for(&rng, 1000);
  }
  usage();
}
