/* fuzz_profile_read.c: libFuzzer target over the in-memory profile reader
 * (raw, gzip, zstd; other allocators' text heap profiles, legacy_heap.h)
 * and the snapshot stream walker. Whatever the input, the
 * readers must fail cleanly or return a profile that re-serializes, folds and
 * merges; the quick decoder (profile_lite.h) must agree with profile_decode. Built with clang when ALLOCPROF_FUZZ=ON; fuzz_replay.c runs it over a
 * corpus with any compiler. Overview: formats/README.md. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "folded.h"
#include "profile_builder.h"
#include "profile_io.h"
#include "profile_lite.h"
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

/* The quick decoder (profile_lite.h) against protobuf-c and profile_decode
 * on the same bytes. What it accepts must unpack, its tables (which it
 * leaves on the wire) left out, to the same header, strings and samples;
 * and profile_decode must accept it too, but for what is left to the
 * quick decoder's caller: the tables themselves (their wire format, ids
 * and references) and the samples' location ids. */
static void same_samples(const profile_pb *a, const profile_pb *b) {
  if (a->n_sample != b->n_sample) abort();
  for (size_t i = 0; i < a->n_sample; i++) {
    const Perftools__Profiles__Sample *x = a->sample[i], *y = b->sample[i];
    if (x->n_location_id != y->n_location_id || x->n_value != y->n_value ||
        x->n_label != y->n_label)
      abort();
    for (size_t j = 0; j < x->n_location_id; j++)
      if (x->location_id[j] != y->location_id[j]) abort();
    for (size_t j = 0; j < x->n_value; j++)
      if (x->value[j] != y->value[j]) abort();
    for (size_t j = 0; j < x->n_label; j++)
      if (x->label[j]->key != y->label[j]->key || x->label[j]->str != y->label[j]->str ||
          x->label[j]->num != y->label[j]->num || x->label[j]->num_unit != y->label[j]->num_unit)
        abort();
  }
}

static void same_header(const profile_pb *p, const profile_pb *h) {
  if (p->time_nanos != h->time_nanos || p->period != h->period ||
      p->duration_nanos != h->duration_nanos || p->default_sample_type != h->default_sample_type ||
      p->n_sample_type != h->n_sample_type || p->n_comment != h->n_comment ||
      p->n_string_table != h->n_string_table || !p->period_type != !h->period_type)
    abort();
  for (size_t i = 0; i < p->n_string_table; i++)
    if (strcmp(p->string_table[i], h->string_table[i]) != 0) abort();
  for (size_t i = 0; i < p->n_comment; i++)
    if (p->comment[i] != h->comment[i]) abort();
  for (size_t i = 0; i < p->n_sample_type; i++)
    if (p->sample_type[i]->type != h->sample_type[i]->type ||
        p->sample_type[i]->unit != h->sample_type[i]->unit)
      abort();
  same_samples(p, h);
}

/* pb without l's table fields (tag, length and payload), into out (len
 * bytes at most); its length. */
static size_t without_tables(const uint8_t *pb, size_t len, const profile_lite *l, uint8_t *out) {
  size_t n = 0, from = 0;
  for (size_t i = 0; i < l->ntables; i++) {
    size_t at = (size_t)(l->tables[i].wire - pb);
    memcpy(out + n, pb + from, at - from);
    n += at - from;
    from = (size_t)(l->tables[i].data - pb) + l->tables[i].len;
  }
  memcpy(out + n, pb + from, len - from);
  return n + len - from;
}

static void check_lite(const uint8_t *pb, size_t len) {
  char err[256];
  profile_lite *l = NULL;
  if (profile_lite_decode(pb, len, NULL, &l) != 0) return;
  uint8_t *rest = malloc(len ? len : 1);
  if (!rest) abort();
  size_t rlen = without_tables(pb, len, l, rest);
  profile_pb *q = perftools__profiles__profile__unpack(NULL, rlen, rest);
  if (!q) abort();
  same_header(q, &l->pb);
  perftools__profiles__profile__free_unpacked(q, NULL);
  free(rest);
  profile_pb *p = NULL;
  if (profile_decode(pb, len, "lite", &p, err, sizeof err) != 0) {
    if (!strstr(err, "corrupt protobuf") && !strstr(err, "location") && !strstr(err, "mapping") &&
        !strstr(err, "function") && !strstr(err, "has id 0"))
      abort();
  } else {
    if (p->n_location != l->n_location || p->n_function != l->n_function ||
        p->n_mapping != l->n_mapping)
      abort();
    same_header(p, &l->pb);
  }
  profile_free(p);
  profile_lite_free(l);
}

static int on_frame(void *ctx, size_t index, uint64_t offset, const uint8_t *pb, size_t len) {
  (void)ctx;
  (void)index;
  (void)offset;
  char err[256];
  profile_pb *p = NULL;
  if (profile_decode(pb, len, "frame", &p, err, sizeof err) == 0) profile_free(p);
  check_lite(pb, len);
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
  if (size <= FUZZ_LIMIT) check_lite(data, size); /* the input as a raw Profile */
  stream_report rep;
  stream_read_buffer_limit(data, size, "fuzz", FUZZ_LIMIT, on_frame, NULL, &rep, err, sizeof err);
  return 0;
}
