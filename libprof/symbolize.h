/* symbolize.h: code address -> function name, source file and line (with the
 * chain of inlined calls), for the Function and Location tables of a profile.
 * Used at dump time only, never on the allocation path: it allocates with
 * malloc (the caller switches sampling off for its thread) and reads ELF and
 * DWARF through elfutils' libdwfl. Which loaded object an address is in, with
 * its build ID: mappings.h. Overview of the profiler: liballoc/mprof.h.
 *
 * Results are cached by address: the first lookup of an address costs a few
 * microseconds (more when the object has DWARF to read), the next ones a hash
 * probe. A symbolizer is not thread-safe: one dumping thread uses it at a
 * time.
 */
#ifndef PROF_SYMBOLIZE_H
#define PROF_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>

struct prof_symbolizer;

/* One source position: pprof's Line, with its Function. Every string is
 * non-NULL ("" when unknown). */
struct prof_frame_line {
  const char *function;    /* short name, as pprof prints it: a C++ name
                              demangled without parameters or template
                              arguments (cxxname.h); the raw one when it
                              does not demangle or no demangler is loaded */
  const char *system_name; /* full name: the C++ name demangled whole
                              ("std::vector<int, ...>::push_back(int&&)"),
                              else the raw symbol */
  const char *file;        /* source file, "" without debug info */
  int line;                /* line in file, 0 without debug info */
  int start_line;          /* line where the function starts, 0 if unknown */
};

/* What an address resolves to. The flat fields repeat lines[0], the
 * innermost frame; lines[0..nlines) go from the innermost inlined call out to
 * the function the code physically belongs to (pprof's order for the Lines
 * of a Location). Pointers stay valid until prof_symbolizer_free, whatever
 * later calls do. Every string is non-NULL. */
struct prof_frame_info {
  const char *function;
  const char *system_name;
  const char *file;
  int line;
  int start_line;
  const struct prof_frame_line *lines; /* NULL when nlines == 0 */
  size_t nlines;                       /* 0 on failure, else >= 1 */
  const char *module;                  /* path of the object holding the
                                          address, "" if none */
};

/* Return codes of prof_symbolize. */
enum {
  PROF_SYM_OK = 0,         /* at least a function name was found */
  PROF_SYM_NO_MODULE = -1, /* the address is in no loaded object */
  PROF_SYM_NO_SYMBOL = -2, /* in an object (module is set), but neither a
                              symbol nor debug info covers it */
  PROF_SYM_NO_MEMORY = -3,
  PROF_SYM_INVALID = -4, /* NULL argument, or a symbolizer that failed */
};

/* A symbolizer over the objects loaded now (later ones are found when an
 * address misses: see prof_symbolize). Returns NULL when out of memory or
 * when libdwfl cannot start. */
struct prof_symbolizer *prof_symbolizer_new(void);

/* A symbolizer over files only, never the process's objects: for objects
 * unloaded since they were sampled, whose addresses may now hold other
 * code. Objects are added with prof_symbolizer_add_file. NULL when out of
 * memory or when libdwfl cannot start. */
struct prof_symbolizer *prof_symbolizer_new_files(void);

/* Adds the ELF file at path, as if loaded with its ELF address 0 at base,
 * if its GNU build ID is build_id (lowercase hex). Returns 0 when it was
 * added, -1 when the file is missing, unreadable, or of another build (or
 * build_id is empty: nothing to check it against). Only on a symbolizer
 * from prof_symbolizer_new_files; the objects added must not overlap. */
int prof_symbolizer_add_file(struct prof_symbolizer *s, const char *path, const char *build_id,
                             uintptr_t base);

/* Releases the symbolizer and every string it handed out. NULL is fine. */
void prof_symbolizer_free(struct prof_symbolizer *s);

/* Resolves addr, which must already be a return address minus one (or a
 * function's entry): it is not adjusted. Fills *out entirely whatever the
 * result (empty strings, nlines = 0 on failure) and returns one of PROF_SYM_*.
 * An address that falls in no known object makes the symbolizer re-read the
 * process's objects once if the dynamic loader has loaded or unloaded any
 * since the last reading (dlopen after prof_symbolizer_new). */
int prof_symbolize(struct prof_symbolizer *s, uintptr_t addr, struct prof_frame_info *out);

/* Re-reads the process's objects if the dynamic loader loaded or unloaded
 * any since the last reading, emptying the cache when some went away (their
 * addresses may hold other code now). A dump calls it before its lookups.
 * Returns 1 if it re-read. Does nothing on a files-only symbolizer. */
int prof_symbolizer_sync(struct prof_symbolizer *s);

/* Closes every file the symbolizer of the process holds (libdwfl keeps one
 * descriptor per object it read, and one per separate debug file, until it
 * is done), keeping its cache: a dump calls it when done, so that no
 * descriptor of the profiler stays open between dumps. The next lookup
 * that misses the cache reads the object list and the files it needs
 * again. Does nothing on a files-only symbolizer (free it instead). */
void prof_symbolizer_close_files(struct prof_symbolizer *s);

/* Where every symbolizer of the process looks for separate debug files (the
 * ALLOCPROF_DEBUG_DIR setting in a profiled process): dirs is a
 * colon-separated list of absolute directories, each searched by build ID
 * (DIR/.build-id/xx/rest.debug) and by .gnu_debuglink (DIR/OBJDIR/LINK);
 * NULL or "" is the default, /usr/lib/debug. The .gnu_debuglink search
 * looks beside the object and in .debug/ beside it first, whatever the
 * list. Returns 0, or -1 (the list is kept as it was) when an entry is
 * empty or relative, or the list is longer than PATH_MAX. Call it before
 * using a symbolizer: it is not synchronized with lookups. */
int prof_symbolize_set_debug_dirs(const char *dirs);

/* The list in use (never NULL). */
const char *prof_symbolize_debug_dirs(void);

/* Number of addresses in the cache (for tests and statistics). */
size_t prof_symbolizer_cached(const struct prof_symbolizer *s);

#endif
