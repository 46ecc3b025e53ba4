/* symbolize_cost: how long `allocprof symbolize` takes to name 100,000
 * locations of a real library, and the memory it needs, against the bar set
 * for it (issue 17): under a few seconds (3 s of CPU here), memory bounded by
 * the input.
 *
 * It writes a profile (gzip pprof) of one mapping, LIB's executable segment
 * at an address a process could have put it, with its build ID, and 100,000
 * locations without names spread evenly over the segment's code; 100,000
 * samples of 8 frames, each location the leaf of one. Then it runs
 * `allocprof symbolize -o DIR/out.pb.gz` on it and prints the wall-clock
 * and CPU time of the child, its peak RSS (ru_maxrss) and what it named.
 * The default LIB is Debian's libc.so.6, stripped, whose debug file
 * (libc6-dbg) is found by build ID under /usr/lib/debug: DWARF with inlined
 * calls, as a distro symbolizes. Exits 0 within the bar, 1 over it, 2 when
 * it cannot run. KEEP=1 keeps the files.
 *   build/bench/bench_symbolize_cost build/cli/allocprof [LIB [DIR]] */
#define _GNU_SOURCE
#include <elf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_child.h"

#include "profile_builder.h"

#define BAR_S 3.0
#define NLOC 100000
#define DEPTH 8
#define BASE 0x7f3a12000000ULL

/* The executable PT_LOAD and the build ID of an ELF64 file. */
typedef struct elfinfo {
  uint64_t off, vaddr, size;
  char build_id[2 * 64 + 1];
} elfinfo;

static int read_elf(const char *path, elfinfo *e) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  Elf64_Ehdr eh;
  int rc = -1;
  memset(e, 0, sizeof *e);
  if (fread(&eh, sizeof eh, 1, f) != 1 || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
      eh.e_ident[EI_CLASS] != ELFCLASS64)
    goto done;
  for (int i = 0; i < eh.e_phnum; i++) {
    Elf64_Phdr ph;
    if (fseek(f, (long)(eh.e_phoff + (uint64_t)i * eh.e_phentsize), SEEK_SET) != 0 ||
        fread(&ph, sizeof ph, 1, f) != 1)
      goto done;
    if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X) && e->size == 0) {
      e->off = ph.p_offset;
      e->vaddr = ph.p_vaddr;
      e->size = ph.p_filesz;
    } else if (ph.p_type == PT_NOTE && ph.p_filesz < 65536) {
      unsigned char *buf = malloc(ph.p_filesz);
      if (!buf || fseek(f, (long)ph.p_offset, SEEK_SET) != 0 ||
          fread(buf, 1, ph.p_filesz, f) != ph.p_filesz) {
        free(buf);
        goto done;
      }
      for (size_t p = 0; p + sizeof(Elf64_Nhdr) <= ph.p_filesz;) {
        const Elf64_Nhdr *n = (const Elf64_Nhdr *)(buf + p);
        size_t name = (n->n_namesz + 3) & ~3u, desc = (n->n_descsz + 3) & ~3u;
        const unsigned char *d = buf + p + sizeof *n + name;
        if (n->n_type == NT_GNU_BUILD_ID && n->n_descsz <= 64 &&
            p + sizeof *n + name + n->n_descsz <= ph.p_filesz)
          for (unsigned k = 0; k < n->n_descsz; k++) sprintf(e->build_id + 2 * k, "%02x", d[k]);
        p += sizeof *n + name + desc;
      }
      free(buf);
    }
  }
  rc = e->size > 0 ? 0 : -1;
done:
  fclose(f);
  return rc;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* The profile: one mapping, NLOC unnamed locations, NLOC samples. */
static int write_profile(const char *lib, const elfinfo *e, const char *path) {
  profile_builder *b = profile_builder_new();
  if (!b) return -1;
  profile_builder_add_sample_type(b, "inuse_objects", "count");
  profile_builder_add_sample_type(b, "inuse_space", "bytes");
  profile_builder_set_period(b, "space", "bytes", 524288);
  uint64_t start = BASE + (e->vaddr & ~0xfffULL);
  uint64_t first = BASE + e->vaddr; /* the segment's first byte */
  profile_mapping_info mi = {.memory_start = start,
                             .memory_limit = (first + e->size + 0xfff) & ~0xfffULL,
                             .file_offset = e->off & ~0xfffULL,
                             .filename = lib,
                             .build_id = e->build_id};
  uint64_t mid = profile_builder_add_mapping(b, &mi);
  static uint64_t loc[NLOC];
  for (size_t i = 0; i < NLOC; i++)
    loc[i] = profile_builder_add_location(b, mid, first + i * (e->size / NLOC), NULL, 0, false);
  for (size_t i = 0; i < NLOC; i++) {
    uint64_t stack[DEPTH] = {loc[i]};
    for (int d = 1; d < DEPTH; d++) stack[d] = loc[next() % NLOC];
    int64_t v[2] = {1, (int64_t)(16 + next() % 4096)};
    profile_builder_add_sample(b, stack, DEPTH, v, 2, NULL, 0);
  }
  char err[256];
  int rc = profile_builder_ok(b) && profile_builder_write_file(b, path, err, sizeof err) == 0;
  profile_builder_free(b);
  return rc ? 0 : -1;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 4) {
    fprintf(stderr, "usage: %s ALLOCPROF [LIB [DIR]]\n", argv[0]);
    return 2;
  }
  const char *lib = argc >= 3 ? argv[2] : "/usr/lib/x86_64-linux-gnu/libc.so.6";
  const char *dir = argc == 4 ? argv[3] : "/tmp";
  char in[4096], out[4096], errf[4096], line[512] = "";
  snprintf(in, sizeof in, "%s/symbolize_cost.in.pb.gz", dir);
  snprintf(out, sizeof out, "%s/symbolize_cost.out.pb.gz", dir);
  snprintf(errf, sizeof errf, "%s/symbolize_cost.err", dir);
  elfinfo e;
  if (read_elf(lib, &e) != 0 || !e.build_id[0]) {
    fprintf(stderr, "symbolize_cost: %s: not an ELF64 file with code and a build ID\n", lib);
    return 2;
  }
  if (write_profile(lib, &e, in) != 0) {
    fprintf(stderr, "symbolize_cost: cannot write %s\n", in);
    return 2;
  }
  char *cmd[] = {argv[1], "symbolize", "-o", out, in, NULL};
  struct bench_child_cost c;
  int rc = bench_run_child(cmd, errf, &c);
  FILE *f = fopen(errf, "r");
  if (f) {
    if (!fgets(line, sizeof line, f)) line[0] = 0;
    fclose(f);
  }
  line[strcspn(line, "\n")] = 0;
  if (rc != 0) {
    fprintf(stderr, "symbolize_cost: allocprof symbolize failed: %s\n", line);
    return 2;
  }
  FILE *sf = fopen(in, "rb");
  long size = 0;
  if (sf && fseek(sf, 0, SEEK_END) == 0) size = ftell(sf);
  if (sf) fclose(sf);
  printf("%s (%.2f MB of code, build ID %.12s): %d locations, profile %.1f MB\n", lib,
         (double)e.size / 1e6, e.build_id, NLOC, (double)size / 1e6);
  printf("  %s\n", line);
  printf("  symbolize: %.2f s (CPU %.2f s), peak RSS %ld MiB: %s\n", c.secs, c.cpu,
         c.rss_kib / 1024, c.cpu <= BAR_S ? "within the bar" : "OVER the bar");
  if (!getenv("KEEP")) unlink(in), unlink(out), unlink(errf);
  return c.cpu <= BAR_S ? 0 : 1;
}
