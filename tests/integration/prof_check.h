/* prof_check.h: reading back the profiles the profiler writes, for the
 * prof_* integration tests: load and validate with the formats library, walk
 * samples by the function at the top of their stack, and fail loudly.
 * Header-only: every function is static. The profiler itself: liballoc/mprof.h.
 */
#ifndef PROF_CHECK_H
#define PROF_CHECK_H

#include <dirent.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif
#include "it_common.h" /* malloc_usable_size without <malloc.h> */
#include "profile_io.h"
#ifdef __cplusplus
}
#endif

/* Indices of the values of every sample: Go's four (PC_NVALUES of them,
 * what pc_sum_leaf sums), then what the stack held at the in-use peak. */
enum { PC_ALLOC_OBJECTS, PC_ALLOC_SPACE, PC_INUSE_OBJECTS, PC_INUSE_SPACE, PC_NVALUES };
enum { PC_PEAK_OBJECTS = PC_NVALUES, PC_PEAK_SPACE, PC_NTYPES };

static int pc_failures;

#define PC_CHECK(cond, ...)                                                    \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
      pc_failures++;                                                           \
    }                                                                          \
  } while (0)

static inline void pc_die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "FATAL: ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

/* DIR from the command line, or a fresh temporary directory that
 * pc_tmpdir_cleanup() removes with the files named in it. */
static char pc_dir[4096];
static int pc_dir_made;

static inline const char *pc_tmpdir(int argc, char **argv, int argi) {
  if (argc > argi) {
    snprintf(pc_dir, sizeof pc_dir, "%s", argv[argi]);
    return pc_dir;
  }
  const char *t = getenv("TMPDIR");
  snprintf(pc_dir, sizeof pc_dir, "%s/allocprof-test.XXXXXX", t && *t ? t : "/tmp");
  if (mkdtemp(pc_dir) == NULL) pc_die("mkdtemp %s", pc_dir);
  pc_dir_made = 1;
  return pc_dir;
}

/* Removes the files in the directory pc_tmpdir made (not subdirectories),
 * then the directory. */
static inline void pc_tmpdir_cleanup(void) {
  if (!pc_dir_made) return;
  DIR *d = opendir(pc_dir);
  if (d != NULL) {
    struct dirent *e;
    char path[8192];
    while ((e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
      snprintf(path, sizeof path, "%s/%s", pc_dir, e->d_name);
      unlink(path);
    }
    closedir(d);
  }
  rmdir(pc_dir);
}

static inline profile_pb *pc_load(const char *path) {
  profile_pb *p = NULL;
  char err[512];
  if (profile_read_file(path, &p, err, sizeof err) != 0) pc_die("%s", err);
  return p;
}

static inline const char *pc_str(const profile_pb *p, int64_t i) {
  return i >= 0 && (size_t)i < p->n_string_table ? p->string_table[i] : "";
}

/* Ids are looked up in the index every profile read carries
 * (profile_index.h); pc_load's profiles all have one. */
static inline const profile_index *pc_index(const profile_pb *p) {
  const profile_index *ix = profile_index_of(p);
  if (!ix) pc_die("a profile without an id index (not read with the formats library)");
  return ix;
}

static inline const Perftools__Profiles__Location *pc_location(const profile_pb *p, uint64_t id) {
  long i = profile_index_location(pc_index(p), id);
  return i >= 0 ? p->location[i] : NULL;
}

static inline const Perftools__Profiles__Function *pc_function(const profile_pb *p, uint64_t id) {
  long i = profile_index_function(pc_index(p), id);
  return i >= 0 ? p->function[i] : NULL;
}

static inline const Perftools__Profiles__Mapping *pc_mapping(const profile_pb *p, uint64_t id) {
  long i = profile_index_mapping(pc_index(p), id);
  return i >= 0 ? p->mapping[i] : NULL;
}

/* Name of line k of location id (0: the innermost inlined call), or "". */
static inline const char *pc_line_function(const profile_pb *p, uint64_t loc_id, size_t k) {
  const Perftools__Profiles__Location *l = pc_location(p, loc_id);
  if (l == NULL || k >= l->n_line) return "";
  const Perftools__Profiles__Function *f = pc_function(p, l->line[k]->function_id);
  return f ? pc_str(p, f->name) : "";
}

/* The function a sample's stack starts with: the innermost call of its
 * first location. */
static inline const char *pc_leaf(const profile_pb *p, const Perftools__Profiles__Sample *s) {
  return s->n_location_id ? pc_line_function(p, s->location_id[0], 0) : "";
}

/* The function whose code holds the sample's first address: the outermost
 * line of its first location (inlined calls sit inside it). */
static inline const char *pc_leaf_outer(const profile_pb *p, const Perftools__Profiles__Sample *s) {
  if (s->n_location_id == 0) return "";
  const Perftools__Profiles__Location *l = pc_location(p, s->location_id[0]);
  return l && l->n_line ? pc_line_function(p, l->id, l->n_line - 1) : "";
}

/* The block an object of n bytes gets from the allocator in use (its size
 * class, or its pages): what the "allocated_bytes" label of its samples
 * says. */
static inline int64_t pc_block_size(size_t n) {
  void *q = malloc(n);
  int64_t block = (int64_t)malloc_usable_size(q);
  free(q);
  return block;
}

/* The sample's numeric label key, or -1. */
static inline int64_t pc_label(const profile_pb *p, const Perftools__Profiles__Sample *s,
                               const char *key) {
  for (size_t i = 0; i < s->n_label; i++)
    if (strcmp(pc_str(p, s->label[i]->key), key) == 0) return s->label[i]->num;
  return -1;
}

/* The sample's "bytes" label (the size one object asked for, as the values
 * count it), or -1. */
static inline int64_t pc_bytes_label(const profile_pb *p, const Perftools__Profiles__Sample *s) {
  return pc_label(p, s, "bytes");
}

/* The sample's "allocated_bytes" label (the block of its objects), or -1. */
static inline int64_t pc_block_label(const profile_pb *p, const Perftools__Profiles__Sample *s) {
  return pc_label(p, s, "allocated_bytes");
}

/* Sums the first n values of the samples whose stack starts in function
 * name. */
static inline void pc_sum_leaf_n(const profile_pb *p, const char *name, int64_t *out, int n) {
  for (int v = 0; v < n; v++) out[v] = 0;
  for (size_t i = 0; i < p->n_sample; i++) {
    const Perftools__Profiles__Sample *s = p->sample[i];
    if (s->n_value != PC_NTYPES || strcmp(pc_leaf(p, s), name) != 0) continue;
    for (int v = 0; v < n; v++) out[v] += s->value[v];
  }
}

/* Sums Go's four values of the samples whose stack starts in function name. */
static inline void pc_sum_leaf(const profile_pb *p, const char *name, int64_t out[PC_NVALUES]) {
  pc_sum_leaf_n(p, name, out, PC_NVALUES);
}

/* Checks the profile-wide fields every heap profile has. */
static inline void pc_check_header(const profile_pb *p, int64_t rate) {
  static const char *const types[PC_NTYPES][2] = {
      {"alloc_objects", "count"}, {"alloc_space", "bytes"},        {"inuse_objects", "count"},
      {"inuse_space", "bytes"},   {"peak_inuse_objects", "count"}, {"peak_inuse_space", "bytes"}};
  PC_CHECK(p->n_sample_type == PC_NTYPES, "%zu sample types", p->n_sample_type);
  for (size_t i = 0; i < p->n_sample_type && i < PC_NTYPES; i++) {
    PC_CHECK(strcmp(pc_str(p, p->sample_type[i]->type), types[i][0]) == 0, "type %zu is %s", i,
             pc_str(p, p->sample_type[i]->type));
    PC_CHECK(strcmp(pc_str(p, p->sample_type[i]->unit), types[i][1]) == 0, "unit %zu is %s", i,
             pc_str(p, p->sample_type[i]->unit));
  }
  PC_CHECK(strcmp(pc_str(p, p->default_sample_type), "inuse_space") == 0, "default type %s",
           pc_str(p, p->default_sample_type));
  PC_CHECK(p->period_type != NULL && strcmp(pc_str(p, p->period_type->type), "space") == 0 &&
               strcmp(pc_str(p, p->period_type->unit), "bytes") == 0,
           "period type");
  PC_CHECK(p->period == rate, "period %" PRId64 ", rate %" PRId64, p->period, rate);
  PC_CHECK(p->time_nanos > 1500000000ll * 1000000000ll, "time_nanos %" PRId64, p->time_nanos);
  PC_CHECK(strstr(pc_str(p, p->drop_frames), "malloc") != NULL &&
               strstr(pc_str(p, p->drop_frames), "operator new") != NULL,
           "drop_frames: %s", pc_str(p, p->drop_frames));
  /* stacks start at the caller of the allocator, never inside it. The
   * function holding the first address is looked at: ld.so inlines
   * wrappers named malloc and calloc (rtld-malloc.h) into its callers, and
   * those are rightly the innermost lines of their locations. */
  static const char *const entry[] = {"malloc",   "calloc",         "realloc",
                                      "free",     "posix_memalign", "aligned_alloc",
                                      "memalign", "valloc",         "pvalloc"};
  for (size_t i = 0; i < p->n_sample; i++) {
    const char *leaf = pc_leaf_outer(p, p->sample[i]);
    for (size_t k = 0; k < sizeof entry / sizeof entry[0]; k++)
      PC_CHECK(strcmp(leaf, entry[k]) != 0, "sample %zu starts in %s", i, leaf);
    PC_CHECK(strncmp(leaf, "operator new", 12) != 0, "sample %zu starts in %s", i, leaf);
    const Perftools__Profiles__Location *l0 =
        p->sample[i]->n_location_id ? pc_location(p, p->sample[i]->location_id[0]) : NULL;
    const Perftools__Profiles__Mapping *m0 =
        l0 && l0->mapping_id ? pc_mapping(p, l0->mapping_id) : NULL;
    PC_CHECK(m0 == NULL || strstr(pc_str(p, m0->filename), "liballoc") == NULL,
             "sample %zu starts inside %s (%s)", i, pc_str(p, m0->filename), leaf);
    /* the "bytes" label is what one object weighs in the values, as in
     * Go's profiles: alloc_space / alloc_objects (up to the rounding of
     * both values and of the label). The block ("allocated_bytes") is the
     * one the objects were sampled in: an object realloc resizes in place
     * keeps it, so it may be smaller than the size asked for now. */
    const Perftools__Profiles__Sample *s = p->sample[i];
    int64_t bytes = pc_bytes_label(p, s);
    PC_CHECK(bytes > 0, "sample %zu has no bytes label", i);
    PC_CHECK(pc_block_label(p, s) > 0, "sample %zu has no allocated_bytes label", i);
    int64_t objs = s->n_value == PC_NVALUES ? s->value[PC_ALLOC_OBJECTS] : 0;
    int64_t space = objs > 0 ? s->value[PC_ALLOC_SPACE] : 0;
    double per = objs > 0 ? (double)space / (double)objs : (double)bytes;
    PC_CHECK(per >= (double)bytes - 1.0 - 2.0 * (double)bytes / (double)objs &&
                 per <= (double)bytes + 1.0 + 2.0 * (double)bytes / (double)objs,
             "sample %zu: bytes:[%" PRId64 "] but %" PRId64 " objects of %" PRId64 " bytes", i,
             bytes, objs, space);
  }
  /* every location inside its mapping */
  for (size_t i = 0; i < p->n_location; i++) {
    const Perftools__Profiles__Location *l = p->location[i];
    const Perftools__Profiles__Mapping *m = l->mapping_id ? pc_mapping(p, l->mapping_id) : NULL;
    if (m == NULL) continue;
    PC_CHECK(l->address >= m->memory_start && l->address < m->memory_limit,
             "location %" PRIu64 " at %#" PRIx64 " outside its mapping", l->id, l->address);
  }
}

#endif /* PROF_CHECK_H */
