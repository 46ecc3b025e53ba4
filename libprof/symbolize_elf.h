/* symbolize_elf.h: the per-module indexes of the symbolizer and its walks of
 * DWARF (symbolize_elf.c), for symbolize.c alone: the symbol of an address
 * by binary search in a module's sorted function symbols, the DWARF
 * function holding it by binary search in its CU's sorted subprograms, and
 * from there the chain of inlined calls. Not thread-safe, as the
 * symbolizer. Public API: symbolize.h.
 */
#ifndef PROF_SYMBOLIZE_ELF_H
#define PROF_SYMBOLIZE_ELF_H

#include <elfutils/libdwfl.h>
#include <stdint.h>

/* Functions kept in the chain of inlined calls at one address; a deeper
 * chain loses its middle (the innermost ones and the outermost stay). */
#define MAX_INLINE_DEPTH 32

/* A function symbol of a module (.symtab, or .dynsym when stripped). */
struct msym {
  uintptr_t start, size;
  const char *name; /* in the module's ELF data: valid while the module is */
  unsigned rank;    /* lower wins among symbols at one address */
};

/* A module's index, kept in its libdwfl userdata. */
struct mod_index;

/* The module's index, created empty and filled with its symbols on first
 * use; NULL when out of memory. */
struct mod_index *sym_module_index(Dwfl_Module *mod);

/* Releases an index (a module dropped, the symbolizer freed). NULL is fine. */
void sym_index_free(struct mod_index *ix);

/* The function symbol holding addr, or NULL (see symbolize_elf.c). */
const struct msym *sym_find_symbol(const struct mod_index *ix, uintptr_t addr);

/* The DW_TAG_subprogram of the CU cudie whose range holds pc (a DWARF
 * address: module address - bias), or NULL. The CU's list of subprograms
 * is built on first use. */
const Dwarf_Die *sym_find_function(struct mod_index *ix, Dwarf_Die *cudie, Dwarf_Addr pc);

/* A DIE's raw name: its linkage (mangled) name, else its name, looking
 * through DW_AT_abstract_origin and DW_AT_specification. NULL if none. */
const char *sym_die_raw_name(Dwarf_Die *die);

/* The call site recorded on an inlined-subroutine DIE: file and line in the
 * function it was inlined into (NULL and 0 when not recorded). */
void sym_call_site(Dwarf_Die *cu, Dwarf_Die *inl, const char **file, int *line);

/* From the subprogram func holding pc down through the lexical blocks and
 * inlined subroutines holding it: fills chain[MAX_INLINE_DEPTH] outermost
 * first with the subprogram and the inlined calls, and returns how many. */
int sym_inline_chain(const Dwarf_Die *func, Dwarf_Addr pc, Dwarf_Die *chain);

#endif
