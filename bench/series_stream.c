/* series_stream.c: writes a snapshot stream for timing the commands that
 * read a series (allocprof timeline, leaks; bench/README.md, "Reading a
 * series"): N snapshots (default 1000) of one process, one a second, each a
 * heap profile of S stacks (default 10,000) of 8 to 24 frames over 3,000
 * functions, at the default rate. Stack s holds a steady amount, a
 * growing one (every 16th), or a wave; a few come and go. Deterministic:
 * the same arguments write the same file.
 *
 * Usage: bench_series_stream OUT.zst [N [S]] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profile_builder.h"
#include "profile_io.h"
#include "stream.h"

#define NFUNCS 3000
#define PERIOD 524288

static uint64_t xorshift(uint64_t *x) {
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return *x;
}

/* One profile of S stacks, values to be filled per snapshot. */
static profile_pb *skeleton(int stacks) {
  profile_builder *b = profile_builder_new();
  profile_builder_add_sample_type(b, "alloc_objects", "count");
  profile_builder_add_sample_type(b, "alloc_space", "bytes");
  profile_builder_add_sample_type(b, "inuse_objects", "count");
  profile_builder_add_sample_type(b, "inuse_space", "bytes");
  profile_builder_set_default_sample_type(b, "inuse_space");
  profile_builder_set_period(b, "space", "bytes", PERIOD);
  profile_builder_add_comment(b, "pid=4242");
  static uint64_t loc[NFUNCS];
  for (int i = 0; i < NFUNCS; i++) {
    char name[64];
    snprintf(name, sizeof name, "pkg%d::module%d::function_%d", i % 17, i % 101, i);
    uint64_t fn = profile_builder_add_function(b, name, name, "src/x.c", i);
    profile_line line = {fn, i + 5, 0};
    loc[i] = profile_builder_add_location(b, 0, 0x500000 + 16 * (uint64_t)i, &line, 1, false);
  }
  for (int s = 0; s < stacks; s++) {
    uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(s + 1), locs[32];
    int depth = 8 + (int)(x % 17);
    for (int d = 0; d < depth; d++) locs[d] = loc[xorshift(&x) % NFUNCS];
    int64_t v[4] = {1, 1, 1, 1};
    if (profile_builder_add_sample(b, locs, (size_t)depth, v, 4, NULL, 0) != 0) return NULL;
  }
  profile_pb *p = NULL;
  if (profile_builder_build(b, &p) != 0) p = NULL;
  profile_builder_free(b);
  return p;
}

/* Stack s's objects of 256 bytes in use at snapshot i. */
static int64_t objects(int s, int i) {
  switch (s % 16) {
    case 0: return 10 + 2 * i;                                      /* grows */
    case 1: return (i / 50) % 2 ? 0 : 40;                           /* comes and goes */
    case 2: return (int64_t)(100 + 80 * sin((double)(i + s) / 30)); /* a wave */
    default: return 20 + s % 7;                                     /* steady */
  }
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 4) {
    fprintf(stderr, "usage: bench_series_stream OUT.zst [N [STACKS]]\n");
    return 2;
  }
  int n = argc > 2 ? atoi(argv[2]) : 1000, stacks = argc > 3 ? atoi(argv[3]) : 10000;
  profile_pb *p = skeleton(stacks);
  if (!p || n < 1) return 1;
  unlink(argv[1]);
  char err[512];
  int fd = stream_open_append(argv[1], err, sizeof err);
  if (fd < 0) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  double scale = 1 / -expm1(-256.0 / PERIOD); /* unsampled, as the profiler writes them */
  uint8_t *buf = NULL;
  for (int i = 0; i < n; i++) {
    p->time_nanos = (1700000000LL + i) * 1000000000LL;
    for (size_t s = 0; s < p->n_sample; s++) {
      int64_t o = objects((int)s, i), *v = p->sample[s]->value;
      v[0] = v[2] = llround((double)o * scale);
      v[1] = v[3] = llround((double)o * 256 * scale);
    }
    size_t len = perftools__profiles__profile__get_packed_size(p);
    buf = realloc(buf, len);
    if (!buf) return 1;
    perftools__profiles__profile__pack(p, buf);
    if (stream_append_fd(fd, buf, len, 1, err, sizeof err) != 0) {
      fprintf(stderr, "%s\n", err);
      return 1;
    }
  }
  free(buf);
  close(fd);
  profile_free(p);
  return 0;
}
