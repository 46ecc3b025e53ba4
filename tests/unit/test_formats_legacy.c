/* test_formats_legacy.c: other allocators' text heap profiles
 * (formats/legacy_heap.h) through the profile readers (profile_io.h):
 * sample types, unsampling by pprof's formula for each kind of header,
 * return addresses less 1, mappings, jemalloc's thread lines, gzipped and
 * large files, and one-line errors for damaged ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "container.h"
#include "legacy_heap.h"
#include "profile_index.h"
#include "profile_io.h"

/* libc first (pprof puts the main program first all the same), a
 * non-executable piece, and the program's text in two adjacent pieces that
 * become one mapping */
static const char maps[] =
    "\nMAPPED_LIBRARIES:\n"
    "7f0000026000-7f000017b000 r-xp 00026000 08:01 2000   /usr/lib/x86_64-linux-gnu/libc.so.6\n"
    "00400000-00401000 r--p 00000000 08:01 1000   /usr/bin/demo\n"
    "00401000-00402000 r-xp 00001000 08:01 1000   /usr/bin/demo\n"
    "00402000-00403000 r-xp 00002000 08:01 1000   /usr/bin/demo\n"
    "7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0 [stack]\n";

static profile_pb *read_text(const char *body, const char *tail) {
  char buf[4096], err[256];
  snprintf(buf, sizeof buf, "%s%s", body, tail);
  profile_pb *p = NULL;
  if (profile_read_buffer(buf, strlen(buf), "t.heap", &p, err, sizeof err) != 0) {
    print_error("unexpected error: %s\n", err);
    fail();
  }
  return p;
}

static const char *str(const profile_pb *p, int64_t i) { return p->string_table[i]; }

static const Perftools__Profiles__Location *loc(const profile_pb *p, uint64_t id) {
  ssize_t i = profile_index_location(profile_index_of(p), id);
  assert_true(i >= 0);
  return p->location[i];
}

static const Perftools__Profiles__Mapping *map_of(const profile_pb *p, uint64_t id) {
  ssize_t i = profile_index_mapping(profile_index_of(p), id);
  assert_true(i >= 0);
  return p->mapping[i];
}

/* pprof's scaleHeapSample: both values times 1/(1-exp(-(b/n)/r)),
 * truncated */
static int64_t scaled(int64_t v, int64_t n, int64_t b, int64_t r) {
  return (int64_t)((double)v / (1 - exp(-((double)b / (double)n) / (double)r)));
}

static void test_tcmalloc_heap_v2(void **state) {
  (void)state;
  profile_pb *p = read_text(
      "heap profile:    3:  2097152 [     5:  3670016] @ heap_v2/524288\n"
      "     1:  1048576 [     2:  2097152] @ 0x00401137 0x00401191 0x7f0000027249\n"
      "  2:  1048576 [ 3:  1572864] @ 0x00402151 0x00401191 0x7f0000027249\n",
      maps);
  assert_int_equal(p->n_sample_type, 4);
  const char *want[] = {"alloc_objects", "alloc_space", "inuse_objects", "inuse_space"};
  for (int i = 0; i < 4; i++) assert_string_equal(str(p, p->sample_type[i]->type), want[i]);
  assert_string_equal(str(p, p->default_sample_type), "inuse_space");
  assert_string_equal(str(p, p->period_type->type), "space");
  assert_string_equal(str(p, p->period_type->unit), "bytes");
  assert_int_equal(p->period, 524288);
  assert_int_equal(p->n_comment, 1);
  assert_non_null(strstr(str(p, p->comment[0]), "gperftools heap profile (heap_v2/524288)"));
  assert_int_equal(p->n_sample, 2);
  const Perftools__Profiles__Sample *s = p->sample[0];
  assert_int_equal(s->value[0], scaled(2, 2, 2097152, 524288));
  assert_int_equal(s->value[1], scaled(2097152, 2, 2097152, 524288));
  assert_int_equal(s->value[2], scaled(1, 1, 1048576, 524288));
  assert_int_equal(s->value[3], scaled(1048576, 1, 1048576, 524288));
  assert_int_equal(s->value[3], 1212696); /* 1 MiB at 512 KiB: x1.1565 */
  s = p->sample[1];
  assert_int_equal(s->value[1], scaled(1572864, 3, 1572864, 524288));
  assert_int_equal(s->value[3], scaled(1048576, 2, 1048576, 524288));
  /* the "bytes" label: bytes per object */
  assert_int_equal(s->n_label, 1);
  assert_string_equal(str(p, s->label[0]->key), "bytes");
  assert_int_equal(s->label[0]->num, 524288);
  /* the leaf as it is, its callers less 1 */
  assert_int_equal(s->n_location_id, 3);
  assert_int_equal(loc(p, s->location_id[0])->address, 0x402151);
  assert_int_equal(loc(p, s->location_id[1])->address, 0x401190);
  assert_int_equal(loc(p, s->location_id[2])->address, 0x7f0000027248);
  assert_int_equal(loc(p, s->location_id[0])->n_line, 0);
  /* one location per address: the callers are shared */
  assert_int_equal(p->n_location, 4);
  /* executable mappings only, demo's two pieces one, the program first */
  assert_int_equal(p->n_mapping, 2);
  assert_string_equal(str(p, p->mapping[0]->filename), "/usr/bin/demo");
  assert_int_equal(p->mapping[0]->memory_start, 0x401000);
  assert_int_equal(p->mapping[0]->memory_limit, 0x403000);
  assert_int_equal(p->mapping[0]->file_offset, 0x1000);
  assert_string_equal(str(p, p->mapping[1]->filename), "/usr/lib/x86_64-linux-gnu/libc.so.6");
  assert_int_equal(p->mapping[1]->file_offset, 0x26000);
  const Perftools__Profiles__Mapping *m = map_of(p, loc(p, s->location_id[0])->mapping_id);
  assert_string_equal(str(p, m->filename), "/usr/bin/demo");
  m = map_of(p, loc(p, s->location_id[2])->mapping_id);
  assert_string_equal(str(p, m->filename), "/usr/lib/x86_64-linux-gnu/libc.so.6");
  profile_free(p);
}

static void test_heapprofile_and_old_heap(void **state) {
  (void)state;
  /* HEAPPROFILE: every allocation, values as they are, period 1; an
   * address outside every mapping has none */
  profile_pb *p = read_text(
      "heap profile:   3:   300 [   4:   400] @ heapprofile\n"
      "   3:   300 [   4:   400] @ 0x00401137 0x00000010\n"
      "# a comment line\n",
      maps);
  assert_int_equal(p->period, 1);
  assert_int_equal(p->n_sample_type, 4);
  assert_int_equal(p->sample[0]->value[0], 4);
  assert_int_equal(p->sample[0]->value[1], 400);
  assert_int_equal(p->sample[0]->value[2], 3);
  assert_int_equal(p->sample[0]->value[3], 300);
  assert_int_equal(loc(p, p->sample[0]->location_id[1])->address, 0xf);
  assert_int_equal(loc(p, p->sample[0]->location_id[1])->mapping_id, 0);
  profile_free(p);
  /* the older "heap/N": rate N/2, as pprof reads it; allocated equal to
   * in-use: no alloc_ types */
  p = read_text(
      "heap profile:   1:  1000 [   1:  1000] @ heap/2048\n"
      "   1:  1000 [   1:  1000] @ 0x00401137\n",
      maps);
  assert_int_equal(p->period, 1024);
  assert_int_equal(p->n_sample_type, 2);
  assert_string_equal(str(p, p->sample_type[0]->type), "inuse_objects");
  assert_int_equal(p->sample[0]->value[1], scaled(1000, 1, 1000, 1024));
  profile_free(p);
}

static void test_jemalloc(void **state) {
  (void)state;
  /* without prof_accum: [0: 0], in-use only; thread lines left out */
  profile_pb *p = read_text(
      "heap_v2/524288\n"
      "  t*: 3: 2097152 [0: 0]\n"
      "  t0: 2: 1572864 [0: 0]\n"
      "  t1: 1: 524288 [0: 0]\n"
      "@ 0x00401137 0x00401191\n"
      "  t*: 1: 1048576 [0: 0]\n"
      "  t0: 1: 1048576 [0: 0]\n"
      "@ 0x00401151 0x00401191\n"
      "  t*: 2: 1048576 [0: 0]\n"
      "  t0: 1: 524288 [0: 0]\n"
      "  t1: 1: 524288 [0: 0]\n",
      maps);
  assert_int_equal(p->n_sample_type, 2);
  assert_string_equal(str(p, p->sample_type[1]->type), "inuse_space");
  assert_int_equal(p->period, 524288);
  assert_non_null(strstr(str(p, p->comment[0]), "jemalloc heap profile (heap_v2/524288)"));
  assert_int_equal(p->n_sample, 2);
  assert_int_equal(p->sample[0]->value[0], scaled(1, 1, 1048576, 524288));
  assert_int_equal(p->sample[1]->value[1], scaled(1048576, 2, 1048576, 524288));
  assert_int_equal(loc(p, p->sample[1]->location_id[1])->address, 0x401190);
  profile_free(p);
  /* with prof_accum: four types */
  p = read_text(
      "heap_v2/4096\n"
      "  t*: 1: 100 [5: 700]\n"
      "@ 0x00401137\n"
      "  t*: 1: 100 [5: 700]\n",
      maps);
  assert_int_equal(p->n_sample_type, 4);
  assert_int_equal(p->sample[0]->value[0], scaled(5, 5, 700, 4096));
  assert_int_equal(p->sample[0]->value[3], scaled(100, 1, 100, 4096));
  profile_free(p);
}

static void test_gzip_and_large(void **state) {
  (void)state;
  /* a gzipped file, and one past the 1 MiB after which profile_input_check
   * looks at raw input (it must not take the text for broken protobuf) */
  size_t cap = (size_t)3 << 20, n = 0;
  char *big = malloc(cap);
  assert_non_null(big);
  n += (size_t)sprintf(big, "heap profile: 1: 1 [ 1: 1] @ heapprofile\n");
  for (unsigned i = 0; n < ((size_t)2 << 20); i++)
    n += (size_t)sprintf(big + n, "1: 16 [ 2: 32] @ 0x%x 0x7f0000027249\n", 0x401000 + i % 4096);
  n += (size_t)sprintf(big + n, "%s", maps);
  char err[256];
  assert_int_equal(profile_input_check(NULL, (const uint8_t *)big, n, err, sizeof err), 0);
  profile_pb *p = NULL;
  assert_int_equal(profile_read_buffer(big, n, "big.heap", &p, err, sizeof err), 0);
  assert_int_equal(p->n_location, 4097);
  profile_free(p);
  uint8_t *gz = NULL;
  size_t gzlen = 0;
  assert_int_equal(container_compress(CONTAINER_GZIP, big, n, 0, &gz, &gzlen, err, sizeof err), 0);
  assert_int_equal(profile_read_buffer(gz, gzlen, "big.heap.gz", &p, err, sizeof err), 0);
  assert_int_equal(p->n_location, 4097);
  profile_free(p);
  free(gz);
  free(big);
}

static void test_damaged(void **state) {
  (void)state;
  static const char hdr[] = "heap profile: 1: 1 [ 2: 2] @ heap_v2/524288\n";
  /* text: whole lines after hdr, or a whole file when it starts with
   * "heap"; the maps section follows unless bare */
  static const struct {
    const char *text, *want;
    bool bare;
  } cases[] = {
      {"1: 1 [ 2: 2] @ 0x1", "cut short", true},
      {"1: 1 [ 2: 2] @ 0x1\n", "MAPPED_LIBRARIES", true},
      {"heap profile: 1: 1 [ 2: 2] @ growthz\n", "unknown kind", false},
      {"heap profile: 1: 1 [ 2: 2]\n", "expected \"@", false},
      {"1: 1 [ 2: 2] @ 0x1 zz\n", "line 2: expected a 0x address", false},
      {"1: 1 [ 2: 2] @ 0x11111111111111111\n", "overlong", false},
      {"1: 1 [ 2: 2] @ 0x1q\n", "bad address", false},
      {"0: 5 [ 2: 2] @ 0x1\n", "count of 0", false},
      {"-1: 5 [ 2: 2] @ 0x1\n", "expected \"COUNT", false},
      {"9223372036854775808: 5 [ 2: 2] @ 0x1\n", "expected \"COUNT", false},
      {"1: 1 [ 2: 2 @ 0x1\n", "expected \"COUNT", false},
      {"heap_v2/x\n", "expected \"heap_v2/RATE\"", false},
      {"heap_v2/1\n@ 0x1\n", "before the t*: totals", false},
      {"heap_v2/1\n  t*: 1: 1 [0: 0]\n@ 0x1\n@ 0x2\n", "without its t*:", false},
      {"heap_v2/1\n  t*: 1: 1 [0: 0]\n@ 0x1\n", "no t*: line", false},
      {"heap_v2/1\n  t*: 1: 1 [0: 0]\n  t*: 1: 1 [0: 0]\n", "second t*:", false},
      {"heap_v2/1\n  tx: 1: 1 [0: 0]\n", "thread number", false},
      {"heap_v2/1\n", "no t*: totals line", false},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char buf[1024], err[256];
    const char *t = cases[i].text;
    snprintf(buf, sizeof buf, "%s%s%s", strncmp(t, "heap", 4) == 0 ? "" : hdr, t,
             cases[i].bare ? "" : maps);
    profile_pb *p = NULL;
    int rc = profile_read_buffer(buf, strlen(buf), "bad.heap", &p, err, sizeof err);
    if (rc == 0 || !strstr(err, cases[i].want) || strchr(err, '\n') ||
        strncmp(err, "bad.heap: ", 10) != 0) {
      print_error("case %zu: rc %d, message '%s', wanted '%s'\n", i, rc, rc ? err : "",
                  cases[i].want);
      fail();
    }
  }
  /* a NUL byte; detection by the first line only */
  char err[256];
  profile_pb *p = NULL;
  static const char nul[] = "heap_v2/1\n  t*: 1: 1 [0: 0]\n\0\n";
  assert_int_equal(profile_read_buffer(nul, sizeof nul - 1, "n.heap", &p, err, sizeof err), -1);
  assert_non_null(strstr(err, "NUL"));
  assert_int_equal(legacy_heap_detect("  heap profile: x", 17), LEGACY_HEAP_GPERF);
  assert_int_equal(legacy_heap_detect("heap_v2/", 8), LEGACY_HEAP_JEMALLOC);
  assert_int_equal(legacy_heap_detect("heap_v2", 7), LEGACY_HEAP_NONE);
  assert_int_equal(legacy_heap_detect("x heap profile:", 15), LEGACY_HEAP_NONE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tcmalloc_heap_v2), cmocka_unit_test(test_heapprofile_and_old_heap),
      cmocka_unit_test(test_jemalloc),         cmocka_unit_test(test_gzip_and_large),
      cmocka_unit_test(test_damaged),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
