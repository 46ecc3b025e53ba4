/* symbolize_elf.c: the symbolizer's indexes of ELF symbols and DWARF
 * functions, and its walks of DWARF (symbolize_elf.h). Two of libdwfl's
 * ways are replaced, because a dump of many stacks in a big program could
 * not pay them:
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
 */
#define _GNU_SOURCE
#include "symbolize_elf.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "hashtab.h"

/* ---- the index: function symbols, and DWARF functions per CU ---- */

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
  struct cu_funcs **cus; /* the CUs indexed so far */
  size_t ncus, cus_cap;
  hashtab cu_index; /* hash of the CU's offset -> position in cus */
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
const struct msym *sym_find_symbol(const struct mod_index *ix, uintptr_t addr) {
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
  if (ix->ncus == ix->cus_cap) {
    size_t cap = ix->cus_cap ? 2 * ix->cus_cap : 64;
    struct cu_funcs **v = realloc(ix->cus, cap * sizeof *v);
    if (v == NULL) return -1;
    ix->cus = v;
    ix->cus_cap = cap;
  }
  if (hashtab_insert(&ix->cu_index, hash_mix(cf->off), (uint32_t)ix->ncus) != 0) return -1;
  ix->cus[ix->ncus++] = cf;
  return 0;
}

/* The subprograms of a CU sorted by address, built on first use: finding
 * the function of an address is then a binary search rather than a walk of
 * the CU's tree (which dwarf_getscopes does on every call). */
static struct cu_funcs *cu_funcs_get(struct mod_index *ix, Dwarf_Die *cudie) {
  Dwarf_Off off = dwarf_dieoffset(cudie);
  hashtab_probe pr;
  for (uint32_t i = hashtab_first(&ix->cu_index, hash_mix(off), &pr); i != HASHTAB_NONE;
       i = hashtab_next(&pr))
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

const Dwarf_Die *sym_find_function(struct mod_index *ix, Dwarf_Die *cudie, Dwarf_Addr pc) {
  const struct cu_funcs *cf = cu_funcs_get(ix, cudie);
  const struct dw_func *f = cf ? find_dw_func(cf, pc) : NULL;
  return f ? &f->die : NULL;
}

void sym_index_free(struct mod_index *ix) {
  if (ix == NULL) return;
  free(ix->syms);
  for (size_t i = 0; i < ix->ncus; i++) cu_funcs_free(ix->cus[i]);
  free(ix->cus);
  hashtab_free(&ix->cu_index);
  free(ix);
}

/* The module's index, created empty and filled with its symbols on first
 * use; NULL when out of memory. */
struct mod_index *sym_module_index(Dwfl_Module *mod) {
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

/* ---- DWARF walks: names, call sites, inlined calls ---- */

/* A DIE's raw name: its linkage (mangled) name, else its name, looking
 * through DW_AT_abstract_origin and DW_AT_specification. */
const char *sym_die_raw_name(Dwarf_Die *die) {
  Dwarf_Attribute attr;
  const char *name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
  if (name == NULL)
    name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
  if (name == NULL) name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
  return name;
}

/* The call site recorded on an inlined-subroutine DIE: file and line in the
 * function it was inlined into. */
void sym_call_site(Dwarf_Die *cu, Dwarf_Die *inl, const char **file, int *line) {
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
int sym_inline_chain(const Dwarf_Die *func, Dwarf_Addr pc, Dwarf_Die *chain) {
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
