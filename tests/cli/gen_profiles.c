/* gen_profiles.c: writes the profiles the CLI tests run on, built with the
 * formats library so their right answers are known exactly. Overview of the
 * tests: tests/cli/CMakeLists.txt.
 *
 *   gen_profiles DIR         the test inputs below
 *   gen_profiles --bench DIR N [STACKS]
 *                            N different large profiles bench.<i>.pb.gz for
 *                            timing merge against go tool pprof
 *   gen_profiles --wide N FILE
 *                            FILE with N callees of main (flame's sort)
 *   gen_profiles --fat N FILE
 *                            FILE with N stacks of 16 frames named by 64 KiB
 *                            (folded stacks of N MiB)
 *   gen_profiles --diverge N D FILE
 *                            FILE with N stacks of depth D parting at the root
 *                            (a flame graph box per frame)
 *   gen_profiles --collide N FILE
 *                            FILE with N locations whose ids collide in an
 *                            unseeded hash table (hashtab.h)
 *
 * The known heap (rate 1: every allocation recorded, values exact), in bytes
 * of inuse_space, stacks leaf first:
 *
 *   f <- run <- main          1000 objects of 100 B      100000
 *   g <- main                   10 objects of 1 MiB    10485760
 *   h <- run <- main           500 objects of 64 B, all freed: alloc only
 *   f <- h <- run <- main      200 objects of 50 B        10000
 *   r <- r <- r <- main         30 objects of 1000 B      30000 (recursion)
 *                                                    = 10625760
 *
 * wrapped.pb.gz, freed.pb.gz, label_huge.pb.gz, peak.pb.gz and
 * peak_grown.pb.gz: see wrapped(), freed(), label_huge() and peak().
 *
 * grown.pb.gz: f <- run <- main has 1500 objects (+50000), k <- main is new
 * (20 x 4096 = +81920), the recursion is gone (-30000): +101920 in all,
 * 10727680.
 *
 * Sampled pairs at the default rate (512 KiB) for the gate: noisy_base has
 * 100 samples of 64-byte objects in small <- main (about 50 MiB estimated,
 * standard error about 10%); noisy_new has 115 (+15%: within 3 standard
 * errors of both); noisy_big has 300 (+200%: a regression however noisy).
 *
 * aslr_a.pb.gz, aslr_b.pb.gz, aslr_rebuilt.pb.gz: frames without a symbol
 * at two load addresses; see aslr().
 *
 * Hostile inputs, valid or nearly, each made to hurt a reader: deep.pb.gz
 * (one stack of 200,000 frames), empty_samples.pb.gz (10 MiB of empty Sample messages in about 10 KB of
 * gzip, nothing else), badutf8.pb.gz (function names that are not UTF-8),
 * period_huge / period_negative (noisy_base's samples at an implausible
 * period), snap_badlast.zst (snap.zst, then a frame that is no profile).
 *
 * Values at the ends of int64, for sums that must saturate (extremes()):
 * int64_100.pb.gz and int64_max.pb.gz have one stack f <- main worth 100 and
 * INT64_MAX in every value; int64_min.pb.gz has f <- main at INT64_MIN and
 * g <- main at 100. Empty ones: no_types.pb.gz (a comment, no sample
 * types, no samples), no_samples.pb.gz (the known heap's types, no samples).
 *
 * dump_a.pb.gz, dump_b.pb.gz, dump_other.pb.gz: one sample each, with the
 * comments liballoc writes (dump_comments.c): two dumps of one program
 * (pids 23712 and 23713) and one of another program.
 *
 * A series for timeline (timeline()): tl.zst, a stream of 6 snapshots of
 * process 4242 at rate 1, one a second (seq 0..5), and the same snapshots
 * as profiles tl.0.pb.gz .. tl.5.pb.gz; tl_cut.zst the stream cut inside
 * its last frame; tl_other.pb.gz a snapshot of process 4343. In bytes:
 *
 *   t (s)                     0        1        2        3        4     5
 *   load <- main (xmalloc)    1 MiB    2 MiB    3 MiB    4 MiB    4 MiB 0
 *   parse <- run <- main      100 KiB every time (steady)
 *   g <- main                 0        0        512 KiB  1 MiB    1 MiB 1 MiB
 *   f <- run <- main          1000 B every time
 *
 * Series for leaks (leaks()): lk.zst, a stream of 30 snapshots of process
 * 5151 one second apart at rate 1, and lk_sampled.zst, the same program
 * sampled at 512 KiB (each object drawn with a fixed xorshift, an object
 * kept is sampled once for good). Stacks, leaf first:
 *
 *   xmalloc <- load <- main   the leak: 64 objects of 1 KiB a second, kept
 *                             (lk_sampled: 256 a second)
 *   parse <- run <- main      churn: about 2 MiB of 4 KiB objects in use,
 *                             a few dozen objects more or less each time
 *   g <- main                 holds 50 MiB (1 MiB objects) from 8 s to 19 s,
 *                             then frees it
 *   k <- main                 one step: 8 MiB (1 MiB objects) from 12 s on
 *   f <- run <- main          1000 B every time
 *
 * lk.2.pb.gz is snapshot 2 of lk.zst alone; lk_cut.zst is lk.zst cut
 * inside its last frame.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "profile_builder.h"
#include "profile_io.h"
#include "stream.h"
#include "container.h"
#include "../hash_unmix.h"

static const char *dir;

void gen_series(const char *dir);

static void die(const char *what, const char *err) {
  fprintf(stderr, "gen_profiles: %s: %s\n", what, err);
  exit(1);
}

static char *path_of(const char *name) {
  static char buf[4096];
  snprintf(buf, sizeof buf, "%s/%s", dir, name);
  return buf;
}

/* ---- the known heap ---- */

typedef struct heap {
  profile_builder *b;
  uint64_t fn[16], loc[16], map;
} heap;

enum {
  F_MAIN,
  F_RUN,
  F_F,
  F_G,
  F_H,
  F_R,
  F_K,
  F_PARSE,
  F_LOAD,
  F_XMALLOC,
  F_ZMALLOC,
  F_ZMALLOC_USABLE,
  F_G_MALLOC,
  F_LAST = F_G_MALLOC
};

/* Set while wrapped() builds its profile: heap_begin adds the wrappers. */
static int with_wrappers;
/* Set while peak() builds its profile: heap_begin adds the peak types. */
static int with_peak;

static void heap_begin(heap *h, int64_t period) {
  static const char *const names[] = {
      "main",           "run",     "f", "g", "h", "r", "k", "parse", "load", "xmalloc", "zmalloc",
      "zmalloc_usable", "g_malloc"};
  static const char *const files[] = {"main.c",    "main.c",    "f.c",     "g.c",    "h.c",
                                      "r.c",       "k.c",       "parse.c", "load.c", "xmalloc.c",
                                      "zmalloc.c", "zmalloc.c", "gmem.c"};
  h->b = profile_builder_new();
  profile_builder_add_sample_type(h->b, "alloc_objects", "count");
  profile_builder_add_sample_type(h->b, "alloc_space", "bytes");
  profile_builder_add_sample_type(h->b, "inuse_objects", "count");
  profile_builder_add_sample_type(h->b, "inuse_space", "bytes");
  if (with_peak) {
    profile_builder_add_sample_type(h->b, "peak_inuse_objects", "count");
    profile_builder_add_sample_type(h->b, "peak_inuse_space", "bytes");
  }
  profile_builder_set_default_sample_type(h->b, "inuse_space");
  profile_builder_set_period(h->b, "space", "bytes", period);
  profile_builder_set_time(h->b, 1700000000000000000LL, 1000000000LL);
  profile_mapping_info m = {0x400000, 0x500000, 0,    "/usr/bin/known", "0123456789abcdef", true,
                            true,     true,     false};
  uint64_t map = profile_builder_add_mapping(h->b, &m);
  h->map = map;
  /* the wrappers (F_PARSE on) only in wrapped.pb.gz: the other profiles
   * keep their bytes, which goldens quote */
  for (int i = 0; i <= (with_wrappers ? F_LAST : F_K); i++) {
    h->fn[i] = profile_builder_add_function(h->b, names[i], names[i], files[i], 10 * (i + 1));
    profile_line line = {h->fn[i], 10 * (i + 1) + 2, 0};
    h->loc[i] =
        profile_builder_add_location(h->b, map, 0x401000 + 0x100 * (uint64_t)i, &line, 1, false);
  }
}

/* A stack (leaf first, -1 ended) where n allocations of size bytes were
 * recorded (all of them at period 1), freed of them, the values unsampled
 * (scaled by 1 / (1 - exp(-size/period))) as the profiler does. */
static void heap_sample(heap *h, const int *stack, double n, double freed, double size,
                        int64_t period) {
  uint64_t locs[16];
  size_t nl = 0;
  for (; stack[nl] >= 0; nl++) locs[nl] = h->loc[stack[nl]];
  double scale = period > 1 ? 1 / -expm1(-size / (double)period) : 1;
  int64_t v[4] = {llround(n * scale), llround(n * size * scale), llround((n - freed) * scale),
                  llround((n - freed) * size * scale)};
  if (profile_builder_add_sample(h->b, locs, nl, v, 4, NULL, 0) != 0) die("add_sample", "failed");
}

static void heap_write(heap *h, const char *name) {
  char err[512];
  if (profile_builder_write_file(h->b, path_of(name), err, sizeof err) != 0) die(name, err);
}

static void known(heap *h, int grown) {
  heap_begin(h, 1);
  heap_sample(h, (const int[]){F_F, F_RUN, F_MAIN, -1}, grown ? 1500 : 1000, 0, 100, 1);
  heap_sample(h, (const int[]){F_G, F_MAIN, -1}, 10, 0, 1048576, 1);
  heap_sample(h, (const int[]){F_H, F_RUN, F_MAIN, -1}, 500, 500, 64, 1);
  heap_sample(h, (const int[]){F_F, F_H, F_RUN, F_MAIN, -1}, 200, 0, 50, 1);
  if (grown)
    heap_sample(h, (const int[]){F_K, F_MAIN, -1}, 20, 0, 4096, 1);
  else
    heap_sample(h, (const int[]){F_R, F_R, F_R, F_MAIN, -1}, 30, 0, 1000, 1);
}

/* wrapped.pb.gz (rate 1), for --hide and --focus: allocation wrappers under
 * the program's functions, inuse_space in bytes, stacks leaf first:
 *
 *   xmalloc <- parse <- main                     10 x 100 B    1000
 *   zmalloc_usable <- zmalloc <- load <- main    20 x 100 B    2000
 *   g_malloc <- load <- main                     40 x 100 B    4000
 *   parse <- main                                 5 x 100 B     500
 *   [xmalloc inlined in parse] <- main           80 x 100 B    8000
 *   zmalloc <- main                               3 x 100 B     300
 *                                                          = 15800
 *
 * The fifth stack's leaf is one location of two lines (xmalloc inlined
 * into parse): --hide xmalloc keeps the location with parse alone. */
static void wrapped(heap *h) {
  with_wrappers = 1;
  heap_begin(h, 1);
  with_wrappers = 0;
  heap_sample(h, (const int[]){F_XMALLOC, F_PARSE, F_MAIN, -1}, 10, 0, 100, 1);
  heap_sample(h, (const int[]){F_ZMALLOC_USABLE, F_ZMALLOC, F_LOAD, F_MAIN, -1}, 20, 0, 100, 1);
  heap_sample(h, (const int[]){F_G_MALLOC, F_LOAD, F_MAIN, -1}, 40, 0, 100, 1);
  heap_sample(h, (const int[]){F_PARSE, F_MAIN, -1}, 5, 0, 100, 1);
  heap_sample(h, (const int[]){F_ZMALLOC, F_MAIN, -1}, 3, 0, 100, 1);
  profile_line lines[2] = {{h->fn[F_XMALLOC], 7, 0}, {h->fn[F_PARSE], 33, 0}};
  uint64_t inl = profile_builder_add_location(h->b, h->map, 0x402000, lines, 2, false);
  uint64_t locs[2] = {inl, h->loc[F_MAIN]};
  int64_t v[4] = {80, 8000, 80, 8000};
  if (profile_builder_add_sample(h->b, locs, 2, v, 4, NULL, 0) != 0) die("add_sample", "failed");
}

/* freed.pb.gz (rate 1): a program that freed nearly all it allocated before
 * it exited: 100 MiB allocated by f <- main, 64 KiB of it still in use (0.06%);
 * 1 MiB by g <- main, all freed. */
static void freed(heap *h) {
  heap_begin(h, 1);
  heap_sample(h, (const int[]){F_F, F_MAIN, -1}, 1600, 1599, 65536, 1);
  heap_sample(h, (const int[]){F_G, F_MAIN, -1}, 16, 16, 65536, 1);
}

/* peak.pb.gz and peak_grown.pb.gz (rate 1), with the two sample types the
 * profiler adds after Go's four (peak_inuse_objects, peak_inuse_space: what
 * each stack held when in-use was highest): a program held, at its peak,
 *
 *   f <- run <- main    7680 x 4 KiB    31457280
 *   g <- main            320 x 64 KiB   20971520 (peak_grown: 416, 27262976)
 *
 * freed both, then held k <- main 24576 x 1 KiB (25165824) at exit, which is
 * 0 at the peak. peak_grown's peak is 6 MiB (12%) higher; in use at exit
 * is the same. */
static void peak(const char *name, int64_t g_objects) {
  heap h;
  with_peak = 1;
  heap_begin(&h, 1);
  with_peak = 0;
  int64_t f[6] = {7680, 7680 * 4096, 0, 0, 7680, 7680 * 4096};
  int64_t g[6] = {g_objects, g_objects * 65536, 0, 0, g_objects, g_objects * 65536};
  int64_t k[6] = {24576, 24576 * 1024, 24576, 24576 * 1024, 0, 0};
  uint64_t sf[3] = {h.loc[F_F], h.loc[F_RUN], h.loc[F_MAIN]}, sg[2] = {h.loc[F_G], h.loc[F_MAIN]},
           sk[2] = {h.loc[F_K], h.loc[F_MAIN]};
  char total[64];
  snprintf(total, sizeof total, "peak_inuse=%lld", (long long)(f[5] + g[5]));
  if (profile_builder_add_sample(h.b, sf, 3, f, 6, NULL, 0) != 0 ||
      profile_builder_add_sample(h.b, sg, 2, g, 6, NULL, 0) != 0 ||
      profile_builder_add_sample(h.b, sk, 2, k, 6, NULL, 0) != 0 ||
      profile_builder_add_comment(h.b, total) != 0 ||
      profile_builder_add_comment(h.b, "peak_time=2023-11-14T22:13:19.500Z") != 0)
    die("add_sample", "failed");
  heap_write(&h, name);
  profile_builder_free(h.b);
}

/* label_huge.pb.gz: noisy_base's kind of profile whose sample carries a
 * sampling_period label of 1 TiB: as implausible as such a period. */
static void label_huge(heap *h) {
  heap_begin(h, 524288);
  uint64_t locs[2] = {h->loc[F_F], h->loc[F_MAIN]};
  int64_t v[4] = {100, 6400, 100, 6400};
  profile_label l = {"sampling_period", NULL, (int64_t)1 << 40, "bytes"};
  if (profile_builder_add_sample(h->b, locs, 2, v, 4, &l, 1) != 0) die("add_sample", "failed");
}

/* aslr_a.pb.gz, aslr_b.pb.gz, aslr_rebuilt.pb.gz (rate 1): one program run
 * three times, a stripped library (no symbol for its allocating functions)
 * loaded at a different address each time (ASLR), as profiles from before
 * liballoc named such frames by object and offset wrote them: leaf1 at file
 * offset 0x1234 has a Function named by its raw address, leaf2 at 0x1456 no
 * line at all. In use, stacks leaf first:
 *
 *   leaf1 <- run <- main      100 x 100 B     10000
 *   leaf2 <- main              10 x 4096 B    40960
 *
 * aslr_b is aslr_a at another address (nothing changed); aslr_rebuilt has a
 * library of the same file name but another build ID (its offsets mean other
 * code). The library's segment has file offset 0x1000 and starts 0x1000 into
 * its load address. */
static void aslr(const char *name, uint64_t load, const char *build_id) {
  heap h;
  heap_begin(&h, 1);
  uint64_t start = load + 0x1000;
  profile_mapping_info m = {
      start, start + 0x10000, 0x1000, "/usr/lib/libstripped.so.1", build_id, true,
      false, false,           false};
  uint64_t lib = profile_builder_add_mapping(h.b, &m);
  char raw[32];
  snprintf(raw, sizeof raw, "0x%llx", (unsigned long long)(start + 0x234));
  uint64_t fn = profile_builder_add_function(h.b, raw, raw, "", 0);
  profile_line line = {fn, 0, 0};
  uint64_t leaf1 = profile_builder_add_location(h.b, lib, start + 0x234, &line, 1, false);
  uint64_t leaf2 = profile_builder_add_location(h.b, lib, start + 0x456, NULL, 0, false);
  uint64_t s1[3] = {leaf1, h.loc[F_RUN], h.loc[F_MAIN]}, s2[2] = {leaf2, h.loc[F_MAIN]};
  int64_t v1[4] = {100, 10000, 100, 10000}, v2[4] = {10, 40960, 10, 40960};
  if (profile_builder_add_sample(h.b, s1, 3, v1, 4, NULL, 0) != 0 ||
      profile_builder_add_sample(h.b, s2, 2, v2, 4, NULL, 0) != 0)
    die("add_sample", "failed");
  heap_write(&h, name);
  profile_builder_free(h.b);
}

static void noisy(heap *h, int samples) {
  const int64_t period = 524288;
  heap_begin(h, period);
  /* samples recorded 64-byte objects stand for samples / q objects */
  heap_sample(h, (const int[]){F_F, F_MAIN, -1}, samples, 0, 64, period);
  /* one 1 MiB object, sampled with probability 1 - e^-2: nearly exact */
  heap_sample(h, (const int[]){F_G, F_MAIN, -1}, 1, 0, 1048576, period);
}

static void write_bytes(const char *name, const void *data, size_t len) {
  char err[512];
  if (fileio_write_atomic(path_of(name), data, len, err, sizeof err) != 0) die(name, err);
}

static void read_bytes(const char *name, uint8_t **data, size_t *len) {
  char err[512];
  if (fileio_read_all(path_of(name), 1 << 30, data, len, err, sizeof err) != 0) die(name, err);
}

/* A profile with other sample types: merging it with a heap one fails. */
static void cpu_profile(void) {
  profile_builder *b = profile_builder_new();
  profile_builder_add_sample_type(b, "samples", "count");
  profile_builder_add_sample_type(b, "cpu", "nanoseconds");
  profile_builder_set_period(b, "cpu", "nanoseconds", 10000000);
  uint64_t fn = profile_builder_add_function(b, "spin", "spin", "spin.c", 1);
  profile_line line = {fn, 3, 0};
  uint64_t loc = profile_builder_add_location(b, 0, 0x1000, &line, 1, false);
  int64_t v[2] = {7, 70000000};
  profile_builder_add_sample(b, &loc, 1, v, 2, NULL, 0);
  char err[512];
  if (profile_builder_write_file(b, path_of("cpu.pb.gz"), err, sizeof err) != 0) die("cpu", err);
  profile_builder_free(b);
}

/* Snapshot stream: base, base again, grown; and the same cut mid-frame. */
static void streams(void) {
  heap h[3];
  known(&h[0], 0);
  known(&h[1], 0);
  known(&h[2], 1);
  char err[512];
  remove(path_of("snap.zst"));
  for (int i = 0; i < 3; i++) {
    uint8_t *pb;
    size_t len;
    if (profile_builder_pack(h[i].b, &pb, &len) != 0) die("pack", "failed");
    if (stream_append(path_of("snap.zst"), pb, len, err, sizeof err) != 0) die("stream", err);
    free(pb);
    profile_builder_free(h[i].b);
  }
  uint8_t *data;
  size_t len;
  read_bytes("snap.zst", &data, &len);
  write_bytes("snap_cut.zst", data, len - 40);
  free(data);
}

/* ---- a series for timeline ---- */

/* Snapshot i (0..5) of the series of timeline(); pid and seq in its
 * comments, time 1700000000 + i s. */
static void timeline_snap(heap *h, int i, int pid) {
  static const int64_t load[] = {1, 2, 3, 4, 4, 0}, g[] = {0, 0, 512, 1024, 1024, 1024};
  with_wrappers = 1;
  heap_begin(h, 1);
  with_wrappers = 0;
  profile_builder_set_time(h->b, (1700000000LL + i) * 1000000000LL, 0);
  char c[64];
  snprintf(c, sizeof c, "pid=%d", pid);
  profile_builder_add_comment(h->b, c);
  snprintf(c, sizeof c, "seq=%d", i);
  profile_builder_add_comment(h->b, c);
  /* load: 1 MiB blocks, all kept until the last snapshot frees them */
  heap_sample(h, (const int[]){F_XMALLOC, F_LOAD, F_MAIN, -1}, 4, (double)(4 - load[i]), 1048576,
              1);
  heap_sample(h, (const int[]){F_PARSE, F_RUN, F_MAIN, -1}, 100 * (i + 1), 100 * i, 1024, 1);
  if (g[i]) heap_sample(h, (const int[]){F_G, F_MAIN, -1}, (double)g[i], 0, 1024, 1);
  heap_sample(h, (const int[]){F_F, F_RUN, F_MAIN, -1}, 10, 0, 100, 1);
}

static void timeline(void) {
  char err[512];
  remove(path_of("tl.zst"));
  for (int i = 0; i < 6; i++) {
    heap h;
    timeline_snap(&h, i, 4242);
    uint8_t *pb;
    size_t len;
    if (profile_builder_pack(h.b, &pb, &len) != 0) die("pack", "failed");
    if (stream_append(path_of("tl.zst"), pb, len, err, sizeof err) != 0) die("stream", err);
    free(pb);
    char name[32];
    snprintf(name, sizeof name, "tl.%d.pb.gz", i);
    heap_write(&h, name);
    profile_builder_free(h.b);
  }
  heap h;
  timeline_snap(&h, 2, 4343);
  heap_write(&h, "tl_other.pb.gz");
  profile_builder_free(h.b);
  uint8_t *data;
  size_t len;
  read_bytes("tl.zst", &data, &len);
  write_bytes("tl_cut.zst", data, len - 40);
  free(data);
}

/* ---- series for leaks ---- */

static uint64_t lk_rand(uint64_t *x) {
  *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
  return *x;
}

/* Whether an object of size bytes is sampled at period (1: always). */
static int lk_sampled(uint64_t *x, double size, int64_t period) {
  if (period <= 1) return 1;
  return (double)(lk_rand(x) >> 11) * 0x1p-53 < -expm1(-size / (double)period);
}

/* Of n objects of size bytes, how many are sampled. */
static double lk_draw(uint64_t *x, double n, double size, int64_t period) {
  double k = 0;
  for (double i = 0; i < n; i++) k += lk_sampled(x, size, period);
  return k;
}

/* The series of leaks() into the stream name at period. */
static void leaks_series(const char *name, int64_t period, int leak_per_s) {
  char err[512];
  uint64_t x = 0x2545f4914f6cdd1dull;
  double leak_kept = 0, g_kept = 0, k_kept = 0;
  remove(path_of(name));
  for (int i = 0; i < 30; i++) {
    heap h;
    with_wrappers = 1;
    heap_begin(&h, period);
    with_wrappers = 0;
    profile_builder_set_time(h.b, (1700000000LL + i) * 1000000000LL, 0);
    profile_builder_add_comment(h.b, "pid=5151");
    char c[32];
    snprintf(c, sizeof c, "seq=%d", i);
    profile_builder_add_comment(h.b, c);
    leak_kept += lk_draw(&x, leak_per_s, 1024, period);
    if (i == 8) g_kept = lk_draw(&x, 50, 1048576, period);
    if (i == 20) g_kept = 0;
    if (i == 12) k_kept = lk_draw(&x, 8, 1048576, period);
    double churn = 512 + (double)(lk_rand(&x) % 64) - 32;
    heap_sample(&h, (const int[]){F_XMALLOC, F_LOAD, F_MAIN, -1}, leak_kept, 0, 1024, period);
    heap_sample(&h, (const int[]){F_PARSE, F_RUN, F_MAIN, -1}, lk_draw(&x, churn, 4096, period), 0,
                4096, period);
    if (g_kept) heap_sample(&h, (const int[]){F_G, F_MAIN, -1}, g_kept, 0, 1048576, period);
    if (k_kept) heap_sample(&h, (const int[]){F_K, F_MAIN, -1}, k_kept, 0, 1048576, period);
    heap_sample(&h, (const int[]){F_F, F_RUN, F_MAIN, -1}, 10, 0, 100, 1);
    uint8_t *pb;
    size_t len;
    if (profile_builder_pack(h.b, &pb, &len) != 0) die("pack", "failed");
    if (stream_append(path_of(name), pb, len, err, sizeof err) != 0) die("stream", err);
    free(pb);
    if (i == 2 && period == 1) heap_write(&h, "lk.2.pb.gz");
    profile_builder_free(h.b);
  }
}

static void leaks(void) {
  leaks_series("lk.zst", 1, 64);
  leaks_series("lk_sampled.zst", 524288, 256);
  uint8_t *data;
  size_t len;
  read_bytes("lk.zst", &data, &len);
  write_bytes("lk_cut.zst", data, len - 40);
  free(data);
}

/* Damaged inputs for the error tests and the mutation test. */
static void bad_inputs(void) {
  uint8_t *data;
  size_t len;
  read_bytes("base.pb.gz", &data, &len);
  write_bytes("truncated.pb.gz", data, len / 2);
  write_bytes("empty.pb", "", 0);
  write_bytes("text.pb.gz", "hello, not a profile\n", 21);
  uint8_t noise[4096];
  uint64_t x = 88172645463325252ull;
  for (size_t i = 0; i < sizeof noise; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    noise[i] = (uint8_t)x;
  }
  write_bytes("random.bin", noise, sizeof noise);
  free(data);

  /* mutants of the raw profile: bytes flipped, cut short, spliced */
  uint8_t *raw;
  size_t rawlen;
  read_bytes("copy.pb", &raw, &rawlen);
  mkdir(path_of("mutants"), 0755);
  uint8_t *m = malloc(rawlen + 64);
  for (int i = 0; i < 200; i++) {
    size_t mlen = rawlen;
    memcpy(m, raw, rawlen);
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    switch (i % 4) {
      case 0: /* flip a few bytes */
        for (int k = 0; k < 1 + (int)(x % 4); k++)
          m[(x >> (8 * k + 8)) % rawlen] ^= (uint8_t)(x >> 3);
        break;
      case 1: mlen = 1 + x % (rawlen - 1); break; /* cut short */
      case 2:
        m[x % rawlen] = 0xff;
        m[(x >> 20) % rawlen] = 0x80;
        break; /* varint trouble */
      default: /* duplicate a slice */
      {
        size_t at = x % rawlen, n = (x >> 24) % 48;
        if (at + n > rawlen) n = rawlen - at;
        memmove(m + at + n, m + at, rawlen - at);
        mlen = rawlen + n;
      }
    }
    char name[64];
    snprintf(name, sizeof name, "mutants/m%03d.pb", i);
    write_bytes(name, m, mlen);
  }
  free(m);
  free(raw);
}

/* ---- bench: many stacks ---- */

static void bench(int n, int nstacks) {
  char err[512];
  for (int p = 0; p < n; p++) {
    heap h;
    heap_begin(&h, 524288);
    uint64_t map = 1;
    enum { NF = 3000 };
    static uint64_t loc[NF];
    for (int i = 0; i < NF; i++) {
      char name[64], file[64];
      snprintf(name, sizeof name, "pkg%d::module%d::function_%d", i % 17, i % 101, i);
      snprintf(file, sizeof file, "src/pkg%d/module%d.c", i % 17, i % 101);
      uint64_t fn = profile_builder_add_function(h.b, name, name, file, i);
      profile_line line = {fn, i + 5, 0};
      loc[i] = profile_builder_add_location(h.b, map, 0x500000 + 16 * (uint64_t)i, &line, 1, false);
    }
    /* stacks shared between the files (seed by stack number) plus some
     * of each file's own */
    for (int s = 0; s < nstacks; s++) {
      uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(s + 1) + (s % 4 == 0 ? (uint64_t)p : 0);
      uint64_t locs[32];
      int depth = 8 + (int)(x % 17);
      for (int d = 0; d < depth; d++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        locs[d] = loc[x % NF];
      }
      int64_t v[4] = {1 + (int64_t)(x % 9), 4096 * (1 + (int64_t)(x % 9)), (int64_t)(x % 3),
                      4096 * (int64_t)(x % 3)};
      profile_builder_add_sample(h.b, locs, (size_t)depth, v, 4, NULL, 0);
    }
    char name[64];
    snprintf(name, sizeof name, "bench.%02d.pb.gz", p);
    if (profile_builder_write_file(h.b, path_of(name), err, sizeof err) != 0) die(name, err);
    profile_builder_free(h.b);
  }
}

/* ---- hostile inputs ---- */

static void deep(void) {
  enum { DEPTH = 200000 };
  heap h;
  heap_begin(&h, 1);
  uint64_t *locs = malloc(DEPTH * sizeof *locs);
  if (!locs) die("deep", "out of memory");
  for (size_t i = 0; i < DEPTH; i++) locs[i] = h.loc[F_R];
  locs[0] = h.loc[F_F];
  locs[DEPTH - 1] = h.loc[F_MAIN];
  int64_t v[4] = {1, 100, 1, 100};
  if (profile_builder_add_sample(h.b, locs, DEPTH, v, 4, NULL, 0) != 0) die("deep", "add_sample");
  /* and a shallow one beside it */
  heap_sample(&h, (const int[]){F_G, F_MAIN, -1}, 1, 0, 100, 1);
  heap_write(&h, "deep.pb.gz");
  free(locs);
  profile_builder_free(h.b);
}

/* n callees of main, named out of order, in file out. */
static void wide(int n, const char *out) {
  heap h;
  heap_begin(&h, 1);
  for (int i = 0; i < n; i++) {
    char name[32];
    snprintf(name, sizeof name, "callee_%07lld", (long long)i * 7919 % n); /* not in order */
    uint64_t fn = profile_builder_add_function(h.b, name, name, "wide.c", i);
    profile_line line = {fn, i + 1, 0};
    uint64_t loc =
        profile_builder_add_location(h.b, 0, 0x800000 + 16 * (uint64_t)i, &line, 1, false);
    uint64_t locs[2] = {loc, h.loc[F_MAIN]};
    int64_t v[4] = {1, 64, 1, 64};
    if (profile_builder_add_sample(h.b, locs, 2, v, 4, NULL, 0) != 0) die("wide", "add_sample");
  }
  char err[512];
  if (profile_builder_write_file(h.b, out, err, sizeof err) != 0) die(out, err);
  profile_builder_free(h.b);
}

/* 10 MiB of field 2 (Sample) with length 0, gzipped. */
static void empty_samples(void) {
  char err[512];
  size_t len = (size_t)10 << 20;
  uint8_t *raw = malloc(len), *gz = NULL;
  size_t gzlen = 0;
  if (!raw) die("empty_samples", "out of memory");
  for (size_t i = 0; i < len; i += 2) raw[i] = 0x12, raw[i + 1] = 0;
  if (container_compress(CONTAINER_GZIP, raw, len, 9, &gz, &gzlen, err, sizeof err) != 0)
    die("empty_samples", err);
  write_bytes("empty_samples.pb.gz", gz, gzlen);
  free(gz);
  free(raw);
}

static void badutf8(void) {
  heap h;
  heap_begin(&h, 1);
  static const char *const names[] = {
      "bad\xff\xfe", "surrogate\xed\xa0\x80", "overlong\xc0\xaf",       "cut\xe2\x82",
      "ctl\x01\x1f", "quote\"back\\slash",    "ok_\xc3\xa9\xe2\x82\xac"};
  for (int i = 0; i < 7; i++) {
    uint64_t fn = profile_builder_add_function(h.b, names[i], names[i], "u.c", i);
    profile_line line = {fn, 1, 0};
    uint64_t loc =
        profile_builder_add_location(h.b, 0, 0x900000 + 16 * (uint64_t)i, &line, 1, false);
    uint64_t locs[2] = {loc, h.loc[F_MAIN]};
    int64_t v[4] = {1, 100 * (i + 1), 1, 100 * (i + 1)};
    if (profile_builder_add_sample(h.b, locs, 2, v, 4, NULL, 0) != 0) die("badutf8", "add_sample");
  }
  heap_write(&h, "badutf8.pb.gz");
  profile_builder_free(h.b);
}

static void periods(void) {
  heap h;
  heap_begin(&h, INT64_MAX - 1);
  heap_sample(&h, (const int[]){F_F, F_MAIN, -1}, 300, 0, 64, 524288);
  heap_write(&h, "period_huge.pb.gz");
  profile_builder_free(h.b);
  heap_begin(&h, -524288);
  heap_sample(&h, (const int[]){F_F, F_MAIN, -1}, 300, 0, 64, 524288);
  heap_write(&h, "period_negative.pb.gz");
  profile_builder_free(h.b);
}

static void bad_last_frame(void) {
  char err[512];
  uint8_t *data;
  size_t len;
  read_bytes("snap.zst", &data, &len);
  write_bytes("snap_badlast.zst", data, len);
  free(data);
  static const char junk[] = "this frame decompresses, but is no profile";
  if (stream_append(path_of("snap_badlast.zst"), junk, sizeof junk - 1, err, sizeof err) != 0)
    die("snap_badlast", err);
}

/* One sample on f <- main with every value v. */
static void one_value(const char *name, int64_t v, int with_g) {
  heap h;
  heap_begin(&h, 1);
  uint64_t locs[2] = {h.loc[F_F], h.loc[F_MAIN]};
  int64_t vals[4] = {v, v, v, v};
  if (profile_builder_add_sample(h.b, locs, 2, vals, 4, NULL, 0) != 0) die(name, "add_sample");
  uint64_t glocs[2] = {h.loc[F_G], h.loc[F_MAIN]};
  int64_t gvals[4] = {1, 100, 1, 100};
  if (with_g && profile_builder_add_sample(h.b, glocs, 2, gvals, 4, NULL, 0) != 0)
    die(name, "add_sample");
  heap_write(&h, name);
  profile_builder_free(h.b);
}

static void extremes(void) {
  one_value("int64_100.pb.gz", 100, 0);
  one_value("int64_max.pb.gz", INT64_MAX, 0);
  one_value("int64_min.pb.gz", INT64_MIN, 1);
  char err[512];
  profile_builder *b = profile_builder_new();
  profile_builder_add_comment(b, "no sample types");
  if (profile_builder_write_file(b, path_of("no_types.pb.gz"), err, sizeof err) != 0)
    die("no_types.pb.gz", err);
  profile_builder_free(b);
  heap h;
  heap_begin(&h, 1);
  heap_write(&h, "no_samples.pb.gz");
  profile_builder_free(h.b);
}

/* A small profile with liballoc's comments of a dump of cmdline by pid. */
static void dump(const char *name, int pid, const char *trigger, const char *cmdline, int seq) {
  heap h;
  heap_begin(&h, 1);
  char c[256];
  snprintf(c, sizeof c, "trigger=%s", trigger);
  profile_builder_add_comment(h.b, c);
  snprintf(c, sizeof c, "pid=%d", pid);
  profile_builder_add_comment(h.b, c);
  snprintf(c, sizeof c, "cmdline=%s", cmdline);
  profile_builder_add_comment(h.b, c);
  profile_builder_add_comment(h.b, "time=2023-11-14T22:13:20Z");
  profile_builder_add_comment(h.b, "rate=1");
  snprintf(c, sizeof c, "seq=%d", seq);
  profile_builder_add_comment(h.b, c);
  heap_sample(&h, (const int[]){F_F, F_MAIN, -1}, 10, 0, 100, 1);
  heap_write(&h, name);
  profile_builder_free(h.b);
}

static void hostile(void) {
  dump("dump_a.pb.gz", 23712, "exit", "./server --port 80", 0);
  dump("dump_b.pb.gz", 23713, "signal", "./server --port 80", 41);
  dump("dump_other.pb.gz", 23800, "exit", "./client", 0);
  extremes();
  deep();
  empty_samples();
  badutf8();
  periods();
  bad_last_frame();
}

/* ---- hash flooding ---- */

/* n locations whose ids all had the same unseeded hash position (the low
 * 24 bits of hash_mix(id) are 0), one function, one sample through the
 * first two. Written with protobuf-c directly: the builder picks its own
 * ids. */
static void collide(int n, const char *out) {
  char err[512];
  Perftools__Profiles__Profile P = PERFTOOLS__PROFILES__PROFILE__INIT;
  Perftools__Profiles__ValueType vt[2] = {PERFTOOLS__PROFILES__VALUE_TYPE__INIT,
                                          PERFTOOLS__PROFILES__VALUE_TYPE__INIT};
  Perftools__Profiles__ValueType *vtp[1] = {&vt[0]};
  char *strings[] = {"", "inuse_space", "bytes", "space", "collide"};
  vt[0].type = 1, vt[0].unit = 2;
  vt[1].type = 3, vt[1].unit = 2;
  Perftools__Profiles__Function fn = PERFTOOLS__PROFILES__FUNCTION__INIT;
  Perftools__Profiles__Function *fnp[1] = {&fn};
  fn.id = 1, fn.name = 4;
  Perftools__Profiles__Line line = PERFTOOLS__PROFILES__LINE__INIT;
  Perftools__Profiles__Line *linep[1] = {&line};
  line.function_id = 1;
  Perftools__Profiles__Location *locs = malloc((size_t)n * sizeof *locs);
  Perftools__Profiles__Location **locp = malloc((size_t)n * sizeof *locp);
  if (!locs || !locp) die("collide", "out of memory");
  for (int i = 0; i < n; i++) {
    Perftools__Profiles__Location l = PERFTOOLS__PROFILES__LOCATION__INIT;
    l.id = unmix((uint64_t)(i + 1) << 24);
    l.address = 0x1000 + (uint64_t)i;
    l.n_line = 1;
    l.line = linep;
    locs[i] = l;
    locp[i] = &locs[i];
  }
  uint64_t ids[2] = {locs[0].id, locs[n > 1 ? 1 : 0].id};
  int64_t value = 4096;
  Perftools__Profiles__Sample s = PERFTOOLS__PROFILES__SAMPLE__INIT;
  Perftools__Profiles__Sample *sp[1] = {&s};
  s.n_location_id = 2, s.location_id = ids, s.n_value = 1, s.value = &value;
  P.n_sample_type = 1, P.sample_type = vtp;
  P.n_sample = 1, P.sample = sp;
  P.n_location = (size_t)n, P.location = locp;
  P.n_function = 1, P.function = fnp;
  P.n_string_table = 5, P.string_table = strings;
  P.period_type = &vt[1], P.period = 1;
  if (profile_write_file(out, &P, err, sizeof err) != 0) die(out, err);
  free(locs);
  free(locp);
}

/* n distinct 16-frame stacks over two functions with 64 KiB names: about
 * 100 KB of profile whose folded stacks would take n MiB. */
static void fat(int n, const char *out) {
  heap h;
  heap_begin(&h, 1);
  size_t len = 65536;
  char *name = malloc(len + 1);
  if (!name) die("fat", "out of memory");
  uint64_t loc[2];
  for (int k = 0; k < 2; k++) {
    memset(name, k ? 'b' : 'a', len);
    name[len] = 0;
    uint64_t fn = profile_builder_add_function(h.b, name, name, "fat.c", k);
    profile_line line = {fn, 1, 0};
    loc[k] = profile_builder_add_location(h.b, 0, 0xa00000 + 16 * (uint64_t)k, &line, 1, false);
  }
  free(name);
  for (int i = 0; i < n; i++) {
    uint64_t locs[16];
    for (int d = 0; d < 16; d++) locs[d] = loc[(i >> d) & 1];
    int64_t v[4] = {1, 64, 1, 64};
    if (profile_builder_add_sample(h.b, locs, 16, v, 4, NULL, 0) != 0) die("fat", "add_sample");
  }
  char err[512];
  if (profile_builder_write_file(h.b, out, err, sizeof err) != 0) die(out, err);
  profile_builder_free(h.b);
}

/* n stacks of depth d that part at their root frame: root_i, then d - 1
 * frames of one function, so that every frame is a box of its own in a
 * flame graph while the profile spends about a byte on it. */
static void diverge(int n, int d, const char *out) {
  heap h;
  heap_begin(&h, 1);
  uint64_t *locs = malloc((size_t)d * sizeof *locs);
  if (!locs || d < 2) die("diverge", "bad depth or out of memory");
  for (int k = 0; k < d - 1; k++) locs[k] = h.loc[F_R]; /* a small id: one byte */
  for (int i = 0; i < n; i++) {
    char name[32];
    snprintf(name, sizeof name, "root_%d", i);
    uint64_t fn = profile_builder_add_function(h.b, name, name, "d.c", i);
    profile_line line = {fn, 1, 0};
    locs[d - 1] =
        profile_builder_add_location(h.b, 0, 0xb00000 + 16 * (uint64_t)i, &line, 1, false);
    int64_t v[4] = {1, 64, 1, 64};
    if (profile_builder_add_sample(h.b, locs, (size_t)d, v, 4, NULL, 0) != 0)
      die("diverge", "add_sample");
  }
  char err[512];
  if (profile_builder_write_file(h.b, out, err, sizeof err) != 0) die(out, err);
  free(locs);
  profile_builder_free(h.b);
}

int main(int argc, char **argv) {
  if (argc >= 4 && !strcmp(argv[1], "--bench")) {
    dir = argv[2];
    mkdir(dir, 0755);
    bench(atoi(argv[3]), argc > 4 ? atoi(argv[4]) : 20000);
    return 0;
  }
  if (argc == 4 && !strcmp(argv[1], "--wide")) {
    wide(atoi(argv[2]), argv[3]);
    return 0;
  }
  if (argc == 5 && !strcmp(argv[1], "--diverge")) {
    diverge(atoi(argv[2]), atoi(argv[3]), argv[4]);
    return 0;
  }
  if (argc == 4 && !strcmp(argv[1], "--fat")) {
    fat(atoi(argv[2]), argv[3]);
    return 0;
  }
  if (argc == 4 && !strcmp(argv[1], "--collide")) {
    collide(atoi(argv[2]), argv[3]);
    return 0;
  }
  if (argc != 2) {
    fprintf(stderr,
            "usage: gen_profiles DIR | gen_profiles --bench DIR N [STACKS] | "
            "gen_profiles --wide|--collide|--fat N FILE | gen_profiles --diverge N D FILE\n");
    return 2;
  }
  dir = argv[1];
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) die(dir, strerror(errno));
  heap h;
  known(&h, 0);
  heap_write(&h, "base.pb.gz");
  heap_write(&h, "copy.pb");
  heap_write(&h, "copy.pb.zst");
  profile_builder_free(h.b);
  known(&h, 1);
  heap_write(&h, "grown.pb.gz");
  profile_builder_free(h.b);
  noisy(&h, 100);
  heap_write(&h, "noisy_base.pb.gz");
  profile_builder_free(h.b);
  noisy(&h, 115);
  heap_write(&h, "noisy_new.pb.gz");
  profile_builder_free(h.b);
  noisy(&h, 300);
  heap_write(&h, "noisy_big.pb.gz");
  profile_builder_free(h.b);
  wrapped(&h);
  heap_write(&h, "wrapped.pb.gz");
  profile_builder_free(h.b);
  freed(&h);
  heap_write(&h, "freed.pb.gz");
  profile_builder_free(h.b);
  label_huge(&h);
  heap_write(&h, "label_huge.pb.gz");
  profile_builder_free(h.b);
  peak("peak.pb.gz", 320);
  peak("peak_grown.pb.gz", 416);
  aslr("aslr_a.pb.gz", 0x7f3a1c200000, "feedfacecafe0123456789abcdef0123456789ab");
  aslr("aslr_b.pb.gz", 0x7fd94e600000, "feedfacecafe0123456789abcdef0123456789ab");
  aslr("aslr_rebuilt.pb.gz", 0x7f0b77a00000, "0badc0de00112233445566778899aabbccddeeff");
  cpu_profile();
  streams();
  timeline();
  leaks();
  gen_series(dir); /* gen_series.c */
  bad_inputs();
  hostile();
  return 0;
}
