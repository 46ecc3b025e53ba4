/* symbolize.c: addresses -> functions, files and lines, cached (symbolize.h).
 *
 * libdwfl knows the process's objects (read from /proc/self/maps, or from the
 * dynamic loader when /proc is not there), opens their files, and reads their
 * symbol tables, DWARF DIEs and line tables. Four things are done here
 * rather than left to it, each because a dump of many stacks in a big
 * program could not pay libdwfl's way, or should not take its risks:
 *
 *  - Symbol tables. dwfl_module_addrinfo scans a module's whole symbol table
 *    on every call. Each module gets, on its first lookup, an index of its
 *    function symbols (.symtab, or .dynsym when the file is stripped) sorted
 *    by address; a lookup is a binary search in it.
 *  - DWARF functions. dwarf_getscopes walks a CU's whole DIE tree on every
 *    call (and climbs the abstract origin of an inlined call, not its
 *    caller). Each CU gets, on first use, a sorted list of its subprograms'
 *    address ranges; the function of an address is a binary search in it,
 *    and its inlined calls are found by going down from that subprogram
 *    through the blocks that hold the address.
 *  - The cache. Every answer, failures included, is stored in an arena with
 *    its strings interned, under a hash table keyed by the address, so a
 *    second lookup is a probe, and the pointers handed out stay valid until
 *    the symbolizer is freed, even after their object is unloaded.
 *  - Finding files. Separate debug info is looked for on local disk only:
 *    libdwfl's standard search would otherwise load libdebuginfod (with
 *    libcurl and a TLS stack) into the profiled process and might download
 *    in the middle of a dump. Objects deleted since they were mapped are
 *    read through /proc/self/map_files.
 *
 * Objects loaded later: a miss (an address in no known object) re-reads the
 * object list, but only when the loader's add/remove counters (dlpi_adds,
 * dlpi_subs of dl_iterate_phdr) moved since the last reading, so a dump
 * full of unknown addresses re-reads at most once per dlopen. When objects
 * went away, addresses may have been reused: the cache is emptied then.
 * A miss is not enough to see an unload: an address cached while one
 * library was loaded may hit the cache when another sits there, so a dump
 * also asks first (prof_symbolizer_sync).
 *
 * Objects unloaded since their stacks were sampled are not in the process
 * any more, and their addresses may hold other code: a second symbolizer,
 * over files only (prof_symbolizer_new_files), reads each from its file,
 * if the file still carries the build ID the object had in memory, placed
 * at an address range of its own that the dump translates to (profile.c).
 *
 * C++ names are demangled with __cxa_demangle, found through a weak reference
 * (set when the program links libstdc++) or, failing that, in the global
 * scope (libstdc++ dlopen'ed with RTLD_GLOBAL); liballoc never links it. */
#define _GNU_SOURCE
#include "symbolize.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loaderfence.h"

extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status)
    __attribute__((weak));

typedef char *demangle_fn(const char *, char *, size_t *, int *);

/* Functions kept in the chain of inlined calls at one address; a deeper
 * chain loses its middle (the innermost ones and the outermost stay). */
#define MAX_INLINE_DEPTH 32
#define ARENA_BLOCK (64 * 1024)

/* ---- arena: the cache's records and strings, freed all at once ---- */

struct arena_block {
  struct arena_block *next;
  size_t used, cap;
  alignas(max_align_t) unsigned char data[];
};

static void *arena_alloc(struct arena_block **head, size_t size) {
  size = (size + 7) & ~(size_t)7;
  struct arena_block *b = *head;
  if (b == NULL || b->cap - b->used < size) {
    size_t cap = size > ARENA_BLOCK / 4 ? size : ARENA_BLOCK;
    struct arena_block *nb = malloc(sizeof *nb + cap);
    if (nb == NULL) return NULL;
    nb->used = 0;
    nb->cap = cap;
    if (b != NULL && size > ARENA_BLOCK / 4) {
      /* A big one gets its own block behind the current one, which stays
       * open for small allocations. */
      nb->next = b->next;
      b->next = nb;
    } else {
      nb->next = b;
      *head = nb;
    }
    b = nb;
  }
  void *p = b->data + b->used;
  b->used += size;
  return p;
}

static void arena_free(struct arena_block *b) {
  while (b != NULL) {
    struct arena_block *next = b->next;
    free(b);
    b = next;
  }
}

static uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

static uint64_t hash_str(const char *s) {
  uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a, then mixed */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
  return mix64(h);
}

/* ---- interned strings: one copy of each name and path ---- */

struct strtab {
  const char **slot; /* NULL = empty */
  uint64_t *hash;
  size_t cap, count; /* cap: power of two */
};

static int strtab_grow(struct strtab *t) {
  size_t cap = t->cap ? 2 * t->cap : 1024;
  const char **slot = calloc(cap, sizeof *slot);
  uint64_t *hash = malloc(cap * sizeof *hash);
  if (slot == NULL || hash == NULL) {
    free(slot);
    free(hash);
    return -1;
  }
  for (size_t i = 0; i < t->cap; i++) {
    if (t->slot[i] == NULL) continue;
    size_t j = t->hash[i] & (cap - 1);
    while (slot[j] != NULL) j = (j + 1) & (cap - 1);
    slot[j] = t->slot[i];
    hash[j] = t->hash[i];
  }
  free(t->slot);
  free(t->hash);
  t->slot = slot;
  t->hash = hash;
  t->cap = cap;
  return 0;
}

/* The interned copy of s (NULL = ""), or NULL when out of memory. */
static const char *intern(struct strtab *t, struct arena_block **arena, const char *s) {
  if (s == NULL || s[0] == '\0') return "";
  if (4 * (t->count + 1) > 3 * t->cap && strtab_grow(t) != 0) return NULL;
  uint64_t h = hash_str(s);
  size_t i = h & (t->cap - 1);
  for (; t->slot[i] != NULL; i = (i + 1) & (t->cap - 1))
    if (t->hash[i] == h && strcmp(t->slot[i], s) == 0) return t->slot[i];
  size_t len = strlen(s) + 1;
  char *copy = arena_alloc(arena, len);
  if (copy == NULL) return NULL;
  memcpy(copy, s, len);
  t->slot[i] = copy;
  t->hash[i] = h;
  t->count++;
  return copy;
}

/* ---- the cache: address -> record ---- */

struct sym_record {
  const char *module;
  int status;     /* PROF_SYM_* */
  unsigned gen;   /* object-list generation of a PROF_SYM_NO_MODULE answer */
  size_t nlines;
  struct prof_frame_line lines[];
};

struct addr_cache {
  uintptr_t *key;
  struct sym_record **val; /* NULL = empty */
  size_t cap, count;       /* cap: power of two */
};

static struct sym_record *cache_get(const struct addr_cache *c, uintptr_t addr) {
  if (c->cap == 0) return NULL;
  for (size_t i = mix64(addr) & (c->cap - 1); c->val[i] != NULL; i = (i + 1) & (c->cap - 1))
    if (c->key[i] == addr) return c->val[i];
  return NULL;
}

static int cache_grow(struct addr_cache *c) {
  size_t cap = c->cap ? 2 * c->cap : 4096;
  uintptr_t *key = malloc(cap * sizeof *key);
  struct sym_record **val = calloc(cap, sizeof *val);
  if (key == NULL || val == NULL) {
    free(key);
    free(val);
    return -1;
  }
  for (size_t i = 0; i < c->cap; i++) {
    if (c->val[i] == NULL) continue;
    size_t j = mix64(c->key[i]) & (cap - 1);
    while (val[j] != NULL) j = (j + 1) & (cap - 1);
    key[j] = c->key[i];
    val[j] = c->val[i];
  }
  free(c->key);
  free(c->val);
  c->key = key;
  c->val = val;
  c->cap = cap;
  return 0;
}

/* Inserts or replaces. */
static int cache_put(struct addr_cache *c, uintptr_t addr, struct sym_record *r) {
  if (4 * (c->count + 1) > 3 * c->cap && cache_grow(c) != 0) return -1;
  size_t i = mix64(addr) & (c->cap - 1);
  for (; c->val[i] != NULL; i = (i + 1) & (c->cap - 1))
    if (c->key[i] == addr) break;
  if (c->val[i] == NULL) c->count++;
  c->key[i] = addr;
  c->val[i] = r;
  return 0;
}

static void cache_clear(struct addr_cache *c) {
  if (c->cap) memset(c->val, 0, c->cap * sizeof *c->val);
  c->count = 0;
}

/* ---- per-module index: function symbols, and DWARF functions per CU ---- */

struct msym {
  uintptr_t start, size;
  const char *name; /* in the module's ELF data: valid while the module is */
  unsigned rank;    /* lower wins among symbols at one address */
};

/* One address range of a DW_TAG_subprogram at the top of a CU (or in a
 * namespace), in the DWARF's own addresses (module address - bias). */
struct dw_func {
  Dwarf_Addr lo, hi;
  Dwarf_Die die;
};

struct cu_funcs {
  Dwarf_Off off; /* the CU DIE's offset: the key */
  struct dw_func *v;
  size_t n, cap;
};

struct mod_index {
  struct msym *syms;
  size_t nsyms;
  struct cu_funcs **cus; /* open addressing by CU offset; NULL = empty */
  size_t cu_cap, cu_count;
};

static unsigned leading_underscores(const char *s) {
  unsigned n = 0;
  while (s[n] == '_') n++;
  return n;
}

/* Among aliases at one address: a sized symbol, then global over weak over
 * local (memcpy over a local twin), then the name with fewer leading
 * underscores, then any, deterministically. */
static int msym_order(const void *a, const void *b) {
  const struct msym *x = a, *y = b;
  if (x->start != y->start) return x->start < y->start ? -1 : 1;
  if (x->rank != y->rank) return x->rank < y->rank ? -1 : 1;
  unsigned ux = leading_underscores(x->name), uy = leading_underscores(y->name);
  if (ux != uy) return ux < uy ? -1 : 1;
  return strcmp(x->name, y->name);
}

static void index_symbols(struct mod_index *ix, Dwfl_Module *mod) {
  int nsyms = dwfl_module_getsymtab(mod);
  if (nsyms <= 0) return;
  ix->syms = malloc((size_t)nsyms * sizeof *ix->syms);
  if (ix->syms == NULL) return; /* no symbols, DWARF may still name things */
  size_t n = 0;
  for (int i = 0; i < nsyms; i++) {
    GElf_Sym sym;
    GElf_Addr addr;
    GElf_Word shndx = SHN_UNDEF;
    const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr, &shndx, NULL, NULL);
    if (name == NULL || name[0] == '\0' || shndx == SHN_UNDEF || addr == 0) continue;
    int type = GELF_ST_TYPE(sym.st_info);
    if (type != STT_FUNC && type != STT_GNU_IFUNC) continue;
    int bind = GELF_ST_BIND(sym.st_info);
    unsigned rank = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : bind == STB_LOCAL ? 2 : 3;
    if (sym.st_size == 0) rank += 4;
    ix->syms[n++] = (struct msym){addr, sym.st_size, name, rank};
  }
  qsort(ix->syms, n, sizeof *ix->syms, msym_order);
  size_t out = 0; /* keep the best symbol of each address */
  for (size_t i = 0; i < n; i++)
    if (out == 0 || ix->syms[out - 1].start != ix->syms[i].start) ix->syms[out++] = ix->syms[i];
  ix->nsyms = out;
}

/* The function symbol holding addr: the nearest at or below it if it covers
 * addr (or has no size), else one a little further down that encloses it
 * (nested symbols); NULL for an address past the end of every candidate,
 * rather than the name of an unrelated function before a gap. */
static const struct msym *find_symbol(const struct mod_index *ix, uintptr_t addr) {
  size_t lo = 0, hi = ix->nsyms;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (ix->syms[mid].start <= addr)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == 0) return NULL;
  const struct msym *c = &ix->syms[lo - 1];
  if (c->size == 0 || addr - c->start < c->size) return c;
  for (size_t k = 1; k < 16 && k < lo; k++) {
    const struct msym *e = &ix->syms[lo - 1 - k];
    if (e->size != 0 && addr - e->start < e->size) return e;
  }
  return NULL;
}

static void cu_funcs_free(struct cu_funcs *cf) {
  if (cf == NULL) return;
  free(cf->v);
  free(cf);
}

static int dw_func_order(const void *a, const void *b) {
  const struct dw_func *x = a, *y = b;
  if (x->lo != y->lo) return x->lo < y->lo ? -1 : 1;
  return x->hi < y->hi ? -1 : x->hi > y->hi;
}

/* Adds the ranges of the subprograms under parent (descending into
 * namespaces, where C++ puts definitions). Returns -1 when out of memory. */
static int collect_funcs(struct cu_funcs *cf, Dwarf_Die *parent, int depth) {
  Dwarf_Die child;
  if (dwarf_child(parent, &child) != 0) return 0;
  do {
    int tag = dwarf_tag(&child);
    if (tag == DW_TAG_namespace && depth < 16) {
      if (collect_funcs(cf, &child, depth + 1) != 0) return -1;
    } else if (tag == DW_TAG_subprogram) {
      Dwarf_Addr base, start, end;
      ptrdiff_t off = 0;
      while ((off = dwarf_ranges(&child, off, &base, &start, &end)) > 0) {
        if (start >= end) continue;
        if (cf->n == cf->cap) {
          size_t cap = cf->cap ? 2 * cf->cap : 64;
          struct dw_func *v = realloc(cf->v, cap * sizeof *v);
          if (v == NULL) return -1;
          cf->v = v;
          cf->cap = cap;
        }
        cf->v[cf->n++] = (struct dw_func){start, end, child};
      }
    }
  } while (dwarf_siblingof(&child, &child) == 0);
  return 0;
}

static int cu_table_insert(struct mod_index *ix, struct cu_funcs *cf) {
  if (4 * (ix->cu_count + 1) > 3 * ix->cu_cap) {
    size_t cap = ix->cu_cap ? 2 * ix->cu_cap : 64;
    struct cu_funcs **slot = calloc(cap, sizeof *slot);
    if (slot == NULL) return -1;
    for (size_t i = 0; i < ix->cu_cap; i++) {
      if (ix->cus[i] == NULL) continue;
      size_t j = mix64(ix->cus[i]->off) & (cap - 1);
      while (slot[j] != NULL) j = (j + 1) & (cap - 1);
      slot[j] = ix->cus[i];
    }
    free(ix->cus);
    ix->cus = slot;
    ix->cu_cap = cap;
  }
  size_t i = mix64(cf->off) & (ix->cu_cap - 1);
  while (ix->cus[i] != NULL) i = (i + 1) & (ix->cu_cap - 1);
  ix->cus[i] = cf;
  ix->cu_count++;
  return 0;
}

/* The subprograms of a CU sorted by address, built on first use: finding
 * the function of an address is then a binary search rather than a walk of
 * the CU's tree (which dwarf_getscopes does on every call). */
static struct cu_funcs *cu_funcs_get(struct mod_index *ix, Dwarf_Die *cudie) {
  Dwarf_Off off = dwarf_dieoffset(cudie);
  size_t mask = ix->cu_cap - 1;
  if (ix->cu_cap != 0)
    for (size_t i = mix64(off) & mask; ix->cus[i] != NULL; i = (i + 1) & mask)
      if (ix->cus[i]->off == off) return ix->cus[i];
  struct cu_funcs *cf = calloc(1, sizeof *cf);
  if (cf == NULL) return NULL;
  cf->off = off;
  if (collect_funcs(cf, cudie, 0) != 0 || cu_table_insert(ix, cf) != 0) {
    cu_funcs_free(cf);
    return NULL;
  }
  if (cf->n > 1) qsort(cf->v, cf->n, sizeof *cf->v, dw_func_order);
  return cf;
}

/* The subprogram range holding pc (DWARF addresses), or NULL. */
static const struct dw_func *find_dw_func(const struct cu_funcs *cf, Dwarf_Addr pc) {
  size_t lo = 0, hi = cf->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (cf->v[mid].lo <= pc)
      lo = mid + 1;
    else
      hi = mid;
  }
  for (size_t k = 0; k < 4 && k < lo; k++) /* overlaps are rare: look a little back */
    if (pc < cf->v[lo - 1 - k].hi) return &cf->v[lo - 1 - k];
  return NULL;
}

static void mod_index_free(struct mod_index *ix) {
  if (ix == NULL) return;
  free(ix->syms);
  for (size_t i = 0; i < ix->cu_cap; i++) cu_funcs_free(ix->cus[i]);
  free(ix->cus);
  free(ix);
}

/* The module's index, created empty and filled with its symbols on first
 * use; NULL when out of memory. */
static struct mod_index *module_index(Dwfl_Module *mod) {
  void **userdata = NULL;
  dwfl_module_info(mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL);
  if (userdata == NULL) return NULL;
  if (*userdata == NULL) {
    struct mod_index *ix = calloc(1, sizeof *ix);
    if (ix == NULL) return NULL;
    index_symbols(ix, mod);
    *userdata = ix;
  }
  return *userdata;
}

/* ---- finding the files ---- */

/* An object whose file was deleted or replaced since it was mapped (a
 * binary redeployed, a library upgraded under a running service) is still
 * readable through /proc/self/map_files, by the range of one of its
 * mappings. Returns an fd, or -1. */
static int open_deleted(const char *modname, char **file_name) {
  FILE *maps = fopen("/proc/self/maps", "re");
  if (maps == NULL) return -1;
  int fd = -1;
  char line[PATH_MAX + 256];
  while (fd < 0 && fgets(line, sizeof line, maps) != NULL) {
    unsigned long lo, hi;
    int pos = -1;
    if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &pos) != 2 || pos < 0) continue;
    char *path = line + pos;
    path[strcspn(path, "\n")] = '\0';
    if (strcmp(path, modname) != 0) continue;
    char name[64];
    snprintf(name, sizeof name, "/proc/self/map_files/%lx-%lx", lo, hi);
    struct stat st;
    if (stat(name, &st) != 0 || !S_ISREG(st.st_mode)) break;
    fd = open(name, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && (*file_name = strdup(name)) == NULL) {
      close(fd);
      fd = -1;
    }
    break;
  }
  fclose(maps);
  return fd;
}

static int find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                    char **file_name, Elf **elfp) {
  int fd = dwfl_linux_proc_find_elf(mod, userdata, modname, base, file_name, elfp);
  if (fd >= 0 || *elfp != NULL) return fd;
  static const char deleted[] = " (deleted)";
  size_t len = strlen(modname), dlen = sizeof deleted - 1;
  if (modname[0] != '/' || len <= dlen || strcmp(modname + len - dlen, deleted) != 0) return fd;
  return open_deleted(modname, file_name);
}

/* ---- finding separate debug info, on local disk only ---- */

/* Does the ELF file open on fd carry the module's build ID? (Yes when the
 * module has none to compare.) */
static int same_build_id(Dwfl_Module *mod, int fd) {
  const unsigned char *bits;
  GElf_Addr vaddr;
  int len = dwfl_module_build_id(mod, &bits, &vaddr);
  if (len <= 0) return 1;
  Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
  if (elf == NULL) return 0;
  const void *id;
  ssize_t idlen = dwelf_elf_gnu_build_id(elf, &id);
  int same = idlen == len && memcmp(id, bits, (size_t)len) == 0;
  elf_end(elf);
  return same;
}

/* The .gnu_debuglink search: beside the file, in .debug/ beside it, and
 * under /usr/lib/debug with the file's directory. */
static int find_by_debuglink(Dwfl_Module *mod, const char *file_name, const char *link,
                             char **debuginfo_file_name) {
  if (file_name == NULL || link == NULL || link[0] == '\0' || strchr(link, '/') != NULL)
    return -1;
  const char *slash = strrchr(file_name, '/');
  if (slash == NULL) return -1;
  int dirlen = (int)(slash - file_name);
  static const char *const forms[] = {"%.*s/%s", "%.*s/.debug/%s", "/usr/lib/debug%.*s/%s"};
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
    char path[PATH_MAX];
    int len = snprintf(path, sizeof path, forms[i], dirlen, file_name, link);
    if (len < 0 || (size_t)len >= sizeof path || strcmp(path, file_name) == 0) continue;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    if (same_build_id(mod, fd)) {
      char *name = strdup(path);
      if (name != NULL) {
        *debuginfo_file_name = name;
        return fd;
      }
    }
    close(fd);
  }
  return -1;
}

/* libdwfl's standard search would, when no local file is found, load
 * libdebuginfod (and with it libcurl and a TLS stack) into the profiled
 * process and maybe download, in the middle of a dump. This one looks by
 * build ID under /usr/lib/debug/.build-id, then by .gnu_debuglink. */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                          const char *file_name, const char *debuglink_file,
                          GElf_Word debuglink_crc, char **debuginfo_file_name) {
  int fd = dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
                                        debuglink_crc, debuginfo_file_name);
  if (fd >= 0) return fd;
  return find_by_debuglink(mod, file_name, debuglink_file, debuginfo_file_name);
}

/* ---- the symbolizer and the list of objects ---- */

struct prof_symbolizer {
  Dwfl *dwfl;
  Dwfl_Callbacks callbacks; /* libdwfl keeps a pointer to it */
  struct addr_cache cache;
  struct strtab strings;
  struct arena_block *arena;
  demangle_fn *demangle;
  unsigned gen;                  /* bumped at each reading of the objects */
  int have_counts;               /* the loader gives dlpi_adds/dlpi_subs */
  unsigned long long adds, subs; /* their values at the last reading */
  int rereported_blind;          /* without counters: re-read once only */
  int files_only;                /* prof_symbolizer_new_files: never the process */
};

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

/* Fallback when /proc is not mounted: the loader's own list. */
struct loaded_object {
  char *path;
  uintptr_t bias;
};

struct loaded_list {
  struct loaded_object *v;
  size_t n, cap;
};

static int list_object(struct dl_phdr_info *info, size_t size, void *arg) {
  struct loaded_list *l = arg;
  /* The main program (name "") and the vDSO have no path to open. */
  if (info->dlpi_name == NULL || info->dlpi_name[0] != '/') return 0;
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 32;
    struct loaded_object *v = realloc(l->v, cap * sizeof *v);
    if (v == NULL) return 1;
    l->v = v;
    l->cap = cap;
  }
  char *path = strdup(info->dlpi_name);
  if (path == NULL) return 1;
  l->v[l->n++] = (struct loaded_object){path, info->dlpi_addr};
  return 0;
}

static void report_from_loader(Dwfl *dwfl) {
  struct loaded_list l = {NULL, 0, 0};
  alloc_loader_enter();
  dl_iterate_phdr(list_object, &l); /* outside the loader's lock from here */
  alloc_loader_exit();
  for (size_t i = 0; i < l.n; i++) {
    dwfl_report_elf(dwfl, l.v[i].path, l.v[i].path, -1, l.v[i].bias, true);
    free(l.v[i].path);
  }
  free(l.v);
}

/* Modules dropped by a new reading: their index points into them. Despite
 * the prototype, libdwfl passes the address of the module's userdata, as to
 * its other module callbacks. */
static int module_removed(Dwfl_Module *mod, void *userdata, const char *name, Dwarf_Addr base,
                          void *arg) {
  void **slot = userdata;
  mod_index_free(*slot);
  *slot = NULL;
  return 0;
}

static demangle_fn *find_demangler(void) {
  if (__cxa_demangle != NULL) return __cxa_demangle;
  demangle_fn *fn;
  void *sym = dlsym(RTLD_DEFAULT, "__cxa_demangle"); /* not fenced: loaderfence.h */
  memcpy(&fn, &sym, sizeof fn); /* object pointer -> function pointer */
  return fn;
}

/* (Re)reads the process's objects. Returns 0, or -1 if libdwfl failed. */
static int report_objects(struct prof_symbolizer *s) {
  struct loader_counts c = {0, 0, 0};
  alloc_loader_enter();
  dl_iterate_phdr(read_counts, &c);
  alloc_loader_exit();
  s->have_counts = c.known;
  s->adds = c.adds;
  s->subs = c.subs;

  dwfl_report_begin(s->dwfl);
  if (dwfl_linux_proc_report(s->dwfl, getpid()) != 0) report_from_loader(s->dwfl);
  int rc = dwfl_report_end(s->dwfl, module_removed, NULL);
  s->gen++;
  s->demangle = find_demangler(); /* libstdc++ may have come with a dlopen */
  return rc == 0 ? 0 : -1;
}

/* After a miss: re-reads the objects if the loader's list changed since the
 * last reading. Returns 1 if it re-read. */
static int maybe_rereport(struct prof_symbolizer *s) {
  if (s->files_only) return 0;
  struct loader_counts c = {0, 0, 0};
  alloc_loader_enter();
  dl_iterate_phdr(read_counts, &c);
  alloc_loader_exit();
  if (c.known && s->have_counts) {
    if (c.adds == s->adds && c.subs == s->subs) return 0;
    if (c.subs != s->subs) cache_clear(&s->cache); /* addresses may be reused */
  } else {
    if (s->rereported_blind) return 0;
    s->rereported_blind = 1;
  }
  report_objects(s);
  return 1;
}

static struct prof_symbolizer *symbolizer_begin(int files_only) {
  struct prof_symbolizer *s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  elf_version(EV_CURRENT);
  s->files_only = files_only;
  s->callbacks.find_elf = find_elf;
  s->callbacks.find_debuginfo = find_debuginfo;
  s->dwfl = dwfl_begin(&s->callbacks);
  if (s->dwfl == NULL) {
    free(s);
    return NULL;
  }
  return s;
}

int prof_symbolizer_sync(struct prof_symbolizer *s) {
  if (s == NULL || s->files_only || !s->have_counts) return 0;
  struct loader_counts c = {0, 0, 0};
  alloc_loader_enter();
  dl_iterate_phdr(read_counts, &c);
  alloc_loader_exit();
  if (!c.known || (c.adds == s->adds && c.subs == s->subs)) return 0;
  if (c.subs != s->subs) cache_clear(&s->cache); /* addresses may be reused */
  report_objects(s);
  return 1;
}

struct prof_symbolizer *prof_symbolizer_new(void) {
  struct prof_symbolizer *s = symbolizer_begin(0);
  if (s != NULL) report_objects(s); /* a failure leaves an empty list: every lookup misses */
  return s;
}

/* ---- files of unloaded objects ----
 * An object closed since its stacks were sampled is read from its file, but
 * only if the file carries the build ID the object had in memory: a library
 * rebuilt or replaced at the same path would otherwise lend its names. The
 * build ID is checked on the descriptor libdwfl then reads, so a file
 * swapped between the check and the reading cannot slip in. */

struct prof_symbolizer *prof_symbolizer_new_files(void) {
  struct prof_symbolizer *s = symbolizer_begin(1);
  if (s != NULL) s->demangle = find_demangler();
  return s;
}

/* Does the ELF file on fd carry build ID `want` (hex)? */
static int file_has_build_id(int fd, const char *want) {
  Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
  if (elf == NULL) return 0;
  const unsigned char *id = NULL;
  const void *raw = NULL;
  ssize_t len = dwelf_elf_gnu_build_id(elf, &raw);
  id = raw;
  int same = len > 0 && strlen(want) == 2 * (size_t)len;
  static const char digits[] = "0123456789abcdef";
  for (ssize_t i = 0; same && i < len; i++)
    same = want[2 * i] == digits[id[i] >> 4] && want[2 * i + 1] == digits[id[i] & 15];
  elf_end(elf);
  return same;
}

int prof_symbolizer_add_file(struct prof_symbolizer *s, const char *path, const char *build_id,
                             uintptr_t base) {
  if (s == NULL || !s->files_only || path == NULL || path[0] != '/' || build_id == NULL ||
      build_id[0] == '\0')
    return -1;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || !file_has_build_id(fd, build_id)) {
    close(fd);
    return -1;
  }
  dwfl_report_begin_add(s->dwfl);
  Dwfl_Module *mod = dwfl_report_elf(s->dwfl, path, path, fd, base, false);
  dwfl_report_end(s->dwfl, NULL, NULL);
  if (mod == NULL) {
    close(fd); /* consumed only on success */
    return -1;
  }
  s->gen++; /* addresses cached as in no object may be in this one */
  return 0;
}

static int free_module_index(Dwfl_Module *mod, void **userdata, const char *name,
                             Dwarf_Addr base, void *arg) {
  mod_index_free(*userdata);
  *userdata = NULL;
  return DWARF_CB_OK;
}

void prof_symbolizer_free(struct prof_symbolizer *s) {
  if (s == NULL) return;
  dwfl_getmodules(s->dwfl, free_module_index, NULL, 0);
  dwfl_end(s->dwfl);
  free(s->cache.key);
  free(s->cache.val);
  free(s->strings.slot);
  free(s->strings.hash);
  arena_free(s->arena);
  free(s);
}

size_t prof_symbolizer_cached(const struct prof_symbolizer *s) {
  return s ? s->cache.count : 0;
}

/* ---- resolving one address ---- */

/* The module holding addr. dwfl_addrmodule answers with the last module for
 * addresses past it, hence the range check. */
static Dwfl_Module *module_of(Dwfl *dwfl, uintptr_t addr) {
  Dwfl_Module *mod = dwfl_addrmodule(dwfl, addr);
  if (mod == NULL) return NULL;
  Dwarf_Addr start = 0, end = 0;
  dwfl_module_info(mod, NULL, &start, &end, NULL, NULL, NULL, NULL);
  return addr >= start && addr < end ? mod : NULL;
}

/* A DIE's raw name: its linkage (mangled) name, else its name, looking
 * through DW_AT_abstract_origin and DW_AT_specification. */
static const char *die_raw_name(Dwarf_Die *die) {
  Dwarf_Attribute attr;
  const char *name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
  if (name == NULL)
    name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
  if (name == NULL) name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
  return name;
}

/* Drops the parameter list (and trailing qualifiers such as " const") of a
 * demangled C++ name, in place: "ns::Widget::Widget(int)" becomes
 * "ns::Widget::Widget", "Foo::operator()(int) const" "Foo::operator()".
 * This is the "simple" form pprof shows, and it matches the names DWARF
 * gives for functions the symbol table does not name. */
static void simplify_cxx_name(char *name) {
  size_t n = strlen(name);
  while (n > 0 && name[n - 1] != ')') n--; /* trailing qualifiers */
  if (n == 0) return;
  int depth = 0;
  for (size_t i = n; i-- > 0;) {
    if (name[i] == ')') depth++;
    else if (name[i] == '(' && --depth == 0) {
      if (i > 0) name[i] = '\0';
      return;
    }
  }
}

/* A raw name's two interned forms. Returns 0, or -1 when out of memory. */
static int set_names(struct prof_symbolizer *s, struct prof_frame_line *l, const char *raw) {
  l->system_name = intern(&s->strings, &s->arena, raw);
  if (l->system_name == NULL) return -1;
  l->function = l->system_name;
  if (s->demangle != NULL && raw != NULL && raw[0] == '_' && raw[1] == 'Z') {
    int status = -1;
    char *d = s->demangle(raw, NULL, NULL, &status);
    if (d != NULL && status == 0) {
      simplify_cxx_name(d);
      l->function = intern(&s->strings, &s->arena, d);
    }
    free(d);
    if (l->function == NULL) return -1;
  }
  return 0;
}

/* The call site recorded on an inlined-subroutine DIE: file and line in the
 * function it was inlined into. */
static void call_site(Dwarf_Die *cu, Dwarf_Die *inl, const char **file, int *line) {
  Dwarf_Attribute attr;
  Dwarf_Word v;
  *file = NULL;
  *line = 0;
  if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_line, &attr), &v) == 0 && v <= INT32_MAX)
    *line = (int)v;
  Dwarf_Files *files;
  size_t nfiles;
  if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_file, &attr), &v) == 0 &&
      dwarf_getsrcfiles(cu, &files, &nfiles) == 0 && v < nfiles)
    *file = dwarf_filesrc(files, v, NULL, NULL);
}

/* From the subprogram holding pc down through the lexical blocks and inlined
 * subroutines holding it: fills chain[] outermost first with the subprogram
 * and the inlined calls, and returns how many. */
static int inline_chain(const Dwarf_Die *func, Dwarf_Addr pc, Dwarf_Die *chain) {
  int n = 0;
  chain[n++] = *func;
  Dwarf_Die cur = *func;
  for (int depth = 0; depth < 256; depth++) {
    Dwarf_Die child;
    int found = 0;
    if (dwarf_child(&cur, &child) != 0) break;
    do {
      int tag = dwarf_tag(&child);
      if (tag != DW_TAG_lexical_block && tag != DW_TAG_inlined_subroutine &&
          tag != DW_TAG_subprogram && tag != DW_TAG_try_block && tag != DW_TAG_catch_block)
        continue;
      if (dwarf_haspc(&child, pc) != 1) continue;
      if (tag == DW_TAG_subprogram) {
        n = 0; /* a nested function (GNU C): the code is its own */
        chain[n++] = child;
      } else if (tag == DW_TAG_inlined_subroutine) {
        if (n == MAX_INLINE_DEPTH) n--; /* keep the innermost */
        chain[n++] = child;
      }
      cur = child;
      found = 1;
      break;
    } while (dwarf_siblingof(&child, &child) == 0);
    if (!found) break;
  }
  return n;
}

/* Fills lines[] for addr in mod; returns how many (0: nothing known), or -1
 * when out of memory. */
static int resolve(struct prof_symbolizer *s, Dwfl_Module *mod, uintptr_t addr,
                   struct prof_frame_line *lines) {
  struct mod_index *ix = module_index(mod);
  if (ix == NULL) return -1;
  const struct msym *sym = find_symbol(ix, addr);

  /* Line table: the innermost position. */
  const char *file = NULL;
  int line = 0;
  Dwfl_Line *dl = dwfl_module_getsrc(mod, addr);
  if (dl != NULL) file = dwfl_lineinfo(dl, NULL, &line, NULL, NULL, NULL);
  if (file == NULL) line = 0;

  /* The DWARF function and its inlined calls, outermost first. */
  Dwarf_Die chain[MAX_INLINE_DEPTH];
  int nchain = 0;
  Dwarf_Addr bias = 0;
  Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, &bias);
  if (cu != NULL) {
    const struct cu_funcs *cf = cu_funcs_get(ix, cu);
    const struct dw_func *f = cf ? find_dw_func(cf, addr - bias) : NULL;
    if (f != NULL) nchain = inline_chain(&f->die, addr - bias, chain);
  }

  int n = 0;
  if (nchain == 0) {
    /* No DWARF function here: the symbol tables' name, with the line
     * table's position if it has one. */
    if (sym == NULL) return 0;
    struct prof_frame_line *l = &lines[n++];
    if (set_names(s, l, sym->name) != 0) return -1;
    l->file = intern(&s->strings, &s->arena, file);
    l->line = line;
    l->start_line = 0;
    return l->file ? n : -1;
  }
  int named = 0;
  for (int k = nchain - 1; k >= 0; k--) { /* innermost first */
    Dwarf_Die *die = &chain[k];
    struct prof_frame_line *l = &lines[n++];
    const char *raw = die_raw_name(die);
    /* The outermost is the function the code belongs to: when DWARF has no
     * name for it, or only a plain one where the symbol table has the
     * mangled (qualified) name, as for C++ constructors, which carry no
     * linkage name in DWARF, the symbol table's name wins. */
    int raw_mangled = raw != NULL && raw[0] == '_' && raw[1] == 'Z';
    int sym_mangled = sym != NULL && sym->name[0] == '_' && sym->name[1] == 'Z';
    if (k == 0 && sym != NULL && (raw == NULL || (!raw_mangled && sym_mangled))) raw = sym->name;
    if (set_names(s, l, raw) != 0) return -1;
    named |= l->function[0] != '\0';
    const char *f = file;
    int ln = line;
    if (k < nchain - 1) call_site(cu, &chain[k + 1], &f, &ln);
    l->file = intern(&s->strings, &s->arena, f);
    if (l->file == NULL) return -1;
    l->line = ln;
    int decl = 0;
    l->start_line = dwarf_decl_line(die, &decl) == 0 && decl > 0 ? decl : 0;
  }
  return named ? n : 0; /* nameless all the way (odd DWARF): say nothing */
}

static void fill_out(const struct sym_record *r, struct prof_frame_info *out) {
  out->module = r->module;
  out->nlines = r->nlines;
  out->lines = r->nlines ? r->lines : NULL;
  if (r->nlines) {
    out->function = r->lines[0].function;
    out->system_name = r->lines[0].system_name;
    out->file = r->lines[0].file;
    out->line = r->lines[0].line;
    out->start_line = r->lines[0].start_line;
  }
}

int prof_symbolize(struct prof_symbolizer *s, uintptr_t addr, struct prof_frame_info *out) {
  if (out == NULL) return PROF_SYM_INVALID;
  *out = (struct prof_frame_info){"", "", "", 0, 0, NULL, 0, ""};
  if (s == NULL) return PROF_SYM_INVALID;

  struct sym_record *r = cache_get(&s->cache, addr);
  if (r != NULL && (r->status != PROF_SYM_NO_MODULE || r->gen == s->gen)) {
    fill_out(r, out);
    return r->status;
  }

  Dwfl_Module *mod = module_of(s->dwfl, addr);
  if (mod == NULL && maybe_rereport(s)) mod = module_of(s->dwfl, addr);

  struct prof_frame_line lines[MAX_INLINE_DEPTH];
  int n = 0, status = PROF_SYM_NO_MODULE;
  const char *module = "";
  if (mod != NULL) {
    const char *name = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    module = intern(&s->strings, &s->arena, name);
    n = module ? resolve(s, mod, addr, lines) : -1;
    if (n < 0) return PROF_SYM_NO_MEMORY;
    status = n > 0 ? PROF_SYM_OK : PROF_SYM_NO_SYMBOL;
  }

  r = arena_alloc(&s->arena, sizeof *r + (size_t)n * sizeof r->lines[0]);
  if (r == NULL) return PROF_SYM_NO_MEMORY;
  r->module = module;
  r->status = status;
  r->gen = s->gen;
  r->nlines = (size_t)n;
  memcpy(r->lines, lines, (size_t)n * sizeof lines[0]);
  if (cache_put(&s->cache, addr, r) != 0) return PROF_SYM_NO_MEMORY;
  fill_out(r, out);
  return status;
}
