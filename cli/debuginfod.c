/* debuginfod.c: asking debuginfod servers for debug files through a
 * dlopen'd libdebuginfod. Contract: debuginfod.h. */
#include "debuginfod.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

/* libdebuginfod's client API (elfutils/debuginfod.h, stable since elfutils
 * 0.179), declared here so that building allocprof does not need its -dev
 * package: the library is only ever found at run time. */
typedef struct debuginfod_client debuginfod_client;

struct dinfod {
  void *lib;
  debuginfod_client *client;
  debuginfod_client *(*begin)(void);
  int (*find)(debuginfod_client *, const unsigned char *, int, char **);
  void (*end)(debuginfod_client *);
  char *urls;  /* what DEBUGINFOD_URLS was set to, for messages */
  bool failed; /* a server could not be used: not asked again */
  bool warned_answer;
};

/* urls[0..n), then DEBUGINFOD_URLS, space-separated; NULL when empty or out
 * of memory. */
static char *join_urls(char *const *urls, size_t n) {
  const char *env = getenv("DEBUGINFOD_URLS");
  size_t len = env ? strlen(env) + 1 : 1;
  for (size_t i = 0; i < n; i++) len += strlen(urls[i]) + 1;
  char *s = malloc(len), *w = s;
  if (!s) return NULL;
  for (size_t i = 0; i < n; i++) w += sprintf(w, "%s ", urls[i]);
  w += sprintf(w, "%s", env ? env : "");
  while (w > s && w[-1] == ' ') *--w = 0;
  if (strspn(s, " \t\n") == strlen(s)) {
    free(s);
    return NULL;
  }
  return s;
}

dinfod *dinfod_open(char *const *urls, size_t n) {
  char *all = join_urls(urls, n);
  if (!all) return NULL;
  dinfod *d = calloc(1, sizeof *d);
  if (!d) {
    free(all);
    return NULL;
  }
  d->urls = all;
  /* libdebuginfod reads its servers and its timeout from the environment */
  if (setenv("DEBUGINFOD_URLS", all, 1) != 0 ||
      (!getenv("DEBUGINFOD_TIMEOUT") && setenv("DEBUGINFOD_TIMEOUT", DINFOD_TIMEOUT, 1) != 0)) {
    cli_error("debuginfod: out of memory");
    dinfod_close(d);
    return NULL;
  }
  d->lib = dlopen("libdebuginfod.so.1", RTLD_NOW | RTLD_LOCAL);
  if (d->lib) {
    *(void **)&d->begin = dlsym(d->lib, "debuginfod_begin");
    *(void **)&d->find = dlsym(d->lib, "debuginfod_find_debuginfo");
    *(void **)&d->end = dlsym(d->lib, "debuginfod_end");
  }
  if (!d->begin || !d->find || !d->end || !(d->client = d->begin())) {
    cli_error(
        "debuginfod: cannot use libdebuginfod.so.1 (Debian: libdebuginfod1): %s; "
        "servers not asked",
        d->lib && !d->begin ? dlerror()
        : d->lib            ? "it failed to start"
                            : dlerror());
    dinfod_close(d);
    return NULL;
  }
  return d;
}

int dinfod_find(dinfod *d, const char *build_id, char **path) {
  *path = NULL;
  if (!d || d->failed) return -1;
  char *p = NULL;
  /* length 0: build_id is hex text */
  int fd = d->find(d->client, (const unsigned char *)build_id, 0, &p);
  if (fd >= 0) {
    close(fd);
    *path = p;
    return p ? 0 : -1;
  }
  free(p);
  if (fd != -ENOENT) {
    /* down, silent, or not speaking HTTP: once, then no more asking */
    cli_error("debuginfod: %s: %s; no server asked again (DEBUGINFOD_TIMEOUT=%s)", d->urls,
              strerror(-fd), getenv("DEBUGINFOD_TIMEOUT"));
    d->failed = true;
  }
  return -1;
}

void dinfod_bad_answer(dinfod *d, const char *build_id, const char *why) {
  if (!d || d->warned_answer) return;
  d->warned_answer = true;
  cli_error("debuginfod: %s: the answer for build ID %s is %s: not used", d->urls, build_id, why);
}

void dinfod_close(dinfod *d) {
  if (!d) return;
  if (d->client) d->end(d->client);
  /* libdebuginfod stays loaded: it brings libcurl and a TLS stack whose
   * global state is not all given back on unload, and would be left
   * allocated and unreachable (LeakSanitizer reports it). The command ends
   * soon after. */
  free(d->urls);
  free(d);
}
