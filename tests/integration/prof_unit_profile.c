/* prof_unit_profile: cmocka unit tests of the profile a dump builds
 * (libprof/profile.c, dump.h), on the allocator's internal entry points
 * (alloc_core, not the libc override): samples recorded at a chosen rate
 * come out unsampled exactly as Go does it (per bucket, by the factor of
 * its object size), in-use is allocated minus freed, the profile-wide fields
 * are set, and the three outputs (packed buffer, file in each container,
 * stream frame) carry the same profile. It links prof_dump, which the
 * tests/unit programs do not; it is built from tests/integration's
 * CMakeLists.txt for that reason. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "alloc_entry.h"
#include "dump.h"
#include "mprof.h"
#include "mprof_state.h"
#include "profile_io.h"
#include "stream.h"

static int setup(void **state) {
  (void)state;
  alloc_init_once();
  mprof_set_rate(0); /* samples are recorded by hand below */
  return 0;
}

/* The block an object of size bytes gets (its size class, or its pages):
 * what buckets are keyed by and the "bytes" label says. */
static int64_t block_of(size_t size) {
  void *q = alloc_malloc(size);
  int64_t block = (int64_t)alloc_usable_size(q);
  alloc_free(q);
  return block;
}

/* The numeric label key of sample s, or -1. */
static int64_t label_of(const profile_pb *p, const Perftools__Profiles__Sample *s,
                        const char *key) {
  for (size_t k = 0; k < s->n_label; k++)
    if (strcmp(p->string_table[s->label[k]->key], key) == 0) return s->label[k]->num;
  return -1;
}

/* The values of the sample of objects of size bytes: its "bytes" label is
 * size and its "allocated_bytes" label their block (summed, should there be
 * several stacks), and how many samples have it. */
static int values_for_size(const profile_pb *p, int64_t size, int64_t v[4]) {
  int n = 0;
  int64_t block = block_of((size_t)size);
  memset(v, 0, 4 * sizeof *v);
  for (size_t i = 0; i < p->n_sample; i++) {
    const Perftools__Profiles__Sample *s = p->sample[i];
    if (label_of(p, s, "bytes") != size || label_of(p, s, "allocated_bytes") != block) continue;
    assert_int_equal(s->n_value, 6);
    for (int j = 0; j < 4; j++) v[j] += s->value[j];
    n++;
  }
  return n;
}

static profile_pb *dump_now(void) {
  uint8_t *pb = NULL;
  size_t len = 0;
  char err[256];
  assert_int_equal(prof_dump_packed(&pb, &len, NULL, err, sizeof err), 0);
  profile_pb *p = NULL;
  assert_int_equal(profile_decode(pb, len, "dump", &p, err, sizeof err), 0);
  free(pb);
  return p;
}

/* Records n objects of size bytes as samples taken at rate, frees nfree of
 * them, and checks the profile's four values against Go's formula. */
static void check_unsampling(uint64_t rate, size_t size, int n, int nfree) {
  void **objs = calloc((size_t)n, sizeof *objs);
  /* allocated with sampling off, so that the sampler itself takes none */
  for (int i = 0; i < n; i++) assert_non_null(objs[i] = alloc_malloc(size));
  mprof_set_rate(rate);
  for (int i = 0; i < n; i++) prof_record_sample(objs[i], size); /* as if the sampler had */
  for (int i = 0; i < nfree; i++) alloc_free(objs[i]);
  profile_pb *p = dump_now();
  mprof_set_rate(0);
  int64_t v[4];
  assert_int_equal(values_for_size(p, (int64_t)size, v), 1);
  double scale = rate <= 1 ? 1.0 : 1.0 / (1.0 - exp(-(double)size / (double)rate));
  assert_int_equal(v[0], (int64_t)((double)n * scale));
  assert_int_equal(v[1], (int64_t)((double)n * (double)size * scale));
  assert_int_equal(v[2], (int64_t)((double)(n - nfree) * scale));
  assert_int_equal(v[3], (int64_t)((double)(n - nfree) * (double)size * scale));
  assert_int_equal(p->period, (int64_t)rate);
  profile_free(p);
  for (int i = nfree; i < n; i++) alloc_free(objs[i]);
  free(objs);
}

/* The comment of p that starts with prefix, or NULL. */
static const char *find_comment(const profile_pb *p, const char *prefix) {
  for (size_t i = 0; i < p->n_comment; i++) {
    const char *c = p->string_table[p->comment[i]];
    if (strncmp(c, prefix, strlen(prefix)) == 0) return c;
  }
  return NULL;
}

/* The peak values (peak_inuse_objects, peak_inuse_space) of the sample
 * whose "bytes" label is the block of size; 0 and 0 when there is none. */
static void peak_for_size(const profile_pb *p, size_t size, int64_t v[2]) {
  int64_t block = block_of(size);
  v[0] = v[1] = 0;
  for (size_t i = 0; i < p->n_sample; i++) {
    const Perftools__Profiles__Sample *s = p->sample[i];
    for (size_t k = 0; k < s->n_label; k++)
      if (strcmp(p->string_table[s->label[k]->key], "allocated_bytes") == 0 &&
          s->label[k]->num == block) {
        assert_int_equal(s->n_value, 6);
        v[0] += s->value[4];
        v[1] += s->value[5];
      }
  }
}

static const char *find_comment(const profile_pb *p, const char *prefix);

static int64_t realtime_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The peak at rate 1 is exact: the stacks' in-use at the moment the total
 * was highest, kept when buckets change after it (a free, a new bucket, a
 * new peak), and its comments say the total and when. Runs first: the
 * other tests' estimates at sampled rates make higher peaks. */
static void test_peak_exact(void **state) {
  (void)state;
  /* sizes of their own size classes: no other test's buckets (and
   * requests no other test makes, for the "bytes" label) */
  enum { S1 = 1800, S2 = 9000, S3 = 40100, S4 = 48000 };
  void *a[3], *b[2], *c, *d;
  for (int i = 0; i < 3; i++) assert_non_null(a[i] = alloc_malloc(S1));
  for (int i = 0; i < 2; i++) assert_non_null(b[i] = alloc_malloc(S2));
  assert_non_null(c = alloc_malloc(S3));
  assert_non_null(d = alloc_malloc(S4));
  int64_t before = realtime_ms();
  mprof_set_rate(1);
  for (int i = 0; i < 3; i++) prof_record_sample(a[i], S1); /* 5400 */
  for (int i = 0; i < 2; i++) prof_record_sample(b[i], S2); /* 23400 */
  alloc_free(a[0]);                                         /* 21600 */
  prof_record_sample(c, S3);                                /* 61700: the peak */
  int64_t at_peak = realtime_ms();
  alloc_free(c);             /* 21600 */
  alloc_free(b[0]);          /* 12600 */
  prof_record_sample(d, S4); /* 60600 */
  profile_pb *p = dump_now();
  mprof_set_rate(0);
  static const struct {
    size_t size;
    int64_t objects, bytes;
  } want[] = {{S1, 2, 2 * S1}, {S2, 2, 2 * S2}, {S3, 1, S3}, {S4, 0, 0}};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    int64_t v[2];
    peak_for_size(p, want[i].size, v);
    assert_int_equal(v[0], want[i].objects);
    assert_int_equal(v[1], want[i].bytes);
  }
  char line[64];
  snprintf(line, sizeof line, "peak_inuse=%d", 2 * S1 + 2 * S2 + S3);
  assert_string_equal(find_comment(p, "peak_inuse="), line);
  /* peak_time=YYYY-MM-DDTHH:MM:SS.mmmZ, between the samples around it */
  const char *t = find_comment(p, "peak_time=");
  assert_non_null(t);
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  const char *end = strptime(t + 10, "%Y-%m-%dT%H:%M:%S", &tm);
  assert_non_null(end);
  int ms = -1;
  assert_int_equal(sscanf(end, ".%3dZ", &ms), 1);
  assert_int_equal(strlen(end), 5);
  int64_t when = (int64_t)timegm(&tm) * 1000 + ms;
  assert_true(when >= before && when <= at_peak);
  profile_free(p);
  alloc_free(a[1]);
  alloc_free(a[2]);
  alloc_free(b[1]);
  alloc_free(d);
}

/* The peak's number wraps after 2^32 peaks (mprof_peak.c): a bucket not
 * changed since it carried the number the count wraps to must not pass
 * its old copy for the peak. x's bucket is made at number 0; 2^32 - 1
 * peaks later (set by hand) y's sample makes a new peak, and the number
 * wraps: x held 1 object at that peak, not the none of its copy. Runs
 * second: its peak must be higher than test_peak_exact's. */
static void test_peak_epoch_wraps(void **state) {
  (void)state;
  enum { SX = 110000, SY = 300000 };
  void *x = alloc_malloc(SX), *y = alloc_malloc(SY);
  assert_non_null(x);
  assert_non_null(y);
  mprof_set_rate(1);
  prof_lock_enter();
  prof_hot.peak_epoch = 0;
  prof_lock_exit();
  prof_record_sample(x, SX); /* a new peak: 1 */
  prof_lock_enter();
  prof_hot.peak_epoch = UINT32_MAX;
  prof_lock_exit();
  prof_record_sample(y, SY); /* a new peak: the number wraps */
  profile_pb *p = dump_now();
  mprof_set_rate(0);
  int64_t v[2];
  peak_for_size(p, SX, v);
  assert_int_equal(v[0], 1);
  assert_int_equal(v[1], SX);
  peak_for_size(p, SY, v);
  assert_int_equal(v[0], 1);
  assert_int_equal(v[1], SY);
  profile_free(p);
  alloc_free(x);
  alloc_free(y);
}

/* Every profile says what it is: trigger, pid, command line, time, rate,
 * sequence number, one key=value comment each (dump_comments.c). */
/* The clock the profile's time comes from. Not time(NULL): the kernel
 * answers that from a coarser clock, which near a second's turn can still
 * say the second before the one clock_gettime already says. */
static time_t realtime_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec;
}

static void test_comments(void **state) {
  (void)state;
  mprof_set_rate(4096);
  uint8_t *pb = NULL;
  size_t len = 0;
  char err[256], want[64];
  struct prof_dump_meta meta = {PROF_TRIG_PEAK | PROF_TRIG_SIGNAL, 3};
  time_t before = realtime_s();
  assert_int_equal(prof_dump_packed(&pb, &len, &meta, err, sizeof err), 0);
  mprof_set_rate(0);
  profile_pb *p = NULL;
  assert_int_equal(profile_decode(pb, len, "dump", &p, err, sizeof err), 0);
  free(pb);
  assert_string_equal(find_comment(p, "trigger="), "trigger=signal,peak");
  snprintf(want, sizeof want, "pid=%ld", (long)getpid());
  assert_string_equal(find_comment(p, "pid="), want);
  assert_string_equal(find_comment(p, "rate="), "rate=4096");
  assert_string_equal(find_comment(p, "seq="), "seq=3");
  const char *cmd = find_comment(p, "cmdline=");
  assert_non_null(cmd);
  assert_non_null(strstr(cmd, "prof_unit_profile"));
  /* time=YYYY-MM-DDTHH:MM:SSZ, UTC, the profile's own time */
  const char *t = find_comment(p, "time=");
  assert_non_null(t);
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  const char *end = strptime(t + 5, "%Y-%m-%dT%H:%M:%SZ", &tm);
  assert_non_null(end);
  assert_int_equal(*end, 0);
  time_t when = timegm(&tm);
  assert_true(when >= before && when <= realtime_s());
  assert_int_equal((int64_t)when, p->time_nanos / 1000000000);
  profile_free(p);

  /* no meta: the process's comments only */
  pb = NULL;
  assert_int_equal(prof_dump_packed(&pb, &len, NULL, err, sizeof err), 0);
  assert_int_equal(profile_decode(pb, len, "dump", &p, err, sizeof err), 0);
  free(pb);
  assert_null(find_comment(p, "trigger="));
  assert_null(find_comment(p, "seq="));
  assert_string_equal(find_comment(p, "rate="), "rate=0");
  profile_free(p);
}

/* The command line as a comment: arguments joined by spaces, anything
 * unprintable escaped, bounded. */
static void test_cmdline_printable(void **state) {
  (void)state;
  char buf[64];
  prof_cmdline_printable("prog\0-x\0two words\0", 19, buf, sizeof buf);
  assert_string_equal(buf, "prog -x two words");
  prof_cmdline_printable("a\nb\0\x01\x7f\0", 7, buf, sizeof buf);
  assert_string_equal(buf, "a\\x0ab \\x01\\x7f");
  /* UTF-8 stays, a lone continuation byte or a cut sequence does not */
  prof_cmdline_printable("caf\xc3\xa9\0\x80\0\xe2\x82", 10, buf, sizeof buf);
  assert_string_equal(buf, "caf\xc3\xa9 \\x80 \\xe2\\x82");
  /* too long: cut, and it says so */
  char big[200];
  memset(big, 'a', sizeof big);
  prof_cmdline_printable(big, sizeof big, buf, 16);
  assert_string_equal(buf, "aaaaaaaaaaaa...");
  assert_true(strlen(buf) < 16);
  prof_cmdline_printable("", 0, buf, sizeof buf);
  assert_string_equal(buf, "");
}

static void test_unsampling_like_go(void **state) {
  (void)state;
  check_unsampling(4096, 1000, 30, 10);  /* factor about 4.6 */
  check_unsampling(524288, 777, 50, 0);  /* about 675 */
  check_unsampling(65536, 200000, 5, 5); /* large objects: about 1.05; all freed */
  check_unsampling(1, 333, 40, 39);      /* rate 1: exact */
}

/* Records n objects of a or b bytes in turn (one stack) at rate 1, and
 * returns the sample whose "bytes" label is want, or NULL. */
static const Perftools__Profiles__Sample *record_sizes(profile_pb **pp, size_t a, size_t b, int n,
                                                       int64_t want) {
  void **objs = calloc((size_t)n, sizeof *objs);
  for (int i = 0; i < n; i++) assert_non_null(objs[i] = alloc_malloc(i % 2 ? b : a));
  mprof_set_rate(1);
  for (int i = 0; i < n; i++) prof_record_sample(objs[i], i % 2 ? b : a);
  *pp = dump_now();
  mprof_set_rate(0);
  for (int i = 0; i < n; i++) alloc_free(objs[i]);
  free(objs);
  for (size_t i = 0; i < (*pp)->n_sample; i++)
    if (label_of(*pp, (*pp)->sample[i], "bytes") == want) return (*pp)->sample[i];
  return NULL;
}

/* The "bytes" label is what one object weighs in the values, as in Go's
 * profiles (alloc_space / alloc_objects), not the block it occupies: 50
 * objects of 40,000 bytes are 2,000,000 bytes and bytes:[40000], and the
 * block (40,960) is the "allocated_bytes" label. Two request sizes that
 * share a block and a stack are one sample, labelled with their mean. */
static void test_bytes_label(void **state) {
  (void)state;
  profile_pb *p = NULL;
  const Perftools__Profiles__Sample *s = record_sizes(&p, 40000, 40000, 50, 40000);
  assert_non_null(s);
  assert_int_equal(s->value[0], 50);
  assert_int_equal(s->value[1], 2000000);
  assert_int_equal(s->value[1] / s->value[0], label_of(p, s, "bytes"));
  assert_int_equal(label_of(p, s, "allocated_bytes"), block_of(40000));
  assert_true(block_of(40000) > 40000);
  profile_free(p);

  int64_t block = block_of(3000);
  size_t a = (size_t)block - 100, b = (size_t)block - 10;
  assert_int_equal(block_of(a), block);
  int64_t mean = ((int64_t)a + (int64_t)b) / 2;
  s = record_sizes(&p, a, b, 20, mean);
  assert_non_null(s);
  assert_int_equal(s->value[0], 20);
  assert_int_equal(s->value[1], 10 * (int64_t)(a + b));
  assert_int_equal(label_of(p, s, "allocated_bytes"), block);
  profile_free(p);
}

static void test_profile_fields(void **state) {
  (void)state;
  void *keep = alloc_malloc(4321);
  mprof_set_rate(1);
  prof_record_sample(keep, 4321);
  profile_pb *p = dump_now();
  mprof_set_rate(0);
  static const char *const types[6][2] = {
      {"alloc_objects", "count"}, {"alloc_space", "bytes"},        {"inuse_objects", "count"},
      {"inuse_space", "bytes"},   {"peak_inuse_objects", "count"}, {"peak_inuse_space", "bytes"}};
  assert_int_equal(p->n_sample_type, 6);
  for (int i = 0; i < 6; i++) {
    assert_string_equal(p->string_table[p->sample_type[i]->type], types[i][0]);
    assert_string_equal(p->string_table[p->sample_type[i]->unit], types[i][1]);
  }
  assert_string_equal(p->string_table[p->default_sample_type], "inuse_space");
  assert_non_null(p->period_type);
  assert_string_equal(p->string_table[p->period_type->type], "space");
  assert_string_equal(p->string_table[p->period_type->unit], "bytes");
  assert_true(p->time_nanos > 0);
  assert_non_null(strstr(p->string_table[p->drop_frames], "operator new"));
  /* the labels: "bytes" = the size asked for, "allocated_bytes" = the
   * block the objects occupy, both in bytes */
  int found = 0;
  for (size_t i = 0; i < p->n_sample && !found; i++) {
    const Perftools__Profiles__Sample *s = p->sample[i];
    if (label_of(p, s, "bytes") != 4321) continue;
    assert_int_equal(label_of(p, s, "allocated_bytes"), block_of(4321));
    assert_int_equal(s->n_label, 2);
    for (size_t k = 0; k < s->n_label; k++)
      assert_string_equal(p->string_table[s->label[k]->num_unit], "bytes");
    assert_true(s->n_location_id > 0);
    found = 1;
  }
  assert_true(found);
  /* locations: distinct addresses, each in its mapping when it has one;
   * a mapping with names claims has_functions */
  for (size_t i = 0; i < p->n_location; i++) {
    const Perftools__Profiles__Location *l = p->location[i];
    for (size_t j = i + 1; j < p->n_location; j++)
      assert_true(p->location[j]->address != l->address);
    if (l->mapping_id == 0) continue;
    const Perftools__Profiles__Mapping *m = NULL;
    for (size_t k = 0; k < p->n_mapping; k++)
      if (p->mapping[k]->id == l->mapping_id) m = p->mapping[k];
    assert_non_null(m);
    assert_true(l->address >= m->memory_start && l->address < m->memory_limit);
    if (l->n_line > 0) assert_true(m->has_functions);
  }
  profile_free(p);
  alloc_free(keep);
}

/* A bucket whose objects were all freed keeps its allocation counts; one
 * with nothing at all is left out (nothing to show). */
static void test_freed_bucket_stays(void **state) {
  (void)state;
  void *q = alloc_malloc(5555);
  mprof_set_rate(1);
  prof_record_sample(q, 5555);
  alloc_free(q);
  profile_pb *p = dump_now();
  mprof_set_rate(0);
  int64_t v[4];
  assert_int_equal(values_for_size(p, 5555, v), 1);
  assert_int_equal(v[0], 1);
  assert_int_equal(v[1], 5555);
  assert_int_equal(v[2], 0);
  assert_int_equal(v[3], 0);
  profile_free(p);
}

static void test_outputs_agree(void **state) {
  (void)state;
  void *keep = alloc_malloc(2468);
  mprof_set_rate(1);
  prof_record_sample(keep, 2468);
  mprof_set_rate(0);
  const char *tmp = getenv("TMPDIR");
  char dir[256];
  snprintf(dir, sizeof dir, "%s/prof_unit_profile.XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
  assert_non_null(mkdtemp(dir));
  char err[512], path[512];
  static const char *const names[] = {"a.pb.gz", "a.pb", "a.pb.zst"};
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    assert_int_equal(prof_dump_file(path, NULL, err, sizeof err), 0);
    profile_pb *p = NULL;
    assert_int_equal(profile_read_file(path, &p, err, sizeof err), 0);
    int64_t v[4];
    assert_int_equal(values_for_size(p, 2468, v), 1);
    assert_int_equal(v[3], 2468);
    profile_free(p);
    unlink(path);
  }
  /* a stream gets one frame per dump */
  snprintf(path, sizeof path, "%s/s.zst", dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0644);
  assert_true(fd >= 0);
  struct prof_dump_meta smeta = {PROF_TRIG_INTERVAL, 7};
  assert_int_equal(prof_dump_stream(fd, &smeta, err, sizeof err), 0);
  assert_int_equal(prof_dump_stream(fd, &smeta, err, sizeof err), 0);
  close(fd);
  profile_pb *last = NULL;
  size_t index = 0;
  stream_report rep;
  assert_int_equal(stream_read_last(path, &last, &index, &rep, err, sizeof err), 0);
  assert_int_equal(index, 1);
  assert_int_equal(rep.frames, 2);
  int64_t v[4];
  assert_int_equal(values_for_size(last, 2468, v), 1);
  assert_non_null(find_comment(last, "trigger=interval"));
  assert_non_null(find_comment(last, "seq=7"));
  profile_free(last);
  unlink(path);
  /* a path that cannot be written: -1, the message names it, nothing left */
  snprintf(path, sizeof path, "%s/missing/x.pb.gz", dir);
  assert_int_equal(prof_dump_file(path, NULL, err, sizeof err), -1);
  assert_non_null(strstr(err, path));
  assert_int_equal(prof_dump_file("", NULL, err, sizeof err), -1);
  assert_int_equal(rmdir(dir), 0); /* empty: no temporary file left */
  alloc_free(keep);
}

/* A dump from inside the profiler guard (as the triggers' thread may be)
 * works and leaves the guard held. */
static void test_dump_inside_guard(void **state) {
  (void)state;
  assert_int_equal(mprof_guard_enter(), 1);
  profile_pb *p = dump_now();
  profile_free(p);
  assert_int_equal(mprof_guard_enter(), 0); /* still inside */
  mprof_guard_exit();
  assert_int_equal(mprof_guard_enter(), 1);
  mprof_guard_exit();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_peak_exact),         cmocka_unit_test(test_peak_epoch_wraps),
      cmocka_unit_test(test_unsampling_like_go), cmocka_unit_test(test_profile_fields),
      cmocka_unit_test(test_bytes_label),        cmocka_unit_test(test_freed_bucket_stays),
      cmocka_unit_test(test_outputs_agree),      cmocka_unit_test(test_dump_inside_guard),
      cmocka_unit_test(test_comments),           cmocka_unit_test(test_cmdline_printable),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
