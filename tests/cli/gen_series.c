/* gen_series.c: the inputs of cli case series_reuse (part of
 * cli_gen_profiles): a stream whose snapshots repeat their tables, or
 * change them in ways that keep their size, for the reader's reuse of the
 * previous snapshot's tables (cli/series.c); and the same snapshots as
 * single profiles, which the reader decodes whole, as the oracle.
 *
 * rs.zst: 8 snapshots of process 6060 at rate 1, one a second (seq 0..7),
 * and rs.0.pb.gz .. rs.7.pb.gz. The comments (pid, seq, a note that
 * changes every time) are interned first, as liballoc does, so the
 * tables' string indices stay put. Stacks, leaf first: X <- run <- main,
 * beta <- main, and [an address of the program] <- main.
 *
 *   snapshot  X is    tables                              values
 *   0         alpha   first                               X 1000, beta 2000, addr 300
 *   1         alpha   the same                            X 1500
 *   2         gamma   the same bytes, X's name another string of the same length
 *   3         gamma   the same                            X 2500, beta 2500
 *   4         beta    the same size: X's location names the function beta,
 *                     beta's location the function gamma
 *   5         beta    the same                            beta 100
 *   6         beta    the same bytes, the program's path another of its length:
 *                     the address's frame takes the new name
 *   7         beta    the same                            addr 700
 *
 * rs_badid.zst: snapshot 0, then snapshot 1 with its tables but a sample
 * naming location 99, which does not exist. rs_badvalues.zst: the same with
 * a sample of three values for four sample types. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile_builder.h"
#include "profile_io.h"
#include "stream.h"

void gen_series(const char *dir);

static const char *series_dir;

static const char *at(const char *name) {
  static char buf[4096];
  snprintf(buf, sizeof buf, "%s/%s", series_dir, name);
  return buf;
}

static void fail(const char *what, const char *err) {
  fprintf(stderr, "gen_series: %s: %s\n", what, err);
  exit(1);
}

/* Snapshot i of rs.zst (the table above), packed. */
static profile_builder *snapshot(int i) {
  static const int64_t x[] = {1000, 1500, 1500, 2500, 2500, 2500, 2500, 2500};
  static const int64_t beta[] = {2000, 2000, 2000, 2500, 2500, 100, 100, 100};
  static const int64_t addr[] = {300, 300, 300, 300, 300, 300, 300, 700};
  profile_builder *b = profile_builder_new();
  char c[64];
  snprintf(c, sizeof c, "pid=%d", 6060);
  profile_builder_add_comment(b, c);
  snprintf(c, sizeof c, "seq=%d", i);
  profile_builder_add_comment(b, c);
  snprintf(c, sizeof c, "note=%c", 'a' + i);
  profile_builder_add_comment(b, c);
  profile_builder_add_sample_type(b, "inuse_objects", "count");
  profile_builder_add_sample_type(b, "inuse_space", "bytes");
  profile_builder_add_sample_type(b, "alloc_objects", "count");
  profile_builder_add_sample_type(b, "alloc_space", "bytes");
  profile_builder_set_default_sample_type(b, "inuse_space");
  profile_builder_set_period(b, "space", "bytes", 1);
  profile_builder_set_time(b, (1700000000LL + i) * 1000000000LL, 0);
  profile_mapping_info m = {0x400000, 0x500000, 0,     i < 6 ? "/usr/bin/reuse" : "/usr/bin/reusf",
                            "",       false,    false, false,
                            false};
  uint64_t map = profile_builder_add_mapping(b, &m);
  /* functions: main, run, then the two that trade places at snapshot 4 */
  const char *x_name = i < 2 ? "alpha" : "gamma";
  uint64_t fmain = profile_builder_add_function(b, "main", "main", "main.c", 1);
  uint64_t frun = profile_builder_add_function(b, "run", "run", "main.c", 10);
  uint64_t fx = profile_builder_add_function(b, x_name, x_name, "x.c", 20);
  uint64_t fbeta = profile_builder_add_function(b, "beta", "beta", "x.c", 30);
  uint64_t lf[4] = {fmain, frun, i < 4 ? fx : fbeta, i < 4 ? fbeta : fx};
  uint64_t loc[5];
  for (int k = 0; k < 4; k++) {
    profile_line line = {lf[k], 40 + k, 0};
    loc[k] = profile_builder_add_location(b, map, 0x401000 + 0x10 * (uint64_t)k, &line, 1, false);
  }
  loc[4] = profile_builder_add_location(b, map, 0x402345, NULL, 0, false); /* no symbol */
  const uint64_t sx[] = {loc[2], loc[1], loc[0]}, sb[] = {loc[3], loc[0]}, sa[] = {loc[4], loc[0]};
  int64_t v[4];
  v[0] = v[2] = x[i] / 100, v[1] = v[3] = x[i];
  profile_builder_add_sample(b, sx, 3, v, 4, NULL, 0);
  v[0] = v[2] = beta[i] / 100, v[1] = v[3] = beta[i];
  profile_builder_add_sample(b, sb, 2, v, 4, NULL, 0);
  v[0] = v[2] = 1, v[1] = v[3] = addr[i];
  profile_builder_add_sample(b, sa, 2, v, 4, NULL, 0);
  if (!profile_builder_ok(b)) fail("builder", "failed");
  return b;
}

static void append(const char *name, const uint8_t *pb, size_t len) {
  char err[512];
  if (stream_append(at(name), pb, len, err, sizeof err) != 0) fail(name, err);
}

/* Snapshot 1 packed again with its first sample changed by edit. */
static void append_edited(const char *name, void (*edit)(Perftools__Profiles__Profile *p)) {
  char err[512];
  profile_builder *b = snapshot(1);
  Perftools__Profiles__Profile *p = NULL;
  uint8_t *pb;
  size_t len;
  if (profile_builder_build(b, &p) != 0) fail("build", "failed");
  edit(p);
  if (profile_pack(p, &pb, &len, err, sizeof err) != 0) fail("pack", err);
  append(name, pb, len);
  free(pb);
  profile_free(p);
  profile_builder_free(b);
}

static void bad_id(Perftools__Profiles__Profile *p) { p->sample[0]->location_id[0] = 99; }
static void bad_values(Perftools__Profiles__Profile *p) { p->sample[0]->n_value = 3; }

void gen_series(const char *dir) {
  char err[512];
  series_dir = dir;
  const char *streams[] = {"rs.zst", "rs_badid.zst", "rs_badvalues.zst"};
  for (size_t k = 0; k < 3; k++) remove(at(streams[k]));
  for (int i = 0; i < 8; i++) {
    profile_builder *b = snapshot(i);
    uint8_t *pb;
    size_t len;
    if (profile_builder_pack(b, &pb, &len) != 0) fail("pack", "failed");
    append("rs.zst", pb, len);
    if (i == 0) append("rs_badid.zst", pb, len);
    if (i == 0) append("rs_badvalues.zst", pb, len);
    free(pb);
    char name[32];
    snprintf(name, sizeof name, "rs.%d.pb.gz", i);
    if (profile_builder_write_file(b, at(name), err, sizeof err) != 0) fail(name, err);
    profile_builder_free(b);
  }
  append_edited("rs_badid.zst", bad_id);
  append_edited("rs_badvalues.zst", bad_values);
}
