/* prof_api: the contract of allocprof.h in a program that links liballoc.so
 * and starts with profiling off (no ALLOCPROF_* in its environment):
 * setting and reading the rate (also that a thread already running when
 * the rate is set follows within 4 MiB), the totals, allocprof_dump's errors (errno
 * and one line on stderr) and containers, and that a dump leaves no
 * temporary file behind and replaces an existing file whole; each profile's
 * comments say trigger=api and number the calls (seq=).
 *
 *   prof_api [DIR]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "allocprof.h"
#include "container.h"
#include "fileio.h"
#include "it_common.h"
#include "prof_check.h"

#define N_OBJ 500
#define OBJ_SIZE 72

void *keep[N_OBJ];

__attribute__((noinline)) static void api_alloc(void) {
  for (int i = 0; i < N_OBJ; i++) keep[i] = malloc(it_opaque(OBJ_SIZE));
}

/* A thread that was running, profiling off, when the main thread turned
 * profiling on: it switches within 4 MiB of its own allocations
 * (allocprof.h), so of 8 MiB in 4 KiB blocks at rate 1 at least half are
 * samples. */
#define SWITCH_BLOCK 4096
#define SWITCH_BYTES ((size_t)8 << 20)
static pthread_barrier_t switch_step;
static uint64_t switch_samples;

static void *switch_worker(void *arg) {
  (void)arg;
  free(malloc(it_opaque(64))); /* its thread cache, with profiling off */
  pthread_barrier_wait(&switch_step);
  pthread_barrier_wait(&switch_step); /* the rate is 1 now */
  struct allocprof_totals a, b;
  allocprof_get_totals(&a);
  for (size_t done = 0; done < SWITCH_BYTES; done += SWITCH_BLOCK)
    free(malloc(it_opaque(SWITCH_BLOCK)));
  allocprof_get_totals(&b);
  switch_samples = b.samples - a.samples;
  return NULL;
}

/* Runs fn with stderr going to a file; returns what it wrote. */
static char *capture_stderr(const char *dir, int (*fn)(const char *), const char *arg, int *rc,
                            int *err) {
  char path[sizeof pc_dir + 32];
  snprintf(path, sizeof path, "%s/stderr.txt", dir);
  fflush(stderr);
  int saved = dup(2);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (saved < 0 || fd < 0) pc_die("cannot redirect stderr");
  dup2(fd, 2);
  close(fd);
  errno = 0;
  *rc = fn(arg);
  *err = errno;
  dup2(saved, 2);
  close(saved);
  uint8_t *text = NULL;
  size_t len = 0;
  char msg[256];
  if (fileio_read_all(path, 1 << 20, &text, &len, msg, sizeof msg) != 0) pc_die("%s", msg);
  unlink(path);
  return (char *)text;
}

static int count_lines(const char *s) {
  int n = 0;
  for (; *s; s++) n += *s == '\n';
  return n;
}

/* Whether dir holds a file whose name contains part. */
static int dir_has(const char *dir, const char *part) {
  DIR *d = opendir(dir);
  int found = 0;
  struct dirent *e;
  while (d != NULL && (e = readdir(d)) != NULL) found |= strstr(e->d_name, part) != NULL;
  if (d != NULL) closedir(d);
  return found;
}

/* Whether p has the comment text. */
static int has_comment(const profile_pb *p, const char *text) {
  for (size_t i = 0; i < p->n_comment; i++)
    if (strcmp(pc_str(p, p->comment[i]), text) == 0) return 1;
  return 0;
}

int main(int argc, char **argv) {
  it_require_liballoc("prof_api");
  const char *dir = pc_tmpdir(argc, argv, 1);

  /* off by default (the test runs without ALLOCPROF_*) */
  PC_CHECK(allocprof_get_rate() == 0, "rate %" PRIu64 " at start", allocprof_get_rate());
  struct allocprof_totals t0;
  PC_CHECK(allocprof_get_totals(&t0) == 0, "get_totals");
  PC_CHECK(t0.rate == 0 && t0.samples == 0, "rate %" PRIu64 " samples %" PRIu64, t0.rate,
           t0.samples);
  errno = 0;
  PC_CHECK(allocprof_get_totals(NULL) == -1 && errno == EINVAL, "get_totals(NULL): errno %d",
           errno);

  /* rate: too large refused and unchanged; 1 takes effect for this thread */
  errno = 0;
  PC_CHECK(allocprof_set_rate((uint64_t)INT64_MAX + 1) == -1 && errno == EINVAL,
           "set_rate(2^63): errno %d", errno);
  PC_CHECK(allocprof_get_rate() == 0, "rate changed by a refused set_rate");
  PC_CHECK(allocprof_set_rate(1) == 0, "set_rate(1)");
  PC_CHECK(allocprof_get_rate() == 1, "rate %" PRIu64, allocprof_get_rate());
  api_alloc();
  for (int i = 0; i < N_OBJ / 2; i++) free(keep[i]);
  PC_CHECK(allocprof_set_rate(0) == 0, "set_rate(0)");
  /* off again: nothing more is sampled */
  struct allocprof_totals t1, t2;
  allocprof_get_totals(&t1);
  for (int i = 0; i < 1000; i++) free(malloc(it_opaque(64)));
  allocprof_get_totals(&t2);
  PC_CHECK(t2.samples == t1.samples, "sampled with the rate at 0: %" PRIu64 " -> %" PRIu64,
           t1.samples, t2.samples);
  PC_CHECK(t1.samples >= N_OBJ && t1.sampled_frees >= N_OBJ / 2,
           "samples %" PRIu64 " frees %" PRIu64, t1.samples, t1.sampled_frees);
  PC_CHECK(t1.inuse_bytes >= (uint64_t)(N_OBJ / 2) * OBJ_SIZE, "inuse %" PRIu64, t1.inuse_bytes);
  PC_CHECK(t1.alloc_bytes >= (uint64_t)N_OBJ * OBJ_SIZE, "alloc %" PRIu64, t1.alloc_bytes);
  PC_CHECK(t1.buckets >= 1 && t1.profiler_bytes > 0, "buckets %" PRIu64 " profiler bytes %" PRIu64,
           t1.buckets, t1.profiler_bytes);

  /* another thread, running since before the switch, follows it */
  pthread_t worker;
  PC_CHECK(pthread_barrier_init(&switch_step, NULL, 2) == 0, "barrier");
  PC_CHECK(pthread_create(&worker, NULL, switch_worker, NULL) == 0, "pthread_create");
  pthread_barrier_wait(&switch_step);
  PC_CHECK(allocprof_set_rate(1) == 0, "set_rate(1) with a thread running");
  pthread_barrier_wait(&switch_step);
  pthread_join(worker, NULL);
  pthread_barrier_destroy(&switch_step);
  PC_CHECK(allocprof_set_rate(0) == 0, "set_rate(0)");
  PC_CHECK(switch_samples >= SWITCH_BYTES / SWITCH_BLOCK / 2,
           "a running thread sampled %" PRIu64 " of its %zu blocks after the switch to rate 1",
           switch_samples, SWITCH_BYTES / SWITCH_BLOCK);

  /* errors: errno and exactly one line on stderr */
  int rc, err;
  char *msg = capture_stderr(dir, allocprof_dump, NULL, &rc, &err);
  PC_CHECK(rc == -1 && err == EINVAL, "dump(NULL): rc %d errno %d", rc, err);
  PC_CHECK(count_lines(msg) == 1 && strncmp(msg, "allocprof: ", 11) == 0, "message '%s'", msg);
  free(msg);
  msg = capture_stderr(dir, allocprof_dump, "", &rc, &err);
  PC_CHECK(rc == -1 && err == EINVAL, "dump(\"\"): rc %d errno %d", rc, err);
  free(msg);
  char bad[sizeof pc_dir + 64];
  snprintf(bad, sizeof bad, "%s/no/such/dir/x.pb.gz", dir);
  msg = capture_stderr(dir, allocprof_dump, bad, &rc, &err);
  PC_CHECK(rc == -1 && err == ENOENT, "dump(missing dir): rc %d errno %d", rc, err);
  PC_CHECK(count_lines(msg) == 1 && strstr(msg, bad) != NULL, "message '%s'", msg);
  free(msg);

  /* each ending picks its container; the profile reads back the same */
  static const struct {
    const char *name;
    container_kind kind;
  } outs[] = {{"p.pb.gz", CONTAINER_GZIP},
              {"p.pb", CONTAINER_RAW},
              {"p.pb.zst", CONTAINER_ZSTD},
              {"p.heap", CONTAINER_GZIP}};
  for (size_t k = 0; k < sizeof outs / sizeof outs[0]; k++) {
    char path[sizeof pc_dir + 64];
    snprintf(path, sizeof path, "%s/%s", dir, outs[k].name);
    /* an existing file is replaced whole */
    FILE *f = fopen(path, "w");
    if (f != NULL) {
      fputs("old contents\n", f);
      fclose(f);
    }
    msg = capture_stderr(dir, allocprof_dump, path, &rc, &err);
    PC_CHECK(rc == 0 && msg[0] == 0, "dump %s: rc %d, stderr '%s'", path, rc, msg);
    free(msg);
    uint8_t *data = NULL;
    size_t len = 0;
    char e[256];
    if (fileio_read_all(path, 1 << 30, &data, &len, e, sizeof e) != 0) pc_die("%s", e);
    PC_CHECK(container_detect(data, len) == outs[k].kind, "%s is %s", path,
             container_name(container_detect(data, len)));
    free(data);
    profile_pb *p = pc_load(path);
    pc_check_header(p, 0); /* dumped with the rate back at 0 */
    /* the call into a missing directory had seq 0: a number per call */
    char seq[32];
    snprintf(seq, sizeof seq, "seq=%zu", k + 1);
    PC_CHECK(has_comment(p, "trigger=api") && has_comment(p, seq) && has_comment(p, "rate=0"),
             "%s: comments trigger=api, %s, rate=0 missing", path, seq);
    int64_t v[PC_NVALUES];
    pc_sum_leaf(p, "api_alloc", v);
    /* the rate in force at the dump is 0 (as 1: no scaling) */
    PC_CHECK(v[0] == N_OBJ && v[1] == N_OBJ * OBJ_SIZE && v[2] == N_OBJ - N_OBJ / 2 &&
                 v[3] == (N_OBJ - N_OBJ / 2) * OBJ_SIZE,
             "%s: api_alloc %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64, path, v[0], v[1], v[2],
             v[3]);
    profile_free(p);
  }
  PC_CHECK(!dir_has(dir, ".tmp."), "a temporary file was left in %s", dir);

  pc_tmpdir_cleanup();
  if (pc_failures) {
    fprintf(stderr, "prof_api: %d checks failed\n", pc_failures);
    return 1;
  }
  printf("prof_api: ok\n");
  return 0;
}
