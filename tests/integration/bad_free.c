/* bad_free: freeing a pointer the allocator never handed out must abort loudly.
 *
 * usage: bad_free CASE     (bad_free --list prints the cases)
 *
 * The parent forks a child that writes the bad address on its stdout and then
 * passes it to free (or realloc). The parent reads the child's stdout and
 * stderr and passes only if the child was killed by SIGABRT and wrote, on
 * stderr, a line holding the address in hex. A child that returns from free,
 * exits, or dies of another signal (SIGSEGV) fails the test.
 *
 * Built with IT_EXPECT_LIBALLOC the program first checks that its free is
 * liballoc's.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <poll.h>
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
  if (ok) printf("bad_free %s: ok (SIGABRT, address %s reported)\n", c->name, hex);
  return ok ? 0 : 1;
}
