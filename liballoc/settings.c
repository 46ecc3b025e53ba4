/* settings.c: the ALLOCPROF_* settings, and the allocator's ALLOC_* ones
 * with the same parsers, checked without touching the process. The
 * contract of each call is in settings.h; what the ALLOCPROF_* settings
 * mean, and the runtime that acts on them, is at the top of triggers.c;
 * the ALLOC_* ones, at the top of scavenger.c.
 *
 * Built as its own small library (prof_settings) because three parties must
 * read the settings alike: the sampler (ALLOCPROF_RATE, in liballoc's
 * core), the triggers (the rest, in liballoc.so) and `allocprof run`
 * (cli/run_settings.c), which checks what it will pass to the program
 * before starting it. Nothing here allocates (the sampler calls
 * trig_parse_bytes while the allocator initializes) or reads the
 * environment: the caller hands in a lookup function. The output patterns
 * (ALLOCPROF_OUT and its kin) are in settings_pattern.c. */
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "settings.h"
#include "settings_internal.h"

/* ---- values ------------------------------------------------------------------ */

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static char to_upper(char c) { return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c; }

int trig_parse_bytes(const char *s, uint64_t *out) {
  if (s == NULL || *s == 0) return -1;
  uint64_t v = 0;
  const char *p = s;
  for (; is_digit(*p); p++) {
    if (v > (UINT64_MAX - 9) / 10) return -1;
    v = v * 10 + (uint64_t)(*p - '0');
  }
  if (p == s) return -1;
  unsigned shift = 0;
  switch (*p) {
    case 'k':
    case 'K': shift = 10, p++; break;
    case 'm':
    case 'M': shift = 20, p++; break;
    case 'g':
    case 'G': shift = 30, p++; break;
    default: break;
  }
  if (*p != 0 || (shift && v > (UINT64_MAX >> shift))) return -1;
  *out = v << shift;
  return 0;
}

int trig_parse_count(const char *s, uint64_t lo, uint64_t hi, uint64_t *out) {
  if (s == NULL || !is_digit(*s)) return -1;
  uint64_t v = 0;
  for (; is_digit(*s); s++) {
    v = v * 10 + (uint64_t)(*s - '0');
    if (v > hi) return -1;
  }
  if (*s != 0 || v < lo) return -1;
  *out = v;
  return 0;
}

/* digits[.digits] into an integer part and millionths; *end after them.
 * Returns 0, or -1 when there are no digits or the integer part is over max. */
static int parse_decimal(const char *s, uint64_t max, uint64_t *whole, uint64_t *micro,
                         int *nonzero, const char **end) {
  const char *p = s;
  uint64_t w = 0, f = 0, scale = 100000;
  int nz = 0, digits = 0;
  for (; is_digit(*p); p++, digits++) {
    w = w * 10 + (uint64_t)(*p - '0');
    if (w > max) return -1;
    nz |= *p != '0';
  }
  if (*p == '.') {
    p++;
    for (; is_digit(*p); p++, digits++) {
      f += (uint64_t)(*p - '0') * scale;
      scale /= 10;
      nz |= *p != '0';
    }
  }
  if (digits == 0) return -1;
  *whole = w;
  *micro = f;
  *nonzero = nz;
  *end = p;
  return 0;
}

int trig_parse_seconds(const char *s, uint64_t *ms) {
  if (s == NULL) return -1;
  uint64_t w, micro;
  int nonzero;
  const char *p;
  if (parse_decimal(s, 1000000000, &w, &micro, &nonzero, &p) != 0) return -1;
  if (*p == 's') p++;
  if (*p != 0) return -1;
  uint64_t v = w * 1000 + micro / 1000;
  if (v == 0 && nonzero) v = 1;
  *ms = v;
  return 0;
}

int trig_parse_margin(const char *s, struct trig_margin *m) {
  if (s == NULL || *s == 0) return -1;
  size_t n = strlen(s);
  if (s[n - 1] == '%') {
    uint64_t w, micro;
    int nonzero;
    const char *p;
    if (parse_decimal(s, 1000000, &w, &micro, &nonzero, &p) != 0 || p != s + n - 1) return -1;
    /* micro is millionths of a percent unit: ppm = percent * 10^4 */
    m->ppm = w * 10000 + micro / 100;
    if (m->ppm == 0 && nonzero) m->ppm = 1;
    m->bytes = 0;
    return 0;
  }
  uint64_t b;
  if (trig_parse_bytes(s, &b) != 0) return -1;
  m->bytes = b;
  m->ppm = 0;
  return 0;
}

uint64_t trig_margin_next(const struct trig_margin *m, uint64_t level) {
  if (trig_margin_off(m)) return UINT64_MAX;
  uint64_t add;
  if (m->ppm != 0) {
    if (level == 0) return TRIG_PEAK_FIRST_BYTES;
    double a = (double)level * ((double)m->ppm / 1e6);
    add = a >= 1.8e19 ? UINT64_MAX : (uint64_t)a;
    if (add == 0) add = 1;
  } else {
    add = m->bytes;
  }
  return level > UINT64_MAX - add ? UINT64_MAX : level + add;
}

static const struct {
  const char *name;
  int signo;
} signal_names[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},       {"QUIT", SIGQUIT}, {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT},     {"IOT", SIGIOT},   {"BUS", SIGBUS},
    {"FPE", SIGFPE},       {"KILL", SIGKILL},     {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},     {"PIPE", SIGPIPE},     {"ALRM", SIGALRM}, {"TERM", SIGTERM},
#ifdef SIGSTKFLT
    {"STKFLT", SIGSTKFLT},
#endif
    {"CHLD", SIGCHLD},     {"CONT", SIGCONT},     {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},
    {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},     {"URG", SIGURG},   {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ},     {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH},
    {"IO", SIGIO},         {"POLL", SIGPOLL},     {"PWR", SIGPWR},   {"SYS", SIGSYS},
};

/* Case-insensitive: does s start with the upper-case word w? */
static const char *skip_word(const char *s, const char *w) {
  for (; *w; s++, w++)
    if (to_upper(*s) != *w) return NULL;
  return s;
}

/* A small decimal number at s, all of the rest of s. -1 if not. */
static int whole_number(const char *s) {
  if (!is_digit(*s)) return -1;
  int v = 0;
  for (; is_digit(*s); s++) {
    v = v * 10 + (*s - '0');
    if (v > 100000) return -1;
  }
  return *s == 0 ? v : -1;
}

static int classify_signal(int signo) {
  if (signo <= 0 || signo >= NSIG) return TRIG_SIG_UNKNOWN;
  if (signo == SIGKILL || signo == SIGSTOP) return TRIG_SIG_UNCATCHABLE;
  if (signo == SIGSEGV || signo == SIGBUS || signo == SIGFPE || signo == SIGILL || signo == SIGTRAP)
    return TRIG_SIG_FAULT;
  if (signo > SIGSYS && signo < SIGRTMIN) return TRIG_SIG_RESERVED;
  if (signo > SIGRTMAX) return TRIG_SIG_UNKNOWN;
  return signo;
}

int trig_parse_signal(const char *s) {
  if (s == NULL || *s == 0) return TRIG_SIG_UNKNOWN;
  int n = whole_number(s);
  if (n >= 0) return classify_signal(n);
  const char *p = skip_word(s, "SIG");
  if (p == NULL) p = s;
  const char *q;
  if ((q = skip_word(p, "RTMIN")) != NULL || (q = skip_word(p, "RTMAX")) != NULL) {
    int base = to_upper(p[3]) == 'I' ? SIGRTMIN : SIGRTMAX;
    if (*q == 0) return classify_signal(base);
    int off = whole_number(q + 1);
    if (off < 0 || (*q != '+' && *q != '-') || (base == SIGRTMIN) != (*q == '+'))
      return TRIG_SIG_UNKNOWN;
    int signo = base == SIGRTMIN ? base + off : base - off;
    if (signo < SIGRTMIN || signo > SIGRTMAX) return TRIG_SIG_UNKNOWN;
    return classify_signal(signo);
  }
  for (size_t i = 0; i < sizeof signal_names / sizeof signal_names[0]; i++) {
    q = skip_word(p, signal_names[i].name);
    if (q != NULL && *q == 0) return classify_signal(signal_names[i].signo);
  }
  return TRIG_SIG_UNKNOWN;
}

const char *trig_signal_problem(int code) {
  switch (code) {
    case TRIG_SIG_UNCATCHABLE: return "cannot be caught";
    case TRIG_SIG_FAULT: return "reports faults; choose a signal such as SIGUSR2";
    case TRIG_SIG_RESERVED: return "is reserved by the C library";
    default: return "is not a signal name or number";
  }
}

/* ---- errors ------------------------------------------------------------------ */

void trig_set_err(char *err, size_t errlen, const char *fmt, ...) {
  if (err == NULL || errlen == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

/* ---- ALLOCPROF_DEBUG_DIR ----------------------------------------------------------- */

int trig_debug_dirs_check(const char *s, char *err, size_t errlen) {
  if (s == NULL || *s == 0) {
    trig_set_err(err, errlen, "is empty");
    return -1;
  }
  if (strlen(s) >= TRIG_PATH_MAX) {
    trig_set_err(err, errlen, "is too long");
    return -1;
  }
  for (const char *p = s;; p++) {
    if (*p != '/') {
      trig_set_err(err, errlen,
                   "has an empty or relative directory (write absolute directories "
                   "separated by ':', e.g. /opt/debug:/usr/lib/debug)");
      return -1;
    }
    p = strchr(p, ':');
    if (p == NULL) return 0;
  }
}

/* ---- the whole configuration ------------------------------------------------- */

static const char *setting(const char *(*get)(const char *), const char *name) {
  const char *v = get(name);
  return v != NULL && *v != 0 ? v : NULL;
}

/* Every setting trig_config_parse reads: one list, so that the question
 * "is anything asked for" (trig_config_wanted) and the parse never differ. */
static const char *const config_names[] = {
    "ALLOCPROF_OUT",      "ALLOCPROF_STREAM",         "ALLOCPROF_SIGNAL",
    "ALLOCPROF_INTERVAL", "ALLOCPROF_INUSE_INTERVAL", "ALLOCPROF_PEAK",
    "ALLOCPROF_HTTP"};

int trig_config_wanted(const char *(*get)(const char *name)) {
  for (size_t i = 0; i < sizeof config_names / sizeof config_names[0]; i++)
    if (setting(get, config_names[i]) != NULL) return 1;
  return 0;
}

int trig_run_excluded(const char *(*get)(const char *name), long pid) {
  const char *only = setting(get, "ALLOCPROF_NO_CHILDREN");
  if (only == NULL || strcmp(only, "1") != 0) return 0;
  const char *named = setting(get, "ALLOCPROF_RUN_PID");
  uint64_t v;
  /* without a valid pid nobody is the one: everyone is left alone */
  return named == NULL || trig_parse_count(named, 1, INT64_MAX, &v) != 0 || (long)v != pid;
}

int trig_rate_rejected(const char *rate, uint64_t sampler_rate) {
  uint64_t v;
  if (rate == NULL || *rate == 0 || sampler_rate != 0) return 0;
  return trig_parse_bytes(rate, &v) != 0 || v != 0;
}

int trig_config_needs_thread(const struct trig_config *cfg) {
  return cfg->signo != 0 || cfg->interval_ms != 0 || cfg->inuse_interval != 0 ||
         !trig_margin_off(&cfg->peak);
}

/* ALLOCPROF_HTTP and ALLOCPROF_HTTP_PORTFILE into cfg. Returns 0, or -1. */
static int parse_http(const char *(*get)(const char *), const char *cwd, struct trig_config *cfg,
                      char *err, size_t errlen) {
  char why[256];
  const char *http = setting(get, "ALLOCPROF_HTTP");
  if (http != NULL && trig_http_parse(http, cwd, &cfg->http, why, sizeof why) != 0) {
    trig_set_err(err, errlen, "ALLOCPROF_HTTP=%s %s", http, why);
    return -1;
  }
  const char *portfile = setting(get, "ALLOCPROF_HTTP_PORTFILE");
  if (portfile == NULL) return 0;
  if (trig_pattern_check(portfile, TRIG_PATTERN_STREAM, why, sizeof why) != 0) {
    trig_set_err(err, errlen, "ALLOCPROF_HTTP_PORTFILE=%s %s", portfile, why);
    return -1;
  }
  if (trig_pattern_absolute(portfile, cwd, cfg->http_portfile, sizeof cfg->http_portfile) != 0) {
    trig_set_err(err, errlen, "ALLOCPROF_HTTP_PORTFILE=%s is too long", portfile);
    return -1;
  }
  return 0;
}

int trig_config_parse(const char *(*get)(const char *name), const char *cwd,
                      struct trig_config *cfg, char *err, size_t errlen) {
  memset(cfg, 0, sizeof *cfg);
  char why[256];

  const char *out = setting(get, "ALLOCPROF_OUT");
  if (out != NULL) {
    if (trig_pattern_check(out, TRIG_PATTERN_OUT, why, sizeof why) != 0) {
      trig_set_err(err, errlen, "ALLOCPROF_OUT=%s %s", out, why);
      return TRIG_CONFIG_BAD;
    }
    if (trig_pattern_absolute(out, cwd, cfg->out, sizeof cfg->out) != 0) {
      trig_set_err(err, errlen, "ALLOCPROF_OUT=%s is too long", out);
      return TRIG_CONFIG_BAD;
    }
  }
  const char *stream = setting(get, "ALLOCPROF_STREAM");
  if (stream != NULL) {
    if (trig_pattern_check(stream, TRIG_PATTERN_STREAM, why, sizeof why) != 0) {
      trig_set_err(err, errlen, "ALLOCPROF_STREAM=%s %s", stream, why);
      return TRIG_CONFIG_BAD;
    }
    if (trig_pattern_absolute(stream, cwd, cfg->stream, sizeof cfg->stream) != 0) {
      trig_set_err(err, errlen, "ALLOCPROF_STREAM=%s is too long", stream);
      return TRIG_CONFIG_BAD;
    }
  }

  const char *sig = setting(get, "ALLOCPROF_SIGNAL");
  if (sig != NULL) {
    int s = trig_parse_signal(sig);
    if (s < 0) {
      trig_set_err(err, errlen, "ALLOCPROF_SIGNAL=%s %s", sig, trig_signal_problem(s));
      return TRIG_CONFIG_BAD;
    }
    cfg->signo = s;
  }
  const char *interval = setting(get, "ALLOCPROF_INTERVAL");
  if (interval != NULL && trig_parse_seconds(interval, &cfg->interval_ms) != 0) {
    trig_set_err(err, errlen, "ALLOCPROF_INTERVAL=%s is not a number of seconds (e.g. 30 or 0.5)",
                 interval);
    return TRIG_CONFIG_BAD;
  }
  const char *growth = setting(get, "ALLOCPROF_INUSE_INTERVAL");
  if (growth != NULL && trig_parse_bytes(growth, &cfg->inuse_interval) != 0) {
    trig_set_err(err, errlen,
                 "ALLOCPROF_INUSE_INTERVAL=%s is not a byte count (e.g. 67108864 or 64m)", growth);
    return TRIG_CONFIG_BAD;
  }
  const char *peak = setting(get, "ALLOCPROF_PEAK");
  if (peak != NULL && trig_parse_margin(peak, &cfg->peak) != 0) {
    trig_set_err(
        err, errlen,
        "ALLOCPROF_PEAK=%s is not a margin (a percentage such as 10%% or a byte count such "
        "as 64m)",
        peak);
    return TRIG_CONFIG_BAD;
  }

  if (parse_http(get, cwd, cfg, err, errlen) != 0) return TRIG_CONFIG_BAD;

  if (out == NULL && stream == NULL) {
    const char *set = sig != NULL        ? "ALLOCPROF_SIGNAL"
                      : interval != NULL ? "ALLOCPROF_INTERVAL"
                      : growth != NULL   ? "ALLOCPROF_INUSE_INTERVAL"
                      : peak != NULL     ? "ALLOCPROF_PEAK"
                                         : NULL;
    if (set == NULL) return cfg->http.kind != TRIG_HTTP_OFF ? TRIG_CONFIG_OK : TRIG_CONFIG_NONE;
    trig_set_err(err, errlen, "%s is set but neither ALLOCPROF_OUT nor ALLOCPROF_STREAM is", set);
    return TRIG_CONFIG_BAD;
  }
  return TRIG_CONFIG_OK;
}

/* ---- the allocator's settings (ALLOC_*) ------------------------------------------ */

/* Each setting with its range, its default and the words a bad value gets
 * (the default spelled out: the line is built without a formatter). */
static const struct {
  const char *name;
  size_t offset;
  uint64_t lo, hi, def;
  const char *why;
} alloc_setting_table[] = {
    {"ALLOC_STATS", offsetof(struct alloc_settings, stats), 0, 1, 0,
     " is not 0 or 1; keeping 0 (no statistics)"},
    {"ALLOC_SCAVENGER", offsetof(struct alloc_settings, scavenger), 0, 1, 1,
     " is not 0 or 1; keeping 1 (the background scavenger)"},
    {"ALLOC_SCAVENGE_DELAY_MS", offsetof(struct alloc_settings, scavenge_delay_ms), 0, 86400000,
     500, " is not a number of milliseconds from 0 to 86400000; keeping 500"},
    {"ALLOC_RETAIN_MB", offsetof(struct alloc_settings, retain_mb), 0, 1048576, 8,
     " is not a number of MiB from 0 to 1048576; keeping 8"},
    {"ALLOC_THREAD_CACHE_KB", offsetof(struct alloc_settings, thread_cache_kb), 0, 65536, 4096,
     " is not a number of KiB from 0 to 65536; keeping 4096"},
};

int alloc_settings_parse(const char *(*get)(const char *name), struct alloc_settings *s,
                         void (*bad)(const char *name, const char *value, const char *why)) {
  int nbad = 0;
  for (size_t i = 0; i < sizeof alloc_setting_table / sizeof alloc_setting_table[0]; i++) {
    uint64_t *field = (uint64_t *)((char *)s + alloc_setting_table[i].offset);
    *field = alloc_setting_table[i].def;
    const char *v = setting(get, alloc_setting_table[i].name);
    if (v == NULL) continue;
    if (trig_parse_count(v, alloc_setting_table[i].lo, alloc_setting_table[i].hi, field) != 0) {
      nbad++;
      if (bad != NULL) bad(alloc_setting_table[i].name, v, alloc_setting_table[i].why);
    }
  }
  return nbad;
}

/* ---- ALLOCPROF_HTTP ---------------------------------------------------------------- */

/* A port: 0 to 65535, all of s. Returns 0, or -1. */
static int parse_port(const char *s, unsigned *port) {
  uint64_t v;
  if (trig_parse_count(s, 0, 65535, &v) != 0) return -1;
  *port = (unsigned)v;
  return 0;
}

static int http_unix(const char *s, const char *cwd, struct trig_http *h, char *err,
                     size_t errlen) {
  char why[200];
  if (trig_pattern_check(s, TRIG_PATTERN_STREAM, why, sizeof why) != 0) {
    trig_set_err(err, errlen, "(the socket's path) %s", why);
    return -1;
  }
  if (trig_pattern_absolute(s, cwd, h->path, sizeof h->path) != 0) {
    trig_set_err(err, errlen, "is too long");
    return -1;
  }
  h->kind = TRIG_HTTP_UNIX;
  return 0;
}

int trig_http_parse(const char *s, const char *cwd, struct trig_http *h, char *err, size_t errlen) {
  memset(h, 0, sizeof *h);
  static const char usage[] =
      "is not an address (127.0.0.1:6060, [::1]:6060, :6060 for every address, or "
      "unix:/path/sock)";
  if (strncmp(s, "unix:", 5) == 0) return http_unix(s + 5, cwd, h, err, errlen);
  const char *colon = strrchr(s, ':');
  const char *port = colon != NULL ? colon + 1 : s;
  if (parse_port(port, &h->port) != 0) {
    trig_set_err(err, errlen, "%s",
                 colon != NULL && *port != 0 ? "has a bad port (0 to 65535)" : usage);
    return -1;
  }
  char host[64];
  size_t n = colon != NULL ? (size_t)(colon - s) : 0;
  if (n >= sizeof host) {
    trig_set_err(err, errlen, "%s", usage);
    return -1;
  }
  memcpy(host, s, n);
  host[n] = 0;
  if (colon == NULL || strcmp(host, "localhost") == 0) { /* loopback unless told otherwise */
    h->kind = TRIG_HTTP_IPV4;
    return inet_pton(AF_INET, "127.0.0.1", h->addr) == 1 ? 0 : -1;
  }
  if (n == 0) {
    h->kind = TRIG_HTTP_ANY;
    return 0;
  }
  if (host[0] == '[' && host[n - 1] == ']') {
    host[n - 1] = 0;
    h->kind = TRIG_HTTP_IPV6;
    if (inet_pton(AF_INET6, host + 1, h->addr) == 1) return 0;
  } else {
    h->kind = TRIG_HTTP_IPV4;
    if (inet_pton(AF_INET, host, h->addr) == 1) return 0;
  }
  trig_set_err(err, errlen, "%s", usage);
  h->kind = TRIG_HTTP_OFF;
  return -1;
}
