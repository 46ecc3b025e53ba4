/* tmpdir_fixture.h: a temporary directory for a cmocka test program, made
 * before its tests and removed (with the files in it) after them. Define
 * TMPDIR_FIXTURE_NAME (the program's name) before including; the directory
 * is `dir`, and make_dir / remove_dir are the group setup and teardown;
 * at(name) is the path of name in it. */
#ifndef TMPDIR_FIXTURE_H
#define TMPDIR_FIXTURE_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];

static int make_dir(void **state) {
  (void)state;
  const char *t = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/" TMPDIR_FIXTURE_NAME ".XXXXXX", t && *t ? t : "/tmp");
  return mkdtemp(dir) ? 0 : -1;
}

/* dir/name, in one of 8 rotating buffers (a call may use several paths). */
static inline const char *at(const char *name) {
  static char path[8][512];
  static int n;
  char *p = path[n++ % 8];
  snprintf(p, 512, "%s/%s", dir, name);
  return p;
}

static int remove_dir(void **state) {
  (void)state;
  DIR *d = opendir(dir);
  if (!d) return 0;
  struct dirent *e;
  char path[512];
  while ((e = readdir(d)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    unlink(path);
  }
  closedir(d);
  rmdir(dir);
  return 0;
}

#endif /* TMPDIR_FIXTURE_H */
