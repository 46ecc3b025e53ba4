/* test_formats_budget.c: decoding is priced from the wire format before
 * protobuf-c allocates (formats/wire_budget.h): millions of empty elements
 * are refused with one line, real profiles of every shape pass, broken wire
 * data is refused as corrupt, and the prefix check tells endless garbage
 * from a profile that is merely not complete yet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "profile_builder.h"
#include "profile_io.h"
#include "wire_budget.h"

/* n repetitions of a 2-byte empty element of field `field`. */
static uint8_t *empties(uint8_t field, size_t n) {
  uint8_t *b = malloc(2 * n);
  assert_non_null(b);
  for (size_t i = 0; i < n; i++) b[2 * i] = (uint8_t)(field << 3 | 2), b[2 * i + 1] = 0;
  return b;
}

static void test_empty_elements_refused(void **state) {
  (void)state;
  static const uint8_t fields[] = {2, 3, 4, 5}; /* sample, mapping, location, function */
  for (size_t k = 0; k < 4; k++) {
    size_t n = (size_t)5 << 20;
    uint8_t *b = empties(fields[k], n);
    char err[512];
    profile_pb *p = (profile_pb *)1;
    assert_int_equal(profile_decode(b, 2 * n, "x.pb", &p, err, sizeof err), -1);
    assert_null(p);
    if (!strstr(err, "x.pb: refusing to decode")) fail_msg("field %u: %s", fields[k], err);
    assert_null(strchr(err, '\n'));
    free(b);
  }
}

/* Empty elements in a number a real profile could hold are priced, not
 * refused: the validator then says what is wrong. */
static void test_few_empty_elements_decode(void **state) {
  (void)state;
  uint8_t *b = empties(2, 1000);
  char err[512];
  profile_pb *p = NULL;
  assert_int_equal(profile_decode(b, 2000, "x.pb", &p, err, sizeof err), -1);
  assert_non_null(strstr(err, "no string table"));
  free(b);
}

/* Profiles the builder writes, shaped to be as dense as real ones get:
 * many one-frame samples with one small value each. */
static void test_dense_real_profile_passes(void **state) {
  (void)state;
  profile_builder *b = profile_builder_new();
  profile_builder_add_sample_type(b, "samples", "count");
  enum { N = 200000 };
  for (int i = 0; i < N; i++) {
    char name[32];
    snprintf(name, sizeof name, "f%d", i);
    uint64_t fn = profile_builder_add_function(b, name, NULL, NULL, 0);
    profile_line line = {fn, 0, 0};
    uint64_t loc = profile_builder_add_location(b, 0, (uint64_t)i, &line, 1, false);
    int64_t v = 1;
    assert_int_equal(profile_builder_add_sample(b, &loc, 1, &v, 1, NULL, 0), 0);
  }
  uint8_t *pb = NULL;
  size_t len = 0;
  assert_int_equal(profile_builder_pack(b, &pb, &len), 0);
  wire_cost c;
  assert_int_equal(wire_profile_cost(pb, len, &c), 0);
  assert_int_equal(c.samples, N);
  assert_int_equal(c.locations, N);
  assert_true(c.bytes <= WIRE_BUDGET_BASE + WIRE_BUDGET_PER_BYTE * (uint64_t)len);
  print_message("%zu bytes, priced %llu (%.1f per byte)\n", len, (unsigned long long)c.bytes,
                (double)c.bytes / (double)len);
  char err[512];
  profile_pb *p = NULL;
  assert_int_equal(profile_decode(pb, len, "dense.pb", &p, err, sizeof err), 0);
  assert_int_equal(p->n_sample, N);
  profile_free(p);
  free(pb);
  profile_builder_free(b);
}

/* Broken wire data: a group, a length past the end, field 0. */
static void test_broken_wire(void **state) {
  (void)state;
  static const uint8_t group[] = {0x0b, 0x0c};
  static const uint8_t past[] = {0x32, 0x10, 'a'};
  static const uint8_t zero[] = {0x00, 0x00};
  const uint8_t *bufs[] = {group, past, zero};
  size_t lens[] = {sizeof group, sizeof past, sizeof zero};
  for (int i = 0; i < 3; i++) {
    wire_cost c;
    assert_int_equal(wire_profile_cost(bufs[i], lens[i], &c), -1);
    char err[512];
    profile_pb *p = NULL;
    assert_int_equal(profile_decode(bufs[i], lens[i], "bad.pb", &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "bad.pb: "));
  }
}

/* The prefix check: zeros are broken at once; a good profile cut
 * anywhere is not (yet); a gzip or zstd start is left to the reader. */
static void test_prefix(void **state) {
  (void)state;
  size_t bad = 99;
  static const uint8_t zeros[64];
  assert_int_equal(wire_profile_prefix_ok(zeros, sizeof zeros, &bad), -1);
  assert_int_equal(bad, 0);
  profile_builder *b = profile_builder_new();
  profile_builder_add_sample_type(b, "alloc_space", "bytes");
  uint64_t fn = profile_builder_add_function(b, "main", "main", "main.c", 1);
  profile_line line = {fn, 3, 0};
  uint64_t loc = profile_builder_add_location(b, 0, 0x1000, &line, 1, false);
  int64_t v = 4096;
  assert_int_equal(profile_builder_add_sample(b, &loc, 1, &v, 1, NULL, 0), 0);
  uint8_t *pb = NULL;
  size_t len = 0;
  assert_int_equal(profile_builder_pack(b, &pb, &len), 0);
  for (size_t cut = 0; cut <= len; cut++)
    assert_int_equal(wire_profile_prefix_ok(pb, cut, &bad), 0);
  free(pb);
  profile_builder_free(b);
  char err[256];
  uint8_t *big = calloc(1, PROFILE_INPUT_CHECK_AFTER);
  assert_non_null(big);
  assert_int_equal(profile_input_check(NULL, big, PROFILE_INPUT_CHECK_AFTER, err, sizeof err), -1);
  assert_non_null(strstr(err, "corrupt protobuf"));
  big[0] = 0x1f, big[1] = 0x8b;
  assert_int_equal(profile_input_check(NULL, big, PROFILE_INPUT_CHECK_AFTER, err, sizeof err), 0);
  free(big);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_empty_elements_refused),
      cmocka_unit_test(test_few_empty_elements_decode),
      cmocka_unit_test(test_dense_real_profile_passes),
      cmocka_unit_test(test_broken_wire),
      cmocka_unit_test(test_prefix),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
