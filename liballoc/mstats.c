/* mstats.c: the allocator's statistics (the seed's mstats): what is mapped,
 * in use and released, per size class, read through alloc.h and printed at
 * exit when ALLOC_STATS=1 (and by jemalloc's malloc_stats_print,
 * override_mallctl.c). Reading takes each lock briefly and the thread
 * caches' counters with relaxed loads, so a snapshot is consistent per part
 * and approximate across parts while other threads run. Never allocates.
 * Overview: malloc.c. */
#include <string.h>

#include "alloc.h"
#include "alloc_entry.h"
#include "internal.h"
#include "mcache.h"
#include "mcentral.h"
#include "mheap.h"
#include "mprof.h"
#include "sizeclass.h"
#include "sys.h"

ALLOC_EXPORT NO_TSAN int alloc_get_stats(struct alloc_stats *out) {
  memset(out, 0, sizeof *out);
  out->nclasses = SIZECLASS_COUNT;
  lock_acquire(&mcache_all_lock);
  for (unsigned k = 1; k < SIZECLASS_COUNT; k++) {
    struct alloc_class_stats *cs = &out->by_class[k];
    cs->nmalloc = mcache_retired_nmalloc[k];
    cs->nfree = mcache_retired_nfree[k];
    for (struct mcache *c = mcache_all; c != NULL; c = c->all_next) {
      cs->nmalloc += mcache_nmalloc(&c->cls[k], k);
      cs->nfree += mcache_nfree(&c->cls[k]);
    }
  }
  out->nthreads = mcache_live;
  lock_release(&mcache_all_lock);
  for (unsigned k = 1; k < SIZECLASS_COUNT; k++) {
    struct alloc_class_stats *cs = &out->by_class[k];
    cs->size = class_to_size[k];
    cs->npages = class_to_npages[k];
    lock_acquire(&mcentral[k].lock);
    cs->nspans = mcentral[k].nspans;
    lock_release(&mcentral[k].lock);
    /* Counters of different threads are read at different moments. */
    if (cs->nmalloc > cs->nfree) out->in_use += (cs->nmalloc - cs->nfree) * cs->size;
  }
  lock_acquire(&mheap.lock);
  out->heap_in_spans = (uint64_t)mheap.pages_in_use * PAGE_BYTES;
  out->heap_free = (uint64_t)mheap.pages_free * PAGE_BYTES;
  out->released = (uint64_t)mheap.pages_released * PAGE_BYTES;
  out->large_in_use = (uint64_t)mheap.pages_large * PAGE_BYTES;
  out->nlarge_alloc = mheap.nlarge_alloc;
  out->nlarge_free = mheap.nlarge_free;
  lock_release(&mheap.lock);
  out->in_use += out->large_in_use;
  out->by_class[0].nmalloc = out->nlarge_alloc;
  out->by_class[0].nfree = out->nlarge_free;
  out->mapped = LOAD_RELAXED(&sys_stats.mapped);
  out->reserved = LOAD_RELAXED(&sys_stats.reserved);
  out->metadata = LOAD_RELAXED(&sys_stats.metadata);
  struct prof_totals pt;
  mprof_get_totals(&pt);
  out->profiler = pt.metadata_bytes;
  return 0;
}

/* ---- Printing without stdio ---------------------------------------------- */

struct line {
  char buf[256];
  size_t n;
};

static void put(struct line *l, const char *s) {
  while (*s && l->n + 1 < sizeof l->buf) l->buf[l->n++] = *s++;
}

static void put_num(struct line *l, uint64_t v, int width) {
  char num[24];
  alloc_fmt_u64(num, v, 0);
  for (int pad = width - (int)strlen(num); pad > 0; pad--) put(l, " ");
  put(l, num);
}

static void put_bytes(struct line *l, const char *label, uint64_t v) {
  put(l, label);
  put_num(l, v, 14);
  put(l, " B (");
  put_num(l, v >> 20, 0);
  put(l, " MiB)");
}

struct line_sink {
  void (*emit)(void *arg, const char *line);
  void *arg;
};

static void flush_line(const struct line_sink *out, struct line *l) {
  put(l, "\n");
  l->buf[l->n] = 0;
  out->emit(out->arg, l->buf);
  l->n = 0;
}

static void emit_fd(void *arg, const char *line) { alloc_write_str(*(const int *)arg, line); }

ALLOC_EXPORT void alloc_print_stats(int fd) { alloc_stats_write(emit_fd, &fd); }

void alloc_stats_write(void (*emit)(void *arg, const char *line), void *arg) {
  const struct line_sink sink = {emit, arg};
  struct alloc_stats st;
  alloc_get_stats(&st);
  struct line l = {.n = 0};
  static const struct {
    const char *label;
    size_t offset;
  } rows[] = {
      {"liballoc: in use        ", offsetof(struct alloc_stats, in_use)},
      {"liballoc: large in use  ", offsetof(struct alloc_stats, large_in_use)},
      {"liballoc: heap in spans ", offsetof(struct alloc_stats, heap_in_spans)},
      {"liballoc: heap free     ", offsetof(struct alloc_stats, heap_free)},
      {"liballoc: released      ", offsetof(struct alloc_stats, released)},
      {"liballoc: mapped        ", offsetof(struct alloc_stats, mapped)},
      {"liballoc: reserved      ", offsetof(struct alloc_stats, reserved)},
      {"liballoc: metadata      ", offsetof(struct alloc_stats, metadata)},
      {"liballoc: profiler      ", offsetof(struct alloc_stats, profiler)},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    uint64_t v;
    memcpy(&v, (const char *)&st + rows[i].offset, sizeof v);
    put_bytes(&l, rows[i].label, v);
    flush_line(&sink, &l);
  }
  put(&l, "liballoc: threads       ");
  put_num(&l, st.nthreads, 14);
  flush_line(&sink, &l);
  put(&l, "liballoc: class     size      nmalloc        nfree       in use    spans");
  flush_line(&sink, &l);
  for (unsigned k = 0; k < st.nclasses; k++) {
    const struct alloc_class_stats *cs = &st.by_class[k];
    if (cs->nmalloc == 0) continue;
    put(&l, "liballoc: ");
    put_num(&l, k, 5);
    if (k == 0)
      put(&l, "    large");
    else
      put_num(&l, cs->size, 9);
    put_num(&l, cs->nmalloc, 13);
    put_num(&l, cs->nfree, 13);
    put_num(&l, cs->nmalloc > cs->nfree ? cs->nmalloc - cs->nfree : 0, 13);
    put_num(&l, cs->nspans, 9);
    flush_line(&sink, &l);
  }
}
