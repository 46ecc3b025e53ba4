/* fuzz_replay.c: a plain main() for the fuzz targets, so any compiler can
 * replay a corpus (files or directories of files) through
 * LLVMFuzzerTestOneInput, as the formats.fuzz_replay test does. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
  uint8_t *buf = NULL;
  size_t len = 0;
  char err[512];
  if (fileio_read_all(path, (size_t)64 << 20, &buf, &len, err, sizeof err) != 0) {
    fprintf(stderr, "%s\n", err);
    return -1;
  }
  LLVMFuzzerTestOneInput(buf, len);
  free(buf);
  return 0;
}

static int run_path(const char *path, size_t *count) {
  struct stat st;
  if (stat(path, &st) != 0) {
    perror(path);
    return -1;
  }
  if (!S_ISDIR(st.st_mode)) {
    (*count)++;
    return run_file(path);
  }
  DIR *d = opendir(path);
  if (!d) {
    perror(path);
    return -1;
  }
  int rc = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    size_t n = strlen(path) + strlen(e->d_name) + 2;
    char *child = malloc(n);
    if (!child) {
      rc = -1;
      break;
    }
    snprintf(child, n, "%s/%s", path, e->d_name);
    if (stat(child, &st) == 0 && S_ISREG(st.st_mode)) {
      (*count)++;
      if (run_file(child) != 0) rc = -1;
    }
    free(child);
  }
  closedir(d);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s corpus-dir-or-file...\n", argv[0]);
    return 2;
  }
  size_t count = 0;
  int rc = 0;
  for (int i = 1; i < argc; i++)
    if (run_path(argv[i], &count) != 0) rc = 1;
  printf("replayed %zu inputs\n", count);
  if (count == 0) rc = 1;
  return rc;
}
