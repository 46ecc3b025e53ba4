/* mprof_objects.c: the registry of loaded objects (mprof_objects.h). Overview: mprof.h.
 *
 * Why. A bucket keeps return addresses; a dump used to name them after the
 * objects mapped at dump time. A library that allocated and was then closed
 * with dlclose left its stacks unnamed, or named after a different library
 * mapped later at the same address. So each new bucket records, per frame,
 * which load of which object held it, while the frame is surely still
 * there (it is on the sampling thread's stack), and the dump symbolizes
 * from that record (profile.c).
 *
 * What makes one entry. The loader's answer for an address
 * (_dl_find_object: lock-free, async-signal-safe, no fence needed) gives the
 * object's range and link_map, hence its name and bias. Those pointers prove
 * nothing across a dlclose: the link_map and its name are malloc'd, by us,
 * and a library of the same name length opened right after gets the same
 * blocks back; the range is reused by the next mapping of the same size. So
 * an entry is identified by its content: (range, main-program flag, path,
 * build ID read from the object's own PT_NOTE in memory). The same file
 * reopened at the same address is the same entry (same code, same names;
 * the registry stays bounded under dlopen/dlclose loops); anything else is
 * a new one. Without build IDs, two different files at one path and range
 * would share an entry: the price of not opening files on this path.
 *
 * When an entry is known to be closed: when a new bucket finds another
 * object overlapping its range (above), or when a dump finds it in none of
 * the loaded objects (prof_objects_sweep). The buckets that name a closed
 * entry then leave the bucket table (buckets.c), so that later stacks, even
 * with the same addresses, make new buckets with new entries. Between an
 * unload and its detection, a stack of the new object equal in every frame
 * and in size to a bucket of the old one is charged to the old bucket: the
 * one wrong attribution left, which only a check per sample could avoid.
 *
 * Cost: nothing per sample. Per new bucket, a _dl_find_object per frame
 * whose address is outside the objects already seen in that stack, per
 * distinct object in it a hash probe, a string compare and a walk of its
 * program headers and notes (tens of nanoseconds each), and the interning
 * of the stack's vector of ids (a hash probe): about 0.2 us for a stack of
 * seven frames. Memory: a bucket holds the index of its vector in the
 * header's spare word; stacks share a few vectors, so 100,000 buckets cost
 * some kilobytes more, not 4 bytes a frame.
 *
 * Locking: prof_lock guards everything. Entries are never freed nor moved,
 * and every field but `closed` is written before the entry is published,
 * so a dump reads them without the lock once it has their pointers. */
#define _GNU_SOURCE
#include "mprof_objects.h"

#include <dlfcn.h>
#include <string.h>
#include <sys/auxv.h>

#include "metalloc.h"
#include "mprof_state.h"
#include "sys.h"

/* ---- build IDs from memory ------------------------------------------------ */

static void hex_encode(char *dst, const unsigned char *bits, size_t len) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < len; i++) {
    dst[2 * i] = digits[bits[i] >> 4];
    dst[2 * i + 1] = digits[bits[i] & 15];
  }
  dst[2 * len] = '\0';
}

/* Is [vaddr, vaddr + size) inside the file part of one PT_LOAD segment, so
 * that reading it at bias + vaddr touches mapped memory? */
static int in_loaded_segment(const ElfW(Phdr) * phdr, size_t phnum, uintptr_t vaddr,
                             uintptr_t size) {
  for (size_t i = 0; i < phnum; i++) {
    const ElfW(Phdr) *ph = &phdr[i];
    if (ph->p_type != PT_LOAD) continue;
    if (vaddr >= ph->p_vaddr && size <= ph->p_filesz && vaddr - ph->p_vaddr <= ph->p_filesz - size)
      return 1;
  }
  return 0;
}

/* NT_GNU_BUILD_ID among the notes of one PT_NOTE segment. */
static int note_build_id(uintptr_t bias, const ElfW(Phdr) * phdr, size_t phnum,
                         const ElfW(Phdr) * ph, char *hex) {
  if (ph->p_filesz == 0 || !in_loaded_segment(phdr, phnum, ph->p_vaddr, ph->p_filesz)) return 0;
  const unsigned char *p = (const unsigned char *)(bias + ph->p_vaddr);
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
      if (nh.n_descsz == 0 || nh.n_descsz > PROF_OBJECT_BUILD_ID_MAX) return 0;
      hex_encode(hex, desc, nh.n_descsz);
      return 1;
    }
    p += sizeof nh + namesz + descsz;
    left = body - namesz - descsz;
  }
  return 0;
}

int mprof_elf_build_id(uintptr_t bias, const ElfW(Phdr) * phdr, size_t phnum, char *hex) {
  hex[0] = '\0';
  for (size_t i = 0; i < phnum; i++)
    if (phdr[i].p_type == PT_NOTE && note_build_id(bias, phdr, phnum, &phdr[i], hex)) return 1;
  return 0;
}

/* ---- the table ------------------------------------------------------------- */

#define OBJ_HASH 256 /* chains by start address; objects number in the tens */

static struct prof_object *obj_hash[OBJ_HASH]; /* prof_lock */
static struct prof_object **obj_v;             /* obj_v[id - 1]; prof_lock */
static uint32_t obj_n, obj_cap;

static size_t obj_slot(uintptr_t start) { return (start >> 12) * 0x9e3779b1u % OBJ_HASH; }

uint32_t prof_objects_count(void) { return obj_n; }

const struct prof_object *prof_object_get(uint32_t id) {
  return id >= 1 && id <= obj_n ? obj_v[id - 1] : NULL;
}

int prof_object_closed(uint32_t id) { return id >= 1 && id <= obj_n && obj_v[id - 1]->closed; }

/* What the loader says about the object at pc, read from its memory. */
struct obj_probe {
  uintptr_t start, end, bias;
  const char *path;
  int is_main;
  const ElfW(Phdr) * phdr;
  size_t phnum;
  char build_id[2 * PROF_OBJECT_BUILD_ID_MAX + 1];
};

/* The program headers of a loaded object: the main program's from the
 * auxiliary vector, others' from the ELF header their first segment maps
 * at its start, trusted only if the header and its table lie in that first
 * page, which is mapped and readable as long as the object is loaded. */
static void probe_headers(struct obj_probe *p) {
  p->phdr = NULL;
  p->phnum = 0;
  uintptr_t aux_phdr = getauxval(AT_PHDR);
  if (aux_phdr >= p->start && aux_phdr < p->end) {
    p->is_main = 1;
    p->phdr = (const ElfW(Phdr) *)aux_phdr;
    p->phnum = getauxval(AT_PHNUM);
    return;
  }
  if (p->end - p->start < sizeof(ElfW(Ehdr))) return;
  const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)p->start;
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_phentsize != sizeof(ElfW(Phdr))) return;
  size_t bytes = (size_t)eh->e_phnum * sizeof(ElfW(Phdr));
  if (eh->e_phoff > 4096 || bytes > 4096 - eh->e_phoff || eh->e_phoff + bytes > p->end - p->start)
    return;
  p->phdr = (const ElfW(Phdr) *)(p->start + eh->e_phoff);
  p->phnum = eh->e_phnum;
}

static int probe(uintptr_t pc, struct obj_probe *p) {
#ifndef DLFO_STRUCT_HAS_EH_DBASE /* glibc before 2.35: no _dl_find_object */
  (void)pc;
  (void)p;
  return -1;
#else
  struct dl_find_object fo;
  if (_dl_find_object((void *)pc, &fo) != 0 || fo.dlfo_link_map == NULL) return -1;
  p->start = (uintptr_t)fo.dlfo_map_start;
  p->end = (uintptr_t)fo.dlfo_map_end;
  p->bias = fo.dlfo_link_map->l_addr;
  p->path = fo.dlfo_link_map->l_name ? fo.dlfo_link_map->l_name : "";
  p->is_main = 0;
  probe_headers(p);
  mprof_elf_build_id(p->bias, p->phdr, p->phnum, p->build_id);
  return 0;
#endif
}

static int same_object(const struct prof_object *o, const struct obj_probe *p) {
  return o->start == p->start && o->end == p->end && o->bias == p->bias &&
         o->is_main == p->is_main && strcmp(o->build_id, p->build_id) == 0 &&
         strcmp(o->path, p->path) == 0;
}

/* Closes the open entries whose range overlaps [start, end). */
static int close_overlapping(uintptr_t start, uintptr_t end) {
  int closed = 0;
  for (uint32_t i = 0; i < obj_n; i++) {
    struct prof_object *o = obj_v[i];
    if (o->closed || o->end <= start || o->start >= end) continue;
    o->closed = 1;
    closed++;
  }
  return closed;
}

static struct prof_object *add_object(const struct obj_probe *p) {
  if (obj_n == obj_cap) {
    uint32_t ncap = obj_cap ? 2 * obj_cap : 512; /* a page */
    struct prof_object **nv = sys_alloc(ncap * sizeof *nv);
    if (nv == NULL) return NULL;
    if (obj_n) memcpy(nv, obj_v, obj_n * sizeof *nv);
    if (obj_v != NULL) sys_free_metadata(obj_v, obj_cap * sizeof *obj_v);
    prof_hot.counters.metadata_bytes += (ncap - obj_cap) * sizeof *nv;
    obj_v = nv;
    obj_cap = ncap;
  }
  size_t plen = strlen(p->path);
  struct prof_object *o = persistentalloc(sizeof *o, 8);
  char *path = persistentalloc(plen + 1, 1);
  if (o == NULL || path == NULL) return NULL; /* persistentalloc memory is not given back */
  prof_hot.counters.metadata_bytes += sizeof *o + plen + 1;
  memcpy(path, p->path, plen + 1);
  o->start = p->start;
  o->end = p->end;
  o->bias = p->bias;
  o->path = path;
  memcpy(o->build_id, p->build_id, sizeof o->build_id);
  o->is_main = (uint8_t)p->is_main;
  for (size_t i = 0; i < p->phnum && o->nsegs < PROF_OBJECT_MAX_SEGS; i++) {
    const ElfW(Phdr) *ph = &p->phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X) || ph->p_memsz == 0) continue;
    struct prof_object_seg *s = &o->segs[o->nsegs++];
    s->start = p->bias + ph->p_vaddr;
    s->limit = s->start + ph->p_memsz;
    s->file_offset = ph->p_offset;
  }
  o->id = ++obj_n;
  obj_v[o->id - 1] = o;
  size_t j = obj_slot(o->start);
  o->hash_next = obj_hash[j];
  obj_hash[j] = o;
  return o;
}

/* The entry of the object a probe describes, made if new. */
static uint32_t entry_for(const struct obj_probe *p, int *nclosed) {
  for (struct prof_object *o = obj_hash[obj_slot(p->start)]; o != NULL; o = o->hash_next) {
    if (!same_object(o, p)) continue;
    if (o->closed) {
      *nclosed += close_overlapping(p->start, p->end); /* what replaced it went too */
      o->closed = 0;                                   /* the same file, back */
    }
    return o->id;
  }
  *nclosed += close_overlapping(p->start, p->end);
  struct prof_object *o = add_object(p);
  return o ? o->id : 0;
}

/* ---- objects.h --------------------------------------------------------------- */

/* The objects already met in the stack being recorded. */
#define SEEN_MAX 8

int prof_objects_of_frames(const uintptr_t *frames, int n, uint32_t *ids) {
  struct {
    uintptr_t start, end;
    uint32_t id;
  } seen[SEEN_MAX];
  int nseen = 0, nclosed = 0;
  for (int k = 0; k < n; k++) {
    uintptr_t pc = frames[k] - 1;
    ids[k] = 0;
    int i = 0;
    while (i < nseen && !(pc >= seen[i].start && pc < seen[i].end)) i++;
    if (i < nseen) {
      ids[k] = seen[i].id;
      continue;
    }
    struct obj_probe p;
    if (probe(pc, &p) != 0) continue;
    ids[k] = entry_for(&p, &nclosed);
    if (ids[k] != 0 && nseen < SEEN_MAX) {
      seen[nseen].start = p.start;
      seen[nseen].end = p.end;
      seen[nseen].id = ids[k];
      nseen++;
    }
  }
  return nclosed;
}

int prof_objects_sweep(int (*live)(const struct prof_object *o, void *arg), void *arg,
                       uint32_t upto) {
  int closed = 0;
  for (uint32_t i = 0; i < obj_n && i < upto; i++) {
    struct prof_object *o = obj_v[i];
    if (o->closed || o->is_main || live(o, arg)) continue;
    o->closed = 1;
    closed++;
  }
  return closed;
}

/* ---- interned vectors of ids ------------------------------------------------- */

struct obj_vec {
  struct obj_vec *next; /* hash chain (first: prof_table_grow moves nodes by it) */
  uint64_t hash;
  uint32_t index; /* in vec_v, + 1 */
  uint32_t n;
  uint32_t ids[];
};

static struct obj_vec **vec_table; /* prof_lock */
static size_t vec_table_size;
static struct obj_vec **vec_v; /* vec_v[index - 1] */
static uint32_t vec_n, vec_cap;

static uint64_t vec_hash(const uint32_t *ids, int n) {
  uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
  for (int k = 0; k < n; k++) h = (h ^ ids[k]) * 0x100000001b3ull;
  return h ^ (h >> 31);
}

static size_t vec_slot(const void *node, size_t size) {
  return ((const struct obj_vec *)node)->hash & (size - 1);
}

static int vec_grow(void) {
  if (vec_n >= vec_table_size) {
    size_t nsize = vec_table_size ? 2 * vec_table_size : 512;
    void **nt = prof_table_grow((void **)vec_table, vec_table_size, nsize, vec_slot, 1);
    if (nt == NULL) return -1;
    vec_table = (struct obj_vec **)nt;
    vec_table_size = nsize;
  }
  if (vec_n == vec_cap) {
    uint32_t ncap = vec_cap ? 2 * vec_cap : 512;
    struct obj_vec **nv = sys_alloc(ncap * sizeof *nv);
    if (nv == NULL) return -1;
    if (vec_n) memcpy(nv, vec_v, vec_n * sizeof *nv);
    if (vec_v != NULL) sys_free_metadata(vec_v, vec_cap * sizeof *vec_v);
    prof_hot.counters.metadata_bytes += (ncap - vec_cap) * sizeof *nv;
    vec_v = nv;
    vec_cap = ncap;
  }
  return 0;
}

uint32_t prof_objects_vec(const uint32_t *ids, int n) {
  int any = 0;
  for (int k = 0; k < n && !any; k++) any = ids[k] != 0;
  if (!any) return 0;
  uint64_t h = vec_hash(ids, n);
  if (vec_table_size != 0) {
    for (struct obj_vec *v = vec_table[h & (vec_table_size - 1)]; v != NULL; v = v->next)
      if (v->hash == h && v->n == (uint32_t)n && memcmp(v->ids, ids, (size_t)n * sizeof *ids) == 0)
        return v->index;
  }
  if (vec_grow() != 0 || vec_n == UINT32_MAX) return 0;
  size_t bytes = sizeof(struct obj_vec) + (size_t)n * sizeof *ids;
  struct obj_vec *v = persistentalloc(bytes, 8);
  if (v == NULL) return 0;
  prof_hot.counters.metadata_bytes += bytes;
  v->hash = h;
  v->n = (uint32_t)n;
  memcpy(v->ids, ids, (size_t)n * sizeof *ids);
  v->index = ++vec_n;
  vec_v[v->index - 1] = v;
  size_t j = h & (vec_table_size - 1);
  v->next = vec_table[j];
  vec_table[j] = v;
  return v->index;
}

const uint32_t *prof_objects_vec_ids(uint32_t vec) {
  return vec >= 1 && vec <= vec_n ? vec_v[vec - 1]->ids : NULL;
}
