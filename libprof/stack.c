/* stack.c: stack capture for samples, with libunwind's unw_backtrace into a
 * fixed buffer (no allocation, no lock of ours held). The allocator's own
 * frames are dropped so a stack starts at the caller of malloc or new: they
 * are the frames inside the object that holds this code (liballoc.so). When
 * the allocator is linked statically into a program there is no such
 * boundary, and a fixed number of frames is dropped instead. Overview:
 * prof.h. */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <libunwind.h>
#include <link.h>
#include <string.h>

#include "prof.h"

static uintptr_t self_lo, self_hi; /* executable text of our object, if shared */
static int self_known;             /* 1 shared, -1 static (main program) */

struct find_self {
  uintptr_t addr;
  uintptr_t lo, hi;
  int is_main;
  int found;
};

static int find_self_cb(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  struct find_self *f = arg;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
    if (f->addr >= lo && f->addr < hi) {
      f->lo = lo;
      f->hi = hi;
      f->is_main = info->dlpi_name == NULL || info->dlpi_name[0] == 0;
      f->found = 1;
      return 1;
    }
  }
  return 0;
}

static void find_self(void) {
  struct find_self f = {.addr = (uintptr_t)&prof_capture_stack};
  dl_iterate_phdr(find_self_cb, &f);
  if (f.found && !f.is_main) {
    self_lo = f.lo;
    self_hi = f.hi;
    self_known = 1;
  } else {
    self_known = -1;
  }
}

/* Frames of the allocator in a static link: prof_capture_stack,
 * prof_sample_alloc and the alloc_* entry point. */
#define STATIC_SKIP 3

int prof_capture_stack(uintptr_t *frames, int max) {
  if (self_known == 0) find_self();
  void *buf[PROF_MAX_FRAMES + 16];
  int want = max + 16;
  if (want > PROF_MAX_FRAMES + 16) want = PROF_MAX_FRAMES + 16;
  int n = unw_backtrace(buf, want);
  int i = 0;
  if (self_known > 0) {
    while (i < n && (uintptr_t)buf[i] >= self_lo && (uintptr_t)buf[i] < self_hi) i++;
  } else {
    i = n < STATIC_SKIP ? n : STATIC_SKIP;
  }
  int out = 0;
  for (; i < n && out < max; i++) frames[out++] = (uintptr_t)buf[i];
  return out;
}
