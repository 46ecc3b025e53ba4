/* debuginfod.h: separate debug files by build ID from debuginfod servers,
 * for `allocprof symbolize` (symbolize_find.c), through Debian's
 * libdebuginfod (libdebuginfod1), which the command loads with dlopen when
 * it has a server to ask: the profiled processes never load it, nor does
 * allocprof otherwise. libdebuginfod keeps its cache (DEBUGINFOD_CACHE_PATH,
 * default ~/.cache/debuginfod_client) and reads the usual settings
 * (DEBUGINFOD_URLS, DEBUGINFOD_TIMEOUT, DEBUGINFOD_MAXTIME ...).
 *
 * A server that cannot be used (down, or no answer in DEBUGINFOD_TIMEOUT
 * seconds, which this sets to DINFOD_TIMEOUT when unset; libdebuginfod
 * tries DEBUGINFOD_RETRY_LIMIT + 1 times, 3 by default) costs one line on
 * stderr, and no server is asked again in this run: a profile of a hundred
 * objects does not wait a hundred times.
 */
#ifndef CLI_DEBUGINFOD_H
#define CLI_DEBUGINFOD_H

#include <stddef.h>

/* Seconds a server may take to start answering, unless DEBUGINFOD_TIMEOUT
 * says otherwise (libdebuginfod's own default is 90). */
#define DINFOD_TIMEOUT "5"

typedef struct dinfod dinfod;

/* A client of the servers urls[0..n) (--debuginfod, asked first) and those
 * of DEBUGINFOD_URLS. NULL when there is no server to ask, or after one line
 * when libdebuginfod cannot be loaded. */
dinfod *dinfod_open(char *const *urls, size_t n);

/* The path of the debug file the servers have for build_id (lowercase hex),
 * in *path (malloc'd): 0, or -1 when they have none or cannot be asked. */
int dinfod_find(dinfod *d, const char *build_id, char **path);

/* Says once per run that a server's answer for build_id was not its debug
 * file (not ELF, or another build). */
void dinfod_bad_answer(dinfod *d, const char *build_id, const char *why);

void dinfod_close(dinfod *d);

#endif
