/* mappings.c: loaded objects -> prof_mapping table (mappings.h).
 *
 * Everything comes from the dynamic loader (dl_iterate_phdr) and from memory:
 * no file is opened but /proc/self/exe (a readlink). Build IDs are read from
 * the objects' PT_NOTE segments as mapped (mprof_elf_build_id, objects.h,
 * shared with the registry of objects the sampling half keeps). */
#define _GNU_SOURCE
#include "mappings.h"

#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "loaderfence.h"
#include "mprof_objects.h"

_Static_assert(PROF_BUILD_ID_MAX == PROF_OBJECT_BUILD_ID_MAX, "one build ID size");

/* ---- helpers ---- */

static void copy_str(char *dst, size_t cap, const char *src) {
  size_t len = strlen(src);
  if (len >= cap) len = cap - 1;
  memcpy(dst, src, len);
  dst[len] = '\0';
}

/* ---- collection ---- */

struct collect_state {
  struct prof_mapping *v;
  size_t n, cap;
  int failed;
  unsigned index;      /* objects seen so far */
  uintptr_t main_phdr; /* AT_PHDR: the main program's program headers */
  uintptr_t vdso_ehdr; /* AT_SYSINFO_EHDR: the vDSO's ELF header, or 0 */
  char exe[PATH_MAX];  /* /proc/self/exe's target, or "" */
};

static int collect_object(struct dl_phdr_info *info, size_t size, void *arg) {
  struct collect_state *st = arg;
  unsigned index = st->index++;
  const char *name = info->dlpi_name ? info->dlpi_name : "";
  uintptr_t phdr = (uintptr_t)info->dlpi_phdr;
  int is_main = (st->main_phdr != 0 && phdr == st->main_phdr) ||
                (st->main_phdr == 0 && index == 0 && name[0] == '\0');
  /* The vDSO's program headers follow its ELF header within its first page. */
  int is_vdso = st->vdso_ehdr != 0 && phdr >= st->vdso_ehdr && phdr - st->vdso_ehdr < 4096;
  const char *path = is_main ? (st->exe[0] ? st->exe : name) : is_vdso ? "[vdso]" : name;

  char build_id[2 * PROF_BUILD_ID_MAX + 1];
  mprof_elf_build_id(info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum, build_id);

  for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X) || ph->p_memsz == 0) continue;
    if (st->n == st->cap) {
      size_t cap = st->cap ? 2 * st->cap : 16;
      struct prof_mapping *v = realloc(st->v, cap * sizeof *v);
      if (v == NULL) {
        st->failed = 1;
        return 1; /* stops the iteration */
      }
      st->v = v;
      st->cap = cap;
    }
    struct prof_mapping *m = &st->v[st->n++];
    m->start = info->dlpi_addr + ph->p_vaddr;
    m->limit = m->start + ph->p_memsz;
    m->file_offset = ph->p_offset;
    m->bias = info->dlpi_addr;
    copy_str(m->path, sizeof m->path, path);
    memcpy(m->build_id, build_id, sizeof m->build_id);
    m->is_main = is_main;
  }
  return 0;
}

static int by_start(const void *a, const void *b) {
  const struct prof_mapping *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start;
}

int prof_mappings_collect(struct prof_mapping **out, size_t *n) {
  if (out == NULL || n == NULL) {
    errno = EINVAL;
    return -1;
  }
  *out = NULL;
  *n = 0;
  struct collect_state *st = calloc(1, sizeof *st); /* PATH_MAX is big for a stack */
  if (st == NULL) return -1;
  st->main_phdr = getauxval(AT_PHDR);
  st->vdso_ehdr = getauxval(AT_SYSINFO_EHDR);
  ssize_t len = readlink("/proc/self/exe", st->exe, sizeof st->exe - 1);
  st->exe[len > 0 ? len : 0] = '\0';

  alloc_loader_enter();
  dl_iterate_phdr(collect_object, st);
  alloc_loader_exit();
  if (st->failed) {
    free(st->v);
    free(st);
    errno = ENOMEM;
    return -1;
  }
  if (st->n > 1) qsort(st->v, st->n, sizeof *st->v, by_start);
  *out = st->v;
  *n = st->n;
  free(st);
  return 0;
}

struct loader_counts {
  int known;
  unsigned long long adds, subs;
};

static int read_counts(struct dl_phdr_info *info, size_t size, void *arg) {
  struct loader_counts *c = arg;
  if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
    c->known = 1;
    c->adds = info->dlpi_adds;
    c->subs = info->dlpi_subs;
  }
  return 1; /* the counters are the same in every entry: one is enough */
}

int prof_loader_counts(unsigned long long *adds, unsigned long long *subs) {
  struct loader_counts c = {0, 0, 0};
  alloc_loader_enter();
  dl_iterate_phdr(read_counts, &c);
  alloc_loader_exit();
  if (!c.known) return 0;
  *adds = c.adds;
  *subs = c.subs;
  return 1;
}

void prof_mappings_free(struct prof_mapping *m) { free(m); }

const struct prof_mapping *prof_mapping_find(const struct prof_mapping *m, size_t n,
                                             uintptr_t addr) {
  if (m == NULL) return NULL;
  /* The last mapping whose start <= addr, by binary search. */
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (m[mid].start <= addr)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == 0) return NULL;
  const struct prof_mapping *c = &m[lo - 1];
  return addr < c->limit ? c : NULL;
}
