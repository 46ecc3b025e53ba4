/* test_cli_series.c: the time series of in-use snapshots (cli/series.h):
 * profiles and stream frames read in time order (ties by seq, then input
 * order), stacks matched across snapshots by their frames' names, display
 * names that skip allocator wrappers and labels made unique, exact values
 * and no variance at rate 1 and a variance near bytes * period when
 * sampled, --focus applied, processes kept apart, duplicates counted once,
 * bad input refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "profile_builder.h"
#include "series.h"
#include "stream.h"

#define TMPDIR_FIXTURE_NAME "test_cli_series"
#include "tmpdir_fixture.h"

/* One stack of a test snapshot: names leaf first ("a;b;main"), values. */
typedef struct spec {
  const char *frames;
  int64_t objects, bytes;
} spec;

/* A heap profile at time t seconds (since 1000 s), from process pid, with
 * comment seq (seq < 0: none) and period, holding the stacks of v[0..n). */
static void snapshot(uint8_t **pb, size_t *len, int64_t t, long pid, long seq, int64_t period,
                     const spec *v, size_t n) {
  profile_builder *b = profile_builder_new();
  profile_builder_add_sample_type(b, "alloc_objects", "count");
  profile_builder_add_sample_type(b, "alloc_space", "bytes");
  profile_builder_add_sample_type(b, "inuse_objects", "count");
  profile_builder_add_sample_type(b, "inuse_space", "bytes");
  profile_builder_set_period(b, "space", "bytes", period);
  profile_builder_set_time(b, (1000 + t) * 1000000000LL, 0);
  char c[64];
  snprintf(c, sizeof c, "pid=%ld", pid);
  profile_builder_add_comment(b, c);
  if (seq >= 0) {
    snprintf(c, sizeof c, "seq=%ld", seq);
    profile_builder_add_comment(b, c);
  }
  for (size_t i = 0; i < n; i++) {
    uint64_t locs[16];
    size_t nl = 0;
    char names[256];
    snprintf(names, sizeof names, "%s", v[i].frames);
    for (char *save, *f = strtok_r(names, ";", &save); f && nl < 16;
         f = strtok_r(NULL, ";", &save)) {
      uint64_t fid = profile_builder_add_function(b, f, f, "x.c", 0);
      profile_line line = {fid, (int64_t)(10 + i), 0}; /* lines differ: same names still match */
      uint64_t addr = 0x1000 + 16 * (nl + 8 * i);
      locs[nl++] = profile_builder_add_location(b, 0, addr, &line, 1, false);
    }
    int64_t values[4] = {v[i].objects, v[i].bytes, v[i].objects, v[i].bytes};
    assert_int_equal(profile_builder_add_sample(b, locs, nl, values, 4, NULL, 0), 0);
  }
  assert_true(profile_builder_ok(b));
  assert_int_equal(profile_builder_pack(b, pb, len), 0);
  profile_builder_free(b);
}

static void write_profile(const char *path, int64_t t, long pid, long seq, int64_t period,
                          const spec *v, size_t n) {
  uint8_t *pb;
  size_t len;
  char err[256];
  snapshot(&pb, &len, t, pid, seq, period, v, n);
  assert_int_equal(profile_write_packed_file(path, pb, len, err, sizeof err), 0);
  free(pb);
}

static void append_frame(const char *path, int64_t t, long pid, long seq, int64_t period,
                         const spec *v, size_t n) {
  uint8_t *pb;
  size_t len;
  char err[256];
  snapshot(&pb, &len, t, pid, seq, period, v, n);
  assert_int_equal(stream_append(path, pb, len, err, sizeof err), 0);
  free(pb);
}

static const series_opts plain = {.cmd = "test"};

/* Index of the stack labelled label, or -1. */
static long find_label(const series *s, const char *label) {
  for (size_t k = 0; k < s->nstack; k++)
    if (!strcmp(s->stack[k].label, label)) return (long)k;
  return -1;
}

/* Profiles given out of order and a stream: time order, stacks matched
 * across files by names, exact values at rate 1. */
static void test_order_and_matching(void **state) {
  (void)state;
  const spec a[] = {{"xmalloc;load;main", 2, 200}, {"malloc;parse;main", 1, 50}};
  const spec b[] = {{"xmalloc;load;main", 4, 400}};
  const spec c[] = {{"xmalloc;load;main", 1, 100}, {"parse;main", 3, 30}};
  write_profile(at("late.pb.gz"), 20, 7, 2, 1, c, 2);
  write_profile(at("early.pb"), 0, 7, 0, 1, a, 2);
  const char *st = at("mid.zst");
  append_frame(st, 10, 7, 1, 1, b, 1);
  append_frame(st, 15, 7, -1, 1, b, 1); /* no seq */
  char *files[] = {(char *)at("late.pb.gz"), (char *)at("early.pb"), (char *)st};
  series s;
  assert_int_equal(series_load(&s, files, 3, &plain), 0);
  assert_int_equal(s.nsnap, 4);
  double want_t[] = {0, 10, 15, 20};
  int64_t want_bytes[] = {250, 400, 400, 130};
  for (size_t i = 0; i < 4; i++) {
    assert_true(s.snap[i].t == want_t[i]);
    assert_int_equal(s.snap[i].bytes, want_bytes[i]);
    assert_true(s.snap[i].var == 0);
    assert_int_equal(s.snap[i].pid, 7);
  }
  assert_int_equal(s.snap[2].seq, -1);
  assert_int_equal(s.snap[1].frame, 0);
  assert_int_equal(s.snap[2].frame, 1);
  assert_int_equal(s.peak_bytes, 400);
  assert_int_equal(s.peak_snap, 1);
  /* three stacks: load (xmalloc skipped), parse via malloc, parse direct */
  assert_int_equal(s.nstack, 3);
  long load = find_label(&s, "load");
  assert_true(load >= 0);
  int64_t row[4], obj[4];
  double var[4];
  series_stack_row(&s, (size_t)load, row, obj, var);
  assert_int_equal(row[0], 200);
  assert_int_equal(row[1], 400);
  assert_int_equal(row[2], 400);
  assert_int_equal(row[3], 100);
  assert_int_equal(obj[3], 1);
  assert_int_equal(s.stack[load].max_bytes, 400);
  assert_int_equal(s.stack[load].max_snap, 1);
  assert_string_equal(series_frame_name(&s, (size_t)load, 0), "xmalloc");
  /* "parse" twice (through malloc and not): told apart by the caller's
   * name, which is the same (main), so by number, largest first */
  assert_true(find_label(&s, "parse (main)") >= 0);
  long p2 = find_label(&s, "parse (main) #2");
  assert_true(p2 >= 0);
  assert_int_equal(s.stack[p2].max_bytes, 30);
  series_free(&s);
}

/* Same time: seq orders; then input order. One snapshot is a series. */
static void test_ties_and_single(void **state) {
  (void)state;
  const spec one[] = {{"f;main", 1, 1}}, two[] = {{"f;main", 2, 2}}, three[] = {{"f;main", 3, 3}};
  write_profile(at("t1.pb"), 5, 9, 4, 1, two, 1);
  write_profile(at("t2.pb"), 5, 9, 3, 1, one, 1);
  write_profile(at("t3.pb"), 5, 9, -1, 1, three, 1);
  char *files[] = {(char *)at("t3.pb"), (char *)at("t1.pb"), (char *)at("t2.pb")};
  series s;
  assert_int_equal(series_load(&s, files, 3, &plain), 0);
  assert_int_equal(s.nsnap, 3);
  assert_int_equal(s.snap[0].bytes, 1);
  assert_int_equal(s.snap[1].bytes, 2);
  assert_int_equal(s.snap[2].bytes, 3);
  series_free(&s);
  assert_int_equal(series_load(&s, files, 1, &plain), 0);
  assert_int_equal(s.nsnap, 1);
  assert_true(s.snap[0].t == 0);
  assert_string_equal(s.stack[0].label, "f");
  series_free(&s);
}

/* Sampled: the variance of an estimate of many small objects is about
 * bytes * period; --focus keeps only the stacks through a function. */
static void test_variance_and_focus(void **state) {
  (void)state;
  const spec v[] = {{"a;main", 10000, 1 << 20}, {"b;main", 100, 1 << 16}};
  write_profile(at("sampled.pb"), 1, 3, 1, 512 * 1024, v, 2);
  char *files[] = {(char *)at("sampled.pb")};
  series s;
  assert_int_equal(series_load(&s, files, 1, &plain), 0);
  long a = find_label(&s, "a");
  assert_true(a >= 0);
  double var;
  series_stack_row(&s, (size_t)a, NULL, NULL, &var);
  double approx = (double)(1 << 20) * 512 * 1024;
  assert_true(var > 0.99 * approx && var <= approx);
  series_free(&s);
  cli_filter f = {0};
  assert_int_equal(cli_filter_set(&f, "test", CLI_OPT_FOCUS, "^b$"), 0);
  series_opts o = {.filter = &f, .cmd = "test"};
  assert_int_equal(series_load(&s, files, 1, &o), 0);
  assert_int_equal(s.nstack, 1);
  assert_string_equal(s.stack[0].label, "b");
  assert_int_equal(s.snap[0].bytes, 1 << 16);
  series_free(&s);
  cli_filter_free(&f);
}

/* Two processes: refused unless one is chosen; a snapshot given twice
 * counts once. */
static void test_pids_and_duplicates(void **state) {
  (void)state;
  const spec v[] = {{"g;main", 1, 64}};
  write_profile(at("p1.pb"), 1, 100, 0, 1, v, 1);
  write_profile(at("p2.pb"), 2, 200, 0, 1, v, 1);
  write_profile(at("p1b.pb"), 3, 100, 1, 1, v, 1);
  char *files[] = {(char *)at("p1.pb"), (char *)at("p2.pb"), (char *)at("p1b.pb"),
                   (char *)at("p1.pb")};
  series s;
  assert_int_equal(series_load(&s, files, 3, &plain), -1);
  assert_null(s.snap);
  series_opts o = {.pid = 100, .cmd = "test"};
  assert_int_equal(series_load(&s, files, 4, &o), 0);
  assert_int_equal(s.nsnap, 2); /* p1.pb twice: once */
  assert_true(s.snap[1].t == 2);
  series_free(&s);
  o.pid = 300;
  assert_int_equal(series_load(&s, files, 3, &o), -1);
}

/* Not a heap profile, no time, not a profile at all, a damaged stream. */
static void test_bad_input(void **state) {
  (void)state;
  profile_builder *b = profile_builder_new();
  profile_builder_add_sample_type(b, "samples", "count");
  profile_builder_set_time(b, 1, 0);
  char err[256];
  assert_int_equal(profile_builder_write_file(b, at("cpu.pb"), err, sizeof err), 0);
  profile_builder_free(b);
  const spec v[] = {{"h;main", 1, 8}};
  uint8_t *pb;
  size_t len;
  snapshot(&pb, &len, -1000, 1, 0, 1, v, 1); /* time 0 */
  assert_int_equal(profile_write_packed_file(at("notime.pb"), pb, len, err, sizeof err), 0);
  free(pb);
  FILE *f = fopen(at("text.txt"), "w");
  fputs("not a profile\n", f);
  fclose(f);
  series s;
  const char *bad[] = {"cpu.pb", "notime.pb", "text.txt", "missing.pb"};
  for (size_t i = 0; i < 4; i++) {
    char *files[] = {(char *)at(bad[i])};
    assert_int_equal(series_load(&s, files, 1, &plain), -1);
  }
  /* a stream cut inside its last frame: the good frames are read */
  const char *st = at("cut.zst");
  append_frame(st, 1, 1, 0, 1, v, 1);
  append_frame(st, 2, 1, 1, 1, v, 1);
  f = fopen(st, "a");
  fputs("\x28\xb5\x2f\xfd\x04\x58", f); /* the start of a zstd frame */
  fclose(f);
  char *files[] = {(char *)st};
  assert_int_equal(series_load(&s, files, 1, &plain), 0);
  assert_int_equal(s.nsnap, 2);
  series_free(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_order_and_matching), cmocka_unit_test(test_ties_and_single),
      cmocka_unit_test(test_variance_and_focus), cmocka_unit_test(test_pids_and_duplicates),
      cmocka_unit_test(test_bad_input),
  };
  return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
