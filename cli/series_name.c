/* series_name.c: naming the stacks of a loaded series (series.h,
 * "Stacks"): each stack's leaf-most interesting frame, and labels made
 * unique with the caller's name or a number. Called by series.c once every
 * snapshot is in. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "series_impl.h"

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
static int name_all(series *s, const regex_t *wrappers) {
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

int series_name_stacks(series *s) {
  regex_t wrappers;
  if (regcomp(&wrappers, wrapper_re, REG_EXTENDED | REG_NOSUB) != 0) return -1;
  int rc = name_all(s, &wrappers);
  regfree(&wrappers);
  return rc;
}
