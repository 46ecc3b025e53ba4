/* test_prof_symbolize.c: the profiler's symbolizer and mapping collector
 * (libprof/symbolize.h, libprof/mappings.h) on this very process: a static
 * function of this file with its DWARF file and line, a chain of inlined
 * calls, C++ demangling through a dlopen'ed libstdc++, libc from its symbol
 * table, the mappings with their build IDs, addresses in no object, and the
 * cost of 100,000 distinct addresses, first and cached. Built with -g (the
 * project's RelWithDebInfo). */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <cmocka.h>

#include "mappings.h"
#include "symbolize.h"

/* ---- code to look up ---- */

static volatile int sink;

enum { KNOWN_LINE = __LINE__ + 1 };
static __attribute__((noinline)) int known_function(int x) {
  sink += x;
  return sink * 3;
}

/* The caller's return address minus one: an address inside the call. */
static __attribute__((noinline)) uintptr_t call_site_address(void) {
  uintptr_t ra = (uintptr_t)__builtin_return_address(0);
  sink++;
  return ra - 1;
}

static inline __attribute__((always_inline)) uintptr_t inlined_helper(int *line) {
  *line = __LINE__ + 1;
  uintptr_t a = call_site_address();
  sink++; /* no tail call: the return address stays in this code */
  return a;
}

static __attribute__((noinline)) uintptr_t outer_function(int *inner_line, int *call_line) {
  *call_line = __LINE__ + 1;
  uintptr_t a = inlined_helper(inner_line);
  sink++;
  return a;
}

/* ---- helpers ---- */

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int is_hex(const char *s) {
  if (*s == '\0') return 0;
  for (; *s; s++)
    if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s)) return 0;
  return 1;
}

static double now_sec(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uintptr_t fn_addr(void *p) { return (uintptr_t)p; }

/* A function of libc itself: looked up through libc's handle, as a
 * sanitizer's runtime may interpose the name in the global scope. */
static uintptr_t libc_function(const char *name) {
  void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  assert_non_null(h);
  void *f = dlsym(h, name);
  dlclose(h);
  assert_non_null(f);
  return fn_addr(f);
}

/* ---- tests ---- */

static void test_static_function(void **state) {
  struct prof_symbolizer *s = prof_symbolizer_new();
  assert_non_null(s);
  struct prof_frame_info fi;
  uintptr_t addr = (uintptr_t)&known_function + 1;
  assert_int_equal(prof_symbolize(s, addr, &fi), PROF_SYM_OK);
  assert_string_equal(fi.function, "known_function");
  assert_string_equal(fi.system_name, "known_function");
  assert_true(ends_with(fi.file, "test_prof_symbolize.c"));
  assert_true(fi.line > 0);
  assert_int_equal(fi.start_line, KNOWN_LINE);
  assert_true(fi.nlines >= 1);
  assert_ptr_equal(fi.lines[fi.nlines - 1].function, fi.function);
  assert_true(fi.module[0] == '/');

  /* Cached: the same strings come back, and the cache holds one entry. */
  struct prof_frame_info again;
  assert_int_equal(prof_symbolize(s, addr, &again), PROF_SYM_OK);
  assert_ptr_equal(again.function, fi.function);
  assert_ptr_equal(again.lines, fi.lines);
  assert_int_equal(prof_symbolizer_cached(s), 1);
  prof_symbolizer_free(s);
}

static void test_return_address(void **state) {
  struct prof_symbolizer *s = prof_symbolizer_new();
  assert_non_null(s);
  int line = __LINE__ + 1;
  uintptr_t addr = call_site_address();
  struct prof_frame_info fi;
  assert_int_equal(prof_symbolize(s, addr, &fi), PROF_SYM_OK);
  assert_string_equal(fi.function, "test_return_address");
  assert_true(ends_with(fi.file, "test_prof_symbolize.c"));
  assert_int_equal(fi.line, line);
  prof_symbolizer_free(s);
}

static void test_inlined_chain(void **state) {
  struct prof_symbolizer *s = prof_symbolizer_new();
  assert_non_null(s);
  int inner_line = 0, call_line = 0;
  uintptr_t addr = outer_function(&inner_line, &call_line);
  struct prof_frame_info fi;
  assert_int_equal(prof_symbolize(s, addr, &fi), PROF_SYM_OK);
  assert_int_equal(fi.nlines, 2);
  assert_string_equal(fi.lines[0].function, "inlined_helper");
  assert_int_equal(fi.lines[0].line, inner_line);
  assert_true(fi.lines[0].start_line > 0 && fi.lines[0].start_line < inner_line);
  assert_string_equal(fi.lines[1].function, "outer_function");
  assert_int_equal(fi.lines[1].line, call_line);
  assert_true(ends_with(fi.lines[1].file, "test_prof_symbolize.c"));
  assert_string_equal(fi.function, "inlined_helper");
  prof_symbolizer_free(s);
}

/* libstdc++ arrives by dlopen after the symbolizer exists: the miss re-reads
 * the object list, and __cxa_demangle is found in the global scope. */
static void test_cxx_demangle_after_dlopen(void **state) {
  struct prof_symbolizer *s = prof_symbolizer_new();
  assert_non_null(s);
  void *h = dlopen("libstdc++.so.6", RTLD_NOW | RTLD_GLOBAL);
  if (h == NULL) {
    prof_symbolizer_free(s);
    skip();
  }
  void *dtor = dlsym(h, "_ZNSt9bad_allocD0Ev");
  assert_non_null(dtor);
  struct prof_frame_info fi;
  assert_int_equal(prof_symbolize(s, fn_addr(dtor) + 1, &fi), PROF_SYM_OK);
  /* the full demangled name as the system name, pprof's short form as the
   * function's name */
  assert_string_equal(fi.system_name, "std::bad_alloc::~bad_alloc()");
  assert_string_equal(fi.function, "std::bad_alloc::~bad_alloc");
  assert_non_null(strstr(fi.module, "libstdc++"));
  prof_symbolizer_free(s);
  dlclose(h);
}

/* An object unloaded after it was symbolized: the next miss re-reads the
 * object list, drops the object (and its index), and empties the cache;
 * strings handed out before stay readable. */
static void test_dlclose(void **state) {
  if (dlopen("libcrypt.so.1", RTLD_NOW | RTLD_NOLOAD) != NULL) skip(); /* can't unload it */
  void *h = dlopen("libcrypt.so.1", RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) skip();
  struct prof_symbolizer *s = prof_symbolizer_new();
  assert_non_null(s);
  uintptr_t addr = fn_addr(dlsym(h, "crypt")) + 1;
  struct prof_frame_info fi;
  assert_int_equal(prof_symbolize(s, addr, &fi), PROF_SYM_OK);
  assert_non_null(strstr(fi.module, "libcrypt"));
  const char *name = fi.function;
  dlclose(h);
  int unloaded = dlopen("libcrypt.so.1", RTLD_NOW | RTLD_NOLOAD) == NULL;
  struct prof_frame_info miss;
  assert_int_equal(prof_symbolize(s, 16, &miss), PROF_SYM_NO_MODULE);
  if (unloaded) {
    assert_int_equal(prof_symbolizer_cached(s), 1); /* emptied, then the miss */
    assert_int_equal(prof_symbolize(s, addr, &fi), PROF_SYM_NO_MODULE);
  }
  assert_non_null(strstr(name, "crypt"));
  prof_symbolizer_free(s);
}

/* Descriptors open now. */
static int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  assert_non_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) n += e->d_name[0] != '.';
  closedir(d);
  return n - 1; /* the directory's own */
}

/* prof_symbolizer_close_files closes every file the symbolizer read and
 * keeps its answers: cached ones come back as they were, a new address is
 * looked up in a new session, and an unload seen while closed still
 * empties the cache. */
static void test_close_files(void **state) {
  int before = count_fds();
  struct prof_symbolizer *s = prof_symbolizer_new();
  assert_non_null(s);
  struct prof_frame_info fi, qs, again;
  uintptr_t addr = (uintptr_t)&known_function + 1;
  assert_int_equal(prof_symbolize(s, addr, &fi), PROF_SYM_OK);
  assert_int_equal(prof_symbolize(s, libc_function("qsort") + 1, &qs), PROF_SYM_OK);
  assert_true(count_fds() > before); /* the program's file and libc's, at least */
  prof_symbolizer_close_files(s);
  assert_int_equal(count_fds(), before);
  assert_int_equal(prof_symbolize(s, addr, &again), PROF_SYM_OK);
  assert_ptr_equal(again.function, fi.function);
  assert_int_equal(count_fds(), before); /* a hit opens nothing */
  assert_int_equal(prof_symbolize(s, libc_function("bsearch") + 1, &again), PROF_SYM_OK);
  assert_non_null(strstr(again.function, "bsearch"));
  assert_non_null(strstr(qs.function, "qsort")); /* strings outlive the session */
  prof_symbolizer_close_files(s);
  assert_int_equal(count_fds(), before);

  void *h = NULL;
  if (dlopen("libcrypt.so.1", RTLD_NOW | RTLD_NOLOAD) == NULL)
    h = dlopen("libcrypt.so.1", RTLD_NOW | RTLD_LOCAL);
  if (h != NULL) {
    uintptr_t crypt_addr = fn_addr(dlsym(h, "crypt")) + 1;
    assert_int_equal(prof_symbolize(s, crypt_addr, &again), PROF_SYM_OK);
    prof_symbolizer_close_files(s);
    dlclose(h);
    if (dlopen("libcrypt.so.1", RTLD_NOW | RTLD_NOLOAD) == NULL) {
      assert_int_equal(prof_symbolizer_sync(s), 1);
      assert_int_equal(prof_symbolizer_cached(s), 0);
      assert_int_equal(prof_symbolize(s, crypt_addr, &again), PROF_SYM_NO_MODULE);
    }
  }
  prof_symbolizer_free(s);
  assert_int_equal(count_fds(), before);
}

/* A files-only symbolizer (for unloaded objects): a file is taken only with
 * the build ID it had in memory, placed where asked, and the process's own
 * objects are never looked at. */
static void test_files_only(void **state) {
  uintptr_t qsort_addr = libc_function("qsort");
  struct prof_mapping *m = NULL;
  size_t n = 0;
  assert_int_equal(prof_mappings_collect(&m, &n), 0);
  const struct prof_mapping *libc = prof_mapping_find(m, n, qsort_addr);
  assert_non_null(libc);
  if (libc->build_id[0] == '\0' || libc->path[0] != '/') {
    prof_mappings_free(m);
    skip();
  }
  Dl_info di;
  assert_int_not_equal(dladdr((void *)qsort_addr, &di), 0);
  uintptr_t bias = fn_addr(di.dli_fbase); /* libc's first segment is at ELF address 0 */
  const uintptr_t base = (uintptr_t)1 << 40;

  struct prof_symbolizer *s = prof_symbolizer_new_files();
  assert_non_null(s);
  struct prof_frame_info fi;
  assert_int_equal(prof_symbolize(s, qsort_addr + 1, &fi), PROF_SYM_NO_MODULE);
  char wrong[sizeof libc->build_id];
  snprintf(wrong, sizeof wrong, "%s", libc->build_id);
  wrong[0] = wrong[0] == '0' ? '1' : '0';
  assert_int_equal(prof_symbolizer_add_file(s, libc->path, wrong, base), -1);
  assert_int_equal(prof_symbolizer_add_file(s, libc->path, "", base), -1);
  assert_int_equal(prof_symbolizer_add_file(s, "/nonexistent/libc.so.6", libc->build_id, base), -1);
  assert_int_equal(prof_symbolize(s, base + (qsort_addr + 1 - bias), &fi), PROF_SYM_NO_MODULE);
  assert_int_equal(prof_symbolizer_add_file(s, libc->path, libc->build_id, base), 0);
  assert_int_equal(prof_symbolize(s, base + (qsort_addr + 1 - bias), &fi), PROF_SYM_OK);
  assert_non_null(strstr(fi.function, "qsort"));
  assert_int_equal(prof_symbolize(s, qsort_addr + 1, &fi), PROF_SYM_NO_MODULE);
  /* a process symbolizer takes no files */
  struct prof_symbolizer *live = prof_symbolizer_new();
  assert_non_null(live);
  assert_int_equal(prof_symbolizer_add_file(live, libc->path, libc->build_id, base), -1);
  prof_symbolizer_free(live);
  prof_symbolizer_free(s);
  prof_mappings_free(m);
}

static void test_libc_function(void **state) {
  struct prof_symbolizer *s = prof_symbolizer_new();
  assert_non_null(s);
  struct prof_frame_info fi;
  assert_int_equal(prof_symbolize(s, libc_function("qsort") + 1, &fi), PROF_SYM_OK);
  assert_non_null(strstr(fi.function, "qsort"));
  assert_non_null(strstr(fi.module, "libc"));
  prof_symbolizer_free(s);
}

/* The build ID readelf -n prints for path, or "" if readelf is missing. */
static void readelf_build_id(const char *path, char *out, size_t cap) {
  out[0] = '\0';
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "readelf -n '%s' 2>/dev/null", path);
  FILE *p = popen(cmd, "r");
  if (p == NULL) return;
  char line[512];
  while (fgets(line, sizeof line, p) != NULL) {
    const char *k = strstr(line, "Build ID: ");
    if (k == NULL) continue;
    k += strlen("Build ID: ");
    size_t n = strcspn(k, " \t\r\n");
    if (n < cap) {
      memcpy(out, k, n);
      out[n] = '\0';
    }
    break;
  }
  pclose(p);
}

static void test_mappings(void **state) {
  struct prof_mapping *m = NULL;
  size_t n = 0;
  assert_int_equal(prof_mappings_collect(&m, &n), 0);
  assert_true(n >= 3);
  for (size_t i = 1; i < n; i++) assert_true(m[i - 1].limit <= m[i].start);

  const struct prof_mapping *self = prof_mapping_find(m, n, (uintptr_t)&known_function);
  assert_non_null(self);
  assert_int_equal(self->is_main, 1);
  assert_true(ends_with(self->path, "test_prof_symbolize"));
  assert_int_equal(strlen(self->build_id), 40);
  assert_true(is_hex(self->build_id));
  char expect[256];
  readelf_build_id(self->path, expect, sizeof expect);
  if (expect[0] != '\0') assert_string_equal(self->build_id, expect);

  const struct prof_mapping *libc = prof_mapping_find(m, n, libc_function("qsort"));
  assert_non_null(libc);
  assert_int_equal(libc->is_main, 0);
  assert_non_null(strstr(libc->path, "libc.so"));
  assert_true(is_hex(libc->build_id));
  readelf_build_id(libc->path, expect, sizeof expect);
  if (expect[0] != '\0') assert_string_equal(libc->build_id, expect);

  int mains = 0, vdso = 0;
  for (size_t i = 0; i < n; i++) {
    mains += m[i].is_main;
    vdso += strcmp(m[i].path, "[vdso]") == 0;
    assert_true(m[i].start < m[i].limit);
  }
  assert_true(mains >= 1);
  assert_true(vdso <= 1);

  assert_null(prof_mapping_find(m, n, 16));
  assert_null(prof_mapping_find(m, n, UINTPTR_MAX));
  assert_null(prof_mapping_find(NULL, 0, 16));
  prof_mappings_free(m);
}

static void test_no_module(void **state) {
  struct prof_symbolizer *s = prof_symbolizer_new();
  assert_non_null(s);
  struct prof_frame_info fi;
  assert_int_equal(prof_symbolize(s, 16, &fi), PROF_SYM_NO_MODULE);
  assert_int_equal(fi.nlines, 0);
  assert_null(fi.lines);
  assert_string_equal(fi.function, "");
  assert_string_equal(fi.file, "");
  assert_string_equal(fi.module, "");
  assert_int_equal(fi.line, 0);
  /* Twice: the second answer comes from the cache. */
  assert_int_equal(prof_symbolize(s, 16, &fi), PROF_SYM_NO_MODULE);
  assert_int_equal(prof_symbolize(s, UINTPTR_MAX, &fi), PROF_SYM_NO_MODULE);

  /* Anonymous memory (a JIT's code, say) is in no object either. */
  void *anon = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  assert_true(anon != MAP_FAILED);
  assert_int_equal(prof_symbolize(s, (uintptr_t)anon + 8, &fi), PROF_SYM_NO_MODULE);
  munmap(anon, 4096);

  assert_int_equal(prof_symbolize(NULL, 16, &fi), PROF_SYM_INVALID);
  assert_int_equal(prof_symbolize(s, 16, NULL), PROF_SYM_INVALID);
  prof_symbolizer_free(s);
  prof_symbolizer_free(NULL);
}

/* 100,000 distinct addresses spread over libc's text: first pass (symbol
 * index built, every answer computed), then cached. */
static void test_timing(void **state) {
  struct prof_mapping *m = NULL;
  size_t n = 0;
  assert_int_equal(prof_mappings_collect(&m, &n), 0);
  const struct prof_mapping *libc = prof_mapping_find(m, n, libc_function("qsort"));
  assert_non_null(libc);
  enum { N = 100000 };
  uintptr_t span = libc->limit - libc->start;
  assert_true(span >= N);
  uintptr_t *addrs = malloc(N * sizeof *addrs);
  assert_non_null(addrs);
  for (size_t i = 0; i < N; i++) addrs[i] = libc->start + (uintptr_t)((double)i * span / N);

  struct prof_symbolizer *s = prof_symbolizer_new();
  assert_non_null(s);
  struct prof_frame_info fi;
  size_t named = 0;
  double t0 = now_sec();
  for (size_t i = 0; i < N; i++) named += prof_symbolize(s, addrs[i], &fi) == PROF_SYM_OK;
  double t1 = now_sec();
  size_t named2 = 0;
  for (size_t i = 0; i < N; i++) named2 += prof_symbolize(s, addrs[i], &fi) == PROF_SYM_OK;
  double t2 = now_sec();
  printf(
      "symbolize: %d distinct addresses over %s (%zu KiB of text): first %.1f ms, cached "
      "%.1f ms, %zu named\n",
      N, libc->path, (size_t)(span / 1024), (t1 - t0) * 1e3, (t2 - t1) * 1e3, named);
  assert_int_equal(prof_symbolizer_cached(s), N);
  assert_int_equal(named, named2);
  assert_true(named > N / 100); /* a third without libc debug info, nearly all with it */
  assert_true(t2 - t1 < 2.0);
  prof_symbolizer_free(s);
  free(addrs);
  prof_mappings_free(m);
}

/* The debug directories: a bad list is refused and changes nothing; NULL
 * or "" brings the default back. */
static void test_debug_dirs(void **state) {
  (void)state;
  assert_string_equal(prof_symbolize_debug_dirs(), "/usr/lib/debug");
  assert_int_equal(prof_symbolize_set_debug_dirs("/opt/debug:/usr/lib/debug"), 0);
  assert_string_equal(prof_symbolize_debug_dirs(), "/opt/debug:/usr/lib/debug");
  static const char *const bad[] = {"rel", "/a:", "/a::/b", "/a:rel", ":/a"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(prof_symbolize_set_debug_dirs(bad[i]), -1);
    assert_string_equal(prof_symbolize_debug_dirs(), "/opt/debug:/usr/lib/debug");
  }
  char *huge = malloc(PATH_MAX + 2);
  assert_non_null(huge);
  memset(huge, 'a', PATH_MAX + 1);
  huge[0] = '/';
  huge[PATH_MAX + 1] = 0;
  assert_int_equal(prof_symbolize_set_debug_dirs(huge), -1);
  free(huge);
  assert_int_equal(prof_symbolize_set_debug_dirs(""), 0);
  assert_string_equal(prof_symbolize_debug_dirs(), "/usr/lib/debug");
  assert_int_equal(prof_symbolize_set_debug_dirs(NULL), 0);
  assert_string_equal(prof_symbolize_debug_dirs(), "/usr/lib/debug");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_static_function), cmocka_unit_test(test_return_address),
      cmocka_unit_test(test_inlined_chain),   cmocka_unit_test(test_cxx_demangle_after_dlopen),
      cmocka_unit_test(test_libc_function),   cmocka_unit_test(test_dlclose),
      cmocka_unit_test(test_files_only),      cmocka_unit_test(test_mappings),
      cmocka_unit_test(test_no_module),       cmocka_unit_test(test_timing),
      cmocka_unit_test(test_close_files),     cmocka_unit_test(test_debug_dirs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
