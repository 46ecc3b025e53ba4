/* symbolize_files.h: how the symbolizer finds the files it reads
 * (symbolize_files.c), for symbolize.c alone: libdwfl callbacks that open
 * an object's ELF file, also once deleted, and look for its separate debug
 * info on local disk only; and the build-ID check of a file. Public API:
 * symbolize.h.
 */
#ifndef PROF_SYMBOLIZE_FILES_H
#define PROF_SYMBOLIZE_FILES_H

#include <elfutils/libdwfl.h>

/* Dwfl_Callbacks.find_elf: libdwfl's search of the process's objects, then
 * /proc/self/map_files for an object whose file was deleted or replaced
 * since it was mapped. */
int sym_find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                 char **file_name, Elf **elfp);

/* Dwfl_Callbacks.find_debuginfo: by build ID under each debug directory's
 * .build-id, then by .gnu_debuglink beside the file, in .debug/ and under
 * each debug directory (prof_symbolize_set_debug_dirs); a dwz file by its
 * build ID. Never debuginfod. */
int sym_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                       const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
                       char **debuginfo_file_name);

/* Does the ELF file on fd carry GNU build ID `want` (lowercase hex)? */
int sym_file_has_build_id(int fd, const char *want);

#endif
