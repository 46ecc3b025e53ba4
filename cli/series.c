/* series.c: loading a time series of in-use heap snapshots (series.h): each
 * input file read whole and a stream cut into frames (a walker thread),
 * each snapshot decoded (two decoder threads), then reduced to its cells
 * (stack, in-use bytes and objects, variance) in input order and freed (the
 * calling thread); then the snapshots sorted by time and the stacks indexed
 * and named. Contract and decisions in series.h. */
#include "series.h"

#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "fileio.h"
#include "frames.h"
#include "hashtab.h"
#include "satint.h"
#include "stream.h"

/* Frames that do not say who wanted the memory: the allocator's entry
 * points (libprof/profile.c's drop_frames), the usual wrappers of C, GLib,
 * CPython and the allocators, and C++ standard library code (containers
 * growing, allocator traits), matched against the whole name. */
static const char wrapper_re[] =
    "^(malloc|calloc|realloc|reallocarray|free|cfree|posix_memalign|aligned_alloc|memalign|"
    "valloc|pvalloc|strdup|strndup|__strdup|__libc_[a-z]*alloc|operator new|operator new\\[\\]|"
    "x(malloc|calloc|realloc|strdup|strndup|memdup)|g_(malloc|malloc0|realloc|try_malloc|"
    "try_malloc0|try_realloc|memdup|memdup2|strdup|strndup|slice_alloc|slice_alloc0)(_n)?|"
    "(_)?PyMem_[A-Za-z]*|(_)?PyObject_(Malloc|Calloc|Realloc)|(_)?PyObject_GC_[A-Za-z]*|"
    "pymalloc_[a-z_]*|arena_map_[a-z_]*|new_arena|allocate_from_new_pool|gc_alloc|"
    "_PyType_AllocNoTrack|PyType_GenericAlloc|je_[a-z]*alloc|tc_[a-z]*|mi_[a-z_]*alloc[a-z_]*)"
    "($|\\()"
    "|^(std::|__gnu_cxx::|__cxxabiv1::)";

/* ---- building: state ---- */

typedef struct build {
  hashtab names_ix;  /* hash of a name -> index into s->names */
  hashtab stacks_ix; /* hash of a stack's name ids -> index into s->stack */
  size_t cap_names, cap_stack, cap_cell, cap_frame, cap_snap;
  size_t *cur_snap, *cur_cell; /* per stack: the last snapshot it had a cell in, and which */
  size_t cap_cur_snap, cap_cur_cell;
  uint32_t *loc_first, *loc_n; /* per location of the profile at hand: its names */
  uint32_t *buf;               /* the location names of that profile, then one stack */
  size_t cap_loc_first, cap_loc_n, cap_buf;
  bool in_stream; /* reading a stream's frames (messages name the snapshot) */
  bool dense;     /* the profile at hand has location ids 1..n in order */
  /* Per sample of the previous snapshot, its stack (UINT32_MAX: none): a
   * process lists its stacks in about the same order in every dump, so
   * sample i is most likely the stack sample i was last time, which a
   * compare of its frames confirms without a hash lookup (a cache miss
   * per sample in a table of 10,000 stacks). next: the same for this one. */
  uint32_t *pred, *next;
  size_t npred, cap_pred, cap_next;
  size_t at; /* the sample being added */
  regex_t wrappers;
  const series_opts *opts;
  const char *file; /* the input being read */
  size_t order;     /* snapshots read so far, in input order */
  bool failed;
} build;

/* Grows *v (elements of size) to hold at least n; 0, or -1 when out of
 * memory (then *v is unchanged). */
static int grow(void *v, size_t *cap, size_t n, size_t size) {
  if (n <= *cap) return 0;
  size_t ncap = *cap ? *cap : 16;
  while (ncap < n) ncap *= 2;
  if (ncap > SIZE_MAX / size) return -1;
  void *nv = realloc(*(void **)v, ncap * size);
  if (!nv) return -1;
  *(void **)v = nv;
  *cap = ncap;
  return 0;
}

/* ---- names and stacks ---- */

/* Index of the name, added if new; -1 when out of memory. */
static long intern_name(series *s, build *b, const char *name) {
  size_t len = strlen(name);
  uint64_t h = hash_bytes(name, len);
  hashtab_probe pr;
  for (uint32_t i = hashtab_first(&b->names_ix, h, &pr); i != HASHTAB_NONE; i = hashtab_next(&pr))
    if (strcmp(s->names[i], name) == 0) return i;
  if (s->nnames >= UINT32_MAX - 1 ||
      grow(&s->names, &b->cap_names, s->nnames + 1, sizeof *s->names))
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
  if (ns >= UINT32_MAX || grow(&s->stack, &b->cap_stack, ns, sizeof *s->stack) ||
      grow(&b->cur_snap, &b->cap_cur_snap, ns, sizeof *b->cur_snap) ||
      grow(&b->cur_cell, &b->cap_cur_cell, ns, sizeof *b->cur_cell) ||
      grow(&s->frame, &b->cap_frame, s->nframe + n, sizeof *s->frame) ||
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
  if (grow(&b->loc_first, &b->cap_loc_first, p->n_location + 1, sizeof *b->loc_first) ||
      grow(&b->loc_n, &b->cap_loc_n, p->n_location + 1, sizeof *b->loc_n))
    return -1;
  for (size_t i = 0; i < p->n_location; i++) {
    const Perftools__Profiles__Location *l = p->location[i];
    size_t n = l->n_line ? l->n_line : 1;
    if (grow(&b->buf, &b->cap_buf, used + n, sizeof *b->buf)) return -1;
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
  return 0;
}

/* Adds sample q's values to its stack's cell of snapshot si. Returns 0 or
 * -1 (out of memory). */
static int add_sample(series *s, build *b, const profile_pb *p, const profile_index *ix,
                      const Perftools__Profiles__Sample *q, int64_t bytes, int64_t objects,
                      double var, size_t si) {
  size_t base = b->loc_first[p->n_location], n = 0;
  for (size_t k = 0; k < q->n_location_id; k++) {
    uint64_t id = q->location_id[k];
    long li =
        b->dense ? (id - 1 < p->n_location ? (long)(id - 1) : -1) : profile_index_location(ix, id);
    if (li < 0) continue; /* validated profiles have none */
    if (grow(&b->buf, &b->cap_buf, base + n + b->loc_n[li], sizeof *b->buf)) return -1;
    memcpy(b->buf + base + n, b->buf + b->loc_first[li], b->loc_n[li] * sizeof *b->buf);
    n += b->loc_n[li];
  }
  const uint32_t *key = b->buf + base;
  long k = b->at < b->npred ? (long)b->pred[b->at] : -1;
  if (k < 0 || k == UINT32_MAX || s->stack[k].nframes != n ||
      memcmp(s->frame + s->stack[k].frames, key, n * sizeof *key) != 0)
    k = intern_stack(s, b, key, n);
  if (k < 0) return -1;
  b->next[b->at] = (uint32_t)k;
  series_cell *c;
  if (b->cur_snap[k] == si) {
    c = &s->cell[b->cur_cell[k]];
  } else {
    if (grow(&s->cell, &b->cap_cell, s->ncell + 1, sizeof *s->cell)) return -1;
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

/* Index of the sample type called name with the given unit, or -1. */
static ssize_t find_type(const profile_pb *p, const char *name, const char *unit) {
  for (size_t i = 0; i < p->n_sample_type; i++)
    if (!strcmp(cli_type_name(p, i), name) && !strcmp(cli_type_unit(p, i), unit)) return (ssize_t)i;
  return -1;
}

/* The snapshot's header: its time, process, types; -1 after printing when
 * it cannot be in a series, 1 when it belongs to another process than
 * opts->pid (skipped), else 0. */
static int snap_header(build *b, const profile_pb *p, size_t frame, series_snap *sn) {
  char where[64] = "";
  if (b->in_stream) snprintf(where, sizeof where, " (snapshot %zu)", frame);
  if (find_type(p, "inuse_space", "bytes") < 0) {
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

/* The cells of profile p, snapshot si. Returns 0 or -1 (out of memory). */
static int add_cells(series *s, build *b, const profile_pb *p, const profile_index *ix, size_t si) {
  size_t vb = (size_t)find_type(p, "inuse_space", "bytes");
  ssize_t vo = find_type(p, "inuse_objects", "count");
  cli_model m;
  cli_model_init(&m, p, vb);
  if (location_names(s, b, p, ix) != 0 ||
      grow(&b->next, &b->cap_next, p->n_sample + 1, sizeof *b->next))
    return -1;
  memset(b->next, 0xff, (p->n_sample + 1) * sizeof *b->next);
  for (size_t i = 0; i < p->n_sample; i++) {
    const Perftools__Profiles__Sample *q = p->sample[i];
    int64_t bytes = q->value[vb], objects = vo >= 0 ? q->value[vo] : 0;
    if (bytes == 0 && objects == 0) continue;
    b->at = i;
    if (add_sample(s, b, p, ix, q, bytes, objects, cli_model_variance(&m, q), si) != 0) return -1;
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

/* Adds profile p (frame `frame` of b->file) as a snapshot. Returns 0 or -1
 * after printing. */
static int add_snapshot(series *s, build *b, profile_pb *p, size_t frame) {
  series_snap sn;
  int h = snap_header(b, p, frame, &sn);
  if (h != 0) return h < 0 ? -1 : 0;
  if (cli_name_frames(&p, 1) != 0) return -1;
  if (b->opts->filter && cli_filter_apply(b->opts->filter, p) != 0) return -1;
  char err[CLI_ERRLEN];
  profile_index *own = NULL;
  const profile_index *ix = profile_index_use(p, &own, err, sizeof err);
  if (!ix) {
    cli_error("%s", err);
    return -1;
  }
  int rc = grow(&s->snap, &b->cap_snap, s->nsnap + 1, sizeof *s->snap);
  if (rc == 0) {
    sn.first = s->ncell;
    sn.t = (double)b->order++; /* input order, the last tie-breaker, until the sort */
    s->snap[s->nsnap] = sn;
    rc = add_cells(s, b, p, ix, s->nsnap++);
  }
  profile_index_free(own);
  if (rc != 0) cli_error("%s: out of memory reading the series", b->file);
  return rc;
}

/* ---- reading the inputs ----
 *
 * Decoding a snapshot (decompressing, pricing, unpacking, validating) is
 * more than half the work of reading a long stream, adding it to the
 * series the rest. So a walker thread reads the files and cuts streams into
 * frames (jobs), DECODERS threads decode them, and the calling thread adds
 * the decoded profiles in input order (the series does not depend on
 * timing). At most WINDOW snapshots are between the walker and the calling
 * thread, so memory stays a few snapshots and nothing waits in a circle: a
 * decoder can always queue its result. Each thread prints its own failures;
 * any failure stops the others. */

#define DECODERS 2
#define WINDOW 8

typedef struct item {
  size_t ord; /* input order, from 0 */
  const char *file;
  size_t frame;   /* its index in a stream, else 0 */
  bool in_stream; /* from a stream of several frames */
  uint8_t *data;  /* a job: a frame's bytes, or a whole file's (in_stream false) */
  size_t len;
  profile_pb *p; /* a result: decoded and validated; the caller frees it */
} item;

typedef struct reader {
  char *const *files;
  size_t nfiles;
  const char *file; /* the walker's: the file being read */
  pthread_mutex_t mu;
  pthread_cond_t cv; /* anything changed */
  item jobs[WINDOW], results[WINDOW];
  size_t njobs, nresults;
  size_t next_ord; /* the walker's next */
  size_t added;    /* the calling thread's next */
  bool walked;     /* the walker ended: no more jobs */
  size_t decoding; /* decoders still running */
  bool stop;       /* a failure: everyone ends */
  int rc;          /* 0, or -1 once a thread failed (it printed why) */
} reader;

static void fail_locked(reader *r) {
  r->stop = true;
  r->rc = -1;
  pthread_cond_broadcast(&r->cv);
}

static void reader_fail(reader *r) {
  pthread_mutex_lock(&r->mu);
  fail_locked(r);
  pthread_mutex_unlock(&r->mu);
}

/* The walker queues a job (taking data); 1 when it must stop (data freed). */
static int push_job(reader *r, uint8_t *data, size_t len, size_t frame, bool in_stream) {
  pthread_mutex_lock(&r->mu);
  while (!r->stop && (r->njobs == WINDOW || r->next_ord - r->added >= WINDOW))
    pthread_cond_wait(&r->cv, &r->mu);
  bool stop = r->stop;
  if (!stop) {
    r->jobs[r->njobs++] = (item){.ord = r->next_ord++,
                                 .file = r->file,
                                 .frame = frame,
                                 .in_stream = in_stream,
                                 .data = data,
                                 .len = len};
    pthread_cond_broadcast(&r->cv);
  }
  pthread_mutex_unlock(&r->mu);
  if (stop) free(data);
  return stop ? 1 : 0;
}

static int on_frame(void *ctx, size_t index, uint64_t offset, const uint8_t *pb, size_t len) {
  reader *r = ctx;
  (void)offset;
  uint8_t *copy = malloc(len ? len : 1);
  if (!copy) {
    cli_error("%s: out of memory reading the series", r->file);
    return 1;
  }
  memcpy(copy, pb, len);
  return push_job(r, copy, len, index, true); /* nonzero stops the walk */
}

/* A snapshot stream of several frames (or none). Returns 0 or -1. */
static int read_stream(reader *r, const uint8_t *buf, size_t len) {
  char err[CLI_ERRLEN];
  stream_report rep;
  int rc = stream_read_buffer(buf, len, r->file, on_frame, r, &rep, err, sizeof err);
  if (rc < 0) cli_error("%s", err);
  if (rc != 0) return -1;
  if (rep.frames == 0) {
    profile_pb *p = NULL; /* the single-profile reader says best what is wrong */
    if (profile_read_buffer(buf, len, r->file, &p, err, sizeof err) != 0)
      cli_error("%s", err);
    else
      cli_error("%s: no complete snapshot in the stream", r->file);
    profile_free(p);
    return -1;
  }
  if (rep.message[0]) cli_error("%s: warning: %s", r->file, rep.message);
  return 0;
}

/* One input file, a stream or a profile. Returns 0 or -1 after printing. */
static int read_file(reader *r, const char *path) {
  char err[CLI_ERRLEN];
  uint8_t *buf = NULL;
  size_t len = 0;
  r->file = path;
  if (fileio_read_all_checked(path, 4 * CONTAINER_MAX_DECOMPRESSED, profile_input_check, NULL, &buf,
                              &len, err, sizeof err) != 0) {
    cli_error("%s", err);
    return -1;
  }
  if (container_detect(buf, len) != CONTAINER_ZSTD || container_zstd_frames(buf, len) == 1)
    return push_job(r, buf, len, 0, false) ? -1 : 0; /* a decoder reads it whole */
  int rc = read_stream(r, buf, len);
  free(buf);
  return rc;
}

static void *walker_main(void *arg) {
  reader *r = arg;
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < r->nfiles; i++) rc = read_file(r, r->files[i]);
  pthread_mutex_lock(&r->mu);
  if (rc != 0) fail_locked(r);
  r->walked = true;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
  return NULL;
}

/* Decodes a job into it->p. Returns 0 or -1 after printing. */
static int decode(item *it) {
  char err[CLI_ERRLEN], name[CLI_ERRLEN];
  int rc;
  if (it->in_stream) {
    snprintf(name, sizeof name, "%s (snapshot %zu)", it->file, it->frame);
    rc = profile_decode(it->data, it->len, name, &it->p, err, sizeof err);
  } else {
    rc = profile_read_buffer(it->data, it->len, it->file, &it->p, err, sizeof err);
  }
  free(it->data);
  it->data = NULL;
  if (rc != 0) cli_error("%s", err);
  return rc;
}

static void *decoder_main(void *arg) {
  reader *r = arg;
  pthread_mutex_lock(&r->mu);
  for (;;) {
    while (!r->stop && r->njobs == 0 && !r->walked) pthread_cond_wait(&r->cv, &r->mu);
    if (r->stop || r->njobs == 0) break;
    item it = r->jobs[0]; /* the oldest: results come back near their order */
    memmove(r->jobs, r->jobs + 1, --r->njobs * sizeof *r->jobs);
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    int rc = decode(&it);
    pthread_mutex_lock(&r->mu);
    if (rc != 0) {
      fail_locked(r);
    } else if (r->stop) {
      profile_free(it.p);
    } else { /* room: at most WINDOW snapshots are out */
      r->results[r->nresults++] = it;
      pthread_cond_broadcast(&r->cv);
    }
  }
  r->decoding--;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
  return NULL;
}

/* The next decoded profile in input order; false when there is none more
 * (all read, or a failure: r->rc says). */
static bool pop(reader *r, item *it) {
  pthread_mutex_lock(&r->mu);
  for (;;) {
    size_t k = 0;
    while (k < r->nresults && r->results[k].ord != r->added) k++;
    if (k < r->nresults && !r->stop) {
      *it = r->results[k];
      r->results[k] = r->results[--r->nresults];
      r->added++;
      pthread_cond_broadcast(&r->cv);
      pthread_mutex_unlock(&r->mu);
      return true;
    }
    if (r->stop || (r->decoding == 0 && r->nresults == 0)) break;
    pthread_cond_wait(&r->cv, &r->mu);
  }
  pthread_mutex_unlock(&r->mu);
  return false;
}

/* Starts the walker and the decoders; the number of threads started. */
static size_t start(reader *r, pthread_t *t) {
  size_t n = 0;
  r->decoding = DECODERS;
  if (pthread_create(&t[n], NULL, walker_main, r) == 0) n++;
  for (size_t i = 0; n > 0 && i < DECODERS; i++)
    if (pthread_create(&t[n], NULL, decoder_main, r) == 0) n++;
  if (n == DECODERS + 1) return n;
  cli_error("cannot start the threads that read the series");
  pthread_mutex_lock(&r->mu);
  r->decoding -= DECODERS - (n > 0 ? n - 1 : 0); /* those that did not start */
  fail_locked(r);
  pthread_mutex_unlock(&r->mu);
  return n;
}

/* Every snapshot of the files into s. Returns 0 or -1 after printing. */
static int read_all(series *s, build *b, char *const *files, size_t nfiles) {
  reader r = {.files = files, .nfiles = nfiles};
  pthread_t t[DECODERS + 1];
  pthread_mutex_init(&r.mu, NULL);
  pthread_cond_init(&r.cv, NULL);
  size_t started = start(&r, t);
  item it;
  while (pop(&r, &it)) {
    b->file = it.file;
    b->in_stream = it.in_stream;
    int rc = add_snapshot(s, b, it.p, it.frame);
    profile_free(it.p);
    if (rc != 0) reader_fail(&r);
  }
  for (size_t i = 0; i < started; i++) pthread_join(t[i], NULL);
  for (size_t i = 0; i < r.njobs; i++) free(r.jobs[i].data);
  for (size_t i = 0; i < r.nresults; i++) profile_free(r.results[i].p);
  pthread_mutex_destroy(&r.mu);
  pthread_cond_destroy(&r.cv);
  return r.rc;
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

/* Whether a frame name is an address or object+offset (no symbol). */
static bool no_symbol(const char *name) {
  return strncmp(name, "0x", 2) == 0 || strstr(name, "+0x") != NULL;
}

/* Position of stack k's leaf-most interesting frame at or above `from`, or
 * nframes when there is none. */
static size_t interesting(const series *s, const regex_t *wrappers, size_t k, size_t from) {
  const series_stack *st = &s->stack[k];
  size_t unnamed = st->nframes;
  for (size_t j = from; j < st->nframes; j++) {
    const char *name = series_frame_name(s, k, j);
    if (regexec(wrappers, name, 0, NULL, 0) == 0) continue;
    if (!no_symbol(name)) return j;
    if (unnamed == st->nframes) unnamed = j;
  }
  return unnamed;
}

static const series *label_series; /* for by_name (qsort has no context) */

static int by_name(const void *x, const void *y) {
  const series_stack *a = &label_series->stack[*(const uint32_t *)x];
  const series_stack *b = &label_series->stack[*(const uint32_t *)y];
  int c = strcmp(a->label, b->label);
  if (c) return c;
  if (a->max_bytes != b->max_bytes) return a->max_bytes > b->max_bytes ? -1 : 1;
  return *(const uint32_t *)x < *(const uint32_t *)y ? -1 : 1;
}

/* Gives each stack of order[0..n) (sorted by label) whose label another
 * one shares a longer one: with the caller (round 0), or a number. */
static int relabel(series *s, const regex_t *wrappers, uint32_t *order, int round) {
  bool changed = false;
  for (size_t i = 0, j; i < s->nstack; i = j) {
    for (j = i + 1; j < s->nstack && !strcmp(s->stack[order[i]].label, s->stack[order[j]].label);)
      j++;
    for (size_t r = i; j - i > 1 && r < j; r++) {
      series_stack *st = &s->stack[order[r]];
      char *l = NULL;
      if (round == 0) {
        size_t at = interesting(s, wrappers, order[r], 0);
        size_t up = at < st->nframes ? interesting(s, wrappers, order[r], at + 1) : st->nframes;
        if (up >= st->nframes) continue;
        if (asprintf(&l, "%s (%s)", st->label, series_frame_name(s, order[r], up)) < 0) return -1;
      } else if (r > i && asprintf(&l, "%s #%zu", st->label, r - i + 1) < 0) {
        return -1;
      }
      if (!l) continue;
      free(st->label);
      st->label = l;
      changed = true;
    }
  }
  if (changed || round == 0) qsort(order, s->nstack, sizeof *order, by_name);
  return 0;
}

/* Each stack's name and unique label. Returns 0 or -1 (out of memory). */
static int name_stacks(series *s, const regex_t *wrappers) {
  for (size_t k = 0; k < s->nstack; k++) {
    series_stack *st = &s->stack[k];
    size_t at = interesting(s, wrappers, k, 0);
    if (at == st->nframes) at = 0;
    st->name = st->nframes ? series_frame_name(s, k, at) : "[no stack]";
    if (!(st->label = strdup(st->name))) return -1;
  }
  uint32_t *order = malloc((s->nstack ? s->nstack : 1) * sizeof *order);
  if (!order) return -1;
  for (size_t k = 0; k < s->nstack; k++) order[k] = (uint32_t)k;
  label_series = s;
  qsort(order, s->nstack, sizeof *order, by_name);
  int rc = relabel(s, wrappers, order, 0);
  if (rc == 0) rc = relabel(s, wrappers, order, 1);
  free(order);
  return rc;
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
  regfree(&b->wrappers);
}

int series_load(series *s, char *const *files, size_t nfiles, const series_opts *opts) {
  *s = (series){0};
  build b = {.opts = opts};
  if (regcomp(&b.wrappers, wrapper_re, REG_EXTENDED | REG_NOSUB) != 0) {
    cli_error("internal error: the wrappers' expression does not compile");
    return -1;
  }
  int rc = read_all(s, &b, files, nfiles);
  if (rc == 0 && opts->pid == 0) rc = check_pids(s, &b);
  if (rc == 0 && s->nsnap == 0) {
    cli_error("%s: no snapshot of process %ld in the input", opts->cmd ? opts->cmd : "series",
              opts->pid);
    rc = -1;
  }
  if (rc == 0) {
    order_snapshots(s);
    if (index_stacks(s) != 0 || name_stacks(s, &b.wrappers) != 0) {
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
