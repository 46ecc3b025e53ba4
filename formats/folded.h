/* folded.h: folded stacks text ("root;caller;callee value" per line, the input
 * of flame graph tools) from a pprof profile. Overview: formats/README.md. */
#ifndef FORMATS_FOLDED_H
#define FORMATS_FOLDED_H

#include <stddef.h>
#include <stdio.h>

#include "profile.pb-c.h"

/* Folded stacks of sample value number value_index of a valid profile
 * (profile_validate; ids are looked up in its index, profile_index.h, or
 * one built here for a profile without): one line per distinct stack, root frame first, frames
 * joined by ';', a space, then the sum of that value over the samples with
 * that stack. Inlined frames appear as frames of their own. A frame is named
 * by Function.name, else Function.system_name, else the location's address
 * in hex; ';' in names becomes ':' and line breaks become spaces. Lines are
 * sorted by stack; stacks whose sum is 0 are left out.
 * The text repeats every frame's name on every stack through it, so a small
 * profile (long names, many stacks) could ask for gigabytes: the work is
 * refused when the texts kept at once would exceed FOLDED_MAX_BASE +
 * FOLDED_MAX_PER_BYTE times the profile's serialized size.
 * Returns 0 with a malloc'd NUL-terminated text in *out (length in *outlen),
 * or -1 with a one-line message in err[errlen]. */
#define FOLDED_MAX_BASE ((size_t)32 << 20)
#define FOLDED_MAX_PER_BYTE 16

int folded_format(const Perftools__Profiles__Profile *p, size_t value_index, char **out,
                  size_t *outlen, char *err, size_t errlen);

/* folded_format, then the text written to f. */
int folded_write(FILE *f, const Perftools__Profiles__Profile *p, size_t value_index, char *err,
                 size_t errlen);

#endif
