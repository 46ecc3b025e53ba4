/* test_formats_stream.c: the snapshot stream (formats/stream.h): appended
 * frames read back in order, a truncated last frame reported and dropped,
 * corrupt frames and garbage skipped, and clean refusals. */
#include <dirent.h>
#include <fcntl.h>
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
#include "stream.h"

#define TMPDIR_FIXTURE_NAME "test_formats_stream"
#include "tmpdir_fixture.h"

/* Snapshot number i: time_nanos = i, one sample of value i. */
static uint8_t *snapshot(int i, size_t *len) {
  profile_builder *b = profile_builder_new();
  profile_builder_add_sample_type(b, "inuse_space", "bytes");
  profile_builder_set_time(b, i, 0);
  uint64_t f = profile_builder_add_function(b, "main", NULL, NULL, 0);
  profile_line ln = {f, 1, 0};
  uint64_t loc = profile_builder_add_location(b, 0, 0x1000, &ln, 1, false);
  int64_t v = i;
  profile_builder_add_sample(b, &loc, 1, &v, 1, NULL, 0);
  uint8_t *pb = NULL;
  assert_int_equal(profile_builder_pack(b, &pb, len), 0);
  profile_builder_free(b);
  return pb;
}

static void write_stream(const char *path, int frames) {
  char err[512];
  unlink(path);
  for (int i = 1; i <= frames; i++) {
    size_t len;
    uint8_t *pb = snapshot(i, &len);
    assert_int_equal(stream_append(path, pb, len, err, sizeof err), 0);
    free(pb);
  }
}

typedef struct seen {
  int n;
  int64_t times[16];
  uint64_t offsets[16];
} seen;

static int collect(void *ctx, size_t index, uint64_t offset, const uint8_t *pb, size_t len) {
  seen *s = ctx;
  char err[256];
  profile_pb *p = NULL;
  assert_int_equal(index, (size_t)s->n);
  assert_int_equal(profile_decode(pb, len, "frame", &p, err, sizeof err), 0);
  s->times[s->n] = p->time_nanos;
  s->offsets[s->n] = offset;
  s->n++;
  profile_free(p);
  return 0;
}

static uint8_t *slurp(const char *path, size_t *len) {
  uint8_t *buf = NULL;
  char err[512];
  assert_int_equal(fileio_read_all(path, 1 << 24, &buf, len, err, sizeof err), 0);
  return buf;
}

static void test_append_and_read(void **state) {
  (void)state;
  const char *path = at("s.zst");
  write_stream(path, 3);
  seen s = {0};
  stream_report rep;
  char err[512];
  assert_int_equal(stream_read_file(path, collect, &s, &rep, err, sizeof err), 0);
  assert_int_equal(s.n, 3);
  assert_int_equal(rep.frames, 3);
  assert_int_equal(rep.truncated, 0);
  assert_int_equal(rep.bad_frames, 0);
  assert_string_equal(rep.message, "");
  for (int i = 0; i < 3; i++) assert_int_equal(s.times[i], i + 1);
  assert_int_equal(s.offsets[0], 0);

  profile_pb *last = NULL;
  size_t index = 0;
  assert_int_equal(stream_read_last(path, &last, &index, &rep, err, sizeof err), 0);
  assert_int_equal(index, 2);
  assert_int_equal(last->time_nanos, 3);
  profile_free(last);

  /* Not a single profile. */
  assert_int_equal(profile_read_file(path, &last, err, sizeof err), -1);
  assert_non_null(strstr(err, "snapshot stream of 3 profiles"));
}

static void test_truncated_last_frame(void **state) {
  (void)state;
  const char *path = at("t.zst");
  write_stream(path, 3);
  size_t len = 0;
  uint8_t *full = slurp(path, &len);
  seen s = {0};
  stream_report rep;
  char err[512];
  assert_int_equal(stream_read_buffer(full, len, "t", collect, &s, &rep, err, sizeof err), 0);
  uint64_t third = s.offsets[2];
  /* Cut anywhere inside the third frame, including inside its magic. */
  for (size_t cut = (size_t)third + 1; cut < len; cut++) {
    memset(&s, 0, sizeof s);
    assert_int_equal(stream_read_buffer(full, cut, "t", collect, &s, &rep, err, sizeof err), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(rep.frames, 2);
    assert_int_equal(rep.truncated, 1);
    assert_int_equal(rep.truncated_offset, third);
    assert_int_equal(rep.truncated_bytes, cut - third);
    assert_non_null(strstr(rep.message, "truncated final frame"));
    assert_non_null(strstr(rep.message, "kept 2 good frames"));
  }
  /* The same through a file, as a killed writer leaves it. */
  assert_int_equal(truncate(path, (off_t)(third + 7)), 0);
  memset(&s, 0, sizeof s);
  assert_int_equal(stream_read_file(path, collect, &s, &rep, err, sizeof err), 0);
  assert_int_equal(s.n, 2);
  assert_int_equal(rep.truncated, 1);
  print_message("%s\n", rep.message);
  profile_pb *last = NULL;
  assert_int_equal(stream_read_last(path, &last, NULL, &rep, err, sizeof err), 0);
  assert_int_equal(last->time_nanos, 2);
  profile_free(last);
  /* Appending after the damage: the new frame is found past the bad bytes. */
  size_t plen;
  uint8_t *pb = snapshot(9, &plen);
  assert_int_equal(stream_append(path, pb, plen, err, sizeof err), 0);
  free(pb);
  memset(&s, 0, sizeof s);
  assert_int_equal(stream_read_file(path, collect, &s, &rep, err, sizeof err), 0);
  assert_int_equal(s.n, 3);
  assert_int_equal(s.times[2], 9);
  assert_int_equal(rep.skipped_bytes, 7);
  free(full);
}

static void test_damage(void **state) {
  (void)state;
  const char *path = at("d.zst");
  write_stream(path, 3);
  size_t len = 0;
  uint8_t *buf = slurp(path, &len);
  seen s = {0};
  stream_report rep;
  char err[512];
  assert_int_equal(stream_read_buffer(buf, len, "d", collect, &s, &rep, err, sizeof err), 0);
  uint64_t second = s.offsets[1], third = s.offsets[2];

  /* A flipped byte inside the second frame: the checksum rejects it. */
  uint8_t *c = malloc(len);
  memcpy(c, buf, len);
  c[(second + third) / 2] ^= 0x40;
  memset(&s, 0, sizeof s);
  assert_int_equal(stream_read_buffer(c, len, "d", collect, &s, &rep, err, sizeof err), 0);
  assert_int_equal(s.n, 2);
  assert_int_equal(s.times[0], 1);
  assert_int_equal(s.times[1], 3);
  assert_true(rep.bad_frames + (rep.skipped_bytes > 0) >= 1);
  assert_int_equal(rep.truncated, 0);
  print_message("%s\n", rep.message);

  /* Garbage between frames is skipped. */
  uint8_t *g = malloc(len + 5);
  memcpy(g, buf, (size_t)second);
  memcpy(g + second, "junk!", 5);
  memcpy(g + second + 5, buf + second, len - (size_t)second);
  memset(&s, 0, sizeof s);
  assert_int_equal(stream_read_buffer(g, len + 5, "d", collect, &s, &rep, err, sizeof err), 0);
  assert_int_equal(s.n, 3);
  assert_int_equal(rep.skipped_bytes, 5);
  free(c);
  free(g);
  free(buf);
}

static int stop_at_two(void *ctx, size_t index, uint64_t offset, const uint8_t *pb, size_t len) {
  (void)offset;
  (void)pb;
  (void)len;
  (*(int *)ctx)++;
  return index == 1 ? 7 : 0;
}

static void test_edges(void **state) {
  (void)state;
  char err[512];
  stream_report rep;
  int calls = 0;
  const char *path = at("e.zst");
  write_stream(path, 3);
  assert_int_equal(stream_read_file(path, stop_at_two, &calls, &rep, err, sizeof err), 7);
  assert_int_equal(calls, 2);

  /* Empty stream: no frames, no error; stream_read_last has nothing. */
  const char *empty = at("empty.zst");
  int fd = open(empty, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  close(fd);
  assert_int_equal(stream_read_file(empty, NULL, NULL, &rep, err, sizeof err), 0);
  assert_int_equal(rep.frames, 0);
  profile_pb *p = NULL;
  assert_int_equal(stream_read_last(empty, &p, NULL, &rep, err, sizeof err), -1);
  assert_non_null(strstr(err, "no complete snapshot"));

  /* Not a stream, missing file. */
  const char *text = at("text.zst");
  fd = open(text, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_int_equal(write(fd, "hello", 5), 5);
  close(fd);
  assert_int_equal(stream_read_file(text, NULL, NULL, &rep, err, sizeof err), -1);
  assert_non_null(strstr(err, text));
  assert_non_null(strstr(err, "not a snapshot stream"));
  const char *missing = at("missing.zst");
  assert_int_equal(stream_read_file(missing, NULL, NULL, &rep, err, sizeof err), -1);
  assert_non_null(strstr(err, missing));

  /* A write that cannot happen leaves the file as it was. */
  fd = open(path, O_RDONLY);
  size_t plen;
  uint8_t *pb = snapshot(5, &plen);
  struct stat before, after;
  stat(path, &before);
  assert_int_equal(stream_append_fd(fd, pb, plen, 0, err, sizeof err), -1);
  stat(path, &after);
  assert_int_equal(before.st_size, after.st_size);
  close(fd);
  assert_int_equal(stream_append(at("nodir/x.zst"), pb, plen, err, sizeof err), -1);
  assert_non_null(strstr(err, "nodir/x.zst"));
  free(pb);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_append_and_read),
      cmocka_unit_test(test_truncated_last_frame),
      cmocka_unit_test(test_damage),
      cmocka_unit_test(test_edges),
  };
  return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
