/* series.h: a time series of in-use heap snapshots, for the commands that
 * look at memory over time (timeline, leaks).
 *
 * Input: an ALLOCPROF_STREAM file (zstd frames, one profile each; a damaged
 * stream is read up to its last good frame, with a warning on stderr), or
 * profiles in any container (the files ALLOCPROF_INTERVAL, ALLOCPROF_PEAK
 * etc. write), or several of either. Every snapshot must be a heap profile
 * with an inuse_space sample type (inuse_objects is used when present) and
 * a time (time_nanos).
 *
 * Order: snapshots are sorted by time_nanos; ties by the seq= comment (a
 * snapshot without one after those that have it), then by input order (file
 * order, frame order in a stream). A snapshot given twice (the same pid,
 * time, seq and totals: say the stream and the interval files of one run)
 * is kept once.
 *
 * One process: profiles say which process wrote them (the pid= comment).
 * Snapshots of several processes are not one curve, so unless opts->pid
 * picks one, inputs from two or more pids are refused with one line that
 * lists them (a profile without a pid= comment goes with any process).
 *
 * Stacks: a stack is the sequence of its frames' names, leaf first, named as
 * aggregation names them (common.h: Function.name, else system_name; frames
 * without a symbol named by object+offset, frames.h), after opts->filter
 * (--focus, --hide). Two samples with the same names in one snapshot are one
 * stack there (their values summed); the same names in two snapshots are the
 * same stack. Each stack has a display name, its leaf-most interesting
 * frame: the first frame from the leaf that is not an allocator entry point,
 * a wrapper of one (xmalloc, g_malloc, PyMem_Malloc, ...; series.c has the
 * list) or C++ standard library code (std::, __gnu_cxx::), preferring a
 * frame with a symbol; the leaf itself when every frame is such;
 * "[no stack]" for an empty stack. Its label is the name made unique among
 * the series' stacks: "name (caller)" with the next interesting frame up
 * when two stacks share a name, and " #2", " #3" ... when that is not
 * enough.
 *
 * Values: per snapshot and stack, the profile's estimated in-use bytes and
 * objects (inuse_space, inuse_objects: already scaled up from the samples,
 * as pprof shows them) and the variance of the bytes estimate under the
 * sampling-error model (common.h: cli_model; about bytes * period when
 * objects are small beside the period, so a stack estimated from n sampled
 * objects has a relative standard error of about 1/sqrt(n)). At rate 1 (or
 * 0) the variance is 0: the values are exact. A stack with nothing in use in
 * a snapshot has no cell there (read as zeros); snapshot totals sum all
 * stacks and their variances (the samples are independent).
 *
 * Memory: the cells (stack, bytes, objects, variance: 32 bytes each, and 4
 * in the index by stack) of the stacks in use in each snapshot, the
 * distinct names and stacks, the part of a stream not read yet (a stream
 * is read whole, its pages given back as its frames are taken), and a few
 * decoded snapshots at a time. Time: linear in the input (hash tables).
 * Threads decode the snapshots while the caller's thread adds them, in
 * input order (so the series is the same whatever the timing): the calls
 * below are made from one thread, and the series is plain data once
 * loaded. A snapshot whose mappings, locations and functions are byte for
 * byte the previous one's (with the strings they name) reuses what they
 * named, and only its header and samples are decoded (series.c). 1,000
 * snapshots of 10,000 stacks: about 4 s of CPU over 4 threads, 460 MB
 * (bench/README.md, "Reading a series"). */
#ifndef CLI_SERIES_H
#define CLI_SERIES_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

typedef struct series_opts {
  const cli_filter *filter; /* --focus/--hide, or NULL */
  long pid;                 /* keep only this process's snapshots; 0: one process only */
  const char *cmd;          /* the command, for messages ("timeline") */
} series_opts;

typedef struct series_snap {
  int64_t time_nanos;
  double t;             /* seconds since the first snapshot */
  int64_t period;       /* mean bytes between samples (0 or 1: exact) */
  long pid;             /* the pid= comment, 0 when none */
  long seq;             /* the seq= comment, -1 when none */
  const char *file;     /* the input it came from (the caller's string) */
  size_t frame;         /* its frame index in a stream, 0 for a profile */
  int64_t bytes;        /* in use over all stacks (saturating sum) */
  int64_t objects;      /* objects in use over all stacks */
  double var;           /* variance of bytes (sum of the stacks') */
  size_t first, ncells; /* its cells: series.cell[first .. first + ncells) */
} series_snap;

/* One stack in one snapshot. */
typedef struct series_cell {
  uint32_t stack; /* index into series.stack */
  int64_t bytes, objects;
  double var; /* variance of bytes */
} series_cell;

typedef struct series_stack {
  size_t frames, nframes; /* its names: series.names[series.frame[frames + j]], leaf first */
  const char *name;       /* leaf-most interesting frame (a string of series.names) */
  char *label;            /* name made unique in the series */
  int64_t max_bytes;      /* its largest in-use bytes in any snapshot */
  size_t max_snap;        /* the first snapshot where it has them */
  size_t first, ncells;   /* its cells in time order: series.by_stack[first .. + ncells) */
} series_stack;

typedef struct series {
  series_snap *snap; /* in time order */
  size_t nsnap;
  series_stack *stack; /* in the order first seen */
  size_t nstack;
  series_cell *cell; /* grouped by snapshot (series_snap.first) */
  size_t ncell;
  uint32_t *by_stack; /* cell indices grouped by stack, each group in time order */
  char **names;       /* distinct frame names */
  size_t nnames;
  uint32_t *frame; /* stacks' frames, name indices, leaf first */
  size_t nframe;
  int64_t peak_bytes; /* the largest snapshot total */
  size_t peak_snap;   /* the first snapshot with it */
  /* internal: what loading needs (hash tables), freed by series_load */
  void *build;
} series;

/* Loads files[0..nfiles) into *s (zeroed first) as above. Returns 0, or -1
 * after printing one line ("allocprof: FILE: what is wrong"), s freed.
 * Warnings (a damaged stream, duplicates dropped) go to stderr and do not
 * fail. A series of one snapshot is a series. */
int series_load(series *s, char *const *files, size_t nfiles, const series_opts *opts);

void series_free(series *s);

/* Name of frame j (0 = leaf) of stack k. */
const char *series_frame_name(const series *s, size_t k, size_t j);

/* Stack k's values at every snapshot, dense: bytes[i], objects[i] and
 * var[i] for snapshot i (zeros where it has no cell); each pointer may be
 * NULL. O(nsnap + its cells). */
void series_stack_row(const series *s, size_t k, int64_t *bytes, int64_t *objects, double *var);

#endif
