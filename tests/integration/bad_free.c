/* bad_free: freeing a pointer the allocator never handed out, or one it
 * handed out and took back already (a double free), must abort loudly.
 *
 * usage: bad_free CASE     (bad_free --list prints the cases)
 *
 * The parent forks a child that writes the bad address on its stdout and then
 * passes it to free (or realloc). The parent reads the child's stdout and
 * stderr and passes only if the child was killed by SIGABRT and wrote, on
 * stderr, one line, holding the address in hex (and, for a double free, the
 * words "double free" or "already freed"). A child that returns from free,
 * exits, or dies of another signal (SIGSEGV) fails the test.
 *
 * Built with IT_EXPECT_LIBALLOC the program first checks that its free is
 * liballoc's.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "it_common.h"

static _Alignas(64) char global_buf[256];

/* Hides where a pointer comes from, so the compiler neither warns about
 * freeing a non-heap object nor optimises the call. */
static void *launder(void *p) { return (void *)it_opaque((size_t)(uintptr_t)p); }

static void announce(const void *p) { it_say(1, "%p\n", p); }

static void case_stack(void) {
  _Alignas(16) char local[128];
  memset(local, 0, sizeof local);
  void *p = launder(local + 32);
  announce(p);
  free(p);
  it_say(1, "%d\n", local[0]);
}

static void case_global(void) {
  void *p = launder(global_buf);
  announce(p);
  free(p);
}

static void case_rodata(void) {
  static const char text[] = "a string in read-only data, never allocated";
  void *p = launder((void *)(uintptr_t)text);
  announce(p);
  free(p);
}

static void case_interior_small(void) {
  char *b = malloc(it_opaque(64));
  memset(b, 1, 64);
  void *p = launder(b + 16);
  announce(p);
  free(p);
}

static void case_interior_small_odd(void) {
  char *b = malloc(it_opaque(100));
  memset(b, 1, 100);
  void *p = launder(b + 1);
  announce(p);
  free(p);
}

static void case_interior_medium(void) {
  char *b = malloc(it_opaque(20000));
  memset(b, 1, 20000);
  void *p = launder(b + 8192);
  announce(p);
  free(p);
}

static void case_interior_large(void) {
  size_t n = it_opaque((size_t)1 << 20);
  char *b = malloc(n);
  memset(b, 1, n);
  void *p = launder(b + 8192); /* page aligned, inside a large block */
  announce(p);
  free(p);
}

static void case_mmap(void) {
  void *m = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) _exit(4);
  void *p = launder(m);
  announce(p);
  free(p);
}

static void case_realloc_stack(void) {
  _Alignas(16) char local[128];
  memset(local, 0, sizeof local);
  void *p = launder(local);
  announce(p);
  void *q = realloc(p, it_opaque(1000));
  it_say(1, "%p %d\n", q, local[0]);
}

/* ---- Double frees ----------------------------------------------------------
 * Blocks are filled with a pattern first, as a program's would be. */

static void *filled(size_t n) {
  unsigned char *p = malloc(it_opaque(n));
  if (p == NULL) _exit(4);
  memset(p, 0x5a, n);
  return p;
}

/* a, b freed, then a again: glibc's "double free detected in tcache 2". */
static void aba(size_t n) {
  void *a = filled(n), *b = filled(n);
  free(a);
  free(b);
  announce(a);
  free(it_launder(a));
}
static void case_double_free_aba(void) { aba(48); }
static void case_double_free_aba_8(void) { aba(8); } /* the smallest class: one word */
static void case_double_free_aba_32k(void) { aba(32768); }

static void case_double_free_immediate(void) {
  void *a = filled(100);
  free(a);
  announce(a);
  free(it_launder(a));
}

/* a freed first, then 3000 blocks of its class: the thread's list flushed
 * batches to the central lists many times over. */
static void case_double_free_many(void) {
  enum { N = 3000 };
  static void *others[N];
  void *a = filled(640);
  for (int i = 0; i < N; i++) others[i] = filled(640);
  free(a);
  for (int i = 0; i < N; i++) free(others[i]);
  announce(a);
  free(it_launder(a));
}

/* malloc_trim gives every cached object back to its span's bitmap. */
static void case_double_free_trimmed(void) {
  void *a = filled(200), *b = filled(200);
  free(a);
  malloc_trim(0);
  announce(a);
  free(it_launder(a));
  free(b);
}

static void *free_and_exit(void *p) {
  free(p);
  return NULL;
}

/* Another thread freed it and exited (its cache went back to the central
 * lists); this one frees it again. */
static void case_double_free_thread(void) {
  void *a = filled(96), *b = filled(96);
  pthread_t t;
  if (pthread_create(&t, NULL, free_and_exit, a) != 0 || pthread_join(t, NULL) != 0) _exit(4);
  announce(a);
  free(it_launder(a));
  free(b);
}

static void *free_aba(void *arg) {
  void **ab = arg;
  free(ab[0]);
  free(ab[1]);
  announce(ab[0]);
  free(it_launder(ab[0]));
  /* Caught at the call, not later when the thread's cache is flushed. */
  it_say(1, "RETURNED\n");
  _exit(3);
}

/* a, b, a freed by a thread that did not allocate them (its remote list). */
static void case_double_free_remote(void) {
  void *ab[2] = {filled(96), filled(96)};
  pthread_t t;
  if (pthread_create(&t, NULL, free_aba, ab) != 0) _exit(4);
  pthread_join(t, NULL);
}

static void case_double_free_large(void) {
  void *a = filled((size_t)1 << 20);
  free(a);
  announce(a);
  free(it_launder(a));
}

/* The second of two neighbouring large blocks, after both were freed (and
 * their pages merged into one free run). */
static void case_double_free_large_merged(void) {
  void *a = filled(100000), *b = filled(100000);
  free(a);
  free(b);
  announce(b);
  free(it_launder(b));
}

static void case_realloc_freed(void) {
  void *a = filled(64), *b = filled(64);
  free(a);
  free(b);
  announce(a);
  void *q = realloc(it_launder(a), it_opaque(32));
  it_say(1, "%p\n", q);
}

struct bad_case {
  const char *name;
  void (*run)(void);
};

static const struct bad_case cases[] = {
    {"stack", case_stack},
    {"global", case_global},
    {"rodata", case_rodata},
    {"interior_small", case_interior_small},
    {"interior_small_odd", case_interior_small_odd},
    {"interior_medium", case_interior_medium},
    {"interior_large", case_interior_large},
    {"mmap", case_mmap},
    {"realloc_stack", case_realloc_stack},
    {"double_free_aba", case_double_free_aba},
    {"double_free_aba_8", case_double_free_aba_8},
    {"double_free_aba_32k", case_double_free_aba_32k},
    {"double_free_immediate", case_double_free_immediate},
    {"double_free_many", case_double_free_many},
    {"double_free_trimmed", case_double_free_trimmed},
    {"double_free_thread", case_double_free_thread},
    {"double_free_remote", case_double_free_remote},
    {"double_free_large", case_double_free_large},
    {"double_free_large_merged", case_double_free_large_merged},
    {"realloc_freed", case_realloc_freed},
};
#define NCASES (sizeof cases / sizeof cases[0])

/* Appends what fd has to buf (at most cap-1 bytes kept); returns 0 at EOF. */
static int drain(int fd, char *buf, size_t *len, size_t cap) {
  char tmp[4096];
  ssize_t n = read(fd, tmp, sizeof tmp);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 1;
  if (n <= 0) return 0;
  size_t take = (size_t)n;
  if (take > cap - 1 - *len) take = cap - 1 - *len;
  memcpy(buf + *len, tmp, take);
  *len += take;
  buf[*len] = 0;
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: bad_free CASE | --list\n");
    return 2;
  }
  if (strcmp(argv[1], "--list") == 0) {
    for (size_t i = 0; i < NCASES; i++) printf("%s\n", cases[i].name);
    return 0;
  }
  const struct bad_case *c = NULL;
  for (size_t i = 0; i < NCASES; i++)
    if (strcmp(argv[1], cases[i].name) == 0) c = &cases[i];
  if (!c) {
    fprintf(stderr, "bad_free: no case %s\n", argv[1]);
    return 2;
  }
#ifdef IT_EXPECT_LIBALLOC
  it_require_liballoc("bad_free");
#endif

  int out[2], err[2];
  if (pipe(out) || pipe(err)) {
    perror("pipe");
    return 1;
  }
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 1;
  }
  if (pid == 0) {
    struct rlimit core = {0, 0};
    setrlimit(RLIMIT_CORE, &core);
    dup2(out[1], 1);
    dup2(err[1], 2);
    close(out[0]);
    close(err[0]);
    close(out[1]);
    close(err[1]);
    alarm(30);
    c->run();
    it_say(1, "RETURNED\n");
    _exit(3);
  }
  close(out[1]);
  close(err[1]);

  static char obuf[65536], ebuf[65536];
  size_t olen = 0, elen = 0;
  int oopen = 1, eopen = 1;
  while (oopen || eopen) {
    struct pollfd fds[2] = {{oopen ? out[0] : -1, POLLIN, 0}, {eopen ? err[0] : -1, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      perror("poll");
      return 1;
    }
    if (fds[0].revents) oopen = drain(out[0], obuf, &olen, sizeof obuf);
    if (fds[1].revents) eopen = drain(err[0], ebuf, &elen, sizeof ebuf);
  }
  int st;
  if (waitpid(pid, &st, 0) != pid) {
    perror("waitpid");
    return 1;
  }
  fprintf(stderr, "---- child stdout:\n%s---- child stderr:\n%s----\n", obuf, ebuf);

  int ok = 1;
  if (WIFSIGNALED(st)) {
    if (WTERMSIG(st) != SIGABRT) {
      fprintf(stderr, "bad_free %s: FAIL: child killed by signal %d (%s), not SIGABRT\n", c->name,
              WTERMSIG(st), strsignal(WTERMSIG(st)));
      ok = 0;
    }
  } else {
    fprintf(stderr, "bad_free %s: FAIL: child exited with status %d instead of aborting\n", c->name,
            WEXITSTATUS(st));
    ok = 0;
  }

  /* the address the child freed: the first line of its stdout */
  unsigned long long addr = strtoull(obuf, NULL, 16);
  if (addr == 0) {
    fprintf(stderr, "bad_free %s: FAIL: child did not report the address\n", c->name);
    return 1;
  }
  char hex[32];
  snprintf(hex, sizeof hex, "%llx", addr);
  for (char *s = ebuf; *s; s++) *s = (char)tolower((unsigned char)*s);
  if (!strstr(ebuf, hex)) {
    fprintf(stderr, "bad_free %s: FAIL: stderr does not mention the address %s\n", c->name, hex);
    ok = 0;
  }
  char *nl = strchr(ebuf, '\n');
  if (nl == NULL || nl[1] != 0 || strstr(ebuf, "fatal error") == NULL) {
    fprintf(stderr, "bad_free %s: FAIL: stderr is not one fatal error line\n", c->name);
    ok = 0;
  }
  int twice = strncmp(c->name, "double_free", 11) == 0 || strcmp(c->name, "realloc_freed") == 0;
  if (twice && !strstr(ebuf, "double free") && !strstr(ebuf, "already freed")) {
    fprintf(stderr, "bad_free %s: FAIL: stderr does not say it is a double free\n", c->name);
    ok = 0;
  }
  if (ok) printf("bad_free %s: ok (SIGABRT, address %s reported)\n", c->name, hex);
  return ok ? 0 : 1;
}
