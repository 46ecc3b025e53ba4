/* test_prof_outpath.c: where profiles go (liballoc/settings.h): checking,
 * expanding and anchoring ALLOCPROF_OUT and ALLOCPROF_STREAM patterns; then
 * the runtime's use of them in triggers.c: successive dumps take successive
 * %n, and the stream's fd is opened again when the program closed it or put
 * another file at its number.
 *
 * triggers.c is compiled into this test, with the names of its files,
 * trigger_out.c, its stream, trigger_stream.c, and prof_threads.c (they
 * are part of prof_dump, which the unit tests do not link; their
 * settings come from prof_settings, which alloc_core links); its two dump
 * calls are stubbed and record what they were asked. Its constructor runs
 * here too and, with no ALLOCPROF_* in the environment, does nothing. */
#define _GNU_SOURCE /* before any system header, as triggers.c needs */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../libprof/triggers.c"
#include "../../libprof/trigger_out.c"
#include "../../libprof/trigger_stream.c"
#include "../../libprof/prof_threads.c"

static char dumped[8][TRIG_PATH_MAX];        /* paths prof_dump_file was given */
static struct prof_dump_meta dumped_meta[8]; /* and what it was told about the dump */
static int ndumped;
static int stream_frames;                 /* frames appended by prof_dump_stream */
static struct prof_dump_meta stream_meta; /* the last frame's */
static int noted;                         /* files reported by prof_runlog_note */

void prof_dump_fork_child(void) {}
/* ALLOCPROF_HTTP is not set here: the listener is never started */
int prof_http_start(const struct trig_http *h, const char *portfile) {
  (void)h, (void)portfile;
  return -1;
}
void prof_http_fork_child(int serve) { (void)serve; }
int prof_dump_file(const char *path, const struct prof_dump_meta *meta, char *err, size_t errlen) {
  (void)err, (void)errlen;
  if (ndumped < 8) {
    snprintf(dumped[ndumped], sizeof dumped[0], "%s", path);
    dumped_meta[ndumped] = *meta;
  }
  ndumped++;
  return 0;
}

void prof_runlog_init(void) {}
void prof_runlog_note(const char *path) {
  (void)path;
  noted++;
}

int prof_dump_stream(int fd, const struct prof_dump_meta *meta, char *err, size_t errlen) {
  (void)err, (void)errlen;
  stream_meta = *meta;
  if (write(fd, "frame\n", 6) != 6) return -1;
  stream_frames++;
  return 0;
}

#define TMPDIR_FIXTURE_NAME "test_prof_outpath"
#include "tmpdir_fixture.h"

/* ---- patterns ------------------------------------------------------------------- */

static void test_check(void **state) {
  (void)state;
  char err[256];
  const char *good_out[] = {"heap.pb.gz", "/v/heap.%p.%n.%t.pb.zst", "x.pb",
                            "%%.pb",      "/a%%b/h.%n.pb.gz",        "rel/dir/h.pb"};
  for (size_t i = 0; i < sizeof good_out / sizeof good_out[0]; i++)
    assert_int_equal(trig_pattern_check(good_out[i], TRIG_PATTERN_OUT, err, sizeof err), 0);
  assert_int_equal(trig_pattern_check("s.%p.%t.zst", TRIG_PATTERN_STREAM, err, sizeof err), 0);
  assert_int_equal(trig_pattern_check("snapshots", TRIG_PATTERN_STREAM, err, sizeof err), 0);

  static const struct {
    const char *pat;
    enum trig_pattern_kind kind;
    const char *err;
  } bad[] = {
      {"", TRIG_PATTERN_OUT, "is empty"},
      {"heap.%x.pb", TRIG_PATTERN_OUT, "has an unknown escape %x (use %p, %n, %t or %%)"},
      {"s.%x", TRIG_PATTERN_STREAM, "has an unknown escape %x (use %p, %t or %%)"},
      {"heap.pb%", TRIG_PATTERN_OUT, "ends in a lone % (write %% for a '%')"},
      {"s.%n.zst", TRIG_PATTERN_STREAM, "%n has no meaning in a stream's name (use %p, %t or %%)"},
      {"/tmp/", TRIG_PATTERN_STREAM, "names a directory, not a file"},
      {"heap.gz", TRIG_PATTERN_OUT, "must end in .pb.gz (gzip), .pb.zst (zstd) or .pb (raw)"},
      {"heap.pb.gzip", TRIG_PATTERN_OUT, "must end in .pb.gz (gzip), .pb.zst (zstd) or .pb (raw)"},
      {"heap.pb.gz.%n", TRIG_PATTERN_OUT, "must end in .pb.gz (gzip), .pb.zst (zstd) or .pb (raw)"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    err[0] = 0;
    assert_int_equal(trig_pattern_check(bad[i].pat, bad[i].kind, err, sizeof err), -1);
    assert_string_equal(err, bad[i].err);
  }
}

static void test_expand(void **state) {
  (void)state;
  char buf[256];
  assert_int_equal(
      trig_pattern_expand("/d/heap.%p.%n.%t.pb.gz", 4242, 7, 1700000000, buf, sizeof buf), 0);
  assert_string_equal(buf, "/d/heap.4242.7.1700000000.pb.gz");
  assert_int_equal(trig_pattern_expand("100%%.%n%n.pb", 1, 12, 0, buf, sizeof buf), 0);
  assert_string_equal(buf, "100%.1212.pb");
  assert_int_equal(trig_pattern_expand("plain.pb", 1, 0, 0, buf, sizeof buf), 0);
  assert_string_equal(buf, "plain.pb");
  /* exactly fitting, and one byte short */
  assert_int_equal(trig_pattern_expand("a.%n.pb", 1, 123, 0, buf, 9), 0);
  assert_string_equal(buf, "a.123.pb");
  assert_int_equal(trig_pattern_expand("a.%n.pb", 1, 123, 0, buf, 8), -1);
  assert_int_equal(trig_pattern_expand("abc", 1, 0, 0, buf, 3), -1);
  assert_int_equal(trig_pattern_expand("", 1, 0, 0, buf, 1), 0);
  assert_string_equal(buf, "");
}

static void test_absolute(void **state) {
  (void)state;
  char buf[64];
  assert_int_equal(trig_pattern_absolute("heap.pb", "/srv/app", buf, sizeof buf), 0);
  assert_string_equal(buf, "/srv/app/heap.pb");
  assert_int_equal(trig_pattern_absolute("out/heap.pb", "/", buf, sizeof buf), 0);
  assert_string_equal(buf, "/out/heap.pb");
  /* a '%' in the directory stays a '%' after expansion */
  assert_int_equal(trig_pattern_absolute("h.%n.pb", "/a%b", buf, sizeof buf), 0);
  assert_string_equal(buf, "/a%%b/h.%n.pb");
  char exp[64];
  assert_int_equal(trig_pattern_expand(buf, 1, 3, 0, exp, sizeof exp), 0);
  assert_string_equal(exp, "/a%b/h.3.pb");
  assert_int_equal(trig_pattern_absolute("/abs/h.pb", "/srv", buf, sizeof buf), 0);
  assert_string_equal(buf, "/abs/h.pb");
  assert_int_equal(trig_pattern_absolute("h.pb", NULL, buf, sizeof buf), 0);
  assert_string_equal(buf, "h.pb");
  assert_int_equal(trig_pattern_absolute("h.pb", "/a/very/long/directory/name/indeed", buf, 20),
                   -1);
}

static void test_dirname(void **state) {
  (void)state;
  char buf[64];
  static const char *cases[][2] = {
      {"heap.pb", "."},
      {"/heap.pb", "/"},
      {"/a/b/heap.pb", "/a/b"},
      {"a/heap.pb", "a"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_int_equal(trig_dirname(cases[i][0], buf, sizeof buf), 0);
    assert_string_equal(buf, cases[i][1]);
  }
  assert_int_equal(trig_dirname("/abc/d", buf, 4), -1);
}

static void test_per_process(void **state) {
  (void)state;
  assert_true(trig_pattern_per_process("s.%p.zst"));
  assert_true(trig_pattern_per_process("s.%t.zst"));
  assert_false(trig_pattern_per_process("s.zst"));
  assert_false(trig_pattern_per_process("s.%%p.zst"));
}

/* ---- the runtime -------------------------------------------------------------------- */

static void test_dump_sequence(void **state) {
  (void)state;
  memset(&cfg, 0, sizeof cfg);
  snprintf(cfg.out, sizeof cfg.out, "%s/heap.%%p.%%n.pb.gz", dir);
  seq = 0;
  ndumped = 0;
  for (int i = 0; i < 3; i++) dump(TRIG_INTERVAL);
  assert_int_equal(ndumped, 3);
  for (int i = 0; i < 3; i++) {
    char want[TRIG_PATH_MAX];
    snprintf(want, sizeof want, "%s/heap.%ld.%d.pb.gz", dir, (long)getpid(), i);
    assert_string_equal(dumped[i], want);
    /* the profile's comments will say why and which: trigger=interval, seq=i */
    assert_int_equal(dumped_meta[i].trigger, PROF_TRIG_INTERVAL);
    assert_int_equal(dumped_meta[i].seq, i);
  }
  /* a fork child starts again at 0 */
  armed = 1;
  fork_child();
  dump(TRIG_EXIT);
  char want[TRIG_PATH_MAX];
  snprintf(want, sizeof want, "%s/heap.%ld.0.pb.gz", dir, (long)getpid());
  assert_string_equal(dumped[3], want);
  assert_int_equal(dumped_meta[3].trigger, PROF_TRIG_EXIT);
  assert_int_equal(dumped_meta[3].seq, 0);
  assert_int_equal(noted, 4); /* every file written is told to allocprof run */
  armed = 0;
  cfg.out[0] = 0;
}

/* A fork child whose pattern has no %p adds its pid, so that it never
 * writes over its parent's files. */
static void test_fork_child_adds_pid(void **state) {
  (void)state;
  static const struct {
    const char *pat, *want; /* want: %ld is the pid */
  } cases[] = {
      {"/d/heap.%n.pb.gz", "/d/heap.%ld.%%n.pb.gz"},
      {"/d/heap.pb.gz", "/d/heap.%ld.pb.gz"},
      {"/d/heap.pb.zst", "/d/heap.%ld.pb.zst"},
      {"/d/heap.pb", "/d/heap.%ld.pb"},
      {"/d/100%%.%n.pb", "/d/100%%%%.%ld.%%n.pb"}, /* %% is not %n */
      {"/d/heap.%t.pb", "/d/heap.%%t.%ld.pb"},
      {"/d/heap.%p.%n.pb", "/d/heap.%%p.%%n.pb"}, /* has %p: unchanged */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.out, sizeof cfg.out, "%s", cases[i].pat);
    armed = 1;
    fork_child();
    char want[TRIG_PATH_MAX];
    snprintf(want, sizeof want, cases[i].want, (long)getpid());
    assert_string_equal(cfg.out, want);
    assert_int_equal(trig_pattern_check(cfg.out, TRIG_PATTERN_OUT, NULL, 0), 0);
  }
  armed = 0;
  out_renamed = 0;
  cfg.out[0] = 0;
}

static void test_check_outputs(void **state) {
  (void)state;
  char err[TRIG_PATH_MAX + 256];
  memset(&cfg, 0, sizeof cfg);
  snprintf(cfg.out, sizeof cfg.out, "%s/heap.%%n.pb.gz", dir);
  setenv("ALLOCPROF_OUT", cfg.out, 1);
  assert_int_equal(check_outputs(err, sizeof err), 0);
  snprintf(cfg.out, sizeof cfg.out, "%s/nope/heap.%%n.pb.gz", dir);
  setenv("ALLOCPROF_OUT", cfg.out, 1);
  assert_int_equal(check_outputs(err, sizeof err), -1);
  char want[TRIG_PATH_MAX * 2 + 64];
  snprintf(want, sizeof want, "ALLOCPROF_OUT=%s: directory %s/nope does not exist", cfg.out, dir);
  assert_string_equal(err, want);
  unsetenv("ALLOCPROF_OUT");
  cfg.out[0] = 0;
}

static size_t file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (size_t)st.st_size : 0;
}

static void test_stream_reopen(void **state) {
  (void)state;
  char err[TRIG_PATH_MAX + 128];
  char path[512], other[512];
  memset(&cfg, 0, sizeof cfg);
  snprintf(cfg.stream, sizeof cfg.stream, "%s/snap.zst", dir);
  snprintf(path, sizeof path, "%s/snap.zst", dir);
  snprintf(other, sizeof other, "%s/program.log", dir);
  stream_fd = -1;
  stream_frames = 0;
  assert_int_equal(trig_stream_open(cfg.stream, err, sizeof err), 0);
  int fd = stream_fd;
  assert_true(fd >= 3);
  assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  dump(TRIG_SIGNAL);
  assert_int_equal(file_size(path), 6);
  assert_int_equal(stream_meta.trigger, PROF_TRIG_SIGNAL);

  /* the program closes our fd and opens a file of its own at that number */
  int mine = open(other, O_WRONLY | O_CREAT | O_APPEND, 0644);
  assert_true(mine >= 0);
  assert_int_equal(dup2(mine, fd), fd);
  close(mine);
  dump(TRIG_SIGNAL);
  assert_int_equal(file_size(other), 0); /* not a byte in the program's file */
  assert_int_equal(file_size(path), 12); /* the stream, opened again */
  assert_true(stream_fd != fd);
  close(fd);

  /* closed outright */
  close(stream_fd);
  dump(TRIG_SIGNAL);
  assert_int_equal(file_size(path), 18);
  assert_int_equal(stream_frames, 3);

  /* removed: made again */
  unlink(path);
  dump(TRIG_SIGNAL);
  assert_int_equal(file_size(path), 6);
  close(stream_fd);
  stream_fd = -1;
  cfg.stream[0] = 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_check),
      cmocka_unit_test(test_expand),
      cmocka_unit_test(test_absolute),
      cmocka_unit_test(test_dirname),
      cmocka_unit_test(test_per_process),
      cmocka_unit_test(test_dump_sequence),
      cmocka_unit_test(test_fork_child_adds_pid),
      cmocka_unit_test(test_check_outputs),
      cmocka_unit_test(test_stream_reopen),
  };
  return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
