/* xmalloc: producer/consumer with cross-thread frees (xmalloc-test style).
 *
 * Producer threads malloc small blocks (8..256 bytes, with a few up to
 * 1 KiB), fill in a header, and push them in batches through a bounded,
 * mutex-protected queue. Consumer threads pop the batches, read the blocks
 * and free them. Every block is freed by a thread other than the one that
 * allocated it, which is what message-passing and pipeline servers do, and
 * what stresses an allocator's remote-free path. */
#include "bench_common.h"

#include <pthread.h>

#define PRODUCERS 2
#define CONSUMERS 2
#define BATCH 256
#define QCAP 64

struct batch {
  size_t n;
  unsigned char *obj[BATCH];
  size_t size[BATCH];
};

static struct {
  pthread_mutex_t mu;
  pthread_cond_t not_empty;
  pthread_cond_t not_full;
  struct batch *ring[QCAP];
  size_t head, count;
} q = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, 0};

static void q_push(struct batch *b) {
  pthread_mutex_lock(&q.mu);
  while (q.count == QCAP) pthread_cond_wait(&q.not_full, &q.mu);
  q.ring[(q.head + q.count) % QCAP] = b;
  q.count++;
  pthread_cond_signal(&q.not_empty);
  pthread_mutex_unlock(&q.mu);
}

static struct batch *q_pop(void) {
  pthread_mutex_lock(&q.mu);
  while (q.count == 0) pthread_cond_wait(&q.not_empty, &q.mu);
  struct batch *b = q.ring[q.head];
  q.head = (q.head + 1) % QCAP;
  q.count--;
  pthread_cond_signal(&q.not_full);
  pthread_mutex_unlock(&q.mu);
  return b;
}

struct producer {
  int id;
  size_t batches;
};

struct consumer {
  uint64_t sum;
  size_t blocks;
};

static void *producer_main(void *arg) {
  struct producer *pr = arg;
  rng_t r;
  rng_seed(&r, 200 + (uint64_t)pr->id);
  for (size_t b = 0; b < pr->batches; b++) {
    struct batch *bt = must_malloc(sizeof *bt);
    bt->n = BATCH;
    for (size_t i = 0; i < BATCH; i++) {
      uint64_t x = rng_next(&r);
      size_t size = (x & 31) == 0 ? 257 + (size_t)((x >> 8) % 768) : 8 + (size_t)((x >> 8) % 249);
      unsigned char *p = must_malloc(size);
      uint64_t tag = (x & ~(uint64_t)0xffff) | size;
      memcpy(p, &tag, sizeof tag);
      p[size - 1] = (unsigned char)(x >> 40);
      bt->obj[i] = p;
      bt->size[i] = size;
    }
    q_push(bt);
  }
  return NULL;
}

static void *consumer_main(void *arg) {
  struct consumer *c = arg;
  for (;;) {
    struct batch *bt = q_pop();
    if (!bt) break;
    for (size_t i = 0; i < bt->n; i++) {
      unsigned char *p = bt->obj[i];
      uint64_t tag;
      memcpy(&tag, p, sizeof tag);
      c->sum += mix64(tag) + p[bt->size[i] - 1];
      free(p);
    }
    c->blocks += bt->n;
    free(bt);
  }
  return NULL;
}

int main(int argc, char **argv) {
  double scale = bench_scale(argc, argv);
  struct producer prod[PRODUCERS];
  struct consumer cons[CONSUMERS];
  pthread_t pt[PRODUCERS], ct[CONSUMERS];
  size_t batches = scaled(scale, 12000);
  uint64_t sum = 0;
  size_t blocks = 0;

  for (int i = 0; i < CONSUMERS; i++) {
    cons[i].sum = 0;
    cons[i].blocks = 0;
    if (pthread_create(&ct[i], NULL, consumer_main, &cons[i]) != 0) return 4;
  }
  for (int i = 0; i < PRODUCERS; i++) {
    prod[i].id = i;
    prod[i].batches = batches;
    if (pthread_create(&pt[i], NULL, producer_main, &prod[i]) != 0) return 4;
  }
  for (int i = 0; i < PRODUCERS; i++) pthread_join(pt[i], NULL);
  for (int i = 0; i < CONSUMERS; i++) q_push(NULL);
  for (int i = 0; i < CONSUMERS; i++) {
    pthread_join(ct[i], NULL);
    sum += cons[i].sum;
    blocks += cons[i].blocks;
  }
  if (blocks != (size_t)PRODUCERS * batches * BATCH) {
    fprintf(stderr, "xmalloc: lost blocks (%zu)\n", blocks);
    return 5;
  }
  bench_print_checksum("xmalloc", sum);
  return 0;
}
