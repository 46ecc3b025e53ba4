/* test_cli_frames.c: allocprof's names for frames without a symbol
 * (cli/frames.h): object + file offset for unnamed, raw-address and already
 * object-named frames in a mapping; named frames and frames outside any
 * mapping left alone; objects identified by build ID across profiles, else by
 * file name; two builds under one file name told apart; naming twice changes
 * nothing; the profile stays valid; a frame one profile names (symbolized)
 * and another does not, at the same object and offset, made one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frames.h"
#include "profile_builder.h"
#include "profile_io.h"

#define MAIN_BUILD "aaaa0000aaaa0000aaaa0000aaaa0000aaaa0000"
#define LIB_BUILD "bbbb1111bbbb1111bbbb1111bbbb1111bbbb1111"
#define LIB2_BUILD "cccc2222cccc2222cccc2222cccc2222cccc2222"

/* A profile of one program: main (named, in /usr/bin/prog), and four frames
 * of a library at load address load (segment at load + 0x1000, file offset
 * 0x1000) that have no symbol, each in its own way:
 *   load + 0x1100   no line at all             -> LIB+0x1100
 *   load + 0x1200   a Function "0x<address>"   -> LIB+0x1200
 *   load + 0x1300   a Function with no name    -> LIB+0x1300
 *   load + 0x1400   a Function named "lib_entry" (a symbol: kept)
 * and one frame outside any mapping, at 0x99 (no line: kept). */
static profile_pb *program(uint64_t load, const char *lib_path, const char *lib_build) {
  profile_builder *b = profile_builder_new();
  profile_builder_add_sample_type(b, "inuse_space", "bytes");
  profile_mapping_info mm = {0x400000, 0x500000, 0,    "/usr/bin/prog", MAIN_BUILD, true,
                             false,    false,    false};
  profile_mapping_info lm = {load + 0x1000, load + 0x9000, 0x1000, lib_path, lib_build,
                             true,          false,         false,  false};
  uint64_t main_map = profile_builder_add_mapping(b, &mm);
  uint64_t lib_map = profile_builder_add_mapping(b, &lm);
  char raw[32];
  snprintf(raw, sizeof raw, "0x%llx", (unsigned long long)(load + 0x1200));
  uint64_t fmain = profile_builder_add_function(b, "main", "main", "m.c", 1);
  uint64_t fraw = profile_builder_add_function(b, raw, raw, NULL, 0);
  uint64_t fnone = profile_builder_add_function(b, NULL, NULL, NULL, 0);
  uint64_t fentry = profile_builder_add_function(b, "lib_entry", NULL, NULL, 0);
  profile_line lmain = {fmain, 3, 0}, lraw = {fraw, 0, 0}, lnone = {fnone, 0, 0},
               lentry = {fentry, 0, 0};
  uint64_t L[6] = {
      profile_builder_add_location(b, lib_map, load + 0x1100, NULL, 0, false),
      profile_builder_add_location(b, lib_map, load + 0x1200, &lraw, 1, false),
      profile_builder_add_location(b, lib_map, load + 0x1300, &lnone, 1, false),
      profile_builder_add_location(b, lib_map, load + 0x1400, &lentry, 1, false),
      profile_builder_add_location(b, 0, 0x99, NULL, 0, false),
      profile_builder_add_location(b, main_map, 0x401000, &lmain, 1, false),
  };
  int64_t v = 100;
  for (int i = 0; i < 5; i++) {
    uint64_t stack[2] = {L[i], L[5]};
    assert_int_equal(profile_builder_add_sample(b, stack, 2, &v, 1, NULL, 0), 0);
  }
  profile_pb *p = NULL;
  assert_int_equal(profile_builder_build(b, &p), 0);
  profile_builder_free(b);
  return p;
}

static const char *str(const profile_pb *p, int64_t i) {
  return i > 0 && (uint64_t)i < p->n_string_table ? p->string_table[i] : "";
}

/* The name of the (only) frame at address addr: its function's name, "" for
 * a location without lines. */
static const char *name_at(const profile_pb *p, uint64_t addr) {
  for (size_t i = 0; i < p->n_location; i++) {
    const Perftools__Profiles__Location *l = p->location[i];
    if (l->address != addr) continue;
    if (l->n_line == 0) return "";
    assert_int_equal(l->n_line, 1);
    for (size_t k = 0; k < p->n_function; k++)
      if (p->function[k]->id == l->line[0]->function_id) {
        const char *name = str(p, p->function[k]->name);
        /* an object+offset name is the system name too */
        if (strstr(name, "+0x")) assert_string_equal(name, str(p, p->function[k]->system_name));
        return name;
      }
    fail_msg("location %#llx: no function %llu", (unsigned long long)addr,
             (unsigned long long)l->line[0]->function_id);
  }
  fail_msg("no location at %#llx", (unsigned long long)addr);
  return NULL;
}

static void assert_valid(const profile_pb *p) {
  char err[256];
  if (profile_validate(p, err, sizeof err) != 0) fail_msg("invalid after naming: %s", err);
}

/* One profile: each kind of frame without a symbol named by object and
 * offset; symbols and frames outside mappings left alone. */
static void test_one_profile(void **state) {
  (void)state;
  const uint64_t load = 0x7f0000000000;
  profile_pb *p = program(load, "/usr/lib/libx.so.1", LIB_BUILD);
  assert_int_equal(cli_name_frames(&p, 1), 0);
  assert_valid(p);
  assert_string_equal(name_at(p, load + 0x1100), "libx.so.1+0x1100");
  assert_string_equal(name_at(p, load + 0x1200), "libx.so.1+0x1200");
  assert_string_equal(name_at(p, load + 0x1300), "libx.so.1+0x1300");
  assert_string_equal(name_at(p, load + 0x1400), "lib_entry");
  assert_string_equal(name_at(p, 0x99), "");
  assert_string_equal(name_at(p, 0x401000), "main");
  /* a second time: nothing moves (the names are recognised as its own) */
  assert_int_equal(cli_name_frames(&p, 1), 0);
  assert_valid(p);
  assert_string_equal(name_at(p, load + 0x1100), "libx.so.1+0x1100");
  assert_string_equal(name_at(p, load + 0x1200), "libx.so.1+0x1200");
  profile_free(p);
}

/* Two runs, the library at two addresses, under two file names but one
 * build ID: one object, named after the first profile's file. */
static void test_same_build_two_names(void **state) {
  (void)state;
  profile_pb *ps[2] = {program(0x7f1100000000, "/usr/lib/libx.so.1", LIB_BUILD),
                       program(0x7f2200000000, "/opt/libx-copy.so", LIB_BUILD)};
  assert_int_equal(cli_name_frames(ps, 2), 0);
  assert_valid(ps[0]);
  assert_valid(ps[1]);
  assert_string_equal(name_at(ps[0], 0x7f1100000000 + 0x1100), "libx.so.1+0x1100");
  assert_string_equal(name_at(ps[1], 0x7f2200000000 + 0x1100), "libx.so.1+0x1100");
  assert_string_equal(name_at(ps[1], 0x7f2200000000 + 0x1200), "libx.so.1+0x1200");
  profile_free(ps[0]);
  profile_free(ps[1]);
}

/* Two builds under one file name: their offsets mean different code, so
 * their frames get different names, carrying the build IDs' first digits,
 * also when one profile had them named already; the main program, one
 * build in both, keeps its plain name. */
static void test_two_builds_one_name(void **state) {
  (void)state;
  profile_pb *ps[2] = {program(0x7f1100000000, "/usr/lib/libx.so.1", LIB_BUILD),
                       program(0x7f2200000000, "/usr/lib/libx.so.1", LIB2_BUILD)};
  /* the first as liballoc writes it: "libx.so.1+0x1100" */
  assert_int_equal(cli_name_frames(&ps[0], 1), 0);
  assert_int_equal(cli_name_frames(ps, 2), 0);
  assert_string_equal(name_at(ps[0], 0x7f1100000000 + 0x1100), "libx.so.1@bbbb1111bbbb+0x1100");
  assert_string_equal(name_at(ps[1], 0x7f2200000000 + 0x1100), "libx.so.1@cccc2222cccc+0x1100");
  assert_string_equal(name_at(ps[1], 0x7f2200000000 + 0x1300), "libx.so.1@cccc2222cccc+0x1300");
  assert_string_equal(name_at(ps[0], 0x401000), "main");
  profile_free(ps[0]);
  profile_free(ps[1]);
}

/* Without build IDs the file name is the object; a profile named by
 * liballoc ("libx.so.1+0x1100" already) meets an old one with raw
 * addresses. */
static void test_no_build_id(void **state) {
  (void)state;
  profile_pb *ps[2] = {program(0x7f1100000000, "/usr/lib/libx.so.1", ""),
                       program(0x7f2200000000, "/other/dir/libx.so.1", "")};
  assert_int_equal(cli_name_frames(&ps[0], 1), 0); /* as liballoc would have */
  assert_string_equal(name_at(ps[0], 0x7f1100000000 + 0x1100), "libx.so.1+0x1100");
  assert_int_equal(cli_name_frames(ps, 2), 0);
  assert_string_equal(name_at(ps[0], 0x7f1100000000 + 0x1100), "libx.so.1+0x1100");
  assert_string_equal(name_at(ps[1], 0x7f2200000000 + 0x1100), "libx.so.1+0x1100");
  assert_string_equal(name_at(ps[1], 0x7f2200000000 + 0x1200), "libx.so.1+0x1200");
  assert_valid(ps[1]);
  profile_free(ps[0]);
  profile_free(ps[1]);
}

/* A mapping with a build ID but no file name: named by the build ID. */
static void test_no_file_name(void **state) {
  (void)state;
  profile_pb *p = program(0x7f3300000000, "", LIB_BUILD);
  assert_int_equal(cli_name_frames(&p, 1), 0);
  assert_string_equal(name_at(p, 0x7f3300000000 + 0x1100), "bbbb1111bbbb+0x1100");
  profile_free(p);
}

/* The library's frame at 0x1100 as `allocprof symbolize` leaves it: an
 * inlined call (inner, lib.c:13) in outer (lib.c:21). */
static profile_pb *symbolized(uint64_t load, const char *lib_build) {
  profile_builder *b = profile_builder_new();
  profile_builder_add_sample_type(b, "inuse_space", "bytes");
  profile_mapping_info lm = {load + 0x1000, load + 0x9000, 0x1000, "/usr/lib/libx.so.1",
                             lib_build,     true,          true,   true,
                             true};
  uint64_t lib_map = profile_builder_add_mapping(b, &lm);
  uint64_t finner = profile_builder_add_function(b, "inner", "inner", "lib.c", 12);
  uint64_t fouter = profile_builder_add_function(b, "outer", "outer", "lib.c", 20);
  profile_line lines[2] = {{finner, 13, 0}, {fouter, 21, 0}};
  uint64_t l = profile_builder_add_location(b, lib_map, load + 0x1100, lines, 2, false);
  int64_t v = 100;
  assert_int_equal(profile_builder_add_sample(b, &l, 1, &v, 1, NULL, 0), 0);
  profile_pb *p = NULL;
  assert_int_equal(profile_builder_build(b, &p), 0);
  profile_builder_free(b);
  return p;
}

/* "name file:line" of line j of the location at addr. */
static const char *line_at(const profile_pb *p, uint64_t addr, size_t j, char *buf, size_t len) {
  for (size_t i = 0; i < p->n_location; i++) {
    const Perftools__Profiles__Location *l = p->location[i];
    if (l->address != addr) continue;
    if (j >= l->n_line) return "";
    for (size_t k = 0; k < p->n_function; k++)
      if (p->function[k]->id == l->line[j]->function_id) {
        snprintf(buf, len, "%s %s:%lld", str(p, p->function[k]->name),
                 str(p, p->function[k]->filename), (long long)l->line[j]->line);
        return buf;
      }
  }
  return "";
}

/* A symbolized profile and an unsymbolized one of the same build: the
 * unnamed frame at the same object and offset takes the named one's lines,
 * inlined call included; of another build it keeps its object+offset name. */
static void test_match_symbolized(void **state) {
  (void)state;
  const uint64_t l1 = 0x7f0000000000, l2 = 0x7f5500000000;
  char buf[128];
  profile_pb *ps[2] = {program(l1, "/usr/lib/libx.so.1", LIB_BUILD), symbolized(l2, LIB_BUILD)};
  assert_int_equal(cli_name_frames(ps, 2), 0);
  assert_valid(ps[0]);
  assert_string_equal(line_at(ps[0], l1 + 0x1100, 0, buf, sizeof buf), "inner lib.c:13");
  assert_string_equal(line_at(ps[0], l1 + 0x1100, 1, buf, sizeof buf), "outer lib.c:21");
  assert_string_equal(name_at(ps[0], l1 + 0x1200), "libx.so.1+0x1200"); /* no match */
  assert_string_equal(name_at(ps[0], l1 + 0x1400), "lib_entry");
  profile_free(ps[0]);
  profile_free(ps[1]);
  /* another build */
  profile_pb *qs[2] = {program(l1, "/usr/lib/libx.so.1", LIB_BUILD), symbolized(l2, LIB2_BUILD)};
  assert_int_equal(cli_name_frames(qs, 2), 0);
  assert_valid(qs[0]);
  assert_string_equal(name_at(qs[0], l1 + 0x1100), "libx.so.1@bbbb1111bbbb+0x1100");
  profile_free(qs[0]);
  profile_free(qs[1]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_one_profile),         cmocka_unit_test(test_same_build_two_names),
      cmocka_unit_test(test_two_builds_one_name), cmocka_unit_test(test_no_build_id),
      cmocka_unit_test(test_no_file_name),        cmocka_unit_test(test_match_symbolized),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
