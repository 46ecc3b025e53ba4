/* prof_fds: the profiler keeps no file descriptor open between dumps,
 * however many libraries it symbolized (libprof/symbolize.h,
 * prof_symbolizer_close_files). The program copies one test library
 * (prof_dlclose_lib.c, built with DLC_NAME a) N_LIBS times, opens every
 * copy, and makes each allocate at rate 1, so that a dump reads the file of
 * each.
 *
 *   prof_fds count LIB [DIR]  counts /proc/self/fd before the first
 *                             allocprof_dump, after it and after a second:
 *                             the same three numbers, and the profile names
 *                             the libraries' function
 *   prof_fds limit LIB [DIR]  runs itself (mode child) with RLIMIT_NOFILE
 *                             LIMIT, fewer than the libraries, and
 *                             ALLOCPROF_OUT set: the child's exit profile
 *                             is written, and readable
 *
 * ALLOCPROF_RATE=1 comes from the test's environment. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "allocprof.h"
#include "it_common.h"
#include "prof_check.h"

#define N_LIBS 40
#define LIMIT 32 /* descriptors: fewer than N_LIBS */
#define PER_LIB 4

typedef int alloc_fn(void **out, int n, size_t size);
static void *blocks[N_LIBS][PER_LIB];

/* Copies the file at from to to. */
static void copy_file(const char *from, const char *to) {
  int in = open(from, O_RDONLY | O_CLOEXEC);
  int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  if (in < 0 || out < 0) pc_die("copy %s to %s", from, to);
  char buf[65536];
  ssize_t n;
  while ((n = read(in, buf, sizeof buf)) > 0)
    if (write(out, buf, (size_t)n) != n) pc_die("write %s", to);
  if (n < 0 || close(out) != 0) pc_die("copy %s", to);
  close(in);
}

/* Opens copy i of the library in dir and makes it allocate. */
static void run_copy(const char *dir, int i) {
  char path[4200];
  snprintf(path, sizeof path, "%s/libfds%02d.so", dir, i);
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) pc_die("dlopen %s: %s", path, dlerror());
  alloc_fn *fn;
  void *sym = dlsym(h, "dlc_a_alloc");
  if (sym == NULL) pc_die("dlsym: %s", dlerror());
  memcpy(&fn, &sym, sizeof fn);
  if (fn(blocks[i], PER_LIB, 1000) != PER_LIB) pc_die("allocation failed");
}

/* Copies the library N_LIBS times into dir. */
static void make_copies(const char *lib, const char *dir) {
  for (int i = 0; i < N_LIBS; i++) {
    char path[4200];
    snprintf(path, sizeof path, "%s/libfds%02d.so", dir, i);
    copy_file(lib, path);
  }
}

/* Descriptors open now. */
static int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL) pc_die("opendir /proc/self/fd");
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n - 1; /* the directory's own */
}

/* How many distinct mappings hold a sample whose first frame is
 * dlc_a_leaf: the libraries the dump symbolized. */
static int libraries_named(const profile_pb *p) {
  int n = 0;
  for (size_t m = 0; m < p->n_mapping; m++) {
    int hit = 0;
    for (size_t i = 0; i < p->n_sample && !hit; i++) {
      const Perftools__Profiles__Sample *s = p->sample[i];
      if (s->n_location_id == 0 || strcmp(pc_leaf(p, s), "dlc_a_leaf") != 0) continue;
      hit = pc_location(p, s->location_id[0])->mapping_id == p->mapping[m]->id;
    }
    n += hit;
  }
  return n;
}

static int mode_count(const char *lib, const char *dir) {
  make_copies(lib, dir);
  for (int i = 0; i < N_LIBS; i++) run_copy(dir, i);
  int before = count_fds();
  char path[4200];
  snprintf(path, sizeof path, "%s/first.pb.gz", dir);
  if (allocprof_dump(path) != 0) pc_die("first dump failed");
  int after1 = count_fds();
  snprintf(path, sizeof path, "%s/second.pb.gz", dir);
  if (allocprof_dump(path) != 0) pc_die("second dump failed");
  int after2 = count_fds();
  printf("fds: %d before the first dump, %d after it, %d after the second\n", before, after1,
         after2);
  PC_CHECK(after1 == before, "the first dump left %d descriptors open", after1 - before);
  PC_CHECK(after2 == before, "two dumps left %d descriptors open", after2 - before);
  profile_pb *p = pc_load(path);
  int named = libraries_named(p);
  printf("libraries named: %d of %d\n", named, N_LIBS);
  PC_CHECK(named == N_LIBS, "the dump named %d libraries of %d", named, N_LIBS);
  profile_free(p);
  return pc_failures != 0;
}

static int mode_child(const char *dir) {
  for (int i = 0; i < N_LIBS; i++) run_copy(dir, i);
  return 0; /* the exit profile follows */
}

static int mode_limit(const char *self, const char *lib, const char *dir) {
  make_copies(lib, dir);
  char out[4200];
  snprintf(out, sizeof out, "%s/exit.pb.gz", dir);
  pid_t pid = fork();
  if (pid < 0) pc_die("fork");
  if (pid == 0) {
    struct rlimit rl = {LIMIT, LIMIT};
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) pc_die("setrlimit");
    setenv("ALLOCPROF_OUT", out, 1);
    execl(self, self, "child", lib, dir, (char *)NULL);
    pc_die("exec %s", self);
  }
  if (it_wait_child(pid, "prof_fds limit") != 0) return 1;
  struct stat st;
  PC_CHECK(stat(out, &st) == 0, "no exit profile under RLIMIT_NOFILE %d", LIMIT);
  if (pc_failures) return 1;
  profile_pb *p = pc_load(out);
  int named = libraries_named(p);
  printf("exit profile written under RLIMIT_NOFILE %d: %zu samples, %d of %d libraries named\n",
         LIMIT, p->n_sample, named, N_LIBS);
  PC_CHECK(p->n_sample >= N_LIBS, "%zu samples", p->n_sample);
  profile_free(p);
  return pc_failures != 0;
}

int main(int argc, char **argv) {
  if (argc < 3) pc_die("usage: prof_fds count|limit|child LIB [DIR]");
  if (strcmp(argv[1], "child") == 0) return mode_child(argv[3]);
  const char *dir = pc_tmpdir(argc, argv, 3);
  int rc;
  if (strcmp(argv[1], "count") == 0)
    rc = mode_count(argv[2], dir);
  else if (strcmp(argv[1], "limit") == 0)
    rc = mode_limit("/proc/self/exe", argv[2], dir);
  else
    pc_die("unknown mode %s", argv[1]);
  pc_tmpdir_cleanup();
  return rc;
}
