/* scavenger.c: the background thread that returns free pages to the OS.
 *
 * Policy: pages that have been free for ALLOC_SCAVENGE_DELAY_MS (default
 * 500 ms) are released with MADV_DONTNEED, keeping at most ALLOC_RETAIN_MB
 * (default 8 MiB) of free memory backed. Transfer caches (mcentral.c) that
 * sat unused for a tick are drained first, so the spans their objects pin
 * can go back too. So a program that frees a large working set and idles
 * gives the memory back within about one second, while one
 * that frees and reallocates blocks continuously keeps reusing backed pages
 * and never pays a page fault for it (the pages it reuses are never idle
 * long enough). The thread starts the first time free memory exceeds 16 MiB,
 * sleeps on a condition variable whenever there is nothing to do, blocks all
 * signals, and never allocates. ALLOC_SCAVENGER=0 disables it; releasing then
 * happens synchronously in free when backed free memory is far over budget.
 * Overview: malloc.c. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"
#include "mcentral.h"
#include "mheap.h"

#define SCAVENGE_TICK_MS 200

static alloc_lock scav_lock = ALLOC_LOCK_INIT;
static pthread_cond_t scav_cond = PTHREAD_COND_INITIALIZER;
static int scav_started; /* the thread exists (scav_lock) */
static int scav_wanted;  /* there is work: the thread should poll */
static int scav_config_read;
static int scav_disabled;
static uint64_t scav_delay_ms = 500;
static size_t scav_retain = (size_t)8 << 20;

static void scav_read_config(void) {
  const char *e = alloc_env("ALLOC_SCAVENGER");
  scav_disabled = e != NULL && e[0] == '0';
  e = alloc_env("ALLOC_SCAVENGE_DELAY_MS");
  if (e != NULL && *e) scav_delay_ms = strtoull(e, NULL, 10);
  e = alloc_env("ALLOC_RETAIN_MB");
  if (e != NULL && *e) scav_retain = (size_t)strtoull(e, NULL, 10) << 20;
  scav_config_read = 1;
}

static void *scavenger_main(void *arg) {
  (void)arg;
  for (;;) {
    lock_acquire(&scav_lock);
    while (!LOAD_RELAXED(&scav_wanted)) pthread_cond_wait(&scav_cond, &scav_lock.m);
    lock_release(&scav_lock);
    struct timespec tick = {0, SCAVENGE_TICK_MS * 1000000L};
    nanosleep(&tick, NULL);
    if (mheap_free_backed_bytes() > scav_retain)
      for (unsigned k = 1; k < SIZECLASS_COUNT; k++) mcentral_drain_if_idle(&mcentral[k]);
    mheap_scavenge(scav_retain, scav_delay_ms);
    if (mheap_free_backed_bytes() <= scav_retain) {
      lock_acquire(&scav_lock);
      STORE_RELAXED(&scav_wanted, 0);
      lock_release(&scav_lock);
    }
  }
  return NULL;
}

static int scavenger_start(void) { return alloc_thread_start(scavenger_main, NULL, 64 << 10); }

void scavenger_notify(void) {
  if (LOAD_RELAXED(&scav_wanted)) return;
  int start = 0;
  lock_acquire(&scav_lock);
  if (!scav_config_read) scav_read_config();
  if (!scav_disabled) {
    STORE_RELAXED(&scav_wanted, 1);
    if (scav_started)
      pthread_cond_signal(&scav_cond);
    else if (alloc_may_create_thread())
      start = scav_started = 1;
  }
  lock_release(&scav_lock);
  if (start && scavenger_start() != 0) {
    lock_acquire(&scav_lock);
    scav_started = 0;
    STORE_RELAXED(&scav_disabled, 1); /* no thread to be had: fall back to synchronous */
    lock_release(&scav_lock);
  }
  if (LOAD_RELAXED(&scav_disabled)) {
    /* Synchronous fallback: only when far over budget, so a free/malloc
     * loop does not pay madvise on every call. */
    if (mheap_free_backed_bytes() > 8 * scav_retain) mheap_scavenge(scav_retain, scav_delay_ms);
  }
}

void scavenger_after_fork_child(void) {
  /* The thread did not survive the fork; the next notify starts a new one. */
  lock_reinit(&scav_lock);
  pthread_cond_init(&scav_cond, NULL);
  scav_started = 0;
  STORE_RELAXED(&scav_wanted, 0);
}
