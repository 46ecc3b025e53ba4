/* test_prof_config.c: the profiler's settings (liballoc/settings.h): byte
 * counts, seconds, peak margins and their thresholds, signal names and
 * numbers, and the whole configuration read through a fake environment,
 * with the one-line message each bad setting gets; then `allocprof run`'s
 * check of its options (cli/run_settings.c) against the library's verdict,
 * value by value.
 *
 * The settings are pure functions (prof_settings, which alloc_core links):
 * nothing of the runtime in triggers.c is needed here. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "settings.h"

/* `allocprof run`'s check, compiled in (the unit tests do not link the
 * command); it needs nothing but prof_settings. */
#include "../../cli/run_settings.c"

/* ---- values ----------------------------------------------------------------------- */

static void test_bytes(void **state) {
  (void)state;
  uint64_t v;
  assert_int_equal(trig_parse_bytes("0", &v), 0);
  assert_int_equal(v, 0);
  assert_int_equal(trig_parse_bytes("524288", &v), 0);
  assert_int_equal(v, 524288);
  assert_int_equal(trig_parse_bytes("512k", &v), 0);
  assert_int_equal(v, 512 << 10);
  assert_int_equal(trig_parse_bytes("64M", &v), 0);
  assert_int_equal(v, 64 << 20);
  assert_int_equal(trig_parse_bytes("2g", &v), 0);
  assert_int_equal(v, (uint64_t)2 << 30);
  /* the sampler's grammar, to the byte (triggers.c tells a bad ALLOCPROF_RATE
   * by it): a conservative overflow check */
  assert_int_equal(trig_parse_bytes("1844674407370955161", &v), 0);
  assert_true(v == 1844674407370955161ull);
  const char *bad[] = {
      "", "k", "-5", "12kb", "1.5m", " 1", "1 ", "0x10", "18446744073709551616", "17179869184g"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(trig_parse_bytes(bad[i], &v), -1);
}

static void test_count(void **state) {
  (void)state;
  uint64_t v;
  assert_int_equal(trig_parse_count("64", 1, 256, &v), 0);
  assert_int_equal(v, 64);
  assert_int_equal(trig_parse_count("1", 1, 256, &v), 0);
  assert_int_equal(v, 1);
  assert_int_equal(trig_parse_count("256", 1, 256, &v), 0);
  assert_int_equal(v, 256);
  const char *bad[] = {"",   "0",   "257", "300", "abc",
                       "-1", "64 ", " 64", "6k",  "99999999999999999999999"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(trig_parse_count(bad[i], 1, 256, &v), -1);
}

static void test_seconds(void **state) {
  (void)state;
  uint64_t ms;
  assert_int_equal(trig_parse_seconds("1", &ms), 0);
  assert_int_equal(ms, 1000);
  assert_int_equal(trig_parse_seconds("30s", &ms), 0);
  assert_int_equal(ms, 30000);
  assert_int_equal(trig_parse_seconds("0.5", &ms), 0);
  assert_int_equal(ms, 500);
  assert_int_equal(trig_parse_seconds(".25", &ms), 0);
  assert_int_equal(ms, 250);
  assert_int_equal(trig_parse_seconds("2.", &ms), 0);
  assert_int_equal(ms, 2000);
  assert_int_equal(trig_parse_seconds("0.0001", &ms), 0); /* positive: at least 1 ms */
  assert_int_equal(ms, 1);
  assert_int_equal(trig_parse_seconds("1.23456", &ms), 0);
  assert_int_equal(ms, 1234);
  assert_int_equal(trig_parse_seconds("0", &ms), 0); /* off */
  assert_int_equal(ms, 0);
  assert_int_equal(trig_parse_seconds("1000000000", &ms), 0);
  const char *bad[] = {"", ".", "s", "soon", "-1", "1e3", "1m", "1,5", "1000000001", "1 s"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(trig_parse_seconds(bad[i], &ms), -1);
}

static void test_margin(void **state) {
  (void)state;
  struct trig_margin m;
  assert_int_equal(trig_parse_margin("10%", &m), 0);
  assert_int_equal(m.ppm, 100000);
  assert_int_equal(m.bytes, 0);
  assert_int_equal(trig_parse_margin("2.5%", &m), 0);
  assert_int_equal(m.ppm, 25000);
  assert_int_equal(trig_parse_margin("64m", &m), 0);
  assert_int_equal(m.bytes, 64 << 20);
  assert_int_equal(m.ppm, 0);
  assert_int_equal(trig_parse_margin("0%", &m), 0);
  assert_true(trig_margin_off(&m));
  assert_int_equal(trig_parse_margin("0", &m), 0);
  assert_true(trig_margin_off(&m));
  const char *bad[] = {"", "%", "lots", "10 %", "%10", "-5%", "10%%", "1.5m", "10%x"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(trig_parse_margin(bad[i], &m), -1);
}

static void test_margin_next(void **state) {
  (void)state;
  struct trig_margin pct = {0, 500000}; /* 50% */
  assert_int_equal(trig_margin_next(&pct, 0), TRIG_PEAK_FIRST_BYTES);
  assert_int_equal(trig_margin_next(&pct, 1000), 1500);
  assert_int_equal(trig_margin_next(&pct, 32 << 20), 48 << 20);
  assert_true(trig_margin_next(&pct, UINT64_MAX - 10) == UINT64_MAX);
  struct trig_margin tiny = {0, 1}; /* a millionth of a percent still moves */
  assert_int_equal(trig_margin_next(&tiny, 100), 101);
  struct trig_margin bytes = {8 << 20, 0};
  assert_int_equal(trig_margin_next(&bytes, 0), 8 << 20);
  assert_int_equal(trig_margin_next(&bytes, 8 << 20), 16 << 20);
  assert_true(trig_margin_next(&bytes, UINT64_MAX - 1) == UINT64_MAX);
  struct trig_margin off = {0, 0};
  assert_true(trig_margin_next(&off, 0) == UINT64_MAX);
}

static void test_signals(void **state) {
  (void)state;
  assert_int_equal(trig_parse_signal("SIGUSR2"), SIGUSR2);
  assert_int_equal(trig_parse_signal("USR2"), SIGUSR2);
  assert_int_equal(trig_parse_signal("usr1"), SIGUSR1);
  assert_int_equal(trig_parse_signal("SigHup"), SIGHUP);
  assert_int_equal(trig_parse_signal("12"), 12);
  assert_int_equal(trig_parse_signal("PROF"), SIGPROF);
  assert_int_equal(trig_parse_signal("IO"), SIGIO);
  assert_int_equal(trig_parse_signal("IOT"), SIGIOT);
  assert_int_equal(trig_parse_signal("RTMIN"), SIGRTMIN);
  assert_int_equal(trig_parse_signal("SIGRTMIN+2"), SIGRTMIN + 2);
  assert_int_equal(trig_parse_signal("rtmax-1"), SIGRTMAX - 1);
  assert_int_equal(trig_parse_signal("RTMAX"), SIGRTMAX);

  const char *unknown[] = {"",   "FOO", "SIG",     "USR3",    "SIGUSR2X", "0",        "65",
                           "-1", "12a", "RTMIN-1", "RTMAX+1", "RTMIN+",   "RTMIN+99", " USR2"};
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
    assert_int_equal(trig_parse_signal(unknown[i]), TRIG_SIG_UNKNOWN);
  assert_int_equal(trig_parse_signal("KILL"), TRIG_SIG_UNCATCHABLE);
  assert_int_equal(trig_parse_signal("SIGSTOP"), TRIG_SIG_UNCATCHABLE);
  assert_int_equal(trig_parse_signal("9"), TRIG_SIG_UNCATCHABLE);
  assert_int_equal(trig_parse_signal("SEGV"), TRIG_SIG_FAULT);
  assert_int_equal(trig_parse_signal("SIGBUS"), TRIG_SIG_FAULT);
  assert_int_equal(trig_parse_signal("fpe"), TRIG_SIG_FAULT);
  assert_int_equal(trig_parse_signal("32"), TRIG_SIG_RESERVED);
}

/* ---- the whole configuration ----------------------------------------------------------- */

static const char *fake_env[16][2];

static void set_env(const char *name, const char *value) {
  for (size_t i = 0; i < 16; i++) {
    if (fake_env[i][0] == NULL || strcmp(fake_env[i][0], name) == 0) {
      fake_env[i][0] = name;
      fake_env[i][1] = value;
      return;
    }
  }
  fail();
}

static const char *get_env(const char *name) {
  for (size_t i = 0; i < 16 && fake_env[i][0] != NULL; i++)
    if (strcmp(fake_env[i][0], name) == 0) return fake_env[i][1];
  return NULL;
}

static int reset_env(void **state) {
  (void)state;
  memset(fake_env, 0, sizeof fake_env);
  return 0;
}

static struct trig_config cfg_got;
static char err_got[512];

static int parse(void) {
  err_got[0] = 0;
  return trig_config_parse(get_env, "/work/dir", &cfg_got, err_got, sizeof err_got);
}

static void test_config_nothing(void **state) {
  (void)state;
  assert_int_equal(parse(), TRIG_CONFIG_NONE);
  set_env("ALLOCPROF_OUT", ""); /* empty counts as unset */
  set_env("ALLOCPROF_SIGNAL", "");
  assert_int_equal(parse(), TRIG_CONFIG_NONE);
  set_env("ALLOCPROF_RATE", "1"); /* a rate alone writes nothing */
  assert_int_equal(parse(), TRIG_CONFIG_NONE);
  /* and needs no dumping half at load (liballoc/mprof_dumper.c) */
  assert_int_equal(trig_config_wanted(get_env), 0);
}

/* Each setting the parse reads makes the dumping half wanted at load, even a
 * bad one (the dumping half is what says it is bad). */
static void test_config_wanted(void **state) {
  (void)state;
  const char *names[] = {"ALLOCPROF_OUT",      "ALLOCPROF_STREAM",         "ALLOCPROF_SIGNAL",
                         "ALLOCPROF_INTERVAL", "ALLOCPROF_INUSE_INTERVAL", "ALLOCPROF_PEAK"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    reset_env(NULL);
    set_env(names[i], "x");
    assert_int_equal(trig_config_wanted(get_env), 1);
    assert_int_not_equal(parse(), TRIG_CONFIG_NONE);
  }
}

/* allocprof run --no-children: only the process ALLOCPROF_RUN_PID names is
 * profiled; without ALLOCPROF_NO_CHILDREN=1 nobody is left out. */
static void test_run_excluded(void **state) {
  (void)state;
  assert_int_equal(trig_run_excluded(get_env, 42), 0);
  set_env("ALLOCPROF_RUN_PID", "42");
  assert_int_equal(trig_run_excluded(get_env, 43), 0); /* a run with children */
  set_env("ALLOCPROF_NO_CHILDREN", "1");
  assert_int_equal(trig_run_excluded(get_env, 42), 0);
  assert_int_equal(trig_run_excluded(get_env, 43), 1);
  set_env("ALLOCPROF_NO_CHILDREN", "0");
  assert_int_equal(trig_run_excluded(get_env, 43), 0);
  set_env("ALLOCPROF_NO_CHILDREN", "1");
  set_env("ALLOCPROF_RUN_PID", "42x"); /* no valid pid: nobody is the one */
  assert_int_equal(trig_run_excluded(get_env, 42), 1);
  set_env("ALLOCPROF_RUN_PID", "");
  assert_int_equal(trig_run_excluded(get_env, 42), 1);
}

static void test_config_full(void **state) {
  (void)state;
  set_env("ALLOCPROF_OUT", "heap.%p.%n.pb.gz");
  set_env("ALLOCPROF_STREAM", "/var/tmp/s.%p.zst");
  set_env("ALLOCPROF_SIGNAL", "SIGUSR1");
  set_env("ALLOCPROF_INTERVAL", "2.5");
  set_env("ALLOCPROF_INUSE_INTERVAL", "64m");
  set_env("ALLOCPROF_PEAK", "10%");
  assert_int_equal(parse(), TRIG_CONFIG_OK);
  assert_string_equal(cfg_got.out, "/work/dir/heap.%p.%n.pb.gz");
  assert_string_equal(cfg_got.stream, "/var/tmp/s.%p.zst");
  assert_int_equal(cfg_got.signo, SIGUSR1);
  assert_int_equal(cfg_got.interval_ms, 2500);
  assert_int_equal(cfg_got.inuse_interval, 64 << 20);
  assert_int_equal(cfg_got.peak.ppm, 100000);
  assert_true(trig_config_needs_thread(&cfg_got));
}

static void test_config_exit_only(void **state) {
  (void)state;
  set_env("ALLOCPROF_OUT", "/tmp/heap.pb");
  set_env("ALLOCPROF_INTERVAL", "0"); /* 0: off */
  set_env("ALLOCPROF_RATE", "0");     /* rate 0 still writes at exit */
  assert_int_equal(parse(), TRIG_CONFIG_OK);
  assert_string_equal(cfg_got.out, "/tmp/heap.pb");
  assert_false(trig_config_needs_thread(&cfg_got));
  reset_env(NULL);
  set_env("ALLOCPROF_STREAM", "snap.zst"); /* a stream alone is enough */
  assert_int_equal(parse(), TRIG_CONFIG_OK);
  assert_string_equal(cfg_got.stream, "/work/dir/snap.zst");
  assert_string_equal(cfg_got.out, "");
}

static void expect_bad(const char *name, const char *value, const char *message) {
  reset_env(NULL);
  if (strcmp(name, "ALLOCPROF_OUT") != 0) set_env("ALLOCPROF_OUT", "/tmp/heap.%n.pb.gz");
  set_env(name, value);
  assert_int_equal(parse(), TRIG_CONFIG_BAD);
  assert_string_equal(err_got, message);
}

static void test_config_bad(void **state) {
  (void)state;
  expect_bad("ALLOCPROF_SIGNAL", "FOO", "ALLOCPROF_SIGNAL=FOO is not a signal name or number");
  expect_bad("ALLOCPROF_SIGNAL", "KILL", "ALLOCPROF_SIGNAL=KILL cannot be caught");
  expect_bad("ALLOCPROF_SIGNAL", "SEGV",
             "ALLOCPROF_SIGNAL=SEGV reports faults; choose a signal such as SIGUSR2");
  expect_bad("ALLOCPROF_SIGNAL", "33", "ALLOCPROF_SIGNAL=33 is reserved by the C library");
  expect_bad("ALLOCPROF_INTERVAL", "soon",
             "ALLOCPROF_INTERVAL=soon is not a number of seconds (e.g. 30 or 0.5)");
  expect_bad("ALLOCPROF_INUSE_INTERVAL", "-5",
             "ALLOCPROF_INUSE_INTERVAL=-5 is not a byte count (e.g. 67108864 or 64m)");
  expect_bad("ALLOCPROF_PEAK", "lots",
             "ALLOCPROF_PEAK=lots is not a margin (a percentage such as 10% or a byte count such "
             "as 64m)");
  expect_bad("ALLOCPROF_OUT", "heap.txt",
             "ALLOCPROF_OUT=heap.txt must end in .pb.gz (gzip), .pb.zst (zstd) or .pb (raw)");
  expect_bad("ALLOCPROF_OUT", "heap.%x.pb",
             "ALLOCPROF_OUT=heap.%x.pb has an unknown escape %x (use %p, %n, %t or %%)");
  expect_bad("ALLOCPROF_STREAM", "s.%n.zst",
             "ALLOCPROF_STREAM=s.%n.zst %n has no meaning in a stream's name (use %p, %t or %%)");

  /* a trigger with nowhere to write */
  reset_env(NULL);
  set_env("ALLOCPROF_SIGNAL", "USR2");
  assert_int_equal(parse(), TRIG_CONFIG_BAD);
  assert_string_equal(err_got,
                      "ALLOCPROF_SIGNAL is set but neither ALLOCPROF_OUT nor ALLOCPROF_STREAM is");
  reset_env(NULL);
  set_env("ALLOCPROF_PEAK", "10%");
  assert_int_equal(parse(), TRIG_CONFIG_BAD);
  assert_string_equal(err_got,
                      "ALLOCPROF_PEAK is set but neither ALLOCPROF_OUT nor ALLOCPROF_STREAM is");
}

static void test_rate_rejected(void **state) {
  (void)state;
  /* the sampler turned the setting down: its rate is 0 */
  assert_true(trig_rate_rejected("abc", 0));
  assert_true(trig_rate_rejected("512k", 0));
  /* it took it */
  assert_false(trig_rate_rejected("512k", 524288));
  assert_false(trig_rate_rejected("abc", 524288)); /* a grammar wider than ours */
  assert_false(trig_rate_rejected("0", 0));        /* a rate of 0 is a setting */
  assert_false(trig_rate_rejected("0k", 0));
  assert_false(trig_rate_rejected(NULL, 0));
  assert_false(trig_rate_rejected("", 0));
}

/* ---- allocprof run and the library agree ------------------------------------------------ */

/* One option of run with one value, and the verdicts expected of both. */
struct agree_case {
  char option; /* 'r' --rate, 'o' -o, 'i' --interval, 's' --signal */
  const char *value;
  int accepted;
};

static const struct agree_case agree_cases[] = {
    /* --interval: the library's grammar, digits[.digits][s] */
    {'i', "30", 1},
    {'i', "0.5", 1},
    {'i', "30s", 1},
    {'i', "0", 1},
    {'i', ".25", 1},
    {'i', "2.", 1},
    {'i', "1e-1", 0},
    {'i', "1E3", 0},
    {'i', "0x10", 0},
    {'i', "-1", 0},
    {'i', "+1", 0},
    {'i', " 5", 0},
    {'i', "5 ", 0},
    {'i', "inf", 0},
    {'i', "nan", 0},
    {'i', "1ms", 0},
    {'i', "5m", 0},
    {'i', "", 0},
    {'i', "1000000001", 0},
    /* --signal: names in any case, with or without SIG; no faults */
    {'s', "USR2", 1},
    {'s', "usr2", 1},
    {'s', "SigUsr1", 1},
    {'s', "12", 1},
    {'s', "hup", 1},
    {'s', "rtmin+1", 1},
    {'s', "SIGRTMAX-2", 1},
    {'s', "io", 1},
    {'s', "11", 0},
    {'s', "SEGV", 0},
    {'s', "sigbus", 0},
    {'s', "4", 0},
    {'s', "9", 0},
    {'s', "STOP", 0},
    {'s', "33", 0},
    {'s', "0", 0},
    {'s', "NOPE", 0},
    {'s', "USR2 ", 0},
    {'s', "-1", 0},
    {'s', "", 0},
    /* --rate: the sampler's byte counts */
    {'r', "0", 1},
    {'r', "1", 1},
    {'r', "512k", 1},
    {'r', "64M", 1},
    {'r', "2g", 1},
    {'r', "1.5k", 0},
    {'r', "1e3", 0},
    {'r', "512 KB", 0},
    {'r', "512KiB", 0},
    {'r', "1T", 0},
    {'r', "-1", 0},
    {'r', "lots", 0},
    {'r', "", 0},
    {'r', "99999999999999999999", 0},
    /* -o: the endings and escapes of ALLOCPROF_OUT */
    {'o', "heap.pb.gz", 1},
    {'o', "h.%p.%n.%t.pb.zst", 1},
    {'o', "100%%.pb", 1},
    {'o', "/abs/h.pb", 1},
    {'o', "heap.txt", 0},
    {'o', "h.%d.pb", 0},
    {'o', "h.pb.gz%", 0},
    {'o', "dir/", 0},
    {'o', "", 0},
    /* --peak: ALLOCPROF_PEAK's margins */
    {'P', "10%", 1},
    {'P', "2.5%", 1},
    {'P', "64m", 1},
    {'P', "1048576", 1},
    {'P', "lots", 0},
    {'P', "-5%", 0},
    {'P', "10%%", 0},
    {'P', "", 0},
    /* --inuse-interval: ALLOCPROF_INUSE_INTERVAL's byte counts */
    {'G', "64m", 1},
    {'G', "67108864", 1},
    {'G', "1.5q", 0},
    {'G', "64 MB", 0},
    {'G', "", 0},
    /* --stream: ALLOCPROF_STREAM's pattern (%p %t %% only) */
    {'S', "s.zst", 1},
    {'S', "s.%p.%t.zst", 1},
    {'S', "/abs/s.%p", 1},
    {'S', "s.%n.zst", 0},
    {'S', "s.%d", 0},
    {'S', "", 0},
};

static const char *agree_env[2][2];

static const char *agree_get(const char *name) {
  for (size_t i = 0; i < 2; i++)
    if (agree_env[i][0] != NULL && strcmp(agree_env[i][0], name) == 0) return agree_env[i][1];
  return NULL;
}

/* The library's verdict on one setting: what the sampler (rate) or
 * trig_config_parse (the rest) says when the program starts with it. */
static int library_accepts(const struct agree_case *c) {
  if (c->option == 'r') {
    uint64_t v;
    return trig_parse_bytes(c->value, &v) == 0;
  }
  const char *name = c->option == 'o'   ? "ALLOCPROF_OUT"
                     : c->option == 'i' ? "ALLOCPROF_INTERVAL"
                     : c->option == 'P' ? "ALLOCPROF_PEAK"
                     : c->option == 'G' ? "ALLOCPROF_INUSE_INTERVAL"
                     : c->option == 'S' ? "ALLOCPROF_STREAM"
                                        : "ALLOCPROF_SIGNAL";
  memset(agree_env, 0, sizeof agree_env);
  agree_env[0][0] = "ALLOCPROF_OUT";
  agree_env[0][1] = "/tmp/heap.pb.gz";
  agree_env[c->option == 'o' ? 0 : 1][0] = name;
  agree_env[c->option == 'o' ? 0 : 1][1] = c->value;
  /* an empty value is "unset" to the library; as an option it is refused */
  if (*c->value == 0) return 0;
  struct trig_config cfg;
  char err[512];
  return trig_config_parse(agree_get, "/w", &cfg, err, sizeof err) == TRIG_CONFIG_OK;
}

static int run_accepts(const struct agree_case *c, char *err, size_t errlen) {
  struct run_options opt = {.out = "/tmp/heap.pb.gz"};
  switch (c->option) {
    case 'r': opt.rate = c->value; break;
    case 'o': opt.out = c->value; break;
    case 'i': opt.interval = c->value; break;
    case 'P': opt.peak = c->value; break;
    case 'G': opt.inuse = c->value; break;
    case 'S': opt.stream = c->value; break;
    default: opt.signal = c->value; break;
  }
  struct run_env env;
  err[0] = 0;
  return run_settings_check(&opt, NULL, "/w", &env, err, errlen) == 0;
}

static void test_run_agrees(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof agree_cases / sizeof agree_cases[0]; i++) {
    const struct agree_case *c = &agree_cases[i];
    char err[512];
    int run = run_accepts(c, err, sizeof err), lib = library_accepts(c);
    if (run != lib || run != c->accepted)
      fail_msg("-%c '%s': run %s, the library %s, expected %s", c->option, c->value,
               run ? "accepts" : "refuses", lib ? "accepts" : "refuses",
               c->accepted ? "accepted" : "refused");
    /* a refusal is one line that names the value */
    if (!run) {
      assert_null(strchr(err, '\n'));
      if (*c->value) assert_non_null(strstr(err, c->value));
    }
  }
}

static const char *inherited[4][2];

static const char *inherit_get(const char *name) {
  for (size_t i = 0; i < 4 && inherited[i][0] != NULL; i++)
    if (strcmp(inherited[i][0], name) == 0) return inherited[i][1];
  return NULL;
}

/* Settings run does not set come from its environment: checked too. */
static void test_run_inherited(void **state) {
  (void)state;
  struct run_options opt = {.out = "h.pb.gz", .interval = "2"};
  struct run_env env;
  char err[512];
  memset(inherited, 0, sizeof inherited);
  inherited[0][0] = "ALLOCPROF_PEAK", inherited[0][1] = "10%";
  inherited[1][0] = "ALLOCPROF_STREAM", inherited[1][1] = "s.%p.zst";
  assert_int_equal(run_settings_check(&opt, inherit_get, "/w", &env, err, sizeof err), 0);
  assert_string_equal(env.out, "/w/h.%n.pb.gz"); /* --interval: numbered files */
  inherited[0][1] = "lots";
  assert_int_equal(run_settings_check(&opt, inherit_get, "/w", &env, err, sizeof err), -1);
  assert_string_equal(err,
                      "ALLOCPROF_PEAK=lots is not a margin (a percentage such as 10% or a "
                      "byte count such as 64m)");
  inherited[0][1] = "10%";
  inherited[1][1] = "s.%n.zst";
  assert_int_equal(run_settings_check(&opt, inherit_get, "/w", &env, err, sizeof err), -1);
  inherited[1][1] = "s.zst";
  inherited[2][0] = "ALLOCPROF_RATE", inherited[2][1] = "1.5k";
  assert_int_equal(run_settings_check(&opt, inherit_get, "/w", &env, err, sizeof err), -1);
  assert_string_equal(err, "ALLOCPROF_RATE=1.5k is not a byte count (e.g. 524288 or 512k)");
  opt.rate = "2k"; /* --rate replaces it */
  assert_int_equal(run_settings_check(&opt, inherit_get, "/w", &env, err, sizeof err), 0);
  assert_string_equal(env.rate, "2048");
  /* an option replaces the inherited setting of the same name */
  inherited[3][0] = "ALLOCPROF_SIGNAL", inherited[3][1] = "SEGV";
  assert_int_equal(run_settings_check(&opt, inherit_get, "/w", &env, err, sizeof err), -1);
  opt.signal = "usr2";
  assert_int_equal(run_settings_check(&opt, inherit_get, "/w", &env, err, sizeof err), 0);
  assert_int_equal(env.signo, SIGUSR2);
}

/* The working directory's '%' doubled: the library reads back the
 * directory as it is, not as escapes. */
static void test_run_cwd_percent(void **state) {
  (void)state;
  struct run_options opt = {.out = "h.%n.pb"};
  struct run_env env;
  char err[512];
  assert_int_equal(run_settings_check(&opt, NULL, "/srv/50%d", &env, err, sizeof err), 0);
  assert_string_equal(env.out, "/srv/50%%d/h.%n.pb");
  memset(agree_env, 0, sizeof agree_env);
  agree_env[0][0] = "ALLOCPROF_OUT", agree_env[0][1] = env.out;
  struct trig_config cfg;
  assert_int_equal(trig_config_parse(agree_get, "/elsewhere", &cfg, err, sizeof err),
                   TRIG_CONFIG_OK);
  char path[TRIG_PATH_MAX];
  assert_int_equal(trig_pattern_expand(cfg.out, 7, 3, 0, path, sizeof path), 0);
  assert_string_equal(path, "/srv/50%d/h.3.pb");
}

/* ALLOCPROF_DEBUG_DIR: absolute directories separated by ':', nothing else */
static void test_debug_dirs(void **state) {
  (void)state;
  char err[256];
  assert_int_equal(trig_debug_dirs_check("/usr/lib/debug", err, sizeof err), 0);
  assert_int_equal(trig_debug_dirs_check("/opt/debug:/usr/lib/debug", err, sizeof err), 0);
  assert_int_equal(trig_debug_dirs_check("/", err, sizeof err), 0);
  static const char *const bad[] = {"", "debug", "/a:", ":/a", "/a::/b", "/a:b", "./x"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    err[0] = 0;
    assert_int_equal(trig_debug_dirs_check(bad[i], err, sizeof err), -1);
    assert_true(err[0] != 0);
  }
  assert_non_null(strstr(err, "relative")); /* says what is wrong */
  static char huge[TRIG_PATH_MAX + 2];
  memset(huge, 'a', sizeof huge - 1);
  huge[0] = '/';
  assert_int_equal(trig_debug_dirs_check(huge, err, sizeof err), -1);
  assert_string_equal(err, "is too long");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bytes),
      cmocka_unit_test(test_count),
      cmocka_unit_test(test_seconds),
      cmocka_unit_test(test_margin),
      cmocka_unit_test(test_margin_next),
      cmocka_unit_test(test_signals),
      cmocka_unit_test_setup(test_config_nothing, reset_env),
      cmocka_unit_test_setup(test_config_wanted, reset_env),
      cmocka_unit_test_setup(test_config_full, reset_env),
      cmocka_unit_test_setup(test_run_excluded, reset_env),
      cmocka_unit_test_setup(test_config_exit_only, reset_env),
      cmocka_unit_test_setup(test_config_bad, reset_env),
      cmocka_unit_test(test_rate_rejected),
      cmocka_unit_test(test_run_agrees),
      cmocka_unit_test(test_run_inherited),
      cmocka_unit_test(test_run_cwd_percent),
      cmocka_unit_test(test_debug_dirs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
