/* test_prof_mappings: the loaded objects as mappings.c collects them
 * (libprof/mappings.h): each mapping's load bias agrees with the dynamic
 * linker's symbol table, the loader's counters follow dlopen and dlclose,
 * and the symbolizer, which takes its list of objects from mappings.c when
 * /proc is not mounted, names a libc function the same without /proc as
 * with it (checked in a child process with /proc hidden in a mount
 * namespace of its own; skipped where namespaces are not allowed). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "mappings.h"
#include "symbolize.h"

static uintptr_t fn_addr(void *p) { return (uintptr_t)p; }

/* libc's own fopen: looked up in libc itself, since a sanitizer's runtime
 * (TSan) interposes its own under the global name. */
static void *libc_fopen(void) {
  void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  assert_non_null(h);
  void *fn = dlsym(h, "fopen");
  dlclose(h);
  return fn;
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* An address minus its mapping's bias is the symbol's value in the ELF
 * file, as the dynamic linker's own symbol table says. */
static void check_bias(const struct prof_mapping *m, size_t n, void *fn, const char *object) {
  uintptr_t addr = fn_addr(fn);
  const struct prof_mapping *hit = prof_mapping_find(m, n, addr);
  assert_non_null(hit);
  Dl_info info;
  const ElfW(Sym) *sym = NULL;
  assert_true(dladdr1(fn, &info, (void **)&sym, RTLD_DL_SYMENT) != 0);
  assert_non_null(sym);
  assert_int_equal(addr - hit->bias, sym->st_value);
  assert_true(ends_with(hit->path, object));
}

static void test_bias(void **state) {
  struct prof_mapping *m = NULL;
  size_t n = 0;
  assert_int_equal(prof_mappings_collect(&m, &n), 0);
  assert_true(n > 0);
  /* libc, and libdw (the symbolizer's), both shared objects */
  void *fopen_fn = libc_fopen();
  assert_non_null(fopen_fn);
  check_bias(m, n, fopen_fn, "libc.so.6");
  void *dw_fn = dlsym(RTLD_DEFAULT, "dwfl_begin");
  assert_non_null(dw_fn);
  check_bias(m, n, dw_fn, ".so.1");
  prof_mappings_free(m);
}

/* dlopen of a library not loaded yet moves the add counter, its dlclose the
 * remove counter. */
static void test_loader_counts(void **state) {
  unsigned long long adds0, subs0, adds1, subs1, adds2, subs2;
  if (!prof_loader_counts(&adds0, &subs0)) skip();                     /* a loader without them */
  if (dlopen("libcrypt.so.1", RTLD_NOW | RTLD_NOLOAD) != NULL) skip(); /* can't unload it */
  void *h = dlopen("libcrypt.so.1", RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) skip();
  assert_int_equal(prof_loader_counts(&adds1, &subs1), 1);
  assert_true(adds1 > adds0);
  assert_int_equal(subs1, subs0);
  assert_int_equal(dlclose(h), 0);
  assert_int_equal(prof_loader_counts(&adds2, &subs2), 1);
  assert_int_equal(adds2, adds1);
  assert_true(subs2 > subs1);
}

/* In a fresh process: a mount namespace of its own (and a user namespace
 * when not root) where /proc is an empty tmpfs. Returns 0, or -1 when the
 * system does not allow it. Mounts are made private first, so that nothing
 * done here reaches the namespace the test was started in. */
static int hide_proc(void) {
  if (unshare(CLONE_NEWNS) != 0 && unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return -1;
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) return -1;
  if (mount("none", "/proc", "tmpfs", 0, NULL) != 0) return -1;
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) { /* still there: the check would prove nothing */
    close(fd);
    return -1;
  }
  return 0;
}

/* Child exit codes of test_symbolize_without_proc. */
enum { CHILD_SAME = 0, CHILD_DIFFERENT = 1, CHILD_NO_NAMESPACE = 77 };

static void test_symbolize_without_proc(void **state) {
  void *fopen_fn = libc_fopen();
  assert_non_null(fopen_fn);
  uintptr_t addr = fn_addr(fopen_fn) + 1;
  /* What the symbolizer says with /proc: the answer to match. */
  struct prof_symbolizer *s = prof_symbolizer_new();
  assert_non_null(s);
  struct prof_frame_info want;
  assert_int_equal(prof_symbolize(s, addr, &want), PROF_SYM_OK);
  assert_true(ends_with(want.module, "libc.so.6"));

  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    if (hide_proc() != 0) _exit(CHILD_NO_NAMESPACE);
    struct prof_symbolizer *s2 = prof_symbolizer_new();
    struct prof_frame_info got;
    int rc = s2 ? prof_symbolize(s2, addr, &got) : PROF_SYM_INVALID;
    /* The module by its file name: the loader may name a path that /proc
     * shows through its symbolic link (/lib -> /usr/lib). */
    int same = rc == PROF_SYM_OK && strcmp(got.function, want.function) == 0 &&
               strrchr(got.module, '/') != NULL &&
               strcmp(strrchr(got.module, '/'), strrchr(want.module, '/')) == 0 &&
               strcmp(got.file, want.file) == 0 && got.line == want.line;
    if (!same)
      fprintf(stderr, "without /proc: rc %d, %s in %s; with /proc: %s in %s\n", rc,
              rc == PROF_SYM_OK ? got.function : "-", rc == PROF_SYM_OK ? got.module : "-",
              want.function, want.module);
    _exit(same ? CHILD_SAME : CHILD_DIFFERENT);
  }
  int status = 0;
  pid_t w;
  while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
  }
  assert_int_equal(w, pid);
  prof_symbolizer_free(s);
  assert_true(WIFEXITED(status));
  if (WEXITSTATUS(status) == CHILD_NO_NAMESPACE) skip();
  assert_int_equal(WEXITSTATUS(status), CHILD_SAME);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bias),
      cmocka_unit_test(test_loader_counts),
      cmocka_unit_test(test_symbolize_without_proc),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
