/* mappings.c: loaded objects -> prof_mapping table (mappings.h).
 *
 * Everything comes from the dynamic loader (dl_iterate_phdr) and from memory:
 * no file is opened but /proc/self/exe (a readlink). Build IDs are read from
 * the objects' PT_NOTE segments as mapped, after checking that the note lies
 * inside one of the object's PT_LOAD segments, so an odd object (a note
 * outside every loaded segment, a truncated note) is skipped, never read out
 * of bounds. */
#define _GNU_SOURCE
#include "mappings.h"

#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "loaderfence.h"

/* ---- helpers ---- */

static void copy_str(char *dst, size_t cap, const char *src) {
  size_t len = strlen(src);
  if (len >= cap) len = cap - 1;
  memcpy(dst, src, len);
  dst[len] = '\0';
}

static void hex_encode(char *dst, const unsigned char *bits, size_t len) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < len; i++) {
    dst[2 * i] = digits[bits[i] >> 4];
    dst[2 * i + 1] = digits[bits[i] & 15];
  }
  dst[2 * len] = '\0';
}

/* Is [vaddr, vaddr + size) inside one PT_LOAD segment of the object, so that
 * reading it at dlpi_addr + vaddr touches mapped memory? */
static int in_loaded_segment(const struct dl_phdr_info *info, uintptr_t vaddr, uintptr_t size) {
  for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD) continue;
    if (vaddr >= ph->p_vaddr && size <= ph->p_filesz && vaddr - ph->p_vaddr <= ph->p_filesz - size)
      return 1;
  }
  return 0;
}

/* Finds NT_GNU_BUILD_ID in the notes of one PT_NOTE segment; writes its hex
 * form to dst and returns 1, or returns 0. */
static int note_build_id(const struct dl_phdr_info *info, const ElfW(Phdr) *ph, char *dst) {
  if (ph->p_filesz == 0 || !in_loaded_segment(info, ph->p_vaddr, ph->p_filesz)) return 0;
  const unsigned char *p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
  size_t left = ph->p_filesz;
  size_t align = ph->p_align == 8 ? 8 : 4; /* notes pad name and desc to this */
  while (left >= sizeof(ElfW(Nhdr))) {
    ElfW(Nhdr) nh;
    memcpy(&nh, p, sizeof nh);
    size_t namesz = ((size_t)nh.n_namesz + align - 1) & ~(align - 1);
    size_t descsz = ((size_t)nh.n_descsz + align - 1) & ~(align - 1);
    size_t body = left - sizeof nh;
    if (namesz > body || descsz > body - namesz) return 0; /* truncated: stop */
    const unsigned char *name = p + sizeof nh;
    const unsigned char *desc = name + namesz;
    if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
      if (nh.n_descsz == 0 || nh.n_descsz > PROF_BUILD_ID_MAX) return 0;
      hex_encode(dst, desc, nh.n_descsz);
      return 1;
    }
    p += sizeof nh + namesz + descsz;
    left = body - namesz - descsz;
  }
  return 0;
}

/* ---- collection ---- */

struct collect_state {
  struct prof_mapping *v;
  size_t n, cap;
  int failed;
  unsigned index;          /* objects seen so far */
  uintptr_t main_phdr;     /* AT_PHDR: the main program's program headers */
  uintptr_t vdso_ehdr;     /* AT_SYSINFO_EHDR: the vDSO's ELF header, or 0 */
  char exe[PATH_MAX];      /* /proc/self/exe's target, or "" */
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

  char build_id[2 * PROF_BUILD_ID_MAX + 1] = "";
  for (ElfW(Half) i = 0; i < info->dlpi_phnum && build_id[0] == '\0'; i++)
    if (info->dlpi_phdr[i].p_type == PT_NOTE) note_build_id(info, &info->dlpi_phdr[i], build_id);

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

  loader_enter();
  dl_iterate_phdr(collect_object, st);
  loader_exit();
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
