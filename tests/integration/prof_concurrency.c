/* prof_concurrency: the profiler at rate 1 must neither deadlock nor recurse
 * when samples happen in awkward places, all at once:
 *   - 64 threads allocating and freeing each other's objects,
 *   - a thread that dlopens and dlcloses a library whose constructor
 *     allocates (samples taken with the loader's lock held, while other
 *     threads' stack captures need that lock too),
 *   - a thread whose signal handler calls malloc and free, with signals sent
 *     many times a second,
 *   - dumps to files running meanwhile.
 * A watchdog turns a deadlock into a failure. At the end the profile must
 * hold every allocation of the workers exactly (rate 1), the handler's under
 * its function and the library constructor's in the library.
 *
 * usage: prof_concurrency LIBRARY.so [DIR] (run with ALLOCPROF_RATE=1) */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

#include "allocprof.h"
#include "it_common.h"
#include "prof_check.h"

enum { NTHREADS = 64, PER_THREAD = 4000, SLOTS = 1024 };

static _Atomic(void *) slots[SLOTS];
static atomic_int stop;
static atomic_long handler_allocs;
static pthread_t signalled;

/* The empty asm after the call keeps it from becoming a tail call, so the
 * function stays on the stack and names the samples. */
__attribute__((noinline)) static void *worker_alloc(size_t n) {
  void *p = malloc(n);
  __asm__ volatile("" ::: "memory");
  return p;
}

static void *worker(void *arg) {
  uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
  for (int i = 0; i < PER_THREAD; i++) {
    size_t n = 16 + (size_t)(it_rand(&rng) % 2000);
    void *p = worker_alloc(n);
    memset(p, 1, n);
    /* swap with a shared slot: the old object is freed by this thread,
     * having most likely been allocated by another */
    void *old = atomic_exchange(&slots[it_rand(&rng) % SLOTS], p);
    free(old);
  }
  return NULL;
}

__attribute__((noinline)) static void handler_alloc(void) {
  void *p = malloc(64);
  if (p != NULL) {
    memset(p, 7, 64);
    free(p);
    atomic_fetch_add(&handler_allocs, 1);
  }
}

static void on_signal(int sig) {
  (void)sig;
  handler_alloc();
}

/* Computes without allocating: the signal handler is the only thing that
 * allocates on this thread, so it never interrupts the thread's own malloc
 * (which would be undefined with any allocator). */
static void *spinner(void *arg) {
  (void)arg;
  volatile uint64_t x = 1;
  while (!atomic_load(&stop)) x = x * 6364136223846793005ull + 1;
  return NULL;
}

static void *signaller(void *arg) {
  (void)arg;
  struct timespec ts = {0, 200000};
  while (!atomic_load(&stop)) {
    pthread_kill(signalled, SIGUSR1);
    nanosleep(&ts, NULL);
  }
  return NULL;
}

static const char *lib_path;
static atomic_int dlopens;

static void *dlopener(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    void *h = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) pc_die("dlopen %s: %s", lib_path, dlerror());
    int (*value)(void) = (int (*)(void))dlsym(h, "prof_dlopen_lib_value");
    if (value == NULL || value() != 42) pc_die("dlsym in %s", lib_path);
    dlclose(h);
    atomic_fetch_add(&dlopens, 1);
  }
  return NULL;
}

static void on_watchdog(int sig) {
  (void)sig;
  static const char msg[] = "prof_concurrency: FAIL: deadlock (watchdog fired)\n";
  if (write(2, msg, sizeof msg - 1) < 0) _exit(3);
  _exit(3);
}

int main(int argc, char **argv) {
  if (argc < 2) pc_die("usage: prof_concurrency LIBRARY.so [DIR]");
  lib_path = argv[1];
  const char *dir = pc_tmpdir(argc, argv, 2);
  if (allocprof_get_rate() != 1)
    pc_die("run with ALLOCPROF_RATE=1 (rate is %llu)", (unsigned long long)allocprof_get_rate());
  signal(SIGALRM, on_watchdog);
  alarm(120);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);

  pthread_t spin, sig, dl, workers[NTHREADS];
  if (pthread_create(&spin, NULL, spinner, NULL) != 0) pc_die("pthread_create");
  signalled = spin;
  if (pthread_create(&sig, NULL, signaller, NULL) != 0) pc_die("pthread_create");
  if (pthread_create(&dl, NULL, dlopener, NULL) != 0) pc_die("pthread_create");
  for (int i = 0; i < NTHREADS; i++)
    if (pthread_create(&workers[i], NULL, worker, (void *)(uintptr_t)(i + 1)) != 0)
      pc_die("pthread_create");
  char path[sizeof pc_dir + 64];
  for (int d = 0; d < 5; d++) {
    snprintf(path, sizeof path, "%s/mid%d.pb.gz", dir, d);
    if (allocprof_dump(path) != 0) pc_die("allocprof_dump %s", path);
  }
  for (int i = 0; i < NTHREADS; i++) pthread_join(workers[i], NULL);
  /* let the dlopen and signal threads go on a little after the workers */
  while (atomic_load(&dlopens) < 20 || atomic_load(&handler_allocs) < 200) {
    struct timespec ts = {0, 10000000};
    nanosleep(&ts, NULL);
  }
  atomic_store(&stop, 1);
  pthread_join(sig, NULL);
  pthread_join(spin, NULL);
  pthread_join(dl, NULL);
  /* Loaded once more and kept while dumping, so that the constructor's
   * samples (at the addresses the library has again) can be named. */
  void *lib = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) pc_die("dlopen %s: %s", lib_path, dlerror());
  snprintf(path, sizeof path, "%s/final.pb.gz", dir);
  if (allocprof_dump(path) != 0) pc_die("allocprof_dump %s", path);
  alarm(0);

  profile_pb *p = pc_load(path);
  int64_t v[PC_NVALUES];
  pc_sum_leaf(p, "worker_alloc", v);
  PC_CHECK(v[PC_ALLOC_OBJECTS] == (int64_t)NTHREADS * PER_THREAD,
           "worker_alloc: %lld allocations, want %d", (long long)v[PC_ALLOC_OBJECTS],
           NTHREADS * PER_THREAD);
  pc_sum_leaf(p, "handler_alloc", v);
  PC_CHECK(v[PC_ALLOC_OBJECTS] >= 1 && v[PC_ALLOC_OBJECTS] <= atomic_load(&handler_allocs),
           "handler_alloc: %lld allocations sampled, %ld made", (long long)v[PC_ALLOC_OBJECTS],
           (long)atomic_load(&handler_allocs));
  PC_CHECK(v[PC_INUSE_OBJECTS] == 0, "handler_alloc: %lld still in use",
           (long long)v[PC_INUSE_OBJECTS]);
  /* The constructor's samples: their first location is in the library.
   * (Counted by mapping, not by name: with the library loaded and unloaded
   * a thousand times under it, naming is the symbolizer's business, tested
   * elsewhere.) */
  int64_t in_lib = 0;
  for (size_t i = 0; i < p->n_sample; i++) {
    const Perftools__Profiles__Sample *s = p->sample[i];
    if (s->n_location_id == 0) continue;
    const Perftools__Profiles__Location *l = pc_location(p, s->location_id[0]);
    const Perftools__Profiles__Mapping *m = l ? pc_mapping(p, l->mapping_id) : NULL;
    if (m != NULL && strstr(pc_str(p, m->filename), "prof_dlopen_lib") != NULL)
      in_lib += s->value[PC_ALLOC_OBJECTS];
  }
  PC_CHECK(in_lib >= 80, "%lld allocations sampled in the library's constructor, inside dlopen",
           (long long)in_lib);
  profile_free(p);
  dlclose(lib);
  for (int i = 0; i < SLOTS; i++) free(atomic_load(&slots[i]));
  printf(
      "prof_concurrency: %d threads x %d allocations, %d dlopens, %ld signal-handler allocations, "
      "6 dumps\n",
      NTHREADS, PER_THREAD, atomic_load(&dlopens), (long)atomic_load(&handler_allocs));
  pc_tmpdir_cleanup();
  return pc_failures ? 1 : 0;
}
