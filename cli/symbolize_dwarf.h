/* symbolize_dwarf.h: names, files, lines and inlined calls of code at a file
 * offset of one object, from its ELF symbols and DWARF (elfutils' libdwfl),
 * for `allocprof symbolize` (cmd_symbolize.c). Which files to read, and the
 * build-ID checks that choose them: symbolize_find.h.
 *
 * An object is its ELF file, its separate debug file, or both. A profile
 * locates code by file offset (mapping file_offset + address - start); the
 * object's program headers turn that into the address its symbols and DWARF
 * use. A separate debug file (objcopy --only-keep-debug) keeps the segments'
 * addresses and sizes but not their file offsets: without the ELF file
 * itself, the offsets are laid out again as the linker lays them (each
 * segment at the first offset past the previous one that is congruent to
 * its address modulo the page size), which is what ld and lld write.
 */
#ifndef CLI_SYMBOLIZE_DWARF_H
#define CLI_SYMBOLIZE_DWARF_H

#include <stddef.h>
#include <stdint.h>

/* Inlined calls kept per address, innermost first (pprof's Line order). */
#define SYMDW_MAX_LINES 32

typedef struct symdw_line {
  const char *function;    /* name as written in the source, never NULL */
  const char *system_name; /* linkage (mangled) name, else function */
  const char *file;        /* "" when unknown */
  int64_t line, start_line;
} symdw_line;

typedef struct symdw_frames {
  symdw_line v[SYMDW_MAX_LINES];
  size_t n;
  int dwarf; /* from DWARF (files and lines), not symbols alone */
} symdw_frames;

typedef struct symdw symdw;

/* Opens an object from elf_path (its ELF file, or NULL), debug_path (its
 * separate debug file, or NULL), at least one of them. Returns NULL with a
 * message in err when neither can be read as ELF. */
symdw *symdw_open(const char *elf_path, const char *debug_path, char *err, size_t errlen);

/* What the code at file offset off is: *out filled, strings valid until
 * symdw_close. Returns 0, or -1 when no symbol covers it (out->n == 0). */
int symdw_lookup(symdw *o, uint64_t off, symdw_frames *out);

void symdw_close(symdw *o);

#endif
