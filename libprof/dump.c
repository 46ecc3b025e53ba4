/* dump.c: the dumps of dump.h: the heap's profile (profile.c) written to a
 * file, all or nothing (temporary name, then rename), appended to a
 * snapshot stream as one frame, or handed back packed or gzipped for the
 * HTTP listener. Overview of the profiler: liballoc/mprof.h.
 *
 * Locking: dump_mutex serializes whole dumps (build and write: two never
 * share a temporary file or a stream) and guards the symbolizer profile.c
 * keeps from one build to the next. Everything here may allocate, so the
 * calling thread holds the profiler guard (its own allocations are not
 * sampled) for the whole dump. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "container.h"
#include "dump.h"
#include "errmsg.h"
#include "fileio.h"
#include "mprof.h"
#include "profile.h"
#include "profile_io.h"
#include "stream.h"

static pthread_mutex_t dump_mutex = PTHREAD_MUTEX_INITIALIZER;
static int dump_busy; /* dump_mutex: a dump is running */

/* A fork while another thread dumps leaves the child with dump_mutex held by
 * a thread that does not exist there, and the symbolizer possibly half
 * updated: the child gets a fresh mutex and, in that case, forgets the
 * symbolizer (leaking it) and makes a new one at its first dump. Waiting for
 * the dump in a prepare handler instead would hold fork() up for as long as
 * a dump takes. */
void prof_dump_fork_child(void) {
  if (dump_busy) prof_profile_fork_child();
  dump_busy = 0;
  pthread_mutex_init(&dump_mutex, NULL);
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
  int rc = prof_profile_build(&pb, &pblen, meta, view, err, errlen);
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
