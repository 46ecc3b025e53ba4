/* A bounded single-producer/single-consumer ring of pointers for the
 * workloads that hand objects from one thread to another (prodcons,
 * randmix). Lock-free, so the hand-off itself takes no allocator-visible
 * lock and no batching: each object crosses on its own, and the frees the
 * consumer makes are the allocator's remote-free path and nothing else.
 *
 * Each side keeps a private copy of the other side's index and reloads it
 * only when the ring looks full (producer) or empty (consumer), so the two
 * index lines bounce between the cores about once per lap, not per object. */
#ifndef BENCH_SPSC_RING_H
#define BENCH_SPSC_RING_H

#include <sched.h>
#include <stddef.h>

#define SPSC_CAP 4096 /* a power of two */

struct spsc_ring {
  _Alignas(64) size_t head; /* next slot to write (producer) */
  size_t tail_seen;         /* producer's copy of tail */
  _Alignas(64) size_t tail; /* next slot to read (consumer) */
  size_t head_seen;         /* consumer's copy of head */
  _Alignas(64) void *slot[SPSC_CAP];
};

static inline void spsc_init(struct spsc_ring *q) { memset(q, 0, sizeof *q); }

/* Producer: 1 if p was queued, 0 if the ring is full. */
static inline int spsc_try_push(struct spsc_ring *q, void *p) {
  size_t h = q->head;
  if (h - q->tail_seen == SPSC_CAP) {
    q->tail_seen = __atomic_load_n(&q->tail, __ATOMIC_ACQUIRE);
    if (h - q->tail_seen == SPSC_CAP) return 0;
  }
  q->slot[h & (SPSC_CAP - 1)] = p;
  __atomic_store_n(&q->head, h + 1, __ATOMIC_RELEASE);
  return 1;
}

/* Producer: queues p, yielding while the ring is full. */
static inline void spsc_push(struct spsc_ring *q, void *p) {
  while (!spsc_try_push(q, p)) sched_yield();
}

/* Consumer: the next pointer, or NULL if the ring is empty. */
static inline void *spsc_try_pop(struct spsc_ring *q) {
  size_t t = q->tail;
  if (t == q->head_seen) {
    q->head_seen = __atomic_load_n(&q->head, __ATOMIC_ACQUIRE);
    if (t == q->head_seen) return NULL;
  }
  void *p = q->slot[t & (SPSC_CAP - 1)];
  __atomic_store_n(&q->tail, t + 1, __ATOMIC_RELEASE);
  return p;
}

#endif
