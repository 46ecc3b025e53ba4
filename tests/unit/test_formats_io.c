/* test_formats_io.c: whole-profile reading and writing (formats/profile_io.h):
 * round trips through each container on disk, atomic writes that leave
 * nothing behind on failure, and one-line errors naming the file for missing,
 * empty, truncated, corrupt and inconsistent inputs. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fileio.h"
#include "profile_builder.h"
#include "profile_io.h"

#define TMPDIR_FIXTURE_NAME "test_formats_io"
#include "tmpdir_fixture.h"

static size_t dir_entries(void) {
  DIR *d = opendir(dir);
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(d);
  return n;
}

static void put_file(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  fclose(f);
}

static profile_builder *heap(void) {
  profile_builder *b = profile_builder_new();
  profile_builder_add_sample_type(b, "alloc_objects", "count");
  profile_builder_add_sample_type(b, "alloc_space", "bytes");
  profile_builder_set_period(b, "space", "bytes", 524288);
  profile_builder_set_time(b, 1700000000000000000LL, 0);
  profile_mapping_info mi = {0x400000, 0x500000, 0, "/bin/prog", "feed", true, true, true, false};
  uint64_t m = profile_builder_add_mapping(b, &mi);
  uint64_t fm = profile_builder_add_function(b, "main", NULL, "main.c", 1);
  uint64_t fw = profile_builder_add_function(b, "work", NULL, "work.c", 1);
  profile_line lm = {fm, 5, 0}, lw = {fw, 9, 0};
  uint64_t loc[] = {profile_builder_add_location(b, m, 0x401000, &lw, 1, false),
                    profile_builder_add_location(b, m, 0x402000, &lm, 1, false)};
  int64_t v[] = {3, 3000}, v2[] = {1, 10};
  profile_builder_add_sample(b, loc, 2, v, 2, NULL, 0);
  profile_builder_add_sample(b, loc + 1, 1, v2, 2, NULL, 0);
  assert_true(profile_builder_ok(b));
  return b;
}

static uint8_t *heap_pb(size_t *len) {
  profile_builder *b = heap();
  uint8_t *pb = NULL;
  assert_int_equal(profile_builder_pack(b, &pb, len), 0);
  profile_builder_free(b);
  return pb;
}

static void check_heap(const profile_pb *p) {
  assert_int_equal(p->n_sample, 2);
  assert_int_equal(p->n_sample_type, 2);
  assert_int_equal(p->sample[0]->value[1], 3000);
  assert_int_equal(p->period, 524288);
  assert_string_equal(p->string_table[p->function[1]->name], "work");
}

/* ---- round trips ---- */

static void test_roundtrip_files(void **state) {
  (void)state;
  const char *names[] = {"h.pb", "h.pb.gz", "h.pb.zst", "h.prof"};
  const uint8_t magic[][2] = {{0x0a, 0}, {0x1f, 0x8b}, {0x28, 0xb5}, {0x1f, 0x8b}};
  char err[512];
  profile_builder *b = heap();
  profile_pb *orig = NULL;
  assert_int_equal(profile_builder_build(b, &orig), 0);
  for (int i = 0; i < 4; i++) {
    /* Written from the builder and from an unpacked profile: same bytes in. */
    const char *path = at(names[i]);
    assert_int_equal(profile_builder_write_file(b, path, err, sizeof err), 0);
    uint8_t *raw = NULL;
    size_t len = 0;
    assert_int_equal(fileio_read_all(path, 1 << 20, &raw, &len, err, sizeof err), 0);
    assert_int_equal(raw[0], magic[i][0]);
    if (magic[i][1]) assert_int_equal(raw[1], magic[i][1]);
    free(raw);
    profile_pb *p = NULL;
    assert_int_equal(profile_read_file(path, &p, err, sizeof err), 0);
    check_heap(p);
    assert_int_equal(profile_write_file(path, p, err, sizeof err), 0);
    profile_free(p);
    assert_int_equal(profile_read_file(path, &p, err, sizeof err), 0);
    check_heap(p);
    profile_free(p);
  }
  assert_int_equal(dir_entries(), 4); /* no temp files left */

  /* In memory: every container, by content. */
  for (container_kind k = CONTAINER_RAW; k <= CONTAINER_ZSTD; k++) {
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(profile_write_buffer(orig, k, &buf, &len, err, sizeof err), 0);
    profile_pb *p = NULL;
    assert_int_equal(profile_read_buffer(buf, len, "mem", &p, err, sizeof err), 0);
    check_heap(p);
    profile_free(p);
    free(buf);
  }
  profile_free(orig);
  profile_builder_free(b);
}

static void test_folded_file(void **state) {
  (void)state;
  char err[512];
  profile_builder *b = heap();
  const char *path = at("h.folded");
  assert_int_equal(profile_builder_write_file(b, path, err, sizeof err), 0);
  uint8_t *text = NULL;
  size_t len = 0;
  assert_int_equal(fileio_read_all(path, 1 << 20, &text, &len, err, sizeof err), 0);
  /* The last sample type (alloc_space) is the default. */
  assert_string_equal((char *)text, "main 10\nmain;work 3000\n");
  free(text);
  profile_builder_free(b);
}

static void test_write_failures(void **state) {
  (void)state;
  char err[512];
  profile_builder *b = heap();
  profile_pb *p = NULL;
  assert_int_equal(profile_builder_build(b, &p), 0);
  size_t before = dir_entries();
  /* Missing directory: error names the path; nothing created. */
  const char *bad = at("no/such/dir/h.pb.gz");
  assert_int_equal(profile_write_file(bad, p, err, sizeof err), -1);
  assert_non_null(strstr(err, bad));
  assert_null(strchr(err, '\n'));
  /* Target is a directory: refused before anything is written. */
  const char *sub = at("adir.pb.gz");
  assert_int_equal(mkdir(sub, 0755), 0);
  assert_int_equal(profile_write_file(sub, p, err, sizeof err), -1);
  assert_non_null(strstr(err, "is a directory, not a regular file"));
  assert_int_equal(dir_entries(), before + 1);
  rmdir(sub);
  /* Replacing an existing file leaves the new content only. */
  const char *path = at("replace.pb.gz");
  put_file(path, "old", 3);
  assert_int_equal(profile_write_file(path, p, err, sizeof err), 0);
  profile_pb *q = NULL;
  assert_int_equal(profile_read_file(path, &q, err, sizeof err), 0);
  profile_free(q);
  assert_int_equal(dir_entries(), before + 1);
  unlink(path);
  profile_free(p);
  profile_builder_free(b);
}

/* ---- read errors ---- */

static void expect_read_error(const char *path, const char *what) {
  char err[512] = "";
  profile_pb *p = (profile_pb *)1;
  assert_int_equal(profile_read_file(path, &p, err, sizeof err), -1);
  assert_null(p);
  if (!strstr(err, path) || !strstr(err, what))
    fail_msg("got \"%s\", want %s and %s", err, path, what);
  assert_null(strchr(err, '\n'));
  print_message("%s\n", err);
}

static void test_read_errors(void **state) {
  (void)state;
  char err[512];
  expect_read_error(at("missing.pb.gz"), "No such file");
  const char *empty = at("empty.pb.gz");
  put_file(empty, "", 0);
  expect_read_error(empty, "empty");
  const char *text = at("text.pb");
  put_file(text, "main;work 10\n", 13);
  expect_read_error(text, "looks like text");
  const char *junk = at("junk.pb");
  put_file(junk, "\x0a\xff\xff\xff\xff\xff\x01\x02", 8);
  expect_read_error(junk, "corrupt protobuf");
  expect_read_error(dir, "is a directory");

  size_t len = 0;
  uint8_t *pb = heap_pb(&len);
  uint8_t *gz = NULL, *zs = NULL, *e = NULL;
  size_t gzlen = 0, zslen = 0, elen = 0;
  assert_int_equal(container_compress(CONTAINER_GZIP, pb, len, 0, &gz, &gzlen, err, sizeof err), 0);
  assert_int_equal(container_compress(CONTAINER_ZSTD, pb, len, 0, &zs, &zslen, err, sizeof err), 0);
  const char *tgz = at("trunc.pb.gz"), *tzs = at("trunc.pb.zst");
  put_file(tgz, gz, gzlen - 9);
  expect_read_error(tgz, "truncated gzip");
  put_file(tzs, zs, zslen - 5);
  expect_read_error(tzs, "truncated zstd");
  /* Compressed nothing. */
  assert_int_equal(container_compress(CONTAINER_GZIP, "", 0, 0, &e, &elen, err, sizeof err), 0);
  const char *egz = at("nothing.pb.gz");
  put_file(egz, e, elen);
  expect_read_error(egz, "empty profile");
  free(e);
  /* Two zstd frames: a snapshot stream, not a profile. */
  uint8_t *two = malloc(2 * zslen);
  memcpy(two, zs, zslen);
  memcpy(two + zslen, zs, zslen);
  const char *st = at("two.pb.zst");
  put_file(st, two, 2 * zslen);
  expect_read_error(st, "snapshot stream of 2 profiles");
  free(two);

  /* Every truncation of every container fails cleanly (or, for raw bytes cut
   * at a field boundary, may still parse); never a crash. */
  const uint8_t *bufs[] = {pb, gz, zs};
  size_t lens[] = {len, gzlen, zslen};
  for (int k = 0; k < 3; k++)
    for (size_t cut = 0; cut < lens[k]; cut++) {
      profile_pb *p = NULL;
      err[0] = 0;
      if (profile_read_buffer(bufs[k], cut, "cut", &p, err, sizeof err) == 0) {
        assert_int_equal(k, 0);
        profile_free(p);
      } else {
        assert_true(strncmp(err, "cut: ", 5) == 0);
      }
    }
  free(pb);
  free(gz);
  free(zs);
}

/* Unpack the good profile, break one thing, repack, expect the message. */
typedef void (*breaker)(profile_pb *p);
static void b_loc(profile_pb *p) { p->sample[0]->location_id[1] = 77; }
static void b_func(profile_pb *p) { p->location[0]->line[0]->function_id = 9; }
static void b_func0(profile_pb *p) { p->location[0]->line[0]->function_id = 0; }
static void b_map(profile_pb *p) { p->location[1]->mapping_id = 5; }
static void b_str(profile_pb *p) { p->function[0]->name = 1000; }
static void b_strneg(profile_pb *p) { p->sample_type[0]->unit = -1; }
static void b_label(profile_pb *p) {
  static Perftools__Profiles__Label l = PERFTOOLS__PROFILES__LABEL__INIT;
  static Perftools__Profiles__Label *lp = &l;
  l.key = 1;
  l.num_unit = 4000;
  p->sample[1]->n_label = 1;
  p->sample[1]->label = &lp;
}
static void b_values(profile_pb *p) { p->sample[1]->n_value = 1; }
static void b_dup(profile_pb *p) { p->location[1]->id = p->location[0]->id; }
static void b_zero(profile_pb *p) { p->function[1]->id = 0; }
static void b_str0(profile_pb *p) { p->string_table[0] = "x"; }
static void b_nostr(profile_pb *p) { p->n_string_table = 0; }

static void test_bad_references(void **state) {
  (void)state;
  struct {
    breaker brk;
    const char *want;
  } cases[] = {
      {b_loc, "bad reference: sample 0: location id 77 does not exist"},
      {b_func, "bad reference: location id 1: line 0: function id 9 does not exist"},
      {b_func0, "function id 0 does not exist"},
      {b_map, "bad reference: location id 2: mapping id 5 does not exist"},
      {b_str, "bad reference: function 0: name string index 1000 out of range"},
      {b_strneg, "sample_type 0: unit string index -1 out of range"},
      {b_label, "label num_unit string index 4000 out of range"},
      {b_values, "sample 1 has 1 values but the profile has 2 sample types"},
      {b_dup, "duplicate location id 1"},
      {b_zero, "function 1 has id 0"},
      {b_str0, "string_table[0] is not empty"},
      {b_nostr, "no string table"},
  };
  size_t len = 0;
  uint8_t *pb = heap_pb(&len);
  char err[512];
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    profile_pb *p = perftools__profiles__profile__unpack(NULL, len, pb);
    assert_non_null(p);
    size_t nstr = p->n_string_table;
    char *s0 = p->string_table[0];
    size_t nlab = p->sample[1]->n_label;
    Perftools__Profiles__Label **lab = p->sample[1]->label;
    size_t nval = p->sample[1]->n_value;
    cases[i].brk(p);
    uint8_t *bad = NULL;
    size_t badlen = 0;
    assert_int_equal(profile_pack(p, &bad, &badlen, err, sizeof err), 0);
    /* Put back what free_unpacked needs to see. */
    p->n_string_table = nstr;
    p->string_table[0] = s0;
    p->sample[1]->n_label = nlab;
    p->sample[1]->label = lab;
    p->sample[1]->n_value = nval;
    profile_free(p);

    const char *path = at("bad.pb");
    put_file(path, bad, badlen);
    free(bad);
    expect_read_error(path, cases[i].want);
  }
  free(pb);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip_files), cmocka_unit_test(test_folded_file),
      cmocka_unit_test(test_write_failures),  cmocka_unit_test(test_read_errors),
      cmocka_unit_test(test_bad_references),
  };
  return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
