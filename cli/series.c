/* series.c: loading a time series of in-use heap snapshots (series.h): the
 * snapshots, decoded by the reader (series_read.c) and taken in input
 * order, each reduced to its cells (stack, in-use bytes and objects,
 * variance) and freed; then the snapshots sorted by time, the stacks
 * indexed, and named (series_name.c). Contract and decisions in series.h.
 *
 * Matching stacks is most of the work here, and most of it is the same in
 * every snapshot of a stream: a process dumps the same mappings, locations
 * and functions again, with new values. So what a snapshot's tables name
 * (each location's frame names, as name ids) is kept, with a copy of the
 * tables' bytes and of the strings they refer to; a snapshot whose tables
 * and those strings are the same, byte for byte, reuses it and needs only
 * its header and samples decoded (profile_lite.h), not the tables. */
#include "series.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frames.h"
#include "hashtab.h"
#include "satint.h"
#include "series_impl.h"

/* ---- building: state ---- */

/* A copy of a table field (profile_lite_field) and of a string. */
typedef struct tab_copy {
  uint32_t num;
  size_t off, len; /* in build.cbytes */
} tab_copy;

typedef struct ref_copy {
  size_t index, off, len;
} ref_copy;

typedef struct build {
  hashtab names_ix;  /* hash of a name -> index into s->names */
  hashtab stacks_ix; /* hash of a stack's name ids -> index into s->stack */
  size_t cap_names, cap_stack, cap_cell, cap_frame, cap_snap;
  size_t *cur_snap, *cur_cell; /* per stack: the last snapshot it had a cell in, and which */
  size_t cap_cur_snap, cap_cur_cell;
  uint32_t *loc_first, *loc_n; /* per location of the profile at hand: its names */
  uint32_t *buf;               /* the location names of that profile, then one stack */
  size_t cap_loc_first, cap_loc_n, cap_buf;
  size_t nloc;    /* locations in loc_first, loc_n */
  bool in_stream; /* reading a stream's frames (messages name the snapshot) */
  bool dense;     /* the profile at hand has location ids 1..n in order */
  /* What loc_first, loc_n and buf were made from, when a later snapshot
   * may reuse them (cache_ok: dense, no filter): its table fields' bytes
   * (tab, into cbytes) and the strings they refer to (ref, into cbytes). */
  bool cache_ok;
  tab_copy *tab;
  ref_copy *ref;
  uint8_t *cbytes;
  size_t ntab, nref, ncbytes, cap_tab, cap_ref, cap_cbytes;
  /* Per sample of the previous snapshot, its stack (UINT32_MAX: none): a
   * process lists its stacks in about the same order in every dump, so
   * sample i is most likely the stack sample i was last time, which a
   * compare of its frames confirms without a hash lookup (a cache miss
   * per sample in a table of 10,000 stacks). next: the same for this one. */
  uint32_t *pred, *next;
  size_t npred, cap_pred, cap_next;
  size_t at; /* the sample being added */
  const series_opts *opts;
  const char *file; /* the input being read */
  size_t order;     /* snapshots read so far, in input order */
  bool failed;
} build;

/* ---- names and stacks ---- */

/* Index of the name, added if new; -1 when out of memory. */
static long intern_name(series *s, build *b, const char *name) {
  size_t len = strlen(name);
  uint64_t h = hash_bytes(name, len);
  hashtab_probe pr;
  for (uint32_t i = hashtab_first(&b->names_ix, h, &pr); i != HASHTAB_NONE; i = hashtab_next(&pr))
    if (strcmp(s->names[i], name) == 0) return i;
  if (s->nnames >= UINT32_MAX - 1 ||
      cli_grow(&s->names, &b->cap_names, s->nnames + 1, sizeof *s->names))
    return -1;
  char *copy = strdup(name);
  if (!copy || hashtab_insert(&b->names_ix, h, (uint32_t)s->nnames) != 0) {
    free(copy);
    return -1;
  }
  s->names[s->nnames] = copy;
  return (long)s->nnames++;
}

/* Index of the stack of names key[0..n), added if new; -1 when out of
 * memory. */
static long intern_stack(series *s, build *b, const uint32_t *key, size_t n) {
  uint64_t h = hash_bytes(key, n * sizeof *key);
  hashtab_probe pr;
  for (uint32_t i = hashtab_first(&b->stacks_ix, h, &pr); i != HASHTAB_NONE;
       i = hashtab_next(&pr)) {
    const series_stack *k = &s->stack[i];
    if (k->nframes == n && memcmp(s->frame + k->frames, key, n * sizeof *key) == 0) return i;
  }
  size_t ns = s->nstack + 1;
  if (ns >= UINT32_MAX || cli_grow(&s->stack, &b->cap_stack, ns, sizeof *s->stack) ||
      cli_grow(&b->cur_snap, &b->cap_cur_snap, ns, sizeof *b->cur_snap) ||
      cli_grow(&b->cur_cell, &b->cap_cur_cell, ns, sizeof *b->cur_cell) ||
      cli_grow(&s->frame, &b->cap_frame, s->nframe + n, sizeof *s->frame) ||
      hashtab_insert(&b->stacks_ix, h, (uint32_t)s->nstack) != 0)
    return -1;
  memcpy(s->frame + s->nframe, key, n * sizeof *key);
  s->stack[s->nstack] = (series_stack){.frames = s->nframe, .nframes = n};
  s->nframe += n;
  b->cur_snap[s->nstack] = SIZE_MAX;
  return (long)s->nstack++;
}

/* ---- one snapshot ---- */

/* The number after "key=" in one of p's comments, or dflt. */
static long comment_num(const profile_pb *p, const char *key, long dflt) {
  size_t kl = strlen(key);
  for (size_t i = 0; i < p->n_comment; i++) {
    const char *c = cli_str(p, p->comment[i]);
    if (strncmp(c, key, kl) != 0 || c[kl] != '=') continue;
    char *end;
    long v = strtol(c + kl + 1, &end, 10);
    if (end != c + kl + 1 && *end == '\0' && v >= 0) return v;
  }
  return dflt;
}

/* Fills b->loc_first/loc_n/buf with every location's frame names (name
 * indices, leaf first). Returns 0 or -1 (out of memory). */
static int location_names(series *s, build *b, const profile_pb *p, const profile_index *ix) {
  size_t used = 0;
  /* liballoc and most writers number locations 1..n: then a location's
   * position is its id - 1, no lookup needed (10,000 stacks of 16 frames
   * make 160,000 lookups a snapshot) */
  b->dense = true;
  for (size_t i = 0; i < p->n_location && b->dense; i++) b->dense = p->location[i]->id == i + 1;
  if (cli_grow(&b->loc_first, &b->cap_loc_first, p->n_location + 1, sizeof *b->loc_first) ||
      cli_grow(&b->loc_n, &b->cap_loc_n, p->n_location + 1, sizeof *b->loc_n))
    return -1;
  for (size_t i = 0; i < p->n_location; i++) {
    const Perftools__Profiles__Location *l = p->location[i];
    size_t n = l->n_line ? l->n_line : 1;
    if (cli_grow(&b->buf, &b->cap_buf, used + n, sizeof *b->buf)) return -1;
    b->loc_first[i] = (uint32_t)used;
    b->loc_n[i] = (uint32_t)n;
    for (size_t j = 0; j < n; j++) {
      char addr[24];
      long id = intern_name(s, b, cli_frame_name(p, ix, l, j, addr));
      if (id < 0) return -1;
      b->buf[used++] = (uint32_t)id;
    }
  }
  b->loc_first[p->n_location] = (uint32_t)used;
  b->nloc = p->n_location;
  return 0;
}

/* Whether sample q (of a profile with dense location ids) has stack k's
 * frames: compared as they are looked up, without building the key. */
static bool is_stack(const series *s, const build *b, const Perftools__Profiles__Sample *q,
                     uint32_t k) {
  const series_stack *st = &s->stack[k];
  const uint32_t *f = s->frame + st->frames;
  size_t n = 0;
  for (size_t j = 0; j < q->n_location_id; j++) {
    uint64_t li = q->location_id[j] - 1;
    if (li >= b->nloc) return false; /* (validated profiles have none) */
    const uint32_t *names = b->buf + b->loc_first[li];
    uint32_t len = b->loc_n[li];
    if (len > st->nframes - n) return false;
    for (uint32_t t = 0; t < len; t++)
      if (f[n + t] != names[t]) return false;
    n += len;
  }
  return n == st->nframes;
}

/* Index of sample q's stack, added if new; -1 when out of memory. */
static long sample_stack(series *s, build *b, const profile_index *ix,
                         const Perftools__Profiles__Sample *q) {
  /* most likely the stack of the previous snapshot's sample at this place */
  uint32_t pred = b->at < b->npred ? b->pred[b->at] : UINT32_MAX;
  if (pred != UINT32_MAX && b->dense && is_stack(s, b, q, pred)) return pred;
  size_t base = b->loc_first[b->nloc], n = 0;
  for (size_t k = 0; k < q->n_location_id; k++) {
    uint64_t id = q->location_id[k];
    long li = b->dense ? (id - 1 < b->nloc ? (long)(id - 1) : -1) : profile_index_location(ix, id);
    if (li < 0) continue; /* validated profiles have none */
    if (cli_grow(&b->buf, &b->cap_buf, base + n + b->loc_n[li], sizeof *b->buf)) return -1;
    memcpy(b->buf + base + n, b->buf + b->loc_first[li], b->loc_n[li] * sizeof *b->buf);
    n += b->loc_n[li];
  }
  const uint32_t *key = b->buf + base;
  if (pred != UINT32_MAX && !b->dense && s->stack[pred].nframes == n &&
      memcmp(s->frame + s->stack[pred].frames, key, n * sizeof *key) == 0)
    return pred;
  return intern_stack(s, b, key, n);
}

/* Adds sample q's values to its stack's cell of snapshot si. Returns 0 or
 * -1 (out of memory). */
static int add_sample(series *s, build *b, const profile_index *ix,
                      const Perftools__Profiles__Sample *q, int64_t bytes, int64_t objects,
                      double var, size_t si) {
  long k = sample_stack(s, b, ix, q);
  if (k < 0) return -1;
  b->next[b->at] = (uint32_t)k;
  series_cell *c;
  if (b->cur_snap[k] == si) {
    c = &s->cell[b->cur_cell[k]];
  } else {
    if (cli_grow(&s->cell, &b->cap_cell, s->ncell + 1, sizeof *s->cell)) return -1;
    b->cur_snap[k] = si;
    b->cur_cell[k] = s->ncell;
    c = &s->cell[s->ncell++];
    *c = (series_cell){.stack = (uint32_t)k};
    s->snap[si].ncells++;
  }
  c->bytes = sat_add(c->bytes, bytes);
  c->objects = sat_add(c->objects, objects);
  c->var += var;
  return 0;
}

/* The snapshot's header: its time, process, types; -1 after printing when
 * it cannot be in a series, 1 when it belongs to another process than
 * opts->pid (skipped), else 0. */
static int snap_header(build *b, const profile_pb *p, size_t frame, series_snap *sn) {
  char where[64] = "";
  if (b->in_stream) snprintf(where, sizeof where, " (snapshot %zu)", frame);
  if (series_find_type(p, "inuse_space", "bytes") < 0) {
    cli_error("%s%s: no inuse_space sample type in bytes: not a heap profile", b->file, where);
    return -1;
  }
  if (p->time_nanos <= 0) {
    cli_error("%s%s: the profile has no time (time_nanos), so it has no place in a series", b->file,
              where);
    return -1;
  }
  if (cli_check_period(p, b->file) != 0) return -1;
  *sn = (series_snap){.time_nanos = p->time_nanos,
                      .period = p->period > 1 ? p->period : 0,
                      .pid = comment_num(p, "pid", 0),
                      .seq = comment_num(p, "seq", -1),
                      .file = b->file,
                      .frame = frame};
  return b->opts->pid > 0 && sn->pid != 0 && sn->pid != b->opts->pid ? 1 : 0;
}

/* The cells of profile p, snapshot si, its locations' names in b (ix: its
 * index, unless they are dense); var: its samples' variances, or NULL to
 * work them out here. Returns 0 or -1 (out of memory). */
static int add_cells(series *s, build *b, const profile_pb *p, const profile_index *ix,
                     const double *var, size_t si) {
  size_t vb = (size_t)series_find_type(p, "inuse_space", "bytes");
  ssize_t vo = series_find_type(p, "inuse_objects", "count");
  cli_model m;
  if (!var) cli_model_init(&m, p, vb);
  if (cli_grow(&b->next, &b->cap_next, p->n_sample + 1, sizeof *b->next)) return -1;
  memset(b->next, 0xff, (p->n_sample + 1) * sizeof *b->next);
  for (size_t i = 0; i < p->n_sample; i++) {
    const Perftools__Profiles__Sample *q = p->sample[i];
    int64_t bytes = q->value[vb], objects = vo >= 0 ? q->value[vo] : 0;
    if (bytes == 0 && objects == 0) continue;
    b->at = i;
    double v = var ? var[i] : cli_model_variance(&m, q);
    if (add_sample(s, b, ix, q, bytes, objects, v, si) != 0) return -1;
  }
  uint32_t *t = b->pred; /* this snapshot's stacks predict the next one's */
  size_t tc = b->cap_pred;
  b->pred = b->next;
  b->cap_pred = b->cap_next;
  b->npred = p->n_sample;
  b->next = t;
  b->cap_next = tc;
  return 0;
}

/* ---- reusing the names of tables seen before ---- */

/* Appends len bytes to cbytes; their offset, or SIZE_MAX when out of
 * memory. */
static size_t keep_bytes(build *b, const void *data, size_t len) {
  if (cli_grow(&b->cbytes, &b->cap_cbytes, b->ncbytes + len + 1, 1)) return SIZE_MAX;
  memcpy(b->cbytes + b->ncbytes, data, len);
  b->ncbytes += len;
  return b->ncbytes - len;
}

/* Keeps string i of l (i < its count: p was validated), once (seen: the
 * strings kept so far; a function's name is mostly its system name too,
 * and many share a file). */
static int keep_string(build *b, const profile_lite *l, int64_t i, bool *seen) {
  if (seen[i]) return 0;
  seen[i] = true;
  if (cli_grow(&b->ref, &b->cap_ref, b->nref + 1, sizeof *b->ref)) return -1;
  size_t len = l->string_len[i], off = keep_bytes(b, l->pb.string_table[i], len);
  if (off == SIZE_MAX) return -1;
  b->ref[b->nref++] = (ref_copy){(size_t)i, off, len};
  return 0;
}

/* Keeps what p's frame names depend on: l's table fields, and the strings
 * p's mappings and functions refer to (before cli_name_frames adds any).
 * Returns 0 or -1 (out of memory: nothing is reused then). */
static int keep_tables(build *b, const profile_lite *l, const profile_pb *p) {
  b->ntab = b->nref = b->ncbytes = 0;
  bool *seen = calloc(p->n_string_table + 1, sizeof *seen);
  if (!seen || cli_grow(&b->tab, &b->cap_tab, l->ntables + 1, sizeof *b->tab)) goto oom;
  for (size_t i = 0; i < l->ntables; i++) {
    size_t off = keep_bytes(b, l->tables[i].data, l->tables[i].len);
    if (off == SIZE_MAX) goto oom;
    b->tab[b->ntab++] = (tab_copy){l->tables[i].num, off, l->tables[i].len};
  }
  for (size_t i = 0; i < p->n_mapping; i++)
    if (keep_string(b, l, p->mapping[i]->filename, seen) ||
        keep_string(b, l, p->mapping[i]->build_id, seen))
      goto oom;
  for (size_t i = 0; i < p->n_function; i++) {
    const Perftools__Profiles__Function *f = p->function[i];
    if (keep_string(b, l, f->name, seen) || keep_string(b, l, f->system_name, seen) ||
        keep_string(b, l, f->filename, seen))
      goto oom;
  }
  free(seen);
  return 0;
oom:
  free(seen);
  return -1;
}

/* Whether l's tables are those kept, with the same strings: then they name
 * the same frames, and are as valid. */
static bool same_tables(const build *b, const profile_lite *l) {
  if (!b->cache_ok || l->ntables != b->ntab) return false;
  for (size_t i = 0; i < b->ntab; i++) {
    const tab_copy *t = &b->tab[i];
    if (t->num != l->tables[i].num || t->len != l->tables[i].len ||
        memcmp(b->cbytes + t->off, l->tables[i].data, t->len) != 0)
      return false;
  }
  for (size_t i = 0; i < b->nref; i++) {
    const ref_copy *r = &b->ref[i];
    if (r->index >= l->pb.n_string_table || l->string_len[r->index] != r->len ||
        memcmp(b->cbytes + r->off, l->pb.string_table[r->index], r->len) != 0)
      return false;
  }
  return true;
}

/* ---- one snapshot, added ---- */

/* Appends snapshot sn and its cells from p (add_cells). Returns 0 or -1
 * after printing. */
static int add_snap(series *s, build *b, series_snap sn, const profile_pb *p,
                    const profile_index *ix, const double *var) {
  int rc = cli_grow(&s->snap, &b->cap_snap, s->nsnap + 1, sizeof *s->snap);
  if (rc == 0) {
    sn.first = s->ncell;
    sn.t = (double)b->order++; /* input order, the last tie-breaker, until the sort */
    s->snap[s->nsnap] = sn;
    rc = add_cells(s, b, p, ix, var, s->nsnap++);
  }
  if (rc != 0) cli_error("%s: out of memory reading the series", b->file);
  return rc;
}

/* Adds fully decoded p (frame `frame` of b->file) as a snapshot, and keeps
 * its tables for the next when l (its quick decoding) says what they are.
 * Returns 0 or -1 after printing. */
static int add_full(series *s, build *b, profile_pb *p, const profile_lite *l, size_t frame) {
  series_snap sn;
  int h = snap_header(b, p, frame, &sn);
  if (h != 0) return h < 0 ? -1 : 0;
  b->cache_ok = false; /* the location names are about to change */
  bool keep = l && keep_tables(b, l, p) == 0;
  if (cli_name_frames(&p, 1) != 0) return -1;
  if (b->opts->filter && cli_filter_apply(b->opts->filter, p) != 0) return -1;
  char err[CLI_ERRLEN];
  profile_index *own = NULL;
  const profile_index *ix = profile_index_use(p, &own, err, sizeof err);
  if (!ix) {
    cli_error("%s", err);
    return -1;
  }
  int rc = location_names(s, b, p, ix);
  if (rc != 0)
    cli_error("%s: out of memory reading the series", b->file);
  else
    rc = add_snap(s, b, sn, p, ix, NULL);
  b->cache_ok = rc == 0 && keep && b->dense;
  profile_index_free(own);
  return rc;
}

/* Adds the reader's snapshot: from its quick decoding when its tables are
 * those kept (and its samples' locations exist), else from the full one,
 * decoded here if the reader did not. Returns 0 or -1 after printing. */
static int add_item(series *s, build *b, series_item *it) {
  b->file = it->file;
  b->in_stream = it->in_stream;
  const profile_lite *l = it->lite;
  if (l && same_tables(b, l) &&
      (l->max_location_id == 0 || (l->min_location_id >= 1 && l->max_location_id <= b->nloc))) {
    series_snap sn;
    int h = snap_header(b, &l->pb, it->frame, &sn);
    if (h != 0) return h < 0 ? -1 : 0;
    return add_snap(s, b, sn, &l->pb, NULL, it->var);
  }
  if (!it->p && series_item_decode(it) != 0) return -1;
  return add_full(s, b, it->p, l, it->frame);
}

/* Every snapshot of the files into s. Returns 0 or -1 after printing. */
static int read_all(series *s, build *b, char *const *files, size_t nfiles) {
  bool lite = !b->opts->filter || !cli_filter_active(b->opts->filter);
  series_reader *r = series_reader_start(files, nfiles, lite);
  if (!r) return -1;
  series_item it;
  while (series_reader_next(r, &it)) {
    int rc = add_item(s, b, &it);
    series_reader_done(r, &it);
    if (rc != 0) series_reader_fail(r);
  }
  return series_reader_finish(r);
}

/* ---- finishing: order, processes, stacks ---- */

static int by_time(const void *x, const void *y) {
  const series_snap *a = x, *b = y;
  if (a->time_nanos != b->time_nanos) return a->time_nanos < b->time_nanos ? -1 : 1;
  if (a->seq != b->seq) {
    if (a->seq < 0 || b->seq < 0) return a->seq < 0 ? 1 : -1;
    return a->seq < b->seq ? -1 : 1;
  }
  return a->t < b->t ? -1 : a->t > b->t;
}

typedef struct pid_count {
  long pid;
  size_t n;
} pid_count;

static int by_count(const void *x, const void *y) {
  const pid_count *a = x, *b = y;
  if (a->n != b->n) return a->n > b->n ? -1 : 1;
  return a->pid < b->pid ? -1 : a->pid > b->pid;
}

/* Inputs from several processes, unless opts->pid chose: -1 after
 * printing the ones with the most snapshots. */
static int check_pids(const series *s, const build *b) {
  pid_count *v = calloc(s->nsnap + 1, sizeof *v);
  size_t n = 0;
  if (!v) return 0; /* out of memory: the check is advice, go on */
  for (size_t i = 0; i < s->nsnap; i++) {
    long pid = s->snap[i].pid;
    size_t j = 0;
    while (j < n && v[j].pid != pid) j++;
    if (pid == 0) continue;
    if (j == n) v[n++] = (pid_count){pid, 0};
    v[j].n++;
  }
  if (n <= 1) {
    free(v);
    return 0;
  }
  qsort(v, n, sizeof *v, by_count);
  char list[160] = "";
  size_t used = 0;
  for (size_t j = 0; j < n && j < 3; j++)
    used += (size_t)snprintf(list + used, sizeof list - used, "%spid %ld: %zu snapshot%s",
                             j ? ", " : "", v[j].pid, v[j].n, v[j].n == 1 ? "" : "s");
  cli_error("%s: the snapshots come from %zu processes (%s%s): choose one with --pid",
            b->opts->cmd ? b->opts->cmd : "series", n, list, n > 3 ? ", ..." : "");
  free(v);
  return -1;
}

/* Sorts by time, drops snapshots given twice, sets t and the totals. */
static void order_snapshots(series *s) {
  qsort(s->snap, s->nsnap, sizeof *s->snap, by_time);
  size_t w = 0, dropped = 0;
  for (size_t i = 0; i < s->nsnap; i++) {
    series_snap *sn = &s->snap[i];
    sn->bytes = sn->objects = 0;
    sn->var = 0;
    for (size_t c = sn->first; c < sn->first + sn->ncells; c++) {
      sn->bytes = sat_add(sn->bytes, s->cell[c].bytes);
      sn->objects = sat_add(sn->objects, s->cell[c].objects);
      sn->var += s->cell[c].var;
    }
    const series_snap *prev = w ? &s->snap[w - 1] : NULL;
    if (prev && prev->time_nanos == sn->time_nanos && prev->pid == sn->pid &&
        prev->seq == sn->seq && prev->bytes == sn->bytes && prev->objects == sn->objects &&
        prev->ncells == sn->ncells) {
      dropped++;
      continue;
    }
    s->snap[w++] = *sn;
  }
  s->nsnap = w;
  if (dropped)
    fprintf(stderr,
            "allocprof: %zu snapshot%s given twice (same process, time and contents) "
            "counted once\n",
            dropped, dropped == 1 ? "" : "s");
  for (size_t i = 0; i < s->nsnap; i++) {
    s->snap[i].t = (double)(s->snap[i].time_nanos - s->snap[0].time_nanos) / 1e9;
    if (i == 0 || s->snap[i].bytes > s->peak_bytes) {
      s->peak_bytes = s->snap[i].bytes;
      s->peak_snap = i;
    }
  }
}

/* by_stack: each stack's cells in time order (a counting sort); its
 * largest value. Returns 0 or -1 (out of memory). */
static int index_stacks(series *s) {
  size_t n = 0;
  for (size_t i = 0; i < s->nsnap; i++) n += s->snap[i].ncells;
  s->by_stack = malloc((n ? n : 1) * sizeof *s->by_stack);
  if (!s->by_stack) return -1;
  for (size_t k = 0; k < s->nstack; k++) s->stack[k].ncells = 0;
  for (size_t i = 0; i < s->nsnap; i++)
    for (size_t c = s->snap[i].first; c < s->snap[i].first + s->snap[i].ncells; c++)
      s->stack[s->cell[c].stack].ncells++;
  size_t at = 0;
  for (size_t k = 0; k < s->nstack; k++) {
    s->stack[k].first = at;
    at += s->stack[k].ncells;
    s->stack[k].ncells = 0;
  }
  for (size_t i = 0; i < s->nsnap; i++)
    for (size_t c = s->snap[i].first; c < s->snap[i].first + s->snap[i].ncells; c++) {
      series_stack *k = &s->stack[s->cell[c].stack];
      s->by_stack[k->first + k->ncells++] = (uint32_t)c;
      if (k->ncells == 1 || s->cell[c].bytes > k->max_bytes) {
        k->max_bytes = s->cell[c].bytes;
        k->max_snap = i;
      }
    }
  return 0;
}

/* ---- the interface ---- */

static void build_free(build *b) {
  hashtab_free(&b->names_ix);
  hashtab_free(&b->stacks_ix);
  free(b->cur_snap);
  free(b->cur_cell);
  free(b->loc_first);
  free(b->loc_n);
  free(b->buf);
  free(b->pred);
  free(b->next);
  free(b->tab);
  free(b->ref);
  free(b->cbytes);
}

int series_load(series *s, char *const *files, size_t nfiles, const series_opts *opts) {
  *s = (series){0};
  build b = {.opts = opts};
  int rc = read_all(s, &b, files, nfiles);
  if (rc == 0 && opts->pid == 0) rc = check_pids(s, &b);
  if (rc == 0 && s->nsnap == 0) {
    cli_error("%s: no snapshot of process %ld in the input", opts->cmd ? opts->cmd : "series",
              opts->pid);
    rc = -1;
  }
  if (rc == 0) {
    order_snapshots(s);
    if (index_stacks(s) != 0 || series_name_stacks(s) != 0) {
      cli_error("out of memory reading the series");
      rc = -1;
    }
  }
  build_free(&b);
  if (rc != 0) series_free(s);
  return rc;
}

void series_free(series *s) {
  for (size_t k = 0; k < s->nstack; k++) free(s->stack[k].label);
  for (size_t i = 0; i < s->nnames; i++) free(s->names[i]);
  free(s->snap);
  free(s->stack);
  free(s->cell);
  free(s->by_stack);
  free(s->names);
  free(s->frame);
  *s = (series){0};
}

const char *series_frame_name(const series *s, size_t k, size_t j) {
  return s->names[s->frame[s->stack[k].frames + j]];
}

void series_stack_row(const series *s, size_t k, int64_t *bytes, int64_t *objects, double *var) {
  for (size_t i = 0; i < s->nsnap; i++) {
    if (bytes) bytes[i] = 0;
    if (objects) objects[i] = 0;
    if (var) var[i] = 0;
  }
  const series_stack *st = &s->stack[k];
  size_t i = 0;
  for (size_t c = 0; c < st->ncells; c++) {
    size_t cell = s->by_stack[st->first + c];
    while (s->snap[i].first + s->snap[i].ncells <= cell || s->snap[i].first > cell) i++;
    if (bytes) bytes[i] = s->cell[cell].bytes;
    if (objects) objects[i] = s->cell[cell].objects;
    if (var) var[i] = s->cell[cell].var;
  }
}
