/* test_formats_index.c: the id index of decoded profiles
 * (formats/profile_index.h): every id found at its position, missing ids
 * and id 0 not found, zero and repeated ids refused by validation with its
 * messages, the index a read profile carries (and the builder's), appended
 * functions, and 300,000 location ids chosen to share one probe chain of an
 * unseeded table (correctness only: the seed keeps it fast, the cli case
 * hash_flood guards the time). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "profile_builder.h"
#include "profile_index.h"
#include "profile_io.h"
#include "../hash_unmix.h"

/* ---- a profile with chosen ids, assembled with protobuf-c ---- */

typedef struct made {
  Perftools__Profiles__Profile P;
  Perftools__Profiles__ValueType vt, *vtp;
  Perftools__Profiles__Mapping *maps, **mapp;
  Perftools__Profiles__Function *fns, **fnp;
  Perftools__Profiles__Location *locs, **locp;
  Perftools__Profiles__Line *lines, **linep;
  Perftools__Profiles__Sample smp, *smpp;
  uint64_t sample_locs[2];
  int64_t value;
  char *strings[4];
} made;

/* nm mappings, nf functions, nl locations with the ids the callbacks give
 * (position -> id); location i is in mapping i % nm (none when nm is 0) and
 * calls function i % nf; one sample through the first two locations. */
static made *make(size_t nm, size_t nf, size_t nl, uint64_t (*map_id)(size_t),
                  uint64_t (*fn_id)(size_t), uint64_t (*loc_id)(size_t)) {
  made *m = calloc(1, sizeof *m);
  assert_non_null(m);
  perftools__profiles__profile__init(&m->P);
  perftools__profiles__value_type__init(&m->vt);
  m->strings[0] = "", m->strings[1] = "inuse_space", m->strings[2] = "bytes", m->strings[3] = "f";
  m->vt.type = 1, m->vt.unit = 2;
  m->vtp = &m->vt;
  m->maps = calloc(nm + 1, sizeof *m->maps), m->mapp = calloc(nm + 1, sizeof *m->mapp);
  m->fns = calloc(nf + 1, sizeof *m->fns), m->fnp = calloc(nf + 1, sizeof *m->fnp);
  m->locs = calloc(nl + 1, sizeof *m->locs), m->locp = calloc(nl + 1, sizeof *m->locp);
  m->lines = calloc(nl + 1, sizeof *m->lines), m->linep = calloc(nl + 1, sizeof *m->linep);
  assert_true(m->maps && m->mapp && m->fns && m->fnp && m->locs && m->locp && m->lines && m->linep);
  for (size_t i = 0; i < nm; i++) {
    perftools__profiles__mapping__init(&m->maps[i]);
    m->maps[i].id = map_id(i);
    m->maps[i].memory_start = 0x1000 * (i + 1);
    m->maps[i].memory_limit = 0x1000 * (i + 2);
    m->mapp[i] = &m->maps[i];
  }
  for (size_t i = 0; i < nf; i++) {
    perftools__profiles__function__init(&m->fns[i]);
    m->fns[i].id = fn_id(i);
    m->fns[i].name = 3;
    m->fnp[i] = &m->fns[i];
  }
  for (size_t i = 0; i < nl; i++) {
    perftools__profiles__line__init(&m->lines[i]);
    m->lines[i].function_id = nf ? fn_id(i % nf) : 0;
    m->linep[i] = &m->lines[i];
    perftools__profiles__location__init(&m->locs[i]);
    m->locs[i].id = loc_id(i);
    m->locs[i].mapping_id = nm ? map_id(i % nm) : 0;
    m->locs[i].address = 0x1000 * (i % (nm ? nm : 1) + 1) + 16;
    m->locs[i].n_line = nf ? 1 : 0;
    m->locs[i].line = &m->linep[i];
    m->locp[i] = &m->locs[i];
  }
  perftools__profiles__sample__init(&m->smp);
  m->sample_locs[0] = nl ? loc_id(0) : 0;
  m->sample_locs[1] = nl > 1 ? loc_id(1) : m->sample_locs[0];
  m->value = 64;
  m->smp.n_location_id = nl ? 2 : 0, m->smp.location_id = m->sample_locs;
  m->smp.n_value = 1, m->smp.value = &m->value;
  m->smpp = &m->smp;
  m->P.n_sample_type = 1, m->P.sample_type = &m->vtp;
  m->P.n_sample = 1, m->P.sample = &m->smpp;
  m->P.n_mapping = nm, m->P.mapping = m->mapp;
  m->P.n_function = nf, m->P.function = m->fnp;
  m->P.n_location = nl, m->P.location = m->locp;
  m->P.n_string_table = 4, m->P.string_table = m->strings;
  return m;
}

static void made_free(made *m) {
  free(m->maps), free(m->mapp), free(m->fns), free(m->fnp);
  free(m->locs), free(m->locp), free(m->lines), free(m->linep);
  free(m);
}

/* m serialized, then read back as a file would be (validated, indexed). */
static profile_pb *decode(const made *m, char *err, size_t errlen) {
  uint8_t *pb = NULL;
  size_t len = 0;
  assert_int_equal(profile_pack(&m->P, &pb, &len, err, errlen), 0);
  profile_pb *p = NULL;
  int rc = profile_decode(pb, len, "x.pb", &p, err, errlen);
  free(pb);
  return rc == 0 ? p : NULL;
}

/* Ids scattered over the whole 64-bit range, none 0. */
static uint64_t spread(size_t i) { return (uint64_t)(i + 1) * 0x9e3779b97f4a7c15ULL | 1; }
static uint64_t small(size_t i) { return i + 1; }
static uint64_t backwards(size_t i) { return UINT64_MAX - i; }

/* Every id of p at its own position, through ix. */
static void assert_all_found(const profile_index *ix, const profile_pb *p) {
  for (size_t i = 0; i < p->n_mapping; i++)
    assert_int_equal(profile_index_mapping(ix, p->mapping[i]->id), (long)i);
  for (size_t i = 0; i < p->n_location; i++)
    assert_int_equal(profile_index_location(ix, p->location[i]->id), (long)i);
  for (size_t i = 0; i < p->n_function; i++)
    assert_int_equal(profile_index_function(ix, p->function[i]->id), (long)i);
}

/* ---- lookups ---- */

static void test_every_id(void **state) {
  (void)state;
  char err[256];
  made *m = make(5, 300, 1000, small, backwards, spread);
  profile_pb *p = decode(m, err, sizeof err);
  assert_non_null(p);
  /* a profile read carries the index the validator built */
  const profile_index *ix = profile_index_of(p);
  assert_non_null(ix);
  assert_all_found(ix, p);
  /* one built alone gives the same answers */
  profile_index *own = profile_index_build(p, err, sizeof err);
  assert_non_null(own);
  assert_all_found(own, p);
  profile_index_free(own);
  /* a profile assembled by hand has none until built */
  assert_null(profile_index_of(&m->P));
  own = profile_index_build(&m->P, err, sizeof err);
  assert_non_null(own);
  assert_all_found(own, &m->P);
  profile_index_free(own);
  profile_free(p);
  made_free(m);
}

static void test_missing_and_zero(void **state) {
  (void)state;
  char err[256];
  made *m = make(3, 3, 3, small, small, small);
  profile_pb *p = decode(m, err, sizeof err);
  assert_non_null(p);
  const profile_index *ix = profile_index_of(p);
  assert_non_null(ix);
  uint64_t absent[] = {0, 4, 5, 1000, UINT64_MAX, spread(0)};
  for (size_t k = 0; k < sizeof absent / sizeof *absent; k++) {
    assert_int_equal(profile_index_mapping(ix, absent[k]), -1);
    assert_int_equal(profile_index_location(ix, absent[k]), -1);
    assert_int_equal(profile_index_function(ix, absent[k]), -1);
  }
  profile_free(p);
  made_free(m);

  /* a profile without mappings, locations or functions */
  m = make(0, 0, 0, small, small, small);
  p = decode(m, err, sizeof err);
  assert_non_null(p);
  ix = profile_index_of(p);
  assert_non_null(ix);
  for (uint64_t id = 0; id < 4; id++) {
    assert_int_equal(profile_index_mapping(ix, id), -1);
    assert_int_equal(profile_index_location(ix, id), -1);
    assert_int_equal(profile_index_function(ix, id), -1);
  }
  profile_free(p);
  made_free(m);
}

/* ---- validation: id 0 and repeated ids ---- */

static void expect_refused(made *m, const char *want) {
  char err[256];
  assert_int_equal(profile_validate(&m->P, err, sizeof err), -1);
  assert_string_equal(err, want);
  assert_null(profile_index_build(&m->P, err, sizeof err));
  assert_string_equal(err, want);
  char want_file[300];
  snprintf(want_file, sizeof want_file, "x.pb: %s", want);
  assert_null(decode(m, err, sizeof err));
  assert_string_equal(err, want_file);
}

static void test_duplicates_refused(void **state) {
  (void)state;
  made *m = make(4, 4, 4, small, small, small);
  m->locs[3].id = m->locs[1].id;
  expect_refused(m, "invalid profile: duplicate location id 2");
  m->locs[3].id = 4;
  m->fns[2].id = m->fns[0].id; /* lines still name existing ids */
  expect_refused(m, "invalid profile: duplicate function id 1");
  m->fns[2].id = 3;
  m->maps[1].id = m->maps[3].id;
  expect_refused(m, "invalid profile: duplicate mapping id 4");
  m->maps[1].id = 2;
  /* mappings are checked first, then locations, then functions */
  m->fns[3].id = 1;
  m->locs[2].id = 1;
  expect_refused(m, "invalid profile: duplicate location id 1");
  made_free(m);
}

static void test_zero_refused(void **state) {
  (void)state;
  made *m = make(2, 2, 2, small, small, small);
  m->maps[1].id = 0;
  expect_refused(m, "invalid profile: mapping 1 has id 0");
  m->maps[1].id = 2;
  m->locs[0].id = 0;
  expect_refused(m, "invalid profile: location 0 has id 0");
  m->locs[0].id = 1;
  m->fns[1].id = 0;
  expect_refused(m, "invalid profile: function 1 has id 0");
  made_free(m);
}

/* ---- the index a profile keeps ---- */

static void test_builder_and_use(void **state) {
  (void)state;
  char err[256];
  profile_builder *b = profile_builder_new();
  profile_builder_add_sample_type(b, "inuse_space", "bytes");
  uint64_t f = profile_builder_add_function(b, "main", NULL, "m.c", 1);
  profile_line line = {f, 3, 0};
  uint64_t l = profile_builder_add_location(b, 0, 0x10, &line, 1, false);
  int64_t v = 1;
  assert_int_equal(profile_builder_add_sample(b, &l, 1, &v, 1, NULL, 0), 0);
  profile_pb *p = NULL;
  assert_int_equal(profile_builder_build(b, &p), 0);
  profile_builder_free(b);
  const profile_index *ix = profile_index_of(p);
  assert_non_null(ix);
  assert_all_found(ix, p);
  /* use: the profile's own one, nothing built */
  profile_index *own = (profile_index *)1;
  assert_ptr_equal(profile_index_use(p, &own, err, sizeof err), ix);
  assert_null(own);
  profile_free(p);

  /* use: a profile without one gets one of the caller's */
  made *m = make(1, 2, 3, spread, spread, spread);
  const profile_index *got = profile_index_use(&m->P, &own, err, sizeof err);
  assert_non_null(got);
  assert_ptr_equal(got, own);
  assert_all_found(got, &m->P);
  profile_index_free(own);
  m->fns[1].id = m->fns[0].id;
  assert_null(profile_index_use(&m->P, &own, err, sizeof err));
  assert_null(own);
  assert_string_equal(err, "invalid profile: duplicate function id 11400714819323198485");
  made_free(m);
}

static void test_add_function(void **state) {
  (void)state;
  char err[256];
  made *m = make(1, 3, 3, small, small, small);
  profile_pb *p = decode(m, err, sizeof err);
  assert_non_null(p);
  profile_index *ix = profile_index_of_mut(p);
  assert_non_null(ix);
  /* appended as cli/frames.c does: the array grown, the entry last */
  Perftools__Profiles__Function **fv = realloc(p->function, 5 * sizeof *fv);
  assert_non_null(fv);
  p->function = fv;
  Perftools__Profiles__Function *nf = malloc(sizeof *nf);
  assert_non_null(nf);
  perftools__profiles__function__init(nf);
  nf->id = 77;
  p->function[p->n_function++] = nf;
  assert_int_equal(profile_index_function(ix, 77), -1); /* not yet recorded */
  assert_int_equal(profile_index_add_function(ix, 3, err, sizeof err), 0);
  assert_int_equal(profile_index_function(ix, 77), 3);
  assert_all_found(ix, p);
  /* not the next position, or an id there already: refused */
  assert_int_equal(profile_index_add_function(ix, 3, err, sizeof err), -1);
  Perftools__Profiles__Function *dup = malloc(sizeof *dup);
  assert_non_null(dup);
  perftools__profiles__function__init(dup);
  dup->id = 2;
  p->function[p->n_function++] = dup;
  assert_int_equal(profile_index_add_function(ix, 4, err, sizeof err), -1);
  assert_string_equal(err, "invalid profile: duplicate function id 2");
  assert_int_equal(profile_index_function(ix, 2), 1);
  profile_free(p); /* frees both functions and the index */
  made_free(m);
}

/* Many profiles alive and freed in turns (two thirds each round, so the
 * table beside them is compacted): each keeps its own index. */
static void test_many_profiles(void **state) {
  (void)state;
  char err[256];
  enum { N = 300 };
  profile_pb *ps[N] = {0};
  made *m = make(1, 1, 2, small, small, small);
  for (int round = 0; round < 6; round++) {
    for (int i = 0; i < N; i++) {
      if (ps[i]) continue;
      m->locs[1].id = 2 + (uint64_t)i; /* a mark of its own */
      m->sample_locs[1] = m->locs[1].id;
      assert_non_null(ps[i] = decode(m, err, sizeof err));
    }
    for (int i = 0; i < N; i++) {
      const profile_index *ix = profile_index_of(ps[i]);
      assert_non_null(ix);
      assert_int_equal(profile_index_location(ix, 2 + (uint64_t)i), 1);
      assert_int_equal(profile_index_location(ix, 2 + (uint64_t)((i + 1) % N)), -1); /* not its */
    }
    for (int i = 0; i < N; i++)
      if (i % 3 != round % 3) profile_free(ps[i]), ps[i] = NULL;
  }
  for (int i = 0; i < N; i++) profile_free(ps[i]);
  made_free(m);
}

/* ---- hash flooding ---- */

/* Ids whose unseeded hashes all have their low 24 bits 0: one probe chain
 * in a table of up to 16 million slots without the seed. */
static uint64_t colliding(size_t i) { return unmix((uint64_t)(i + 1) << 24); }

static void test_adversarial_ids(void **state) {
  (void)state;
  char err[256];
  enum { N = 300000 };
  assert_int_equal(colliding(5) != colliding(6), 1);
  made *m = make(1, 1, N, small, small, colliding);
  profile_pb *p = decode(m, err, sizeof err);
  if (!p) fail_msg("%s", err);
  const profile_index *ix = profile_index_of(p);
  assert_non_null(ix);
  assert_all_found(ix, p);
  for (size_t i = N; i < N + 1000; i++) /* the same chain, not there */
    assert_int_equal(profile_index_location(ix, colliding(i)), -1);
  profile_free(p);
  made_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_id),           cmocka_unit_test(test_missing_and_zero),
      cmocka_unit_test(test_duplicates_refused), cmocka_unit_test(test_zero_refused),
      cmocka_unit_test(test_builder_and_use),    cmocka_unit_test(test_add_function),
      cmocka_unit_test(test_many_profiles),      cmocka_unit_test(test_adversarial_ids),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
