/* compat_api: jemalloc's and tcmalloc's non-standard entry points answer
 * from liballoc's heap (liballoc/override_compat.c, override_mallctl.c,
 * override_tcmalloc.c): the allocation calls, mallctl's names and MIBs,
 * purging, malloc_stats_print through a callback that allocates. Linked with
 * liballoc.so; the prototypes are written here, so neither allocator's
 * headers are needed. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"
#include "it_common.h"

void *mallocx(size_t size, int flags);
void *rallocx(void *p, size_t size, int flags);
size_t xallocx(void *p, size_t size, size_t extra, int flags);
size_t sallocx(const void *p, int flags);
void dallocx(void *p, int flags);
void sdallocx(void *p, size_t size, int flags);
size_t nallocx(size_t size, int flags);
int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
int mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp);
int mallctlbymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp, void *newp,
                 size_t newlen);
void malloc_stats_print(void (*write_cb)(void *, const char *), void *cbopaque, const char *opts);
extern void (*malloc_message)(void *cbopaque, const char *s);
void *tc_malloc(size_t size);
void tc_free(void *p);
void *tc_calloc(size_t n, size_t size);
void *tc_realloc(void *p, size_t size);
void *tc_memalign(size_t align, size_t size);
size_t tc_malloc_size(void *p);
int MallocExtension_GetNumericProperty(const char *property, size_t *value);
size_t MallocExtension_GetEstimatedAllocatedSize(size_t size);
int MallocExtension_GetOwnership(const void *p);

#define LG_ALIGN(n) (n)
#define ZERO 0x40

/* nallocx says what mallocx (and malloc, memalign) then give, for sizes of
 * every kind and every alignment up to 64 KiB. */
static void test_nallocx_matches(void **state) {
  (void)state;
  static const size_t sizes[] = {0,     1,     7,     8,      9,      16,      17,     100,
                                 1000,  4095,  4096,  4097,   8192,   20000,   32768,  32769,
                                 40000, 65536, 65537, 100000, 262144, 1000000, 3000001};
  for (int lg = 0; lg <= 16; lg++) {
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
      size_t n = sizes[i];
      size_t want = nallocx(n, LG_ALIGN(lg));
      assert_true(want >= n);
      void *p = mallocx(n, LG_ALIGN(lg));
      assert_non_null(p);
      assert_int_equal((uintptr_t)p & (((uintptr_t)1 << lg) - 1), 0);
      assert_int_equal(sallocx(p, 0), want);
      assert_int_equal(malloc_usable_size(p), want);
      dallocx(p, 0);
      if (lg == 0) {
        void *q = malloc(n);
        assert_int_equal(malloc_usable_size(q), want);
        free(q);
      }
    }
  }
  assert_int_equal(nallocx((size_t)1 << 62, 0), 0); /* would fail */
}

static void test_mallocx_zero_and_rallocx(void **state) {
  (void)state;
  unsigned char *p = mallocx(5000, ZERO);
  assert_non_null(p);
  for (size_t i = 0; i < sallocx(p, 0); i++) assert_int_equal(p[i], 0);
  memset(p, 0xab, 5000);
  /* grow with zeroing and an alignment: the data moves along, the rest is 0 */
  size_t old = sallocx(p, 0);
  unsigned char *q = rallocx(p, 300000, LG_ALIGN(12) | ZERO);
  assert_non_null(q);
  assert_int_equal((uintptr_t)q & 4095, 0);
  for (size_t i = 0; i < 5000; i++) assert_int_equal(q[i], 0xab);
  for (size_t i = old; i < 300000; i++)
    if (q[i] != 0) fail_msg("byte %zu after rallocx(ZERO) is %d", i, q[i]);
  /* shrink keeps the head */
  unsigned char *r = rallocx(q, 100, 0);
  assert_non_null(r);
  for (size_t i = 0; i < 100; i++) assert_int_equal(r[i], 0xab);
  /* xallocx never moves and reports what the block holds */
  size_t had = sallocx(r, 0);
  assert_int_equal(xallocx(r, 1000000, 0, 0), had);
  sdallocx(r, 100, 0);
}

static size_t stat_of(const char *name) {
  uint64_t epoch = 1;
  size_t elen = sizeof epoch;
  assert_int_equal(mallctl("epoch", &epoch, &elen, &epoch, sizeof epoch), 0);
  size_t v = 0, len = sizeof v;
  assert_int_equal(mallctl(name, &v, &len, NULL, 0), 0);
  assert_int_equal(len, sizeof v);
  return v;
}

static void test_mallctl(void **state) {
  (void)state;
  size_t before = stat_of("stats.allocated");
  enum { N = 64, SIZE = 100000 };
  void *keep[N];
  for (int i = 0; i < N; i++) keep[i] = malloc(it_opaque(SIZE));
  size_t during = stat_of("stats.allocated");
  assert_true(during >= before + (size_t)N * SIZE);
  assert_true(during <= before + (size_t)N * (SIZE + 8192) + (1 << 20));
  assert_true(stat_of("stats.active") >= during);
  assert_true(stat_of("stats.resident") >= stat_of("stats.active"));
  assert_true(stat_of("stats.mapped") >= stat_of("stats.active"));
  (void)stat_of("stats.retained");
  for (int i = 0; i < N; i++) free(keep[i]);
  assert_true(stat_of("stats.allocated") < during);

  size_t v, len = sizeof v;
  assert_int_equal(mallctl("arenas.nonsense", &v, &len, NULL, 0), ENOENT);
  assert_int_equal(mallctl("stats.nonsense", &v, &len, NULL, 0), ENOENT);
  assert_int_equal(mallctl("prof.dump", NULL, NULL, NULL, 0), ENOENT);
  uint32_t small;
  len = sizeof small;
  assert_int_equal(mallctl("stats.allocated", &small, &len, NULL, 0), EINVAL);
  len = sizeof v;
  assert_int_equal(mallctl("stats.allocated", &v, &len, &v, sizeof v), EPERM);
  /* epoch: a write moves it on */
  uint64_t e1, e2, one = 1;
  len = sizeof e1;
  assert_int_equal(mallctl("epoch", &e1, &len, NULL, 0), 0);
  assert_int_equal(mallctl("epoch", NULL, NULL, &one, sizeof one), 0);
  assert_int_equal(mallctl("epoch", &e2, &len, NULL, 0), 0);
  assert_true(e2 > e1);
}

static size_t heap_free(void) {
  struct alloc_stats st;
  assert_int_equal(alloc_get_stats(&st), 0);
  return (size_t)st.heap_free;
}

/* The names programs read at start and use to give memory back. */
static void test_mallctl_names(void **state) {
  (void)state;
  unsigned narenas = 0;
  size_t len = sizeof narenas;
  assert_int_equal(mallctl("arenas.narenas", &narenas, &len, NULL, 0), 0);
  assert_int_equal(narenas, 1);
  assert_int_equal(mallctl("opt.narenas", &narenas, &len, NULL, 0), 0);
  assert_int_equal(narenas, 1);
  assert_int_equal(mallctl("arenas.narenas", &narenas, &len, &narenas, sizeof narenas), EPERM);
  size_t page = 0;
  len = sizeof page;
  assert_int_equal(mallctl("arenas.page", &page, &len, NULL, 0), 0);
  assert_true(page >= 4096 && (page & (page - 1)) == 0);
  _Bool b = 0;
  len = sizeof b;
  assert_int_equal(mallctl("config.stats", &b, &len, NULL, 0), 0);
  assert_true(b);
  assert_int_equal(mallctl("config.prof", &b, &len, NULL, 0), 0);
  assert_false(b);
  assert_int_equal(mallctl("opt.tcache", &b, &len, NULL, 0), 0);
  assert_true(b);
  assert_int_equal(mallctl("opt.retain", &b, &len, NULL, 0), 0);
  assert_int_equal(mallctl("opt.background_thread", &b, &len, NULL, 0), 0);
  _Bool bg = b; /* the scavenger runs unless ALLOC_SCAVENGER=0 */
  assert_true(bg);
  assert_int_equal(mallctl("background_thread", &b, &len, NULL, 0), 0);
  assert_int_equal(b, bg);
  assert_int_equal(mallctl("background_thread", NULL, NULL, &bg, sizeof bg), 0); /* redis */
  ssize_t decay = -2;
  len = sizeof decay;
  assert_int_equal(mallctl("opt.dirty_decay_ms", &decay, &len, NULL, 0), 0);
  assert_int_equal(decay, 500); /* ALLOC_SCAVENGE_DELAY_MS */
  assert_int_equal(mallctl("opt.muzzy_decay_ms", &decay, &len, NULL, 0), 0);
  assert_int_equal(decay, 0);
  len = sizeof page;
  assert_int_equal(mallctl("opt.tcache_max", &page, &len, NULL, 0), 0);
  assert_true(page >= 1024);
  size_t meta = 0;
  len = sizeof meta;
  assert_int_equal(mallctl("stats.metadata", &meta, &len, NULL, 0), 0);
  assert_true(meta > 0);
  /* not liballoc's: ENOENT, as from a jemalloc built without them */
  assert_int_equal(mallctl("opt.prof", &b, &len, NULL, 0), ENOENT);
  assert_int_equal(mallctl("thread.tcache", NULL, NULL, NULL, 0), ENOENT); /* not a leaf */
  assert_int_equal(mallctl("", NULL, NULL, NULL, 0), ENOENT);
  assert_int_equal(mallctl("stats.", NULL, NULL, NULL, 0), ENOENT);
  assert_int_equal(mallctl("stats.allocated.x", NULL, NULL, NULL, 0), ENOENT);
  assert_int_equal(mallctl(NULL, NULL, NULL, NULL, 0), EINVAL);
}

enum { FREED = 24 << 20 };

static void free_big_blocks(void) {
  void *keep[24];
  for (int i = 0; i < 24; i++) {
    keep[i] = malloc(it_opaque(1 << 20));
    assert_non_null(keep[i]);
    memset(keep[i], 1, 1 << 20);
  }
  for (int i = 0; i < 24; i++) free(keep[i]);
}

/* arena.<i>.purge gives every free page back at once, whatever the arena
 * index a program names the whole heap with (redis: arenas.narenas). */
static void test_mallctl_purge(void **state) {
  (void)state;
  const char *names[] = {"arena.0.purge", "arena.1.purge", "arena.4096.purge"};
  for (size_t i = 0; i < 3; i++) {
    free_big_blocks();
    assert_true(heap_free() >= FREED);
    assert_int_equal(mallctl(names[i], NULL, NULL, NULL, 0), 0);
    assert_int_equal(heap_free(), 0);
  }
  assert_int_equal(mallctl("arena.2.purge", NULL, NULL, NULL, 0), ENOENT);
  assert_int_equal(mallctl("arena.x.purge", NULL, NULL, NULL, 0), ENOENT);
  assert_int_equal(mallctl("arena.0.decay", NULL, NULL, NULL, 0), 0);
  assert_int_equal(mallctl("arena.4096.decay", NULL, NULL, NULL, 0), 0);
  unsigned one = 1;
  assert_int_equal(mallctl("arena.0.purge", NULL, NULL, &one, sizeof one), EPERM);
  assert_int_equal(mallctl("thread.tcache.flush", NULL, NULL, NULL, 0), 0);
  /* by MIB, the arena changed in mib[1] as jemalloc's manual shows */
  size_t mib[3], miblen = 3;
  assert_int_equal(mallctlnametomib("arena.0.purge", mib, &miblen), 0);
  assert_int_equal(miblen, 3);
  mib[1] = 4096;
  free_big_blocks();
  assert_int_equal(mallctlbymib(mib, miblen, NULL, NULL, NULL, 0), 0);
  assert_int_equal(heap_free(), 0);
  mib[1] = 7;
  assert_int_equal(mallctlbymib(mib, miblen, NULL, NULL, NULL, 0), ENOENT);
  /* a prefix of a name, then the rest filled in by hand */
  size_t pmib[2], plen = 2;
  assert_int_equal(mallctlnametomib("stats.allocated", pmib, &plen), 0);
  assert_int_equal(plen, 2);
  size_t sm[2], slen = 2;
  assert_int_equal(mallctlnametomib("stats.resident", sm, &slen), 0);
  assert_int_equal(sm[0], pmib[0]);
  size_t v = 0, len = sizeof v;
  assert_int_equal(mallctlbymib(sm, 2, &v, &len, NULL, 0), 0);
  assert_true(v > 0);
  assert_int_equal(mallctlbymib(sm, 1, &v, &len, NULL, 0), ENOENT); /* "stats" */
}

struct text {
  char *s;
  size_t n, calls;
};

/* Appends with realloc, as redis's callback does: the allocator is called
 * from inside malloc_stats_print. */
static void collect(void *opaque, const char *part) {
  struct text *t = opaque;
  size_t k = strlen(part);
  t->s = realloc(t->s, t->n + k + 1);
  assert_non_null(t->s);
  memcpy(t->s + t->n, part, k + 1);
  t->n += k;
  t->calls++;
}

static struct text message_text;
static void message(void *opaque, const char *part) {
  assert_ptr_equal(opaque, &message_text);
  collect(&message_text, part);
}

static void test_malloc_stats_print(void **state) {
  (void)state;
  struct text t = {NULL, 0, 0};
  malloc_stats_print(collect, &t, NULL);
  assert_non_null(t.s);
  assert_true(t.calls > 3);
  assert_non_null(strstr(t.s, "Begin liballoc statistics"));
  assert_non_null(strstr(t.s, "liballoc: in use "));
  assert_non_null(strstr(t.s, "liballoc: class "));
  assert_non_null(strstr(t.s, "End liballoc statistics"));
  assert_int_equal(t.s[t.n - 1], '\n');
  free(t.s);
  /* no callback: malloc_message when set, with the caller's opaque */
  malloc_message = message;
  malloc_stats_print(NULL, &message_text, "J");
  malloc_message = NULL;
  assert_non_null(message_text.s);
  assert_non_null(strstr(message_text.s, "liballoc: in use "));
  free(message_text.s);
}

static void test_tcmalloc_names(void **state) {
  (void)state;
  char *p = tc_malloc(100);
  assert_non_null(p);
  assert_int_equal(tc_malloc_size(p), malloc_usable_size(p));
  assert_int_equal(MallocExtension_GetOwnership(p), 1);
  int on_stack;
  assert_int_equal(MallocExtension_GetOwnership(&on_stack), 2);
  memset(p, 1, 100);
  p = tc_realloc(p, 100000);
  assert_non_null(p);
  assert_int_equal(p[99], 1);
  free(p); /* one heap: tc_ and plain names mix */
  int *z = tc_calloc(1000, sizeof *z);
  for (int i = 0; i < 1000; i++) assert_int_equal(z[i], 0);
  tc_free(z);
  void *a = tc_memalign(256, 1000);
  assert_int_equal((uintptr_t)a & 255, 0);
  tc_free(a);
  size_t v = 0;
  assert_int_equal(MallocExtension_GetNumericProperty("generic.current_allocated_bytes", &v), 1);
  assert_true(v > 0);
  assert_int_equal(MallocExtension_GetNumericProperty("no.such.property", &v), 0);
  assert_int_equal(MallocExtension_GetEstimatedAllocatedSize(1000), nallocx(1000, 0));
}

int main(void) {
  it_require_liballoc("compat_api");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nallocx_matches), cmocka_unit_test(test_mallocx_zero_and_rallocx),
      cmocka_unit_test(test_mallctl),         cmocka_unit_test(test_mallctl_names),
      cmocka_unit_test(test_mallctl_purge),   cmocka_unit_test(test_malloc_stats_print),
      cmocka_unit_test(test_tcmalloc_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
