/* fuzz_seedgen.c: writes the seed inputs of formats/fuzz_corpus/ (small
 * profiles in each container, a snapshot stream, other allocators' text
 * heap profiles, and a few broken ones).
 * Run through the formats_fuzz_seeds build target. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "fileio.h"
#include "profile_builder.h"
#include "profile_io.h"

_Noreturn static void die(const char *what) {
  fprintf(stderr, "fuzz_seedgen: %s\n", what);
  exit(1);
}

static void put(const char *dir, const char *name, const void *data, size_t len) {
  char path[4096], err[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (fileio_write_atomic(path, data, len, err, sizeof err) != 0) die(err);
}

static void put_kind(const char *dir, const char *name, container_kind kind, const uint8_t *pb,
                     size_t len) {
  uint8_t *out = NULL;
  size_t outlen = 0;
  char err[256];
  if (container_compress(kind, pb, len, 0, &out, &outlen, err, sizeof err) != 0) die(err);
  put(dir, name, out, outlen);
  free(out);
}

/* A heap profile of three stacks, one with an inlined frame, with labels. */
static profile_builder *small_profile(int variant) {
  profile_builder *b = profile_builder_new();
  if (!b) die("out of memory");
  profile_builder_add_sample_type(b, "alloc_objects", "count");
  profile_builder_add_sample_type(b, "alloc_space", "bytes");
  profile_builder_add_sample_type(b, "inuse_objects", "count");
  profile_builder_add_sample_type(b, "inuse_space", "bytes");
  profile_builder_set_period(b, "space", "bytes", 524288);
  profile_builder_set_time(b, 1700000000000000000LL + variant, 1000000000LL);
  profile_builder_add_comment(b, "seed");
  profile_mapping_info mi = {0x400000, 0x500000, 0,   "/usr/bin/seed", "abc123", true,
                             true,     true,     true};
  uint64_t m = profile_builder_add_mapping(b, &mi);
  uint64_t fmain = profile_builder_add_function(b, "main", "main", "seed.c", 10);
  uint64_t fwork = profile_builder_add_function(b, "work", "work", "seed.c", 20);
  uint64_t fhelp = profile_builder_add_function(b, "helper", "_Z6helperv", "seed.c", 30);
  profile_line l1[] = {{fmain, 12, 3}};
  profile_line l2[] = {{fhelp, 31, 0}, {fwork, 22, 0}}; /* helper inlined into work */
  uint64_t lmain = profile_builder_add_location(b, m, 0x401000, l1, 1, false);
  uint64_t lwork = profile_builder_add_location(b, m, 0x402000, l2, 2, false);
  uint64_t lraw = profile_builder_add_location(b, m, 0x403000, NULL, 0, false);
  uint64_t s1[] = {lwork, lmain}, s2[] = {lraw, lmain}, s3[] = {lmain};
  int64_t v1[] = {2, 2048 + variant, 1, 1024}, v2[] = {1, 64, 0, 0}, v3[] = {5, 500, 5, 500};
  profile_label lab[] = {{"bytes", NULL, 1024, "bytes"}, {"thread", "worker", 0, NULL}};
  profile_builder_add_sample(b, s1, 2, v1, 4, lab, 2);
  profile_builder_add_sample(b, s2, 2, v2, 4, NULL, 0);
  profile_builder_add_sample(b, s3, 1, v3, 4, lab, 1);
  if (!profile_builder_ok(b)) die("builder failed");
  return b;
}

/* Text heap profiles of other allocators (legacy_heap.h): tcmalloc's
 * sampled heap_v2, gperftools' HEAPPROFILE, jemalloc's, and one cut short. */
static const char legacy_maps[] =
    "\nMAPPED_LIBRARIES:\n"
    "00400000-00401000 r--p 00000000 08:01 1000 /usr/bin/seed\n"
    "00401000-00402000 r-xp 00001000 08:01 1000 /usr/bin/seed\n"
    "7f0000026000-7f000017b000 r-xp 00026000 08:01 2000 /usr/lib/libc.so.6\n"
    "7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0 [stack]\n";

static void put_legacy(const char *dir, const char *name, const char *body, size_t cut) {
  char text[2048];
  int n = snprintf(text, sizeof text, "%s%s", body, legacy_maps);
  if (n < 0 || (size_t)n >= sizeof text) die("legacy seed too long");
  put(dir, name, text, cut ? cut : (size_t)n);
}

static void legacy_seeds(const char *dir) {
  const char *tc =
      "heap profile:      3:  2097152 [     5:  3670016] @ heap_v2/524288\n"
      "     1:  1048576 [     2:  2097152] @ 0x00401137 0x00401191 0x7f0000027249\n"
      "     2:  1048576 [     3:  1572864] @ 0x00401151 0x00401191 0x7f0000027249\n";
  const char *hp =
      "heap profile:    2:     4096 [     3:     8192] @ heapprofile\n"
      "     2:     4096 [     3:     8192] @ 0x00401137 0x00401191\n"
      "     0:        0 [     0:        0] @\n";
  const char *je =
      "heap_v2/524288\n"
      "  t*: 3: 2097152 [4: 2621440]\n"
      "  t0: 3: 2097152 [4: 2621440]\n"
      "@ 0x00401137 0x00401191 0x7f0000027249\n"
      "  t*: 1: 1048576 [2: 1572864]\n"
      "  t0: 1: 1048576 [2: 1572864]\n";
  put_legacy(dir, "legacy_tcmalloc.heap", tc, 0);
  put_legacy(dir, "legacy_heapprofile.heap", hp, 0);
  put_legacy(dir, "legacy_jemalloc.heap", je, 0);
  put_legacy(dir, "legacy_cut.heap", tc, strlen(tc) + 40);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s output-dir\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1];
  uint8_t *pb = NULL, *pb2 = NULL;
  size_t len = 0, len2 = 0;
  profile_builder *b = small_profile(0), *b2 = small_profile(1);
  if (profile_builder_pack(b, &pb, &len) != 0 || profile_builder_pack(b2, &pb2, &len2) != 0)
    die("pack failed");
  put(dir, "small.pb", pb, len);
  put_kind(dir, "small.pb.gz", CONTAINER_GZIP, pb, len);
  put_kind(dir, "small.pb.zst", CONTAINER_ZSTD, pb, len);

  /* A stream: two frames and a third cut short. */
  uint8_t *f1 = NULL, *f2 = NULL;
  size_t f1len = 0, f2len = 0;
  char err[256];
  if (container_compress(CONTAINER_ZSTD, pb, len, 0, &f1, &f1len, err, sizeof err) != 0 ||
      container_compress(CONTAINER_ZSTD, pb2, len2, 0, &f2, &f2len, err, sizeof err) != 0)
    die(err);
  size_t slen = f1len + f2len + f2len / 2;
  uint8_t *s = malloc(slen);
  if (!s) die("out of memory");
  memcpy(s, f1, f1len);
  memcpy(s + f1len, f2, f2len);
  memcpy(s + f1len + f2len, f2, f2len / 2);
  put(dir, "stream.zst", s, slen);

  /* Broken inputs: truncated gzip, bad reference, empty string table. */
  uint8_t *gz;
  size_t gzlen;
  if (container_compress(CONTAINER_GZIP, pb, len, 0, &gz, &gzlen, err, sizeof err) != 0) die(err);
  put(dir, "truncated.pb.gz", gz, gzlen / 2);
  profile_pb *p = perftools__profiles__profile__unpack(NULL, len, pb);
  if (!p) die("unpack failed");
  p->sample[0]->location_id[0] = 999;
  uint8_t *bad;
  size_t badlen;
  if (profile_pack(p, &bad, &badlen, err, sizeof err) != 0) die(err);
  put(dir, "badref.pb", bad, badlen);
  free(bad);
  p->sample[0]->location_id[0] = 1;
  p->function[0]->name = 12345;
  if (profile_pack(p, &bad, &badlen, err, sizeof err) != 0) die(err);
  put(dir, "badstring.pb", bad, badlen);
  free(bad);
  profile_free(p);

  legacy_seeds(dir);

  free(gz);
  free(s);
  free(f1);
  free(f2);
  free(pb);
  free(pb2);
  profile_builder_free(b);
  profile_builder_free(b2);
  return 0;
}
