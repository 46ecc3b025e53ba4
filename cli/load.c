/* load.c: loading profiles (any container; a snapshot stream gives its last
 * snapshot), pairs of them for a comparison, choosing the sample type, and
 * looking things up in a loaded profile (strings, types; ids have the
 * profile's own index, profile_index.h). Contracts in common.h ("loading"). */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "fileio.h"
#include "frames.h"
#include "stream.h"

/* ---- loading ---- */

const char *cli_str(const profile_pb *p, int64_t i) {
  return i > 0 && (uint64_t)i < p->n_string_table ? p->string_table[i] : "";
}

const char *cli_type_name(const profile_pb *p, size_t i) {
  return cli_str(p, p->sample_type[i]->type);
}

const char *cli_type_unit(const profile_pb *p, size_t i) {
  return cli_str(p, p->sample_type[i]->unit);
}

/* The last good frame of a snapshot stream, copied. */
typedef struct last_frame {
  uint8_t *pb;
  size_t len, count;
  int oom;
} last_frame;

static int keep_last(void *ctx, size_t index, uint64_t offset, const uint8_t *pb, size_t len) {
  last_frame *lf = ctx;
  (void)offset;
  uint8_t *copy = malloc(len ? len : 1);
  if (!copy) {
    lf->oom = 1;
    return 1;
  }
  memcpy(copy, pb, len);
  free(lf->pb);
  lf->pb = copy;
  lf->len = len;
  lf->count = index + 1;
  return 0;
}

int cli_load(const char *path, profile_pb **out) {
  char err[CLI_ERRLEN];
  uint8_t *buf = NULL;
  size_t len = 0;
  *out = NULL;
  if (fileio_read_all_checked(path, CONTAINER_MAX_DECOMPRESSED, profile_input_check, NULL, &buf,
                              &len, err, sizeof err) != 0) {
    cli_error("%s", err);
    return -1;
  }
  int rc = profile_read_buffer(buf, len, path, out, err, sizeof err);
  if (rc != 0 && container_detect(buf, len) == CONTAINER_ZSTD) {
    /* Maybe a snapshot stream: take its last snapshot when it has several
     * (one damaged frame alone is just a damaged file: keep the first
     * message, which says what is wrong with it). */
    last_frame lf = {0};
    stream_report rep;
    char serr[CLI_ERRLEN];
    int src = stream_read_buffer(buf, len, path, keep_last, &lf, &rep, serr, sizeof serr);
    if (lf.oom) {
      snprintf(err, sizeof err, "%s: out of memory", path);
    } else if (src == 0 && rep.frames >= 2) {
      profile_pb *p = NULL;
      if (profile_decode(lf.pb, lf.len, path, &p, serr, sizeof serr) == 0) {
        fprintf(stderr, "allocprof: %s: snapshot stream of %zu snapshots: using the last one%s%s\n",
                path, rep.frames, rep.message[0] ? "; " : "", rep.message);
        *out = p;
        rc = 0;
      } else {
        snprintf(err, sizeof err, "%s", serr);
      }
    }
    free(lf.pb);
  }
  free(buf);
  if (rc != 0) cli_error("%s", err);
  return rc;
}

int cli_load_pair(const char *base_file, const char *new_file, const char *index_name,
                  profile_pb **base, profile_pb **new, size_t *bi, size_t *ni) {
  if (cli_load(base_file, base) != 0 || cli_load(new_file, new) != 0) return -1;
  /* frames without a symbol compared by object and offset, not address */
  if (cli_name_frames((profile_pb *const[]){*base, *new}, 2) != 0) return -1;
  ssize_t n = cli_sample_index(*new, index_name, new_file);
  if (n < 0) return -1;
  const char *type = cli_type_name(*new, (size_t)n), *unit = cli_type_unit(*new, (size_t)n);
  ssize_t b = cli_sample_index(*base, type, base_file);
  if (b < 0) return -1;
  if (strcmp(cli_type_unit(*base, (size_t)b), unit) != 0) {
    cli_error("%s: %s is in %s, not %s as in %s", base_file, type, cli_type_unit(*base, (size_t)b),
              unit, new_file);
    return -1;
  }
  *ni = (size_t)n;
  *bi = (size_t)b;
  return 0;
}

int cli_check_types(const profile_pb *p, const char *file) {
  if (p->n_sample_type != 0) return 0;
  cli_error("%s: the profile has no sample types", file);
  return -1;
}

ssize_t cli_sample_index(const profile_pb *p, const char *name, const char *file) {
  if (cli_check_types(p, file) != 0) return -1;
  if (!name) {
    ssize_t i = profile_default_value_index(p);
    return i >= 0 ? i : (ssize_t)p->n_sample_type - 1;
  }
  for (size_t i = 0; i < p->n_sample_type; i++)
    if (strcmp(cli_type_name(p, i), name) == 0) return (ssize_t)i;
  long n;
  if (cli_parse_count(name, &n) == 0 && (size_t)n < p->n_sample_type) return n;
  char list[256] = "";
  size_t used = 0;
  for (size_t i = 0; i < p->n_sample_type && used < sizeof list; i++)
    used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                             cli_type_name(p, i));
  cli_error("%s: no sample type '%s' (it has %s)", file, name, list);
  return -1;
}
