/* dump.h: writing heap profiles (the dumping half of the profiler). These
 * run on an ordinary thread (never in a signal handler), take the profiler
 * guard themselves so their own allocations are not sampled, and may
 * allocate. Overview: prof.h. */
#ifndef PROF_DUMP_H
#define PROF_DUMP_H

#include <stddef.h>
#include <stdint.h>

#pragma GCC visibility push(hidden)

/* Packs a pprof Profile of the heap as it is now (uncompressed protobuf) into
 * a malloc'd buffer. Returns 0, or -1 with a one-line message in err. */
int prof_dump_packed(uint8_t **out, size_t *len, char *err, size_t errlen);

/* Writes the heap profile to path; the ending picks the container (.pb.gz
 * gzip, .pb.zst zstd, .pb raw). The file appears whole (temporary name, then
 * rename) or not at all. Returns 0, or -1 with a message in err. */
int prof_dump_file(const char *path, char *err, size_t errlen);

/* Appends one snapshot (one zstd frame holding a whole profile) to the
 * stream open at fd (O_APPEND). Returns 0, or -1 with a message in err. */
int prof_dump_stream(int fd, char *err, size_t errlen);

/* In a fork child, before anything else of the dumping half runs there
 * (triggers.c's fork handler calls it first): a dump the parent had in
 * progress is forgotten, never waited for. */
void prof_dump_fork_child(void);

#pragma GCC visibility pop
#endif /* PROF_DUMP_H */
