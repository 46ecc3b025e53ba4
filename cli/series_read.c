/* series_read.c: reading the inputs of a series (series_impl.h): a walker
 * thread, decoder threads, and the snapshots handed to the caller in input
 * order.
 *
 * Decoding a snapshot (decompressing, pricing, unpacking, validating) is
 * more than half the work of reading a long stream, adding it to the
 * series the rest. So a walker thread reads the files and cuts streams into
 * frames (jobs), DECODERS threads decode them, and the calling thread adds
 * the decoded profiles in input order (the series does not depend on
 * timing). At most WINDOW snapshots are between the walker and the calling
 * thread, so memory stays a few snapshots and nothing waits in a circle: a
 * decoder can always queue its result. Each thread prints its own failures;
 * any failure stops the others.
 *
 * A stream frame gets the quick decoding (profile_lite.h) when the caller
 * asked for it, and the full one only when the caller will likely need it:
 * when its tables' hash differs from the previous frame's (the caller
 * reuses what it made of tables it has seen), or the quick decoder refused
 * it. The previous frame's hash is known when its decoder has got that far,
 * which it nearly always has (it started first); when not, the caller
 * decodes fully itself if it must. Which decoding a frame gets changes the
 * time taken, never the series: both give the same profile. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "container.h"
#include "fileio.h"
#include "series_impl.h"
#include "stream.h"

#define DECODERS 2
#define WINDOW 8

/* What a decoder published about a frame's tables, for the next frame's. */
typedef struct table_sig {
  size_t ord; /* the frame; SIZE_MAX: none yet */
  bool lite;  /* decoded quickly (else: no hash) */
  uint64_t hash;
} table_sig;

struct series_reader {
  char *const *files;
  size_t nfiles;
  bool lite;          /* quick decoding of stream frames */
  const char *file;   /* the walker's: the file being read */
  const uint8_t *buf; /* the walker's: that file's bytes, and how many given back */
  size_t released;
  pthread_t thread[DECODERS + 1];
  size_t started;
  pthread_mutex_t mu;
  pthread_cond_t cv; /* anything changed */
  series_item jobs[WINDOW], results[WINDOW];
  size_t njobs, nresults;
  table_sig sig[2 * WINDOW];   /* by ord % (2 * WINDOW) */
  profile_lite *spare[WINDOW]; /* quick decodings the caller is done with */
  size_t nspare;
  size_t next_ord; /* the walker's next */
  size_t added;    /* the calling thread's next */
  bool walked;     /* the walker ended: no more jobs */
  size_t decoding; /* decoders still running */
  bool stop;       /* a failure: everyone ends */
  int rc;          /* 0, or -1 once a thread failed (it printed why) */
};

static void fail_locked(series_reader *r) {
  r->stop = true;
  r->rc = -1;
  pthread_cond_broadcast(&r->cv);
}

void series_reader_fail(series_reader *r) {
  pthread_mutex_lock(&r->mu);
  fail_locked(r);
  pthread_mutex_unlock(&r->mu);
}

void series_item_free(series_item *it) {
  free(it->data);
  free(it->var);
  it->var = NULL;
  profile_lite_free(it->lite);
  profile_free(it->p);
  it->data = NULL;
  it->lite = NULL;
  it->p = NULL;
}

/* ---- the walker ---- */

/* Queues a job (taking data); 1 when the walk must stop (data freed). */
static int push_job(series_reader *r, uint8_t *data, size_t len, size_t frame, bool in_stream) {
  pthread_mutex_lock(&r->mu);
  while (!r->stop && (r->njobs == WINDOW || r->next_ord - r->added >= WINDOW))
    pthread_cond_wait(&r->cv, &r->mu);
  bool stop = r->stop;
  if (!stop) {
    r->jobs[r->njobs++] = (series_item){.ord = r->next_ord++,
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

/* Gives back to the system the pages of the stream read so far (buf is
 * the file, read whole: 400 MB for 1,000 snapshots), every RELEASE bytes:
 * the walk never reads them again (stream.h), and the memory of a long
 * series is then its cells, not its file. The first page stays (malloc's
 * own bookkeeping may be next to it). */
#define RELEASE ((size_t)32 << 20)

static void release_read(series_reader *r, uint64_t offset) {
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), base = (uintptr_t)r->buf;
  uintptr_t from = (base + page + page - 1) & ~(page - 1); /* past the first page */
  if (from < base + r->released) from = base + r->released;
  uintptr_t to = (base + (uintptr_t)offset) & ~(page - 1);
  if (to <= from || to - from < RELEASE) return;
  madvise((void *)from, to - from, MADV_DONTNEED);
  r->released = (size_t)(to - base);
}

static int on_frame(void *ctx, size_t index, uint64_t offset, uint8_t *pb, size_t len) {
  series_reader *r = ctx;
  release_read(r, offset);
  return push_job(r, pb, len, index, true); /* nonzero stops the walk */
}

/* A snapshot stream of several frames (or none). Returns 0 or -1. */
static int read_stream(series_reader *r, const uint8_t *buf, size_t len) {
  char err[CLI_ERRLEN];
  stream_report rep;
  r->buf = buf;
  r->released = 0;
  int rc = stream_read_buffer_take(buf, len, r->file, on_frame, r, &rep, err, sizeof err);
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
static int read_file(series_reader *r, const char *path) {
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
  series_reader *r = arg;
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < r->nfiles; i++) rc = read_file(r, r->files[i]);
  pthread_mutex_lock(&r->mu);
  if (rc != 0) fail_locked(r);
  r->walked = true;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
  return NULL;
}

/* ---- the decoders ---- */

int series_item_decode(series_item *it) {
  char err[CLI_ERRLEN], name[CLI_ERRLEN];
  int rc;
  if (it->in_stream) {
    snprintf(name, sizeof name, "%s (snapshot %zu)", it->file, it->frame);
    rc = profile_decode(it->data, it->len, name, &it->p, err, sizeof err);
  } else {
    rc = profile_read_buffer(it->data, it->len, it->file, &it->p, err, sizeof err);
  }
  if (rc != 0) cli_error("%s", err);
  return rc;
}

/* Publishes the frame's table hash; whether the previous frame's is known
 * to differ (or it had none), so the caller will want the full decoding. */
static bool tables_changed(series_reader *r, const series_item *it) {
  pthread_mutex_lock(&r->mu);
  r->sig[it->ord % (2 * WINDOW)] =
      (table_sig){it->ord, it->lite != NULL, it->lite ? it->lite->tables_hash : 0};
  bool changed = it->ord == 0;
  if (it->ord > 0) {
    const table_sig *prev = &r->sig[(it->ord - 1) % (2 * WINDOW)];
    if (prev->ord == it->ord - 1)
      changed = !prev->lite || !it->lite || prev->hash != it->lite->tables_hash;
  }
  pthread_mutex_unlock(&r->mu);
  return changed;
}

/* The variance of each sample of a quick decoding, as series.c would work
 * it out (here, on a decoder thread, it costs the caller nothing); nothing
 * for a profile it will refuse. Returns 0 or -1 (out of memory). */
static int variances(series_item *it) {
  const profile_pb *p = &it->lite->pb;
  ssize_t vb = series_find_type(p, "inuse_space", "bytes");
  if (vb < 0) return 0;
  if (!(it->var = malloc((p->n_sample ? p->n_sample : 1) * sizeof *it->var))) return -1;
  cli_model m;
  cli_model_init(&m, p, (size_t)vb);
  for (size_t i = 0; i < p->n_sample; i++) it->var[i] = cli_model_variance(&m, p->sample[i]);
  return 0;
}

/* A quick decoding the caller is done with, for the next; NULL if none. */
static profile_lite *take_spare(series_reader *r) {
  pthread_mutex_lock(&r->mu);
  profile_lite *l = r->nspare ? r->spare[--r->nspare] : NULL;
  pthread_mutex_unlock(&r->mu);
  return l;
}

void series_reader_done(series_reader *r, series_item *it) {
  pthread_mutex_lock(&r->mu);
  if (it->lite && r->nspare < WINDOW) {
    r->spare[r->nspare++] = it->lite;
    it->lite = NULL;
  }
  pthread_mutex_unlock(&r->mu);
  series_item_free(it);
}

/* Decodes a job: quickly, fully, or both. Returns 0 or -1 after printing. */
static int decode(series_reader *r, series_item *it) {
  if (r->lite && it->in_stream &&
      (profile_lite_decode(it->data, it->len, take_spare(r), &it->lite) < 0 ||
       (it->lite && variances(it) != 0))) {
    cli_error("%s: out of memory reading the series", it->file);
    return -1;
  }
  bool full = tables_changed(r, it);
  int rc = full || !it->lite ? series_item_decode(it) : 0;
  if (!it->lite) { /* nothing points into the bytes: free them early */
    free(it->data);
    it->data = NULL;
  }
  return rc;
}

static void *decoder_main(void *arg) {
  series_reader *r = arg;
  pthread_mutex_lock(&r->mu);
  for (;;) {
    while (!r->stop && r->njobs == 0 && !r->walked) pthread_cond_wait(&r->cv, &r->mu);
    if (r->stop || r->njobs == 0) break;
    series_item it = r->jobs[0]; /* the oldest: results come back near their order */
    memmove(r->jobs, r->jobs + 1, --r->njobs * sizeof *r->jobs);
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    int rc = decode(r, &it);
    pthread_mutex_lock(&r->mu);
    if (rc != 0 || r->stop) {
      if (rc != 0) fail_locked(r);
      series_item_free(&it);
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

/* ---- the caller's side ---- */

bool series_reader_next(series_reader *r, series_item *it) {
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

series_reader *series_reader_start(char *const *files, size_t nfiles, bool lite) {
  series_reader *r = calloc(1, sizeof *r);
  if (!r) {
    cli_error("out of memory reading the series");
    return NULL;
  }
  *r = (series_reader){.files = files, .nfiles = nfiles, .lite = lite, .decoding = DECODERS};
  for (size_t i = 0; i < 2 * WINDOW; i++) r->sig[i].ord = SIZE_MAX;
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
  size_t n = 0;
  if (pthread_create(&r->thread[n], NULL, walker_main, r) == 0) n++;
  for (size_t i = 0; n > 0 && i < DECODERS; i++)
    if (pthread_create(&r->thread[n], NULL, decoder_main, r) == 0) n++;
  r->started = n;
  if (n == DECODERS + 1) return r;
  cli_error("cannot start the threads that read the series");
  pthread_mutex_lock(&r->mu);
  r->decoding -= DECODERS - (n > 0 ? n - 1 : 0); /* those that did not start */
  fail_locked(r);
  pthread_mutex_unlock(&r->mu);
  return r;
}

int series_reader_finish(series_reader *r) {
  for (size_t i = 0; i < r->started; i++) pthread_join(r->thread[i], NULL);
  for (size_t i = 0; i < r->njobs; i++) series_item_free(&r->jobs[i]);
  for (size_t i = 0; i < r->nresults; i++) series_item_free(&r->results[i]);
  for (size_t i = 0; i < r->nspare; i++) profile_lite_free(r->spare[i]);
  pthread_mutex_destroy(&r->mu);
  pthread_cond_destroy(&r->cv);
  int rc = r->rc;
  free(r);
  return rc;
}
