/* series_impl.h: the parts of loading a series (series.h) that live in
 * files of their own, for series.c only: the reader that turns the input
 * files into decoded snapshots in input order (series_read.c), and the
 * naming of the stacks once all are in (series_name.c). */
#ifndef CLI_SERIES_IMPL_H
#define CLI_SERIES_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "profile_lite.h"
#include "series.h"

/* ---- the reader (series_read.c) ----
 *
 * A walker thread reads the files and cuts streams into frames; decoder
 * threads decode them; the caller takes them in input order. A stream's
 * frame is decoded quickly (profile_lite.h) when the reader was started
 * with `lite`, and fully (profile_decode) as well when its tables do not
 * look like the previous frame's (so the caller rarely has to); a whole
 * file, or a frame the quick decoder refuses, only fully. */

typedef struct series_item {
  size_t ord; /* input order, from 0 */
  const char *file;
  size_t frame;   /* its index in a stream, else 0 */
  bool in_stream; /* from a stream of several frames */
  uint8_t *data;  /* a stream frame's bytes (the lite's tables point here); else NULL */
  size_t len;
  profile_lite *lite; /* the quick decoding, or NULL */
  profile_pb *p;      /* the full one, validated, or NULL (then lite is set) */
  double *var;        /* each sample of lite's inuse_space variance (cli_model), or NULL */
} series_item;

typedef struct series_reader series_reader;

/* Starts reading files[0..nfiles); NULL after printing when it cannot. */
series_reader *series_reader_start(char *const *files, size_t nfiles, bool lite);

/* The next snapshot in input order (the caller owns it: series_item_free);
 * false when there is none more (all read, or a failure). */
bool series_reader_next(series_reader *r, series_item *it);

/* Frees a snapshot the caller is done with, keeping its memory for the
 * reader's next (series_item_free otherwise). */
void series_reader_done(series_reader *r, series_item *it);

/* Stops the reader after the caller's failure. */
void series_reader_fail(series_reader *r);

/* Waits for the threads and frees the reader. Returns 0, or -1 when
 * anything failed (it printed why). */
int series_reader_finish(series_reader *r);

/* Decodes it->data fully into it->p on the calling thread. Returns 0, or
 * -1 after printing what is wrong ("FILE (snapshot N): ..."). */
int series_item_decode(series_item *it);

void series_item_free(series_item *it);

/* Index of p's sample type called name with the given unit, or -1. */
static inline ssize_t series_find_type(const profile_pb *p, const char *name, const char *unit) {
  for (size_t i = 0; i < p->n_sample_type; i++)
    if (!strcmp(cli_type_name(p, i), name) && !strcmp(cli_type_unit(p, i), unit)) return (ssize_t)i;
  return -1;
}

/* ---- naming (series_name.c) ---- */

/* Each stack's name and unique label (series.h, "Stacks"). Returns 0, or
 * -1 when out of memory. */
int series_name_stacks(series *s);

#endif
