/* legacy_read: how long `allocprof convert` takes to read a 50 MB legacy
 * heap profile, and the memory it needs, against the bar set for it
 * (issue 17): under a few seconds (3 s here), memory bounded by the input.
 * It writes three files of about 50 MB into DIR and converts each:
 *   tcmalloc  gperftools' heap_v2 text, 130,000 stacks 24 deep over 60,000
 *             distinct return addresses in 4 objects (a big service's heap);
 *   jemalloc  the same stacks in jemalloc's format, two threads each;
 *   distinct  the worst case for memory: every address new (one location
 *             each), 11 bytes of text per location; timed, no bar (most
 *             a third of its time is gzip compressing the result).
 * For each it prints the input size, the wall-clock and CPU time (user +
 * system) of the child `allocprof convert -o DIR/out.pb.gz FILE`, its peak
 * RSS (ru_maxrss) and RSS per input byte. The verdict is on CPU time: the
 * command is single-threaded, so on a quiet machine its wall-clock time is
 * its CPU time plus reading the file, while on a shared one the wall clock
 * measures the neighbours. Exits 0 when every file converts within the
 * bar, 1 over it, 2 when it cannot run. KEEP=1 keeps the files.
 *   build/bench/bench_legacy_read build/cli/allocprof [DIR] */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench_child.h"

#define BAR_S 3.0
#define TARGET_BYTES (50L << 20)
#define DEPTH 24
#define NADDR 60000

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static const char maps[] =
    "\nMAPPED_LIBRARIES:\n"
    "555555554000-555555a00000 r-xp 00000000 08:01 100 /usr/bin/service\n"
    "7f0000000000-7f0000400000 r-xp 00000000 08:01 200 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
    "7f1000000000-7f1000800000 r-xp 00000000 08:01 300 /usr/lib/x86_64-linux-gnu/libstdc++.so.6\n"
    "7f2000000000-7f2000200000 r-xp 00000000 08:01 400 /usr/lib/x86_64-linux-gnu/libssl.so.3\n";

static uint64_t addr_pool[NADDR];

static void make_pool(void) {
  static const uint64_t base[] = {0x555555554000, 0x7f0000000000, 0x7f1000000000, 0x7f2000000000};
  for (int i = 0; i < NADDR; i++) addr_pool[i] = base[i % 4] + next() % 0x200000;
}

/* Writes stacks until the file reaches TARGET_BYTES; returns its size. */
static long write_file(const char *path, int kind) {
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  uint64_t distinct = 0x10000000;
  if (kind == 0) fprintf(f, "heap profile: 1: 1 [ 2: 2] @ heap_v2/524288\n");
  if (kind != 0) fprintf(f, "heap_v2/524288\n  t*: 1: 1 [2: 2]\n  t0: 1: 1 [2: 2]\n");
  while (ftell(f) < TARGET_BYTES) {
    long n = (long)(next() % 64) + 1;
    long bytes = n * (long)(16 + next() % 4096);
    if (kind == 0) fprintf(f, "%6ld: %8ld [%6ld: %8ld] @", n, bytes, 2 * n, 2 * bytes);
    if (kind != 0) fputc('@', f);
    for (int d = 0; d < DEPTH; d++) {
      if (kind == 2)
        fprintf(f, " 0x%llx", (unsigned long long)distinct++);
      else
        fprintf(f, " 0x%llx", (unsigned long long)addr_pool[next() % NADDR]);
    }
    fputc('\n', f);
    if (kind != 0) {
      fprintf(f, "  t*: %ld: %ld [%ld: %ld]\n", n, bytes, 2 * n, 2 * bytes);
      fprintf(f, "  t0: %ld: %ld [%ld: %ld]\n", n - n / 2, bytes - bytes / 2, n, bytes);
      if (n / 2) fprintf(f, "  t1: %ld: %ld [%ld: %ld]\n", n / 2, bytes / 2, n, bytes);
    }
  }
  fputs(maps, f);
  long size = ftell(f);
  return fclose(f) == 0 ? size : -1;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: %s ALLOCPROF [DIR]\n", argv[0]);
    return 2;
  }
  const char *dir = argc == 3 ? argv[2] : "/tmp";
  static const char *names[] = {"tcmalloc", "jemalloc", "distinct"};
  make_pool();
  int over = 0;
  for (int k = 0; k < 3; k++) {
    char path[4096], out[4096];
    snprintf(path, sizeof path, "%s/legacy_read.%s.heap", dir, names[k]);
    snprintf(out, sizeof out, "%s/legacy_read.out.pb.gz", dir);
    long size = write_file(path, k);
    char *cmd[] = {argv[1], "convert", "-o", out, path, NULL};
    struct bench_child_cost c;
    if (size < 0 || bench_run_child(cmd, NULL, &c) != 0) {
      fprintf(stderr, "legacy_read: %s: cannot write or convert %s\n", names[k], path);
      return 2;
    }
    printf(
        "%-9s %5.1f MB in %6.2f s (CPU %.2f s), peak RSS %5ld MiB (%.1f bytes per input "
        "byte): %s\n",
        names[k], (double)size / 1e6, c.secs, c.cpu, c.rss_kib / 1024,
        (double)c.rss_kib * 1024 / (double)size,
        k == 2           ? "the worst case for memory, no bar"
        : c.cpu <= BAR_S ? "within the bar"
                         : "OVER the bar");
    if (k != 2) over |= c.cpu > BAR_S;
    if (!getenv("KEEP")) unlink(path);
    unlink(out);
  }
  return over ? 1 : 0;
}
