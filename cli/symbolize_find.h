/* symbolize_find.h: which files `allocprof symbolize` reads for one object
 * of a profile (a mapping's file and build ID), in this order:
 *
 *   1. the mapping's own file, if its build ID is the mapping's (a mapping
 *      without a build ID, as legacy gperftools/jemalloc profiles have: the
 *      file at its path, unchecked, as jeprof does);
 *   2. when that file has no DWARF, its separate debug file: DIR/.build-id/
 *      xx/rest.debug and the file's .gnu_debuglink in each --debug-dir DIR,
 *      then /usr/lib/debug (and the debuglink beside the file and in its
 *      .debug/); then debuginfod servers (debuginfod.h).
 *
 * Every file is checked for the build ID (the mapping's, else the one of the
 * file found at its path) before it is used: a file of another build is
 * never read for names.
 */
#ifndef CLI_SYMBOLIZE_FIND_H
#define CLI_SYMBOLIZE_FIND_H

#include <stdbool.h>
#include <stddef.h>

#include "debuginfod.h"

typedef struct symfind_cfg {
  char *const *dirs; /* debug directories, in order (/usr/lib/debug last) */
  size_t ndirs;
  dinfod *servers; /* or NULL */
} symfind_cfg;

typedef struct symfind_result {
  char *elf_path;   /* the object's ELF file, or NULL (malloc'd) */
  char *debug_path; /* its separate debug file, or NULL (malloc'd) */
  bool unchecked;   /* elf_path used without a build ID to check it by */
} symfind_result;

/* Finds the files of the object at path (may be "") with build_id (hex,
 * may be ""). Returns 0 with at least one file in *r, -1 with none. */
int symfind(const symfind_cfg *c, const char *path, const char *build_id, symfind_result *r);

void symfind_result_free(symfind_result *r);

#endif
