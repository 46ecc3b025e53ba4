/* it_rss.h: the process's size and resident set as the kernel reports them
 * (/proc/self/statm), for the integration programs that check how much
 * memory the allocator maps, keeps and gives back (scavenge, huge_alloc,
 * exhaust_as). Header-only, on it_common.h. */
#ifndef IT_RSS_H
#define IT_RSS_H

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "it_common.h"

/* The fields of /proc/self/statm read here. */
enum { IT_STATM_SIZE = 0, IT_STATM_RESIDENT = 1 };

/* Field (IT_STATM_*) of /proc/self/statm, in bytes. If it cannot be read,
 * prints "PROGRAM: FAIL: ..." and exits 1: the test cannot judge anything. */
static inline size_t it_statm(int field) {
  char buf[128];
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
  if (fd >= 0) close(fd);
  if (n <= 0) {
    it_say(2, "%s: FAIL: cannot read /proc/self/statm\n", program_invocation_short_name);
    _exit(1);
  }
  buf[n] = 0;
  char *p = buf;
  for (int i = 0; i < field; i++) strtoull(p, &p, 10);
  return (size_t)strtoull(p, NULL, 10) * (size_t)sysconf(_SC_PAGESIZE);
}

/* Resident bytes now. */
static inline size_t it_resident(void) { return it_statm(IT_STATM_RESIDENT); }

/* Bytes of address space now. */
static inline size_t it_vm_size(void) { return it_statm(IT_STATM_SIZE); }

#endif /* IT_RSS_H */
