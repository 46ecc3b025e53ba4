/* mprof_sampler.c: when to sample. Each thread draws the number of bytes until
 * its next sample from an exponential distribution with mean = the rate, so
 * samples form a Poisson process over allocated bytes: every byte has the
 * same chance 1/rate of being the one that triggers a sample, whatever the
 * size of the object holding it (the seed's nextSample). Also the factor
 * that undoes the sampling (mprof_scale). Overview: mprof.h; the one sampling
 * path of the allocator: liballoc/malloc.c, "Sampling".
 *
 * Why no libm. The distance needs a logarithm and the unsampling factor an
 * exponential; both are computed here with a few lines of arithmetic
 * instead of libm's log and exp. liballoc.so is preloaded into every
 * process of a service, so everything its core links is mapped into all of
 * them: it should need nothing but libc, as the Go runtime needs nothing
 * but the kernel. Later the dumping half of the profiler moves into a
 * library loaded only when profiling is on; the sampling half stays in the
 * allocator and must not bring libm with it.
 *
 * Neither needs libm's last bit. The distance is -ln(u) * rate for u uniform
 * in (0, 1]; fastlog2 below (the seed's fastexprand) reads the exponent
 * from the double's bits and interpolates the mantissa's log2 in a table of
 * 65 points, off by at most 4.5e-5 (a distance off by 3.1e-5 of the rate,
 * about 16 bytes at the default rate), far inside the sampling noise. The
 * exponential is a reduction to e^r, |r| <= ln2 / 2, and its Taylor series,
 * as exact as libm's for what mprof_scale asks of it. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mprof.h"
#include "settings.h"

static uint64_t rate_value;                  /* relaxed atomic */
static uint64_t seed_base;                   /* ALLOCPROF_SEED, or from the clock */
static int max_frames = PROF_DEFAULT_FRAMES; /* ALLOCPROF_MAX_FRAMES */
static uint64_t seed_counter;                /* per-thread seeds: relaxed atomic */

/* When profiling is off, threads still come back this often to see whether
 * the rate was turned on (mprof_set_rate) since: a thread's first sample
 * after the switch comes within this many bytes of its allocations, plus
 * its first distance at the new rate. One call off the fast path per 4 MiB
 * allocated: +0.04% instructions on glibc_thread, whose threads allocate
 * 76 GiB in 0.13 s, and no measurable time (bench/RESULTS.md section 15). */
#define PROF_OFF_RECHECK ((int64_t)4 << 20)

/* One more at each mprof_set_rate (stored after the rate, with release),
 * so that a sampler can tell a distance drawn at another rate, or while
 * profiling was off, from one drawn at the rate in force (mprof.h). */
uint64_t prof_rate_epoch;

static __thread int prof_inside __attribute__((tls_model("initial-exec")));

int mprof_guard_enter(void) {
  if (prof_inside) return 0;
  prof_inside = 1;
  return 1;
}

void mprof_guard_exit(void) { prof_inside = 0; }

static void config_error(const char *var, const char *value, const char *what) {
  alloc_say(var, "=", value, what, NULL);
}

void prof_init(void) {
  const char *out = alloc_env("ALLOCPROF_OUT");
  const char *stream = alloc_env("ALLOCPROF_STREAM");
  const char *http = alloc_env("ALLOCPROF_HTTP"); /* served profiles need samples too */
  uint64_t rate = (out != NULL && *out) || (stream != NULL && *stream) || (http != NULL && *http)
                      ? PROF_DEFAULT_RATE
                      : 0;
  const char *r = alloc_env("ALLOCPROF_RATE");
  if (r != NULL && *r) {
    uint64_t v;
    if (trig_parse_bytes(r, &v) != 0) {
      config_error("ALLOCPROF_RATE", r,
                   " is not a byte count (e.g. 524288 or 512k); profiling is off");
      rate = 0;
    } else {
      rate = v;
    }
  }
  const char *mf = alloc_env("ALLOCPROF_MAX_FRAMES");
  if (mf != NULL && *mf) {
    uint64_t v;
    if (trig_parse_count(mf, 1, PROF_FRAMES_LIMIT, &v) != 0)
      config_error("ALLOCPROF_MAX_FRAMES", mf, " is not a frame count from 1 to 256; keeping 64");
    else
      max_frames = (int)v;
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
  /* allocprof run --no-children: a process of the run but its program
   * samples nothing (settings.h) */
  if (trig_run_excluded(alloc_env, (long)getpid())) rate = 0;
  STORE_RELAXED(&rate_value, rate);
}

uint64_t mprof_rate(void) { return LOAD_RELAXED(&rate_value); }

int prof_max_frames(void) { return max_frames; }

void mprof_set_rate(uint64_t rate) {
  if (rate != 0) prof_stack_init();
  STORE_RELAXED(&rate_value, rate);
  __atomic_add_fetch(&prof_rate_epoch, 1, __ATOMIC_RELEASE);
  alloc_reset_thread_sampler();
}

/* ---- Logarithm and exponential without libm -------------------------------- */

/* log2(1 + i/64) for i = 0..64, rounded to nearest. Made with
 *   python3 -c 'import math; print([math.log2(1 + i / 64).hex() for i in range(65)])'
 * and checked entry by entry against libm's log2 by test_prof_sampler. */
#define LOG2_TABLE_BITS 6
static const double log2_table[(1 << LOG2_TABLE_BITS) + 1] = {
    0x0.0p+0,
    0x1.6e79685c2d22ap-6,
    0x1.6bad3758efd87p-5,
    0x1.0eb389fa29f9bp-4,
    0x1.663f6fac91316p-4,
    0x1.bc84240adabbap-4,
    0x1.08c588cda79e4p-3,
    0x1.32ae9e278ae1ap-3,
    0x1.5c01a39fbd688p-3,
    0x1.84c2bd02f03b3p-3,
    0x1.acf5e2db4ec94p-3,
    0x1.d49ee4c325970p-3,
    0x1.fbc16b902680ap-3,
    0x1.11307dad30b76p-2,
    0x1.24407ab0e073ap-2,
    0x1.37124cea4cdedp-2,
    0x1.49a784bcd1b8bp-2,
    0x1.5c01a39fbd688p-2,
    0x1.6e221cd9d0cdep-2,
    0x1.800a563161c54p-2,
    0x1.91bba891f1709p-2,
    0x1.a33760a7f6051p-2,
    0x1.b47ebf73882a1p-2,
    0x1.c592fad295b56p-2,
    0x1.d6753e032ea0fp-2,
    0x1.e726aa1e754d2p-2,
    0x1.f7a8568cb06cfp-2,
    0x1.03fda8b97997fp-1,
    0x1.0c10500d63aa6p-1,
    0x1.140c9faa1e544p-1,
    0x1.1bf311e95d00ep-1,
    0x1.23c41d42727c8p-1,
    0x1.2b803473f7ad1p-1,
    0x1.3327c6ab49ca7p-1,
    0x1.3abb3faa02167p-1,
    0x1.423b07e986aa9p-1,
    0x1.49a784bcd1b8bp-1,
    0x1.510118708a8f9p-1,
    0x1.5848226989d34p-1,
    0x1.5f7cff41e09afp-1,
    0x1.66a008e4788ccp-1,
    0x1.6db196a76194ap-1,
    0x1.74b1fd64e0754p-1,
    0x1.7ba18f93502e4p-1,
    0x1.82809d5be7073p-1,
    0x1.894f74b06ef8bp-1,
    0x1.900e6160002cdp-1,
    0x1.96bdad2acb5f6p-1,
    0x1.9d5d9fd5010b3p-1,
    0x1.a3ee7f38e181fp-1,
    0x1.aa708f58014d3p-1,
    0x1.b0e4126bcc86cp-1,
    0x1.b74948f5532dap-1,
    0x1.bda071cc67e6ep-1,
    0x1.c3e9ca2e1a055p-1,
    0x1.ca258dca93316p-1,
    0x1.d053f6d260896p-1,
    0x1.d6753e032ea0fp-1,
    0x1.dc899ab3ff56cp-1,
    0x1.e29142e0e0140p-1,
    0x1.e88c6b3626a73p-1,
    0x1.ee7b471b3a950p-1,
    0x1.f45e08bcf0655p-1,
    0x1.fa34e1177c233p-1,
    0x1.0000000000000p+0,
};

double prof_fastlog2(double x) {
  uint64_t bits;
  memcpy(&bits, &x, sizeof bits);
  int exponent = (int)((bits >> 52) & 0x7ff) - 1023;
  /* The mantissa's top LOG2_TABLE_BITS bits pick the table's interval, the
   * rest say how far into it x lies: a chord of log2, never above it. */
  unsigned i = (unsigned)((bits >> (52 - LOG2_TABLE_BITS)) & ((1u << LOG2_TABLE_BITS) - 1));
  uint64_t rest = bits & (((uint64_t)1 << (52 - LOG2_TABLE_BITS)) - 1);
  double t = (double)rest * (1.0 / (double)((uint64_t)1 << (52 - LOG2_TABLE_BITS)));
  double lo = log2_table[i], hi = log2_table[i + 1];
  return (double)exponent + lo + (hi - lo) * t;
}

#define LN2 0.6931471805599453
/* ln 2 in two parts (fdlibm's): k * LN2_HI is exact for |k| < 2^11. */
#define LN2_HI 0x1.62e42feep-1
#define LN2_LO 0x1.a39ef35793c76p-33
#define LOG2E 1.4426950408889634

/* 1/n! for n = 0..18: the Taylor coefficients of e^x. 18! < 2^53, so each
 * is 1 over an exact integer, rounded once. */
static const double inv_fact[19] = {
    1.0,
    1.0,
    1.0 / 2,
    1.0 / 6,
    1.0 / 24,
    1.0 / 120,
    1.0 / 720,
    1.0 / 5040,
    1.0 / 40320,
    1.0 / 362880,
    1.0 / 3628800,
    1.0 / 39916800,
    1.0 / 479001600,
    1.0 / 6227020800.0,
    1.0 / 87178291200.0,
    1.0 / 1307674368000.0,
    1.0 / 20922789888000.0,
    1.0 / 355687428096000.0,
    1.0 / 6402373705728000.0,
};

/* 2^k as a double, for a normal result (-1022 <= k <= 1023). */
static double pow2i(int k) {
  uint64_t bits = (uint64_t)(k + 1023) << 52;
  double d;
  memcpy(&d, &bits, sizeof d);
  return d;
}

double prof_exp(double x) {
  if (x != x) return x;
  if (x < -746.0) return 0.0;
  if (x > 709.0) x = 709.0; /* mprof_scale never asks; keeps 2^k finite */
  /* x = k ln2 + r with |r| <= ln2 / 2, so e^x = 2^k e^r. */
  int k = (int)(x * LOG2E + (x < 0 ? -0.5 : 0.5));
  double r = (x - (double)k * LN2_HI) - (double)k * LN2_LO;
  /* e^r = sum of r^n / n! to n = 13 (Horner); the first term left out is
   * below 5e-18. */
  double e = inv_fact[13];
  for (int n = 12; n >= 0; n--) e = e * r + inv_fact[n];
  if (k < -1020) return e * pow2i(k + 60) * 0x1p-60; /* a subnormal result */
  return e * pow2i(k);
}

/* 1 - e^-x for x >= 0. Below 1/2 its own series, so that a tiny x keeps
 * every digit (1 - exp(-x) would cancel to nothing near x = 1e-16). */
static double one_minus_exp_neg(double x) {
  if (x >= 0.5) return 1.0 - prof_exp(-x);
  /* x times the sum of (-x)^k / (k+1)! to k = 17, or to k = 9 when x is
   * below 1/16, the commonest case (Horner); the first term left out is
   * below 1e-19 of x. */
  int top = x < 0.0625 ? 9 : 17;
  double q = inv_fact[top + 1];
  for (int k = top - 1; k >= 0; k--) q = q * -x + inv_fact[k + 1];
  return x * q;
}

/* ---- Distances ---------------------------------------------------------------- */

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

/* xorshift64: the next 64 random bits of s. */
static uint64_t rng_next(struct prof_sampler *s) {
  uint64_t x = s->rng;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  s->rng = x;
  return x;
}

int64_t prof_next_sample(struct prof_sampler *s) {
  /* the epoch first: a thread that reads mprof_set_rate's new epoch reads
   * its new rate too, so a distance is never marked newer than its rate */
  s->rate_epoch = __atomic_load_n(&prof_rate_epoch, __ATOMIC_ACQUIRE);
  uint64_t rate = mprof_rate();
  if (rate == 0) return PROF_OFF_RECHECK;
  if (rate == 1) return 0; /* every allocation of a byte or more */
  /* With u uniform in (0, 1], -ln(u) is exponential with mean 1. Here
   * u = q / 2^53 with q in [1, 2^53], so -ln(u) = (53 - log2(q)) ln 2: at
   * most 36.7 times the rate. fastlog2 is exact at powers of two and below
   * log2 between them, so the difference is never negative. */
  uint64_t q = (rng_next(s) >> 11) + 1;
  double d = (53.0 - prof_fastlog2((double)q)) * LN2 * (double)rate;
  if (d > (double)(INT64_MAX / 2)) return INT64_MAX / 2;
  return (int64_t)d;
}

double mprof_scale(double avg_size, uint64_t rate) {
  if (rate <= 1 || avg_size <= 0) return 1.0;
  return 1.0 / one_minus_exp_neg(avg_size / (double)rate);
}
