/* test_formats_folded.c: folded stacks (formats/folded.h) of a known
 * profile: root-first order, inlined frames, name fallbacks, merging of equal
 * stacks, sorting, and the value index. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "folded.h"
#include "profile_builder.h"
#include "profile_io.h"

static profile_pb *known(void) {
  profile_builder *b = profile_builder_new();
  profile_builder_add_sample_type(b, "alloc_objects", "count");
  profile_builder_add_sample_type(b, "alloc_space", "bytes");
  uint64_t fmain = profile_builder_add_function(b, "main", NULL, "m.c", 1);
  uint64_t fwork = profile_builder_add_function(b, "work", NULL, "w.c", 1);
  uint64_t fhelp = profile_builder_add_function(b, "helper", NULL, "w.c", 9);
  uint64_t fsys = profile_builder_add_function(b, "", "_Zsys", NULL, 0);
  uint64_t fnone = profile_builder_add_function(b, NULL, NULL, "x.c", 0);
  uint64_t fodd = profile_builder_add_function(b, "a;b\nc", NULL, NULL, 0);
  profile_line lmain = {fmain, 3, 0}, linl[2] = {{fhelp, 10, 0}, {fwork, 4, 0}},
               lsys = {fsys, 0, 0}, lnone = {fnone, 0, 0}, lodd = {fodd, 0, 0};
  uint64_t L1 = profile_builder_add_location(b, 0, 0x10, &lmain, 1, false);
  uint64_t L2 = profile_builder_add_location(b, 0, 0x20, linl, 2, false);
  uint64_t L3 = profile_builder_add_location(b, 0, 0x30, NULL, 0, false);
  uint64_t L4 = profile_builder_add_location(b, 0, 0x40, &lsys, 1, false);
  uint64_t L5 = profile_builder_add_location(b, 0, 0x50, &lnone, 1, false);
  uint64_t L6 = profile_builder_add_location(b, 0, 0x60, &lodd, 1, false);
  profile_label t1 = {"thread", "one", 0, NULL}, t2 = {"thread", "two", 0, NULL};
  uint64_t s1[] = {L2, L1}, s2[] = {L3, L1}, s3[] = {L4, L1}, s4[] = {L5, L6, L1}, s5[] = {L1};
  int64_t v1[] = {1, 100}, v2[] = {2, 50}, v3[] = {1, 10}, v4[] = {0, 0}, v5[] = {4, -5},
          v6[] = {1, 0}, v7[] = {2, 7};
  /* Two samples of one stack, kept apart by their labels, merge in the text. */
  assert_int_equal(profile_builder_add_sample(b, s1, 2, v1, 2, &t1, 1), 0);
  assert_int_equal(profile_builder_add_sample(b, s1, 2, v2, 2, &t2, 1), 0);
  assert_int_equal(profile_builder_add_sample(b, s2, 2, v3, 2, NULL, 0), 0);
  assert_int_equal(profile_builder_add_sample(b, s3, 2, v4, 2, NULL, 0), 0);
  assert_int_equal(profile_builder_add_sample(b, s4, 3, v5, 2, NULL, 0), 0);
  assert_int_equal(profile_builder_add_sample(b, s5, 1, v6, 2, NULL, 0), 0);
  assert_int_equal(profile_builder_add_sample(b, NULL, 0, v7, 2, NULL, 0), 0);
  profile_pb *p = NULL;
  assert_int_equal(profile_builder_build(b, &p), 0);
  assert_int_equal(p->n_sample, 7);
  profile_builder_free(b);
  return p;
}

static void test_known_profile(void **state) {
  (void)state;
  profile_pb *p = known();
  char *text = NULL, err[256];
  size_t len = 0;
  assert_int_equal(folded_format(p, 1, &text, &len, err, sizeof err), 0);
  assert_string_equal(text,
                      "[no stack] 7\n"
                      "main;0x30 10\n"
                      "main;a:b c;0x50 -5\n"
                      "main;work;helper 150\n");
  assert_int_equal(len, strlen(text));
  free(text);
  assert_int_equal(folded_format(p, 0, &text, &len, err, sizeof err), 0);
  assert_string_equal(text,
                      "[no stack] 2\n"
                      "main 1\n"
                      "main;0x30 1\n"
                      "main;a:b c;0x50 4\n"
                      "main;work;helper 3\n");
  free(text);
  assert_int_equal(folded_format(p, 2, &text, &len, err, sizeof err), -1);
  assert_non_null(strstr(err, "out of range"));

  /* folded_write gives the same text; the .folded container uses the last
   * sample type when no default is set. */
  FILE *f = tmpfile();
  assert_int_equal(folded_write(f, p, 1, err, sizeof err), 0);
  uint8_t *buf = NULL;
  assert_int_equal(profile_write_buffer(p, CONTAINER_FOLDED, &buf, &len, err, sizeof err), 0);
  char back[256] = "";
  rewind(f);
  size_t n = fread(back, 1, sizeof back - 1, f);
  fclose(f);
  assert_int_equal(n, len);
  assert_memory_equal(back, buf, len);
  free(buf);
  profile_free(p);
}

static void test_system_name_and_empty(void **state) {
  (void)state;
  profile_builder *b = profile_builder_new();
  profile_builder_add_sample_type(b, "samples", "count");
  uint64_t fsys = profile_builder_add_function(b, "", "_Zsys", NULL, 0);
  profile_line l = {fsys, 0, 0};
  uint64_t loc = profile_builder_add_location(b, 0, 0x40, &l, 1, false);
  char *text = NULL, err[256];
  size_t len = 99;
  profile_pb *p = NULL;
  assert_int_equal(profile_builder_build(b, &p), 0);
  assert_int_equal(folded_format(p, 0, &text, &len, err, sizeof err), 0);
  assert_string_equal(text, ""); /* no samples, empty text */
  assert_int_equal(len, 0);
  free(text);
  profile_free(p);
  int64_t v = 3;
  assert_int_equal(profile_builder_add_sample(b, &loc, 1, &v, 1, NULL, 0), 0);
  assert_int_equal(profile_builder_build(b, &p), 0);
  assert_int_equal(folded_format(p, 0, &text, &len, err, sizeof err), 0);
  assert_string_equal(text, "_Zsys 3\n");
  free(text);
  profile_free(p);
  profile_builder_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_known_profile),
      cmocka_unit_test(test_system_name_and_empty),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
