/* leakdemo.c: the demo program of README's `allocprof leaks` example: a
 * small server loop of 40 ticks of 50 ms. Each tick it handles requests
 * (2 MiB of buffers, the last tick's freed: a steady level), remembers 64
 * KiB of them that it never forgets (the leak), and from tick 8 to 24 holds
 * a 50 MiB snapshot that it then frees. It prints what it leaked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TICKS 40

static void *buffers[2][512];
static void *snapshot[50];
static size_t leaked;

/* 512 buffers of 4 KiB for this tick's requests; last tick's are freed. */
static void handle_requests(int tick) {
  void **now = buffers[tick % 2], **old = buffers[(tick + 1) % 2];
  for (int i = 0; i < 512; i++) {
    now[i] = malloc(4096);
    if (now[i]) memset(now[i], tick, 64);
  }
  for (int i = 0; i < 512; i++) free(old[i]), old[i] = NULL;
}

struct entry {
  struct entry *next;
  char key[1016];
};
static struct entry *history;

/* The leak: 64 entries of 1 KiB a tick, kept in a list nobody trims. */
static void remember_requests(int tick) {
  for (int i = 0; i < 64; i++) {
    struct entry *e = malloc(sizeof *e);
    if (!e) abort();
    snprintf(e->key, sizeof e->key, "request %d.%d", tick, i);
    e->next = history;
    history = e;
    leaked += sizeof *e;
  }
}

/* 50 MiB held from tick 8 to tick 24, then freed: not a leak. */
static void load_snapshot(int tick) {
  if (tick == 8)
    for (int i = 0; i < 50; i++)
      if ((snapshot[i] = malloc(1 << 20))) memset(snapshot[i], 1, 4096);
  if (tick == 24)
    for (int i = 0; i < 50; i++) free(snapshot[i]), snapshot[i] = NULL;
}

int main(void) {
  for (int tick = 0; tick < TICKS; tick++) {
    handle_requests(tick);
    remember_requests(tick);
    load_snapshot(tick);
    nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
  }
  printf("leakdemo: %d ticks, %zu bytes leaked\n", TICKS, leaked);
  return 0;
}
