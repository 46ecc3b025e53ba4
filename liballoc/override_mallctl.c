/* override_mallctl.c: jemalloc's control and statistics interface
 * (mallctl, mallctlnametomib, mallctlbymib, malloc_stats_print,
 * malloc_message) with liballoc's meaning. Overview: malloc.c; jemalloc's
 * allocation calls are in override_compat.c, which says why a program built
 * for jemalloc must find all of them here.
 *
 * The names form a tree, as jemalloc's do; a MIB holds, per component of a
 * name, its index among its parent's children, or the number itself for a
 * numeric component (an arena), so a program can look a name up once and
 * change the arena in mib[1], as jemalloc allows. The names:
 *
 *   epoch                       uint64_t, rw: statistics are always current
 *   background_thread           bool: whether the scavenger runs
 *                               (ALLOC_SCAVENGER); writing the same value
 *                               succeeds, another EAGAIN
 *   config.{stats,prof,debug}   bool, ro: true, false, false
 *   opt.narenas                 unsigned, ro: 1 (one page heap)
 *   opt.tcache                  bool, ro: true (thread caches)
 *   opt.tcache_max              size_t, ro: the largest cached size
 *   opt.background_thread       bool, ro: as background_thread
 *   opt.dirty_decay_ms          ssize_t, ro: ALLOC_SCAVENGE_DELAY_MS
 *   opt.muzzy_decay_ms          ssize_t, ro: 0 (pages go straight back)
 *   opt.retain                  bool, ro: true (address space is kept)
 *   opt.{abort,zero}            bool, ro: false
 *   arenas.narenas              unsigned, ro: 1
 *   arenas.{page,quantum}       size_t, ro: liballoc's page, 16
 *   arena.<i>.purge             return every free page to the OS now, with
 *                               the thread's and the central caches
 *                               (alloc_release_free_memory)
 *   arena.<i>.decay             return what the scavenger's policy would
 *                               (pages free for the delay, over the budget)
 *   thread.tcache.flush         give the calling thread's cache back
 *   stats.{allocated,active,metadata,mapped,resident,retained}
 *                               size_t, ro
 *
 * <i> is 0 (the one arena), 1 (= arenas.narenas, which jemalloc reads as
 * "all") or MALLCTL_ARENAS_ALL (4096). Other names are ENOENT: a program
 * falls back as with a jemalloc built without the feature (prof.*, for
 * one). Errors as jemalloc's: EPERM for writing a read-only value or
 * passing a value to an operation, EINVAL for a wrong size. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "alloc.h"
#include "alloc_entry.h"
#include "internal.h"
#include "mheap.h"
#include "override.h"
#include "settings.h"
#include "sizeclass.h"

#define EXPORT ALLOC_EXPORT

#define ARENAS_ALL 4096 /* jemalloc's MALLCTL_ARENAS_ALL */
#define MIB_MAX 8

/* ---- values ------------------------------------------------------------------ */

/* Copies a value out as mallctl does: EINVAL when the caller's size is not
 * the value's. */
static int read_value(void *oldp, size_t *oldlenp, const void *value, size_t len) {
  if (oldp == NULL || oldlenp == NULL) return 0;
  if (*oldlenp != len) {
    size_t n = *oldlenp < len ? *oldlenp : len;
    memcpy(oldp, value, n);
    *oldlenp = n;
    return EINVAL;
  }
  memcpy(oldp, value, len);
  return 0;
}

struct ctl_args {
  const size_t *mib;
  void *oldp;
  size_t *oldlenp;
  void *newp;
  size_t newlen;
};

static int read_only(const struct ctl_args *a, const void *value, size_t len) {
  if (a->newp != NULL || a->newlen != 0) return EPERM;
  return read_value(a->oldp, a->oldlenp, value, len);
}

static int ro_bool(const struct ctl_args *a, bool v) { return read_only(a, &v, sizeof v); }
static int ro_unsigned(const struct ctl_args *a, unsigned v) { return read_only(a, &v, sizeof v); }
static int ro_size(const struct ctl_args *a, size_t v) { return read_only(a, &v, sizeof v); }
static int ro_ssize(const struct ctl_args *a, ssize_t v) { return read_only(a, &v, sizeof v); }

/* An operation: no value in, none out. */
static int operation(const struct ctl_args *a) {
  return a->newp != NULL || a->newlen != 0 || a->oldp != NULL ? EPERM : 0;
}

/* ---- the names' handlers -------------------------------------------------------- */

static uint64_t epoch = 1;

static int ctl_epoch(const struct ctl_args *a) {
  if (a->newp != NULL) {
    if (a->newlen != sizeof(uint64_t)) return EINVAL;
    __atomic_fetch_add(&epoch, 1, __ATOMIC_RELAXED);
  }
  uint64_t e = __atomic_load_n(&epoch, __ATOMIC_RELAXED);
  return read_value(a->oldp, a->oldlenp, &e, sizeof e);
}

static int ctl_background_thread(const struct ctl_args *a) {
  bool on = scavenger_enabled() != 0;
  if (a->newp != NULL) {
    if (a->newlen != sizeof(bool)) return EINVAL;
    bool want;
    memcpy(&want, a->newp, sizeof want);
    if (want != on) return EAGAIN; /* ALLOC_SCAVENGER decides, at start */
  }
  return read_value(a->oldp, a->oldlenp, &on, sizeof on);
}

static int ctl_true(const struct ctl_args *a) { return ro_bool(a, true); }
static int ctl_false(const struct ctl_args *a) { return ro_bool(a, false); }
static int ctl_one_arena(const struct ctl_args *a) { return ro_unsigned(a, 1); }
static int ctl_opt_background_thread(const struct ctl_args *a) {
  return ro_bool(a, scavenger_enabled() != 0);
}
static int ctl_tcache_max(const struct ctl_args *a) { return ro_size(a, SIZECLASS_MAX_SMALL); }
static int ctl_dirty_decay(const struct ctl_args *a) {
  return ro_ssize(a, (ssize_t)alloc_settings()->scavenge_delay_ms);
}
static int ctl_muzzy_decay(const struct ctl_args *a) { return ro_ssize(a, 0); }
static int ctl_page(const struct ctl_args *a) { return ro_size(a, PAGE_BYTES); }
static int ctl_quantum(const struct ctl_args *a) { return ro_size(a, 16); }

/* arena.<i>.*: the arena is mib[1]. */
static int arena_index_ok(size_t i) { return i <= 1 || i == ARENAS_ALL; }

static int ctl_arena_purge(const struct ctl_args *a) {
  if (!arena_index_ok(a->mib[1])) return ENOENT;
  int r = operation(a);
  if (r == 0) alloc_release_free_memory();
  return r;
}

static int ctl_arena_decay(const struct ctl_args *a) {
  if (!arena_index_ok(a->mib[1])) return ENOENT;
  int r = operation(a);
  if (r == 0) scavenger_decay();
  return r;
}

static int ctl_tcache_flush(const struct ctl_args *a) {
  int r = operation(a);
  if (r == 0) alloc_flush_thread_cache();
  return r;
}

/* stats.*: what each means in jemalloc's terms (its manual). */
enum { ST_ALLOCATED, ST_ACTIVE, ST_METADATA, ST_MAPPED, ST_RESIDENT, ST_RETAINED };

static int stat_value(const struct ctl_args *a, int which) {
  struct alloc_stats st;
  alloc_get_stats(&st);
  uint64_t backed = st.heap_in_spans + st.heap_free + st.metadata;
  uint64_t v = which == ST_ALLOCATED  ? st.in_use        /* bytes in blocks handed out */
               : which == ST_ACTIVE   ? st.heap_in_spans /* pages holding blocks */
               : which == ST_METADATA ? st.metadata
               : which == ST_RETAINED ? st.released /* returned to the OS, address space kept */
                                      : backed;     /* mapped, resident */
  return ro_size(a, (size_t)v);
}
static int ctl_allocated(const struct ctl_args *a) { return stat_value(a, ST_ALLOCATED); }
static int ctl_active(const struct ctl_args *a) { return stat_value(a, ST_ACTIVE); }
static int ctl_metadata(const struct ctl_args *a) { return stat_value(a, ST_METADATA); }
static int ctl_mapped(const struct ctl_args *a) { return stat_value(a, ST_MAPPED); }
static int ctl_resident(const struct ctl_args *a) { return stat_value(a, ST_RESIDENT); }
static int ctl_retained(const struct ctl_args *a) { return stat_value(a, ST_RETAINED); }

/* ---- the tree ------------------------------------------------------------------- */

struct ctl_node {
  const char *name; /* NULL: a numeric component */
  const struct ctl_node *kids;
  size_t nkids;
  int (*fn)(const struct ctl_args *a); /* a leaf's handler; NULL inside */
};

#define LEAF(n, f) \
  { n, NULL, 0, f }
#define INNER(n, k) \
  { n, k, sizeof k / sizeof k[0], NULL }

static const struct ctl_node config_kids[] = {LEAF("stats", ctl_true), LEAF("prof", ctl_false),
                                              LEAF("debug", ctl_false)};
static const struct ctl_node opt_kids[] = {
    LEAF("narenas", ctl_one_arena),
    LEAF("tcache", ctl_true),
    LEAF("tcache_max", ctl_tcache_max),
    LEAF("background_thread", ctl_opt_background_thread),
    LEAF("dirty_decay_ms", ctl_dirty_decay),
    LEAF("muzzy_decay_ms", ctl_muzzy_decay),
    LEAF("retain", ctl_true),
    LEAF("abort", ctl_false),
    LEAF("zero", ctl_false),
};
static const struct ctl_node arena_i_kids[] = {LEAF("purge", ctl_arena_purge),
                                               LEAF("decay", ctl_arena_decay)};
static const struct ctl_node arena_kids[] = {INNER(NULL, arena_i_kids)};
static const struct ctl_node arenas_kids[] = {LEAF("narenas", ctl_one_arena),
                                              LEAF("page", ctl_page), LEAF("quantum", ctl_quantum)};
static const struct ctl_node tcache_kids[] = {LEAF("flush", ctl_tcache_flush)};
static const struct ctl_node thread_kids[] = {INNER("tcache", tcache_kids)};
static const struct ctl_node stats_kids[] = {
    LEAF("allocated", ctl_allocated), LEAF("active", ctl_active),
    LEAF("metadata", ctl_metadata),   LEAF("mapped", ctl_mapped),
    LEAF("resident", ctl_resident),   LEAF("retained", ctl_retained),
};
static const struct ctl_node root_kids[] = {
    LEAF("epoch", ctl_epoch),     LEAF("background_thread", ctl_background_thread),
    INNER("config", config_kids), INNER("opt", opt_kids),
    INNER("arena", arena_kids),   INNER("arenas", arenas_kids),
    INNER("thread", thread_kids), INNER("stats", stats_kids),
};
static const struct ctl_node root = INNER("", root_kids);

/* The child of node named by the component [s, s+n), with its MIB entry. */
static const struct ctl_node *child_by_name(const struct ctl_node *node, const char *s, size_t n,
                                            size_t *entry) {
  for (size_t k = 0; k < node->nkids; k++) {
    const struct ctl_node *c = &node->kids[k];
    if (c->name == NULL) { /* a number: decimal digits that fit */
      size_t v = 0, i = 0;
      for (; i < n && s[i] >= '0' && s[i] <= '9' && v <= SIZE_MAX / 10 - 1; i++)
        v = v * 10 + (size_t)(s[i] - '0');
      if (i == n && n > 0) {
        *entry = v;
        return c;
      }
    } else if (strlen(c->name) == n && memcmp(c->name, s, n) == 0) {
      *entry = k;
      return c;
    }
  }
  return NULL;
}

static const struct ctl_node *child_by_index(const struct ctl_node *node, size_t entry) {
  if (node->nkids == 1 && node->kids[0].name == NULL) return &node->kids[0];
  return entry < node->nkids ? &node->kids[entry] : NULL;
}

/* ---- the entry points -------------------------------------------------------------- */

EXPORT int mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp) {
  if (name == NULL || mibp == NULL || miblenp == NULL) return EINVAL;
  const struct ctl_node *node = &root;
  size_t depth = 0;
  for (const char *s = name;; depth++) {
    const char *dot = strchr(s, '.');
    size_t n = dot != NULL ? (size_t)(dot - s) : strlen(s);
    if (depth == *miblenp) break; /* a prefix, as jemalloc allows */
    size_t entry;
    node = child_by_name(node, s, n, &entry);
    if (node == NULL) return ENOENT;
    mibp[depth] = entry;
    if (dot == NULL) {
      depth++;
      break;
    }
    s = dot + 1;
  }
  *miblenp = depth;
  return 0;
}

EXPORT int mallctlbymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp, void *newp,
                        size_t newlen) {
  if (mib == NULL || miblen == 0 || miblen > MIB_MAX) return ENOENT;
  const struct ctl_node *node = &root;
  for (size_t d = 0; d < miblen; d++) {
    node = child_by_index(node, mib[d]);
    if (node == NULL) return ENOENT;
  }
  if (node->fn == NULL) return ENOENT;
  struct ctl_args a = {mib, oldp, oldlenp, newp, newlen};
  return node->fn(&a);
}

EXPORT int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen) {
  size_t mib[MIB_MAX], len = MIB_MAX;
  int r = mallctlnametomib(name, mib, &len);
  if (r != 0) return r;
  return mallctlbymib(mib, len, oldp, oldlenp, newp, newlen);
}

/* ---- malloc_stats_print -------------------------------------------------------------- */

/* jemalloc's hook for its messages: when set, malloc_stats_print without a
 * callback writes through it. */
EXPORT void (*malloc_message)(void *cbopaque, const char *s) = NULL;

/* jemalloc's default: stderr. */
static void to_stderr(void *opaque, const char *s) {
  (void)opaque;
  alloc_write_str(2, s);
}

struct stats_sink {
  void (*write_cb)(void *, const char *);
  void *opaque;
};

static void sink_line(void *arg, const char *line) {
  struct stats_sink *k = arg;
  k->write_cb(k->opaque, line);
}

/* liballoc's statistics (alloc_print_stats' table) between jemalloc's
 * banners. opts (jemalloc's letters that leave parts out) changes nothing:
 * the table is short. The callback may allocate: no lock is held while it
 * runs. */
EXPORT void malloc_stats_print(void (*write_cb)(void *, const char *), void *cbopaque,
                               const char *opts) {
  (void)opts;
  struct stats_sink k = {write_cb, cbopaque};
  if (k.write_cb == NULL) {
    k.write_cb = malloc_message != NULL ? malloc_message : to_stderr;
  }
  k.write_cb(k.opaque, "___ Begin liballoc statistics (jemalloc's malloc_stats_print) ___\n");
  alloc_stats_write(sink_line, &k);
  k.write_cb(k.opaque, "--- End liballoc statistics ---\n");
}
