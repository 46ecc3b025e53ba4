/* test_formats_lite.c: the quick, partial decoder (formats/profile_lite.h)
 * against profile_decode: on what it accepts, the same header, strings and
 * samples, and the tables left as they are on the wire; what it must
 * refuse (what profile_decode refuses, and wire forms it does not take),
 * it refuses, so that its caller falls back on profile_decode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "profile_builder.h"
#include "profile_io.h"
#include "profile_lite.h"

/* A heap profile of two stacks with labels, comments and a period type. */
static profile_pb *built(void) {
  profile_builder *b = profile_builder_new();
  profile_builder_add_comment(b, "pid=42");
  profile_builder_add_comment(b, "seq=7");
  profile_builder_add_sample_type(b, "inuse_objects", "count");
  profile_builder_add_sample_type(b, "inuse_space", "bytes");
  profile_builder_set_default_sample_type(b, "inuse_space");
  profile_builder_set_period(b, "space", "bytes", 524288);
  profile_builder_set_time(b, 1700000000123456789LL, 5000);
  profile_builder_set_drop_frames(b, "malloc");
  profile_mapping_info m = {0x400000, 0x500000, 0, "/bin/x", "abc", true, false, false, false};
  uint64_t map = profile_builder_add_mapping(b, &m);
  uint64_t f1 = profile_builder_add_function(b, "main", "main", "m.c", 1);
  uint64_t f2 = profile_builder_add_function(b, "work", "work", "w.c", 9);
  profile_line l1 = {f1, 3, 0}, l2 = {f2, 12, 0};
  uint64_t loc1 = profile_builder_add_location(b, map, 0x401000, &l1, 1, false);
  uint64_t loc2 = profile_builder_add_location(b, map, 0x402000, &l2, 1, false);
  uint64_t s1[] = {loc2, loc1}, s2[] = {loc1};
  int64_t v1[] = {3, 3000000}, v2[] = {1, 200};
  profile_label lab[] = {{"bytes", NULL, 1000000, "bytes"}, {"thread", "io", 0, NULL}};
  profile_builder_add_sample(b, s1, 2, v1, 2, lab, 2);
  profile_builder_add_sample(b, s2, 1, v2, 2, NULL, 0);
  profile_pb *p = NULL;
  assert_int_equal(profile_builder_build(b, &p), 0);
  profile_builder_free(b);
  return p;
}

static uint8_t *packed(const profile_pb *p, size_t *len) {
  char err[256];
  uint8_t *pb = NULL;
  assert_int_equal(profile_pack(p, &pb, len, err, sizeof err), 0);
  return pb;
}

static void same_profile(const profile_pb *a, const profile_lite *l) {
  const profile_pb *b = &l->pb;
  assert_int_equal(a->time_nanos, b->time_nanos);
  assert_int_equal(a->duration_nanos, b->duration_nanos);
  assert_int_equal(a->period, b->period);
  assert_int_equal(a->drop_frames, b->drop_frames);
  assert_int_equal(a->default_sample_type, b->default_sample_type);
  assert_non_null(b->period_type);
  assert_int_equal(a->period_type->type, b->period_type->type);
  assert_int_equal(a->period_type->unit, b->period_type->unit);
  assert_int_equal(a->n_sample_type, b->n_sample_type);
  for (size_t i = 0; i < a->n_sample_type; i++) {
    assert_int_equal(a->sample_type[i]->type, b->sample_type[i]->type);
    assert_int_equal(a->sample_type[i]->unit, b->sample_type[i]->unit);
  }
  assert_int_equal(a->n_comment, b->n_comment);
  for (size_t i = 0; i < a->n_comment; i++) assert_int_equal(a->comment[i], b->comment[i]);
  assert_int_equal(a->n_string_table, b->n_string_table);
  for (size_t i = 0; i < a->n_string_table; i++) {
    assert_string_equal(a->string_table[i], b->string_table[i]);
    assert_int_equal(strlen(a->string_table[i]), l->string_len[i]);
  }
  assert_int_equal(a->n_sample, b->n_sample);
  for (size_t i = 0; i < a->n_sample; i++) {
    const Perftools__Profiles__Sample *x = a->sample[i], *y = b->sample[i];
    assert_int_equal(x->n_location_id, y->n_location_id);
    for (size_t j = 0; j < x->n_location_id; j++)
      assert_int_equal(x->location_id[j], y->location_id[j]);
    assert_int_equal(x->n_value, y->n_value);
    for (size_t j = 0; j < x->n_value; j++) assert_int_equal(x->value[j], y->value[j]);
    assert_int_equal(x->n_label, y->n_label);
    for (size_t j = 0; j < x->n_label; j++) {
      assert_int_equal(x->label[j]->key, y->label[j]->key);
      assert_int_equal(x->label[j]->str, y->label[j]->str);
      assert_int_equal(x->label[j]->num, y->label[j]->num);
      assert_int_equal(x->label[j]->num_unit, y->label[j]->num_unit);
    }
  }
  assert_int_equal(b->n_mapping + b->n_location + b->n_function, 0);
  assert_int_equal(l->n_mapping, a->n_mapping);
  assert_int_equal(l->n_location, a->n_location);
  assert_int_equal(l->n_function, a->n_function);
  assert_int_equal(l->ntables, a->n_mapping + a->n_location + a->n_function);
}

/* The same header and samples as profile_decode; the tables on the wire,
 * their hash the same for the same bytes and another for others. */
static void test_matches_profile_decode(void **state) {
  (void)state;
  char err[256];
  profile_pb *p = built();
  size_t len;
  uint8_t *pb = packed(p, &len);
  profile_pb *full = NULL;
  profile_lite *l = NULL;
  assert_int_equal(profile_decode(pb, len, "x", &full, err, sizeof err), 0);
  assert_int_equal(profile_lite_decode(pb, len, NULL, &l), 0);
  same_profile(full, l);
  assert_int_equal(l->min_location_id, 1);
  assert_int_equal(l->max_location_id, 2);
  for (size_t i = 0; i < l->ntables; i++) {
    assert_true(l->tables[i].data >= pb && l->tables[i].data + l->tables[i].len <= pb + len);
    assert_true(l->tables[i].num >= 3 && l->tables[i].num <= 5);
  }
  /* new values, same tables: the same hash; a moved location: another */
  p->sample[0]->value[1] = 4000000;
  size_t len2;
  uint8_t *pb2 = packed(p, &len2);
  profile_lite *l2 = NULL;
  assert_int_equal(profile_lite_decode(pb2, len2, NULL, &l2), 0);
  assert_true(l2->tables_hash == l->tables_hash);
  assert_int_equal(l2->pb.sample[0]->value[1], 4000000);
  p->location[0]->address = 0x401008;
  size_t len3;
  uint8_t *pb3 = packed(p, &len3);
  profile_lite *l3 = NULL;
  assert_int_equal(profile_lite_decode(pb3, len3, l2, &l3), 0); /* l2's memory again */
  assert_true(l3->tables_hash != l->tables_hash);
  assert_int_equal(l3->pb.sample[0]->value[1], 4000000);
  /* into the memory of a smaller one: all as from profile_decode */
  const uint8_t small[] = {0x32, 0x00};
  profile_lite *s = NULL, *l4 = NULL;
  assert_int_equal(profile_lite_decode(small, sizeof small, NULL, &s), 0);
  assert_int_equal(profile_lite_decode(pb, len, s, &l4), 0);
  same_profile(full, l4);
  profile_lite_free(l);
  profile_lite_free(l3);
  profile_lite_free(l4);
  profile_free(full);
  profile_free(p);
  free(pb);
  free(pb2);
  free(pb3);
}

/* Packs p after edit, and expects the quick decoder to refuse it (1), and
 * profile_decode to fail when decode_fails. */
static void refused(void (*edit)(profile_pb *p), int decode_fails) {
  char err[256];
  profile_pb *p = built();
  edit(p);
  size_t len;
  uint8_t *pb = packed(p, &len);
  profile_lite *l = NULL;
  assert_int_equal(profile_lite_decode(pb, len, NULL, &l), 1);
  assert_null(l);
  profile_pb *full = NULL;
  assert_int_equal(profile_decode(pb, len, "x", &full, err, sizeof err) != 0, decode_fails);
  profile_free(full);
  profile_free(p);
  free(pb);
}

static void values_short(profile_pb *p) { p->sample[1]->n_value = 1; }
static void label_out_of_range(profile_pb *p) { p->sample[0]->label[1]->str = 999; }
static void comment_out_of_range(profile_pb *p) { p->comment[0] = -3; }
static void type_out_of_range(profile_pb *p) { p->sample_type[0]->unit = 77; }
static void string0_not_empty(profile_pb *p) {
  free(p->string_table[0]);
  p->string_table[0] = strdup("x");
}
static void negative_value(profile_pb *p) { p->sample[1]->value[0] = -1; } /* 10-byte varint */

static void test_refuses(void **state) {
  (void)state;
  refused(values_short, 1);
  refused(label_out_of_range, 1);
  refused(comment_out_of_range, 1);
  refused(type_out_of_range, 1);
  refused(string0_not_empty, 1);
  refused(negative_value, 0);
}

/* Wire forms it does not take, and input profile_decode refuses. */
static void test_refuses_wire(void **state) {
  (void)state;
  profile_lite *l = NULL;
  const uint8_t empty_string[] = {0x32, 0x00};
  assert_int_equal(profile_lite_decode(empty_string, sizeof empty_string, NULL, &l), 0);
  assert_int_equal(l->pb.n_string_table, 1);
  profile_lite_free(l);
  const uint8_t unknown[] = {0x32, 0x00, 0x80, 0x01, 0x05}; /* field 16 */
  const uint8_t unpacked_comment[] = {0x32, 0x00, 0x68, 0x00};
  const uint8_t two_period_types[] = {0x32, 0x00, 0x5a, 0x00, 0x5a, 0x00};
  const uint8_t truncated[] = {0x32, 0x05, 0x61};
  const uint8_t sample_unpacked_id[] = {0x32, 0x00, 0x12, 0x02, 0x08, 0x01};
  /* A tag or a length longer than the 5 bytes protobuf-c reads, though a
   * valid overlong encoding of 0x12 (sample) and of 0 */
  const uint8_t long_length[] = {0x32, 0x00, 0x12, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
  const uint8_t long_tag[] = {0x32, 0x00, 0x92, 0x80, 0x80, 0x80, 0x80, 0x00, 0x00};
  const uint8_t *bad[] = {unknown,   unpacked_comment,   two_period_types,
                          truncated, sample_unpacked_id, long_length,
                          long_tag};
  const size_t lens[] = {sizeof unknown,   sizeof unpacked_comment,   sizeof two_period_types,
                         sizeof truncated, sizeof sample_unpacked_id, sizeof long_length,
                         sizeof long_tag};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(profile_lite_decode(bad[i], lens[i], NULL, &l), 1);
    assert_null(l);
  }
  assert_int_equal(profile_lite_decode(empty_string, 0, NULL, &l), 1);
  /* Overlong within those 5 bytes, protobuf-c unpacks it, and so does this
   * decoder: a sample written with a 2-byte tag and a 5-byte length. */
  const uint8_t long_ok[] = {0x32, 0x00, 0x92, 0x00, 0x80, 0x80, 0x80, 0x80, 0x00};
  assert_int_equal(profile_lite_decode(long_ok, sizeof long_ok, NULL, &l), 0);
  assert_int_equal(l->pb.n_sample, 1);
  profile_lite_free(l);
  Perftools__Profiles__Profile *q =
      perftools__profiles__profile__unpack(NULL, sizeof long_ok, long_ok);
  assert_non_null(q);
  assert_int_equal(q->n_sample, 1);
  perftools__profiles__profile__free_unpacked(q, NULL);
  for (size_t i = 5; i < sizeof bad / sizeof *bad; i++) {
    q = perftools__profiles__profile__unpack(NULL, lens[i], bad[i]);
    assert_null(q); /* the same refusal as protobuf-c's */
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_matches_profile_decode),
      cmocka_unit_test(test_refuses),
      cmocka_unit_test(test_refuses_wire),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
