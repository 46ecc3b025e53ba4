/* symbolize_dwarf.c: code at a file offset of one object -> function names,
 * files, lines and inlined calls, through libdwfl. Contract and the layout
 * of a debug file's offsets: symbolize_dwarf.h. */
#include "symbolize_dwarf.h"

#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hashtab.h"

/* One PT_LOAD: its bytes at off..off+size in the ELF file are at vaddr. */
typedef struct seg {
  uint64_t off, size, vaddr;
} seg;

#define MAX_SEGS 64

/* One function's code range, and its DIE. */
typedef struct func_range {
  Dwarf_Addr lo, hi;
  Dwarf_Die die;
} func_range;

/* The functions of one CU, by address. */
typedef struct cu_funcs {
  Dwarf_Off cu;
  func_range *v;
  size_t n, cap;
} cu_funcs;

/* One function symbol: its code at [lo, hi). */
typedef struct sym_range {
  Dwarf_Addr lo, hi;
  const char *name;
} sym_range;

/* Both kinds of range begin with their start address, by which they are
 * sorted (by_start) and searched (starting_by). */
_Static_assert(offsetof(func_range, lo) == 0 && offsetof(sym_range, lo) == 0,
               "ranges begin with lo");

static Dwarf_Addr start_of(const void *range) {
  Dwarf_Addr a;
  memcpy(&a, range, sizeof a);
  return a;
}

static int by_start(const void *x, const void *y) {
  Dwarf_Addr a = start_of(x), b = start_of(y);
  return a < b ? -1 : a > b;
}

/* How many of the n ranges of `size` bytes at v, sorted by start, start
 * at or before pc. */
static size_t starting_by(const void *v, size_t n, size_t size, Dwarf_Addr pc) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (start_of((const char *)v + mid * size) <= pc)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

struct symdw {
  sym_range *syms; /* sorted by lo, once needed */
  size_t nsyms;
  bool syms_listed;
  cu_funcs *cus; /* the CUs listed so far */
  size_t ncus, cucap;
  hashtab cuix; /* CU offset -> cus[] */
  Dwfl *dwfl;
  Dwfl_Module *mod;
  char *debug_path; /* for find_debug, or NULL */
  Dwarf_Addr bias;  /* the module's load bias (0: reported at its own addresses) */
  seg segs[MAX_SEGS];
  size_t nsegs;
};

/* ---- offsets ---- */

/* The file's PT_LOADs into o->segs. A debug file (rebuild) lost their file
 * offsets: lay them out again (symbolize_dwarf.h). Returns 0 or -1. */
static int read_segments(symdw *o, const char *path, int rebuild) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
  size_t n = 0;
  int rc = -1;
  if (e && elf_kind(e) == ELF_K_ELF && elf_getphdrnum(e, &n) == 0) {
    uint64_t end = 0;
    for (size_t i = 0; i < n && o->nsegs < MAX_SEGS; i++) {
      GElf_Phdr ph;
      if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD) continue;
      seg s = {ph.p_offset, ph.p_filesz, ph.p_vaddr};
      if (rebuild) {
        const uint64_t page = 0x1000;
        s.off = end + ((ph.p_vaddr - end) & (page - 1));
        s.size = ph.p_memsz;
        end = s.off + s.size;
      }
      o->segs[o->nsegs++] = s;
    }
    rc = o->nsegs > 0 ? 0 : -1;
  }
  if (e) elf_end(e);
  close(fd);
  return rc;
}

static int to_vaddr(const symdw *o, uint64_t off, uint64_t *va) {
  for (size_t i = 0; i < o->nsegs; i++)
    if (off >= o->segs[i].off && off - o->segs[i].off < o->segs[i].size) {
      *va = off - o->segs[i].off + o->segs[i].vaddr;
      return 0;
    }
  return -1;
}

/* ---- opening ---- */

/* Dwfl_Callbacks.find_debuginfo: the separate debug file chosen already
 * (symbolize_find.c checked its build ID), never a search of libdwfl's
 * own, which could reach debuginfod or files of other builds. */
static int find_debug(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                      const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
                      char **debuginfo_file_name) {
  (void)mod, (void)modname, (void)base, (void)file_name, (void)debuglink_file, (void)debuglink_crc;
  const symdw *o = *userdata;
  if (!o || !o->debug_path) return -1;
  int fd = open(o->debug_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  if (!(*debuginfo_file_name = strdup(o->debug_path))) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Dwfl_Callbacks.find_elf: never called for a module reported with its
 * file; there to keep libdwfl from searching (and reaching debuginfod). */
static int no_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                  char **file_name, Elf **elfp) {
  (void)mod, (void)userdata, (void)modname, (void)base, (void)file_name, (void)elfp;
  return -1;
}

static const Dwfl_Callbacks callbacks = {
    .find_elf = no_elf,
    .find_debuginfo = find_debug,
    .section_address = dwfl_offline_section_address,
};

symdw *symdw_open(const char *elf_path, const char *debug_path, char *err, size_t errlen) {
  const char *main_path = elf_path ? elf_path : debug_path;
  elf_version(EV_CURRENT);
  symdw *o = calloc(1, sizeof *o);
  if (!o) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  if (elf_path && debug_path && !(o->debug_path = strdup(debug_path))) goto fail;
  if (read_segments(o, main_path, elf_path == NULL) != 0) {
    snprintf(err, errlen, "%s: not an ELF file with loadable segments", main_path);
    goto fail;
  }
  if (!(o->dwfl = dwfl_begin(&callbacks))) goto fail_dwfl;
  dwfl_report_begin(o->dwfl);
  /* reported at its own addresses (bias 0 for a shared object) */
  o->mod = dwfl_report_elf(o->dwfl, "object", main_path, -1, 0, true);
  if (!o->mod) goto fail_dwfl;
  void **ud = NULL;
  dwfl_module_info(o->mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
  if (ud) *ud = o;
  if (dwfl_report_end(o->dwfl, NULL, NULL) != 0) goto fail_dwfl;
  if (!dwfl_module_getelf(o->mod, &o->bias)) goto fail_dwfl;
  return o;
fail_dwfl:
  snprintf(err, errlen, "%s: %s", main_path, dwfl_errmsg(-1));
fail:
  if (!err[0]) snprintf(err, errlen, "out of memory");
  symdw_close(o);
  return NULL;
}

void symdw_close(symdw *o) {
  if (!o) return;
  if (o->dwfl) dwfl_end(o->dwfl);
  for (size_t i = 0; i < o->ncus; i++) free(o->cus[i].v);
  free(o->cus);
  free(o->syms);
  hashtab_free(&o->cuix);
  free(o->debug_path);
  free(o);
}

/* ---- lookups ---- */

static const char *attr_string(Dwarf_Die *die, unsigned name) {
  Dwarf_Attribute a;
  return dwarf_attr_integrate(die, name, &a) ? dwarf_formstring(&a) : NULL;
}

/* The call site an inlined-subroutine DIE records: where, in the function
 * it was inlined into, the call is. */
static void call_site(Dwarf_Die *cu, Dwarf_Die *inl, const char **file, int *line) {
  Dwarf_Attribute a;
  Dwarf_Word v;
  Dwarf_Files *files;
  size_t nfiles;
  *file = "";
  *line = 0;
  if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_line, &a), &v) == 0 && v <= INT32_MAX)
    *line = (int)v;
  if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_file, &a), &v) == 0 &&
      dwarf_getsrcfiles(cu, &files, &nfiles) == 0 && v < nfiles) {
    const char *f = dwarf_filesrc(files, v, NULL, NULL);
    if (f) *file = f;
  }
}

/* ---- functions of a CU ----
 * dwarf_getscopes walks a CU's whole DIE tree on every call: for 100,000
 * addresses in libc that is most of the time. Instead each CU's functions
 * are listed once, by address range, the first time an address falls in
 * it; an address then finds its function by binary search and goes down
 * from it through the few DIEs that hold it. */

/* Namespaces and classes hold C++ functions; deeper nesting is rare. */
#define MAX_NEST 8

static void list_functions(Dwarf_Die *parent, cu_funcs *c, int depth) {
  Dwarf_Die d;
  if (dwarf_child(parent, &d) != 0) return;
  do {
    int tag = dwarf_tag(&d);
    if (tag == DW_TAG_subprogram) {
      Dwarf_Addr base, lo, hi;
      for (ptrdiff_t off = 0; (off = dwarf_ranges(&d, off, &base, &lo, &hi)) > 0;) {
        if (c->n == c->cap) {
          size_t ncap = c->cap ? 2 * c->cap : 64;
          func_range *v = realloc(c->v, ncap * sizeof *v);
          if (!v) return; /* the functions listed so far */
          c->v = v;
          c->cap = ncap;
        }
        c->v[c->n++] = (func_range){lo, hi, d};
      }
    } else if (depth < MAX_NEST && (tag == DW_TAG_namespace || tag == DW_TAG_class_type ||
                                    tag == DW_TAG_structure_type || tag == DW_TAG_union_type)) {
      list_functions(&d, c, depth + 1);
    }
  } while (dwarf_siblingof(&d, &d) == 0);
}

/* The functions of cu, listed on first use; NULL when out of memory. */
static const cu_funcs *functions_of(symdw *o, Dwarf_Die *cu) {
  Dwarf_Off off = dwarf_dieoffset(cu);
  uint64_t h = hash_mix(off);
  hashtab_probe pr;
  for (uint32_t i = hashtab_first(&o->cuix, h, &pr); i != HASHTAB_NONE; i = hashtab_next(&pr))
    if (o->cus[i].cu == off) return &o->cus[i];
  if (o->ncus == o->cucap) {
    size_t ncap = o->cucap ? 2 * o->cucap : 64;
    cu_funcs *v = realloc(o->cus, ncap * sizeof *v);
    if (!v) return NULL;
    o->cus = v;
    o->cucap = ncap;
  }
  cu_funcs *c = &o->cus[o->ncus];
  *c = (cu_funcs){.cu = off};
  list_functions(cu, c, 0);
  qsort(c->v, c->n, sizeof *c->v, by_start);
  if (hashtab_insert(&o->cuix, h, (uint32_t)o->ncus) != 0) {
    free(c->v);
    return NULL;
  }
  return &o->cus[o->ncus++];
}

/* The function whose code holds pc: the last range starting at or before
 * it that still holds it (a few back, for overlapping ranges). */
static const Dwarf_Die *function_at(const cu_funcs *c, Dwarf_Addr pc) {
  size_t lo = starting_by(c->v, c->n, sizeof c->v[0], pc);
  for (size_t i = lo, k = 0; i > 0 && k < 8; i--, k++)
    if (pc >= c->v[i - 1].lo && pc < c->v[i - 1].hi) return &c->v[i - 1].die;
  return NULL;
}

/* From func down through the blocks and inlined calls that hold pc: chain[]
 * gets func and the inlined calls, outermost first; returns how many. */
static size_t inline_chain(const Dwarf_Die *func, Dwarf_Addr pc, Dwarf_Die *chain) {
  size_t n = 0;
  chain[n++] = *func;
  Dwarf_Die cur = *func, d;
  for (int depth = 0; depth < 256 && dwarf_child(&cur, &d) == 0; depth++) {
    bool found = false;
    do {
      int tag = dwarf_tag(&d);
      if (tag != DW_TAG_lexical_block && tag != DW_TAG_inlined_subroutine &&
          tag != DW_TAG_subprogram && tag != DW_TAG_try_block && tag != DW_TAG_catch_block)
        continue;
      if (dwarf_haspc(&d, pc) != 1) continue;
      if (tag == DW_TAG_subprogram) n = 0; /* a nested function (GNU C): its own code */
      if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) {
        if (n == SYMDW_MAX_LINES) n--; /* keep the innermost */
        chain[n++] = d;
      }
      cur = d;
      found = true;
      break;
    } while (dwarf_siblingof(&d, &d) == 0);
    if (!found) break;
  }
  return n;
}

/* From the innermost inlined call at addr out to its subprogram: pprof's
 * Lines of the location. Returns how many. */
static size_t dwarf_frames(symdw *o, Dwarf_Addr addr, symdw_frames *out) {
  Dwarf_Addr cubias;
  Dwarf_Die *cu = dwfl_module_addrdie(o->mod, addr, &cubias);
  const cu_funcs *c = cu ? functions_of(o, cu) : NULL;
  const Dwarf_Die *func = c ? function_at(c, addr - cubias) : NULL;
  if (!func) return 0;
  Dwarf_Die chain[SYMDW_MAX_LINES];
  size_t nc = inline_chain(func, addr - cubias, chain);
  const char *file = "";
  int line = 0;
  Dwfl_Line *dl = dwfl_module_getsrc(o->mod, addr);
  if (dl) {
    const char *f = dwfl_lineinfo(dl, NULL, &line, NULL, NULL, NULL);
    if (f) file = f;
  }
  size_t n = 0;
  for (size_t k = nc; k-- > 0;) { /* innermost first */
    const char *name = attr_string(&chain[k], DW_AT_name);
    const char *linkage = attr_string(&chain[k], DW_AT_linkage_name);
    if (!linkage) linkage = attr_string(&chain[k], DW_AT_MIPS_linkage_name);
    if (!name) name = linkage;
    if (!name) return 0; /* nameless: let the symbol table name it */
    const char *decl = dwarf_decl_file(&chain[k]);
    int start = 0;
    dwarf_decl_line(&chain[k], &start);
    out->v[n++] = (symdw_line){name, linkage ? linkage : name, decl ? decl : file, line, start};
    if (k > 0) call_site(cu, &chain[k], &file, &line);
  }
  return n;
}

/* ---- symbols ----
 * dwfl_module_addrinfo scans every symbol on each call (minutes for
 * 100,000 addresses in libstdc++'s 6,000 symbols): the function symbols
 * are sorted once, on the first address DWARF does not name. */

static void list_symbols(symdw *o) {
  o->syms_listed = true;
  int n = dwfl_module_getsymtab(o->mod);
  if (n <= 0 || !(o->syms = malloc((size_t)n * sizeof *o->syms))) return;
  for (int i = 0; i < n; i++) {
    GElf_Sym sym;
    GElf_Addr value;
    const char *name = dwfl_module_getsym_info(o->mod, i, &sym, &value, NULL, NULL, NULL);
    int type = GELF_ST_TYPE(sym.st_info);
    /* only symbols with a size: the nearest label before an address,
     * without one, may well be another function's (as the profiler rules) */
    if (!name || !name[0] || sym.st_size == 0 || sym.st_shndx == SHN_UNDEF ||
        (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_NOTYPE))
      continue;
    o->syms[o->nsyms++] = (sym_range){value, value + sym.st_size, name};
  }
  qsort(o->syms, o->nsyms, sizeof *o->syms, by_start);
}

/* The name of the function symbol that covers addr, or NULL. */
static const char *symbol_at(symdw *o, Dwarf_Addr addr) {
  if (!o->syms_listed) list_symbols(o);
  size_t lo = starting_by(o->syms, o->nsyms, sizeof o->syms[0], addr);
  for (size_t i = lo, k = 0; i > 0 && k < 8; i--, k++) /* aliases and nested sizes */
    if (addr >= o->syms[i - 1].lo && addr < o->syms[i - 1].hi) return o->syms[i - 1].name;
  return NULL;
}

int symdw_lookup(symdw *o, uint64_t off, symdw_frames *out) {
  out->n = 0;
  out->dwarf = 0;
  uint64_t va;
  if (to_vaddr(o, off, &va) != 0) return -1;
  Dwarf_Addr addr = va + o->bias;
  if ((out->n = dwarf_frames(o, addr, out)) > 0) {
    out->dwarf = 1;
    return 0;
  }
  const char *name = symbol_at(o, addr);
  if (!name) return -1;
  out->v[0] = (symdw_line){name, name, "", 0, 0};
  out->n = 1;
  return 0;
}
