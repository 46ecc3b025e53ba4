/* sampler.c: when to sample. Each thread draws the number of bytes until
 * its next sample from an exponential distribution with mean = the rate, so
 * samples form a Poisson process over allocated bytes: every byte has the
 * same chance 1/rate of being the one that triggers a sample, whatever the
 * size of the object holding it (the seed's nextSample). Overview: prof.h. */
#include <math.h>
#include <stdlib.h>

#include "prof.h"
#include "settings.h"

static uint64_t rate_value;           /* relaxed atomic */
static uint64_t seed_base;            /* ALLOCPROF_SEED, or from the clock */
static uint64_t seed_counter;         /* per-thread seeds: relaxed atomic */

/* When profiling is off, threads still come back this often to see whether
 * the rate was turned on (prof_set_rate) since. */
#define PROF_OFF_RECHECK ((int64_t)64 << 20)

static __thread int prof_inside __attribute__((tls_model("initial-exec")));

int prof_guard_enter(void) {
  if (prof_inside) return 0;
  prof_inside = 1;
  return 1;
}

void prof_guard_exit(void) { prof_inside = 0; }

static void config_error(const char *var, const char *value, const char *what) {
  alloc_write_str(2, "allocprof: ");
  alloc_write_str(2, var);
  alloc_write_str(2, "=");
  alloc_write_str(2, value);
  alloc_write_str(2, what);
  alloc_write_str(2, "\n");
}

void prof_init(void) {
  const char *out = alloc_env("ALLOCPROF_OUT");
  const char *stream = alloc_env("ALLOCPROF_STREAM");
  uint64_t rate = (out != NULL && *out) || (stream != NULL && *stream) ? PROF_DEFAULT_RATE : 0;
  const char *r = alloc_env("ALLOCPROF_RATE");
  if (r != NULL && *r) {
    uint64_t v;
    if (trig_parse_bytes(r, &v) != 0) {
      config_error("ALLOCPROF_RATE", r, " is not a byte count (e.g. 524288 or 512k); profiling is off");
      rate = 0;
    } else {
      rate = v;
    }
  }
  const char *sd = alloc_env("ALLOCPROF_SEED");
  uint64_t seed = 0;
  if (sd != NULL && *sd) {
    char *end;
    seed = strtoull(sd, &end, 0);
    if (*end != 0) {
      config_error("ALLOCPROF_SEED", sd, " is not a number; using a random seed");
      seed = 0;
    }
  }
  if (seed == 0) seed = alloc_now_ms() * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)&seed;
  seed_base = seed;
  STORE_RELAXED(&rate_value, rate);
}

uint64_t prof_rate(void) { return LOAD_RELAXED(&rate_value); }

void prof_set_rate(uint64_t rate) {
  STORE_RELAXED(&rate_value, rate);
  alloc_reset_thread_sampler();
}

static uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

void prof_sampler_init(struct prof_sampler *s) {
  /* Thread n gets the n-th seed of the sequence: with ALLOCPROF_SEED set, a
   * program whose threads start in the same order samples the same way. */
  uint64_t n = ADD_RELAXED(&seed_counter, 1);
  s->rng = splitmix64(seed_base + n) | 1;
  s->bytes_until_sample = prof_next_sample(s);
}

/* Uniform in (0, 1]. */
static double rng_unit(struct prof_sampler *s) {
  uint64_t x = s->rng;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  s->rng = x;
  return (double)((x >> 11) + 1) * (1.0 / 9007199254740992.0);
}

int64_t prof_next_sample(struct prof_sampler *s) {
  uint64_t rate = prof_rate();
  if (rate == 0) return PROF_OFF_RECHECK;
  if (rate == 1) return 0; /* every allocation of a byte or more */
  double d = -log(rng_unit(s)) * (double)rate;
  if (d > (double)(INT64_MAX / 2)) return INT64_MAX / 2;
  return (int64_t)d;
}

double prof_scale(double avg_size, uint64_t rate) {
  if (rate <= 1 || avg_size <= 0) return 1.0;
  return 1.0 / (1.0 - exp(-avg_size / (double)rate));
}
