/* dump.h: writing heap profiles (the dumping half of the profiler). These
 * run on an ordinary thread (never in a signal handler), take the profiler
 * guard themselves so their own allocations are not sampled, and may
 * allocate. Overview: liballoc/mprof.h. */
#ifndef PROF_DUMP_H
#define PROF_DUMP_H

#include <stddef.h>
#include <stdint.h>

#pragma GCC visibility push(hidden)

/* What started a dump (bits: one dump may have several reasons). */
enum {
  PROF_TRIG_EXIT = 1,     /* the process exits */
  PROF_TRIG_SIGNAL = 2,   /* ALLOCPROF_SIGNAL */
  PROF_TRIG_INTERVAL = 4, /* ALLOCPROF_INTERVAL */
  PROF_TRIG_GROWTH = 8,   /* ALLOCPROF_INUSE_INTERVAL */
  PROF_TRIG_PEAK = 16,    /* ALLOCPROF_PEAK */
  PROF_TRIG_API = 32,     /* allocprof_dump */
  PROF_TRIG_HTTP = 64,    /* a GET of ALLOCPROF_HTTP's profiles */
};

/* What a dump says about itself: written into the profile as pprof
 * comments (trigger=..., seq=..., with pid, cmdline, time and rate). */
struct prof_dump_base;
struct prof_dump_meta {
  unsigned trigger; /* PROF_TRIG_* bits; 0: none named */
  int64_t seq;      /* the dump's sequence number (%n); -1: none */
};

/* How a served profile differs from a dump's (http_server.c). */
struct prof_dump_view {
  /* The profile's default sample type; NULL: inuse_space. */
  const char *default_type;
  /* A delta profile: every value of every sample is the difference
   * between now and base, as Go's delta profiles are (profile_values.h),
   * and the duration is the time since. NULL: everything since the start. */
  const struct prof_dump_base *base;
};

/* The start of a delta profile: every bucket's counts now (the guard is
 * taken here). NULL when memory is short. Free it with prof_dump_base_free. */
struct prof_dump_base *prof_dump_base_take(void);
void prof_dump_base_free(struct prof_dump_base *base);

/* Packs a pprof Profile of the heap as it is now (uncompressed protobuf) into
 * a malloc'd buffer. meta may be NULL (no trigger, no seq). Returns 0, or -1
 * with a one-line message in err. */
int prof_dump_packed(uint8_t **out, size_t *len, const struct prof_dump_meta *meta, char *err,
                     size_t errlen);

/* The profile gzipped as a .pb.gz dump file holds it (the same level),
 * seen as view says (NULL: as a dump). Returns 0, or -1 with a one-line
 * message in err. */
int prof_dump_gzip(uint8_t **out, size_t *len, const struct prof_dump_meta *meta,
                   const struct prof_dump_view *view, char *err, size_t errlen);

/* The dumps made so far by this process (every kind) and those that failed. */
void prof_dump_counts(uint64_t *written, uint64_t *failed);

/* Writes the heap profile to path; the ending picks the container (.pb.gz
 * gzip, .pb.zst zstd, .pb raw). The file appears whole (temporary name, then
 * rename) or not at all. Returns 0, or -1 with a message in err. */
int prof_dump_file(const char *path, const struct prof_dump_meta *meta, char *err, size_t errlen);

/* Appends one snapshot (one zstd frame holding a whole profile) to the
 * stream open at fd (O_APPEND). Returns 0, or -1 with a message in err. */
int prof_dump_stream(int fd, const struct prof_dump_meta *meta, char *err, size_t errlen);

/* The profile's comments for meta (NULL: no trigger, no seq) at time_nanos
 * (unix time in ns) and rate: trigger=exit, pid=1234, cmdline=..., time=
 * 2026-11-30T03:12:00Z, rate=524288, seq=3 (dump_comments.c). Returns 0, or
 * -1 when the builder ran out of memory. */
struct profile_builder;
/* UTC calendar fields of secs (seconds since the epoch), by arithmetic:
 * what gmtime_r gives, without the tzset_lock glibc's takes (a lock fork
 * does not reset; dump_comments.c says why that matters). */
struct prof_utc_fields {
  int year, month, day, hour, min, sec;
};
void prof_utc_fields(int64_t secs, struct prof_utc_fields *f);

int prof_dump_add_comments(struct profile_builder *b, const struct prof_dump_meta *meta,
                           int64_t time_nanos, uint64_t rate);

/* The peak's comments (dump_comments.c): peak_inuse=BYTES, the highest
 * estimated in-use total, and peak_time=2026-11-30T03:12:00.123Z, UTC, when
 * it was reached (none when time_nanos is 0: no sample yet). Returns 0, or
 * -1 when the builder ran out of memory. */
int prof_dump_add_peak_comments(struct profile_builder *b, uint64_t peak_bytes, int64_t time_nanos);

/* The trigger bits as the comment names them ("signal,interval"), in buf. */
void prof_trigger_names(unsigned trigger, char *buf, size_t len);

/* /proc/self/cmdline's bytes (NUL-separated arguments) as one printable
 * line in buf: arguments joined by spaces, control bytes, backslashes and
 * bytes that are not UTF-8 as \xNN, cut with "..." to fit len. */
void prof_cmdline_printable(const char *raw, size_t rawlen, char *buf, size_t len);

/* Appends path (made absolute) to the list `allocprof run` keeps of the
 * profiles written (ALLOCPROF_RUN_LOG; runlog.c), if there is one. Call it
 * after each profile file written. */
void prof_runlog_note(const char *path);

/* Reads ALLOCPROF_RUN_LOG, once, at start (triggers.c's constructor). */
void prof_runlog_init(void);

/* In a fork child, before anything else of the dumping half runs there
 * (triggers.c's fork handler calls it first): a dump the parent had in
 * progress is forgotten, never waited for. */
void prof_dump_fork_child(void);

#pragma GCC visibility pop
#endif /* PROF_DUMP_H */
