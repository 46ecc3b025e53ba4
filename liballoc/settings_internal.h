/* settings_internal.h: what the files of prof_settings (settings.c,
 * settings_pattern.c) share and no one else calls. */
#ifndef PROF_SETTINGS_INTERNAL_H
#define PROF_SETTINGS_INTERNAL_H

#include <stddef.h>

#pragma GCC visibility push(hidden)

/* Writes one formatted line to err[errlen] (nothing if err is NULL). */
void trig_set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#pragma GCC visibility pop

#endif /* PROF_SETTINGS_INTERNAL_H */
