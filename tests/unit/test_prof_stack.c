/* Unit tests of stack capture (liballoc/mprof_stack.c): every stack the profiler
 * captures must equal the one libgcc's _Unwind_Backtrace gives at the same
 * place (libgcc rather than libunwind: libunwind's per-thread cache crashes
 * ThreadSanitizer at thread exit). Cases: nested calls, frames whose CFA is on rbp (alloca), stacks
 * deeper than PROF_DEFAULT_FRAMES, new threads (their first capture), a
 * signal handler (the walker hands signal frames to a full unwinder), a
 * makecontext stack, and many threads capturing from 1024 distinct call
 * sites at once while the shared rule table grows. Linked statically, so
 * prof_capture_stack drops two frames: its own and its caller's. */
#define _GNU_SOURCE
#include <alloca.h>
#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unwind.h>
#include <cmocka.h>

#include "mprof.h"

struct result {
  uintptr_t got[PROF_DEFAULT_FRAMES];
  int ngot;
  void *want[PROF_DEFAULT_FRAMES + 1];
  int nwant;
};

/* libgcc's unwinder, looked up in libgcc_s itself (libunwind, linked in
 * for the profiler, exports functions of the same names). */
static _Unwind_Reason_Code (*gcc_backtrace)(_Unwind_Trace_Fn, void *);
static _Unwind_Ptr (*gcc_getip)(struct _Unwind_Context *);

struct trace {
  void **buf;
  int n, max;
};

static _Unwind_Reason_Code trace_frame(struct _Unwind_Context *ctx, void *arg) {
  struct trace *t = arg;
  if (t->n >= t->max) return _URC_END_OF_STACK;
  _Unwind_Ptr ip = gcc_getip(ctx);
  if (ip == 0) return _URC_END_OF_STACK;
  t->buf[t->n++] = (void *)ip;
  return _URC_NO_REASON;
}

/* Inlined into probe, so that its first frame is probe's at every -O. */
static inline __attribute__((always_inline)) int reference_backtrace(void **buf, int max) {
  struct trace t = {buf, 0, max};
  gcc_backtrace(trace_frame, &t);
  return t.n;
}

/* Both captures from the same function, so the frames above it agree. */
__attribute__((noinline)) static void probe(struct result *r) {
  r->nwant = reference_backtrace(r->want, PROF_DEFAULT_FRAMES + 1);
  r->ngot = prof_capture_stack(r->got, PROF_DEFAULT_FRAMES);
  __asm__ volatile("" ::: "memory");
}

/* 0 if the profiler's stack is libgcc's without probe's own frame. */
static int mismatch(const struct result *r, char *why, size_t n) {
  if (r->ngot != r->nwant - 1) {
    snprintf(why, n, "%d frames, libgcc %d", r->ngot, r->nwant - 1);
    return 1;
  }
  for (int i = 0; i < r->ngot; i++) {
    if (r->got[i] != (uintptr_t)r->want[i + 1]) {
      snprintf(why, n, "frame %d: %#lx, libgcc %p", i, (unsigned long)r->got[i], r->want[i + 1]);
      return 1;
    }
  }
  return 0;
}

static void check(const struct result *r) {
  char why[128];
  if (mismatch(r, why, sizeof why)) {
    for (int i = 0; i < r->ngot || i + 1 < r->nwant; i++)
      fprintf(stderr, "  %2d  %#18lx  %p\n", i, i < r->ngot ? (unsigned long)r->got[i] : 0ul,
              i + 1 < r->nwant ? r->want[i + 1] : NULL);
    fail_msg("%s", why);
  }
}

__attribute__((noinline)) static int nest(int d, struct result *r) {
  if (d == 0) {
    probe(r);
  } else {
    nest(d - 1, r);
  }
  __asm__ volatile("" ::: "memory"); /* no tail call */
  return d;
}

/* A variable-size alloca makes GCC keep the CFA on rbp. */
__attribute__((noinline)) static int with_alloca(int n, struct result *r) {
  volatile char *p = alloca((size_t)n);
  p[0] = 1;
  p[n - 1] = 2;
  nest(n % 3, r);
  return p[0] + p[n - 1];
}

static void test_nested(void **state) {
  (void)state;
  for (int d = 0; d < 12; d++) {
    struct result r;
    nest(d, &r);
    check(&r);
    assert_true(r.ngot >= d + 3); /* nest's frames, this test, cmocka, main */
  }
  /* the walker took these stacks: its rule table exists */
  assert_true(prof_stack_metadata_bytes() > 0);
}

static void test_alloca_frames(void **state) {
  (void)state;
  for (int n = 1; n < 5000; n += 777) {
    struct result r;
    with_alloca(n, &r);
    check(&r);
  }
}

static void test_deeper_than_max(void **state) {
  (void)state;
  struct result r;
  nest(3 * PROF_DEFAULT_FRAMES, &r);
  assert_int_equal(r.ngot, PROF_DEFAULT_FRAMES);
  for (int i = 0; i < r.ngot; i++) assert_int_equal(r.got[i], (uintptr_t)r.want[i + 1]);
}

static void *thread_captures(void *arg) {
  struct result *r = arg;
  with_alloca(100, &r[0]); /* the thread's first capture */
  nest(5, &r[1]);
  return NULL;
}

static void test_new_threads(void **state) {
  (void)state;
  for (int round = 0; round < 4; round++) {
    pthread_t t[4];
    static struct result r[4][2];
    for (int i = 0; i < 4; i++)
      assert_int_equal(pthread_create(&t[i], NULL, thread_captures, r[i]), 0);
    for (int i = 0; i < 4; i++) {
      assert_int_equal(pthread_join(t[i], NULL), 0);
      check(&r[i][0]);
      check(&r[i][1]);
    }
  }
}

static struct result signal_result;

static void on_signal(int sig) {
  (void)sig;
  nest(2, &signal_result);
}

__attribute__((noinline)) static void raise_from(int d) {
  if (d > 0) {
    raise_from(d - 1);
  } else {
    raise(SIGUSR1);
  }
  __asm__ volatile("" ::: "memory");
}

static void test_signal_handler(void **state) {
  (void)state;
  struct sigaction sa = {.sa_handler = on_signal};
  assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
  raise_from(3);
  check(&signal_result);
  /* the stack goes on past the signal frame, into raise_from and this test */
  assert_true(signal_result.ngot > 10);
}

static ucontext_t main_ctx, fibre_ctx;
static struct result fibre_result;

static void fibre(void) { nest(4, &fibre_result); }

static void test_makecontext_stack(void **state) {
  (void)state;
  static char stack[256 * 1024] __attribute__((aligned(16)));
  assert_int_equal(getcontext(&fibre_ctx), 0);
  fibre_ctx.uc_stack.ss_sp = stack;
  fibre_ctx.uc_stack.ss_size = sizeof stack;
  fibre_ctx.uc_link = &main_ctx;
  makecontext(&fibre_ctx, fibre, 0);
  assert_int_equal(swapcontext(&main_ctx, &fibre_ctx), 0);
  check(&fibre_result);
  assert_true(fibre_result.ngot >= 5);
}

/* 1024 call sites, each its own function: more return addresses than the
 * rule table's first size holds at half load, so it grows while threads
 * read it. */
typedef void (*site_fn)(struct result *);
#define SITE(k)                                                      \
  __attribute__((noinline)) static void site_##k(struct result *r) { \
    nest(k & 3, r);                                                  \
    __asm__ volatile("# " #k ::: "memory");                          \
  }
/* (the tables of macros read best as laid out) */
/* clang-format off */
#define S16(p, M) M(p##0) M(p##1) M(p##2) M(p##3) M(p##4) M(p##5) M(p##6) M(p##7) \
  M(p##8) M(p##9) M(p##a) M(p##b) M(p##c) M(p##d) M(p##e) M(p##f)
#define S256(p, M) S16(p##0, M) S16(p##1, M) S16(p##2, M) S16(p##3, M) S16(p##4, M) \
  S16(p##5, M) S16(p##6, M) S16(p##7, M) S16(p##8, M) S16(p##9, M) S16(p##a, M)  \
  S16(p##b, M) S16(p##c, M) S16(p##d, M) S16(p##e, M) S16(p##f, M)
/* clang-format on */
#define S1024(M) S256(0x0, M) S256(0x1, M) S256(0x2, M) S256(0x3, M)
#define SITE_ENTRY(k) site_##k,
S1024(SITE)
static const site_fn sites[1024] = {S1024(SITE_ENTRY)};

static int site_failures;

static void *site_worker(void *arg) {
  unsigned seed = (unsigned)(uintptr_t)arg;
  for (int i = 0; i < 3000; i++) {
    seed = seed * 1103515245u + 12345u;
    struct result r;
    sites[(seed >> 8) % 1024](&r);
    char why[128];
    if (mismatch(&r, why, sizeof why)) {
      __atomic_fetch_add(&site_failures, 1, __ATOMIC_RELAXED);
      fprintf(stderr, "site %u: %s\n", (seed >> 8) % 1024, why);
    }
  }
  return NULL;
}

static void test_threads_share_the_rule_table(void **state) {
  (void)state;
  uint64_t before = prof_stack_metadata_bytes();
  pthread_t t[6];
  for (uintptr_t i = 0; i < 6; i++)
    assert_int_equal(pthread_create(&t[i], NULL, site_worker, (void *)(i + 1)), 0);
  for (int i = 0; i < 6; i++) assert_int_equal(pthread_join(t[i], NULL), 0);
  assert_int_equal(site_failures, 0);
  /* the table grew to thousands of slots, and the profiler counts them */
  assert_true(prof_stack_metadata_bytes() > before);
  assert_true(prof_stack_metadata_bytes() >= 2048 * 16);
}

int main(void) {
  prof_stack_init(); /* what liballoc does before the first sample */
  void *h = dlopen("libgcc_s.so.1", RTLD_NOW);
  if (h == NULL) return 1;
  *(void **)&gcc_backtrace = dlsym(h, "_Unwind_Backtrace");
  *(void **)&gcc_getip = dlsym(h, "_Unwind_GetIP");
  if (gcc_backtrace == NULL || gcc_getip == NULL) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nested),
      cmocka_unit_test(test_alloca_frames),
      cmocka_unit_test(test_deeper_than_max),
      cmocka_unit_test(test_new_threads),
      cmocka_unit_test(test_signal_handler),
      cmocka_unit_test(test_makecontext_stack),
      cmocka_unit_test(test_threads_share_the_rule_table),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
