/* test_formats_container.c: gzip and zstd containers (formats/container.h):
 * detection, choice by path, round trips, bounded decompression, and clean
 * failures on truncated, corrupt and trailing data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "container.h"

/* Half compressible, half noise, reproducible. */
static uint8_t *sample_data(size_t len) {
  uint8_t *p = malloc(len ? len : 1);
  uint64_t x = 0x9e3779b97f4a7c15ULL;
  for (size_t i = 0; i < len; i++) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    p[i] = (i / 4096) % 2 ? (uint8_t)(x >> 56) : (uint8_t)("pprof"[i % 5]);
  }
  return p;
}

static void roundtrip(container_kind kind, size_t len) {
  uint8_t *in = sample_data(len), *c = NULL, *d = NULL;
  size_t clen = 0, dlen = 0;
  char err[256] = "";
  assert_int_equal(container_compress(kind, in, len, 0, &c, &clen, err, sizeof err), 0);
  assert_int_equal(container_detect(c, clen), kind);
  assert_int_equal(container_decompress(kind, c, clen, 0, &d, &dlen, err, sizeof err), 0);
  assert_int_equal(dlen, len);
  if (len) assert_memory_equal(in, d, len);
  free(in);
  free(c);
  free(d);
}

static void test_detect(void **state) {
  (void)state;
  const uint8_t gz[] = {0x1f, 0x8b, 8, 0}, zs[] = {0x28, 0xb5, 0x2f, 0xfd, 0},
                skip[] = {0x5a, 0x2a, 0x4d, 0x18, 0}, raw[] = {0x0a, 0x04, 0x08, 0x01};
  assert_int_equal(container_detect(gz, sizeof gz), CONTAINER_GZIP);
  assert_int_equal(container_detect(zs, sizeof zs), CONTAINER_ZSTD);
  assert_int_equal(container_detect(skip, sizeof skip), CONTAINER_ZSTD);
  assert_int_equal(container_detect(raw, sizeof raw), CONTAINER_RAW);
  assert_int_equal(container_detect(gz, 1), CONTAINER_RAW);
  assert_int_equal(container_detect(zs, 3), CONTAINER_RAW);
  assert_int_equal(container_detect(NULL, 0), CONTAINER_RAW);
}

static void test_for_path(void **state) {
  (void)state;
  assert_int_equal(container_for_path("heap.pb.gz"), CONTAINER_GZIP);
  assert_int_equal(container_for_path("/a/b/heap.pb.zst"), CONTAINER_ZSTD);
  assert_int_equal(container_for_path("heap.pb"), CONTAINER_RAW);
  assert_int_equal(container_for_path("heap.folded"), CONTAINER_FOLDED);
  assert_int_equal(container_for_path("heap.prof"), CONTAINER_GZIP);
  assert_int_equal(container_for_path("heap"), CONTAINER_GZIP);
  assert_string_equal(container_name(CONTAINER_ZSTD), "zstd");
}

static void test_roundtrips(void **state) {
  (void)state;
  size_t sizes[] = {0, 1, 100, 65536, 3 << 20};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    roundtrip(CONTAINER_GZIP, sizes[i]);
    roundtrip(CONTAINER_ZSTD, sizes[i]);
  }
  uint8_t *c = NULL;
  size_t clen = 0;
  char err[128];
  assert_int_equal(container_compress(CONTAINER_RAW, "abc", 3, 0, &c, &clen, err, sizeof err), 0);
  assert_int_equal(clen, 3);
  assert_memory_equal(c, "abc", 3);
  free(c);
  assert_int_equal(container_compress(CONTAINER_FOLDED, "abc", 3, 0, &c, &clen, err, sizeof err),
                   -1);
}

static void test_gzip_members_and_padding(void **state) {
  (void)state;
  uint8_t *a = NULL, *b = NULL, *d = NULL;
  size_t alen, blen, dlen;
  char err[256];
  assert_int_equal(container_compress(CONTAINER_GZIP, "hello ", 6, 0, &a, &alen, err, sizeof err),
                   0);
  assert_int_equal(container_compress(CONTAINER_GZIP, "world", 5, 0, &b, &blen, err, sizeof err),
                   0);
  uint8_t *cat = malloc(alen + blen + 8);
  memcpy(cat, a, alen);
  memcpy(cat + alen, b, blen);
  assert_int_equal(
      container_decompress(CONTAINER_GZIP, cat, alen + blen, 0, &d, &dlen, err, sizeof err), 0);
  assert_int_equal(dlen, 11);
  assert_memory_equal(d, "hello world", 11);
  free(d);
  /* Zero padding after the last member is accepted, other bytes are not. */
  memset(cat + alen + blen, 0, 8);
  assert_int_equal(
      container_decompress(CONTAINER_GZIP, cat, alen + blen + 8, 0, &d, &dlen, err, sizeof err), 0);
  free(d);
  cat[alen + blen + 3] = 'x';
  assert_int_equal(
      container_decompress(CONTAINER_GZIP, cat, alen + blen + 8, 0, &d, &dlen, err, sizeof err),
      -1);
  assert_non_null(strstr(err, "trailing garbage"));
  free(cat);
  free(a);
  free(b);
}

static void check_truncations(container_kind kind, const char *word) {
  size_t len = 20000;
  uint8_t *in = sample_data(len), *c = NULL, *d = NULL;
  size_t clen = 0, dlen = 0;
  char err[256];
  assert_int_equal(container_compress(kind, in, len, 0, &c, &clen, err, sizeof err), 0);
  for (size_t cut = 0; cut < clen; cut++) {
    err[0] = 0;
    assert_int_equal(container_decompress(kind, c, cut, 0, &d, &dlen, err, sizeof err), -1);
    assert_true(err[0] != 0);
    assert_null(strchr(err, '\n'));
  }
  assert_int_equal(container_decompress(kind, c, clen / 2, 0, &d, &dlen, err, sizeof err), -1);
  assert_non_null(strstr(err, word));
  free(in);
  free(c);
}

static void test_truncated(void **state) {
  (void)state;
  check_truncations(CONTAINER_GZIP, "truncated gzip");
  check_truncations(CONTAINER_ZSTD, "truncated zstd");
}

static void test_corrupt(void **state) {
  (void)state;
  size_t len = 50000;
  uint8_t *in = sample_data(len), *d = NULL;
  char err[256];
  container_kind kinds[] = {CONTAINER_GZIP, CONTAINER_ZSTD};
  for (int k = 0; k < 2; k++) {
    uint8_t *c = NULL;
    size_t clen = 0, dlen = 0;
    assert_int_equal(container_compress(kinds[k], in, len, 0, &c, &clen, err, sizeof err), 0);
    /* Flipping any single byte past the magic must never crash; flipping one
     * in the middle must be noticed (deflate structure or checksums). */
    for (size_t i = 2; i < clen; i += 7) {
      c[i] ^= 0x55;
      if (container_decompress(kinds[k], c, clen, 0, &d, &dlen, err, sizeof err) == 0) free(d);
      c[i] ^= 0x55;
    }
    c[clen / 2] ^= 0xff;
    assert_int_equal(container_decompress(kinds[k], c, clen, 0, &d, &dlen, err, sizeof err), -1);
    assert_non_null(strstr(err, "corrupt"));
    free(c);
  }
  free(in);
}

static void test_limit(void **state) {
  (void)state;
  size_t len = 4 << 20;
  uint8_t *zeros = calloc(1, len), *d = NULL;
  char err[256];
  assert_int_equal(CONTAINER_MAX_DECOMPRESSED, (size_t)1 << 30);
  container_kind kinds[] = {CONTAINER_GZIP, CONTAINER_ZSTD};
  for (int k = 0; k < 2; k++) {
    uint8_t *c = NULL;
    size_t clen = 0, dlen = 0;
    assert_int_equal(container_compress(kinds[k], zeros, len, 0, &c, &clen, err, sizeof err), 0);
    assert_int_equal(container_decompress(kinds[k], c, clen, 1 << 20, &d, &dlen, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "exceeds the limit of 1 MiB"));
    assert_int_equal(container_decompress(kinds[k], c, clen, len, &d, &dlen, err, sizeof err), 0);
    assert_int_equal(dlen, len);
    free(d);
    assert_int_equal(container_decompress(kinds[k], c, clen, len - 1, &d, &dlen, err, sizeof err),
                     -1);
    free(c);
  }
  free(zeros);
}

static void test_zstd_frames(void **state) {
  (void)state;
  uint8_t *a = NULL, *d = NULL;
  size_t alen, dlen;
  char err[256];
  assert_int_equal(container_compress(CONTAINER_ZSTD, "abc", 3, 0, &a, &alen, err, sizeof err), 0);
  uint8_t *cat = malloc(2 * alen + 12);
  memcpy(cat, a, alen);
  /* A skippable frame between two data frames. */
  const uint8_t skip[12] = {0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4};
  memcpy(cat + alen, skip, sizeof skip);
  memcpy(cat + alen + sizeof skip, a, alen);
  size_t clen = 2 * alen + sizeof skip;
  assert_int_equal(container_zstd_frames(a, alen), 1);
  assert_int_equal(container_zstd_frames(cat, clen), 2);
  assert_int_equal(container_zstd_frames(cat, clen - 1), -1);
  assert_int_equal(container_decompress(CONTAINER_ZSTD, cat, clen, 0, &d, &dlen, err, sizeof err),
                   0);
  assert_int_equal(dlen, 6);
  assert_memory_equal(d, "abcabc", 6);
  free(d);
  cat[clen - 1] = 0; /* replace the end with garbage */
  memcpy(cat + alen + sizeof skip, "junkjunk", 8);
  assert_int_equal(container_decompress(CONTAINER_ZSTD, cat, clen, 0, &d, &dlen, err, sizeof err),
                   -1);
  assert_non_null(strstr(err, "trailing garbage"));
  free(cat);
  free(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_detect),     cmocka_unit_test(test_for_path),
      cmocka_unit_test(test_roundtrips), cmocka_unit_test(test_gzip_members_and_padding),
      cmocka_unit_test(test_truncated),  cmocka_unit_test(test_corrupt),
      cmocka_unit_test(test_limit),      cmocka_unit_test(test_zstd_frames),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
