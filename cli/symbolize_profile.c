/* symbolize_profile.c: names for a profile's unnamed locations, written
 * into its tables. What changes and what stays: symbolize_profile.h.
 *
 * Locations are bucketed by mapping, mappings grouped by object (build ID,
 * file), and each object's files are found and opened once, used for all
 * its locations, and closed before the next: memory holds one object's
 * DWARF at a time. New strings and Functions are deduplicated through hash
 * tables (the profile's own strings included), so 100,000 locations in a
 * few hundred functions add a few hundred Functions. */
#include "symbolize_profile.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "cxxname.h"
#include "frames.h"
#include "hashtab.h"
#include "symbolize_dwarf.h"

/* ---- appending to the tables ---- */

typedef struct editor {
  profile_pb *p;
  profile_index *ix;
  hashtab strs;  /* all of p's strings, by content */
  hashtab funcs; /* the Functions added, by their fields */
  size_t scap;   /* room in p->string_table */
  size_t fcap;   /* room in p->function */
  size_t first;  /* the first Function added */
  uint64_t next_id;
} editor;

/* The index of string s in p's table, appended when new; -1 when out of
 * memory. */
static int64_t intern(editor *e, const char *s) {
  profile_pb *p = e->p;
  if (!*s) return 0;
  uint64_t h = hash_bytes(s, strlen(s));
  hashtab_probe pr;
  for (uint32_t i = hashtab_first(&e->strs, h, &pr); i != HASHTAB_NONE; i = hashtab_next(&pr))
    if (strcmp(p->string_table[i], s) == 0) return i;
  if (cli_grow(&p->string_table, &e->scap, p->n_string_table + 1, sizeof *p->string_table) != 0)
    return -1;
  char *c = strdup(s);
  if (!c) return -1;
  size_t i = p->n_string_table;
  if (hashtab_insert(&e->strs, h, (uint32_t)i) != 0) {
    free(c);
    return -1;
  }
  p->string_table[p->n_string_table++] = c;
  return (int64_t)i;
}

/* ---- C++ names ----
 * As the profiler names them (libprof/symbolize.h): the Function's name is
 * the demangled name's short form (cxxname.h), its system name the whole
 * demangled name, so that a frame named here and one the profiler named
 * compare equal. The demangler is libstdc++'s, loaded on the first mangled
 * name; without it names stay mangled. */

typedef char *(*demangle_fn)(const char *, char *, size_t *, int *);

static demangle_fn demangler(void) {
  static bool tried;
  static demangle_fn fn;
  if (!tried) {
    tried = true;
    void *h = dlopen("libstdc++.so.6", RTLD_NOW | RTLD_LOCAL);
    if (h) *(void **)&fn = dlsym(h, "__cxa_demangle");
  }
  return fn;
}

/* For a mangled raw name: *full (demangled) and *brief (its short form),
 * both malloc'd; false when raw is not one or does not demangle. */
static bool demangle(const char *raw, char **full, char **brief) {
  demangle_fn fn = raw[0] == '_' && raw[1] == 'Z' ? demangler() : NULL;
  int status = -1;
  *full = fn ? fn(raw, NULL, NULL, &status) : NULL;
  if (!*full || status != 0 || !(*brief = malloc(strlen(*full) + 1))) {
    free(*full);
    return false;
  }
  prof_cxx_simplify(*full, *brief);
  return true;
}

/* The id of a Function with these fields (one added before, or a new
 * one); 0 when out of memory. */
static uint64_t function_id(editor *e, const symdw_line *ln) {
  profile_pb *p = e->p;
  char *full = NULL, *brief = NULL;
  bool cxx = demangle(ln->system_name, &full, &brief);
  int64_t name = intern(e, cxx ? brief : ln->function);
  int64_t sys = intern(e, cxx ? full : ln->system_name);
  if (cxx) free(full), free(brief);
  int64_t file = intern(e, ln->file);
  if (name < 0 || sys < 0 || file < 0) return 0;
  uint64_t h = hash_combine(
      hash_combine(hash_combine(hash_mix((uint64_t)name), (uint64_t)sys), (uint64_t)file),
      (uint64_t)ln->start_line);
  hashtab_probe pr;
  for (uint32_t i = hashtab_first(&e->funcs, h, &pr); i != HASHTAB_NONE; i = hashtab_next(&pr)) {
    const Perftools__Profiles__Function *f = p->function[i];
    if (f->name == name && f->system_name == sys && f->filename == file &&
        f->start_line == ln->start_line)
      return f->id;
  }
  if (cli_grow(&p->function, &e->fcap, p->n_function + 1, sizeof *p->function) != 0) return 0;
  Perftools__Profiles__Function *f = malloc(sizeof *f);
  if (!f) return 0;
  perftools__profiles__function__init(f);
  f->id = e->next_id++;
  f->name = name;
  f->system_name = sys;
  f->filename = file;
  f->start_line = ln->start_line;
  p->function[p->n_function++] = f;
  if (profile_index_add_function(e->ix, p->n_function - 1, NULL, 0) != 0 ||
      hashtab_insert(&e->funcs, h, (uint32_t)(p->n_function - 1)) != 0) {
    /* the index may hold it: it stays, unused, rather than dangle */
    return 0;
  }
  return f->id;
}

/* Replaces l's lines by fr's. Returns 0 or -1 (out of memory; l as it was). */
static int set_lines(editor *e, Perftools__Profiles__Location *l, const symdw_frames *fr) {
  Perftools__Profiles__Line **nv = calloc(fr->n, sizeof *nv);
  if (!nv) return -1;
  for (size_t j = 0; j < fr->n; j++) {
    uint64_t fid = function_id(e, &fr->v[j]);
    if (fid == 0 || !(nv[j] = malloc(sizeof *nv[j]))) {
      for (size_t k = 0; k < j; k++) free(nv[k]);
      free(nv);
      return -1;
    }
    perftools__profiles__line__init(nv[j]);
    nv[j]->function_id = fid;
    nv[j]->line = fr->v[j].line;
  }
  for (size_t j = 0; j < l->n_line; j++) perftools__profiles__line__free_unpacked(l->line[j], NULL);
  free(l->line);
  l->line = nv;
  l->n_line = fr->n;
  return 0;
}

static int editor_init(editor *e, profile_pb *p, profile_index *ix) {
  memset(e, 0, sizeof *e);
  e->p = p;
  e->ix = ix;
  e->scap = p->n_string_table;
  e->fcap = p->n_function;
  e->first = p->n_function;
  for (size_t i = 0; i < p->n_function; i++)
    if (p->function[i]->id >= e->next_id) e->next_id = p->function[i]->id + 1;
  if (e->next_id == 0) e->next_id = 1;
  if (hashtab_reserve(&e->strs, p->n_string_table) != 0) return -1;
  for (size_t i = 1; i < p->n_string_table; i++)
    if (hashtab_insert(&e->strs, hash_bytes(p->string_table[i], strlen(p->string_table[i])),
                       (uint32_t)i) != 0)
      return -1;
  return 0;
}

/* ---- objects ---- */

/* One mapping, for grouping mappings by object. */
typedef struct mref {
  const char *build_id, *path;
  size_t mi;
} mref;

static int by_object(const void *x, const void *y) {
  const mref *a = x, *b = y;
  int c = strcmp(a->build_id, b->build_id);
  return c ? c : strcmp(a->path, b->path);
}

/* Locations of each mapping that have no name: locs[start[m]..start[m+1]). */
typedef struct buckets {
  size_t *start, *locs;
} buckets;

static int bucket_locations(const profile_pb *p, const profile_index *ix, buckets *b) {
  b->start = calloc(p->n_mapping + 2, sizeof *b->start);
  b->locs = malloc((p->n_location + 1) * sizeof *b->locs);
  if (!b->start || !b->locs) return -1;
  long *mi = malloc((p->n_location + 1) * sizeof *mi);
  if (!mi) return -1;
  for (size_t i = 0; i < p->n_location; i++) {
    const Perftools__Profiles__Location *l = p->location[i];
    mi[i] = cli_location_unnamed(p, ix, l, NULL) ? profile_index_mapping(ix, l->mapping_id) : -1;
    if (mi[i] >= 0) b->start[mi[i] + 2]++;
  }
  for (size_t m = 0; m < p->n_mapping; m++) b->start[m + 2] += b->start[m + 1];
  for (size_t i = 0; i < p->n_location; i++)
    if (mi[i] >= 0) b->locs[b->start[mi[i] + 1]++] = i;
  free(mi);
  return 0;
}

/* Names the locations of mappings g[0..n) (one object) from o; sets the
 * mappings' flags. */
static int name_object(editor *e, const buckets *b, const mref *g, size_t n, struct symdw *o,
                       symprof_stats *st) {
  profile_pb *p = e->p;
  for (size_t k = 0; k < n; k++) {
    Perftools__Profiles__Mapping *m = p->mapping[g[k].mi];
    bool all = true, dwarf = true;
    for (size_t i = b->start[g[k].mi]; i < b->start[g[k].mi + 1]; i++) {
      Perftools__Profiles__Location *l = p->location[b->locs[i]];
      symdw_frames fr;
      if (symdw_lookup(o, l->address - m->memory_start + m->file_offset, &fr) != 0) {
        st->unnamed++;
        all = false;
        continue;
      }
      if (set_lines(e, l, &fr) != 0) return -1;
      st->named++;
      dwarf = dwarf && fr.dwarf;
    }
    if (all) {
      m->has_functions = true;
      if (dwarf) m->has_filenames = m->has_line_numbers = m->has_inline_frames = true;
    }
  }
  return 0;
}

/* Finds, opens and uses the files of one object: mappings g[0..n). */
static int do_object(editor *e, const buckets *b, const mref *g, size_t n, const symfind_cfg *c,
                     symprof_stats *st) {
  size_t count = 0;
  for (size_t k = 0; k < n; k++) count += b->start[g[k].mi + 1] - b->start[g[k].mi];
  if (count == 0) return 0;
  if (!g[0].path[0] && !g[0].build_id[0]) { /* nothing to look for */
    st->unnamed += count;
    return 0;
  }
  symfind_result r;
  struct symdw *o = NULL;
  char err[CLI_ERRLEN] = "";
  if (symfind(c, g[0].path, g[0].build_id, &r) == 0 &&
      !(o = symdw_open(r.elf_path, r.debug_path, err, sizeof err)))
    cli_error("symbolize: %s", err);
  if (!o) {
    if (st->missing++ == 0) {
      const char *slash = strrchr(g[0].path, '/');
      snprintf(st->first_missing, sizeof st->first_missing, "%s",
               slash          ? slash + 1
               : g[0].path[0] ? g[0].path
                              : g[0].build_id);
    }
    st->unnamed += count;
    symfind_result_free(&r);
    return 0;
  }
  st->unchecked += r.unchecked;
  int rc = name_object(e, b, g, n, o, st);
  symdw_close(o);
  symfind_result_free(&r);
  return rc;
}

int symprof_run(profile_pb *p, const symfind_cfg *c, symprof_stats *st) {
  memset(st, 0, sizeof *st);
  int rc = -1;
  profile_index *own = NULL;
  profile_index *ix = profile_index_of_mut(p);
  if (!ix) ix = own = profile_index_build(p, NULL, 0);
  editor e = {0};
  buckets b = {0};
  mref *maps = malloc((p->n_mapping + 1) * sizeof *maps);
  if (!ix || !maps || editor_init(&e, p, ix) != 0 || bucket_locations(p, ix, &b) != 0) goto done;
  for (size_t i = 0; i < p->n_mapping; i++)
    maps[i] = (mref){cli_str(p, p->mapping[i]->build_id), cli_str(p, p->mapping[i]->filename), i};
  qsort(maps, p->n_mapping, sizeof *maps, by_object);
  for (size_t i = 0, j; i < p->n_mapping; i = j) {
    for (j = i + 1; j < p->n_mapping && by_object(&maps[i], &maps[j]) == 0; j++) continue;
    if (do_object(&e, &b, maps + i, j - i, c, st) != 0) goto done;
  }
  rc = 0;
done:
  if (rc != 0) cli_error("out of memory symbolizing");
  hashtab_free(&e.strs);
  hashtab_free(&e.funcs);
  free(b.start);
  free(b.locs);
  free(maps);
  profile_index_free(own);
  return rc;
}
