/* run_report.c: the profiles `allocprof run` lists when its program ends
 * (run_report.h). Overview of the command: cmd_run.c.
 *
 * Which profiles were written: every process of the run (children, the
 * programs they exec, whatever the pattern makes of their names) appends
 * the path of each profile it writes to a list run keeps in a private
 * directory (ALLOCPROF_RUN_LOG; libprof/runlog.c). A directory listing
 * before and after would miss names made by %p in a directory's name and
 * take in files that other programs write there meanwhile. A run inside a
 * run passes its list on to the outer one. Should the list be impossible
 * to make (neither TMPDIR nor /tmp writable), run falls back to the files
 * that match the pattern for PROG's pid. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "run_report.h"
#include "settings.h"

/* ---- the profiles written ---- */

/* The glob that matches what PATTERN becomes for process pid (any process
 * when pid < 0). */
static void pattern_glob(char *out, size_t len, const char *pattern, pid_t pid) {
  size_t used = 0;
  for (const char *p = pattern; *p && used + 24 < len; p++) {
    if (p[0] == '%' && p[1] == 'p' && pid < 0) {
      out[used++] = '*';
      p++;
    } else if (p[0] == '%' && p[1] == 'p') {
      used += (size_t)snprintf(out + used, len - used, "%ld", (long)pid);
      p++;
    } else if (p[0] == '%' && (p[1] == 'n' || p[1] == 't')) {
      out[used++] = '*';
      p++;
    } else if (p[0] == '%' && p[1] == '%') {
      out[used++] = '%';
      p++;
    } else {
      if (strchr("*?[]\\", *p)) out[used++] = '\\';
      out[used++] = *p;
    }
  }
  out[used] = 0;
}

void run_report_pattern(const char *pattern, pid_t pid) {
  char pat[PATH_MAX * 2];
  pattern_glob(pat, sizeof pat, pattern, pid);
  glob_t g;
  int r = glob(pat, 0, NULL, &g);
  if (r == 0 && g.gl_pathc) {
    for (size_t i = 0; i < g.gl_pathc; i++)
      fprintf(stderr, "allocprof: profile written: %s\n", g.gl_pathv[i]);
  } else {
    fprintf(stderr, "allocprof: no profile written (none matches %s)\n", pat);
  }
  if (r == 0) globfree(&g);
}

/* ---- the list of profiles written (ALLOCPROF_RUN_LOG) ---- */

int run_log_make(struct run_log *log) {
  const char *tmp = getenv("TMPDIR");
  const char *inherited = getenv("ALLOCPROF_RUN_LOG");
  snprintf(log->outer, sizeof log->outer, "%s", inherited ? inherited : "");
  log->made = false;
  snprintf(log->dir, sizeof log->dir, "%s/allocprof-run.XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (mkdtemp(log->dir) == NULL) {
    snprintf(log->dir, sizeof log->dir, "/tmp/allocprof-run.XXXXXX");
    if (mkdtemp(log->dir) == NULL) return -1;
  }
  snprintf(log->path, sizeof log->path, "%s/profiles", log->dir);
  int fd = open(log->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 || setenv("ALLOCPROF_RUN_LOG", log->path, 1) != 0) {
    if (fd >= 0) {
      close(fd);
      unlink(log->path);
    }
    rmdir(log->dir);
    return -1;
  }
  close(fd);
  log->made = true;
  return 0;
}

void run_log_remove(struct run_log *log) {
  if (!log->made) return;
  unlink(log->path);
  rmdir(log->dir);
  log->made = false;
}

/* The list's contents, NUL-terminated records, malloc'd; NULL if unreadable. */
static char *run_log_read(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return NULL;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap + 1);
  for (;;) {
    if (buf == NULL) break;
    if (n == cap) {
      char *nb = realloc(buf, cap * 2 + 1);
      if (nb == NULL) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    n += (size_t)r;
  }
  close(fd);
  if (buf != NULL) buf[n] = 0; /* a record cut short still ends */
  *len = n;
  return buf;
}

struct record {
  const char *path;
  size_t order; /* position in the list: the order the files were written */
  bool dup;
};

static int by_path(const void *a, const void *b) {
  const struct record *x = a, *y = b;
  int c = strcmp(x->path, y->path);
  return c != 0 ? c : (x->order > y->order) - (x->order < y->order);
}

static int by_order(const void *a, const void *b) {
  const struct record *x = a, *y = b;
  return (x->order > y->order) - (x->order < y->order);
}

/* Appends path to the outer run's list, as the library would. */
static void tell_outer(const char *outer, const char *path) {
  int fd = open(outer, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return;
  if (write(fd, path, strlen(path) + 1) < 0) { /* the outer list is a convenience */
  }
  close(fd);
}

/* Profile path's inuse_space total (-1 when it has none) and its
 * trigger= comment (buf, "" when none). False when it cannot be read. */
static bool inuse_of(const char *path, double *inuse, char *trigger, size_t len) {
  profile_pb *p = NULL;
  if (cli_load(path, &p) != 0) return false;
  trigger[0] = 0;
  for (size_t i = 0; i < p->n_comment; i++) {
    const char *c = cli_str(p, p->comment[i]);
    if (strncmp(c, "trigger=", 8) == 0) snprintf(trigger, len, "%s", c);
  }
  *inuse = -1;
  for (size_t k = 0; k < p->n_sample_type; k++) {
    if (strcmp(cli_type_name(p, k), "inuse_space") != 0) continue;
    *inuse = 0;
    for (size_t i = 0; i < p->n_sample; i++) *inuse += (double)p->sample[i]->value[k];
  }
  profile_free(p);
  return true;
}

/* Names the profile of the highest in-use total of those listed (shown:
 * as listed; paths: as logged; streams left out): the one written at the
 * highest peak, or a later one (the exit's) when in use rose past the last
 * peak's level without a dump. */
static void report_peak(const char **shown, const char **paths, size_t n) {
  size_t best = n;
  double top = -1;
  char trigger[128] = "", best_trigger[128] = "";
  for (size_t i = 0; i < n; i++) {
    double inuse = -1;
    if (!inuse_of(paths[i], &inuse, trigger, sizeof trigger) || inuse <= top) continue;
    top = inuse, best = i;
    memcpy(best_trigger, trigger, sizeof trigger);
  }
  if (best == n) return;
  char a[32];
  fprintf(stderr, "allocprof: the peak: %s (%s%sinuse_space %s, the highest of %zu profile%s)\n",
          shown[best], best_trigger, best_trigger[0] ? ", " : "", cli_human(a, top, "bytes", false),
          n, n == 1 ? "" : "s");
}

/* What the run's list is checked against: the stream's glob, and whether
 * the profile of the highest peak is to be named. */
struct listing {
  char stream[PATH_MAX * 2]; /* "" when no stream */
  bool peak;
};

/* From the environment PROG was given (--stream and --peak set it, or it
 * was inherited): the stream's glob, made absolute as the library makes
 * it, and whether the peak is wanted. */
static void listing_init(struct listing *ls, const char *cwd) {
  const char *stream = getenv("ALLOCPROF_STREAM"), *peak = getenv("ALLOCPROF_PEAK");
  char abs[PATH_MAX];
  ls->stream[0] = 0;
  if (stream && *stream && trig_pattern_absolute(stream, cwd, abs, sizeof abs) == 0)
    pattern_glob(ls->stream, sizeof ls->stream, abs, -1);
  ls->peak = peak && *peak && strcmp(peak, "0") != 0;
}

size_t run_log_report(const struct run_log *log, const char *cwd) {
  struct listing ls;
  listing_init(&ls, cwd);
  size_t len = 0, n = 0, listed = 0;
  char *buf = run_log_read(log->path, &len);
  if (buf == NULL) return 0;
  for (size_t i = 0; i < len; i += strlen(buf + i) + 1) n++;
  struct record *r = calloc(n + 1, sizeof *r);
  if (r == NULL) {
    free(buf);
    return 0;
  }
  n = 0;
  for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
    if (buf[i] != 0) r[n].path = buf + i, r[n].order = n, n++;
  /* a pattern without %n writes one name again and again: list it once */
  qsort(r, n, sizeof *r, by_path);
  for (size_t i = 1; i < n; i++) r[i].dup = strcmp(r[i].path, r[i - 1].path) == 0;
  qsort(r, n, sizeof *r, by_order);
  size_t cwdlen = cwd ? strlen(cwd) : 0, nprof = 0;
  const char **shown_v = calloc(n + 1, sizeof *shown_v), **path_v = calloc(n + 1, sizeof *path_v);
  for (size_t i = 0; i < n; i++) {
    struct stat st;
    if (r[i].dup || lstat(r[i].path, &st) != 0) continue; /* removed since */
    const char *shown = r[i].path;
    if (cwdlen > 1 && strncmp(shown, cwd, cwdlen) == 0 && shown[cwdlen] == '/') shown += cwdlen + 1;
    bool stream = ls.stream[0] && fnmatch(ls.stream, r[i].path, 0) == 0;
    fprintf(stderr, "allocprof: %s written: %s\n", stream ? "stream" : "profile", shown);
    if (!stream && shown_v && path_v) shown_v[nprof] = shown, path_v[nprof++] = r[i].path;
    if (log->outer[0]) tell_outer(log->outer, r[i].path);
    listed++;
  }
  if (ls.peak && shown_v && path_v) report_peak(shown_v, path_v, nprof);
  free(shown_v);
  free(path_v);
  free(r);
  free(buf);
  return listed;
}
