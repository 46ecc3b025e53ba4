/* settings_pattern.c: the output patterns of the ALLOCPROF_* settings
 * (ALLOCPROF_OUT and the other paths a profile is written to): checking a
 * pattern, making it absolute, and expanding its %p and %n, or adding them
 * where a pattern without them must name one process's or one trigger's
 * file. Part of prof_settings, with settings.c: pure functions on strings
 * (no environment, no files, no allocation); the contracts are in
 * settings.h. */
#include <stdio.h>
#include <string.h>

#include "settings.h"
#include "settings_internal.h"

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

int trig_pattern_check(const char *pat, enum trig_pattern_kind kind, char *err, size_t errlen) {
  if (pat == NULL || *pat == 0) {
    trig_set_err(err, errlen, "is empty");
    return -1;
  }
  for (const char *p = pat; *p; p++) {
    if (*p != '%') continue;
    p++;
    if (*p == 'p' || *p == 't' || *p == '%') continue;
    if (*p == 'n' && kind == TRIG_PATTERN_OUT) continue;
    if (*p == 'n') {
      trig_set_err(err, errlen, "%%n has no meaning in a stream's name (use %%p, %%t or %%%%)");
    } else if (*p == 0) {
      trig_set_err(err, errlen, "ends in a lone %% (write %%%% for a '%%')");
    } else {
      trig_set_err(err, errlen, "has an unknown escape %%%c (use %%p, %s%%t or %%%%)", *p,
                   kind == TRIG_PATTERN_OUT ? "%n, " : "");
    }
    return -1;
  }
  if (ends_with(pat, "/")) {
    trig_set_err(err, errlen, "names a directory, not a file");
    return -1;
  }
  if (kind == TRIG_PATTERN_OUT && !ends_with(pat, ".pb.gz") && !ends_with(pat, ".pb.zst") &&
      !ends_with(pat, ".pb")) {
    trig_set_err(err, errlen, "must end in .pb.gz (gzip), .pb.zst (zstd) or .pb (raw)");
    return -1;
  }
  return 0;
}

/* Appends s[0..n) at buf[*at], keeping room for the zero. -1 when full. */
static int put(char *buf, size_t len, size_t *at, const char *s, size_t n) {
  if (len == 0 || n > len - 1 - *at) return -1;
  memcpy(buf + *at, s, n);
  *at += n;
  return 0;
}

int trig_pattern_absolute(const char *pat, const char *cwd, char *buf, size_t len) {
  size_t at = 0;
  if (pat[0] != '/' && cwd != NULL && cwd[0] != 0) {
    for (const char *c = cwd; *c; c++)
      if (put(buf, len, &at, c, 1) != 0 || (*c == '%' && put(buf, len, &at, "%", 1) != 0))
        return -1;
    if (!ends_with(cwd, "/") && put(buf, len, &at, "/", 1) != 0) return -1;
  }
  if (put(buf, len, &at, pat, strlen(pat)) != 0) return -1;
  buf[at] = 0;
  return 0;
}

int trig_pattern_expand(const char *pat, long pid, uint64_t seq, int64_t unix_time, char *buf,
                        size_t len) {
  size_t at = 0;
  char num[32];
  for (const char *p = pat; *p; p++) {
    int rc;
    if (*p != '%' || p[1] == 0) {
      rc = put(buf, len, &at, p, 1);
    } else {
      p++;
      int k = 0;
      switch (*p) {
        case 'p': k = snprintf(num, sizeof num, "%ld", pid); break;
        case 'n': k = snprintf(num, sizeof num, "%llu", (unsigned long long)seq); break;
        case 't': k = snprintf(num, sizeof num, "%lld", (long long)unix_time); break;
        default: num[0] = *p, k = 1; break; /* %% (others were refused) */
      }
      rc = put(buf, len, &at, num, (size_t)k);
    }
    if (rc != 0) return -1;
  }
  if (len == 0) return -1;
  buf[at] = 0;
  return 0;
}

int trig_dirname(const char *path, char *buf, size_t len) {
  const char *slash = strrchr(path, '/');
  const char *d = ".";
  size_t n = 1;
  if (slash == path) {
    d = "/";
  } else if (slash != NULL) {
    d = path;
    n = (size_t)(slash - path);
  }
  if (n >= len) return -1;
  memcpy(buf, d, n);
  buf[n] = 0;
  return 0;
}

int trig_pattern_per_process(const char *pat) {
  for (const char *p = pat; *p; p++) {
    if (*p != '%') continue;
    p++;
    if (*p == 'p' || *p == 't') return 1;
    if (*p == 0) break;
  }
  return 0;
}

int trig_pattern_has_pid(const char *pat) {
  for (const char *p = pat; *p; p++)
    if (*p == '%' && *++p == 'p') return 1;
  return 0;
}

int trig_pattern_has_seq(const char *pat) {
  for (const char *p = pat; *p; p++)
    if (*p == '%' && *++p == 'n') return 1;
  return 0;
}

/* Where pat's ending (.pb.gz, .pb.zst, .pb) begins; strlen(pat) without one. */
static size_t ending_at(const char *pat) {
  static const char *const endings[] = {".pb.gz", ".pb.zst", ".pb"};
  size_t n = strlen(pat);
  for (size_t k = 0; k < sizeof endings / sizeof endings[0]; k++) {
    size_t e = strlen(endings[k]);
    if (n >= e && strcmp(pat + n - e, endings[k]) == 0) return n - e;
  }
  return n;
}

/* pat with text inserted at byte at. Returns 0, or -1 when out is too small. */
static int insert_at(const char *pat, size_t at, const char *text, char *out, size_t len) {
  size_t n = strlen(pat), k = strlen(text);
  if (n + k + 1 > len) return -1;
  memmove(out + at + k, pat + at, n - at + 1); /* (out may be pat) */
  memmove(out, pat, at);
  memcpy(out + at, text, k);
  return 0;
}

int trig_pattern_with_pid(const char *pat, long pid, char *out, size_t len) {
  size_t n = strlen(pat), at = n;
  for (size_t i = 0; i < n; i++) {
    if (pat[i] != '%') continue;
    if (pat[i + 1] == 'n') {
      at = i;
      break;
    }
    i++;
  }
  char pidtext[32];
  if (at == n) {
    at = ending_at(pat);
    snprintf(pidtext, sizeof pidtext, ".%ld", pid);
  } else {
    snprintf(pidtext, sizeof pidtext, "%ld.", pid);
  }
  return insert_at(pat, at, pidtext, out, len);
}

int trig_pattern_with_seq(const char *pat, char *out, size_t len) {
  return insert_at(pat, ending_at(pat), ".%n", out, len);
}
