/* unloaded.h: the frames and mappings of objects unloaded since their
 * stacks were sampled (unloaded.c), and the table of a dump's distinct
 * addresses they work on, which profile.c builds. Overview of a dump:
 * profile.c; of the profiler: liballoc/mprof.h. Dump time only, under
 * dump.c's dump_mutex: all but unloaded_live may allocate. */
#ifndef PROF_UNLOADED_H
#define PROF_UNLOADED_H

#include <stddef.h>
#include <stdint.h>

#include "hashtab.h"
#include "mappings.h"
#include "mprof.h"
#include "symbolize.h"

#pragma GCC visibility push(hidden)

/* ---- distinct addresses (profile.c) ----
 * An open-addressing table from an address to its entry; entries sit in an
 * array in order of first appearance. */

struct addr_entry {
  uintptr_t addr;       /* return address - 1 */
  uint32_t object;      /* id of the unloaded object it was in, else 0 */
  uint64_t location_id; /* in the builder */
  int mapping;          /* index into the mapping array, -1 if none */
  int sym_rc;           /* PROF_SYM_* */
  struct prof_frame_info info;
};

/* Stacks share most of their addresses: the table stays small (a few
 * thousand entries for 100,000 stacks). The index is formats' hashtab.h,
 * seeded per process like every dump-side table. */
struct addr_table {
  hashtab index; /* hash of (addr, object) -> entry index */
  struct addr_entry *v;
  size_t n, cap;
};

/* ---- unloaded objects ---- */

/* The objects loaded now, for unloaded_live: maps[0..n), sorted. */
struct live_maps {
  const struct prof_mapping *m;
  size_t n;
};

/* The registry as this dump sees it. */
struct closed_objects {
  uint32_t n;                 /* entries 1..n */
  struct prof_object_view *v; /* v[id], NULL: none known closed */
  long *first;                /* first[id]: its first mapping in maps, -1 none yet */
};

/* id if entry id of the registry is an unloaded object, else 0. */
static inline uint32_t closed_id(const struct closed_objects *co, uint32_t id) {
  return co->v != NULL && id >= 1 && id <= co->n && co->v[id].closed ? id : 0;
}

/* mprof_objects_check's test, run under prof_lock (no allocation): is entry
 * o among the objects loaded now (arg: a struct live_maps)? */
int unloaded_live(const struct prof_object *o, void *arg);

/* Appends to *maps the executable segments of each unloaded object some
 * address of at is in, at the range it had. Returns 0, or -1 when out of
 * memory. */
int unloaded_add_mappings(struct prof_mapping **maps, size_t *nmaps, struct closed_objects *co,
                          const struct addr_table *at);

/* The mapping of unloaded object o that holds e's address, or -1. */
int unloaded_mapping(const struct prof_mapping *maps, const struct closed_objects *co,
                     const struct prof_object *o, const struct addr_entry *e);

/* Symbolizes e, an address of unloaded object o, from o's file; returns
 * PROF_SYM_*. */
int unloaded_symbolize(struct addr_entry *e, const struct prof_object *o);

/* At the end of a dump, once the profile holds what unloaded_symbolize
 * found: frees the files' symbolizer, closing the files it read (no
 * descriptor stays open between dumps; the next dump reads them again). */
void unloaded_dump_done(void);

/* In a fork child whose parent was dumping: the files' symbolizer is
 * forgotten (leaked), made again at the next dump (profile.c's
 * prof_profile_fork_child). */
void unloaded_fork_child(void);

#pragma GCC visibility pop
#endif /* PROF_UNLOADED_H */
