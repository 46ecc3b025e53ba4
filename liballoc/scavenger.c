/* scavenger.c: the background thread that returns free pages to the OS.
 *
 * Policy, from the ALLOC_* settings (settings.h; read once, environ.c):
 *   ALLOC_RETAIN_MB (default 8): free memory the heap keeps backed for
 *     reuse. Any free that leaves more than that free and backed wakes the
 *     thread (scavenger_notify), which
 *   ALLOC_SCAVENGE_DELAY_MS (default 500): returns with MADV_DONTNEED the
 *     pages that have been free at least that long, until ALLOC_RETAIN_MB
 *     stays backed: only the part of a run over the budget goes, the rest
 *     stays for reuse (mheap_scavenge). It looks every tick (200 ms) while
 *     free memory is over the budget, and sleeps on a condition variable
 *     when it is not. Transfer caches (mcentral.c) that sat unused for a
 *     tick are drained first, so the spans their objects pin can go back.
 *   ALLOC_SCAVENGER=0: no thread. A free that leaves more than
 *     ALLOC_RETAIN_MB + 16 MiB backed does the thread's work itself (at
 *     most once a tick while nothing is old enough to go), so a loop of
 *     free and malloc does not pay madvise on every call.
 * So a program that frees a large working set and idles gives the memory
 * back within about a second, while one that frees and reallocates blocks
 * continuously reuses backed pages and pays no page faults for them. The
 * thread starts at the first wake-up, blocks all signals and never
 * allocates. Overview: malloc.c. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"
#include "mcentral.h"
#include "mheap.h"
#include "settings.h"

#define SCAVENGE_TICK_MS 200
/* Without the thread: how far over the budget a free starts releasing. */
#define SCAVENGE_SYNC_SLACK ((size_t)16 << 20)

static alloc_lock scav_lock = ALLOC_LOCK_INIT;
static pthread_cond_t scav_cond = PTHREAD_COND_INITIALIZER;
static int scav_started;         /* the thread exists (scav_lock) */
static int scav_wanted;          /* there is work: the thread should poll */
static int scav_disabled = -1;   /* -1: settings not read yet (scav_lock); relaxed reads */
static uint64_t sync_not_before; /* without the thread: next try, ms (relaxed) */

static size_t retain_bytes(void) { return (size_t)alloc_settings()->retain_mb << 20; }

static uint64_t delay_ms(void) { return alloc_settings()->scavenge_delay_ms; }

static void *scavenger_main(void *arg) {
  (void)arg;
  for (;;) {
    lock_acquire(&scav_lock);
    while (!LOAD_RELAXED(&scav_wanted)) pthread_cond_wait(&scav_cond, &scav_lock.m);
    lock_release(&scav_lock);
    struct timespec tick = {0, SCAVENGE_TICK_MS * 1000000L};
    nanosleep(&tick, NULL);
    size_t retain = retain_bytes();
    if (mheap_free_backed_bytes() > retain)
      for (unsigned k = 1; k < SIZECLASS_COUNT; k++) mcentral_drain_if_idle(&mcentral[k]);
    mheap_scavenge(retain, delay_ms());
    if (mheap_free_backed_bytes() <= retain) {
      lock_acquire(&scav_lock);
      STORE_RELAXED(&scav_wanted, 0);
      lock_release(&scav_lock);
      /* a free that saw wanted still set a moment ago did not wake us */
      if (mheap_free_backed_bytes() > retain) STORE_RELAXED(&scav_wanted, 1);
    }
  }
  return NULL;
}

static int scavenger_start(void) { return alloc_thread_start(scavenger_main, NULL, 64 << 10); }

/* Without the thread: the free that found memory far over the budget
 * releases what is old enough. */
static void scavenge_synchronously(size_t free_backed, size_t retain) {
  if (free_backed - retain <= SCAVENGE_SYNC_SLACK) return;
  uint64_t now = alloc_now_ms();
  if (now < LOAD_RELAXED(&sync_not_before)) return;
  if (mheap_scavenge(retain, delay_ms()) == 0) /* nothing old enough yet */
    STORE_RELAXED(&sync_not_before, now + SCAVENGE_TICK_MS);
}

void scavenger_notify(size_t free_backed) {
  size_t retain = retain_bytes();
  if (free_backed <= retain || LOAD_RELAXED(&scav_wanted)) return;
  int start = 0;
  lock_acquire(&scav_lock);
  if (scav_disabled < 0) STORE_RELAXED(&scav_disabled, alloc_settings()->scavenger == 0);
  if (!scav_disabled && (scav_started || alloc_may_create_thread())) {
    /* (a thread that may not create one leaves wanted clear: the next
     * notify tries again) */
    STORE_RELAXED(&scav_wanted, 1);
    if (scav_started)
      pthread_cond_signal(&scav_cond);
    else
      start = scav_started = 1;
  }
  lock_release(&scav_lock);
  if (start && scavenger_start() != 0) {
    lock_acquire(&scav_lock);
    scav_started = 0;
    STORE_RELAXED(&scav_wanted, 0);
    STORE_RELAXED(&scav_disabled, 1); /* no thread to be had: fall back to synchronous */
    lock_release(&scav_lock);
  }
  if (LOAD_RELAXED(&scav_disabled) == 1) scavenge_synchronously(free_backed, retain);
}

int scavenger_enabled(void) {
  int d = LOAD_RELAXED(&scav_disabled);
  return d < 0 ? alloc_settings()->scavenger != 0 : !d;
}

size_t scavenger_decay(void) { return mheap_scavenge(retain_bytes(), delay_ms()); }

void scavenger_after_fork_child(void) {
  /* The thread did not survive the fork; the next notify starts a new one. */
  lock_reinit(&scav_lock);
  pthread_cond_init(&scav_cond, NULL);
  scav_started = 0;
  STORE_RELAXED(&scav_wanted, 0);
}
