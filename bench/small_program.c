/* small_program.c: a small C program for bench/startup.py: reads its
 * arguments into a few heap strings, sorts them, prints a line, exits. What
 * many short-lived tools do at start-up, with the allocator on the path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
  enum { N = 64 };
  char *words[N];
  for (int i = 0; i < N; i++) {
    const char *src = argc > 1 ? argv[1 + i % (argc - 1)] : "word";
    size_t len = strlen(src) + 16;
    words[i] = malloc(len);
    if (words[i] == NULL) return 1;
    snprintf(words[i], len, "%s-%02d", src, (i * 37) % N);
  }
  qsort(words, N, sizeof words[0], cmp);
  printf("%s .. %s\n", words[0], words[N - 1]);
  for (int i = 0; i < N; i++) free(words[i]);
  return 0;
}
