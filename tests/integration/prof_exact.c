/* prof_exact: a program with a known heap, profiled at rate 1 (every
 * allocation sampled; run with ALLOCPROF_RATE=1), dumps its profile with
 * allocprof_dump in each container and reads it back: per-function
 * allocated and in-use objects and bytes must be exact, the stack must start
 * at the allocating function (on the line of the call), and the mappings
 * must name this program with its build ID.
 *
 *   prof_exact [DIR]   writes DIR/exact.pb.gz, exact.pb, exact.pb.zst (and
 *                      keeps them); without DIR, in a temporary directory
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allocprof.h"
#include "it_common.h"
#include "prof_check.h"

#define A_COUNT 1000
#define A_SIZE 100
#define A_FREED 300
#define B_COUNT 50
#define B_SIZE 40000 /* large objects */
#define C_COUNT 200
#define C_N 10
#define C_SIZE 24
#define D_COUNT 64
#define D_FROM 10
#define D_TO 5000
#define E_COUNT 30
#define E_ALIGN 64
#define E_SIZE 640

/* global: the compiler may not drop stores it cannot see read */
void *a_keep[A_COUNT], *b_keep[B_COUNT], *c_keep[C_COUNT], *d_keep[D_COUNT], *e_keep[E_COUNT];
static int line_a, line_b;

/* Each maker stores what it allocates after the call, so the call is not a
 * tail call and the maker's frame is on the stack. */
__attribute__((noinline)) static void make_a(void) {
  for (int i = 0; i < A_COUNT; i++) {
    line_a = __LINE__ + 1; /* the line of the call, the next one */
    a_keep[i] = malloc(it_opaque(A_SIZE));
  }
}

__attribute__((noinline)) static void make_b(void) {
  for (int i = 0; i < B_COUNT; i++) {
    line_b = __LINE__ + 1; /* the line of the call, the next one */
    b_keep[i] = malloc(it_opaque(B_SIZE));
  }
}

__attribute__((noinline)) static void make_c(void) {
  for (int i = 0; i < C_COUNT; i++) c_keep[i] = calloc(it_opaque(C_N), C_SIZE);
}

/* malloc(10), then realloc to 5000: the object moves to another class, so
 * the first allocation is freed and the new one charged to this function. */
__attribute__((noinline)) static void make_d(void) {
  for (int i = 0; i < D_COUNT; i++) {
    void *p = malloc(it_opaque(D_FROM));
    d_keep[i] = realloc(it_launder(p), it_opaque(D_TO));
  }
}

__attribute__((noinline)) static void make_e(void) {
  for (int i = 0; i < E_COUNT; i++) {
    if (posix_memalign(&e_keep[i], E_ALIGN, it_opaque(E_SIZE)) != 0) pc_die("posix_memalign");
  }
}

struct expect {
  const char *fn;
  int64_t v[PC_NVALUES]; /* alloc objects, alloc bytes, inuse objects, inuse bytes */
};

static const struct expect expected[] = {
    {"make_a", {A_COUNT, A_COUNT *A_SIZE, A_COUNT - A_FREED, (A_COUNT - A_FREED) * A_SIZE}},
    {"make_b", {B_COUNT, B_COUNT *B_SIZE, B_COUNT, B_COUNT *B_SIZE}},
    {"make_c", {C_COUNT, C_COUNT *C_N *C_SIZE, C_COUNT, C_COUNT *C_N *C_SIZE}},
    {"make_d", {2 * D_COUNT, D_COUNT *(D_FROM + D_TO), D_COUNT, D_COUNT *D_TO}},
    {"make_e", {E_COUNT, E_COUNT *E_SIZE, E_COUNT, E_COUNT *E_SIZE}},
};

static void check_profile(const char *path) {
  profile_pb *p = pc_load(path);
  pc_check_header(p, 1);
  for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
    int64_t got[PC_NVALUES];
    pc_sum_leaf(p, expected[i].fn, got);
    static const char *const what[PC_NVALUES] = {"alloc_objects", "alloc_space", "inuse_objects",
                                                 "inuse_space"};
    for (int v = 0; v < PC_NVALUES; v++)
      PC_CHECK(got[v] == expected[i].v[v], "%s: %s %s = %" PRId64 ", want %" PRId64, path,
               expected[i].fn, what[v], got[v], expected[i].v[v]);
  }

  /* make_a: one sample, labelled with its 100 bytes and their block, its first location on the line of
   * the malloc call when the program has line numbers */
  const Perftools__Profiles__Mapping *main_map = p->n_mapping ? p->mapping[0] : NULL;
  PC_CHECK(main_map != NULL, "%s: no mappings", path);
  int samples_a = 0;
  for (size_t i = 0; i < p->n_sample; i++) {
    const Perftools__Profiles__Sample *s = p->sample[i];
    if (strcmp(pc_leaf(p, s), "make_a") != 0) continue;
    samples_a++;
    PC_CHECK(pc_bytes_label(p, s) == A_SIZE, "make_a: bytes label %" PRId64, pc_bytes_label(p, s));
    PC_CHECK(pc_block_label(p, s) == pc_block_size(A_SIZE),
             "make_a: allocated_bytes label %" PRId64, pc_block_label(p, s));
    PC_CHECK(
        s->n_location_id >= 2 && strcmp(pc_line_function(p, s->location_id[1], 0), "main") == 0,
        "make_a's caller is %s",
        s->n_location_id >= 2 ? pc_line_function(p, s->location_id[1], 0) : "none");
    const Perftools__Profiles__Location *l = pc_location(p, s->location_id[0]);
    PC_CHECK(l->mapping_id == main_map->id, "make_a's location is in mapping %" PRIu64,
             l->mapping_id);
    if (main_map->has_line_numbers)
      PC_CHECK(l->n_line >= 1 && l->line[0]->line == line_a, "make_a's line %" PRId64 ", want %d",
               l->n_line ? l->line[0]->line : -1, line_a);
    const Perftools__Profiles__Function *f = pc_function(p, l->line[0]->function_id);
    PC_CHECK(strcmp(pc_str(p, f->system_name), "make_a") == 0, "system name %s",
             pc_str(p, f->system_name));
    if (main_map->has_filenames)
      PC_CHECK(strstr(pc_str(p, f->filename), "prof_exact.c") != NULL, "file %s",
               pc_str(p, f->filename));
  }
  PC_CHECK(samples_a == 1, "%s: %d samples start in make_a", path, samples_a);
  (void)line_b;

  /* the first mapping is this program, with its build ID and the names
   * filled in */
  if (main_map != NULL) {
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    PC_CHECK(strcmp(pc_str(p, main_map->filename), exe) == 0, "first mapping %s, want %s",
             pc_str(p, main_map->filename), exe);
    PC_CHECK(strlen(pc_str(p, main_map->build_id)) == 40, "build id '%s'",
             pc_str(p, main_map->build_id));
    PC_CHECK(main_map->has_functions, "main mapping without has_functions");
    PC_CHECK(main_map->memory_start < main_map->memory_limit, "empty main mapping");
  }
  /* every mapping that locations use claims functions */
  for (size_t i = 0; i < p->n_location; i++) {
    const Perftools__Profiles__Location *l = p->location[i];
    const Perftools__Profiles__Mapping *m = l->mapping_id ? pc_mapping(p, l->mapping_id) : NULL;
    if (m != NULL && l->n_line > 0)
      PC_CHECK(m->has_functions, "mapping %s has names but not has_functions",
               pc_str(p, m->filename));
    if (m != NULL && !m->has_functions)
      PC_CHECK(l->n_line == 0, "mapping %s claims no functions but has them",
               pc_str(p, m->filename));
  }
  profile_free(p);
}

int main(int argc, char **argv) {
  if (argc > 2) {
    fprintf(stderr, "usage: prof_exact [DIR]\n");
    return 2;
  }
  it_require_liballoc("prof_exact");
  if (allocprof_get_rate() != 1) {
    fprintf(stderr, "prof_exact: run with ALLOCPROF_RATE=1 (rate is %" PRIu64 ")\n",
            allocprof_get_rate());
    return 1;
  }
  make_a();
  make_b();
  make_c();
  make_d();
  make_e();
  for (int i = 0; i < A_FREED; i++) free(a_keep[i]);

  const char *dir = pc_tmpdir(argc, argv, 1);
  static const char *const names[] = {"exact.pb.gz", "exact.pb", "exact.pb.zst"};
  char paths[3][sizeof pc_dir + 64];
  for (int k = 0; k < 3; k++) {
    snprintf(paths[k], sizeof paths[k], "%s/%s", dir, names[k]);
    if (allocprof_dump(paths[k]) != 0) pc_die("allocprof_dump %s: %s", paths[k], strerror(errno));
  }
  /* reading the profiles allocates too: the heap is checked as dumped */
  for (int k = 0; k < 3; k++) check_profile(paths[k]);

  /* the totals agree with the heap: at rate 1 the in-use estimate counts
   * at least what the makers still hold */
  struct allocprof_totals t;
  PC_CHECK(allocprof_get_totals(&t) == 0, "allocprof_get_totals");
  int64_t live = 0;
  for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) live += expected[i].v[3];
  PC_CHECK(t.rate == 1, "totals rate %" PRIu64, t.rate);
  PC_CHECK(t.inuse_bytes >= (uint64_t)live, "totals inuse %" PRIu64 " < %" PRId64, t.inuse_bytes,
           live);
  PC_CHECK(t.samples >= A_COUNT + B_COUNT + C_COUNT + 2 * D_COUNT + E_COUNT, "samples %" PRIu64,
           t.samples);
  PC_CHECK(t.sampled_frees >= A_FREED + D_COUNT, "sampled frees %" PRIu64, t.sampled_frees);
  PC_CHECK(t.buckets >= 6, "buckets %" PRIu64, t.buckets);
  PC_CHECK(t.peak_inuse_bytes >= t.inuse_bytes, "peak %" PRIu64 " < inuse %" PRIu64,
           t.peak_inuse_bytes, t.inuse_bytes);
  PC_CHECK(t.profiler_bytes > 0, "profiler bytes 0");

  pc_tmpdir_cleanup();
  if (pc_failures) {
    fprintf(stderr, "prof_exact: %d checks failed\n", pc_failures);
    return 1;
  }
  printf("prof_exact: ok\n");
  return 0;
}
