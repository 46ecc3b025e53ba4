/* sys.c: the four-state OS layer (None, Reserved, Prepared, Ready) with its
 * accounting, over the thin system-call layer in sys_linux.c. The states and
 * transitions are documented in sys.h.
 *
 * Heap address space is reserved with the kernel's commit accounting on
 * (SYS_OS_ACCOUNT), metadata without it. A reservation is PROT_NONE, which
 * the kernel never charges, so reserving stays cheap; sys_map makes it
 * writable and that is when the kernel charges it and may refuse, exactly
 * where glibc's mmap of a large block would be refused. We let the kernel
 * decide rather than compare requests with /proc/meminfo or the overcommit
 * mode ourselves: it knows the policy in force (heuristic, strict
 * CommitLimit, always), swap, cgroups and RLIMIT_AS/RLIMIT_DATA, and a copy
 * of its rules would drift from them. Metadata stays MAP_NORESERVE: it is
 * small, touched sparsely (arena records), and must not fail where the
 * heap it describes did not. */
#include "sys.h"

#include "internal.h"

struct sys_stats sys_stats;

void *sys_alloc(size_t n) {
  void *p = sys_os_mmap(NULL, n, SYS_OS_RW);
  if (p != NULL) ADD_RELAXED(&sys_stats.metadata, n);
  return p;
}

void sys_free_metadata(void *v, size_t n) {
  sys_os_munmap(v, n);
  SUB_RELAXED(&sys_stats.metadata, n);
}

void *sys_alloc_zeros(size_t n) { return sys_os_mmap(NULL, n, SYS_OS_READ); }

int sys_commit_zeros(void *v, size_t n) {
  if (sys_os_protect(v, n, 1) != 0) return -1;
  ADD_RELAXED(&sys_stats.metadata, n);
  return 0;
}

void sys_uncommit_zeros(void *v, size_t n) {
  if (sys_os_release(v, n) == 0) SUB_RELAXED(&sys_stats.metadata, n);
}

void *sys_reserve(void *hint, size_t n) {
  void *p = sys_os_mmap(hint, n, SYS_OS_ACCOUNT);
  if (p != NULL) ADD_RELAXED(&sys_stats.reserved, n);
  return p;
}

void *sys_reserve_aligned(void *hint, size_t n, size_t align) {
  /* Reserve n + align and trim both ends so that what is left is aligned. */
  size_t span = n + align;
  if (span < n) return NULL;
  uintptr_t p = (uintptr_t)sys_os_mmap(hint, span, SYS_OS_ACCOUNT);
  if (p == 0) return NULL;
  uintptr_t start = align_up(p, align);
  if (start > p) sys_os_munmap((void *)p, start - p);
  uintptr_t end = start + n;
  if (p + span > end) sys_os_munmap((void *)end, p + span - end);
  ADD_RELAXED(&sys_stats.reserved, n);
  return (void *)start;
}

void sys_free(void *v, size_t n) {
  sys_os_munmap(v, n);
  SUB_RELAXED(&sys_stats.reserved, n);
}

int sys_map(void *v, size_t n) {
  if (sys_os_protect(v, n, 1) != 0) return -1;
  ADD_RELAXED(&sys_stats.mapped, n);
  return 0;
}

void sys_used(void *v, size_t n) {
  /* Linux backs Prepared pages on first touch: nothing to do but count. */
  (void)v;
  SUB_RELAXED(&sys_stats.released, n);
}

void sys_unused(void *v, size_t n) {
  if (sys_os_release(v, n) == 0) ADD_RELAXED(&sys_stats.released, n);
}

void sys_fault(void *v, size_t n) {
  sys_os_protect(v, n, 0);
  SUB_RELAXED(&sys_stats.mapped, n);
}
