/* heapdemo.c: the bundled demo program that README's main job profiles. It
 * builds a heap whose shape is known: a word index (many small strings and
 * hash nodes), a cache of 64 KiB buffers, a log that grows by realloc, and
 * some scratch allocations that are freed again. It prints what it holds so
 * a profile of it can be checked against the truth. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct word {
  char *text;
  unsigned count;
  struct word *next;
};

#define BUCKETS 4096

static unsigned hash(const char *s) {
  unsigned h = 2166136261u;
  while (*s) h = (h ^ (unsigned char)*s++) * 16777619u;
  return h;
}

/* ~20000 distinct words: 20000 nodes and 20000 strings stay live. */
static struct word **build_index(unsigned nwords) {
  struct word **table = calloc(BUCKETS, sizeof *table);
  char buf[32];
  for (unsigned i = 0; i < nwords * 3; i++) {
    snprintf(buf, sizeof buf, "w%u", (i * 2654435761u) % nwords);
    unsigned b = hash(buf) % BUCKETS;
    struct word *w = table[b];
    while (w != NULL && strcmp(w->text, buf) != 0) w = w->next;
    if (w == NULL) {
      w = malloc(sizeof *w);
      w->text = strdup(buf);
      w->count = 0;
      w->next = table[b];
      table[b] = w;
    }
    w->count++;
  }
  return table;
}

/* 64 buffers of 64 KiB: large objects. */
static void **build_cache(unsigned n) {
  void **cache = malloc(n * sizeof *cache);
  for (unsigned i = 0; i < n; i++) {
    cache[i] = malloc(64 << 10);
    memset(cache[i], (int)i, 64 << 10);
  }
  return cache;
}

/* A log grown line by line with realloc, ending near 1 MiB. */
static char *build_log(size_t *len) {
  char *log = NULL;
  size_t n = 0;
  for (unsigned i = 0; n < (1 << 20) - 64; i++) {
    char line[64];
    int m = snprintf(line, sizeof line, "event %u happened\n", i);
    log = realloc(log, n + (size_t)m + 1);
    memcpy(log + n, line, (size_t)m + 1);
    n += (size_t)m;
  }
  *len = n;
  return log;
}

/* Scratch work that frees everything it allocates. */
static unsigned long scratch(unsigned rounds) {
  unsigned long sum = 0;
  for (unsigned r = 0; r < rounds; r++) {
    void *tmp[256];
    for (unsigned i = 0; i < 256; i++) {
      tmp[i] = malloc(16 + (i * 37) % 2000);
      if (tmp[i] == NULL) exit(1);
      ((char *)tmp[i])[0] = (char)i; /* touched, and never read uninitialised */
      sum += (unsigned long)((char *)tmp[i])[0] & 1;
    }
    for (unsigned i = 0; i < 256; i++) free(tmp[i]);
  }
  return sum;
}

int main(void) {
  struct word **index = build_index(20000);
  void **cache = build_cache(64);
  size_t log_len;
  char *log = build_log(&log_len);
  unsigned long s = scratch(2000);
  unsigned words = 0;
  for (unsigned b = 0; b < BUCKETS; b++)
    for (struct word *w = index[b]; w != NULL; w = w->next) words++;
  printf("heapdemo: %u words indexed, %u cache buffers of 64 KiB, log of %zu bytes (scratch %lu)\n",
         words, 64u, log_len, s & 1);
  (void)cache;
  (void)log;
  return 0; /* the index, cache and log are still live at exit, on purpose */
}
