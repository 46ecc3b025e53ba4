/* symbolize_profile.h: `allocprof symbolize`'s work on one loaded profile:
 * the locations whose frames name no symbol (frames.h: no name, a raw
 * address, an "OBJECT+0xOFFSET" name) get the lines that their object's
 * files say (symbolize_find.h, symbolize_dwarf.h); nothing else changes
 * but the mappings' has_* flags.
 *
 * A location named gets new Lines, innermost inlined call first, whose
 * Functions (name, system name, file, start line) and strings are appended
 * to the profile's tables, shared between locations. The Functions the
 * location named before (its "OBJECT+0xOFFSET") stay in the table, unused:
 * ids are never reused or moved (profile_index.h). A mapping whose
 * locations are now all named says has_functions, and has_filenames and
 * has_line_numbers when DWARF named them, as pprof reads those flags (it
 * does not symbolize such a mapping again).
 */
#ifndef CLI_SYMBOLIZE_PROFILE_H
#define CLI_SYMBOLIZE_PROFILE_H

#include <stddef.h>

#include "profile_io.h"
#include "symbolize_find.h"

typedef struct symprof_stats {
  size_t named;            /* locations named */
  size_t unnamed;          /* locations left without a name */
  size_t unchecked;        /* objects named from files without a build ID check */
  size_t missing;          /* objects for which no file was found */
  char first_missing[128]; /* the first of those, for the message */
} symprof_stats;

/* Names p's unnamed locations from the files c finds. Returns 0, or -1
 * after printing (out of memory). */
int symprof_run(profile_pb *p, const symfind_cfg *c, symprof_stats *st);

#endif
