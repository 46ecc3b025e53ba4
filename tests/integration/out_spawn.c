/* out_spawn.c: a program that starts another process in each of the ways a
 * program can, for out_owner.sh (one name, one process: libprof/trigger_out.c).
 * Run with liballoc.so in LD_PRELOAD and ALLOCPROF_OUT without %p. Each
 * process allocates (ALLOCPROF_RATE=1 makes every one take samples) and
 * prints "NAME=PID" on stdout; a parent waits for its child before it exits,
 * so the child writes its exit profile first.
 *
 *   leaf                   allocates, prints "leaf=PID", exits 0
 *   fork                   forks a child that allocates and exit(0)s
 *   forkexec SELF          forks a child that execs SELF leaf
 *   spawn SELF             posix_spawn of SELF leaf
 *   system SELF            system("SELF leaf")
 *   selfexec SELF          execs SELF leaf (the same process, a new program)
 *   signal_spawn SELF FILE raises ALLOCPROF_SIGNAL's SIGUSR2, waits for FILE
 *                          (the signal dump), then posix_spawn of SELF leaf */
#define _GNU_SOURCE
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "it_common.h"

extern char **environ;

static void *kept[200];

static void allocate(void) {
  for (int i = 0; i < 200; i++) {
    kept[i] = malloc(it_opaque(1000 + (size_t)i));
    if (kept[i] == NULL) exit(70);
    memset(kept[i], 1, 16);
  }
}

static void say(const char *name) {
  printf("%s=%ld\n", name, (long)getpid());
  fflush(stdout);
}

static int wait_ok(pid_t pid) {
  int st;
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "out_spawn: child %ld failed\n", (long)pid);
    return 1;
  }
  return 0;
}

static int spawn_leaf(const char *self) {
  char *argv[] = {(char *)self, "leaf", NULL};
  pid_t pid;
  if (posix_spawn(&pid, self, NULL, NULL, argv, environ) != 0) return 1;
  return wait_ok(pid);
}

/* Polls for FILE (the profiler thread writes it), for a minute at most. */
static int wait_file(const char *file) {
  struct stat st;
  for (int i = 0; i < 60000; i++) {
    if (stat(file, &st) == 0) return 0;
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
  }
  fprintf(stderr, "out_spawn: %s never appeared\n", file);
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  const char *m = argv[1], *self = argc > 2 ? argv[2] : NULL;
  allocate();
  int rc = 0;
  if (strcmp(m, "leaf") == 0) {
    say("leaf");
    return 0;
  }
  if (strcmp(m, "selfexec") == 0 && self != NULL) {
    say("selfexec");
    execl(self, self, "leaf", (char *)NULL);
    return 1;
  }
  say("parent");
  if (strcmp(m, "fork") == 0) {
    pid_t pid = fork();
    if (pid == 0) {
      allocate();
      say("child");
      exit(0);
    }
    rc = pid < 0 || wait_ok(pid);
  } else if (strcmp(m, "forkexec") == 0 && self != NULL) {
    pid_t pid = fork();
    if (pid == 0) {
      execl(self, self, "leaf", (char *)NULL);
      _exit(1);
    }
    rc = pid < 0 || wait_ok(pid);
  } else if (strcmp(m, "spawn") == 0 && self != NULL) {
    rc = spawn_leaf(self);
  } else if (strcmp(m, "system") == 0 && self != NULL) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' leaf", self);
    int st = system(cmd);
    rc = !(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
  } else if (strcmp(m, "signal_spawn") == 0 && argc == 4) {
    raise(SIGUSR2);
    rc = wait_file(argv[3]) || spawn_leaf(self);
  } else {
    return 2;
  }
  return rc;
}
