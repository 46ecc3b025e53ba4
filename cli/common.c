/* common.c: helpers the subcommands share. Contracts in common.h; the command
 * is described in cli/README.md. */
#include "common.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "container.h"
#include "fileio.h"
#include "frames.h"
#include "stream.h"

/* ---- messages ---- */

void cli_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("allocprof: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "allocprof %s: ", cmd);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, " (see allocprof %s --help)\n", cmd);
  va_end(ap);
  return CLI_EXIT_USAGE;
}

int cli_finish_stdout(int rc) {
  if (fflush(stdout) != 0 || ferror(stdout)) {
    cli_error("stdout: %s", strerror(errno ? errno : EIO));
    return CLI_EXIT_USAGE;
  }
  return rc;
}

/* ---- options ---- */

void cli_getopt_reset(void) {
  optind = 0; /* glibc: 0 re-initialises getopt completely */
  opterr = 0;
}

int cli_getopt(const char *cmd, int argc, char **argv, const char *shortopts,
               const struct option *longopts) {
  /* A leading ':' makes getopt tell a missing argument (':') from an unknown
   * option ('?'). */
  char opts[64];
  if (shortopts[0] == '+') /* stop at the first operand; glibc wants '+' first */
    snprintf(opts, sizeof opts, "+:%s", shortopts + 1);
  else
    snprintf(opts, sizeof opts, ":%s", shortopts);
  int c = getopt_long(argc, argv, opts, longopts, NULL);
  if (c != '?' && c != ':') return c;
  /* getopt leaves the offending word at argv[optind - 1]. */
  const char *word = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
  bool long_word = word[0] == '-' && word[1] == '-';
  if (c == ':') {
    if (long_word)
      cli_usage_error(cmd, "option %s needs an argument", word);
    else
      cli_usage_error(cmd, "option -%c needs an argument", optopt);
  } else if (!long_word && optopt) {
    cli_usage_error(cmd, "unknown option -%c", optopt);
  } else {
    cli_usage_error(cmd, "unknown option %s", word);
  }
  return '?';
}

int cli_parse_size(const char *s, int64_t *out) {
  if (!s || !*s) return -1;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || errno || !(v >= 0) || isinf(v)) return -1;
  while (*end == ' ') end++;
  double mul = 1;
  static const struct { const char *suffix[4]; double mul; } units[] = {
      {{"", "B", "b", NULL}, 1},
      {{"k", "K", "KB", "KiB"}, 1024.0},
      {{"M", "m", "MB", "MiB"}, 1024.0 * 1024},
      {{"G", "g", "GB", "GiB"}, 1024.0 * 1024 * 1024},
      {{"T", "t", "TB", "TiB"}, 1024.0 * 1024 * 1024 * 1024},
  };
  bool found = false;
  for (size_t u = 0; u < sizeof units / sizeof units[0] && !found; u++)
    for (size_t k = 0; k < 4 && units[u].suffix[k] && !found; k++)
      if (strcmp(end, units[u].suffix[k]) == 0) {
        mul = units[u].mul;
        found = true;
      }
  if (!found && (!strcmp(end, "kB") || !strcmp(end, "kiB"))) {
    mul = 1024;
    found = true;
  }
  if (!found) return -1;
  v *= mul;
  if (v >= 9.2e18) return -1;
  *out = (int64_t)llround(v);
  return 0;
}

int cli_parse_percent(const char *s, double *out) {
  if (!s || !*s) return -1;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || errno || !(v >= 0) || isinf(v)) return -1;
  if (*end == '%') end++;
  if (*end) return -1;
  *out = v;
  return 0;
}

int cli_parse_count(const char *s, long *out) {
  if (!s || *s < '0' || *s > '9') return -1;
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (*end || errno) return -1;
  *out = v;
  return 0;
}

/* ---- loading ---- */

const char *cli_str(const profile_pb *p, int64_t i) {
  return i > 0 && (uint64_t)i < p->n_string_table ? p->string_table[i] : "";
}

const char *cli_type_name(const profile_pb *p, size_t i) {
  return cli_str(p, p->sample_type[i]->type);
}

const char *cli_type_unit(const profile_pb *p, size_t i) {
  return cli_str(p, p->sample_type[i]->unit);
}

/* The last good frame of a snapshot stream, copied. */
typedef struct last_frame {
  uint8_t *pb;
  size_t len, count;
  int oom;
} last_frame;

static int keep_last(void *ctx, size_t index, uint64_t offset, const uint8_t *pb, size_t len) {
  last_frame *lf = ctx;
  (void)offset;
  uint8_t *copy = malloc(len ? len : 1);
  if (!copy) {
    lf->oom = 1;
    return 1;
  }
  memcpy(copy, pb, len);
  free(lf->pb);
  lf->pb = copy;
  lf->len = len;
  lf->count = index + 1;
  return 0;
}

int cli_load(const char *path, profile_pb **out) {
  char err[CLI_ERRLEN];
  uint8_t *buf = NULL;
  size_t len = 0;
  *out = NULL;
  if (fileio_read_all_checked(path, CONTAINER_MAX_DECOMPRESSED, profile_input_check, NULL, &buf,
                              &len, err, sizeof err) != 0) {
    cli_error("%s", err);
    return -1;
  }
  int rc = profile_read_buffer(buf, len, path, out, err, sizeof err);
  if (rc != 0 && container_detect(buf, len) == CONTAINER_ZSTD) {
    /* Maybe a snapshot stream: take its last snapshot when it has several
     * (one damaged frame alone is just a damaged file: keep the first
     * message, which says what is wrong with it). */
    last_frame lf = {0};
    stream_report rep;
    char serr[CLI_ERRLEN];
    int src = stream_read_buffer(buf, len, path, keep_last, &lf, &rep, serr, sizeof serr);
    if (lf.oom) {
      snprintf(err, sizeof err, "%s: out of memory", path);
    } else if (src == 0 && rep.frames >= 2) {
      profile_pb *p = NULL;
      if (profile_decode(lf.pb, lf.len, path, &p, serr, sizeof serr) == 0) {
        fprintf(stderr, "allocprof: %s: snapshot stream of %zu snapshots: using the last one%s%s\n",
                path, rep.frames, rep.message[0] ? "; " : "", rep.message);
        *out = p;
        rc = 0;
      } else {
        snprintf(err, sizeof err, "%s", serr);
      }
    }
    free(lf.pb);
  }
  free(buf);
  if (rc != 0) cli_error("%s", err);
  return rc;
}

int cli_load_pair(const char *base_file, const char *new_file, const char *index_name, profile_pb **base,
                  profile_pb **new, size_t *bi, size_t *ni) {
  if (cli_load(base_file, base) != 0 || cli_load(new_file, new) != 0) return -1;
  /* frames without a symbol compared by object and offset, not address */
  if (cli_name_frames((profile_pb *const[]){*base, *new}, 2) != 0) return -1;
  ssize_t n = cli_sample_index(*new, index_name, new_file);
  if (n < 0) return -1;
  const char *type = cli_type_name(*new, (size_t)n), *unit = cli_type_unit(*new, (size_t)n);
  ssize_t b = cli_sample_index(*base, type, base_file);
  if (b < 0) return -1;
  if (strcmp(cli_type_unit(*base, (size_t)b), unit) != 0) {
    cli_error("%s: %s is in %s, not %s as in %s", base_file, type, cli_type_unit(*base, (size_t)b), unit,
              new_file);
    return -1;
  }
  *ni = (size_t)n;
  *bi = (size_t)b;
  return 0;
}

ssize_t cli_sample_index(const profile_pb *p, const char *name, const char *file) {
  if (p->n_sample_type == 0) {
    cli_error("%s: the profile has no sample types", file);
    return -1;
  }
  if (!name) {
    ssize_t i = profile_default_value_index(p);
    return i >= 0 ? i : (ssize_t)p->n_sample_type - 1;
  }
  for (size_t i = 0; i < p->n_sample_type; i++)
    if (strcmp(cli_type_name(p, i), name) == 0) return (ssize_t)i;
  long n;
  if (cli_parse_count(name, &n) == 0 && (size_t)n < p->n_sample_type) return n;
  char list[256] = "";
  size_t used = 0;
  for (size_t i = 0; i < p->n_sample_type && used < sizeof list; i++)
    used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                             cli_type_name(p, i));
  cli_error("%s: no sample type '%s' (it has %s)", file, name, list);
  return -1;
}

/* ---- the sampling-error model ---- */

/* "inuse" of "inuse_space": the part before the last '_' (or all of it). */
static size_t type_prefix_len(const char *t) {
  const char *u = strrchr(t, '_');
  return u ? (size_t)(u - t) : strlen(t);
}

/* Index of s in p's string table, or 0 when it is not there. */
static int64_t find_string(const profile_pb *p, const char *s) {
  for (size_t i = 1; i < p->n_string_table; i++)
    if (strcmp(p->string_table[i], s) == 0) return (int64_t)i;
  return 0;
}

/* The period label of sample s (key: the label's string index), or -1. */
static int64_t sample_period_label(int64_t key, const Perftools__Profiles__Sample *s) {
  if (key <= 0) return -1;
  for (size_t j = 0; j < s->n_label; j++)
    if (s->label[j]->key == key && !s->label[j]->str) return s->label[j]->num;
  return -1;
}

void cli_model_init(cli_model *m, const profile_pb *p, size_t vi) {
  *m = (cli_model){.vi = vi, .pair = -1};
  const char *unit = cli_type_unit(p, vi);
  m->bytes = strcmp(unit, "bytes") == 0;
  bool counts = strcmp(unit, "count") == 0;
  bool heap = p->period_type && strcmp(cli_str(p, p->period_type->type), "space") == 0 &&
              strcmp(cli_str(p, p->period_type->unit), "bytes") == 0;
  if (!heap || (!m->bytes && !counts)) return; /* not a heap profile: no model */
  m->period = p->period > 1 ? (double)p->period : 0;
  m->pmin = m->pmax = m->period;
  if ((m->label_key = find_string(p, CLI_PERIOD_LABEL)) > 0) {
    bool first = true;
    for (size_t i = 0; i < p->n_sample; i++) {
      int64_t l = sample_period_label(m->label_key, p->sample[i]);
      double ps = l < 0 ? m->period : l > 1 ? (double)l : 0;
      if (first || ps < m->pmin) m->pmin = ps;
      if (first || ps > m->pmax) m->pmax = ps;
      first = false;
    }
  }
  const char *t = cli_type_name(p, vi);
  size_t plen = type_prefix_len(t);
  for (size_t i = 0; i < p->n_sample_type; i++) {
    if (i == vi) continue;
    const char *ti = cli_type_name(p, i), *ui = cli_type_unit(p, i);
    if (type_prefix_len(ti) == plen && strncmp(ti, t, plen) == 0 &&
        strcmp(ui, m->bytes ? "count" : "bytes") == 0) {
      m->pair = (ssize_t)i;
      break;
    }
  }
  m->known = m->pmax == 0 || m->bytes || m->pair >= 0;
}

int cli_check_period(const profile_pb *p, const char *file) {
  bool heap = p->period_type && strcmp(cli_str(p, p->period_type->type), "space") == 0 &&
              strcmp(cli_str(p, p->period_type->unit), "bytes") == 0;
  if (!heap) return 0;
  int64_t key = find_string(p, CLI_PERIOD_LABEL);
  for (size_t i = 0; key > 0 && i < p->n_sample; i++) {
    int64_t l = sample_period_label(key, p->sample[i]);
    if (l < 0 || (l >= 1 && l <= CLI_MAX_PERIOD)) continue;
    cli_error("%s: implausible sampling period %lld bytes in sample %zu's " CLI_PERIOD_LABEL
              " label (a heap profile's period is from 1, every allocation, to 1 GiB)",
              file, (long long)l, i);
    return -1;
  }
  if (p->period >= 1 && p->period <= CLI_MAX_PERIOD) return 0;
  cli_error("%s: implausible sampling period %lld bytes (a heap profile's period is from 1, "
            "every allocation, to 1 GiB)",
            file, (long long)p->period);
  return -1;
}

double cli_model_variance(const cli_model *m, const Perftools__Profiles__Sample *s) {
  if (!m->known) return 0;
  double period = m->period;
  int64_t l = sample_period_label(m->label_key, s);
  if (l >= 0) period = l > 1 ? (double)l : 0;
  if (period <= 0) return 0;
  double v = fabs((double)s->value[m->vi]);
  if (v == 0) return 0;
  if (m->pair < 0) return v * period; /* bytes without a count: B*P */
  double pv = fabs((double)s->value[m->pair]);
  double bytes = m->bytes ? v : pv, count = m->bytes ? pv : v;
  if (count <= 0 || bytes <= 0) return m->bytes ? v * period : 0;
  double size = bytes / count;
  double q = -expm1(-size / period); /* 1 - exp(-s/P) */
  if (q <= 0) return m->bytes ? v * period : 0;
  double odds = (1 - q) / q;
  return m->bytes ? count * size * size * odds : count * odds;
}

/* ---- aggregation by function ---- */

uint64_t cli_hash_seed(void) {
  static uint64_t seed; /* the command is single-threaded */
  static bool have;
  if (!have) {
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
      seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    have = true;
  }
  return seed;
}

uint64_t cli_hash_finish(uint64_t h) {
  h ^= h >> 31; /* splitmix64's finalizer */
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull ^ cli_hash_seed();
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return cli_hash_finish(h);
}

static int funcs_grow_index(cli_funcs *t) {
  size_t n = t->nslots ? t->nslots * 2 : 256;
  uint32_t *s = malloc(n * sizeof *s);
  if (!s) return -1;
  memset(s, 0xff, n * sizeof *s);
  for (size_t i = 0; i < t->n; i++) {
    size_t j = hash_str(t->v[i].name) & (n - 1);
    while (s[j] != UINT32_MAX) j = (j + 1) & (n - 1);
    s[j] = (uint32_t)i;
  }
  free(t->slots);
  t->slots = s;
  t->nslots = n;
  return 0;
}

/* Index of the function called name, added if new; -1 when out of memory. */
static long funcs_intern(cli_funcs *t, const char *name) {
  if ((t->n + 1) * 2 > t->nslots && funcs_grow_index(t) != 0) return -1;
  size_t j = hash_str(name) & (t->nslots - 1);
  for (; t->slots[j] != UINT32_MAX; j = (j + 1) & (t->nslots - 1))
    if (strcmp(t->v[t->slots[j]].name, name) == 0) return t->slots[j];
  if (t->n == t->cap) {
    size_t ncap = t->cap ? t->cap * 2 : 64;
    cli_func *nv = realloc(t->v, ncap * sizeof *nv);
    if (!nv) return -1;
    t->v = nv;
    t->cap = ncap;
  }
  char *copy = strdup(name);
  if (!copy) return -1;
  t->v[t->n] = (cli_func){.name = copy, .stamp = SIZE_MAX};
  t->slots[j] = (uint32_t)t->n;
  return (long)t->n++;
}

typedef struct id_ix {
  uint64_t id;
  size_t ix;
} id_ix;

static int id_cmp(const void *a, const void *b) {
  uint64_t x = ((const id_ix *)a)->id, y = ((const id_ix *)b)->id;
  return x < y ? -1 : x > y;
}

/* Position of id in a sorted id table, or -1. */
static long id_find(const id_ix *v, size_t n, uint64_t id) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (v[mid].id < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < n && v[lo].id == id ? (long)v[lo].ix : -1;
}

static id_ix *id_table(size_t n, uint64_t (*id_of)(const profile_pb *, size_t),
                       const profile_pb *p) {
  id_ix *v = malloc((n + 1) * sizeof *v);
  if (!v) return NULL;
  for (size_t i = 0; i < n; i++) v[i] = (id_ix){id_of(p, i), i};
  qsort(v, n, sizeof *v, id_cmp);
  return v;
}

static uint64_t loc_id(const profile_pb *p, size_t i) { return p->location[i]->id; }
static uint64_t fn_id(const profile_pb *p, size_t i) { return p->function[i]->id; }

/* Name of frame j of location l (as folded stacks name it): the function's
 * name, else its system name, else the location's address in addr. */
static const char *frame_name(const profile_pb *p, const id_ix *fns,
                              const Perftools__Profiles__Location *l, size_t j, char addr[24]) {
  const char *name = "";
  if (j < l->n_line) {
    long fi = id_find(fns, p->n_function, l->line[j]->function_id);
    if (fi >= 0) {
      name = cli_str(p, p->function[fi]->name);
      if (!*name) name = cli_str(p, p->function[fi]->system_name);
    }
  }
  if (!*name) {
    snprintf(addr, 24, "0x%llx", (unsigned long long)l->address);
    name = addr;
  }
  return name;
}

int cli_funcs_add(cli_funcs *t, const profile_pb *p, size_t vi, int slot) {
  int rc = -1;
  cli_model model;
  cli_model_init(&model, p, vi);
  id_ix *locs = id_table(p->n_location, loc_id, p);
  id_ix *fns = id_table(p->n_function, fn_id, p);
  /* Per location: its frames' function indices, innermost first. */
  long **loc_funcs = calloc(p->n_location + 1, sizeof *loc_funcs);
  size_t *loc_nfuncs = calloc(p->n_location + 1, sizeof *loc_nfuncs);
  if (!locs || !fns || !loc_funcs || !loc_nfuncs) goto oom;
  for (size_t i = 0; i < p->n_location; i++) {
    const Perftools__Profiles__Location *l = p->location[i];
    size_t n = l->n_line ? l->n_line : 1;
    loc_funcs[i] = malloc(n * sizeof **loc_funcs);
    if (!loc_funcs[i]) goto oom;
    loc_nfuncs[i] = n;
    for (size_t j = 0; j < n; j++) {
      char addr[24];
      long f = funcs_intern(t, frame_name(p, fns, l, j, addr));
      if (f < 0) goto oom;
      loc_funcs[i][j] = f;
    }
  }
  long nostack = -1;
  for (size_t i = 0; i < p->n_sample; i++) {
    const Perftools__Profiles__Sample *s = p->sample[i];
    int64_t v = s->value[vi];
    double var = cli_model_variance(&model, s);
    t->total[slot] = (int64_t)((uint64_t)t->total[slot] + (uint64_t)v);
    t->abs_total[slot] += v < 0 ? -v : v;
    t->var_total[slot] += var;
    t->samples[slot]++;
    size_t stamp = ++t->stamp;
    bool leaf = true;
    if (s->n_location_id == 0) {
      if (nostack < 0 && (nostack = funcs_intern(t, "[no stack]")) < 0) goto oom;
      cli_func *f = &t->v[nostack];
      f->flat[slot] += v;
      f->cum[slot] += v;
      f->var_flat[slot] += var;
      f->var_cum[slot] += var;
      continue;
    }
    for (size_t k = 0; k < s->n_location_id; k++) {
      long li = id_find(locs, p->n_location, s->location_id[k]);
      if (li < 0) continue; /* validated profiles have none */
      for (size_t j = 0; j < loc_nfuncs[li]; j++) {
        cli_func *f = &t->v[loc_funcs[li][j]];
        if (leaf) {
          f->flat[slot] += v;
          f->var_flat[slot] += var;
          leaf = false;
        }
        if (f->stamp != stamp) {
          f->stamp = stamp;
          f->cum[slot] += v;
          f->var_cum[slot] += var;
        }
      }
    }
  }
  rc = 0;
  goto done;
oom:
  cli_error("out of memory aggregating functions");
done:
  if (loc_funcs)
    for (size_t i = 0; i < p->n_location; i++) free(loc_funcs[i]);
  free(loc_funcs);
  free(loc_nfuncs);
  free(locs);
  free(fns);
  return rc;
}

/* ---- frame filters ---- */

int cli_filter_set(cli_filter *f, const char *cmd, int opt, const char *re) {
  bool hide = opt == CLI_OPT_HIDE;
  regex_t *rx = hide ? &f->hide : &f->focus;
  bool *has = hide ? &f->has_hide : &f->has_focus;
  regex_t fresh;
  int e = regcomp(&fresh, re, REG_EXTENDED | REG_NOSUB);
  if (e != 0) {
    char msg[160];
    regerror(e, &fresh, msg, sizeof msg);
    cli_usage_error(cmd, "--%s: invalid regular expression '%s': %s", hide ? "hide" : "focus",
                    re, msg);
    return -1;
  }
  if (*has) regfree(rx);
  *rx = fresh;
  *has = true;
  if (hide)
    f->hide_src = re;
  else
    f->focus_src = re;
  return 0;
}

bool cli_filter_active(const cli_filter *f) { return f->has_hide || f->has_focus; }

char *cli_filter_text(const cli_filter *f, char *buf, size_t len) {
  snprintf(buf, len, "%s%s%s%s%s", f->has_focus ? "--focus " : "",
           f->has_focus ? f->focus_src : "", f->has_focus && f->has_hide ? " " : "",
           f->has_hide ? "--hide " : "", f->has_hide ? f->hide_src : "");
  return buf;
}

void cli_filter_free(cli_filter *f) {
  if (f->has_hide) regfree(&f->hide);
  if (f->has_focus) regfree(&f->focus);
  *f = (cli_filter){0};
}

int cli_filter_apply(const cli_filter *f, profile_pb *p) {
  if (!cli_filter_active(f)) return 0;
  int rc = -1;
  id_ix *locs = id_table(p->n_location, loc_id, p);
  id_ix *fns = id_table(p->n_function, fn_id, p);
  bool *focused = calloc(p->n_location + 1, sizeof *focused);
  bool *hidden = calloc(p->n_location + 1, sizeof *hidden);
  bool *flags = NULL; /* per frame of one location: hidden */
  size_t nflags = 0;
  if (!locs || !fns || !focused || !hidden) goto done;
  /* Per location: whether a frame matches --focus (names before hiding),
   * then its lines without the hidden ones; a location left with no frame
   * is hidden as a whole. */
  for (size_t i = 0; i < p->n_location; i++) {
    Perftools__Profiles__Location *l = p->location[i];
    size_t n = l->n_line ? l->n_line : 1, kept = 0;
    if (n > nflags) {
      free(flags);
      nflags = n;
      if (!(flags = malloc(nflags * sizeof *flags))) goto done;
    }
    for (size_t j = 0; j < n; j++) {
      char addr[24];
      const char *name = frame_name(p, fns, l, j, addr);
      if (f->has_focus && !focused[i] && regexec(&f->focus, name, 0, NULL, 0) == 0)
        focused[i] = true;
      flags[j] = f->has_hide && regexec(&f->hide, name, 0, NULL, 0) == 0;
      if (!flags[j]) kept++;
    }
    hidden[i] = kept == 0;
    if (!l->n_line || kept == 0 || kept == n) continue;
    /* Some frames of an inlined chain hidden: drop their lines. */
    size_t w = 0;
    for (size_t j = 0; j < l->n_line; j++) {
      if (flags[j])
        perftools__profiles__line__free_unpacked(l->line[j], NULL);
      else
        l->line[w++] = l->line[j];
    }
    l->n_line = w;
  }
  size_t kept = 0;
  for (size_t i = 0; i < p->n_sample; i++) {
    Perftools__Profiles__Sample *s = p->sample[i];
    bool keep = !f->has_focus;
    size_t w = 0;
    for (size_t k = 0; k < s->n_location_id; k++) {
      long li = id_find(locs, p->n_location, s->location_id[k]);
      if (li >= 0 && focused[li]) keep = true;
      if (li < 0 || !hidden[li]) s->location_id[w++] = s->location_id[k];
    }
    s->n_location_id = w;
    if (keep)
      p->sample[kept++] = s;
    else
      perftools__profiles__sample__free_unpacked(s, NULL);
  }
  p->n_sample = kept;
  rc = 0;
done:
  if (rc != 0) cli_error("out of memory filtering frames");
  free(locs);
  free(fns);
  free(focused);
  free(hidden);
  free(flags);
  return rc;
}

void cli_funcs_free(cli_funcs *t) {
  for (size_t i = 0; i < t->n; i++) free(t->v[i].name);
  free(t->v);
  free(t->slots);
  *t = (cli_funcs){0};
}

static int sort_slot;

static int cmp_i64_desc(int64_t a, int64_t b) { return a > b ? -1 : a < b; }

static int by_flat(const void *a, const void *b) {
  const cli_func *x = a, *y = b;
  int c = cmp_i64_desc(x->flat[sort_slot], y->flat[sort_slot]);
  if (!c) c = cmp_i64_desc(x->cum[sort_slot], y->cum[sort_slot]);
  return c ? c : strcmp(x->name, y->name);
}

static int by_cum(const void *a, const void *b) {
  const cli_func *x = a, *y = b;
  int c = cmp_i64_desc(x->cum[sort_slot], y->cum[sort_slot]);
  if (!c) c = cmp_i64_desc(x->flat[sort_slot], y->flat[sort_slot]);
  return c ? c : strcmp(x->name, y->name);
}

static int64_t abs_delta(const int64_t v[2]) {
  int64_t d = (int64_t)((uint64_t)v[1] - (uint64_t)v[0]);
  return d < 0 ? -d : d;
}

static int by_flat_delta(const void *a, const void *b) {
  const cli_func *x = a, *y = b;
  int c = cmp_i64_desc(abs_delta(x->flat), abs_delta(y->flat));
  if (!c) c = cmp_i64_desc(abs_delta(x->cum), abs_delta(y->cum));
  return c ? c : strcmp(x->name, y->name);
}

void cli_funcs_sort(cli_funcs *t, enum cli_sort how, int slot) {
  free(t->slots);
  t->slots = NULL;
  t->nslots = 0;
  /* Functions no sample touches (nothing in either slot) are dropped. */
  size_t kept = 0;
  for (size_t i = 0; i < t->n; i++) {
    const cli_func *f = &t->v[i];
    if (f->flat[0] || f->flat[1] || f->cum[0] || f->cum[1])
      t->v[kept++] = *f;
    else
      free(f->name);
  }
  t->n = kept;
  sort_slot = slot;
  if (t->n)
    qsort(t->v, t->n, sizeof *t->v,
          how == CLI_SORT_FLAT ? by_flat : how == CLI_SORT_CUM ? by_cum : by_flat_delta);
}

/* ---- units ---- */

static void three_digits(char *buf, size_t len, const char *sign, double v, const char *suffix) {
  if (v < 9.995)
    snprintf(buf, len, "%s%.2f%s", sign, v, suffix);
  else if (v < 99.95)
    snprintf(buf, len, "%s%.1f%s", sign, v, suffix);
  else
    snprintf(buf, len, "%s%.0f%s", sign, v, suffix);
}

char *cli_human(char *buf, double v, const char *unit, bool plus) {
  const char *sign = v < 0 ? "-" : plus && v > 0 ? "+" : "";
  double a = fabs(v);
  if (strcmp(unit, "bytes") == 0) {
    static const char *const names[] = {" KiB", " MiB", " GiB", " TiB", " PiB"};
    if (a < 1024) {
      snprintf(buf, 32, "%s%.0f B", sign, a);
      return buf;
    }
    int u = -1;
    while (a >= 1023.5 && u < 4) {
      a /= 1024;
      u++;
    }
    three_digits(buf, 32, sign, a, names[u]);
    return buf;
  }
  static const char *const names[] = {"k", "M", "G", "T", "P"};
  if (a < 1000) {
    snprintf(buf, 32, "%s%.0f", sign, a);
    return buf;
  }
  int u = -1;
  while (a >= 999.5 && u < 4) {
    a /= 1000;
    u++;
  }
  three_digits(buf, 32, sign, a, names[u]);
  return buf;
}

char *cli_percent(char *buf, double part, double whole) {
  if (whole == 0)
    snprintf(buf, 32, "-");
  else
    snprintf(buf, 32, "%.2f%%", 100.0 * part / whole);
  return buf;
}

/* ---- escaping ---- */

/* Length of the valid UTF-8 sequence at s (1..4), or 0: no overlong forms,
 * no surrogates (U+D800..DFFF), nothing above U+10FFFF (RFC 3629), which is
 * what JSON and XML parsers accept. */
static size_t utf8_len(const unsigned char *s) {
  unsigned char c = s[0];
  if (c < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;      /* overlong */
    else if (c == 0xed) hi = 0x9f; /* surrogates */
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;      /* overlong */
    else if (c == 0xf4) hi = 0x8f; /* above U+10FFFF */
  } else {
    return 0;
  }
  if (s[1] < lo || s[1] > hi) return 0;
  for (size_t i = 2; i < n; i++)
    if ((s[i] & 0xc0) != 0x80) return 0;
  return n;
}

void cli_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *c = (const unsigned char *)s; *c;) {
    if (*c == '"' || *c == '\\') {
      fprintf(f, "\\%c", *c);
      c++;
    } else if (*c < 0x20 || *c == 0x7f) {
      fprintf(f, "\\u%04x", *c);
      c++;
    } else {
      size_t n = utf8_len(c);
      if (n == 0) {
        fputs("\\ufffd", f); /* a byte that is not UTF-8: U+FFFD */
        c++;
      } else {
        fwrite(c, 1, n, f);
        c += n;
      }
    }
  }
  fputc('"', f);
}

void cli_xml_text(FILE *f, const char *s) {
  for (const unsigned char *c = (const unsigned char *)s; *c;) {
    switch (*c) {
      case '&': fputs("&amp;", f); c++; continue;
      case '<': fputs("&lt;", f); c++; continue;
      case '>': fputs("&gt;", f); c++; continue;
      case '"': fputs("&quot;", f); c++; continue;
      case '\'': fputs("&apos;", f); c++; continue;
      default: break;
    }
    size_t n = *c < 0x20 && *c != '\n' && *c != '\t' ? 0 : utf8_len(c);
    if (n == 3 && c[0] == 0xef && c[1] == 0xbf && c[2] >= 0xbe) n = 0; /* U+FFFE, U+FFFF */
    if (n == 0) {
      fputc('?', f);
      c++;
    } else {
      fwrite(c, 1, n, f);
      c += n;
    }
  }
}

/* ---- output files ---- */

int cli_check_output(const char *path) {
  char err[CLI_ERRLEN];
  if (fileio_check_regular(path, err, sizeof err) == 0) return 0;
  cli_error("%s", err);
  return -1;
}

int cli_write_text(const char *path, char *buf, size_t len) {
  char err[CLI_ERRLEN];
  int rc = 0;
  if (!buf) {
    cli_error("%s: out of memory", path);
    return -1;
  }
  if (cli_check_output(path) != 0) {
    free(buf);
    return -1;
  }
  if (fileio_write_atomic(path, buf, len, err, sizeof err) != 0) {
    cli_error("%s", err);
    rc = -1;
  }
  free(buf);
  return rc;
}
