/* unloaded.c: the frames and mappings of objects unloaded (dlclose'd)
 * since their stacks were sampled, for a dump (unloaded.h). Overview of a
 * dump: profile.c (step 2); of the profiler: liballoc/mprof.h.
 *
 * An address whose object (recorded when its stack was first seen,
 * mprof_objects.h) has been unloaded since is not looked up in what is
 * mapped there now: it gets a mapping of its own, at the range the object
 * had, with its path and build ID, and its names come from the object's
 * file if the file still carries that build ID (a second, files-only
 * symbolizer, made for the dump and freed at its end with the files it
 * opened, unloaded_dump_done), else it stays unnamed.
 *
 * Locking: everything here runs under profile.c's dump_mutex;
 * unloaded_live also under the sampler's prof_lock, where it must not
 * allocate. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mappings.h"
#include "mprof.h"
#include "mprof_objects.h"
#include "symbolize.h"
#include "unloaded.h"

/* Files of unloaded objects (dump_mutex): entry id is added, if at all, at
 * FILES_BASE(id), so that objects once loaded at one address do not
 * overlap. files_added[id]: 1 added. */
static struct prof_symbolizer *files_symbolizer;
static uint8_t *files_added;
static uint32_t files_added_n;
#define FILES_BASE(id) ((uintptr_t)(id) << 40)
#define FILES_MAX_ID ((uint32_t)1 << 23) /* FILES_BASE below 2^63 */

void unloaded_fork_child(void) {
  files_symbolizer = NULL;
  files_added = NULL;
  files_added_n = 0;
}

void unloaded_dump_done(void) {
  prof_symbolizer_free(files_symbolizer);
  files_symbolizer = NULL;
  free(files_added);
  files_added = NULL;
  files_added_n = 0;
}

/* mprof_objects_check's test, run under prof_lock (no allocation): is entry
 * o among the objects loaded now? The same first executable segment and
 * build ID, and the same path when there is no build ID to compare. */
int unloaded_live(const struct prof_object *o, void *arg) {
  const struct live_maps *lm = arg;
  if (o->nsegs == 0) return 1; /* nothing to compare it with: leave it */
  const struct prof_mapping *m = prof_mapping_find(lm->m, lm->n, o->segs[0].start);
  if (m == NULL || m->start != o->segs[0].start || strcmp(m->build_id, o->build_id) != 0) return 0;
  return o->build_id[0] != '\0' || strcmp(m->path, o->path) == 0;
}

/* Appends to *maps (sorted part first, left as it is) the executable
 * segments of each unloaded object some address of the dump is in, at the
 * range it had, with its path and build ID. */
int unloaded_add_mappings(struct prof_mapping **maps, size_t *nmaps, struct closed_objects *co,
                          const struct addr_table *at) {
  for (size_t i = 0; i < at->n; i++) {
    uint32_t id = at->v[i].object;
    if (id == 0 || co->first[id] != -1) continue;
    const struct prof_object *o = co->v[id].object;
    co->first[id] = (long)*nmaps;
    if (o == NULL || o->nsegs == 0) continue;
    struct prof_mapping *nm = realloc(*maps, (*nmaps + o->nsegs) * sizeof *nm);
    if (nm == NULL) return -1;
    *maps = nm;
    for (unsigned k = 0; k < o->nsegs; k++) {
      struct prof_mapping *m = &nm[(*nmaps)++];
      memset(m, 0, sizeof *m);
      m->start = o->segs[k].start;
      m->limit = o->segs[k].limit;
      m->file_offset = o->segs[k].file_offset;
      snprintf(m->path, sizeof m->path, "%s", o->path);
      snprintf(m->build_id, sizeof m->build_id, "%s", o->build_id);
    }
  }
  return 0;
}

/* The mapping of unloaded object o that holds e's address, or -1. */
int unloaded_mapping(const struct prof_mapping *maps, const struct closed_objects *co,
                     const struct prof_object *o, const struct addr_entry *e) {
  long first = co->first[e->object];
  for (unsigned k = 0; o != NULL && first >= 0 && k < o->nsegs; k++)
    if (e->addr >= maps[first + k].start && e->addr < maps[first + k].limit)
      return (int)(first + k);
  return -1;
}

/* Symbolizes e, an address of unloaded object o, from o's file if the file
 * still has o's build ID; otherwise e stays unnamed (PROF_SYM_NO_MODULE).
 * dump_mutex held. */
int unloaded_symbolize(struct addr_entry *e, const struct prof_object *o) {
  uint32_t id = e->object;
  e->info.nlines = 0;
  if (o == NULL || id >= FILES_MAX_ID) return PROF_SYM_NO_MODULE;
  if (files_symbolizer == NULL) files_symbolizer = prof_symbolizer_new_files();
  if (files_symbolizer == NULL) return PROF_SYM_NO_MODULE;
  if (id >= files_added_n) {
    uint32_t n = id + 64;
    uint8_t *v = realloc(files_added, n);
    if (v == NULL) return PROF_SYM_NO_MEMORY;
    memset(v + files_added_n, 0, n - files_added_n);
    files_added = v;
    files_added_n = n;
  }
  if (!files_added[id]) {
    if (prof_symbolizer_add_file(files_symbolizer, o->path, o->build_id, FILES_BASE(id)) != 0)
      return PROF_SYM_NO_MODULE;
    files_added[id] = 1;
  }
  return prof_symbolize(files_symbolizer, FILES_BASE(id) + (e->addr - o->bias), &e->info);
}
