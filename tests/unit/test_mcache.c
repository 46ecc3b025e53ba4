/* Unit tests of the thread cache (liballoc/mcache.c) through the internal
 * entry points: the allocCache window, LIFO reuse, flushing at the bound,
 * remote frees, release at thread exit, statistics, zeroing, and the
 * double-free check (liballoc/freelist.h) wherever a freed object can be:
 * the thread's list, the window it carves, the span's unloaded cacheBits
 * words, a transfer batch, the span's bitmap; and its key, which a live
 * object may hold without being taken for a free one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "alloc.h"
#include "alloc_entry.h"
#include "arena.h"
#include "freelist.h"
#include "malloc_fork.h"
#include "mcache.h"
#include "mcentral.h"
#include "mheap.h"

static int setup(void **state) {
  (void)state;
  alloc_init_once();
  return 0;
}

static void test_fresh_objects_are_consecutive(void **state) {
  (void)state;
  /* A size whose class nobody else used: the window hands out slots in order. */
  void *a = alloc_malloc(20000);
  void *b = alloc_malloc(20000);
  assert_non_null(a);
  assert_non_null(b);
  struct mspan *s = span_of((uintptr_t)a);
  assert_int_equal(s->state, SPAN_SMALL);
  assert_int_equal(s->elemsize, 20480);
  if (span_of((uintptr_t)b) == s) assert_int_equal((uintptr_t)b - (uintptr_t)a, 20480);
  alloc_free(a);
  alloc_free(b);
}

static void test_lifo_reuse(void **state) {
  (void)state;
  void *a = alloc_malloc(100);
  alloc_free(a);
  void *b = alloc_malloc(100);
  assert_ptr_equal(a, b); /* hot object reused at once */
  alloc_free(b);
}

static void test_flush_bound(void **state) {
  (void)state;
  unsigned k = size_to_class(3000);
  uint32_t max = MCACHE_LIST_BATCHES * class_to_batch[k]; /* the bound at its most */
  void *objs[512];
  assert_true(max + 10 < 512);
  for (unsigned i = 0; i < max + 10; i++) objs[i] = alloc_malloc(3000);
  for (unsigned i = 0; i < max + 10; i++) alloc_free(objs[i]);
  struct alloc_stats st;
  alloc_get_stats(&st);
  assert_true(st.by_class[k].nfree >= max + 10);
  /* The central lists got at least one batch back: the cache never holds more than max. */
  assert_true(mcache_list_len(&tls_cache->cls[k], k) <= max);
  uint32_t n;
  void *batch = mcentral_take_batch(&mcentral[k], &n);
  assert_non_null(batch);
  assert_int_equal(n, class_to_batch[k]);
  mcentral_put_list(&mcentral[k], batch, n);
}

/* The list's room, counted down by free(): class_to_max objects stay in
 * the cache; each free past the bound grows it by one batch, up to
 * MCACHE_LIST_BATCHES batches, without a trade with the mcentral; the free
 * past that hands one batch over; a flush gives the growth back. */
static void test_list_grows_then_flushes(void **state) {
  (void)state;
  unsigned k = size_to_class(5000);
  int32_t base = (int32_t)class_to_max[k], batch = (int32_t)class_to_batch[k];
  int32_t cap = (int32_t)MCACHE_LIST_BATCHES * batch;
  void *objs[128];
  assert_true(cap + 1 <= 128);
  alloc_flush_thread_cache();
  struct mcache *c = tls_cache;
  struct mcache_class *e = &c->cls[k];
  assert_int_equal(mcache_list_len(e, k), 0);
  assert_int_equal(mcache_remote_len(e, k), 0);
  assert_int_equal(c->list_max[k], base);
  assert_int_equal(c->grown_bytes, 0);
  uint64_t grown_before = mcache_grown_total();
  for (int32_t i = 0; i < cap + 1; i++) assert_non_null(objs[i] = alloc_malloc(5000));
  uint32_t batches = mcentral[k].nbatches;
  for (int32_t i = 0; i < base; i++) alloc_free(objs[i]);
  assert_int_equal(mcache_list_len(e, k), base);
  assert_int_equal(c->list_max[k], base);
  alloc_free(objs[base]); /* the first overflow: a batch more room */
  assert_int_equal(c->list_max[k], base + batch);
  assert_int_equal(mcache_list_len(e, k), base + 1);
  assert_int_equal(mcentral[k].nbatches, batches);
  for (int32_t i = base + 1; i < cap; i++) alloc_free(objs[i]);
  assert_int_equal(c->list_max[k], cap);
  assert_int_equal(mcache_list_len(e, k), cap);
  assert_int_equal(mcentral[k].nbatches, batches);
  uint32_t grown = (uint32_t)(cap - base) * class_to_size[k];
  assert_int_equal(c->grown_bytes, grown);
  assert_int_equal(mcache_grown_total(), grown_before + grown);
  alloc_free(objs[cap]); /* at the cap: one batch to the transfer cache */
  assert_int_equal(c->list_max[k], cap);
  assert_int_equal(mcache_list_len(e, k), cap + 1 - batch);
  assert_int_equal(mcentral[k].nbatches, batches + 1);
  for (int32_t i = 0; i < cap + 1 - batch; i++) assert_non_null(alloc_malloc(5000));
  assert_int_equal(mcache_list_len(e, k), 0);
  alloc_flush_thread_cache();
  assert_int_equal(c->list_max[k], base);
  assert_int_equal(c->grown_bytes, 0);
  assert_int_equal(mcache_grown_total(), grown_before);
  assert_int_equal(mcache_room(e), base);
}

/* ALLOC_THREAD_CACHE_KB=0 (mcache_set_grow_budget(0)): no list grows; an
 * overflow hands a batch to the mcentral at two batches, as before lists
 * could grow. */
static void test_no_growth_budget(void **state) {
  (void)state;
  unsigned k = size_to_class(5000);
  int32_t base = (int32_t)class_to_max[k], batch = (int32_t)class_to_batch[k];
  void *objs[64];
  assert_true(base + 1 <= 64);
  alloc_flush_thread_cache();
  mcache_set_grow_budget(0);
  struct mcache *c = tls_cache;
  for (int32_t i = 0; i < base + 1; i++) assert_non_null(objs[i] = alloc_malloc(5000));
  uint32_t batches = mcentral[k].nbatches;
  for (int32_t i = 0; i < base + 1; i++) alloc_free(objs[i]);
  assert_int_equal(c->list_max[k], base);
  assert_int_equal(c->grown_bytes, 0);
  assert_int_equal(mcache_list_len(&c->cls[k], k), base + 1 - batch);
  assert_int_equal(mcentral[k].nbatches, batches + 1);
  mcache_set_grow_budget(MCACHE_GROW_THREAD_BYTES_DEFAULT);
  alloc_flush_thread_cache();
}

/* A thread's growth is bounded by its budget (1 MiB here): the overflow
 * that would pass it gives every class's growth back (the lists shrink to
 * class_to_max, the excess going to the mcentrals), and the thread starts
 * growing again from there. */
static void test_thread_budget_shrinks_lists(void **state) {
  (void)state;
  mcache_set_grow_budget(1u << 20);
  enum { BIG = 16384, OTHER = 8192, N = 70 };
  unsigned kb = size_to_class(BIG), ko = size_to_class(OTHER);
  int32_t capb = (int32_t)(MCACHE_LIST_BATCHES * class_to_batch[kb]);
  static void *big[N], *other[N];
  assert_true(capb + 1 <= N && MCACHE_LIST_BATCHES * class_to_batch[ko] + 1 <= N);
  /* the biggest class's growth fits in the budget; with the other's it does not */
  uint32_t growb = (uint32_t)(capb - (int32_t)class_to_max[kb]) * BIG;
  assert_true(growb <= mcache_grow_thread_bytes);
  assert_true(growb + (uint32_t)(capb - (int32_t)class_to_max[ko]) * OTHER >
              mcache_grow_thread_bytes);
  alloc_flush_thread_cache();
  struct mcache *c = tls_cache;
  for (int i = 0; i < N; i++) {
    assert_non_null(big[i] = alloc_malloc(BIG));
    assert_non_null(other[i] = alloc_malloc(OTHER));
  }
  for (int i = 0; i < N; i++) alloc_free(big[i]);
  assert_int_equal(c->list_max[kb], capb);
  assert_int_equal(c->grown_bytes, growb);
  int shrunk_at = -1;
  for (int i = 0; i < N && shrunk_at < 0; i++) {
    uint32_t was = c->grown_bytes;
    alloc_free(other[i]);
    if (c->grown_bytes < was) shrunk_at = i;
    assert_true(c->grown_bytes <= mcache_grow_thread_bytes);
  }
  assert_true(shrunk_at >= 0);
  assert_int_equal(c->grown_bytes, 0);
  assert_int_equal(c->list_max[kb], (int32_t)class_to_max[kb]);
  assert_int_equal(c->list_max[ko], (int32_t)class_to_max[ko]);
  assert_true(mcache_list_len(&c->cls[kb], kb) <= class_to_max[kb]);
  assert_true(mcache_list_len(&c->cls[ko], ko) <= class_to_max[ko]);
  for (int i = shrunk_at + 1; i < N; i++) alloc_free(other[i]);
  /* growing again, for the class in use now, once it runs dry again */
  assert_int_equal(c->list_max[kb], (int32_t)class_to_max[kb]);
  for (int i = 0; i < N; i++) assert_non_null(other[i] = alloc_malloc(OTHER));
  for (int i = 0; i < N; i++) alloc_free(other[i]);
  assert_true(c->grown_bytes > 0);
  alloc_flush_thread_cache();
  assert_int_equal(c->grown_bytes, 0);
  mcache_set_grow_budget(MCACHE_GROW_THREAD_BYTES_DEFAULT);
}

/* A thread that frees a class it never allocates (a consumer) keeps its
 * list at two batches: the overflow hands a batch to the mcentral, for the
 * producer to reuse, instead of growing the consumer's list. */
struct consumer_arg {
  void **objs;
  unsigned n, k;
  int32_t list_max;
  uint32_t grown, len;
};

static void *consume(void *arg) {
  struct consumer_arg *a = arg;
  for (unsigned i = 0; i < a->n; i++) alloc_free(a->objs[i]);
  a->list_max = tls_cache->list_max[a->k];
  a->grown = tls_cache->grown_bytes;
  a->len = mcache_list_len(&tls_cache->cls[a->k], a->k);
  return NULL;
}

static void test_consumer_list_does_not_grow(void **state) {
  (void)state;
  enum { N = 1000 };
  static void *objs[N];
  unsigned k = size_to_class(200);
  for (unsigned i = 0; i < N; i++) assert_non_null(objs[i] = alloc_malloc(200));
  /* the spans are no longer this cache's: the consumer's frees are local */
  alloc_flush_thread_cache();
  struct consumer_arg a = {objs, N, k, 0, 1, 0};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, consume, &a), 0);
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_int_equal(a.list_max, (int32_t)class_to_max[k]);
  assert_int_equal(a.grown, 0);
  assert_true(a.len <= class_to_max[k]);
}

/* malloc's one-table class lookup agrees with size_to_class everywhere. */
static void test_fast_class_lookup(void **state) {
  (void)state;
  for (size_t n = 0; n <= SIZECLASS_MAX_SMALL; n++)
    if (size_to_class_fast(n) != size_to_class(n))
      fail_msg("size %zu: class %u, not %u", n, size_to_class_fast(n), size_to_class(n));
}

struct remote_arg {
  void **objs;
  unsigned n;
};

static void *free_on_other_thread(void *arg) {
  struct remote_arg *r = arg;
  for (unsigned i = 0; i < r->n; i++) alloc_free(r->objs[i]);
  return NULL;
}

static void test_cross_thread_free_and_exit(void **state) {
  (void)state;
  struct alloc_stats before, after;
  alloc_get_stats(&before);
  void *objs[1000];
  for (unsigned i = 0; i < 1000; i++) {
    objs[i] = alloc_malloc(48);
    memset(objs[i], 0x5a, 48);
  }
  struct remote_arg r = {objs, 1000};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, free_on_other_thread, &r), 0);
  pthread_join(t, NULL);
  alloc_get_stats(&after);
  unsigned k = size_to_class(48);
  assert_int_equal(after.by_class[k].nmalloc - before.by_class[k].nmalloc, 1000);
  assert_int_equal(after.by_class[k].nfree - before.by_class[k].nfree, 1000);
  /* The exiting thread's cache was destroyed. */
  assert_int_equal(after.nthreads, before.nthreads);
  /* Everything the other thread freed can be allocated again. */
  for (unsigned i = 0; i < 1000; i++) objs[i] = alloc_malloc(48);
  for (unsigned i = 0; i < 1000; i++) alloc_free(objs[i]);
}

static void test_calloc_zeroes_reused_memory(void **state) {
  (void)state;
  for (size_t size = 8; size <= 32768; size = size * 3 / 2 + 8) {
    unsigned char *p = alloc_malloc(size);
    memset(p, 0xff, size);
    alloc_free(p);
    unsigned char *q = alloc_calloc(1, size);
    assert_non_null(q);
    for (size_t i = 0; i < size; i++)
      if (q[i] != 0) fail_msg("calloc(%zu) byte %zu is %d", size, i, q[i]);
    alloc_free(q);
  }
}

static void test_double_free_detected(void **state) {
  (void)state;
  pid_t pid = fork();
  if (pid == 0) {
    /* Freeing the same object twice in a row is caught in the cache. */
    void *p = alloc_malloc(640);
    alloc_free(p);
    alloc_free(p);
    _exit(0);
  }
  int status;
  waitpid(pid, &status, 0);
  assert_true(WIFSIGNALED(status));
  assert_int_equal(WTERMSIG(status), SIGABRT);
}

static void test_double_free_seen_by_span(void **state) {
  (void)state;
  pid_t pid = fork();
  if (pid == 0) {
    /* An object freed again after it went back to its span is caught by
     * the span's bitmap when the second free reaches it. */
    void *p = alloc_malloc(640), *q = alloc_malloc(640);
    alloc_free(p);
    alloc_release_free_memory();
    alloc_free(p);
    alloc_free(q);
    alloc_release_free_memory();
    _exit(0);
  }
  int status;
  waitpid(pid, &status, 0);
  assert_true(WIFSIGNALED(status));
  assert_int_equal(WTERMSIG(status), SIGABRT);
}

/* Runs fn in a child process; asserts that it died of SIGABRT (a fatal
 * error), not by exiting (status 0: the free went through; others: a step
 * before the free did not find the state it set up). */
static void assert_child_aborts(void (*fn)(void)) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    fn();
    _exit(0);
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  if (!WIFSIGNALED(status)) fail_msg("child exited with status %d", WEXITSTATUS(status));
  assert_int_equal(WTERMSIG(status), SIGABRT);
}

/* A fresh span of 64-byte objects (two bitmap words), all handed out to
 * objs; then slots 5, 9 and 70 freed and given back to the span, and the
 * span taken again by this thread's cache, which hands out slot 5 first:
 * slot 9 is in its window, slot 70 in a cacheBits word not loaded yet.
 * Child processes only. */
static void **window_setup(void) {
  static void *objs[128];
  alloc_release_free_memory();
  unsigned k = size_to_class(64);
  struct mspan *s = NULL;
  for (unsigned i = 0; i < 128; i++) {
    objs[i] = alloc_malloc(64);
    if (s == NULL) s = span_of((uintptr_t)objs[i]);
    if (span_of((uintptr_t)objs[i]) != s || mspan_object_index(s, (uintptr_t)objs[i]) != i)
      _exit(5); /* not a fresh span carved in order */
  }
  if (s->nelems != 128) _exit(6);
  alloc_free(objs[5]);
  alloc_free(objs[9]);
  alloc_free(objs[70]);
  alloc_release_free_memory();
  if (alloc_malloc(64) != objs[5] || tls_cache->cls[k].span != s || s->freeindex != 1) _exit(7);
  return objs;
}

static void free_slot_in_window(void) { alloc_free(window_setup()[9]); }
static void free_slot_in_cache_bits(void) { alloc_free(window_setup()[70]); }

static void test_double_free_in_window(void **state) {
  (void)state;
  assert_child_aborts(free_slot_in_window);
}

static void test_double_free_in_cache_bits(void **state) {
  (void)state;
  assert_child_aborts(free_slot_in_cache_bits);
}

/* The slots not freed are live: freeing them is fine, in any order. */
static void test_window_setup_frees_live_slots(void **state) {
  (void)state;
  pid_t pid = fork();
  if (pid == 0) {
    void **objs = window_setup();
    for (unsigned i = 0; i < 128; i++)
      if (i != 9 && i != 70) alloc_free(objs[i]);
    _exit(0);
  }
  int status;
  waitpid(pid, &status, 0);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

/* x[0] freed last of cap + 1 objects, cap being the most a list grows to
 * (MCACHE_LIST_BATCHES batches): the list overflows at its cap on that
 * free, and its newest batch, x[0] first, goes whole to the transfer
 * cache. The cap is read, not assumed. Each step checks the state it set
 * up and exits with its own status: 5 the start (an empty list, no batch),
 * 6 the list at its cap before the last free, 7 the batch that free made. */
static void free_object_in_transfer_batch(void) {
  alloc_release_free_memory();
  unsigned k = size_to_class(640);
  uint32_t max = MCACHE_LIST_BATCHES * class_to_batch[k], n = max + 1;
  const struct mcache_class *e = &tls_cache->cls[k];
  static void *x[4096];
  if (n > 4096 || mcentral[k].nbatches != 0 || mcache_list_len(e, k) != 0) _exit(5);
  for (uint32_t i = 0; i < n; i++)
    if ((x[i] = alloc_malloc(640)) == NULL) _exit(5);
  for (uint32_t i = 1; i < n; i++) alloc_free(x[i]);
  if (mcache_list_len(e, k) != max || mcentral[k].nbatches != 0) _exit(6);
  alloc_free(x[0]);
  if (mcentral[k].nbatches != 1 || mcentral[k].batches[0] != x[0]) _exit(7);
  alloc_free(x[0]);
}

static void test_double_free_in_transfer_batch(void **state) {
  (void)state;
  assert_child_aborts(free_object_in_transfer_batch);
}

/* a, b, a: the thread's list holds a under b. */
static void free_aba(void) {
  void *a = alloc_malloc(8), *b = alloc_malloc(8);
  alloc_free(a);
  alloc_free(b);
  alloc_free(a);
}

static void test_double_free_aba(void **state) {
  (void)state;
  assert_child_aborts(free_aba);
}

/* Live objects of every class whose first word is the key, or a link to a
 * free object, or to themselves, are freed as any other. */
static void test_key_in_live_object_is_no_double_free(void **state) {
  (void)state;
  for (size_t size = 8; size <= 32768; size = size * 5 / 4 + 8) {
    void *freed = alloc_malloc(size);
    void *objs[3];
    for (int i = 0; i < 3; i++) objs[i] = alloc_malloc(size);
    alloc_free(freed);
    *(uint64_t *)objs[0] = freelist_key;
    freelist_set_next(objs[1], freed);
    freelist_set_next(objs[2], objs[2]);
    for (int i = 0; i < 3; i++) {
      assert_true(freelist_maybe_free(objs[i]));
      alloc_free(objs[i]);
    }
    /* and the allocator hands them out again cleared */
    for (int i = 0; i < 3; i++) {
      objs[i] = alloc_malloc(size);
      assert_false(freelist_maybe_free(objs[i]));
    }
    for (int i = 0; i < 3; i++) alloc_free(objs[i]);
  }
}

/* One thread carves spans of a class while another frees the objects it
 * hands over, each holding the key in its first word: every free takes the
 * exact search, which reads the carving thread's span state (freeindex,
 * cacheBits) as it changes. None may be taken for a double free (and under
 * ThreadSanitizer, none of those reads may race). */
enum { HANDOVER = 20000 };
static int handover[2];

static void *free_handed_over(void *arg) {
  (void)arg;
  void *p;
  for (int i = 0; i < HANDOVER; i++) {
    if (read(handover[0], &p, sizeof p) != (ssize_t)sizeof p) return NULL;
    alloc_free(p);
  }
  return NULL;
}

static void test_key_like_frees_across_threads(void **state) {
  (void)state;
  assert_int_equal(pipe(handover), 0);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, free_handed_over, NULL), 0);
  for (int i = 0; i < HANDOVER; i++) {
    void *p = alloc_malloc(96);
    *(uint64_t *)p = freelist_key;
    assert_int_equal(write(handover[1], &p, sizeof p), (ssize_t)sizeof p);
    if (i % 7 == 0) alloc_free(alloc_malloc(96)); /* this side frees too */
  }
  pthread_join(t, NULL);
  close(handover[0]);
  close(handover[1]);
}

/* The key's top 16 bits, which every free object's first word carries and
 * free() compares, are the tag, whose top byte is one that pointers,
 * integers, text and ordinary doubles never have; the rest is random. */
static void test_key_tag_is_rare(void **state) {
  (void)state;
  assert_int_equal(freelist_key >> 48, FREELIST_TAG);
  unsigned top = FREELIST_TAG >> 8;
  assert_true(top != 0 && top < 0x20 && top != '\t' && top != '\n' && top != '\r');
  double ordinary = 0x1p-500;
  uint64_t bits;
  memcpy(&bits, &ordinary, sizeof bits);
  assert_true(bits >> 56 > top);                                    /* and every larger magnitude */
  assert_true((freelist_key & 0xffffffffffffu) != 0x5a5a5a5a5a5au); /* drawn at init */
  /* free() compares the word's bytes 6 and 7 */
  void *p = alloc_malloc(8);
  freelist_set_next(p, NULL);
  assert_true(freelist_maybe_free(p));
  *(uint64_t *)p = (uint64_t)FREELIST_TAG << 48;
  assert_true(freelist_maybe_free(p));
  *(uint64_t *)p ^= (uint64_t)1 << 48;
  assert_false(freelist_maybe_free(p));
  *(uint64_t *)p = 0;
  alloc_free(p);
}

/* A freed object written to is seen when its link is next read (cheap
 * asserts, ALLOC_DEBUG >= 1). */
static void write_after_free(void) {
  void *p = alloc_malloc(48);
  alloc_free(p);
  memset(p, 0x41, 8);
  (void)alloc_malloc(48);
}

static void test_write_after_free_seen_in_debug(void **state) {
  (void)state;
  if (ALLOC_DEBUG < 1) skip();
  assert_child_aborts(write_after_free);
}

static void test_stats_count_in_use(void **state) {
  (void)state;
  struct alloc_stats a, b;
  alloc_get_stats(&a);
  void *p = alloc_malloc(1000);
  void *big = alloc_malloc(1 << 20);
  alloc_get_stats(&b);
  assert_true(b.in_use >= a.in_use + 1024 + (1 << 20));
  assert_true(b.large_in_use >= a.large_in_use + (1 << 20));
  alloc_free(p);
  alloc_free(big);
}

/* nmalloc is derived, not counted on malloc's fast path (mcache_nmalloc):
 * it must stay exact through every way objects enter and leave the cache:
 * window loads, batch refills, flushes at the bound, remote lists and a
 * release, and with objects still held by the cache when it is read. */
static void test_nmalloc_exact_through_slow_paths(void **state) {
  (void)state;
  enum { N = 5000 };
  static void *objs[N];
  unsigned k = size_to_class(96);
  struct alloc_stats a, b;
  alloc_get_stats(&a);
  for (unsigned i = 0; i < N; i++) objs[i] = alloc_malloc(96);
  alloc_get_stats(&b);
  assert_int_equal(b.by_class[k].nmalloc - a.by_class[k].nmalloc, N);
  assert_int_equal(b.by_class[k].nfree - a.by_class[k].nfree, 0);
  for (unsigned i = 0; i < N; i += 2) alloc_free(objs[i]);        /* overflows: flushes */
  for (unsigned i = 0; i < N; i += 2) objs[i] = alloc_malloc(96); /* batches back */
  alloc_get_stats(&b);
  assert_int_equal(b.by_class[k].nmalloc - a.by_class[k].nmalloc, N + N / 2);
  assert_int_equal(b.by_class[k].nfree - a.by_class[k].nfree, N / 2);
  alloc_flush_thread_cache(); /* release: the window and lists go back */
  alloc_get_stats(&b);
  assert_int_equal(b.by_class[k].nmalloc - a.by_class[k].nmalloc, N + N / 2);
  for (unsigned i = 0; i < N; i++) alloc_free(objs[i]);
  alloc_get_stats(&b);
  assert_int_equal(b.by_class[k].nmalloc - a.by_class[k].nmalloc, N + N / 2);
  assert_int_equal(b.by_class[k].nfree - a.by_class[k].nfree, N + N / 2);
}

/* A class's count holds its room (signed, the word's top bits: its sign
 * is room's) and the frees (the low bits): a push takes one from the one
 * and adds one to the other, a pop gives room back and leaves the frees. */
static void test_count_packs_room_and_frees(void **state) {
  (void)state;
  struct mcache_class e;
  memset(&e, 0, sizeof e);
  mcache_room_set(&e, 5);
  for (int i = 0; i < 3; i++) e.count += MCACHE_PUSH;
  assert_int_equal(mcache_room(&e), 2);
  assert_int_equal(mcache_nfree(&e), 3);
  e.count += MCACHE_POP;
  assert_int_equal(mcache_room(&e), 3);
  assert_int_equal(mcache_nfree(&e), 3);
  for (int i = 0; i < 4; i++) e.count += MCACHE_PUSH;
  assert_int_equal(mcache_room(&e), -1);
  assert_true(e.count < 0); /* what free() tests */
  assert_int_equal(mcache_nfree(&e), 7);
  mcache_room_add(&e, 64);
  assert_int_equal(mcache_room(&e), 63);
  assert_true(e.count > 0);
  mcache_room_set(&e, -2);
  assert_int_equal(mcache_room(&e), -2);
  assert_int_equal(mcache_nfree(&e), 7);
  /* the largest room a bound allows, with frees just short of the carry */
  mcache_room_set(&e, (int32_t)(MCACHE_LIST_BATCHES * 64));
  e.count += (int64_t)(MCACHE_FREES_MASK - 7);
  assert_int_equal(mcache_room(&e), (int32_t)(MCACHE_LIST_BATCHES * 64));
  assert_int_equal(mcache_nfree(&e), MCACHE_FREES_MASK);
}

/* A thread that frees and mallocs one class in turn (its list never
 * overflows or runs dry, so no slow path sees it): nfree and nmalloc
 * count every one of 160 MiB of 64-byte objects. */
static void test_frees_counted_in_turn(void **state) {
  (void)state;
  unsigned k = size_to_class(64);
  void *keep[8];
  for (int i = 0; i < 8; i++) assert_non_null(keep[i] = alloc_malloc(64));
  for (int i = 0; i < 8; i++) alloc_free(keep[i]); /* the list holds some: it never runs dry */
  struct alloc_stats a, b;
  alloc_get_stats(&a);
  const uint64_t n = (uint64_t)160 << 20 >> 6;
  for (uint64_t i = 0; i < n; i++) alloc_free(alloc_malloc(64));
  alloc_get_stats(&b);
  assert_int_equal(b.by_class[k].nfree - a.by_class[k].nfree, n);
  assert_int_equal(b.by_class[k].nmalloc - a.by_class[k].nmalloc, n);
}

/* A thread frees and mallocs in rounds that overflow its list and run it
 * dry, through every path that moves objects in and out of it, while the
 * main thread reads the statistics: the cumulative nfree it reads must
 * never go down (it would if the frees were ever moved out of the count
 * word, and a read saw them in two places or none). */
struct churner {
  unsigned rounds;
  int done;
};

static void *churn_in_rounds(void *arg) {
  struct churner *f = arg;
  void *objs[512];
  for (unsigned r = 0; r < f->rounds; r++) {
    for (int i = 0; i < 512; i++) objs[i] = alloc_malloc(96);
    for (int i = 0; i < 512; i++) alloc_free(objs[i]);
  }
  __atomic_store_n(&f->done, 1, __ATOMIC_RELEASE);
  return NULL;
}

static void test_nfree_never_goes_down(void **state) {
  (void)state;
  unsigned k = size_to_class(96);
  struct churner f = {4000, 0};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, churn_in_rounds, &f), 0);
  uint64_t last = 0, reads = 0;
  while (!__atomic_load_n(&f.done, __ATOMIC_ACQUIRE)) {
    struct alloc_stats st;
    alloc_get_stats(&st);
    assert_true(st.by_class[k].nfree >= last);
    last = st.by_class[k].nfree;
    reads++;
  }
  pthread_join(t, NULL);
  assert_true(reads > 0);
}

/* Whether free object p of class k is back with its mcentral (its span's
 * bitmap or a transfer batch), or its span with the page heap. */
static int back_in_heap(unsigned k, const void *p) {
  struct mspan *s = span_of((uintptr_t)p);
  if (s != NULL && s->state == SPAN_SMALL && mcentral_holds_free(&mcentral[k], s, p)) return 1;
  return mheap_is_free_memory((uintptr_t)p);
}

/* A list that holds one object more than its count says (what a carry of
 * the frees into room would leave: mcache.h, count) still gives every
 * object back when the cache is flushed: the last one too. */
static void test_release_takes_uncounted_objects(void **state) {
  (void)state;
  unsigned k = size_to_class(200);
  alloc_flush_thread_cache();
  struct mcache_class *e = &tls_cache->cls[k];
  void *objs[10];
  for (int i = 0; i < 10; i++) assert_non_null(objs[i] = alloc_malloc(200));
  uint32_t len = mcache_list_len(e, k); /* the rest of the refill's batch */
  for (int i = 0; i < 10; i++) alloc_free(objs[i]);
  assert_int_equal(mcache_list_len(e, k), len + 10);
  void *tail = e->list; /* the oldest: the one the count leaves out */
  while (freelist_next(tail) != NULL) tail = freelist_next(tail);
  mcache_room_add(e, 1);
  assert_int_equal(mcache_list_len(e, k), len + 9);
  alloc_flush_thread_cache();
  assert_null(e->list);
  assert_true(back_in_heap(k, tail));
  for (int i = 0; i < 10; i++) assert_true(back_in_heap(k, objs[i]));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fresh_objects_are_consecutive),
      cmocka_unit_test(test_nmalloc_exact_through_slow_paths),
      cmocka_unit_test(test_lifo_reuse),
      cmocka_unit_test(test_flush_bound),
      cmocka_unit_test(test_list_grows_then_flushes),
      cmocka_unit_test(test_thread_budget_shrinks_lists),
      cmocka_unit_test(test_no_growth_budget),
      cmocka_unit_test(test_consumer_list_does_not_grow),
      cmocka_unit_test(test_fast_class_lookup),
      cmocka_unit_test(test_cross_thread_free_and_exit),
      cmocka_unit_test(test_calloc_zeroes_reused_memory),
      cmocka_unit_test(test_double_free_detected),
      cmocka_unit_test(test_double_free_seen_by_span),
      cmocka_unit_test(test_double_free_in_window),
      cmocka_unit_test(test_double_free_in_cache_bits),
      cmocka_unit_test(test_window_setup_frees_live_slots),
      cmocka_unit_test(test_double_free_in_transfer_batch),
      cmocka_unit_test(test_double_free_aba),
      cmocka_unit_test(test_key_in_live_object_is_no_double_free),
      cmocka_unit_test(test_key_like_frees_across_threads),
      cmocka_unit_test(test_key_tag_is_rare),
      cmocka_unit_test(test_write_after_free_seen_in_debug),
      cmocka_unit_test(test_stats_count_in_use),
      cmocka_unit_test(test_count_packs_room_and_frees),
      cmocka_unit_test(test_frees_counted_in_turn),
      cmocka_unit_test(test_release_takes_uncounted_objects),
      cmocka_unit_test(test_nfree_never_goes_down),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
