/* settings.h: the ALLOCPROF_* settings that say whether, when and where
 * heap profiles are written: parsing each value, checking and expanding the
 * output patterns, reading the whole configuration; and the allocator's own
 * ALLOC_* settings, read with the same parsers. No call here touches the
 * process (no environment, no files, no signals, no allocation), so unit
 * tests call them directly (tests/unit/test_prof_config.c,
 * test_prof_outpath.c, test_alloc_settings.c).
 *
 * One parser per setting, linked by everyone who reads one: the sampler
 * (ALLOCPROF_RATE), the triggers (triggers.c, which describes what each
 * setting means) and `allocprof run`, which checks its options with these
 * same calls, so that whatever it accepts the library accepts
 * (cli/run_settings.c).
 *
 * Calls that can fail return 0 (or a value >= 0) on success and -1 (or
 * another negative code) on failure; those with err write one line without a
 * newline and without the "allocprof: " prefix to err[errlen]. */
#ifndef PROF_SETTINGS_H
#define PROF_SETTINGS_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#pragma GCC visibility push(hidden)

/* Longest path, pattern or expanded, including its terminating zero. */
#define TRIG_PATH_MAX PATH_MAX

/* ---- values ------------------------------------------------------------------ */

/* A byte count: decimal digits with an optional k/K, m/M or g/G suffix
 * (powers of 1024), the grammar of ALLOCPROF_RATE. Returns 0 and *out, or -1. */
int trig_parse_bytes(const char *s, uint64_t *out);

/* A plain decimal count from lo to hi (ALLOCPROF_MAX_FRAMES). Returns 0 and
 * *out, or -1. */
int trig_parse_count(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);

/* Seconds: decimal digits with an optional fraction and an optional "s"
 * ("30", "0.5", "2s"), at most 10^9. *ms gets milliseconds, rounded up to
 * 1 when the value is positive but under a millisecond; "0" gives 0 (off).
 * Returns 0, or -1. */
int trig_parse_seconds(const char *s, uint64_t *ms);

/* The peak trigger's margin: a percentage ("10%", "2.5%") or a byte count
 * (trig_parse_bytes). Off when both fields are 0. */
struct trig_margin {
  uint64_t bytes; /* a byte margin, or 0 */
  uint64_t ppm;   /* a percentage in millionths (10% = 100000), or 0 */
};
int trig_parse_margin(const char *s, struct trig_margin *m);
static inline int trig_margin_off(const struct trig_margin *m) {
  return m->bytes == 0 && m->ppm == 0;
}

/* Below this the percentage of a peak level means little: the first peak
 * dump under a percentage margin waits for in-use to reach it. */
#define TRIG_PEAK_FIRST_BYTES ((uint64_t)1 << 20)

/* The in-use level at which the next peak dump happens, given the level of
 * the last one (0: none yet). Saturates at UINT64_MAX; UINT64_MAX when the
 * margin is off. */
uint64_t trig_margin_next(const struct trig_margin *m, uint64_t level);

/* A signal: a name with or without "SIG" in any case ("SIGUSR2", "usr2"),
 * "RTMIN+n"/"RTMAX-n", or a number. Returns the signal number, or one of: */
#define TRIG_SIG_UNKNOWN (-1)     /* not a signal name or number */
#define TRIG_SIG_UNCATCHABLE (-2) /* SIGKILL, SIGSTOP */
#define TRIG_SIG_FAULT (-3)       /* SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP */
#define TRIG_SIG_RESERVED (-4)    /* between 32 and SIGRTMIN: the C library's */
int trig_parse_signal(const char *s);

/* What is wrong with a signal trig_parse_signal turned down (one of the
 * codes above), as words to follow the value: "cannot be caught"... */
const char *trig_signal_problem(int code);

/* ---- output patterns ----------------------------------------------------------
 * ALLOCPROF_OUT: %p the process id, %n the dump's sequence number (0, 1, 2...
 * per process), %t the unix time in seconds, %% a '%'; it must end in
 * ".pb.gz", ".pb.zst" or ".pb". ALLOCPROF_STREAM: %p, %t and %% only, any
 * ending. */

enum trig_pattern_kind { TRIG_PATTERN_OUT, TRIG_PATTERN_STREAM };

/* Checks pat's escapes, its last component and (OUT) its ending. Returns 0, or
 * -1 with the reason in err (it does not repeat pat). */
int trig_pattern_check(const char *pat, enum trig_pattern_kind kind, char *err, size_t errlen);

/* pat made absolute: cwd (its '%' doubled) + "/" + pat when pat is relative
 * and cwd is not NULL, else pat. Returns 0, or -1 when buf is too small. */
int trig_pattern_absolute(const char *pat, const char *cwd, char *buf, size_t len);

/* pat expanded (pat checked). Returns 0, or -1 when buf is too small. */
int trig_pattern_expand(const char *pat, long pid, uint64_t seq, int64_t unix_time, char *buf,
                        size_t len);

/* The directory part of path: "." when there is no '/', "/" for "/x".
 * Returns 0, or -1 when buf is too small. */
int trig_dirname(const char *path, char *buf, size_t len);

/* Whether pat contains an escape that differs between processes (%p, %t). */
int trig_pattern_per_process(const char *pat);

/* Whether pat (checked) has a %p escape (%%p is not one). */
int trig_pattern_has_pid(const char *pat);

/* pat with pid added where it tells a forked child's files apart from its
 * parent's: before the first %n ("x.%n.pb.gz" -> "x.123.%n.pb.gz"), else
 * before the ending ("x.pb.gz" -> "x.123.pb.gz"). Returns 0, or -1 when out
 * is too small. */
int trig_pattern_with_pid(const char *pat, long pid, char *out, size_t len);

/* ---- ALLOCPROF_HTTP --------------------------------------------------------------
 * Where the profiled process serves its profiles and metrics (libprof/
 * http_server.c): "127.0.0.1:6060" or "localhost:6060", "[::1]:6060", a
 * bare "6060" (loopback), ":6060" (every address: only when written so),
 * "unix:/path/sock" (%p, %t and %% as in a stream's name; a relative path is
 * made absolute). Port 0: the kernel picks one. */
enum trig_http_kind {
  TRIG_HTTP_OFF,
  TRIG_HTTP_IPV4,
  TRIG_HTTP_IPV6,
  TRIG_HTTP_ANY,
  TRIG_HTTP_UNIX
};
struct trig_http {
  enum trig_http_kind kind;
  unsigned char addr[16];   /* IPV4 (4 bytes), IPV6: the address, network order */
  unsigned port;            /* IPV4, IPV6, ANY */
  char path[TRIG_PATH_MAX]; /* UNIX: the socket's pattern, absolute */
};

/* Parses an ALLOCPROF_HTTP value into *h. Returns 0, or -1 with the reason
 * in err (it does not repeat s). */
int trig_http_parse(const char *s, const char *cwd, struct trig_http *h, char *err, size_t errlen);

/* Whether pat (checked) has a %n escape (%%n is not one). */
int trig_pattern_has_seq(const char *pat);

/* pat with ".%n" before its ending ("x.pb.gz" -> "x.%n.pb.gz",
 * "x.%p.pb.gz" -> "x.%p.%n.pb.gz"): the files of a repeated trigger
 * numbered. Returns 0, or -1 when out is too small. */
int trig_pattern_with_seq(const char *pat, char *out, size_t len);

/* ---- ALLOCPROF_DEBUG_DIR -----------------------------------------------------------
 * Where the dumping half looks for separate debug files (libprof/symbolize.h):
 * absolute directories separated by ':' ("/opt/debug:/usr/lib/debug"),
 * replacing the default, /usr/lib/debug. Local disk only. */

/* Checks an ALLOCPROF_DEBUG_DIR value: no empty or relative entry, shorter
 * than TRIG_PATH_MAX. Returns 0, or -1 with the reason in err (it does not
 * repeat s). */
int trig_debug_dirs_check(const char *s, char *err, size_t errlen);

/* ---- the whole configuration ------------------------------------------------- */

struct trig_config {
  char out[TRIG_PATH_MAX];           /* ALLOCPROF_OUT made absolute; "" when unset */
  char stream[TRIG_PATH_MAX];        /* ALLOCPROF_STREAM made absolute; "" when unset */
  int signo;                         /* ALLOCPROF_SIGNAL; 0: off */
  uint64_t interval_ms;              /* ALLOCPROF_INTERVAL; 0: off */
  uint64_t inuse_interval;           /* ALLOCPROF_INUSE_INTERVAL, bytes; 0: off */
  struct trig_margin peak;           /* ALLOCPROF_PEAK; off when trig_margin_off */
  struct trig_http http;             /* ALLOCPROF_HTTP; kind TRIG_HTTP_OFF when unset */
  char http_portfile[TRIG_PATH_MAX]; /* ALLOCPROF_HTTP_PORTFILE made absolute; "" unset */
};

#define TRIG_CONFIG_OK 0     /* something to do: cfg filled */
#define TRIG_CONFIG_NONE 1   /* nothing set: nothing to do */
#define TRIG_CONFIG_BAD (-1) /* a bad setting: err says which and why */

/* Reads the settings through get (getenv in the library, a table in tests)
 * and checks their syntax; relative patterns are made absolute against cwd
 * (NULL: left as they are). Empty values count as unset. Checks nothing on
 * disk, and not ALLOCPROF_RATE (the sampler's; see trig_rate_rejected).
 * Returns one of TRIG_CONFIG_*. */
int trig_config_parse(const char *(*get)(const char *name), const char *cwd,
                      struct trig_config *cfg, char *err, size_t errlen);

/* Whether any setting trig_config_parse reads is set (not empty): whether
 * the process wants its dumping half at load (liballoc/mprof_dumper.c). */
int trig_config_wanted(const char *(*get)(const char *name));

/* allocprof run --no-children (cli/cmd_run.c): ALLOCPROF_NO_CHILDREN=1
 * profiles only the process ALLOCPROF_RUN_PID names. Whether process pid is
 * another, left unprofiled: no sampling, no dumping half loaded, no dump. */
int trig_run_excluded(const char *(*get)(const char *name), long pid);

/* Whether the sampler turned down ALLOCPROF_RATE=rate (NULL: unset): the
 * rate it runs at is 0 though rate is set and is not a zero. The sampler
 * has then printed its line and profiling is off; the triggers stay off
 * without a second line. */
int trig_rate_rejected(const char *rate, uint64_t sampler_rate);

/* Whether the configuration needs the profiler thread (any trigger but exit). */
int trig_config_needs_thread(const struct trig_config *cfg);

/* ---- the allocator's settings (ALLOC_*) ------------------------------------------
 * Read once by liballoc (alloc_settings in environ.c); ALLOC_STATS acts in
 * malloc_thread.c, ALLOC_THREAD_CACHE_KB in mcache.c (mcache.h says what
 * it means), the other three in scavenger.c, which says what they mean. */

struct alloc_settings {
  uint64_t stats;             /* ALLOC_STATS: 0 or 1 (statistics on stderr at exit); 0 */
  uint64_t scavenger;         /* ALLOC_SCAVENGER: 0 or 1 (the background thread); 1 */
  uint64_t scavenge_delay_ms; /* ALLOC_SCAVENGE_DELAY_MS: 0 to 86400000; 500 */
  uint64_t retain_mb;         /* ALLOC_RETAIN_MB: 0 to 1048576 (1 TiB); 8 */
  uint64_t thread_cache_kb;   /* ALLOC_THREAD_CACHE_KB: 0 to 65536 (64 MiB); 4096 */
};

/* Fills s from the settings read through get (empty counts as unset). Each
 * value must be a plain decimal number in its range; a bad one keeps its
 * default and costs one call bad(name, value, why), why being the words
 * that follow "NAME=value" on the line ("is not ...; keeping 8"). Returns
 * the number of bad values. Allocates nothing. */
int alloc_settings_parse(const char *(*get)(const char *name), struct alloc_settings *s,
                         void (*bad)(const char *name, const char *value, const char *why));

#pragma GCC visibility pop
#endif /* PROF_SETTINGS_H */
