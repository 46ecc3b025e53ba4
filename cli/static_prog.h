/* static_prog.h: whether a program is statically linked, so that
 * LD_PRELOAD cannot enter it (static_prog.c). Used by `allocprof run`. */
#ifndef CLI_STATIC_PROG_H
#define CLI_STATIC_PROG_H

#include <stdbool.h>
#include <stddef.h>

/* Whether prog (resolved through PATH as execvp resolves it; a script by
 * its "#!" interpreter) is an ELF executable without a program interpreter
 * (PT_INTERP): static or static-pie. Then the file judged is written to
 * shown. False when it is dynamic, or cannot be read or judged. */
bool run_prog_is_static(const char *prog, char *shown, size_t len);

#endif
