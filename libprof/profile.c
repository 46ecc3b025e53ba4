/* profile.c: the heap as a pprof Profile (profile.h), for the dumps
 * (dump.c). Overview of the profiler: liballoc/mprof.h.
 *
 * A dump reads a snapshot of the buckets (mprof_snapshot: the only moment the
 * profiler lock is held; the program's threads keep allocating meanwhile),
 * then, on the dumping thread alone:
 *
 *   1. gathers the distinct code addresses of every stack (return address
 *      minus one, so that a line points at the call, not after it);
 *   2. symbolizes each once, with a symbolizer kept from one dump to the next
 *      (symbolize.h caches by address: a second dump of the same stacks
 *      costs hash probes; the files it read are closed at the end of each
 *      dump, so the process keeps no descriptor of ours between dumps), and
 *      finds its mapping (mappings.h);
 *      an address whose object (recorded when its stack was first seen,
 *      objects.h) has been unloaded since is not looked up in what is
 *      mapped there now: it gets a mapping of its own, at the range the
 *      object had, with its path and build ID, and its names come from the
 *      object's file if the file still carries that build ID (a second,
 *      files-only symbolizer), else it stays unnamed (unloaded.c);
 *   3. adds the mappings, each flagged with what the symbolizer filled in
 *      for the addresses that fall in it (add_mappings), then functions,
 *      locations and samples to a profile builder
 *      (formats/profile_builder.h), and packs it, which dump.c writes.
 *
 * The values of each sample, a full profile's or a delta profile's
 * (http.h's ?seconds=N): profile_values.c.
 *
 * Locking: dump.c's lock, held around each build, guards the symbolizer.
 * Everything here may allocate, so the calling thread holds the profiler
 * guard (its own allocations are not sampled) for the whole dump. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dump.h"
#include "errmsg.h"
#include "hashtab.h"
#include "mappings.h"
#include "mprof_objects.h"
#include "mprof.h"
#include "profile_builder.h"
#include "profile.h"
#include "profile_values.h"
#include "settings.h"
#include "symbolize.h"
#include "unloaded.h"

/* The allocator's entry points, in pprof's regular expression syntax (RE2,
 * matched whole against a function name cut at its first '('). Stacks
 * already start at the caller of these, so pprof finds nothing to drop; the
 * field tells tools that merge our profiles with others what we consider
 * allocator frames. */
#define PROF_DROP_FRAMES                                                        \
  "malloc|calloc|realloc|reallocarray|free|cfree|posix_memalign|aligned_alloc|" \
  "memalign|valloc|pvalloc|malloc_usable_size|operator new|operator new\\[\\]|" \
  "operator delete|operator delete\\[\\]"

/* ---- the long-lived symbolizer --------------------------------------------------
 * Made by the first dump, kept for the life of the process. */

static struct prof_symbolizer *symbolizer; /* dump.c's lock */

/* (dump.c's fork handler says why the symbolizer is not waited for.) */
void prof_profile_fork_child(void) {
  symbolizer = NULL;
  unloaded_fork_child();
}

/* ALLOCPROF_DEBUG_DIR (settings.h): where every symbolizer of the process
 * looks for separate debug files, read once while this library loads. A bad
 * value costs one line and leaves the default: profiles are still written,
 * with fewer names. */
__attribute__((constructor)) static void read_debug_dirs(void) {
  const char *dirs = alloc_env("ALLOCPROF_DEBUG_DIR");
  if (dirs == NULL || *dirs == 0) return;
  char why[256] = "is not a list of absolute directories";
  if (trig_debug_dirs_check(dirs, why, sizeof why) != 0 ||
      prof_symbolize_set_debug_dirs(dirs) != 0) {
    alloc_say("ALLOCPROF_DEBUG_DIR=", dirs, " ", why, "; looking in /usr/lib/debug", NULL);
  }
}

/* ---- distinct addresses -----------------------------------------------------------
 * An open-addressing table from an address to its entry; entries sit in an
 * array in order of first appearance. The entry and the table: unloaded.h,
 * whose calls read them too. */

static uint64_t addr_hash(uintptr_t a, uint32_t object) {
  return hash_combine(hash_mix((uint64_t)a), object);
}

static int addr_table_init(struct addr_table *t) {
  memset(t, 0, sizeof *t);
  return 0;
}

static void addr_table_free(struct addr_table *t) {
  hashtab_free(&t->index);
  free(t->v);
}

/* Index of the entry of (addr, object), made if new; -1 when out of memory. */
static long addr_table_get(struct addr_table *t, uintptr_t addr, uint32_t object) {
  uint64_t h = addr_hash(addr, object);
  hashtab_probe pr;
  for (uint32_t i = hashtab_first(&t->index, h, &pr); i != HASHTAB_NONE; i = hashtab_next(&pr))
    if (t->v[i].addr == addr && t->v[i].object == object) return (long)i;
  if (t->n >= UINT32_MAX - 1) return -1;
  if (t->n == t->cap) {
    size_t ncap = t->cap ? t->cap * 2 : 1024;
    struct addr_entry *nv = realloc(t->v, ncap * sizeof *nv);
    if (nv == NULL) return -1;
    t->v = nv;
    t->cap = ncap;
  }
  if (hashtab_insert(&t->index, h, (uint32_t)t->n) != 0) return -1;
  struct addr_entry *e = &t->v[t->n];
  memset(e, 0, sizeof *e);
  e->addr = addr;
  e->object = object;
  e->mapping = -1;
  return (long)t->n++;
}

/* ---- mappings ------------------------------------------------------------------------ */

/* What the addresses of one mapping resolved to. */
struct mapping_fill {
  size_t looked_up;               /* addresses the symbolizer searched the object for */
  size_t filenames, line_numbers; /* addresses that got a file, a line */
  uint64_t id;                    /* in the builder */
};

/* Adds every mapping, the main program's first (pprof takes the first
 * mapping for the main binary).
 *
 * has_functions tells pprof that the mapping's addresses have been
 * symbolized, so it does not open the file again to do it: set when the
 * symbolizer searched the object for them, even if some (or all) found no
 * name. An address without a name has none in the object's symbol tables
 * or debug info (a static function of a stripped library), so pprof could
 * not do better with the same file, and trying would cost a warning on
 * every machine where the file is not at that path. has_filenames and
 * has_line_numbers say that at least one address of the mapping got that
 * much: the object has debug info, read with every inlined call it
 * describes (has_inline_frames). A mapping no stack touches claims nothing,
 * and so does that of an unloaded object whose file is gone or of another
 * build: pprof, which checks build IDs, may find the right file elsewhere
 * (PPROF_BINARY_PATH).
 */
static int add_mappings(profile_builder *b, const struct prof_mapping *maps, size_t nmaps,
                        struct mapping_fill *fill) {
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < nmaps; i++) {
      if ((pass == 0) != (maps[i].is_main != 0)) continue;
      const struct mapping_fill *f = &fill[i];
      profile_mapping_info mi = {
          .memory_start = maps[i].start,
          .memory_limit = maps[i].limit,
          .file_offset = maps[i].file_offset,
          .filename = maps[i].path,
          .build_id = maps[i].build_id,
          .has_functions = f->looked_up > 0,
          .has_filenames = f->filenames > 0,
          .has_line_numbers = f->line_numbers > 0,
          .has_inline_frames = f->line_numbers > 0,
      };
      fill[i].id = profile_builder_add_mapping(b, &mi);
      if (fill[i].id == 0) return -1;
    }
  }
  return 0;
}

/* ---- locations -------------------------------------------------------------------------- */

/* The frame that ends a stack cut at ALLOCPROF_MAX_FRAMES (liballoc/mprof.h). */
static const struct prof_frame_line truncated_line = {"(truncated)", "(truncated)", "", 0, 0};
static const struct prof_frame_info truncated_frame = {
    "(truncated)", "(truncated)", "", 0, 0, &truncated_line, 1, ""};

/* Name of an address the symbolizer found no name for in its object:
 * "OBJECT+0xOFFSET", the object's basename and the address's offset in its
 * file, e.g. "_json.cpython-311-x86_64-linux-gnu.so+0x5c88" (a static
 * function of a stripped library). Its absolute address moves with ASLR from
 * run to run; this name does not, so that two profiles of one program (diff,
 * gate, go tool pprof -diff_base) match the frame up. An object without a
 * path is named by its build ID's first 12 digits, as allocprof does
 * (cli/frames.h). 0 when there is neither: the frame stays unnamed. */
static int object_name(char *buf, size_t len, const struct prof_mapping *m, uintptr_t addr) {
  const char *slash = strrchr(m->path, '/');
  const char *base = slash ? slash + 1 : m->path;
  uintptr_t offset = addr - m->start + m->file_offset;
  if (base[0] != 0)
    snprintf(buf, len, "%s+0x%" PRIxPTR, base, offset);
  else if (m->build_id[0] != 0)
    snprintf(buf, len, "%.12s+0x%" PRIxPTR, m->build_id, offset);
  else
    return 0;
  return 1;
}

/* Adds the Location of e (and the Functions of its lines). An address of
 * an object the symbolizer searched without finding a name gets one line,
 * named by object and offset (object_name); one of an unloaded object whose
 * file is gone stays without lines, so that pprof may still symbolize it
 * from the file it finds by build ID. */
static int add_location(profile_builder *b, struct addr_entry *e, const struct prof_mapping *maps,
                        const struct mapping_fill *fill, profile_line *lines, size_t maxlines) {
  size_t n = 0;
  char name[PATH_MAX + 32];
  if (e->sym_rc == PROF_SYM_NO_SYMBOL && e->mapping >= 0 && maxlines > 0 &&
      object_name(name, sizeof name, &maps[e->mapping], e->addr)) {
    uint64_t fid = profile_builder_add_function(b, name, name, "", 0);
    if (fid == 0) return -1;
    lines[n++] = (profile_line){fid, 0, 0};
  }
  for (size_t i = 0; i < e->info.nlines && n < maxlines; i++) {
    const struct prof_frame_line *l = &e->info.lines[i];
    if (l->function[0] == 0) continue;
    uint64_t fid =
        profile_builder_add_function(b, l->function, l->system_name, l->file, l->start_line);
    if (fid == 0) return -1;
    lines[n].function_id = fid;
    lines[n].line = l->line;
    lines[n].column = 0;
    n++;
  }
  uint64_t mid = e->mapping >= 0 ? fill[e->mapping].id : 0;
  e->location_id = profile_builder_add_location(b, mid, e->addr, lines, n, false);
  return e->location_id != 0 ? 0 : -1;
}

/* ---- the whole profile --------------------------------------------------------------------- */

static int64_t now_nanos(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- the peak -------------------------------------------------------------------------------
 * Two more sample types after Go's four: what each stack held when the
 * process's estimated in-use total was highest (liballoc/mprof_peak.c),
 * unsampled as inuse is, with the bucket's factor (profile_values.c). */

static void add_peak_types(profile_builder *b) {
  profile_builder_add_sample_type(b, "peak_inuse_objects", "count");
  profile_builder_add_sample_type(b, "peak_inuse_space", "bytes");
}

/* The peak's comments, from totals read after the snapshot: a peak reached
 * between the two (the program allocating during the dump) gives a time
 * and total a moment later than the stacks' values. */
static int add_peak_comments(profile_builder *b) {
  struct prof_totals t;
  mprof_get_totals(&t);
  return prof_dump_add_peak_comments(b, t.peak_inuse_bytes, t.peak_time_nanos);
}

/* What one dump works on, from the snapshot to the packed profile. Every
 * pointer is owned here and freed by dump_work_free. */
struct dump_work {
  uint64_t rate;
  int64_t time_nanos;
  struct prof_bucket_snap *snap; /* the buckets, as mprof_snapshot copied them */
  size_t nsnap;
  struct prof_mapping *maps; /* maps[0..nlive): loaded now, sorted; then unloaded ones */
  size_t nmaps, nlive;
  struct closed_objects co;
  struct addr_table at;              /* the distinct addresses of the stacks */
  uint32_t *frame_entry;             /* each kept frame's entry in at, bucket by bucket */
  struct mapping_fill *fill;         /* fill[i]: what maps[i]'s addresses resolved to */
  uint64_t *locs;                    /* one sample's location ids */
  profile_line *lines;               /* one location's lines */
  size_t maxlines;                   /* capacity of lines */
  const struct prof_dump_view *view; /* a served profile's differences, or NULL */
  const struct prof_dump_base *base; /* a delta profile's start, or NULL */
  profile_builder *b;
};

/* Whether the i-th bucket has a sample in the profile (a delta's may have
 * none), its values in v. */
static bool shown(const struct dump_work *w, size_t i, int64_t v[PROF_NVALUES]) {
  return prof_sample_values(w->base, &w->snap[i], w->rate, v);
}

static void dump_work_free(struct dump_work *w) {
  profile_builder_free(w->b);
  addr_table_free(&w->at);
  free(w->lines);
  free(w->locs);
  free(w->frame_entry);
  free(w->fill);
  free(w->co.v);
  free(w->co.first);
  prof_mappings_free(w->maps);
  free(w->snap);
}

/* Takes the snapshot of the buckets, the mappings loaded now and the
 * registry of objects, and sizes the arrays the later steps fill. Returns
 * 0, or -1 when out of memory. */
static int gather(struct dump_work *w) {
  /* buckets are never freed: some before the snapshot and none in it means
   * the snapshot ran out of memory */
  struct prof_totals before;
  mprof_get_totals(&before);
  w->snap = mprof_snapshot(&w->nsnap);
  /* the registry first, then the loaded objects: every entry the sweep
   * judges was made before the list it is judged against */
  uint32_t known = mprof_objects_known();
  int have_maps = prof_mappings_collect(&w->maps, &w->nmaps) == 0;
  if (!have_maps) {
    w->maps = NULL;
    w->nmaps = 0; /* locations without mappings are still a profile */
  }
  w->nlive = w->nmaps;
  if (have_maps && w->nmaps > 0) {
    struct live_maps lm = {w->maps, w->nmaps};
    mprof_objects_check(unloaded_live, &lm, known);
  }
  struct closed_objects *co = &w->co;
  co->v = mprof_objects_snapshot(&co->n);
  co->first = malloc(((size_t)co->n + 1) * sizeof *co->first);
  for (uint32_t id = 0; co->first != NULL && id <= co->n; id++) co->first[id] = -1;
  size_t nframes = 0, maxframes = 0;
  int64_t v[PROF_NVALUES];
  for (size_t i = 0; i < w->nsnap; i++) {
    if (!shown(w, i, v)) continue;
    nframes += w->snap[i].nframes;
    if (w->snap[i].nframes > maxframes) maxframes = w->snap[i].nframes;
  }
  w->frame_entry = malloc((nframes + 1) * sizeof *w->frame_entry);
  w->locs = malloc((maxframes + 1) * sizeof *w->locs);
  w->maxlines = 64;
  w->lines = malloc(w->maxlines * sizeof *w->lines);
  if ((w->snap == NULL && before.buckets != 0) || co->first == NULL || w->frame_entry == NULL ||
      w->locs == NULL || w->lines == NULL || addr_table_init(&w->at) != 0)
    return -1;
  return 0;
}

/* Step 1: the distinct addresses, those of an unloaded object apart from
 * the same addresses in what was loaded there later; then the mappings of
 * the unloaded objects they are in. */
static int collect_addresses(struct dump_work *w) {
  size_t nidx = 0;
  int64_t v[PROF_NVALUES];
  for (size_t i = 0; i < w->nsnap; i++) {
    const struct prof_bucket_snap *s = &w->snap[i];
    if (!shown(w, i, v)) continue;
    for (uint32_t k = 0; k < s->nframes; k++) {
      uint32_t object = s->objects ? closed_id(&w->co, s->objects[k]) : 0;
      long e = addr_table_get(&w->at, s->frames[k] - 1, object);
      if (e < 0) return -1;
      w->frame_entry[nidx++] = (uint32_t)e;
    }
  }
  if (unloaded_add_mappings(&w->maps, &w->nmaps, &w->co, &w->at) != 0) return -1;
  w->fill = calloc(w->nmaps + 1, sizeof *w->fill);
  return w->fill != NULL ? 0 : -1;
}

/* Step 2 for one address: its lines, its mapping, and what it adds to its
 * mapping's fill. Returns 0, or -1 when out of memory. */
static int symbolize_entry(struct dump_work *w, struct addr_entry *e) {
  const struct prof_object *closed = e->object ? w->co.v[e->object].object : NULL;
  if (e->addr == PROF_FRAME_TRUNCATED - 1) { /* the mark of a cut stack */
    e->sym_rc = PROF_SYM_OK;
    e->info = truncated_frame;
    e->mapping = -1;
    return 0;
  }
  if (e->object != 0) {
    e->sym_rc = unloaded_symbolize(e, closed);
  } else if (symbolizer != NULL) {
    e->sym_rc = prof_symbolize(symbolizer, e->addr, &e->info);
  } else {
    e->sym_rc = PROF_SYM_INVALID;
    e->info.nlines = 0;
  }
  if (e->sym_rc == PROF_SYM_NO_MEMORY) return -1;
  if (e->sym_rc != PROF_SYM_OK) e->info.nlines = 0;
  if (e->info.nlines > w->maxlines) {
    profile_line *nl = realloc(w->lines, e->info.nlines * sizeof *nl);
    if (nl == NULL) return -1;
    w->lines = nl;
    w->maxlines = e->info.nlines;
  }
  if (e->object != 0) {
    e->mapping = unloaded_mapping(w->maps, &w->co, closed, e);
  } else {
    const struct prof_mapping *m = prof_mapping_find(w->maps, w->nlive, e->addr);
    e->mapping = m != NULL ? (int)(m - w->maps) : -1;
  }
  if (e->mapping < 0) return 0;
  struct mapping_fill *f = &w->fill[e->mapping];
  if (e->sym_rc == PROF_SYM_OK || e->sym_rc == PROF_SYM_NO_SYMBOL) f->looked_up++;
  if (e->info.nlines > 0 && e->info.file[0] != 0) f->filenames++;
  if (e->info.nlines > 0 && e->info.line > 0) f->line_numbers++;
  return 0;
}

/* Step 2: symbols and mappings of every distinct address. */
static int symbolize_addresses(struct dump_work *w) {
  if (symbolizer == NULL)
    symbolizer = prof_symbolizer_new();
  else
    prof_symbolizer_sync(symbolizer); /* an unload empties its cache */
  for (size_t i = 0; i < w->at.n; i++)
    if (symbolize_entry(w, &w->at.v[i]) != 0) return -1;
  return 0;
}

/* The "bytes" label of a bucket's sample: what one object weighs in the
 * values, as in Go's profiles (alloc_space / alloc_objects). The values
 * count the bytes the program asked for, and a bucket holds the objects of
 * one stack and one block size, whose requests may differ (malloc(4000)
 * and malloc(4090) share the 4096 block): the mean request, rounded. The
 * block itself is the "allocated_bytes" label. A delta profile's sample
 * has the end's: the start's sample of the bucket and the end's are one,
 * the bucket being one stack and one block size however its mean request
 * moves (pprof's Merge, keying samples by their labels too, would keep the
 * two apart if the label moved). */
static int64_t object_bytes(const struct prof_bucket_snap *s) {
  uint64_t n = s->alloc_count, bytes = s->alloc_bytes;
  if (n == 0) n = s->free_count, bytes = s->free_bytes;
  if (n == 0) return (int64_t)s->size;
  return (int64_t)((bytes + n / 2) / n);
}

/* Step 3, the samples: one per bucket with something to show. */
static int add_samples(struct dump_work *w) {
  size_t nidx = 0;
  int64_t values[PROF_NVALUES];
  for (size_t i = 0; i < w->nsnap; i++) {
    const struct prof_bucket_snap *s = &w->snap[i];
    if (!shown(w, i, values)) continue;
    uint32_t nf = s->nframes;
    for (uint32_t k = 0; k < nf; k++) w->locs[k] = w->at.v[w->frame_entry[nidx++]].location_id;
    profile_label labels[2] = {
        {.key = "bytes", .num = object_bytes(s), .num_unit = "bytes"},
        {.key = "allocated_bytes", .num = (int64_t)s->size, .num_unit = "bytes"},
    };
    if (profile_builder_add_sample(w->b, w->locs, nf, values, PROF_NVALUES, labels, 2) != 0)
      return -1;
  }
  return 0;
}

/* Step 3: the profile, from its header to its samples. */
static int build_profile(struct dump_work *w, const struct prof_dump_meta *meta) {
  profile_builder *b = w->b = profile_builder_new();
  if (b == NULL) return -1;
  profile_builder_add_sample_type(b, "alloc_objects", "count");
  profile_builder_add_sample_type(b, "alloc_space", "bytes");
  profile_builder_add_sample_type(b, "inuse_objects", "count");
  profile_builder_add_sample_type(b, "inuse_space", "bytes");
  add_peak_types(b);
  profile_builder_set_default_sample_type(
      b, w->view != NULL && w->view->default_type != NULL ? w->view->default_type : "inuse_space");
  profile_builder_set_period(b, "space", "bytes", (int64_t)w->rate);
  profile_builder_set_time(b, w->time_nanos,
                           w->base ? w->time_nanos - prof_dump_base_time(w->base) : 0);
  profile_builder_set_drop_frames(b, PROF_DROP_FRAMES);
  if (prof_dump_add_comments(b, meta, w->time_nanos, w->rate) != 0) return -1;
  if (add_peak_comments(b) != 0) return -1;
  if (add_mappings(b, w->maps, w->nmaps, w->fill) != 0) return -1;
  for (size_t i = 0; i < w->at.n; i++)
    if (add_location(b, &w->at.v[i], w->maps, w->fill, w->lines, w->maxlines) != 0) return -1;
  if (add_samples(w) != 0) return -1;
  return profile_builder_ok(b) ? 0 : -1;
}

int prof_profile_build(uint8_t **out, size_t *outlen, const struct prof_dump_meta *meta,
                       const struct prof_dump_view *view, char *err, size_t errlen) {
  struct dump_work w;
  memset(&w, 0, sizeof w);
  w.rate = mprof_rate();
  w.time_nanos = now_nanos();
  w.view = view;
  w.base = view != NULL ? view->base : NULL;
  const char *what = "out of memory";
  int rc = -1;
  if (gather(&w) == 0 && collect_addresses(&w) == 0 && symbolize_addresses(&w) == 0) {
    what = "out of memory building the profile";
    if (build_profile(&w, meta) == 0 && profile_builder_pack(w.b, out, outlen) == 0) rc = 0;
  }
  if (rc != 0) formats_set_err(err, errlen, "%s", what);
  /* no descriptor stays open between dumps (symbolize.h) */
  prof_symbolizer_close_files(symbolizer);
  unloaded_dump_done();
  dump_work_free(&w);
  return rc;
}
