/* linearalloc.c: bump allocation inside a reserved region, mapped in 1 MiB
 * steps as it fills, for the per-arena metadata. See metalloc.h. */
#include "metalloc.h"
#include "sys.h"

#define LINEAR_MAP_STEP ((uintptr_t)1 << 20)

int linearalloc_init(struct linearalloc *l, size_t n) {
  void *p = sys_os_mmap(NULL, n, 0, 0);
  if (p == NULL) return -1;
  l->next = l->mapped = (uintptr_t)p;
  l->end = l->next + n;
  return 0;
}

void *linearalloc_alloc(struct linearalloc *l, size_t size, size_t align) {
  if (l->end == 0) return NULL;
  uintptr_t p = align_up(l->next, align);
  if (p + size > l->end || p + size < p) return NULL;
  if (p + size > l->mapped) {
    uintptr_t want = align_up(p + size, LINEAR_MAP_STEP);
    if (want > l->end) want = l->end;
    if (sys_os_protect((void *)l->mapped, want - l->mapped, 1) != 0) return NULL;
    ADD_RELAXED(&sys_stats.metadata, want - l->mapped);
    l->mapped = want;
  }
  l->next = p + size;
  return (void *)p;
}
