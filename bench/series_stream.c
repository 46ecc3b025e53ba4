/* series_stream.c: writes a large snapshot stream for timing the commands
 * that read a series (allocprof timeline, allocprof leaks): N snapshots of
 * one process, one second apart, each a heap profile at the default rate
 * (524288) of S stacks of 8 to 24 frames drawn from 3000 functions. Most
 * stacks hold a noisy steady level; every 1000th leaks 64 KiB a snapshot.
 * Deterministic (xorshift, fixed seed). See bench/README.md.
 *
 *   bench_series_stream OUT.zst N S */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile_builder.h"
#include "stream.h"

enum { NFUNC = 3000, PERIOD = 524288, OBJ = 4096 };

static uint64_t next(uint64_t *x) {
  *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
  return *x;
}

static profile_builder *snapshot(int i, int nstacks) {
  profile_builder *b = profile_builder_new();
  profile_builder_add_sample_type(b, "alloc_objects", "count");
  profile_builder_add_sample_type(b, "alloc_space", "bytes");
  profile_builder_add_sample_type(b, "inuse_objects", "count");
  profile_builder_add_sample_type(b, "inuse_space", "bytes");
  profile_builder_set_default_sample_type(b, "inuse_space");
  profile_builder_set_period(b, "space", "bytes", PERIOD);
  profile_builder_set_time(b, (1700000000LL + i) * 1000000000LL, 0);
  char c[32];
  profile_builder_add_comment(b, "pid=777");
  snprintf(c, sizeof c, "seq=%d", i);
  profile_builder_add_comment(b, c);
  profile_mapping_info m = {0x400000, 0x900000, 0, "/usr/bin/big", "", true, true, true, false};
  uint64_t map = profile_builder_add_mapping(b, &m);
  static uint64_t loc[NFUNC];
  for (int f = 0; f < NFUNC; f++) {
    char name[64], file[64];
    snprintf(name, sizeof name, "pkg%d::module%d::function_%d", f % 17, f % 101, f);
    snprintf(file, sizeof file, "src/pkg%d/module%d.c", f % 17, f % 101);
    uint64_t fn = profile_builder_add_function(b, name, name, file, f);
    profile_line line = {fn, f + 5, 0};
    loc[f] = profile_builder_add_location(b, map, 0x500000 + 16 * (uint64_t)f, &line, 1, false);
  }
  uint64_t noise = 0x9e3779b97f4a7c15ull ^ (uint64_t)(i + 1) * 0xbf58476d1ce4e5b9ull;
  for (int s = 0; s < nstacks; s++) {
    uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(s + 1), locs[24];
    int depth = 8 + (int)(x % 17);
    for (int d = 0; d < depth; d++) locs[d] = loc[next(&x) % NFUNC];
    int64_t objs = 1 + (int64_t)(x % 64) + (int64_t)(next(&noise) % 8);
    if (s % 1000 == 0) objs += 16 * i; /* 64 KiB a snapshot */
    int64_t v[4] = {2 * objs, 2 * objs * OBJ, objs, objs * OBJ};
    profile_builder_add_sample(b, locs, (size_t)depth, v, 4, NULL, 0);
  }
  return b;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: bench_series_stream OUT.zst N STACKS\n");
    return 2;
  }
  int n = atoi(argv[2]), nstacks = atoi(argv[3]);
  remove(argv[1]);
  for (int i = 0; i < n; i++) {
    profile_builder *b = snapshot(i, nstacks);
    uint8_t *pb;
    size_t len;
    char err[256];
    if (profile_builder_pack(b, &pb, &len) != 0 ||
        stream_append(argv[1], pb, len, err, sizeof err) != 0) {
      fprintf(stderr, "bench_series_stream: %s: cannot write\n", argv[1]);
      return 1;
    }
    free(pb);
    profile_builder_free(b);
  }
  return 0;
}
