/* prof_dlclose: the names of stacks that run through a library closed
 * before the dump (liballoc/mprof_objects.c). Each case opens a test library
 * (prof_dlclose_lib.c), lets it allocate N blocks at rate 1 and keeps them,
 * closes it (no RTLD_NODELETE) and dumps through allocprof.h:
 *
 *   prof_dlclose named    LIBA      DIR  LIBA's frames carry LIBA's names
 *   prof_dlclose reuse    LIBA LIBB DIR  LIBB, opened next, lands where LIBA
 *                                        was (exit 77 if the loader put it
 *                                        elsewhere): LIBA's frames keep
 *                                        LIBA's names and mapping, LIBB's
 *                                        frames get LIBB's. LIBB allocates
 *                                        blocks of LIBA's size through the
 *                                        very same addresses (one layout),
 *                                        after a stack of its own has shown
 *                                        the registry that LIBA is gone
 *   prof_dlclose reuse_dump LIBA LIBB DIR  the same, LIBA's unloading seen
 *                                        by a dump in between instead
 *   prof_dlclose deleted  LIBA -    DIR  LIBA's file is deleted before the
 *                                        dump: its frames stay unnamed, in a
 *                                        mapping with its path and build ID
 *   prof_dlclose replaced LIBA LIBB DIR  LIBA's file is replaced by LIBB's
 *                                        (another build ID): the same
 *
 * Blocks of LIBA and LIBB have sizes nothing else here allocates, and a
 * sample is LIBA's when it has that size and its first frame is in a
 * mapping named after LIBA's path. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allocprof.h"
#include "it_common.h"
#include "prof_check.h"

#define N_A 400
#define N_B 300
#define SIZE_A 3000
#define SIZE_B 5000

typedef int alloc_fn(void **out, int n, size_t size);

static void *blocks_a[N_A], *blocks_b[N_B], *blocks_b2[N_B];

struct lib {
  void *handle;
  uintptr_t base; /* l_addr */
  alloc_fn *alloc;
};

static struct lib open_lib(const char *path, const char *prefix) {
  struct lib l = {dlopen(path, RTLD_NOW | RTLD_LOCAL), 0, NULL};
  if (l.handle == NULL) pc_die("dlopen %s: %s", path, dlerror());
  struct link_map *lm = NULL;
  if (dlinfo(l.handle, RTLD_DI_LINKMAP, &lm) != 0 || lm == NULL) pc_die("dlinfo: %s", dlerror());
  l.base = lm->l_addr;
  char name[64];
  snprintf(name, sizeof name, "%s_alloc", prefix);
  void *sym = dlsym(l.handle, name);
  if (sym == NULL) pc_die("dlsym %s: %s", name, dlerror());
  memcpy(&l.alloc, &sym, sizeof l.alloc);
  return l;
}

/* One call site for every allocation through a library, so that two
 * libraries of one layout at one address make the same stacks. */
__attribute__((noinline)) static void lib_alloc(const struct lib *l, void **out, int n,
                                                size_t size) {
  int got = l->alloc(out, n, size);
  if (got != n) pc_die("allocated %d of %d blocks", got, n);
  __asm__ volatile("" : : : "memory");
}

/* Opens path and makes its prefix_alloc allocate n blocks of size. */
static struct lib run_lib(const char *path, const char *prefix, void **out, int n, size_t size) {
  struct lib l = open_lib(path, prefix);
  lib_alloc(&l, out, n, size);
  return l;
}

static void copy_file(const char *from, const char *to) {
  FILE *in = fopen(from, "rb");
  unlink(to); /* a new file, not the old one rewritten */
  FILE *out = fopen(to, "wb");
  if (in == NULL || out == NULL) pc_die("copy %s to %s", from, to);
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, in)) > 0)
    if (fwrite(buf, 1, n, out) != n) pc_die("write %s", to);
  fclose(in);
  if (fclose(out) != 0) pc_die("close %s", to);
}

static profile_pb *dump(const char *dir, const char *name) {
  char path[sizeof pc_dir + 64];
  snprintf(path, sizeof path, "%s/%s.pb.gz", dir, name);
  if (allocprof_dump(path) != 0) pc_die("allocprof_dump %s failed", path);
  return pc_load(path);
}

static const Perftools__Profiles__Mapping *mapping_of(const profile_pb *p, uint64_t loc_id) {
  const Perftools__Profiles__Location *l = pc_location(p, loc_id);
  return l != NULL && l->mapping_id ? pc_mapping(p, l->mapping_id) : NULL;
}

/* What the samples of one library's blocks look like. */
struct lib_view {
  int64_t inuse; /* objects in use, summed */
  int samples;
  int named;             /* samples whose first two frames carry the names */
  int unnamed;           /* samples whose first two frames carry no name */
  char build_id[200];    /* of the mapping of their first frame */
  uint64_t start, limit; /* its range */
};

static struct lib_view view(const profile_pb *p, const char *path, size_t size,
                            const char *prefix) {
  struct lib_view v;
  memset(&v, 0, sizeof v);
  int64_t block = pc_block_size(size);
  char leaf[64], alloc[64];
  snprintf(leaf, sizeof leaf, "%s_leaf", prefix);
  snprintf(alloc, sizeof alloc, "%s_alloc", prefix);
  for (size_t i = 0; i < p->n_sample; i++) {
    const Perftools__Profiles__Sample *s = p->sample[i];
    if (pc_block_label(p, s) != block || s->n_location_id < 2) continue;
    const Perftools__Profiles__Mapping *m = mapping_of(p, s->location_id[0]);
    if (m == NULL || strcmp(pc_str(p, m->filename), path) != 0) continue;
    v.samples++;
    v.inuse += s->value[PC_INUSE_OBJECTS];
    snprintf(v.build_id, sizeof v.build_id, "%s", pc_str(p, m->build_id));
    v.start = m->memory_start;
    v.limit = m->memory_limit;
    const char *f0 = pc_line_function(p, s->location_id[0], 0);
    const char *f1 = pc_line_function(p, s->location_id[1], 0);
    if (strcmp(f0, leaf) == 0 && strcmp(f1, alloc) == 0) v.named++;
    if (f0[0] == '\0' && f1[0] == '\0') v.unnamed++;
    if (!(strcmp(f0, leaf) == 0 && strcmp(f1, alloc) == 0) && !(f0[0] == '\0' && f1[0] == '\0'))
      fprintf(stderr, "a block of %s allocated in %s <- %s\n", path, f0, f1);
  }
  return v;
}

/* No location anywhere is named after a function starting with prefix
 * unless it lies in the mapping named path. */
static void check_names_only_in(const profile_pb *p, const char *prefix, const char *path) {
  for (size_t i = 0; i < p->n_location; i++) {
    const Perftools__Profiles__Location *l = p->location[i];
    const Perftools__Profiles__Mapping *m = l->mapping_id ? pc_mapping(p, l->mapping_id) : NULL;
    for (size_t k = 0; k < l->n_line; k++) {
      const char *f = pc_line_function(p, l->id, k);
      if (strncmp(f, prefix, strlen(prefix)) != 0) continue;
      PC_CHECK(m != NULL && strcmp(pc_str(p, m->filename), path) == 0,
               "location %#" PRIx64 " named %s is in %s", l->address, f,
               m ? pc_str(p, m->filename) : "no mapping");
    }
  }
}

/* reuse, reuse_dump: LIBA, then LIBB at its address, each allocating
 * blocks of SIZE_A through the same stack. Returns 0, or 77 when LIBB
 * landed elsewhere. */
static int run_reuse(const char *liba, const char *libb, const char *dir, int dump_between) {
  struct lib libs[2];
  for (int r = 0; r < 2; r++) {
    if (r == 0) {
      libs[0] = open_lib(liba, "dlc_a");
    } else {
      char path[sizeof pc_dir + 64], away[sizeof pc_dir + 128];
      snprintf(path, sizeof path, "%s/between.pb.gz", dir);
      snprintf(away, sizeof away, "%s.away", liba);
      /* A dump maps the files it reads names from: a first one maps what
       * every dump needs, and LIBA's file is away during the one after
       * dlclose (its frames unnamed there), so that LIBA's hole is left to
       * LIBB. The final dump finds the file back. */
      if (dump_between && allocprof_dump(path) != 0) pc_die("allocprof_dump %s failed", path);
      if (dlclose(libs[0].handle) != 0) pc_die("dlclose: %s", dlerror());
      if (dump_between) {
        if (rename(liba, away) != 0) pc_die("rename %s", liba);
        if (allocprof_dump(path) != 0) pc_die("allocprof_dump %s failed", path);
        if (rename(away, liba) != 0) pc_die("rename %s", away);
      }
      libs[1] = open_lib(libb, "dlc_b");
      if (libs[1].base != libs[0].base) {
        fprintf(stderr, "SKIP: %s at %#lx, %s was at %#lx: the loader did not reuse the address\n",
                libb, (unsigned long)libs[1].base, liba, (unsigned long)libs[0].base);
        return 77;
      }
      if (!dump_between) lib_alloc(&libs[1], blocks_b2, N_B, SIZE_B); /* a new stack through LIBB */
    }
    lib_alloc(&libs[r], r ? blocks_b : blocks_a, r ? N_B : N_A, SIZE_A); /* the same stack twice */
  }
  profile_pb *p = dump(dir, "reuse");
  struct lib_view va = view(p, liba, SIZE_A, "dlc_a");
  struct lib_view vb = view(p, libb, SIZE_A, "dlc_b");
  PC_CHECK(va.inuse == N_A && va.samples > 0 && va.named == va.samples,
           "closed library: %" PRId64 " of %d blocks, %d/%d samples named", va.inuse, N_A, va.named,
           va.samples);
  PC_CHECK(vb.inuse == N_B && vb.samples > 0 && vb.named == vb.samples,
           "loaded library: %" PRId64 " of %d blocks, %d/%d samples named", vb.inuse, N_B, vb.named,
           vb.samples);
  if (!dump_between) {
    struct lib_view vb2 = view(p, libb, SIZE_B, "dlc_b");
    PC_CHECK(vb2.inuse == N_B && vb2.named == vb2.samples,
             "loaded library, its own size: %" PRId64 " of %d blocks, %d/%d samples named",
             vb2.inuse, N_B, vb2.named, vb2.samples);
  }
  PC_CHECK(va.start < vb.limit && vb.start < va.limit, "the mappings do not overlap");
  PC_CHECK(va.build_id[0] != '\0' && strcmp(va.build_id, vb.build_id) != 0, "build IDs %s and %s",
           va.build_id, vb.build_id);
  check_names_only_in(p, "dlc_a_", liba);
  check_names_only_in(p, "dlc_b_", libb);
  pc_check_header(p, 1);
  profile_free(p);
  dlclose(libs[1].handle);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4)
    pc_die("usage: prof_dlclose named|reuse|reuse_dump|deleted|replaced LIBA LIBB|- [DIR]");
  it_require_liballoc("prof_dlclose");
  const char *mode = argv[1], *liba = argv[2], *libb = argv[3];
  const char *dir = pc_tmpdir(argc, argv, 4);
  if (allocprof_set_rate(1) != 0) pc_die("allocprof_set_rate");

  char copy[sizeof pc_dir + 64];
  const char *path_a = liba;
  int file_case = strcmp(mode, "deleted") == 0 || strcmp(mode, "replaced") == 0;
  if (file_case) {
    snprintf(copy, sizeof copy, "%s/libdlc_copy.so", dir);
    copy_file(liba, copy);
    path_a = copy;
  }

  if (strncmp(mode, "reuse", 5) == 0) {
    /* a copy of LIBA, which reuse_dump moves away for a while */
    snprintf(copy, sizeof copy, "%s/libdlc_a.so", dir);
    copy_file(liba, copy);
    int rc = run_reuse(copy, libb, dir, strcmp(mode, "reuse_dump") == 0);
    for (int i = 0; i < N_A; i++) free(blocks_a[i]);
    for (int i = 0; i < N_B; i++) free(blocks_b[i]), free(blocks_b2[i]);
    pc_tmpdir_cleanup();
    if (pc_failures) fprintf(stderr, "prof_dlclose %s: %d check(s) failed\n", mode, pc_failures);
    return rc == 77 ? 77 : pc_failures ? 1 : 0;
  }
  struct lib a = run_lib(path_a, "dlc_a", blocks_a, N_A, SIZE_A);
  char loaded_build_id[200] = "";
  if (file_case) {
    /* while loaded: named, and the build ID the closed one must keep */
    profile_pb *p = dump(dir, "loaded");
    struct lib_view v = view(p, path_a, SIZE_A, "dlc_a");
    PC_CHECK(v.inuse == N_A && v.named == v.samples, "loaded: %" PRId64 " in use, %d/%d named",
             v.inuse, v.named, v.samples);
    PC_CHECK(v.build_id[0] != '\0', "loaded: no build ID");
    snprintf(loaded_build_id, sizeof loaded_build_id, "%s", v.build_id);
    profile_free(p);
  }
  if (dlclose(a.handle) != 0) pc_die("dlclose: %s", dlerror());

  if (strcmp(mode, "named") == 0) {
    profile_pb *p = dump(dir, "named");
    struct lib_view v = view(p, path_a, SIZE_A, "dlc_a");
    PC_CHECK(v.inuse == N_A, "%" PRId64 " of %d blocks found in %s", v.inuse, N_A, path_a);
    PC_CHECK(v.samples > 0 && v.named == v.samples,
             "%d of %d samples named dlc_a_leaf <- dlc_a_alloc", v.named, v.samples);
    PC_CHECK(v.build_id[0] != '\0', "the closed library's mapping has no build ID");
    pc_check_header(p, 1);
    profile_free(p);
  } else if (file_case) {
    if (strcmp(mode, "replaced") == 0)
      copy_file(libb, copy);
    else if (unlink(copy) != 0)
      pc_die("unlink %s", copy);
    profile_pb *p = dump(dir, mode);
    struct lib_view v = view(p, path_a, SIZE_A, "dlc_a");
    PC_CHECK(v.inuse == N_A, "%" PRId64 " of %d blocks found in %s", v.inuse, N_A, path_a);
    PC_CHECK(v.samples > 0 && v.unnamed == v.samples, "%d of %d samples unnamed", v.unnamed,
             v.samples);
    PC_CHECK(strcmp(v.build_id, loaded_build_id) == 0, "build ID %s, %s when loaded", v.build_id,
             loaded_build_id);
    check_names_only_in(p, "dlc_b_", "(nowhere)");
    pc_check_header(p, 1);
    profile_free(p);
  } else {
    pc_die("unknown mode %s", mode);
  }
  for (int i = 0; i < N_A; i++) free(blocks_a[i]);
  for (int i = 0; i < N_B; i++) free(blocks_b[i]);
  pc_tmpdir_cleanup();
  if (pc_failures) fprintf(stderr, "prof_dlclose %s: %d check(s) failed\n", mode, pc_failures);
  return pc_failures ? 1 : 0;
}
