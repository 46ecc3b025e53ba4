/* sys.h: the OS layer. Every region of address space the heap manages is in
 * one of four states:
 *
 *   None      not ours.
 *   Reserved  ours, but any access faults (PROT_NONE); costs no memory and
 *             is not charged against the kernel's commit limit.
 *   Prepared  accessible (read/write), but its contents are forfeit: the OS
 *             may have taken the pages back; the next touch gets zeroes.
 *   Ready     accessible and backed by memory we are using.
 *
 * Transitions:  sys_alloc None->Ready (OS picks the place)
 *               sys_reserve None->Reserved      sys_map Reserved->Prepared
 *               sys_used Prepared->Ready        sys_unused Ready->Prepared
 *               sys_free any->None              sys_fault Ready|Prepared->Reserved
 *
 * sys_map is where the kernel may refuse memory it cannot back (sys.c says
 * why the heap asks it there rather than guessing). Metadata that is mostly
 * never written (the span map) is mapped with sys_alloc_zeros, read-only,
 * and made Ready piecewise with sys_commit_zeros.
 *
 * sys.c keeps the accounting of bytes in each state; sys_linux.c alone makes
 * the system calls. Overview: malloc.c. */
#ifndef ALLOC_SYS_H
#define ALLOC_SYS_H

#include <stddef.h>
#include <stdint.h>
#include "internal.h"

ALLOC_HIDDEN_BEGIN

/* Byte counts per state, updated with relaxed atomics. */
struct sys_stats {
  uint64_t reserved; /* heap address space in any state but None */
  uint64_t mapped;   /* heap bytes Prepared or Ready */
  uint64_t released; /* heap bytes returned with sys_unused and not yet reused */
  uint64_t metadata; /* bytes from sys_alloc for the allocator's own use */
};
extern struct sys_stats sys_stats;

/* None -> Ready, for metadata. NULL on failure. Counted in metadata. */
void *sys_alloc(size_t n);
/* Any -> None for metadata obtained with sys_alloc. */
void sys_free_metadata(void *v, size_t n);
/* Metadata that is mostly never written (the span map): mapped read-only,
 * reading as zeros without costing memory. Not counted. NULL on failure. */
void *sys_alloc_zeros(size_t n);
/* Makes part of a sys_alloc_zeros mapping writable (Ready) and counts it in
 * metadata. Returns 0, or -1 if the OS refused. */
int sys_commit_zeros(void *v, size_t n);
/* Gives the memory of committed zeros metadata back: it reads as zeros
 * again and is no longer counted (it may stay writable). */
void sys_uncommit_zeros(void *v, size_t n);

/* None -> Reserved at hint if possible (elsewhere otherwise). NULL on failure.
 * Heap reservations are accounted (SYS_OS_ACCOUNT): sys_map on them fails
 * when the kernel would not commit that much memory. */
void *sys_reserve(void *hint, size_t n);
/* None -> Reserved, aligned to align (a power of two). NULL on failure. */
void *sys_reserve_aligned(void *hint, size_t n, size_t align);
/* Any -> None for heap address space. */
void sys_free(void *v, size_t n);
/* Reserved -> Prepared. Returns 0, or -1 if the OS refused (ENOMEM): out of
 * address space, or more than the kernel's overcommit policy will commit
 * (heuristic mode: more than RAM + swap in one request; strict mode: past
 * CommitLimit). This is where a request the machine cannot back fails. */
int sys_map(void *v, size_t n);
/* Prepared -> Ready. */
void sys_used(void *v, size_t n);
/* Ready -> Prepared: the OS may take the pages; they read as zero later. */
void sys_unused(void *v, size_t n);
/* Ready|Prepared -> Reserved (debugging use-after-free). */
void sys_fault(void *v, size_t n);

/* ---- sys_linux.c: the only code that talks to the kernel about memory. ---- */
enum {
  SYS_OS_RW = 1,    /* readable and writable (else PROT_NONE) */
  SYS_OS_FIXED = 2, /* exactly at hint, replacing what is there */
  /* Subject to the kernel's commit accounting: when the range becomes
   * writable (now or by a later sys_os_protect), the kernel charges it and
   * may refuse with ENOMEM, as it would refuse glibc's mmap. Without it the
   * mapping is MAP_NORESERVE and is never refused for want of memory. */
  SYS_OS_ACCOUNT = 4,
  SYS_OS_READ = 8, /* readable only (reads of untouched pages see zeros) */
};
/* mmap of anonymous private memory with SYS_OS_* flags. NULL on failure. */
void *sys_os_mmap(void *hint, size_t n, unsigned flags);
int sys_os_munmap(void *v, size_t n);
/* mprotect to read/write (prot_rw) or none. Returns 0, or -1 if refused. */
int sys_os_protect(void *v, size_t n, int prot_rw);
/* Gives pages back; after it they read as zero. Returns 0 or -1. */
int sys_os_release(void *v, size_t n);
/* Name of the release method the kernel supports ("MADV_DONTNEED", ...). */
const char *sys_os_release_method(void);
size_t sys_os_page_size(void);

ALLOC_HIDDEN_END
#endif /* ALLOC_SYS_H */
