/* test_formats_builder.c: the profile builder (formats/profile_builder.h):
 * string interning, deduplication of mappings, functions, locations and
 * samples, argument checks, merging whole profiles, and speed at 100,000
 * distinct stacks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "profile_builder.h"
#include "profile_io.h"

static profile_builder *heap_builder(void) {
  profile_builder *b = profile_builder_new();
  assert_non_null(b);
  assert_int_equal(profile_builder_add_sample_type(b, "alloc_objects", "count"), 0);
  assert_int_equal(profile_builder_add_sample_type(b, "alloc_space", "bytes"), 0);
  return b;
}

static const char *str(const profile_pb *p, int64_t i) {
  assert_true(i >= 0 && (size_t)i < p->n_string_table);
  return p->string_table[i];
}

static void test_strings(void **state) {
  (void)state;
  profile_builder *b = profile_builder_new();
  assert_int_equal(profile_builder_string(b, ""), 0);
  assert_int_equal(profile_builder_string(b, NULL), 0);
  int64_t a = profile_builder_string(b, "alpha");
  int64_t c = profile_builder_string(b, "beta");
  assert_int_equal(a, 1);
  assert_int_equal(c, 2);
  assert_int_equal(profile_builder_string(b, "alpha"), a);
  /* Many strings: the table grows and keeps every index stable. */
  char name[32];
  for (int i = 0; i < 5000; i++) {
    snprintf(name, sizeof name, "s%d", i);
    assert_int_equal(profile_builder_string(b, name), 3 + i);
  }
  for (int i = 0; i < 5000; i += 97) {
    snprintf(name, sizeof name, "s%d", i);
    assert_int_equal(profile_builder_string(b, name), 3 + i);
  }
  profile_pb *p = NULL;
  assert_int_equal(profile_builder_build(b, &p), 0);
  assert_string_equal(p->string_table[0], "");
  assert_string_equal(p->string_table[a], "alpha");
  assert_string_equal(p->string_table[3 + 4999], "s4999");
  profile_free(p);
  profile_builder_free(b);
}

static void test_dedup(void **state) {
  (void)state;
  profile_builder *b = heap_builder();
  profile_mapping_info mi = {0x1000, 0x2000, 0, "/bin/x", "id1", true, true, true, false};
  uint64_t m1 = profile_builder_add_mapping(b, &mi);
  assert_int_equal(m1, 1);
  assert_int_equal(profile_builder_add_mapping(b, &mi), m1);
  mi.build_id = "id2";
  assert_int_equal(profile_builder_add_mapping(b, &mi), 2);

  uint64_t f1 = profile_builder_add_function(b, "f", "_Z1fv", "f.c", 10);
  assert_int_equal(f1, 1);
  assert_int_equal(profile_builder_add_function(b, "f", "_Z1fv", "f.c", 10), f1);
  assert_int_equal(profile_builder_add_function(b, "f", "_Z1fv", "f.c", 11), 2);
  assert_int_equal(profile_builder_add_function(b, "f", "_Z1fv", "g.c", 10), 3);
  assert_int_equal(profile_builder_add_function(b, "f", NULL, "f.c", 10), 4);
  assert_int_equal(profile_builder_add_function(b, "f", "", "f.c", 10), 4);

  profile_line l[2] = {{f1, 5, 1}, {2, 7, 0}};
  uint64_t loc1 = profile_builder_add_location(b, m1, 0x1100, l, 2, false);
  assert_int_equal(loc1, 1);
  assert_int_equal(profile_builder_add_location(b, m1, 0x1100, l, 2, false), loc1);
  assert_int_equal(profile_builder_add_location(b, m1, 0x1100, l, 1, false), 2);
  assert_int_equal(profile_builder_add_location(b, m1, 0x1100, l, 2, true), 3);
  l[1].line = 8;
  assert_int_equal(profile_builder_add_location(b, m1, 0x1100, l, 2, false), 4);
  assert_int_equal(profile_builder_add_location(b, 0, 0x1100, NULL, 0, false), 5);
  /* Bad references are refused, and do not poison the builder. */
  assert_int_equal(profile_builder_add_location(b, 99, 0x1100, NULL, 0, false), 0);
  profile_line bad = {77, 1, 0};
  assert_int_equal(profile_builder_add_location(b, m1, 0x1100, &bad, 1, false), 0);
  assert_true(profile_builder_ok(b));

  profile_pb *p = NULL;
  assert_int_equal(profile_builder_build(b, &p), 0);
  assert_int_equal(p->n_mapping, 2);
  assert_int_equal(p->n_function, 4);
  assert_int_equal(p->n_location, 5);
  assert_string_equal(str(p, p->mapping[1]->build_id), "id2");
  assert_true(p->mapping[0]->has_line_numbers);
  assert_false(p->mapping[0]->has_inline_frames);
  assert_string_equal(str(p, p->function[0]->system_name), "_Z1fv");
  assert_int_equal(p->function[1]->start_line, 11);
  assert_int_equal(p->location[0]->n_line, 2);
  assert_int_equal(p->location[0]->line[0]->column, 1);
  assert_true(p->location[2]->is_folded);
  char err[256];
  assert_int_equal(profile_validate(p, err, sizeof err), 0);
  profile_free(p);
  profile_builder_free(b);
}

static void test_samples(void **state) {
  (void)state;
  profile_builder *b = heap_builder();
  uint64_t f = profile_builder_add_function(b, "main", NULL, NULL, 0);
  profile_line ln = {f, 1, 0};
  uint64_t l1 = profile_builder_add_location(b, 0, 0x10, &ln, 1, false);
  uint64_t l2 = profile_builder_add_location(b, 0, 0x20, NULL, 0, false);
  uint64_t st[] = {l2, l1}, st2[] = {l1, l2};
  int64_t v[] = {1, 100};
  profile_label lab[] = {{"bytes", NULL, 100, "bytes"}, {"thread", "t1", 0, NULL}};
  profile_label rev[] = {lab[1], lab[0]};
  assert_int_equal(profile_builder_add_sample(b, st, 2, v, 2, NULL, 0), 0);
  assert_int_equal(profile_builder_add_sample(b, st, 2, v, 2, NULL, 0), 0);   /* merged */
  assert_int_equal(profile_builder_add_sample(b, st2, 2, v, 2, NULL, 0), 0);  /* new order */
  assert_int_equal(profile_builder_add_sample(b, st, 2, v, 2, lab, 2), 0);    /* new labels */
  assert_int_equal(profile_builder_add_sample(b, st, 2, v, 2, rev, 2), 0);    /* same set */
  assert_int_equal(profile_builder_add_sample(b, st, 2, v, 2, lab, 1), 0);    /* fewer */
  assert_int_equal(profile_builder_add_sample(b, NULL, 0, v, 2, NULL, 0), 0); /* no stack */
  /* Wrong value count, unknown location, late sample type. */
  assert_int_equal(profile_builder_add_sample(b, st, 2, v, 1, NULL, 0), -1);
  uint64_t nope[] = {42};
  assert_int_equal(profile_builder_add_sample(b, nope, 1, v, 2, NULL, 0), -1);
  assert_int_equal(profile_builder_add_sample_type(b, "late", "count"), -1);
  assert_true(profile_builder_ok(b));

  profile_pb *p = NULL;
  assert_int_equal(profile_builder_build(b, &p), 0);
  assert_int_equal(p->n_sample, 5);
  assert_int_equal(p->sample[0]->value[0], 2);
  assert_int_equal(p->sample[0]->value[1], 200);
  assert_int_equal(p->sample[1]->value[1], 100);
  assert_int_equal(p->sample[2]->value[1], 200);
  assert_int_equal(p->sample[2]->n_label, 2);
  assert_int_equal(p->sample[3]->n_label, 1);
  const Perftools__Profiles__Label *num = p->sample[3]->label[0];
  assert_string_equal(str(p, num->key), "bytes");
  assert_int_equal(num->num, 100);
  assert_string_equal(str(p, num->num_unit), "bytes");
  assert_int_equal(num->str, 0);
  assert_int_equal(p->sample[4]->n_location_id, 0);
  char err[256];
  assert_int_equal(profile_validate(p, err, sizeof err), 0);
  profile_free(p);
  profile_builder_free(b);
}

/* Values summed (equal stacks) or negated (a diff's base) saturate at the
 * ends of int64 instead of wrapping to the other sign (satint.h). */
static void test_saturation(void **state) {
  (void)state;
  profile_builder *b = heap_builder();
  uint64_t l = profile_builder_add_location(b, 0, 0x10, NULL, 0, false);
  int64_t big[] = {INT64_MAX, INT64_MIN}, small[] = {100, -100};
  assert_int_equal(profile_builder_add_sample(b, &l, 1, big, 2, NULL, 0), 0);
  assert_int_equal(profile_builder_add_sample(b, &l, 1, small, 2, NULL, 0), 0);
  profile_pb *p = NULL, *m = NULL;
  assert_int_equal(profile_builder_build(b, &p), 0);
  assert_int_equal(p->n_sample, 1);
  assert_true(p->sample[0]->value[0] == INT64_MAX);
  assert_true(p->sample[0]->value[1] == INT64_MIN);
  profile_builder *d = profile_builder_new();
  char err[256];
  assert_int_equal(profile_builder_add_profile(d, p, -1, err, sizeof err), 0);
  assert_int_equal(profile_builder_build(d, &m), 0);
  assert_true(m->sample[0]->value[0] == -INT64_MAX);
  assert_true(m->sample[0]->value[1] == INT64_MAX);
  profile_free(m);
  profile_free(p);
  profile_builder_free(d);
  profile_builder_free(b);
}

static void test_profile_fields(void **state) {
  (void)state;
  profile_builder *b = heap_builder();
  assert_int_equal(profile_builder_set_period(b, "space", "bytes", 524288), 0);
  profile_builder_set_time(b, 123456789, 1000);
  assert_int_equal(profile_builder_set_default_sample_type(b, "alloc_space"), 0);
  assert_int_equal(profile_builder_add_comment(b, "first"), 0);
  assert_int_equal(profile_builder_add_comment(b, "second"), 0);
  assert_int_equal(profile_builder_set_drop_frames(b, "malloc.*"), 0);
  assert_int_equal(profile_builder_set_keep_frames(b, "keep"), 0);
  assert_int_equal(profile_builder_set_doc_url(b, "https://example.org/doc"), 0);
  assert_int_equal(profile_builder_sample_types(b), 2);
  profile_pb *p = NULL;
  assert_int_equal(profile_builder_build(b, &p), 0);
  assert_int_equal(p->n_sample_type, 2);
  assert_string_equal(str(p, p->sample_type[1]->type), "alloc_space");
  assert_string_equal(str(p, p->sample_type[1]->unit), "bytes");
  assert_non_null(p->period_type);
  assert_string_equal(str(p, p->period_type->type), "space");
  assert_int_equal(p->period, 524288);
  assert_int_equal(p->time_nanos, 123456789);
  assert_int_equal(p->duration_nanos, 1000);
  assert_string_equal(str(p, p->default_sample_type), "alloc_space");
  assert_int_equal(profile_default_value_index(p), 1);
  assert_int_equal(p->n_comment, 2);
  assert_string_equal(str(p, p->comment[1]), "second");
  assert_string_equal(str(p, p->drop_frames), "malloc.*");
  assert_string_equal(str(p, p->keep_frames), "keep");
  assert_string_equal(str(p, p->doc_url), "https://example.org/doc");
  profile_free(p);
  profile_builder_free(b);
}

/* One profile with n stacks of depth 4 over a handful of functions. */
static profile_pb *small(int64_t scale, const char *type2) {
  profile_builder *b = profile_builder_new();
  profile_builder_add_sample_type(b, "alloc_objects", "count");
  profile_builder_add_sample_type(b, type2, "bytes");
  profile_builder_set_period(b, "space", "bytes", 512);
  profile_mapping_info mi = {0x1000, 0x9000, 0, "/bin/prog", "b1", true, true, true, true};
  uint64_t m = profile_builder_add_mapping(b, &mi);
  uint64_t fa = profile_builder_add_function(b, "a", NULL, "a.c", 1);
  uint64_t fb = profile_builder_add_function(b, "b", NULL, "b.c", 1);
  profile_line la = {fa, 3, 0}, lb = {fb, 4, 0};
  uint64_t loc[2] = {profile_builder_add_location(b, m, 0x1010, &lb, 1, false),
                     profile_builder_add_location(b, m, 0x1020, &la, 1, false)};
  int64_t v[2] = {1 * scale, 10 * scale};
  profile_label lab = {"bytes", NULL, 10, "bytes"};
  profile_builder_add_sample(b, loc, 2, v, 2, &lab, 1);
  profile_builder_add_sample(b, loc + 1, 1, v, 2, NULL, 0);
  profile_pb *p = NULL;
  assert_int_equal(profile_builder_build(b, &p), 0);
  profile_builder_free(b);
  return p;
}

static void test_add_profile(void **state) {
  (void)state;
  profile_pb *a = small(1, "alloc_space"), *c = small(3, "alloc_space");
  profile_pb *odd = small(1, "inuse_space");
  char err[256];
  profile_builder *b = profile_builder_new();
  assert_int_equal(profile_builder_add_profile(b, a, 1, err, sizeof err), 0);
  assert_int_equal(profile_builder_add_profile(b, c, 1, err, sizeof err), 0);
  assert_int_equal(profile_builder_add_profile(b, odd, 1, err, sizeof err), -1);
  assert_non_null(strstr(err, "inuse_space"));
  profile_pb *m = NULL;
  assert_int_equal(profile_builder_build(b, &m), 0);
  assert_int_equal(profile_validate(m, err, sizeof err), 0);
  assert_int_equal(m->n_sample, 2);
  assert_int_equal(m->n_location, 2);
  assert_int_equal(m->n_function, 2);
  assert_int_equal(m->n_mapping, 1);
  assert_int_equal(m->period, 512);
  assert_int_equal(m->sample[0]->value[1], 40);
  assert_int_equal(m->sample[1]->value[0], 4);
  assert_int_equal(m->sample[0]->n_label, 1);
  profile_free(m);
  profile_builder_free(b);

  /* a - a is all zeros: the base of a diff enters with multiplier -1. */
  b = profile_builder_new();
  assert_int_equal(profile_builder_add_profile(b, a, 1, err, sizeof err), 0);
  assert_int_equal(profile_builder_add_profile(b, a, -1, err, sizeof err), 0);
  assert_int_equal(profile_builder_build(b, &m), 0);
  for (size_t i = 0; i < m->n_sample; i++)
    for (size_t k = 0; k < m->sample[i]->n_value; k++) assert_int_equal(m->sample[i]->value[k], 0);
  profile_free(m);
  profile_builder_free(b);
  profile_free(a);
  profile_free(c);
  profile_free(odd);
}

/* A profile with the sample types of small() and comments, no samples. */
static profile_pb *commented(const char *c1, const char *c2) {
  profile_builder *b = profile_builder_new();
  profile_builder_add_sample_type(b, "alloc_objects", "count");
  profile_builder_add_sample_type(b, "alloc_space", "bytes");
  profile_builder_add_comment(b, c1);
  profile_builder_add_comment(b, c2);
  profile_pb *p = NULL;
  assert_int_equal(profile_builder_build(b, &p), 0);
  profile_builder_free(b);
  return p;
}

/* Merged comments are every input's, each once, in order (as pprof's
 * merge): a merge of two processes' profiles names both pids. */
static void test_add_profile_comments(void **state) {
  (void)state;
  profile_pb *p1 = commented("trigger=exit", "pid=1"), *p2 = commented("trigger=exit", "pid=2");
  char err[256];
  profile_builder *b = profile_builder_new();
  assert_int_equal(profile_builder_add_profile(b, p1, 1, err, sizeof err), 0);
  assert_int_equal(profile_builder_add_profile(b, p2, 1, err, sizeof err), 0);
  assert_int_equal(profile_builder_add_profile(b, p1, 1, err, sizeof err), 0);
  profile_pb *m = NULL;
  assert_int_equal(profile_builder_build(b, &m), 0);
  assert_int_equal(m->n_comment, 3);
  assert_string_equal(str(m, m->comment[0]), "trigger=exit");
  assert_string_equal(str(m, m->comment[1]), "pid=1");
  assert_string_equal(str(m, m->comment[2]), "pid=2");
  profile_free(m);
  profile_builder_free(b);
  profile_free(p1);
  profile_free(p2);
}

/* add_profile_labeled: the extra label goes on the samples without one of
 * its key, and keeps samples of different labels apart (merge puts each
 * input's sampling period on its samples this way). */
static void test_add_profile_labeled(void **state) {
  (void)state;
  profile_pb *a = small(1, "alloc_space");
  char err[256];
  profile_builder *b = profile_builder_new();
  profile_label one = {"sampling_period", NULL, 1, "bytes"};
  profile_label big = {"sampling_period", NULL, 524288, "bytes"};
  profile_label other = {"bytes", NULL, 99, "bytes"}; /* a's first sample has this key */
  assert_int_equal(profile_builder_add_profile_labeled(b, a, 1, &one, err, sizeof err), 0);
  assert_int_equal(profile_builder_add_profile_labeled(b, a, 1, &big, err, sizeof err), 0);
  assert_int_equal(profile_builder_add_profile_labeled(b, a, 1, &other, err, sizeof err), 0);
  profile_pb *m = NULL;
  assert_int_equal(profile_builder_build(b, &m), 0);
  assert_int_equal(profile_validate(m, err, sizeof err), 0);
  /* per input rate: 2 samples each (4); the third input's first sample
   * keeps its own "bytes" label (no duplicate key) and its second gets 99,
   * a new sample: 6 in all */
  assert_int_equal(m->n_sample, 6);
  size_t with_one = 0, with_big = 0, bytes_labels = 0;
  for (size_t i = 0; i < m->n_sample; i++) {
    const Perftools__Profiles__Sample *s = m->sample[i];
    size_t nbytes = 0;
    for (size_t j = 0; j < s->n_label; j++) {
      const char *key = str(m, s->label[j]->key);
      if (strcmp(key, "sampling_period") == 0) {
        with_one += s->label[j]->num == 1;
        with_big += s->label[j]->num == 524288;
        assert_string_equal(str(m, s->label[j]->num_unit), "bytes");
      }
      if (strcmp(key, "bytes") == 0) nbytes++;
    }
    assert_true(nbytes <= 1);
    bytes_labels += nbytes;
  }
  assert_int_equal(with_one, 2);
  assert_int_equal(with_big, 2);
  assert_int_equal(bytes_labels, 4); /* a's own on the 3 first samples, the extra on 1 */
  profile_free(m);
  profile_builder_free(b);
  profile_free(a);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void test_many_stacks(void **state) {
  (void)state;
  enum { STACKS = 100000, DEPTH = 12, FUNCS = 2000 };
  double t0 = now();
  profile_builder *b = heap_builder();
  char name[32];
  for (int i = 0; i < FUNCS; i++) {
    snprintf(name, sizeof name, "fn_%d", i);
    profile_line ln = {profile_builder_add_function(b, name, NULL, "gen.c", i), i, 0};
    assert_int_equal(profile_builder_add_location(b, 0, 0x1000 + (uint64_t)i * 16, &ln, 1, false),
                     (uint64_t)i + 1);
  }
  uint64_t x = 1;
  for (int s = 0; s < STACKS; s++) {
    uint64_t ids[DEPTH];
    for (int d = 0; d < DEPTH; d++) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      ids[d] = (x >> 33) % FUNCS + 1;
    }
    ids[0] = (uint64_t)(s % FUNCS) + 1; /* with the random rest: distinct */
    int64_t v[2] = {1, 64};
    assert_int_equal(profile_builder_add_sample(b, ids, DEPTH, v, 2, NULL, 0), 0);
  }
  uint8_t *pb = NULL;
  size_t len = 0;
  assert_int_equal(profile_builder_pack(b, &pb, &len), 0);
  double t1 = now();
  profile_pb *p = NULL;
  char err[256];
  assert_int_equal(profile_decode(pb, len, "many", &p, err, sizeof err), 0);
  double t2 = now();
  assert_int_equal(p->n_sample, STACKS);
  assert_int_equal(p->n_location, FUNCS);
  print_message("100000 stacks: build+pack %.3f s, unpack+validate %.3f s, %zu bytes\n", t1 - t0,
                t2 - t1, len);
  /* Generous: a few hundred ms normally, leaving room for sanitizers. */
  assert_true(t1 - t0 < 10.0);
  assert_true(t2 - t1 < 10.0);
  profile_free(p);
  free(pb);
  profile_builder_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_strings),
      cmocka_unit_test(test_dedup),
      cmocka_unit_test(test_samples),
      cmocka_unit_test(test_saturation),
      cmocka_unit_test(test_profile_fields),
      cmocka_unit_test(test_add_profile),
      cmocka_unit_test(test_add_profile_labeled),
      cmocka_unit_test(test_add_profile_comments),
      cmocka_unit_test(test_many_stacks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
