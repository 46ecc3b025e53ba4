/* profile.c: the heap as a pprof Profile (dump.h). Overview of the
 * profiler: liballoc/mprof.h.
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
 *      (formats/profile_builder.h), and packs it;
 *   4. writes it: a file, all or nothing (temporary name, then rename), or
 *      one frame of a snapshot stream.
 *
 * Values are unsampled per bucket the way Go's heap profile is
 * (scaleHeapSample in Go's pprof writer): every object of a bucket has the
 * same size, so the factor 1 / (1 - exp(-size / rate)) of mprof_scale turns
 * its sampled counts and bytes into estimates of the true ones.
 *
 * Locking: dump_mutex serializes whole dumps (build and write: two never
 * share a temporary file or a stream) and guards the symbolizer. Everything
 * here may allocate, so the calling thread holds the profiler guard (its own
 * allocations are not sampled) for the whole dump. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "container.h"
#include "dump.h"
#include "errmsg.h"
#include "fileio.h"
#include "hashtab.h"
#include "mappings.h"
#include "mprof_objects.h"
#include "mprof.h"
#include "profile_builder.h"
#include "profile_io.h"
#include "settings.h"
#include "stream.h"
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

/* ---- messages ---------------------------------------------------------------- */

/* ---- the long-lived symbolizer --------------------------------------------------
 * Made by the first dump, kept for the life of the process. */

static pthread_mutex_t dump_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct prof_symbolizer *symbolizer; /* dump_mutex */
static int dump_busy;                      /* dump_mutex: a dump is running */

/* A fork while another thread dumps leaves the child with dump_mutex held by
 * a thread that does not exist there, and the symbolizer possibly half
 * updated: the child gets a fresh mutex and, in that case, forgets the
 * symbolizer (leaking it) and makes a new one at its first dump. Waiting for
 * the dump in a prepare handler instead would hold fork() up for as long as
 * a dump takes. */
void prof_dump_fork_child(void) {
  if (dump_busy) {
    symbolizer = NULL;
    unloaded_fork_child();
  }
  dump_busy = 0;
  pthread_mutex_init(&dump_mutex, NULL);
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
 * unsampled as inuse is, with the bucket's factor. */

#define PEAK_NTYPES 2

static void add_peak_types(profile_builder *b) {
  profile_builder_add_sample_type(b, "peak_inuse_objects", "count");
  profile_builder_add_sample_type(b, "peak_inuse_space", "bytes");
}

static void peak_values(const struct prof_bucket_snap *s, double scale, int64_t out[PEAK_NTYPES]) {
  out[0] = (int64_t)((double)s->peak_count * scale);
  out[1] = (int64_t)((double)s->peak_bytes * scale);
}

/* The peak's comments, from totals read after the snapshot: a peak reached
 * between the two (the program allocating during the dump) gives a time
 * and total a moment later than the stacks' values. */
static int add_peak_comments(profile_builder *b) {
  struct prof_totals t;
  mprof_get_totals(&t);
  return prof_dump_add_peak_comments(b, t.peak_inuse_bytes, t.peak_time_nanos);
}

/* Does the bucket have anything to show? */
static bool bucket_counts(const struct prof_bucket_snap *s) {
  return s->alloc_count != 0 || s->alloc_bytes != 0 || s->free_count != 0 || s->free_bytes != 0;
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
  for (size_t i = 0; i < w->nsnap; i++) {
    if (!bucket_counts(&w->snap[i])) continue;
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
  for (size_t i = 0; i < w->nsnap; i++) {
    const struct prof_bucket_snap *s = &w->snap[i];
    if (!bucket_counts(s)) continue;
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
 * block itself is the "allocated_bytes" label. */
static int64_t object_bytes(const struct prof_bucket_snap *s) {
  uint64_t n = s->alloc_count, bytes = s->alloc_bytes;
  if (n == 0) n = s->free_count, bytes = s->free_bytes;
  if (n == 0) return (int64_t)s->size;
  return (int64_t)((bytes + n / 2) / n);
}

/* ---- delta profiles ---------------------------------------------------------------------
 * A bucket is known by its frames, which stay where they are for the life
 * of the process (mprof.h), and its block size. The base keeps each one's
 * cumulative allocation counts, sorted for a binary search. */

struct base_entry {
  const uintptr_t *frames;
  uint64_t size, alloc_count, alloc_bytes;
};
struct prof_dump_base {
  int64_t time_nanos;
  size_t n;
  struct base_entry *v;
};

static int base_cmp(const void *a, const void *b) {
  const struct base_entry *x = a, *y = b;
  if (x->frames != y->frames) return (uintptr_t)x->frames < (uintptr_t)y->frames ? -1 : 1;
  return x->size < y->size ? -1 : x->size > y->size;
}

struct prof_dump_base *prof_dump_base_take(void) {
  struct prof_dump_base *base = calloc(1, sizeof *base);
  if (base == NULL) return NULL;
  int entered = mprof_guard_enter();
  struct prof_totals t;
  mprof_get_totals(&t);
  base->time_nanos = now_nanos();
  struct prof_bucket_snap *snap = mprof_snapshot(&base->n);
  base->v = calloc(base->n + 1, sizeof *base->v);
  if (base->v == NULL || (snap == NULL && t.buckets != 0)) {
    free(snap);
    prof_dump_base_free(base);
    base = NULL;
  } else {
    for (size_t i = 0; i < base->n; i++)
      base->v[i] = (struct base_entry){snap[i].frames, snap[i].size, snap[i].alloc_count,
                                       snap[i].alloc_bytes};
    free(snap);
    qsort(base->v, base->n, sizeof *base->v, base_cmp);
  }
  if (entered) mprof_guard_exit();
  return base;
}

void prof_dump_base_free(struct prof_dump_base *base) {
  if (base == NULL) return;
  free(base->v);
  free(base);
}

/* The allocations of s since the base into *count and *bytes. */
static void base_since(const struct prof_dump_base *base, const struct prof_bucket_snap *s,
                       uint64_t *count, uint64_t *bytes) {
  struct base_entry key = {s->frames, s->size, 0, 0};
  const struct base_entry *e = bsearch(&key, base->v, base->n, sizeof key, base_cmp);
  if (e == NULL) return;
  *count = *count > e->alloc_count ? *count - e->alloc_count : 0;
  *bytes = *bytes > e->alloc_bytes ? *bytes - e->alloc_bytes : 0;
}

/* Step 3, the samples: one per bucket with something to show. */
static int add_samples(struct dump_work *w) {
  size_t nidx = 0;
  for (size_t i = 0; i < w->nsnap; i++) {
    const struct prof_bucket_snap *s = &w->snap[i];
    if (!bucket_counts(s)) continue;
    uint32_t nf = s->nframes;
    for (uint32_t k = 0; k < nf; k++) w->locs[k] = w->at.v[w->frame_entry[nidx++]].location_id;
    /* Go's scaleHeapSample: the factor of the bucket's average size */
    double scale = s->alloc_count
                       ? mprof_scale((double)s->alloc_bytes / (double)s->alloc_count, w->rate)
                       : 1.0;
    uint64_t live_n = s->alloc_count - s->free_count, live_b = s->alloc_bytes - s->free_bytes;
    uint64_t alloc_n = s->alloc_count, alloc_b = s->alloc_bytes;
    if (w->base != NULL) base_since(w->base, s, &alloc_n, &alloc_b);
    int64_t values[4 + PEAK_NTYPES] = {
        (int64_t)((double)alloc_n * scale),
        (int64_t)((double)alloc_b * scale),
        (int64_t)((double)live_n * scale),
        (int64_t)((double)live_b * scale),
    };
    peak_values(s, scale, values + 4);
    int any = 0;
    for (int k = 0; k < 4 + PEAK_NTYPES; k++) any |= values[k] != 0;
    if (!any) continue;
    profile_label labels[2] = {
        {.key = "bytes", .num = object_bytes(s), .num_unit = "bytes"},
        {.key = "allocated_bytes", .num = (int64_t)s->size, .num_unit = "bytes"},
    };
    if (profile_builder_add_sample(w->b, w->locs, nf, values, 4 + PEAK_NTYPES, labels, 2) != 0)
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
  profile_builder_set_time(b, w->time_nanos, w->base ? w->time_nanos - w->base->time_nanos : 0);
  profile_builder_set_drop_frames(b, PROF_DROP_FRAMES);
  if (prof_dump_add_comments(b, meta, w->time_nanos, w->rate) != 0) return -1;
  if (add_peak_comments(b) != 0) return -1;
  if (add_mappings(b, w->maps, w->nmaps, w->fill) != 0) return -1;
  for (size_t i = 0; i < w->at.n; i++)
    if (add_location(b, &w->at.v[i], w->maps, w->fill, w->lines, w->maxlines) != 0) return -1;
  if (add_samples(w) != 0) return -1;
  return profile_builder_ok(b) ? 0 : -1;
}

/* Builds and packs the profile; dump_mutex and the guard are held. meta:
 * what the comments say started the dump (NULL: nothing). */
static int build_packed(uint8_t **out, size_t *outlen, const struct prof_dump_meta *meta,
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

/* ---- writing ------------------------------------------------------------------------------- */

/* gzip at its fastest level, as Go's runtime/pprof writes its profiles: a
 * heap profile is mostly varints that compress well at any level, and the
 * dump's time matters more than a third of its size. */
#define PROF_GZIP_LEVEL 1

/* Writes a packed profile to path, all or nothing (profile_io.h's
 * profile_write_packed_file, with our gzip level). */
static int write_file(const char *path, const uint8_t *pb, size_t len, char *err, size_t errlen) {
  container_kind kind = container_for_path(path);
  if (kind != CONTAINER_GZIP) return profile_write_packed_file(path, pb, len, err, errlen);
  uint8_t *gz = NULL;
  size_t gzlen = 0;
  char why[200];
  if (container_compress(kind, pb, len, PROF_GZIP_LEVEL, &gz, &gzlen, why, sizeof why) != 0) {
    formats_set_err(err, errlen, "%s: %s", path, why);
    return -1;
  }
  int rc = fileio_write_atomic(path, gz, gzlen, err, errlen);
  free(gz);
  return rc;
}

/* ---- dump.h ---------------------------------------------------------------------------------- */

static uint64_t dumps_written, dumps_failed; /* relaxed atomics */

void prof_dump_counts(uint64_t *written, uint64_t *failed) {
  *written = __atomic_load_n(&dumps_written, __ATOMIC_RELAXED);
  *failed = __atomic_load_n(&dumps_failed, __ATOMIC_RELAXED);
}

/* The steps of a dump after packing. */
enum dump_sink { SINK_NONE, SINK_FILE, SINK_STREAM };

/* One whole dump under dump_mutex: two dumps never interleave, so two
 * writers never race for the same temporary file or stream. */
static int dump_locked(enum dump_sink sink, const char *path, int fd,
                       const struct prof_dump_meta *meta, const struct prof_dump_view *view,
                       uint8_t **out, size_t *len, char *err, size_t errlen) {
  uint8_t *pb = NULL;
  size_t pblen = 0;
  int entered = mprof_guard_enter();
  pthread_mutex_lock(&dump_mutex);
  dump_busy = 1;
  int rc = build_packed(&pb, &pblen, meta, view, err, errlen);
  if (rc != 0) {
    errno = ENOMEM;
    if (sink == SINK_FILE) {
      char why[128];
      snprintf(why, sizeof why, "%s", err != NULL && errlen != 0 ? err : "out of memory");
      formats_set_err(err, errlen, "%s: %s", path, why);
    }
  } else if (sink == SINK_FILE) {
    errno = 0;
    rc = write_file(path, pb, pblen, err, errlen);
  } else if (sink == SINK_STREAM) {
    errno = 0;
    rc = stream_append_fd(fd, pb, pblen, 0, err, errlen);
  }
  if (rc != 0 && errno == 0) errno = EIO;
  __atomic_fetch_add(rc == 0 ? &dumps_written : &dumps_failed, 1, __ATOMIC_RELAXED);
  int saved = errno;
  dump_busy = 0;
  pthread_mutex_unlock(&dump_mutex);
  if (rc == 0 && out != NULL) {
    *out = pb;
    *len = pblen;
  } else {
    free(pb);
  }
  if (entered) mprof_guard_exit();
  errno = saved;
  return rc;
}

int prof_dump_packed(uint8_t **out, size_t *len, const struct prof_dump_meta *meta, char *err,
                     size_t errlen) {
  *out = NULL;
  *len = 0;
  return dump_locked(SINK_NONE, NULL, -1, meta, NULL, out, len, err, errlen);
}

int prof_dump_file(const char *path, const struct prof_dump_meta *meta, char *err, size_t errlen) {
  if (path == NULL || *path == 0) {
    formats_set_err(err, errlen, "no path to write the profile to");
    errno = EINVAL;
    return -1;
  }
  return dump_locked(SINK_FILE, path, -1, meta, NULL, NULL, NULL, err, errlen);
}

int prof_dump_stream(int fd, const struct prof_dump_meta *meta, char *err, size_t errlen) {
  return dump_locked(SINK_STREAM, NULL, fd, meta, NULL, NULL, NULL, err, errlen);
}

int prof_dump_gzip(uint8_t **out, size_t *len, const struct prof_dump_meta *meta,
                   const struct prof_dump_view *view, char *err, size_t errlen) {
  uint8_t *pb = NULL;
  size_t pblen = 0;
  *out = NULL;
  *len = 0;
  if (dump_locked(SINK_NONE, NULL, -1, meta, view, &pb, &pblen, err, errlen) != 0) return -1;
  int entered = mprof_guard_enter();
  char why[200];
  int rc =
      container_compress(CONTAINER_GZIP, pb, pblen, PROF_GZIP_LEVEL, out, len, why, sizeof why);
  if (rc != 0) formats_set_err(err, errlen, "%s", why);
  free(pb);
  if (entered) mprof_guard_exit();
  return rc;
}
