/* scrape_cost: what one scrape of ALLOCPROF_HTTP costs a process holding N
 * distinct stacks (1,000, 10,000 or 100,000 of dump_stacks.h's): the time
 * of GET /debug/pprof/heap and of GET /metrics (first and median of the
 * later ones), the bytes each answers, the listener thread's CPU per scrape,
 * and how many allocations another thread of the program made per second
 * while scraped back to back against while not. Run it on a quiet machine:
 *   ALLOCPROF_HTTP=127.0.0.1:0 ALLOCPROF_HTTP_PORTFILE=/tmp/port \
 *   LD_PRELOAD=build/liballoc/liballoc.so build/bench/bench_scrape_cost N
 * The program is its own client (a plain socket, no allocation); it finds
 * allocprof_set_rate with dlsym, so it links no allocator. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dump_stacks.h"

#define SCRAPES 21

static uint64_t worker_ops; /* relaxed atomic */
static int worker_stop;
static void *volatile sink;
static char answer[64 << 20];

static void *worker(void *arg) {
  (void)arg;
  while (!__atomic_load_n(&worker_stop, __ATOMIC_RELAXED)) {
    sink = malloc(dump_opaque(48));
    free(sink);
    __atomic_fetch_add(&worker_ops, 1, __ATOMIC_RELAXED);
  }
  return NULL;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* CPU ms of the threads named allocprof-http: the listener, and a thread it
 * happened to start (liballoc's scavenger, whose name it inherits). */
static double listener_cpu_ms(void) {
  DIR *d = opendir("/proc/self/task");
  double ms = 0;
  struct dirent *e;
  while (d != NULL && (e = readdir(d)) != NULL) {
    char path[300], buf[1024];
    snprintf(path, sizeof path, "/proc/self/task/%s/stat", e->d_name);
    int fd = open(path, O_RDONLY);
    if (fd < 0) continue;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) continue;
    buf[n] = 0;
    if (strstr(buf, "(allocprof-http)") == NULL) continue;
    const char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    for (int field = 2; p != NULL && field < 14; field++) p = strchr(p + 1, ' '); /* to utime */
    if (p != NULL && sscanf(p + 1, "%lu %lu", &ut, &st) == 2)
      ms += (double)(ut + st) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
  }
  if (d != NULL) closedir(d);
  return ms;
}

/* GET path from 127.0.0.1:port; the bytes of the answer (head and body). */
static size_t get(int port, const char *path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    perror("scrape_cost: connect");
    exit(2);
  }
  char req[256];
  int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
  if (write(fd, req, (size_t)n) != n) exit(2);
  size_t got = 0;
  ssize_t r;
  while ((r = read(fd, answer + got, sizeof answer - got)) > 0) got += (size_t)r;
  close(fd);
  if (got < 12 || memcmp(answer + 9, "200", 3) != 0) {
    fprintf(stderr, "scrape_cost: %s did not answer 200\n", path);
    exit(2);
  }
  return got;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* SCRAPES scrapes of path: first, median of the rest, bytes, listener CPU. */
static void scrape(int port, const char *path) {
  double ms[SCRAPES], cpu0 = listener_cpu_ms();
  size_t bytes = 0;
  for (int k = 0; k < SCRAPES; k++) {
    double t0 = now_ms();
    bytes = get(port, path);
    ms[k] = now_ms() - t0;
  }
  double cpu = (listener_cpu_ms() - cpu0) / SCRAPES, first = ms[0];
  qsort(ms + 1, SCRAPES - 1, sizeof ms[0], cmp);
  printf("%-18s first %8.1f ms, median %8.2f ms, %9zu bytes, listener CPU %6.2f ms/scrape\n", path,
         first, ms[SCRAPES / 2], bytes, cpu);
}

/* Allocations per second of the worker over ms, scraping path meanwhile
 * (NULL: not scraping). */
static double ops_per_s(int port, const char *path, double ms) {
  uint64_t ops0 = __atomic_load_n(&worker_ops, __ATOMIC_RELAXED);
  double t0 = now_ms(), t;
  while ((t = now_ms()) - t0 < ms) {
    if (path != NULL)
      get(port, path);
    else
      usleep(1000);
  }
  return (double)(__atomic_load_n(&worker_ops, __ATOMIC_RELAXED) - ops0) * 1000.0 / (t - t0);
}

int main(int argc, char **argv) {
  int (*set_rate)(uint64_t);
  *(void **)&set_rate = dlsym(RTLD_DEFAULT, "allocprof_set_rate");
  const char *portfile = getenv("ALLOCPROF_HTTP_PORTFILE");
  unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 0;
  if (set_rate == NULL || portfile == NULL || n == 0 || n > DUMP_NSTACKS) {
    fprintf(stderr,
            "usage: ALLOCPROF_HTTP=127.0.0.1:0 ALLOCPROF_HTTP_PORTFILE=F "
            "LD_PRELOAD=liballoc.so bench_scrape_cost STACKS (1 to 100000)\n");
    return 2;
  }
  FILE *f = fopen(portfile, "r");
  int port = 0;
  if (f == NULL || fscanf(f, "%d", &port) != 1) {
    fprintf(stderr, "scrape_cost: no port in %s\n", portfile);
    return 2;
  }
  fclose(f);
  set_rate(1);
  (void)make_stacks; /* all DUMP_NSTACKS of them; here n only: */
  for (unsigned x = 0; x < n; x++) {
    int r = dump_table[x % DUMP_NF](0, ((x / DUMP_NF) + 7u * x) % DUMP_NF);
    __asm__ volatile("" : "+r"(r));
  }
  set_rate(524288);
  pthread_t th;
  if (pthread_create(&th, NULL, worker, NULL) != 0) return 2;
  printf("%u stacks\n", n);
  scrape(port, "/debug/pprof/heap");
  scrape(port, "/metrics");
  double quiet = ops_per_s(port, NULL, 2000), busy = ops_per_s(port, "/debug/pprof/heap", 2000);
  double quiet2 = ops_per_s(port, NULL, 2000), metrics = ops_per_s(port, "/metrics", 2000);
  printf(
      "another thread's allocations/s: %.3g not scraped, %.3g scraped back to back (heap, "
      "%+.1f%%), %.3g not scraped, %.3g (metrics, %+.1f%%)\n",
      quiet, busy, (busy / quiet - 1) * 100, quiet2, metrics, (metrics / quiet2 - 1) * 100);
  __atomic_store_n(&worker_stop, 1, __ATOMIC_RELAXED);
  pthread_join(th, NULL);
  return 0;
}
