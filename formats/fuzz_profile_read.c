/* fuzz_profile_read.c: libFuzzer target over the in-memory profile reader
 * (raw, gzip, zstd; other allocators' text heap profiles, legacy_heap.h)
 * and the snapshot stream walker. Whatever the input, the
 * readers must fail cleanly or return a profile that re-serializes, folds and
 * merges. Built with clang when ALLOCPROF_FUZZ=ON; fuzz_replay.c runs it over a
 * corpus with any compiler. Overview: formats/README.md. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "folded.h"
#include "profile_builder.h"
#include "profile_io.h"
#include "stream.h"

/* Keep decompression small enough for the fuzzer's memory limit. */
#define FUZZ_LIMIT ((size_t)64 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const profile_pb *p) {
  char err[256];
  uint8_t *pb = NULL;
  size_t len = 0;
  if (profile_pack(p, &pb, &len, err, sizeof err) != 0) abort();
  profile_pb *again = NULL;
  if (len > 0) {
    /* A valid profile must read back from its own bytes. */
    /* (The decoding budget is by size, and repacking can shrink the bytes
     * of the same elements, e.g. overlong varints: that refusal is fine.) */
    if (profile_decode(pb, len, "repacked", &again, err, sizeof err) != 0 &&
        !strstr(err, "refusing to decode"))
      abort();
    profile_free(again);
  }
  free(pb);
  for (size_t i = 0; i < p->n_sample_type && i < 4; i++) {
    char *text = NULL;
    size_t tlen = 0;
    if (folded_format(p, i, &text, &tlen, err, sizeof err) != 0) {
      if (!strstr(err, "folded stacks would take")) abort(); /* the size bound, folded.h */
      continue;
    }
    if (strlen(text) != tlen) abort();
    free(text);
  }
  profile_builder *b = profile_builder_new();
  if (!b) abort();
  if (profile_builder_add_profile(b, p, 1, err, sizeof err) == 0) {
    profile_pb *merged = NULL;
    if (profile_builder_build(b, &merged) != 0) abort();
    if (profile_validate(merged, err, sizeof err) != 0) abort();
    profile_free(merged);
  }
  profile_builder_free(b);
}

static int on_frame(void *ctx, size_t index, uint64_t offset, const uint8_t *pb, size_t len) {
  (void)ctx;
  (void)index;
  (void)offset;
  char err[256];
  profile_pb *p = NULL;
  if (profile_decode(pb, len, "frame", &p, err, sizeof err) == 0) profile_free(p);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[256];
  profile_pb *p = NULL;
  if (profile_read_buffer_limit(data, size, "fuzz", FUZZ_LIMIT, &p, err, sizeof err) == 0) {
    exercise(p);
    profile_free(p);
  } else if (err[0] == 0 || strchr(err, '\n')) {
    abort(); /* every failure has a one-line message */
  }
  stream_report rep;
  stream_read_buffer_limit(data, size, "fuzz", FUZZ_LIMIT, on_frame, NULL, &rep, err, sizeof err);
  return 0;
}
