/* sys_linux.c: mmap, mprotect, munmap and madvise for the OS layer in sys.c.
 * Nothing else in liballoc makes a memory system call. */
#define _GNU_SOURCE
#include "sys.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

/* Commit accounting (SYS_OS_ACCOUNT, see sys.c for why the heap uses it):
 * the kernel charges a private mapping when it is, or becomes (mprotect),
 * writable, unless it was made with MAP_NORESERVE; under overcommit mode 0
 * it refuses a single charge above RAM + swap, under mode 2 anything past
 * CommitLimit, under mode 1 nothing. A PROT_NONE mapping is never charged. */
void *sys_os_mmap(void *hint, size_t n, unsigned how) {
  int prot = (how & SYS_OS_RW)     ? PROT_READ | PROT_WRITE
             : (how & SYS_OS_READ) ? PROT_READ
                                   : PROT_NONE;
  int flags = MAP_PRIVATE | MAP_ANONYMOUS;
  if (!(how & SYS_OS_ACCOUNT)) flags |= MAP_NORESERVE;
  if (how & SYS_OS_FIXED) flags |= MAP_FIXED;
  int saved = errno;
  void *p = mmap(hint, n, prot, flags, -1, 0);
  errno = saved;
  return p == MAP_FAILED ? NULL : p;
}

int sys_os_munmap(void *v, size_t n) { return munmap(v, n); }

int sys_os_protect(void *v, size_t n, int prot_rw) {
  int saved = errno;
  int r = mprotect(v, n, prot_rw ? PROT_READ | PROT_WRITE : PROT_NONE);
  errno = saved;
  return r;
}

/* Release method, probed once. MADV_DONTNEED drops the pages at once, so RSS
 * falls as soon as memory is returned; that is what operators measure, so it
 * is preferred over MADV_FREE (which only lets the kernel take the pages
 * under pressure). If DONTNEED fails (it never should on Linux), fall back to
 * remapping the range, which also yields zero pages. */
enum { RELEASE_UNKNOWN, RELEASE_DONTNEED, RELEASE_REMAP };
static int release_method = RELEASE_UNKNOWN;

int sys_os_release(void *v, size_t n) {
  int saved = errno;
  int r = -1;
  int m = LOAD_RELAXED(&release_method);
  if (m != RELEASE_REMAP) {
    r = madvise(v, n, MADV_DONTNEED);
    if (m == RELEASE_UNKNOWN)
      STORE_RELAXED(&release_method, r == 0 ? RELEASE_DONTNEED : RELEASE_REMAP);
  }
  if (r != 0) r = sys_os_mmap(v, n, SYS_OS_RW | SYS_OS_FIXED | SYS_OS_ACCOUNT) == v ? 0 : -1;
  errno = saved;
  return r;
}

const char *sys_os_release_method(void) {
  return LOAD_RELAXED(&release_method) == RELEASE_REMAP ? "mmap(MAP_FIXED)" : "MADV_DONTNEED";
}

size_t sys_os_page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }
