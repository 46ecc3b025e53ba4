/* test_formats_gopprof.c: compatibility with `go tool pprof`: a heap profile
 * made with the builder, written as .pb.gz and .pb, must parse with exit
 * status 0 and nothing on stderr, and show our names and values. Skipped
 * when no `go` is on PATH (or in $ALLOCPROF_GO). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fileio.h"
#include "profile_builder.h"
#include "profile_io.h"

#define TMPDIR_FIXTURE_NAME "test_formats_gopprof"
#include "tmpdir_fixture.h"

static char go[512];

static int find_go(void) {
  const char *env = getenv("ALLOCPROF_GO");
  if (env && *env) {
    snprintf(go, sizeof go, "%s", env);
    return access(go, X_OK) == 0;
  }
  const char *path = getenv("PATH");
  if (!path) return 0;
  char *copy = strdup(path), *save = NULL;
  int found = 0;
  for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
    snprintf(go, sizeof go, "%s/go", *d ? d : ".");
    found = access(go, X_OK) == 0;
  }
  free(copy);
  return found;
}

/* A heap profile as libprof writes it: four sample types, the period,
 * a mapping with a build id, functions with files and lines, an inlined
 * frame, numeric labels with units. */
static profile_builder *heap_profile(void) {
  profile_builder *b = profile_builder_new();
  profile_builder_add_sample_type(b, "alloc_objects", "count");
  profile_builder_add_sample_type(b, "alloc_space", "bytes");
  profile_builder_add_sample_type(b, "inuse_objects", "count");
  profile_builder_add_sample_type(b, "inuse_space", "bytes");
  profile_builder_set_default_sample_type(b, "inuse_space");
  profile_builder_set_period(b, "space", "bytes", 524288);
  profile_builder_set_time(b, 1700000000000000000LL, 2000000000LL);
  profile_builder_add_comment(b, "allocprof formats test");
  profile_mapping_info exe = {
      0x555555554000, 0x555555600000, 0,   "/usr/bin/allocprof-test", "0123456789abcdef", true,
      true,           true,           true};
  profile_mapping_info libc = {0x7ffff7c00000,
                               0x7ffff7e00000,
                               0x28000,
                               "/usr/lib/x86_64-linux-gnu/libc.so.6",
                               "fedcba9876543210",
                               true,
                               true,
                               true,
                               true};
  uint64_t me = profile_builder_add_mapping(b, &exe), ml = profile_builder_add_mapping(b, &libc);
  uint64_t fmain = profile_builder_add_function(b, "main", "main", "/src/main.c", 10);
  uint64_t fload =
      profile_builder_add_function(b, "load_config", "load_config", "/src/config.c", 40);
  uint64_t fparse =
      profile_builder_add_function(b, "parse_line", "parse_line", "/src/config.c", 90);
  uint64_t fstart =
      profile_builder_add_function(b, "__libc_start_main", "__libc_start_main", "", 0);
  profile_line lm = {fmain, 17, 5}, ls = {fstart, 0, 0};
  profile_line lp[2] = {{fparse, 95, 9}, {fload, 52, 3}}; /* parse_line inlined in load_config */
  uint64_t Lstart = profile_builder_add_location(b, ml, 0x7ffff7c29d90, &ls, 1, false);
  uint64_t Lmain = profile_builder_add_location(b, me, 0x555555555189, &lm, 1, false);
  uint64_t Lload = profile_builder_add_location(b, me, 0x5555555552a0, lp, 2, false);
  uint64_t s1[] = {Lload, Lmain, Lstart}, s2[] = {Lmain, Lstart};
  int64_t v1[] = {12, 12 * 4096, 3, 3 * 4096}, v2[] = {1, 1 << 20, 1, 1 << 20};
  profile_label l1 = {"bytes", NULL, 4096, "bytes"}, l2 = {"bytes", NULL, 1 << 20, "bytes"};
  profile_builder_add_sample(b, s1, 3, v1, 4, &l1, 1);
  profile_builder_add_sample(b, s2, 2, v2, 4, &l2, 1);
  assert_true(profile_builder_ok(b));
  return b;
}

/* Runs `go tool pprof <args> <file>`; returns its exit status, with stdout
 * and stderr in malloc'd strings. */
static int run_pprof(const char *args, const char *file, char **out, char **errtext) {
  char cmd[2048], outp[512], errp[512];
  snprintf(outp, sizeof outp, "%s/stdout.txt", dir);
  snprintf(errp, sizeof errp, "%s/stderr.txt", dir);
  snprintf(cmd, sizeof cmd, "'%s' tool pprof %s '%s' >'%s' 2>'%s' </dev/null", go, args, file, outp,
           errp);
  int st = system(cmd);
  uint8_t *o = NULL, *e = NULL;
  size_t olen, elen;
  char msg[512];
  assert_int_equal(fileio_read_all(outp, 1 << 24, &o, &olen, msg, sizeof msg), 0);
  assert_int_equal(fileio_read_all(errp, 1 << 24, &e, &elen, msg, sizeof msg), 0);
  *out = (char *)o;
  *errtext = (char *)e;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void expect_clean(const char *args, const char *file, const char **want) {
  char *out = NULL, *errtext = NULL;
  int rc = run_pprof(args, file, &out, &errtext);
  if (rc != 0 || errtext[0] != 0)
    fail_msg("go tool pprof %s %s: exit %d, stderr: %s", args, file, rc, errtext);
  for (; *want; want++)
    if (!strstr(out, *want)) fail_msg("go tool pprof %s: no \"%s\" in:\n%s", args, *want, out);
  free(out);
  free(errtext);
}

static void test_go_pprof_reads_our_profiles(void **state) {
  (void)state;
  if (!find_go()) {
    print_message("no go on PATH: skipped\n");
    skip();
  }
  char err[512], gz[512], raw[512], merged[512];
  snprintf(gz, sizeof gz, "%s/heap.pb.gz", dir);
  snprintf(raw, sizeof raw, "%s/heap.pb", dir);
  snprintf(merged, sizeof merged, "%s/merged.pb.gz", dir);
  profile_builder *b = heap_profile();
  assert_int_equal(profile_builder_write_file(b, gz, err, sizeof err), 0);

  /* The same profile read back, written raw, and merged with itself. */
  profile_pb *p = NULL;
  assert_int_equal(profile_read_file(gz, &p, err, sizeof err), 0);
  assert_int_equal(profile_write_file(raw, p, err, sizeof err), 0);
  profile_builder *m = profile_builder_new();
  assert_int_equal(profile_builder_add_profile(m, p, 1, err, sizeof err), 0);
  assert_int_equal(profile_builder_add_profile(m, p, 1, err, sizeof err), 0);
  assert_int_equal(profile_builder_write_file(m, merged, err, sizeof err), 0);
  profile_free(p);

  const char *raw_want[] = {
      "alloc_objects/count alloc_space/bytes inuse_objects/count "
      "inuse_space/bytes",
      "PeriodType: space bytes",
      "Period: 524288",
      "parse_line /src/config.c:95",
      "load_config /src/config.c:52",
      "bytes:[4096 bytes]",
      "/usr/bin/allocprof-test 0123456789abcdef",
      "allocprof formats test",
      NULL};
  expect_clean("-raw", gz, raw_want);
  expect_clean("-raw", raw, raw_want);
  const char *top_want[] = {"Type: inuse_space", "main", "load_config", "parse_line", NULL};
  expect_clean("-top", gz, top_want);
  const char *alloc_want[] = {"Type: alloc_space", "Total samples = 1072kB", NULL};
  expect_clean("-top -sample_index=alloc_space", gz, alloc_want);
  /* Merged with itself: every value doubled, the same three locations. */
  const char *merged_want[] = {" 24 ", " 98304 ", " 24576: 1 2 3", " 2097152: 2 3", NULL};
  expect_clean("-raw", merged, merged_want);
  profile_builder_free(b);
  profile_builder_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_go_pprof_reads_our_profiles),
  };
  return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
