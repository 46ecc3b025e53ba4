/* allocprof.h: the heap profiler's public interface, for programs that link
 * liballoc.so (or find these symbols with dlsym when it is preloaded).
 *
 * Without this header the profiler is driven by the environment:
 * ALLOCPROF_OUT, ALLOCPROF_RATE, ALLOCPROF_SEED, ALLOCPROF_STREAM and the
 * trigger variables (README.md). These calls do the same from inside the
 * program: change the sampling rate, write a profile now, read the running
 * totals. Profiles are pprof files (`go tool pprof` opens them as they
 * are). The profiler's design: liballoc/mprof.h.
 *
 * Every call is thread-safe and may be made at any time, including before
 * the first allocation. None may be made from a signal handler.
 */
#ifndef ALLOCPROF_H
#define ALLOCPROF_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ALLOCPROF_API __attribute__((visibility("default")))

/*====== Sampling rate ======*/

/* The rate is the mean number of allocated bytes between two samples: each
 * allocated byte is the one that triggers a sample with probability
 * 1/rate, so an object of size bytes is sampled with probability
 * 1 - exp(-size/rate). 0 switches sampling off; 1 samples every allocation
 * (exact profiles, at a cost). The default is 524288 when ALLOCPROF_OUT or
 * ALLOCPROF_STREAM is set, else 0, unless ALLOCPROF_RATE says otherwise.
 *
 * allocprof_set_rate() applies to the calling thread from its next
 * allocation. Another thread switches when the distance to its next sample,
 * drawn at the old rate, runs out: when sampling was off, after at most
 * 4 MiB of its allocations. Where it switches it starts afresh at the new
 * rate (the allocation there is not taken as a sample of the old rate's),
 * so the samples after a switch are the new rate's. To see a thread's
 * first 4 MiB as well, set the rate early (or with ALLOCPROF_RATE).
 * Objects sampled before a change keep their records and their frees are
 * still charged. A profile unsamples every record with the rate in force
 * when it is written, so its estimates are right for allocations sampled
 * at that rate.
 * Returns 0, or -1 with errno EINVAL when bytes_per_sample > INT64_MAX (a
 * pprof period is a signed 64-bit number); the rate is then unchanged. */
ALLOCPROF_API int allocprof_set_rate(uint64_t bytes_per_sample);

/* The current rate (0: off). */
ALLOCPROF_API uint64_t allocprof_get_rate(void);

/*====== Dumping ======*/

/* Writes a heap profile of the program as it is now to path. The file name's
 * ending picks the container: ".pb.gz" gzip (what `go tool pprof` reads),
 * ".pb.zst" zstd, ".pb" raw protobuf; any other ending gets gzip. The path
 * is used as given (no %p/%n/%t expansion: that is ALLOCPROF_OUT's).
 *
 * The profile has the sample types alloc_objects/count, alloc_space/bytes,
 * inuse_objects/count and inuse_space/bytes (default inuse_space), values
 * estimated from the samples (exact at rate 1), one sample per (stack,
 * object size) with a numeric "bytes" label, stacks that start at the
 * caller of malloc or new, and function names, files and lines filled in,
 * so the file stands alone on another machine. Its pprof comments say
 * trigger=api, seq=N (this call's number among the process's
 * allocprof_dump calls, from 0), and the pid, cmdline, time and rate.
 *
 * The file appears whole or not at all (a temporary name in the same
 * directory, then rename), replacing any file of that name. Other threads
 * keep running and allocating while the profile is built; what they
 * allocate meanwhile may or may not be in it. The first dump also loads the
 * symbols of the program's objects (up to about a second for large
 * programs with debug info); later dumps reuse them.
 * Returns 0, or -1 with errno set (EINVAL: path NULL or empty; ENOMEM; or
 * the error of the failing system call) and a one-line message on stderr. */
ALLOCPROF_API int allocprof_dump(const char *path);

/*====== Totals ======*/

struct allocprof_totals {
  uint64_t rate;             /* current sampling rate (0: off) */
  uint64_t samples;          /* allocations sampled since start */
  uint64_t sampled_frees;    /* of those, freed since */
  uint64_t buckets;          /* distinct (stack, size) records */
  uint64_t inuse_bytes;      /* estimated bytes in use (unsampled) */
  uint64_t alloc_bytes;      /* estimated bytes allocated since start */
  uint64_t peak_inuse_bytes; /* highest inuse_bytes so far */
  uint64_t profiler_bytes;   /* memory the profiler itself holds for its
                                records (not counting a dump in progress) */
};

/* Fills *out with one consistent reading of the profiler's counters. The
 * estimates are those of a profile written now (each sample counted for
 * 1 / (1 - exp(-size/rate)) objects at the rate it was taken with); at rate
 * 1 they are exact. Cheap: no stack walk, no allocation.
 * Returns 0, or -1 with errno EINVAL when out is NULL. */
ALLOCPROF_API int allocprof_get_totals(struct allocprof_totals *out);

#ifdef __cplusplus
}
#endif
#endif /* ALLOCPROF_H */
