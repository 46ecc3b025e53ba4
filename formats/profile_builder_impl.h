/* profile_builder_impl.h: the builder's storage, shared by the two files
 * that implement profile_builder.h: profile_builder.c (tables, samples,
 * packing) and profile_merge.c (adding a whole decoded profile). Nothing
 * else includes it: everyone else goes through profile_builder.h. */
#ifndef FORMATS_PROFILE_BUILDER_IMPL_H
#define FORMATS_PROFILE_BUILDER_IMPL_H

#include "hashtab.h"
#include "profile_builder.h"

typedef struct vtype {
  int64_t type, unit;
} vtype;

typedef struct bmapping {
  uint64_t start, limit, offset;
  int64_t filename, build_id;
  unsigned flags; /* bit 0..3: has_functions, filenames, line_numbers, inline_frames */
} bmapping;

typedef struct bfunction {
  int64_t name, system_name, filename, start_line;
} bfunction;

typedef struct blocation {
  uint64_t mapping_id, address;
  size_t line_off; /* into lines */
  size_t nlines;
  bool is_folded;
} blocation;

typedef struct blabel {
  int64_t key, str, num, unit;
} blabel;

typedef struct bsample {
  size_t loc_off, nlocs; /* into locpool */
  size_t lab_off, nlabs; /* into labpool */
  /* values: vals[index * nstypes ...] */
} bsample;

/* A growable array: items, count, capacity. */
#define VEC(T)     \
  struct {         \
    T *v;          \
    size_t n, cap; \
  }

struct profile_builder {
  int oom;
  VEC(char) chars;     /* string bytes, each NUL-terminated */
  VEC(size_t) strings; /* offset of each string in chars */
  hashtab string_ix;
  VEC(vtype) stypes;
  vtype period_type;
  int64_t period, time_nanos, duration_nanos;
  int64_t default_sample_type, drop_frames, keep_frames, doc_url;
  VEC(int64_t) comments;
  VEC(bmapping) mappings;
  hashtab mapping_ix;
  VEC(bfunction) functions;
  hashtab function_ix;
  VEC(blocation) locations;
  hashtab location_ix;
  VEC(profile_line) lines;
  VEC(bsample) samples;
  hashtab sample_ix;
  VEC(uint64_t) locpool;
  VEC(int64_t) vals;
  VEC(blabel) labpool;
};

#endif /* FORMATS_PROFILE_BUILDER_IMPL_H */
