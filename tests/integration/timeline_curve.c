/* timeline_curve.c: a program with a known in-use curve, for `allocprof
 * timeline` (timeline.sh): grow_block holds 1, 2, ... 8 MiB, one more
 * block after each step has been seen by two snapshots of the stream;
 * then all of it is freed and after_free holds 3 MiB until exit.
 *
 * Usage: timeline_curve STREAM (the file ALLOCPROF_STREAM names). It waits
 * for events, never for a fixed time: after each step it waits until the
 * stream has grown twice, so that at least one whole snapshot was taken
 * after the step (dumps are serialized: the second one began after the
 * first was written, which was after the step). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MIB (1024 * 1024)
#define STEPS 8

static const char *stream;

static long long stream_size(void) {
  struct stat st;
  return stat(stream, &st) == 0 ? (long long)st.st_size : -1;
}

/* Waits until the stream has grown twice (30 s at most: then fails). */
static void wait_snapshots(void) {
  long long size = stream_size();
  int grown = 0;
  for (long i = 0; grown < 2; i++) {
    if (i > 30 * 1000) {
      fprintf(stderr, "timeline_curve: no snapshot in 30 s\n");
      exit(1);
    }
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
    long long now = stream_size();
    if (now > size) {
      grown++;
      size = now;
    }
  }
}

__attribute__((noinline)) static void *grow_block(void) {
  char *p = malloc(MIB);
  if (p) memset(p, 1, MIB);
  return p;
}

__attribute__((noinline)) static void *after_free(void) {
  char *p = malloc(3 * MIB);
  if (p) memset(p, 2, 3 * MIB);
  return p;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: timeline_curve STREAM\n");
    return 2;
  }
  stream = argv[1];
  void *blocks[STEPS];
  wait_snapshots();
  for (int i = 0; i < STEPS; i++) {
    if (!(blocks[i] = grow_block())) return 1;
    wait_snapshots();
  }
  for (int i = 0; i < STEPS; i++) free(blocks[i]);
  wait_snapshots();
  void *held = after_free();
  if (!held) return 1;
  wait_snapshots();
  printf("done\n");
  return 0;
}
