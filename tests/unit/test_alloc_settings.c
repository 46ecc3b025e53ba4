/* test_alloc_settings.c: the allocator's ALLOC_* settings
 * (alloc_settings_parse in liballoc/settings.c) read through a fake
 * environment: the defaults, every value in range, and for each bad value
 * (negative, junk, a suffix, out of range, overflowing) the default kept
 * and exactly one message naming the setting and the value. What the
 * settings do is tested on a running process (tests/integration/scavenge.c,
 * alloc_settings.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "settings.h"

static const char *fake_env[8][2];

static void env_clear(void) { memset(fake_env, 0, sizeof fake_env); }

static void env_set(const char *name, const char *value) {
  for (size_t i = 0; i < sizeof fake_env / sizeof fake_env[0]; i++) {
    if (fake_env[i][0] == NULL || strcmp(fake_env[i][0], name) == 0) {
      fake_env[i][0] = name;
      fake_env[i][1] = value;
      return;
    }
  }
  fail_msg("fake environment full");
}

static const char *get_env(const char *name) {
  for (size_t i = 0; i < sizeof fake_env / sizeof fake_env[0] && fake_env[i][0] != NULL; i++)
    if (strcmp(fake_env[i][0], name) == 0) return fake_env[i][1];
  return NULL;
}

/* The messages of the last parse. */
static int nbad;
static char bad_line[4][256];

static void record_bad(const char *name, const char *value, const char *why) {
  if (nbad < 4) {
    strcpy(bad_line[nbad], name);
    strcat(bad_line[nbad], "=");
    strcat(bad_line[nbad], value);
    strcat(bad_line[nbad], why);
  }
  nbad++;
}

static int parse(struct alloc_settings *s) {
  nbad = 0;
  memset(s, 0xa5, sizeof *s); /* every field must be written */
  int r = alloc_settings_parse(get_env, s, record_bad);
  assert_int_equal(r, nbad);
  return r;
}

static void assert_defaults(const struct alloc_settings *s) {
  assert_int_equal(s->stats, 0);
  assert_int_equal(s->scavenger, 1);
  assert_int_equal(s->scavenge_delay_ms, 500);
  assert_int_equal(s->retain_mb, 8);
  assert_int_equal(s->thread_cache_kb, 4096);
}

static void test_defaults(void **state) {
  (void)state;
  struct alloc_settings s;
  env_clear();
  assert_int_equal(parse(&s), 0);
  assert_defaults(&s);
  /* empty counts as unset */
  env_set("ALLOC_STATS", "");
  env_set("ALLOC_SCAVENGER", "");
  env_set("ALLOC_SCAVENGE_DELAY_MS", "");
  env_set("ALLOC_RETAIN_MB", "");
  assert_int_equal(parse(&s), 0);
  assert_defaults(&s);
  /* a NULL reporter is allowed */
  env_set("ALLOC_RETAIN_MB", "junk");
  assert_int_equal(alloc_settings_parse(get_env, &s, NULL), 1);
  assert_int_equal(s.retain_mb, 8);
}

static void test_good(void **state) {
  (void)state;
  struct alloc_settings s;
  env_clear();
  env_set("ALLOC_STATS", "1");
  env_set("ALLOC_SCAVENGER", "0");
  env_set("ALLOC_SCAVENGE_DELAY_MS", "0");
  env_set("ALLOC_RETAIN_MB", "0");
  env_set("ALLOC_THREAD_CACHE_KB", "0");
  assert_int_equal(parse(&s), 0);
  assert_int_equal(s.thread_cache_kb, 0);
  assert_int_equal(s.stats, 1);
  assert_int_equal(s.scavenger, 0);
  assert_int_equal(s.scavenge_delay_ms, 0);
  assert_int_equal(s.retain_mb, 0);
  env_set("ALLOC_STATS", "0");
  env_set("ALLOC_SCAVENGER", "1");
  env_set("ALLOC_SCAVENGE_DELAY_MS", "86400000");
  env_set("ALLOC_RETAIN_MB", "1048576");
  env_set("ALLOC_THREAD_CACHE_KB", "65536");
  assert_int_equal(parse(&s), 0);
  assert_int_equal(s.thread_cache_kb, 65536);
  assert_int_equal(s.stats, 0);
  assert_int_equal(s.scavenger, 1);
  assert_int_equal(s.scavenge_delay_ms, 86400000);
  assert_int_equal(s.retain_mb, 1048576);
  env_set("ALLOC_RETAIN_MB", "64");
  env_set("ALLOC_SCAVENGE_DELAY_MS", "2000");
  assert_int_equal(parse(&s), 0);
  assert_int_equal(s.retain_mb, 64);
  assert_int_equal(s.scavenge_delay_ms, 2000);
}

/* Each bad value, one setting at a time: the default, and one message. */
static void test_bad(void **state) {
  (void)state;
  static const struct {
    const char *name, *value, *line;
  } cases[] = {
      {"ALLOC_THREAD_CACHE_KB", "65537",
       "ALLOC_THREAD_CACHE_KB=65537 is not a number of KiB from 0 to 65536; keeping 4096"},
      {"ALLOC_THREAD_CACHE_KB", "1m",
       "ALLOC_THREAD_CACHE_KB=1m is not a number of KiB from 0 to 65536; keeping 4096"},
      {"ALLOC_RETAIN_MB", "-1",
       "ALLOC_RETAIN_MB=-1 is not a number of MiB from 0 to 1048576; keeping 8"},
      {"ALLOC_RETAIN_MB", "junk",
       "ALLOC_RETAIN_MB=junk is not a number of MiB from 0 to 1048576; keeping 8"},
      {"ALLOC_RETAIN_MB", "8m",
       "ALLOC_RETAIN_MB=8m is not a number of MiB from 0 to 1048576; keeping 8"},
      {"ALLOC_RETAIN_MB", "1048577",
       "ALLOC_RETAIN_MB=1048577 is not a number of MiB from 0 to 1048576; keeping 8"},
      {"ALLOC_RETAIN_MB", "99999999999999999999999",
       "ALLOC_RETAIN_MB=99999999999999999999999 is not a number of MiB from 0 to 1048576; "
       "keeping 8"},
      {"ALLOC_RETAIN_MB", " 8",
       "ALLOC_RETAIN_MB= 8 is not a number of MiB from 0 to 1048576; keeping 8"},
      {"ALLOC_SCAVENGE_DELAY_MS", "0.5",
       "ALLOC_SCAVENGE_DELAY_MS=0.5 is not a number of milliseconds from 0 to 86400000; "
       "keeping 500"},
      {"ALLOC_SCAVENGE_DELAY_MS", "-100",
       "ALLOC_SCAVENGE_DELAY_MS=-100 is not a number of milliseconds from 0 to 86400000; "
       "keeping 500"},
      {"ALLOC_SCAVENGE_DELAY_MS", "86400001",
       "ALLOC_SCAVENGE_DELAY_MS=86400001 is not a number of milliseconds from 0 to 86400000; "
       "keeping 500"},
      {"ALLOC_SCAVENGER", "2",
       "ALLOC_SCAVENGER=2 is not 0 or 1; keeping 1 (the background "
       "scavenger)"},
      {"ALLOC_SCAVENGER", "off",
       "ALLOC_SCAVENGER=off is not 0 or 1; keeping 1 (the background scavenger)"},
      {"ALLOC_STATS", "yes", "ALLOC_STATS=yes is not 0 or 1; keeping 0 (no statistics)"},
      {"ALLOC_STATS", "01x", "ALLOC_STATS=01x is not 0 or 1; keeping 0 (no statistics)"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct alloc_settings s;
    env_clear();
    env_set(cases[i].name, cases[i].value);
    assert_int_equal(parse(&s), 1);
    assert_defaults(&s);
    assert_string_equal(bad_line[0], cases[i].line);
  }
}

/* Several bad values: one message each, the good ones still taken. */
static void test_bad_several(void **state) {
  (void)state;
  struct alloc_settings s;
  env_clear();
  env_set("ALLOC_STATS", "1");
  env_set("ALLOC_RETAIN_MB", "-1");
  env_set("ALLOC_SCAVENGE_DELAY_MS", "soon");
  env_set("ALLOC_SCAVENGER", "0");
  assert_int_equal(parse(&s), 2);
  assert_int_equal(s.stats, 1);
  assert_int_equal(s.scavenger, 0);
  assert_int_equal(s.scavenge_delay_ms, 500);
  assert_int_equal(s.retain_mb, 8);
  /* in the order of the settings' table */
  assert_non_null(strstr(bad_line[0], "ALLOC_SCAVENGE_DELAY_MS=soon is not"));
  assert_non_null(strstr(bad_line[1], "ALLOC_RETAIN_MB=-1 is not"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_good),
      cmocka_unit_test(test_bad),
      cmocka_unit_test(test_bad_several),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
