/* persistentalloc.c: bump allocation of metadata that is never freed. Chunks
 * come from the OS layer; big requests get their own mapping. See metalloc.h. */
#include <string.h>

#include "metalloc.h"
#include "sys.h"

#define PERSISTENT_CHUNK ((size_t)256 << 10)

static alloc_lock persistent_lock = ALLOC_LOCK_INIT;
static uintptr_t persistent_next, persistent_end;

void *persistentalloc(size_t size, size_t align) {
  if (align == 0) align = 8;
  if (size >= PERSISTENT_CHUNK / 4) return sys_alloc(align_up(size, 4096));
  lock_acquire(&persistent_lock);
  uintptr_t p = align_up(persistent_next, align);
  if (persistent_next == 0 || p + size > persistent_end) {
    size_t n = PERSISTENT_CHUNK;
    void *chunk = sys_alloc(n);
    if (chunk == NULL) {
      /* Short of address space (ulimit -v): a whole chunk may not fit
       * where this request does. */
      n = align_up(size + align, 4096);
      chunk = sys_alloc(n);
    }
    if (chunk == NULL) {
      lock_release(&persistent_lock);
      return NULL;
    }
    persistent_next = (uintptr_t)chunk;
    persistent_end = persistent_next + n;
    p = align_up(persistent_next, align);
  }
  persistent_next = p + size;
  lock_release(&persistent_lock);
  return (void *)p; /* fresh mmap memory: already zero */
}

void persistentalloc_lock(void) { lock_acquire(&persistent_lock); }
void persistentalloc_unlock(void) { lock_release(&persistent_lock); }
