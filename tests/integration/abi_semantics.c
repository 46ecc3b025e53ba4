/* abi_semantics: the C allocation ABI of liballoc.so, as a program sees it.
 *
 * The program is linked against liballoc.so, so malloc here IS liballoc's
 * malloc (main checks that before anything else). Each test asserts what the
 * glibc manual pages promise, or, where glibc is looser, the stricter contract
 * stated in liballoc/alloc_entry.h:
 *
 *  - malloc(0) returns a unique, freeable pointer; realloc(NULL, 0) too.
 *  - Blocks of 16 bytes or more are 16-byte aligned (max_align_t on x86-64);
 *    a smaller block is aligned to the largest power of two dividing its size.
 *  - posix_memalign / aligned_alloc / memalign honour every power-of-two
 *    alignment from 1 to 4 MiB and 16 MiB. posix_memalign returns EINVAL for
 *    an alignment that is not a power-of-two multiple of sizeof(void *);
 *    memalign and aligned_alloc return NULL with errno EINVAL for 0 and for a
 *    non-power of two (liballoc's contract; glibc 2.36 rounds those up).
 *  - Impossible sizes give NULL with errno ENOMEM, never a crash: malloc of
 *    more than PTRDIFF_MAX, calloc and reallocarray overflow, realloc to
 *    SIZE_MAX (and the old block stays valid with its contents).
 *  - calloc memory is zero, also when it reuses memory freed dirty.
 *  - realloc keeps contents growing and shrinking across small / large sizes;
 *    realloc(p, 0) frees p and returns NULL (glibc's behaviour).
 *  - malloc_usable_size(p) >= the request and all of it is writable.
 *  - valloc is page aligned; pvalloc rounds the size up to a page.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "it_common.h"

typedef int (*get_stats_fn)(struct alloc_stats *);

/* alloc_get_stats, looked up at run time so that this program links even if
 * liballoc.so does not export it (the test then fails instead). */
static get_stats_fn stats_fn(void) {
  return (get_stats_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "alloc_get_stats");
}

static uint64_t in_use_now(void) {
  struct alloc_stats st;
  get_stats_fn f = stats_fn();
  assert_non_null(f);
  assert_int_equal(f(&st), 0);
  return st.in_use;
}

static int is_aligned(const void *p, size_t a) { return ((uintptr_t)p & (a - 1)) == 0; }

/* ---- identity ----------------------------------------------------------- */

static void test_symbols_are_liballoc(void **state) {
  (void)state;
  static const char *const names[] = {
      "malloc",        "free",     "calloc", "realloc", "reallocarray",       "posix_memalign",
      "aligned_alloc", "memalign", "valloc", "pvalloc", "malloc_usable_size", "alloc_get_stats"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (!it_symbol_is_liballoc(names[i])) {
      const char *f = it_symbol_file(names[i]);
      fail_msg("%s resolves to %s, not liballoc", names[i], f ? f : "(nothing)");
    }
  }
}

static void test_stats_see_malloc(void **state) {
  (void)state;
  size_t n = it_opaque((size_t)4 << 20);
  uint64_t before = in_use_now();
  void *p = malloc(n);
  assert_non_null(p);
  memset(p, 1, n);
  uint64_t during = in_use_now();
  free(p);
  uint64_t after = in_use_now();
  assert_true(during >= before + n);
  assert_true(after + n <= during);
}

/* ---- malloc(0), free(NULL) ------------------------------------------------ */

static void test_malloc_zero(void **state) {
  (void)state;
  enum { N = 200 };
  void *p[N];
  for (int i = 0; i < N; i++) {
    p[i] = malloc(it_opaque(0));
    assert_non_null(p[i]);
    for (int j = 0; j < i; j++) assert_ptr_not_equal(p[i], p[j]);
  }
  for (int i = 0; i < N; i++) free(p[i]);
  void *q = realloc(NULL, it_opaque(0));
  assert_non_null(q);
  free(q);
  free(NULL);
}

/* ---- alignment of plain malloc -------------------------------------------- */

static size_t required_alignment(size_t n) {
  if (n >= 16) return 16;
  return n & -n; /* largest power of two dividing n */
}

static void check_size_alignment(size_t n) {
  enum { K = 3 };
  unsigned char *p[K];
  for (int k = 0; k < K; k++) {
    p[k] = malloc(it_opaque(n));
    assert_non_null(p[k]);
    if (!is_aligned(p[k], required_alignment(n)))
      fail_msg("malloc(%zu) = %p is not %zu-byte aligned", n, (void *)p[k], required_alignment(n));
    assert_true(malloc_usable_size(p[k]) >= n);
    p[k][0] = (unsigned char)k;
    p[k][n - 1] = (unsigned char)k;
  }
  for (int k = 0; k < K; k++) {
    for (int j = 0; j < K; j++) {
      if (j == k) continue;
      /* blocks must not overlap */
      assert_true(p[k] + n <= p[j] || p[j] + n <= p[k]);
    }
    assert_int_equal(p[k][0], k);
    assert_int_equal(p[k][n - 1], k);
  }
  for (int k = 0; k < K; k++) free(p[k]);
}

static void test_malloc_alignment(void **state) {
  (void)state;
  for (size_t n = 1; n <= 2048; n++) check_size_alignment(n);
  for (size_t n = 2049; n <= 70000; n += 61) check_size_alignment(n);
  static const size_t edges[] = {4095,  4096,  4097,  8191,  8192,  8193,  32767,
                                 32768, 32769, 65535, 65536, 65537, 69999, 70000};
  for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) check_size_alignment(edges[i]);
}

/* ---- aligned allocation ---------------------------------------------------- */

enum { VIA_POSIX_MEMALIGN, VIA_ALIGNED_ALLOC, VIA_MEMALIGN, VIA_COUNT };
static const char *const via_name[] = {"posix_memalign", "aligned_alloc", "memalign"};

static void *aligned_via(int via, size_t align, size_t n) {
  void *p = NULL;
  switch (via) {
    case VIA_POSIX_MEMALIGN: {
      int rc = posix_memalign(&p, it_opaque(align), it_opaque(n));
      if (rc != 0) fail_msg("posix_memalign(%zu, %zu) = %d", align, n, rc);
      return p;
    }
    case VIA_ALIGNED_ALLOC: return aligned_alloc(it_opaque(align), it_opaque(n));
    default: return memalign(it_opaque(align), it_opaque(n));
  }
}

static void test_aligned_all_powers(void **state) {
  (void)state;
  size_t aligns[32];
  int na = 0;
  for (size_t a = 1; a <= ((size_t)4 << 20); a <<= 1) aligns[na++] = a;
  aligns[na++] = (size_t)16 << 20;

  for (int ai = 0; ai < na; ai++) {
    size_t a = aligns[ai];
    size_t sizes[8];
    int ns = 0;
    sizes[ns++] = 1;
    sizes[ns++] = 24;
    if (a > 2) sizes[ns++] = a - 1;
    sizes[ns++] = a;
    sizes[ns++] = a + 1;
    if (3 * a <= ((size_t)8 << 20)) sizes[ns++] = 3 * a + 5;
    sizes[ns++] = 100000;
    for (int via = 0; via < VIA_COUNT; via++) {
      /* posix_memalign takes only multiples of sizeof(void *) */
      if (via == VIA_POSIX_MEMALIGN && a < sizeof(void *)) continue;
      unsigned char *keep[8];
      for (int si = 0; si < ns; si++) {
        size_t n = sizes[si];
        unsigned char *p = aligned_via(via, a, n);
        if (!p) fail_msg("%s(%zu, %zu) returned NULL (errno %d)", via_name[via], a, n, errno);
        if (!is_aligned(p, a))
          fail_msg("%s(%zu, %zu) = %p misaligned", via_name[via], a, n, (void *)p);
        if (malloc_usable_size(p) < n)
          fail_msg("%s(%zu, %zu): usable size %zu", via_name[via], a, n, malloc_usable_size(p));
        memset(p, 0xa0 + si, n);
        keep[si] = p;
      }
      for (int si = 0; si < ns; si++) {
        size_t n = sizes[si];
        assert_int_equal(keep[si][0], 0xa0 + si);
        assert_int_equal(keep[si][n / 2], 0xa0 + si);
        assert_int_equal(keep[si][n - 1], 0xa0 + si);
        free(keep[si]);
      }
    }
  }
}

static void test_aligned_einval(void **state) {
  (void)state;
  static const size_t bad[] = {
      0, 3, 5, 6, 12, 24, 48, 96, 1000, 4095, 4097, 3 << 20, SIZE_MAX / 2 + 2, SIZE_MAX};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    size_t a = bad[i];
    void *p = (void *)1;
    int rc = posix_memalign(&p, it_opaque(a), it_opaque(64));
    if (rc != EINVAL) fail_msg("posix_memalign(align %zu) = %d, want EINVAL", a, rc);

    errno = 0;
    p = aligned_alloc(it_opaque(a), it_opaque(64));
    if (p != NULL || errno != EINVAL)
      fail_msg("aligned_alloc(align %zu) = %p errno %d, want NULL EINVAL", a, p, errno);

    errno = 0;
    p = memalign(it_opaque(a), it_opaque(64));
    if (p != NULL || errno != EINVAL)
      fail_msg("memalign(align %zu) = %p errno %d, want NULL EINVAL", a, p, errno);
  }
  /* powers of two below sizeof(void *): EINVAL for posix_memalign only */
  for (size_t a = 1; a < sizeof(void *); a <<= 1) {
    void *p = NULL;
    assert_int_equal(posix_memalign(&p, it_opaque(a), it_opaque(64)), EINVAL);
    p = aligned_alloc(it_opaque(a), it_opaque(64));
    assert_non_null(p);
    free(p);
    p = memalign(it_opaque(a), it_opaque(64));
    assert_non_null(p);
    free(p);
  }
}

/* ---- impossible sizes -------------------------------------------------------- */

#define ASSERT_ENOMEM(call, what)                                      \
  do {                                                                 \
    errno = 0;                                                         \
    void *r_ = (call);                                                 \
    if (r_ != NULL || errno != ENOMEM)                                 \
      fail_msg("%s = %p errno %d, want NULL ENOMEM", what, r_, errno); \
  } while (0)

static void test_enomem_huge(void **state) {
  (void)state;
  const size_t pmax = (size_t)PTRDIFF_MAX;
  ASSERT_ENOMEM(malloc(it_opaque(SIZE_MAX)), "malloc(SIZE_MAX)");
  ASSERT_ENOMEM(malloc(it_opaque(SIZE_MAX - 4096)), "malloc(SIZE_MAX-4096)");
  ASSERT_ENOMEM(malloc(it_opaque(pmax + 1)), "malloc(PTRDIFF_MAX+1)");
  ASSERT_ENOMEM(malloc(it_opaque(pmax)), "malloc(PTRDIFF_MAX)");
  ASSERT_ENOMEM(malloc(it_opaque((size_t)1 << 47)), "malloc(128 TiB)");
  ASSERT_ENOMEM(calloc(it_opaque(SIZE_MAX / 2), it_opaque(3)), "calloc(SIZE_MAX/2, 3)");
  ASSERT_ENOMEM(calloc(it_opaque(3), it_opaque(SIZE_MAX / 2)), "calloc(3, SIZE_MAX/2)");
  ASSERT_ENOMEM(calloc(it_opaque((size_t)1 << 32), it_opaque((size_t)1 << 32)),
                "calloc(2^32, 2^32)");
  ASSERT_ENOMEM(calloc(it_opaque(pmax / 2 + 1), it_opaque(2)), "calloc(PTRDIFF_MAX/2+1, 2)");
  ASSERT_ENOMEM(aligned_alloc(it_opaque(4096), it_opaque(SIZE_MAX - 100)),
                "aligned_alloc(4096, SIZE_MAX-100)");
  ASSERT_ENOMEM(memalign(it_opaque(64), it_opaque(SIZE_MAX)), "memalign(64, SIZE_MAX)");
  ASSERT_ENOMEM(memalign(it_opaque((size_t)1 << 62), it_opaque(16)), "memalign(2^62, 16)");
  ASSERT_ENOMEM(valloc(it_opaque(SIZE_MAX)), "valloc(SIZE_MAX)");
  ASSERT_ENOMEM(pvalloc(it_opaque(SIZE_MAX)), "pvalloc(SIZE_MAX)");
  ASSERT_ENOMEM(pvalloc(it_opaque(SIZE_MAX - 1000)), "pvalloc(SIZE_MAX-1000)");

  void *p = (void *)1;
  assert_int_equal(posix_memalign(&p, it_opaque(64), it_opaque(SIZE_MAX)), ENOMEM);
  assert_int_equal(posix_memalign(&p, it_opaque((size_t)1 << 62), it_opaque(16)), ENOMEM);
  assert_int_equal(posix_memalign(&p, it_opaque(4096), it_opaque(pmax + 1)), ENOMEM);
}

static void check_realloc_failure_keeps_block(size_t n) {
  unsigned char *p = malloc(it_opaque(n));
  assert_non_null(p);
  it_fill(p, 0, n, n);

  ASSERT_ENOMEM(realloc(it_launder(p), it_opaque(SIZE_MAX)), "realloc(p, SIZE_MAX)");
  assert_true(it_check(p, 0, n, n) == (size_t)-1);
  ASSERT_ENOMEM(realloc(it_launder(p), it_opaque((size_t)PTRDIFF_MAX + 1)),
                "realloc(p, PTRDIFF_MAX+1)");
  assert_true(it_check(p, 0, n, n) == (size_t)-1);
  ASSERT_ENOMEM(reallocarray(it_launder(p), it_opaque(SIZE_MAX / 2), it_opaque(3)),
                "reallocarray(p, SIZE_MAX/2, 3)");
  assert_true(it_check(p, 0, n, n) == (size_t)-1);
  ASSERT_ENOMEM(reallocarray(it_launder(p), it_opaque((size_t)1 << 33), it_opaque((size_t)1 << 33)),
                "reallocarray(p, 2^33, 2^33)");
  assert_true(it_check(p, 0, n, n) == (size_t)-1);
  assert_true(malloc_usable_size(p) >= n);

  /* the block is still a live block: it can grow and be freed */
  p = realloc(p, n * 2);
  assert_non_null(p);
  assert_true(it_check(p, 0, n, n) == (size_t)-1);
  free(p);
}

static void test_realloc_enomem_keeps_block(void **state) {
  (void)state;
  check_realloc_failure_keeps_block(48);
  check_realloc_failure_keeps_block(5000);
  check_realloc_failure_keeps_block((size_t)1 << 20);
}

/* ---- calloc ------------------------------------------------------------------ */

static void assert_all_zero(const unsigned char *p, size_t n, const char *what) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != 0) fail_msg("%s: byte %zu of %zu is 0x%02x, not 0", what, i, n, p[i]);
}

static void test_calloc_zeroes(void **state) {
  (void)state;
  static const size_t sizes[] = {1,     8,      16,      24,      100,    512,
                                 1000,  4096,   10000,   32768,   32769,  40000,
                                 65536, 100000, 1 << 20, 3 << 20, 8 << 20};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t n = sizes[i];
    int k = n >= (1 << 20) ? 4 : n >= 32768 ? 16 : 64;
    unsigned char *p[64];
    for (int j = 0; j < k; j++) {
      p[j] = malloc(it_opaque(n));
      assert_non_null(p[j]);
      memset(p[j], 0xff, malloc_usable_size(p[j]));
    }
    for (int j = 0; j < k; j++) free(p[j]);
    /* three spellings of the same request */
    for (int j = 0; j < k; j++) {
      if (j % 3 == 0)
        p[j] = calloc(it_opaque(n), 1);
      else if (j % 3 == 1 || n % 8 != 0)
        p[j] = calloc(1, it_opaque(n));
      else
        p[j] = calloc(it_opaque(n / 8), 8);
      assert_non_null(p[j]);
      assert_all_zero(p[j], n, "calloc after dirty free");
    }
    for (int j = 0; j < k; j++) free(p[j]);
  }
  /* an array calloc: n elements of size s */
  unsigned char *q = calloc(it_opaque(1000), it_opaque(24));
  assert_non_null(q);
  assert_all_zero(q, 24000, "calloc(1000, 24)");
  free(q);
}

/* Memory freed dirty by large blocks is reused for small objects: calloc must
 * still hand out zeros. */
static void test_calloc_zeroes_after_large_free(void **state) {
  (void)state;
  enum { NL = 8, NS = 3000, NM = 100 };
  unsigned char *big[NL];
  for (int i = 0; i < NL; i++) {
    big[i] = malloc(it_opaque((size_t)1 << 20));
    assert_non_null(big[i]);
    memset(big[i], 0xee, (size_t)1 << 20);
  }
  for (int i = 0; i < NL; i++) free(big[i]);
  static unsigned char *small[NS];
  for (int i = 0; i < NS; i++) {
    small[i] = calloc(1, it_opaque(2048));
    assert_non_null(small[i]);
    assert_all_zero(small[i], 2048, "calloc(1, 2048) after large free");
  }
  static unsigned char *mid[NM];
  for (int i = 0; i < NM; i++) {
    mid[i] = calloc(it_opaque(40000), 1);
    assert_non_null(mid[i]);
    assert_all_zero(mid[i], 40000, "calloc(40000, 1) after large free");
  }
  for (int i = 0; i < NS; i++) free(small[i]);
  for (int i = 0; i < NM; i++) free(mid[i]);
}

/* ---- realloc ------------------------------------------------------------------ */

static void test_realloc_preserves(void **state) {
  (void)state;
  static const size_t up[] = {1,     7,     16,    100,     1000,          4000,
                              32768, 32769, 70000, 1 << 20, (1 << 20) + 1, 5 << 20};
  const size_t nup = sizeof up / sizeof up[0];
  const uint64_t key = 0x1234567;
  unsigned char *p = realloc(NULL, it_opaque(up[0]));
  assert_non_null(p);
  it_fill(p, 0, up[0], key);
  size_t have = up[0];
  /* grow, then shrink back, then zig-zag */
  size_t seq[64];
  size_t ns = 0;
  for (size_t i = 1; i < nup; i++) seq[ns++] = up[i];
  for (size_t i = nup - 1; i-- > 0;) seq[ns++] = up[i];
  for (size_t i = 0; i + 1 < nup; i += 2) {
    seq[ns++] = up[nup - 1 - i];
    seq[ns++] = up[i];
  }
  for (size_t s = 0; s < ns; s++) {
    size_t n = seq[s];
    p = realloc(p, it_opaque(n));
    assert_non_null(p);
    assert_true(malloc_usable_size(p) >= n);
    size_t keep = have < n ? have : n;
    size_t bad = it_check(p, 0, keep, key);
    if (bad != (size_t)-1) fail_msg("realloc %zu -> %zu lost byte %zu", have, n, bad);
    it_fill(p, keep, n, key);
    have = n;
  }
  /* same size again */
  p = realloc(p, it_opaque(have));
  assert_non_null(p);
  assert_true(it_check(p, 0, have, key) == (size_t)-1);
  free(p);
}

static void test_realloc_null_is_malloc(void **state) {
  (void)state;
  static const size_t sizes[] = {1, 64, 5000, 40000, 1 << 20};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    unsigned char *p = realloc(NULL, it_opaque(sizes[i]));
    assert_non_null(p);
    assert_true(is_aligned(p, required_alignment(sizes[i])));
    assert_true(malloc_usable_size(p) >= sizes[i]);
    memset(p, 0x5a, sizes[i]);
    free(p);
  }
}

/* glibc: realloc(p, 0) with p != NULL frees p and returns NULL. The freeing is
 * seen in the statistics: in_use drops by the block's size. */
static void test_realloc_zero_frees(void **state) {
  (void)state;
  size_t n = it_opaque((size_t)2 << 20);
  void *p = malloc(n);
  assert_non_null(p);
  memset(p, 3, n);
  uint64_t before = in_use_now();
  void *q = realloc(p, it_opaque(0));
  assert_null(q);
  uint64_t after = in_use_now();
  assert_true(after + n <= before);

  p = malloc(it_opaque(32));
  assert_non_null(p);
  assert_null(realloc(p, it_opaque(0)));
}

/* ---- usable size ------------------------------------------------------------------ */

static void test_usable_size(void **state) {
  (void)state;
  assert_int_equal(malloc_usable_size(NULL), 0);
  for (size_t n = 1; n < 300000; n = n * 5 / 4 + 1) {
    enum { K = 3 };
    unsigned char *p[K];
    size_t u[K];
    for (int k = 0; k < K; k++) {
      p[k] = malloc(it_opaque(n));
      assert_non_null(p[k]);
      u[k] = malloc_usable_size(p[k]);
      if (u[k] < n) fail_msg("malloc_usable_size(malloc(%zu)) = %zu", n, u[k]);
      it_fill(p[k], 0, u[k], n * 31 + (size_t)k);
    }
    for (int k = 0; k < K; k++) {
      size_t bad = it_check(p[k], 0, u[k], n * 31 + (size_t)k);
      if (bad != (size_t)-1)
        fail_msg("size %zu: byte %zu of the usable %zu was overwritten", n, bad, u[k]);
      assert_int_equal(malloc_usable_size(p[k]), u[k]);
    }
    for (int k = 0; k < K; k++) free(p[k]);
  }
}

/* ---- valloc, pvalloc ------------------------------------------------------------- */

static void test_valloc_pvalloc(void **state) {
  (void)state;
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  static const size_t sizes[] = {1, 100, 4095, 4096, 4097, 40000, 100000, 1 << 20};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t n = sizes[i];
    unsigned char *p = valloc(it_opaque(n));
    assert_non_null(p);
    if (!is_aligned(p, page)) fail_msg("valloc(%zu) = %p not page aligned", n, (void *)p);
    assert_true(malloc_usable_size(p) >= n);
    memset(p, 1, n);
    free(p);

    size_t rounded = (n + page - 1) / page * page;
    p = pvalloc(it_opaque(n));
    assert_non_null(p);
    if (!is_aligned(p, page)) fail_msg("pvalloc(%zu) = %p not page aligned", n, (void *)p);
    if (malloc_usable_size(p) < rounded)
      fail_msg("pvalloc(%zu): usable %zu < %zu", n, malloc_usable_size(p), rounded);
    memset(p, 2, rounded);
    free(p);
  }
}

/* ---- reallocarray ------------------------------------------------------------------ */

static void test_reallocarray(void **state) {
  (void)state;
  int *a = reallocarray(NULL, it_opaque(10), sizeof(int));
  assert_non_null(a);
  for (int i = 0; i < 10; i++) a[i] = i * 7;
  a = reallocarray(a, it_opaque(100000), sizeof(int));
  assert_non_null(a);
  for (int i = 0; i < 10; i++) assert_int_equal(a[i], i * 7);
  for (int i = 10; i < 100000; i++) a[i] = i * 7;
  a = reallocarray(a, it_opaque(20), sizeof(int));
  assert_non_null(a);
  for (int i = 0; i < 20; i++) assert_int_equal(a[i], i * 7);
  assert_true(malloc_usable_size(a) >= 20 * sizeof(int));
  free(a);
}

/* ---- many live blocks at once --------------------------------------------------- */

static void test_many_blocks_disjoint(void **state) {
  (void)state;
  enum { N = 20000 };
  static unsigned char *p[N];
  static size_t sz[N];
  uint64_t rng = 42;
  for (int i = 0; i < N; i++) {
    uint64_t r = it_rand(&rng);
    sz[i] = r % 16 == 0 ? 1 + r % 70000 : 1 + r % 600;
    p[i] = malloc(it_opaque(sz[i]));
    assert_non_null(p[i]);
    memset(p[i], (unsigned char)i, sz[i]);
  }
  for (int i = 0; i < N; i++) {
    for (size_t j = 0; j < sz[i]; j++)
      if (p[i][j] != (unsigned char)i)
        fail_msg("block %d (%zu bytes) byte %zu overwritten", i, sz[i], j);
  }
  /* free in a shuffled order */
  for (int i = N - 1; i > 0; i--) {
    int j = (int)(it_rand(&rng) % (uint64_t)(i + 1));
    unsigned char *t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  for (int i = 0; i < N; i++) free(p[i]);
}

int main(void) {
  it_require_liballoc("abi_semantics");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_symbols_are_liballoc),
      cmocka_unit_test(test_stats_see_malloc),
      cmocka_unit_test(test_malloc_zero),
      cmocka_unit_test(test_malloc_alignment),
      cmocka_unit_test(test_aligned_all_powers),
      cmocka_unit_test(test_aligned_einval),
      cmocka_unit_test(test_enomem_huge),
      cmocka_unit_test(test_realloc_enomem_keeps_block),
      cmocka_unit_test(test_calloc_zeroes),
      cmocka_unit_test(test_calloc_zeroes_after_large_free),
      cmocka_unit_test(test_realloc_preserves),
      cmocka_unit_test(test_realloc_null_is_malloc),
      cmocka_unit_test(test_realloc_zero_frees),
      cmocka_unit_test(test_usable_size),
      cmocka_unit_test(test_valloc_pvalloc),
      cmocka_unit_test(test_reallocarray),
      cmocka_unit_test(test_many_blocks_disjoint),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
