/* frames.c: object+offset names for frames without a symbol. The naming rule
 * and why: frames.h.
 *
 * Two steps. First the objects: every mapping of every profile is one
 * entry; sorted by identity (build ID, else basename), equal neighbours are
 * one object, named after its earliest entry's basename, with the build ID
 * appended where two builds share a basename. Then each profile's frames:
 * a frame without a symbol in a mapping gets a new Function named
 * "OBJECT+0xOFFSET" (its line points there; a location without lines gets
 * one line). Functions and strings are only appended, each complete (and
 * in the profile's index) before anything refers to it, so a profile stays
 * valid if memory runs out half-way. */
#include "frames.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* Hex digits of a build ID kept in a name that tells two builds apart. */
#define BUILD_ID_DIGITS 12

/* Longest name made: a basename (NAME_MAX), '@', the build ID digits,
 * "+0x" and 16 digits. */
#define NAME_LEN (255 + 1 + BUILD_ID_DIGITS + 3 + 16 + 1)

/* One mapping of one of the profiles. */
typedef struct obj {
  const char *build_id; /* "" when none */
  const char *base;     /* basename of its file, "" when none */
  size_t prof, map;     /* which profile, which mapping: the order seen */
  size_t ident;         /* the object it is: index into the objects */
} obj;

/* One object, as names show it. */
typedef struct ident {
  const char *base, *build_id;
  char label[256 + 1 + BUILD_ID_DIGITS];
} ident;

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

/* The identity order: build IDs first, by build ID, then the rest by
 * basename. */
static int key_cmp(const obj *a, const obj *b) {
  bool ha = a->build_id[0] != 0, hb = b->build_id[0] != 0;
  if (ha != hb) return ha ? -1 : 1;
  return strcmp(ha ? a->build_id : a->base, ha ? b->build_id : b->base);
}

/* Identity, then the order seen: a group's first entry is its earliest. */
static int by_key(const void *x, const void *y) {
  const obj *a = x, *b = y;
  int c = key_cmp(a, b);
  if (c) return c;
  if (a->prof != b->prof) return a->prof < b->prof ? -1 : 1;
  return a->map < b->map ? -1 : a->map > b->map;
}

static const ident *sort_idents; /* for by_base */

static int by_base(const void *x, const void *y) {
  return strcmp(sort_idents[*(const size_t *)x].base, sort_idents[*(const size_t *)y].base);
}

/* Labels: the basename, unless two or more objects with build IDs share it;
 * those then carry their build ID's first digits. */
static int label_idents(ident *id, size_t n) {
  size_t *order = malloc((n + 1) * sizeof *order);
  if (!order) return -1;
  for (size_t i = 0; i < n; i++) order[i] = i;
  sort_idents = id;
  qsort(order, n, sizeof *order, by_base);
  for (size_t i = 0; i < n;) {
    size_t j = i, builds = 0;
    for (; j < n && strcmp(id[order[j]].base, id[order[i]].base) == 0; j++)
      builds += id[order[j]].build_id[0] != 0;
    for (size_t k = i; k < j; k++) {
      ident *o = &id[order[k]];
      if (o->base[0] == 0) /* no file name: the build ID alone */
        snprintf(o->label, sizeof o->label, "%.*s", BUILD_ID_DIGITS, o->build_id);
      else if (builds >= 2 && o->build_id[0] != 0)
        snprintf(o->label, sizeof o->label, "%.255s@%.*s", o->base, BUILD_ID_DIGITS, o->build_id);
      else
        snprintf(o->label, sizeof o->label, "%.255s", o->base);
    }
    i = j;
  }
  free(order);
  return 0;
}

/* ---- one profile's frames ---- */

/* "0x" and hex digits only: a frame named by its address. */
static bool is_raw_address(const char *s) {
  if (s[0] != '0' || s[1] != 'x' || s[2] == 0) return false;
  for (s += 2; *s; s++)
    if (!isxdigit((unsigned char)*s)) return false;
  return true;
}

/* Already named by object and offset (by liballoc, or by an earlier
 * merge): "BASE+0xOFF", "BASE@BUILD+0xOFF" or "LABEL+0xOFF" with this
 * location's offset. */
static bool is_object_name(const char *s, const char *base, const char *label, uint64_t off) {
  char tail[24];
  int tl = snprintf(tail, sizeof tail, "+0x%" PRIx64, off);
  size_t n = strlen(s), bl = strlen(base);
  if (n < (size_t)tl || strcmp(s + n - (size_t)tl, tail) != 0) return false;
  size_t pl = n - (size_t)tl; /* the object part */
  if (pl == strlen(label) && strncmp(s, label, pl) == 0) return true;
  return bl > 0 && pl >= bl && strncmp(s, base, bl) == 0 && (pl == bl || s[bl] == '@');
}

/* Whether line j of l (j == n_line: a location without lines) names no
 * symbol; ix is p's index. */
static bool unnamed(const profile_pb *p, const profile_index *ix,
                    const Perftools__Profiles__Location *l, size_t j, const char *base,
                    const char *label, uint64_t off) {
  if (j >= l->n_line) return true;
  long fi = profile_index_function(ix, l->line[j]->function_id);
  if (fi < 0) return true;
  const char *name = cli_str(p, p->function[fi]->name);
  if (!*name) name = cli_str(p, p->function[fi]->system_name);
  return !*name || is_raw_address(name) || is_object_name(name, base, label, off);
}

/* How many of l's frames name no symbol (l inside its mapping), or -1
 * when l is in no mapping. */
static long count_unnamed(const profile_pb *p, const profile_index *ix,
                          const Perftools__Profiles__Location *l, const char *label) {
  long mi = profile_index_mapping(ix, l->mapping_id);
  if (mi < 0) return -1;
  const Perftools__Profiles__Mapping *m = p->mapping[mi];
  if (l->address < m->memory_start || l->address >= m->memory_limit) return -1;
  uint64_t off = l->address - m->memory_start + m->file_offset;
  const char *base = base_name(cli_str(p, m->filename));
  char own[BUILD_ID_DIGITS + 1];
  if (!label) {
    snprintf(own, sizeof own, "%.*s", BUILD_ID_DIGITS, cli_str(p, m->build_id));
    label = base[0] ? base : own;
  }
  size_t nframes = l->n_line ? l->n_line : 1;
  long n = 0;
  for (size_t j = 0; j < nframes; j++) n += unnamed(p, ix, l, j, base, label, off);
  return n;
}

bool cli_location_unnamed(const profile_pb *p, const profile_index *ix,
                          const Perftools__Profiles__Location *l, const char *label) {
  long n = count_unnamed(p, ix, l, label);
  return n >= 0 && (size_t)n == (l->n_line ? l->n_line : 1);
}

bool cli_location_named(const profile_pb *p, const profile_index *ix,
                        const Perftools__Profiles__Location *l, const char *label) {
  return l->n_line > 0 && count_unnamed(p, ix, l, label) == 0;
}

/* Appends a Function called name to p (arrays already large enough) and to
 * its index ix, as profile_index.h's rule asks of an appended function;
 * its id, or 0 when out of memory. */
static uint64_t add_function(profile_pb *p, profile_index *ix, const char *name, uint64_t id) {
  char *s = strdup(name);
  Perftools__Profiles__Function *f = malloc(sizeof *f);
  if (!s || !f) {
    free(s);
    free(f);
    return 0;
  }
  perftools__profiles__function__init(f);
  int64_t si = (int64_t)p->n_string_table;
  p->string_table[p->n_string_table++] = s;
  f->id = id;
  f->name = si;
  f->system_name = si;
  p->function[p->n_function++] = f;
  if (profile_index_add_function(ix, p->n_function - 1, NULL, 0) != 0) {
    /* not indexed, so not kept: nothing refers to it yet */
    perftools__profiles__function__free_unpacked(p->function[--p->n_function], NULL);
    return 0;
  }
  return id;
}

/* Names the frames without a symbol of p, whose mapping i is labelled
 * label[i] (NULL: not an object to name by). */
static int name_profile(profile_pb *p, const char *const *label) {
  int rc = -1;
  /* Functions are appended, and recorded in the index as they are (the
   * rule in profile_index.h). Lookups only ever ask for the functions
   * the profile came with: a line is read before it is renamed, once. */
  profile_index *own_ix = NULL; /* for a profile without one of its own */
  profile_index *ix = profile_index_of_mut(p);
  if (!ix && !(ix = own_ix = profile_index_build(p, NULL, 0))) goto done;
  uint64_t max_id = 0;
  for (size_t i = 0; i < p->n_function; i++)
    if (p->function[i]->id > max_id) max_id = p->function[i]->id;

  /* pass 0 counts the frames to name, pass 1 names them */
  size_t count = 0;
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 1) {
      if (count == 0 || max_id > UINT64_MAX - count) break; /* nothing to do, or no ids left */
      char **st = realloc(p->string_table, (p->n_string_table + count) * sizeof *st);
      if (st) p->string_table = st;
      Perftools__Profiles__Function **fv =
          realloc(p->function, (p->n_function + count) * sizeof *fv);
      if (fv) p->function = fv;
      if (!st || !fv) goto done;
    }
    for (size_t i = 0; i < p->n_location; i++) {
      Perftools__Profiles__Location *l = p->location[i];
      long mi = profile_index_mapping(ix, l->mapping_id); /* -1 for id 0 */
      if (mi < 0 || !label[mi]) continue;
      const Perftools__Profiles__Mapping *m = p->mapping[mi];
      if (l->address < m->memory_start || l->address >= m->memory_limit) continue;
      uint64_t off = l->address - m->memory_start + m->file_offset;
      const char *base = base_name(cli_str(p, m->filename));
      size_t nframes = l->n_line ? l->n_line : 1;
      char name[NAME_LEN];
      snprintf(name, sizeof name, "%s+0x%" PRIx64, label[mi], off);
      for (size_t j = 0; j < nframes; j++) {
        if (!unnamed(p, ix, l, j, base, label[mi], off)) continue;
        if (pass == 0) {
          count++;
          continue;
        }
        uint64_t fid = add_function(p, ix, name, ++max_id);
        if (!fid) goto done;
        if (l->n_line == 0) {
          Perftools__Profiles__Line **lv = realloc(l->line, sizeof *lv);
          if (lv) l->line = lv;
          Perftools__Profiles__Line *ln = lv ? malloc(sizeof *ln) : NULL;
          if (!ln) goto done;
          perftools__profiles__line__init(ln);
          ln->function_id = fid;
          l->line[0] = ln;
          l->n_line = 1;
        } else {
          l->line[j]->function_id = fid;
        }
      }
    }
  }
  rc = 0;
done:
  profile_index_free(own_ix);
  return rc;
}

/* ---- all profiles ---- */

int cli_name_frames(profile_pb *const *ps, size_t n) {
  int rc = -1;
  size_t nobjs = 0, nidents = 0;
  for (size_t k = 0; k < n; k++) nobjs += ps[k]->n_mapping;
  obj *objs = malloc((nobjs + 1) * sizeof *objs);
  ident *ids = malloc((nobjs + 1) * sizeof *ids);
  const char ***labels = calloc(n + 1, sizeof *labels);
  if (!objs || !ids || !labels) goto done;

  /* the objects */
  nobjs = 0;
  for (size_t k = 0; k < n; k++)
    for (size_t i = 0; i < ps[k]->n_mapping; i++) {
      const Perftools__Profiles__Mapping *m = ps[k]->mapping[i];
      obj o = {cli_str(ps[k], m->build_id), base_name(cli_str(ps[k], m->filename)), k, i, 0};
      if (o.build_id[0] || o.base[0]) objs[nobjs++] = o; /* nothing to name it by otherwise */
    }
  qsort(objs, nobjs, sizeof *objs, by_key);
  for (size_t i = 0; i < nobjs; i++) {
    if (i == 0 || key_cmp(&objs[i - 1], &objs[i]) != 0)
      ids[nidents++] = (ident){.base = objs[i].base, .build_id = objs[i].build_id};
    objs[i].ident = nidents - 1;
  }
  if (label_idents(ids, nidents) != 0) goto done;

  /* each mapping's label; the names one profile has for another's frames
   * (frames_match.c); then the frames still without */
  for (size_t k = 0; k < n; k++)
    if (!(labels[k] = calloc(ps[k]->n_mapping + 1, sizeof **labels))) goto done;
  for (size_t i = 0; i < nobjs; i++) labels[objs[i].prof][objs[i].map] = ids[objs[i].ident].label;
  if (n >= 2 && cli_match_frames(ps, n, (const char *const *const *)labels) != 0) goto done;
  for (size_t k = 0; k < n; k++)
    if (name_profile(ps[k], labels[k]) != 0) goto done;
  rc = 0;
done:
  if (rc != 0) cli_error("out of memory naming frames");
  for (size_t k = 0; labels && k < n; k++) free(labels[k]);
  free(labels);
  free(ids);
  free(objs);
  return rc;
}
