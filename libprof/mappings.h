/* mappings.h: the executable segments of the objects loaded in this process,
 * with their GNU build IDs, for the Mapping table of a pprof profile. Used at
 * dump time only (it allocates with malloc: the caller has switched sampling
 * off for its thread). Symbolizing the addresses that fall in these
 * mappings: symbolize.h. The objects unloaded since their stacks were
 * sampled are not here: their mappings come from the registry that the
 * sampling half keeps (liballoc/mprof_objects.h, unloaded.c). Overview of the profiler:
 * liballoc/mprof.h.
 */
#ifndef PROF_MAPPINGS_H
#define PROF_MAPPINGS_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

/* Longest build ID kept, in bytes (GNU ld writes 20, a SHA-1). A longer one
 * is dropped (build_id left empty) rather than cut. */
#define PROF_BUILD_ID_MAX 64

/* One executable PT_LOAD segment of one loaded object. */
struct prof_mapping {
  uintptr_t start;                          /* first byte of the segment in memory */
  uintptr_t limit;                          /* one past its last byte (start + p_memsz) */
  uintptr_t file_offset;                    /* p_offset of the segment in its file */
  uintptr_t bias;                           /* the object's load bias (dlpi_addr): an address
                            in its ELF file + bias = the address in memory;
                            0 for a mapping not from collect */
  char path[PATH_MAX];                      /* the file: /proc/self/exe's target for the main
                            program, "[vdso]" for the vDSO, the loader's name
                            otherwise; "" if unknown */
  char build_id[2 * PROF_BUILD_ID_MAX + 1]; /* lowercase hex, "" if none */
  int is_main;                              /* 1 for the main program's segments, else 0 */
};

/* Collects one mapping per executable PT_LOAD segment of every object the
 * dynamic loader has loaded, sorted by start. On success returns 0 and stores
 * a malloc'd array in *out (NULL when *n is 0) that the caller releases with
 * prof_mappings_free. On failure (out of memory, NULL arguments) returns -1
 * with *out = NULL and *n = 0. */
int prof_mappings_collect(struct prof_mapping **out, size_t *n);

/* The dynamic loader's counts of objects loaded and unloaded so far
 * (dl_iterate_phdr's dlpi_adds and dlpi_subs): when neither moved, the list
 * prof_mappings_collect would return is the same as last time. Returns 1 and
 * sets both, or 0 (both left alone) when the loader does not keep them. */
int prof_loader_counts(unsigned long long *adds, unsigned long long *subs);

/* Releases an array from prof_mappings_collect. NULL is fine. */
void prof_mappings_free(struct prof_mapping *m);

/* The mapping of m[0..n) (sorted by start, as collect returns them) that
 * holds addr (start <= addr < limit), or NULL if none does. */
const struct prof_mapping *prof_mapping_find(const struct prof_mapping *m, size_t n,
                                             uintptr_t addr);

#endif
