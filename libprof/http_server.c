/* http_server.c: the listener of ALLOCPROF_HTTP (http.h): sockets,
 * connections and answers. The request parser is http_request.c, the
 * metrics http_metrics.c, the profiles profile.c.
 *
 * One thread of its own ("allocprof-http"), started with every signal
 * blocked, holds the profiler guard for its whole life (nothing it
 * allocates is sampled, like the dumps) and serves with poll(). Safe inside
 * someone's production service:
 *   - at most HTTP_CONNS connections at once. A new one evicts the oldest
 *     that has not finished sending its request (an idle or slow client
 *     cannot keep others out); when every slot is busy answering, the new
 *     one is closed at once. At most HTTP_WAITS wait for the end of a delta
 *     profile (a third gets 503), so long deltas cannot fill every slot;
 *   - a request head is at most PROF_HTTP_REQUEST_MAX bytes and must arrive
 *     within HTTP_READ_MS; an answer must make progress every
 *     HTTP_WRITE_MS. Memory is bounded: per connection its head and one
 *     answer;
 *   - every socket is non-blocking and close-on-exec, written with
 *     MSG_NOSIGNAL (a client gone mid-answer is no SIGPIPE);
 *   - a profile is built by this thread, as the profiler thread builds its
 *     dumps (dump.c serializes them): the program's threads never wait
 *     for it; the allocator's locks are held only for the snapshot;
 *   - a unix socket is made mode 0600 before it listens, and bind() never
 *     follows a symbolic link (a name that exists, link or not, is refused;
 *     only a stale socket of ours, which nobody answers, is removed);
 *   - a forked child closes the parent's sockets and serves only at a unix
 *     path with %p.
 *
 * HTTP/1.1 (1.0 accepted), GET only, one request per connection
 * (Connection: close). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "alloc_entry.h"
#include "dump.h"
#include "errmsg.h"
#include "fileio.h"
#include "http.h"
#include "mprof.h"
#include "prof_threads.h"
#include "settings.h"

#define HTTP_CONNS 4
#define HTTP_WAITS 2          /* of them at most waiting for a delta profile's end */
#define HTTP_READ_MS 5000     /* the whole request head */
#define HTTP_WRITE_MS 5000    /* between two pieces of an answer */
#define HTTP_DRAIN_MS 1000    /* after the answer, for the client to close */
#define HTTP_LIVENESS_MS 1000 /* see prof_main_thread_ended */
#define HTTP_ACCEPT_PAUSE_MS 100

enum conn_state { CONN_FREE, CONN_READ, CONN_WAIT, CONN_WRITE, CONN_DRAIN };

/* A connection. Only the server thread touches these (and a fork child,
 * where that thread no longer exists). */
struct conn {
  enum conn_state state;
  int fd;
  uint64_t deadline; /* ms (alloc_now_ms): the state's time limit */
  uint64_t since;    /* ms: when it was accepted (eviction order) */
  size_t len;        /* bytes of head read */
  char head[PROF_HTTP_REQUEST_MAX];
  struct prof_http_request req;
  struct prof_dump_base *base; /* CONN_WAIT: the delta profile's start */
  char *out;                   /* CONN_WRITE: the answer, malloc'd */
  size_t outlen, outpos;
};

static struct conn *conns; /* [HTTP_CONNS], made at start */
static int listen_fd = -1;
static struct trig_http where;                                      /* written at start */
static char portfile[TRIG_PATH_MAX];                                /* written at start */
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* ours, when UNIX */
static long sock_owner; /* the pid that made sock_path */

/* Exit: the destructor takes serve_lock (a profile being built is waited
 * for) and sets stopping; the thread builds no profile after. */
static pthread_mutex_t serve_lock = PTHREAD_MUTEX_INITIALIZER;
static int stopping; /* serve_lock */

/* ---- answers ---------------------------------------------------------------------- */

static const char *reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Internal Server Error";
  }
}

/* The answer: head and body in one malloc'd buffer. Takes body (freed). */
static int answer(struct conn *c, int status, const char *type, const char *extra, char *body,
                  size_t len) {
  char head[512];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                   "X-Content-Type-Options: nosniff\r\n%sConnection: close\r\n\r\n",
                   status, reason(status), type, len, extra);
  c->out = malloc((size_t)n + len);
  if (c->out == NULL) {
    free(body);
    return -1;
  }
  memcpy(c->out, head, (size_t)n);
  if (len) memcpy(c->out + n, body, len);
  free(body);
  c->outlen = (size_t)n + len;
  c->outpos = 0;
  c->state = CONN_WRITE;
  c->deadline = alloc_now_ms() + HTTP_WRITE_MS;
  return 0;
}

/* A text answer: an error's one line, the index. */
static int answer_text(struct conn *c, int status, const char *type, const char *extra,
                       const char *text) {
  size_t n = strlen(text);
  char *body = malloc(n + 1);
  if (body == NULL) return -1;
  memcpy(body, text, n);
  return answer(c, status, type, extra, body, n);
}

static int answer_error(struct conn *c, int status, const char *why) {
  char line[256];
  snprintf(line, sizeof line, "%d %s%s%s\n", status, reason(status), why ? ": " : "",
           why ? why : "");
  return answer_text(c, status, "text/plain; charset=utf-8", status == 405 ? "Allow: GET\r\n" : "",
                     line);
}

static const char index_html[] =
    "<!DOCTYPE html>\n<html><head><title>allocprof</title></head><body>\n"
    "<h1>allocprof: heap profiles of this process</h1>\n<ul>\n"
    "<li><a href=\"heap\">heap</a>: the heap profile (gzip pprof; ?seconds=N: a delta "
    "profile over the next N seconds)</li>\n"
    "<li><a href=\"allocs\">allocs</a>: the same, alloc_space as the default sample "
    "type</li>\n"
    "<li><a href=\"/metrics\">/metrics</a>: the allocator's and the profiler's statistics "
    "(Prometheus)</li>\n"
    "</ul>\n<p>go tool pprof http://HOST:PORT/debug/pprof/heap</p>\n</body></html>\n";

/* The profile of c's request, now (a delta's end when c->base is set). */
static int answer_profile(struct conn *c) {
  static int64_t served;
  struct prof_dump_meta meta = {PROF_TRIG_HTTP, __atomic_fetch_add(&served, 1, __ATOMIC_RELAXED)};
  struct prof_dump_view view = {c->req.route == PROF_HTTP_ALLOCS ? "alloc_space" : NULL, c->base};
  uint8_t *gz = NULL;
  size_t len = 0;
  char err[640] = "";
  pthread_mutex_lock(&serve_lock);
  int stop = stopping;
  int rc = stop ? -1 : prof_dump_gzip(&gz, &len, &meta, &view, err, sizeof err);
  pthread_mutex_unlock(&serve_lock);
  prof_dump_base_free(c->base);
  c->base = NULL;
  if (rc != 0) return answer_error(c, stop ? 503 : 500, stop ? "the process is exiting" : err);
  const char *name = c->req.route == PROF_HTTP_ALLOCS ? "allocs" : "heap";
  char extra[128];
  snprintf(extra, sizeof extra, "Content-Disposition: attachment; filename=\"%s%s\"\r\n", name,
           c->req.seconds ? "-delta" : "");
  return answer(c, 200, "application/octet-stream", extra, (char *)gz, len);
}

/* Connections waiting for a delta profile's end. */
static int waiting(void) {
  int n = 0;
  for (int i = 0; i < HTTP_CONNS; i++) n += conns[i].state == CONN_WAIT;
  return n;
}

/* c's request is whole (status from the parser): its answer, or the delta
 * profile's wait. */
static int dispatch(struct conn *c, int status) {
  if (status != 200) return answer_error(c, status, NULL);
  switch (c->req.route) {
    case PROF_HTTP_INDEX: return answer_text(c, 200, "text/html; charset=utf-8", "", index_html);
    case PROF_HTTP_METRICS: {
      char *text;
      size_t len;
      if (prof_http_metrics(&text, &len) != 0) return answer_error(c, 500, "out of memory");
      return answer(c, 200, "text/plain; version=0.0.4; charset=utf-8", "", text, len);
    }
    case PROF_HTTP_HEAP:
    case PROF_HTTP_ALLOCS:
      if (c->req.seconds == 0) return answer_profile(c);
      if (waiting() >= HTTP_WAITS) /* slots are left for other requests */
        return answer_error(c, 503, "too many delta profiles in progress");
      c->base = prof_dump_base_take();
      if (c->base == NULL) return answer_error(c, 500, "out of memory");
      c->state = CONN_WAIT;
      c->deadline = alloc_now_ms() + (uint64_t)c->req.seconds * 1000;
      return 0;
  }
  return answer_error(c, 404, NULL);
}

/* ---- connections --------------------------------------------------------------------- */

static void conn_close(struct conn *c) {
  int fd = c->fd;
  c->state = CONN_FREE; /* before the close: a fork child never closes a stale fd */
  c->fd = -1;
  if (fd >= 0) close(fd);
  free(c->out);
  c->out = NULL;
  prof_dump_base_free(c->base);
  c->base = NULL;
}

static void conn_read(struct conn *c) {
  ssize_t n = recv(c->fd, c->head + c->len, sizeof c->head - c->len, MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    conn_close(c);
    return;
  }
  if (n < 0) return;
  c->len += (size_t)n;
  int status = prof_http_parse(c->head, c->len, &c->req);
  if (status != 0 && dispatch(c, status) != 0) conn_close(c);
}

static void conn_write(struct conn *c) {
  while (c->outpos < c->outlen) {
    ssize_t n = send(c->fd, c->out + c->outpos, c->outlen - c->outpos, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      conn_close(c); /* the client is gone */
      return;
    }
    c->outpos += (size_t)n;
    c->deadline = alloc_now_ms() + HTTP_WRITE_MS;
  }
  /* all sent: half-close, and read what the client still sends until it
   * closes, so that closing with unread bytes (a reset) cannot cut the
   * answer short */
  free(c->out);
  c->out = NULL;
  shutdown(c->fd, SHUT_WR);
  c->state = CONN_DRAIN;
  c->deadline = alloc_now_ms() + HTTP_DRAIN_MS;
}

/* Bytes a client sends while it waits for a delta profile, or after its
 * answer: thrown away; its end closes the connection. */
static void conn_discard(struct conn *c) {
  char junk[1024];
  ssize_t n = recv(c->fd, junk, sizeof junk, MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) conn_close(c);
}

static void conn_event(struct conn *c, short revents) {
  switch (c->state) {
    case CONN_READ:
      if (revents & (POLLIN | POLLHUP | POLLERR)) conn_read(c);
      break;
    case CONN_WRITE:
      if (revents & (POLLOUT | POLLHUP | POLLERR)) conn_write(c);
      break;
    case CONN_WAIT:
    case CONN_DRAIN:
      if (revents & (POLLIN | POLLHUP | POLLERR)) conn_discard(c);
      break;
    case CONN_FREE: break;
  }
}

/* A connection past its time limit: the delta profile's end is due, any
 * other is closed. */
static void conn_timeout(struct conn *c, uint64_t now) {
  if (c->state == CONN_FREE || now < c->deadline) return;
  if (c->state != CONN_WAIT) {
    conn_close(c);
    return;
  }
  if (answer_profile(c) != 0)
    conn_close(c);
  else
    conn_write(c);
}

/* A slot for a new connection: a free one, else the oldest still reading. */
static struct conn *conn_slot(void) {
  struct conn *oldest = NULL;
  for (int i = 0; i < HTTP_CONNS; i++) {
    if (conns[i].state == CONN_FREE) return &conns[i];
    if (conns[i].state == CONN_READ && (oldest == NULL || conns[i].since < oldest->since))
      oldest = &conns[i];
  }
  if (oldest != NULL) conn_close(oldest);
  return oldest;
}

/* Set when accept fails for want of descriptors or memory (EMFILE...):
 * the listening socket stays readable, and polling it at once again would
 * spin; it is left out of the poll until then. */
static uint64_t accept_paused_until;

static void accept_all(void) {
  for (;;) {
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
        accept_paused_until = alloc_now_ms() + HTTP_ACCEPT_PAUSE_MS;
      return;
    }
    struct conn *c = conn_slot();
    if (c == NULL) {
      close(fd); /* every slot is answering */
      continue;
    }
    c->fd = fd;
    c->state = CONN_READ;
    c->len = 0;
    c->since = alloc_now_ms();
    c->deadline = c->since + HTTP_READ_MS;
  }
}

/* ---- the thread ------------------------------------------------------------------------- */

static void *serve(void *arg) {
  (void)arg;
  mprof_guard_enter(); /* for life: nothing of ours is sampled */
  pthread_setname_np(pthread_self(), PROF_HTTP_THREAD_NAME);
  struct pollfd pfd[HTTP_CONNS + 1];
  uint64_t next_check = alloc_now_ms() + HTTP_LIVENESS_MS;
  for (;;) {
    uint64_t now = alloc_now_ms(), until = next_check;
    int paused = now < accept_paused_until;
    pfd[0] = (struct pollfd){paused ? -1 : listen_fd, POLLIN, 0};
    if (paused && accept_paused_until < until) until = accept_paused_until;
    for (int i = 0; i < HTTP_CONNS; i++) {
      struct conn *c = &conns[i];
      short ev = c->state == CONN_WRITE ? POLLOUT : POLLIN;
      pfd[i + 1] = (struct pollfd){c->state == CONN_FREE ? -1 : c->fd, ev, 0};
      if (c->state != CONN_FREE && c->deadline < until) until = c->deadline;
    }
    int rc = poll(pfd, HTTP_CONNS + 1, until > now ? (int)(until - now) : 0);
    if (rc < 0 && errno != EINTR) return NULL;
    now = alloc_now_ms();
    for (int i = 0; i < HTTP_CONNS; i++) {
      if (rc > 0 && pfd[i + 1].revents != 0 && conns[i].fd == pfd[i + 1].fd)
        conn_event(&conns[i], pfd[i + 1].revents);
      conn_timeout(&conns[i], now);
    }
    if (rc > 0 && (pfd[0].revents & POLLIN)) accept_all();
    if (now >= next_check) {
      if (prof_main_thread_ended()) return NULL; /* not the last thread */
      next_check = now + HTTP_LIVENESS_MS;
    }
  }
}

/* Starts the thread with every signal blocked. Returns 0 or an errno. */
static int thread_start(void) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t tid;
  int entered = mprof_guard_enter(); /* pthread_create allocates: not a sample */
  int e = pthread_create(&tid, &attr, serve, NULL);
  if (entered) mprof_guard_exit();
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return e;
}

/* ---- sockets ---------------------------------------------------------------------------- */

/* A TCP socket bound as where says. Returns the fd, or -1 with errno. */
static int bind_inet(void) {
  int fam = where.kind == TRIG_HTTP_IPV4 ? AF_INET : AF_INET6;
  int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 && where.kind == TRIG_HTTP_ANY) { /* no IPv6 here: every IPv4 address */
    fam = AF_INET;
    fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  }
  if (fd < 0) return -1;
  int one = 1, v6only = where.kind == TRIG_HTTP_IPV6;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t sl;
  if (fam == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)where.port);
    if (where.kind == TRIG_HTTP_IPV4) memcpy(&a->sin_addr, where.addr, 4);
    sl = sizeof *a;
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)where.port);
    if (where.kind == TRIG_HTTP_IPV6) memcpy(&a->sin6_addr, where.addr, 16);
    sl = sizeof *a;
  }
  if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

/* Whether path is a stale socket of ours: a socket, our uid's, that nobody
 * answers. A symbolic link or anything else is not (lstat: never followed). */
static int stale_socket(const struct sockaddr_un *a) {
  struct stat st;
  if (lstat(a->sun_path, &st) != 0 || !S_ISSOCK(st.st_mode) || st.st_uid != geteuid()) return 0;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  int refused = connect(fd, (const struct sockaddr *)a, sizeof *a) != 0 && errno == ECONNREFUSED;
  close(fd);
  return refused;
}

/* A unix socket at where.path (expanded), mode 0600. Returns the fd, or -1
 * with the reason in err. */
static int bind_unix(char *err, size_t errlen) {
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  if (trig_pattern_expand(where.path, (long)getpid(), 0, (int64_t)time(NULL), a.sun_path,
                          sizeof a.sun_path) != 0) {
    formats_set_err(err, errlen, "the socket's path is longer than %zu bytes",
                    sizeof a.sun_path - 1);
    return -1;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    formats_set_err(err, errlen, "socket: %s", strerror(errno));
    return -1;
  }
  /* bind() makes the name and refuses one that exists (EADDRINUSE), a
   * symbolic link included, which it never follows */
  int rc = bind(fd, (struct sockaddr *)&a, sizeof a);
  if (rc != 0 && errno == EADDRINUSE && stale_socket(&a) && unlink(a.sun_path) == 0)
    rc = bind(fd, (struct sockaddr *)&a, sizeof a);
  if (rc != 0) {
    formats_set_err(
        err, errlen, "%s: %s", a.sun_path,
        errno == EADDRINUSE ? "exists (and is not a stale socket of ours)" : strerror(errno));
    close(fd);
    return -1;
  }
  /* 0600 before listen(): until then nobody can connect */
  if (fchmodat(AT_FDCWD, a.sun_path, 0600, AT_SYMLINK_NOFOLLOW) != 0) {
    formats_set_err(err, errlen, "%s: cannot make it mode 0600: %s", a.sun_path, strerror(errno));
    close(fd);
    return -1;
  }
  memcpy(sock_path, a.sun_path, sizeof sock_path);
  sock_owner = (long)getpid();
  return fd;
}

/* The port (TCP) or the socket's path to portfile, whole or not at all. */
static void write_portfile(unsigned port) {
  if (portfile[0] == 0) return;
  char path[TRIG_PATH_MAX], text[sizeof sock_path + 2], err[640];
  if (trig_pattern_expand(portfile, (long)getpid(), 0, (int64_t)time(NULL), path, sizeof path) !=
      0) {
    prof_say("ALLOCPROF_HTTP_PORTFILE: the name is too long");
    return;
  }
  if (where.kind == TRIG_HTTP_UNIX)
    snprintf(text, sizeof text, "%s\n", sock_path);
  else
    snprintf(text, sizeof text, "%u\n", port);
  if (fileio_write_atomic(path, text, strlen(text), err, sizeof err) != 0)
    prof_say("ALLOCPROF_HTTP_PORTFILE: %s", err);
}

/* Binds, listens, writes the port file. Returns 0, or -1 (said). */
static int listen_now(void) {
  char err[640];
  const char *value = alloc_env("ALLOCPROF_HTTP");
  int fd = where.kind == TRIG_HTTP_UNIX ? bind_unix(err, sizeof err) : bind_inet();
  if (fd < 0 && where.kind != TRIG_HTTP_UNIX)
    formats_set_err(err, sizeof err, "cannot bind: %s", strerror(errno));
  if (fd >= 0 && listen(fd, 16) != 0) {
    formats_set_err(err, sizeof err, "cannot listen: %s", strerror(errno));
    close(fd);
    fd = -1;
  }
  if (fd < 0) {
    prof_say("ALLOCPROF_HTTP=%s: %s; not serving", value ? value : "", err);
    return -1;
  }
  listen_fd = fd;
  unsigned port = where.port;
  if (where.kind != TRIG_HTTP_UNIX) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
      port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                           : ((struct sockaddr_in6 *)&ss)->sin6_port);
    if (where.port == 0)
      prof_say("ALLOCPROF_HTTP=%s: serving on port %u", value ? value : "", port);
  }
  write_portfile(port);
  return 0;
}

static int start_serving(void) {
  if (listen_now() != 0) return -1;
  int e = thread_start();
  if (e == 0) return 0;
  prof_say("ALLOCPROF_HTTP: cannot start its thread (%s); not serving", strerror(e));
  close(listen_fd);
  listen_fd = -1;
  return -1;
}

/* ---- http.h ------------------------------------------------------------------------------ */

int prof_http_start(const struct trig_http *h, const char *pf) {
  where = *h;
  snprintf(portfile, sizeof portfile, "%s", pf ? pf : "");
  int entered = mprof_guard_enter();
  conns = calloc(HTTP_CONNS, sizeof *conns);
  if (entered) mprof_guard_exit();
  if (conns == NULL) {
    prof_say("ALLOCPROF_HTTP: out of memory; not serving");
    return -1;
  }
  for (int i = 0; i < HTTP_CONNS; i++) conns[i].fd = -1;
  return start_serving();
}

void prof_http_fork_child(int serve_here) {
  if (conns == NULL) return;
  for (int i = 0; i < HTTP_CONNS; i++) conn_close(&conns[i]);
  if (listen_fd >= 0) close(listen_fd);
  listen_fd = -1;
  pthread_mutex_init(&serve_lock, NULL);
  if (serve_here && where.kind == TRIG_HTTP_UNIX && trig_pattern_has_pid(where.path))
    start_serving();
}

/* At exit: no profile is built once the process has begun to end (the
 * libraries it uses are being torn down), and our socket's name goes. */
__attribute__((destructor)) static void http_at_exit(void) {
  if (conns == NULL) return;
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 10;
  if (pthread_mutex_timedlock(&serve_lock, &until) == 0) {
    stopping = 1;
    pthread_mutex_unlock(&serve_lock);
  }
  if (sock_path[0] != 0 && sock_owner == (long)getpid()) unlink(sock_path);
}
