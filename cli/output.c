/* output.c: what the command writes: one-line messages on stderr, human
 * units and percentages, JSON and XML escaping, and output files written all
 * or nothing. Contracts in common.h ("messages", "units", "escaping",
 * "output files"). */
#include "common.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"

/* ---- messages ---- */

void cli_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("allocprof: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "allocprof %s: ", cmd);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, " (see allocprof %s --help)\n", cmd);
  va_end(ap);
  return CLI_EXIT_USAGE;
}

int cli_finish_stdout(int rc) {
  if (fflush(stdout) != 0 || ferror(stdout)) {
    cli_error("stdout: %s", strerror(errno ? errno : EIO));
    return CLI_EXIT_USAGE;
  }
  return rc;
}

/* ---- units ---- */

static void three_digits(char *buf, size_t len, const char *sign, double v, const char *suffix) {
  if (v < 9.995)
    snprintf(buf, len, "%s%.2f%s", sign, v, suffix);
  else if (v < 99.95)
    snprintf(buf, len, "%s%.1f%s", sign, v, suffix);
  else
    snprintf(buf, len, "%s%.0f%s", sign, v, suffix);
}

char *cli_human(char *buf, double v, const char *unit, bool plus) {
  const char *sign = v < 0 ? "-" : plus && v > 0 ? "+" : "";
  double a = fabs(v);
  if (strcmp(unit, "bytes") == 0) {
    static const char *const names[] = {" KiB", " MiB", " GiB", " TiB", " PiB"};
    if (a < 1024) {
      snprintf(buf, 32, "%s%.0f B", sign, a);
      return buf;
    }
    int u = -1;
    while (a >= 1023.5 && u < 4) {
      a /= 1024;
      u++;
    }
    three_digits(buf, 32, sign, a, names[u]);
    return buf;
  }
  static const char *const names[] = {"k", "M", "G", "T", "P"};
  if (a < 1000) {
    snprintf(buf, 32, "%s%.0f", sign, a);
    return buf;
  }
  int u = -1;
  while (a >= 999.5 && u < 4) {
    a /= 1000;
    u++;
  }
  three_digits(buf, 32, sign, a, names[u]);
  return buf;
}

char *cli_percent(char *buf, double part, double whole) {
  if (whole == 0)
    snprintf(buf, 32, "-");
  else
    snprintf(buf, 32, "%.2f%%", 100.0 * part / whole);
  return buf;
}

/* ---- escaping ---- */

/* Length of the valid UTF-8 sequence at s (1..4), or 0: no overlong forms,
 * no surrogates (U+D800..DFFF), nothing above U+10FFFF (RFC 3629), which is
 * what JSON and XML parsers accept. */
static size_t utf8_len(const unsigned char *s) {
  unsigned char c = s[0];
  if (c < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0)
      lo = 0xa0; /* overlong */
    else if (c == 0xed)
      hi = 0x9f; /* surrogates */
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0)
      lo = 0x90; /* overlong */
    else if (c == 0xf4)
      hi = 0x8f; /* above U+10FFFF */
  } else {
    return 0;
  }
  if (s[1] < lo || s[1] > hi) return 0;
  for (size_t i = 2; i < n; i++)
    if ((s[i] & 0xc0) != 0x80) return 0;
  return n;
}

void cli_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *c = (const unsigned char *)s; *c;) {
    if (*c == '"' || *c == '\\') {
      fprintf(f, "\\%c", *c);
      c++;
    } else if (*c < 0x20 || *c == 0x7f) {
      fprintf(f, "\\u%04x", *c);
      c++;
    } else {
      size_t n = utf8_len(c);
      if (n == 0) {
        fputs("\\ufffd", f); /* a byte that is not UTF-8: U+FFFD */
        c++;
      } else {
        fwrite(c, 1, n, f);
        c += n;
      }
    }
  }
  fputc('"', f);
}

void cli_xml_text(FILE *f, const char *s) {
  for (const unsigned char *c = (const unsigned char *)s; *c;) {
    switch (*c) {
      case '&':
        fputs("&amp;", f);
        c++;
        continue;
      case '<':
        fputs("&lt;", f);
        c++;
        continue;
      case '>':
        fputs("&gt;", f);
        c++;
        continue;
      case '"':
        fputs("&quot;", f);
        c++;
        continue;
      case '\'':
        fputs("&apos;", f);
        c++;
        continue;
      default: break;
    }
    size_t n = *c < 0x20 && *c != '\n' && *c != '\t' ? 0 : utf8_len(c);
    if (n == 3 && c[0] == 0xef && c[1] == 0xbf && c[2] >= 0xbe) n = 0; /* U+FFFE, U+FFFF */
    if (n == 0) {
      fputc('?', f);
      c++;
    } else {
      fwrite(c, 1, n, f);
      c += n;
    }
  }
}

/* ---- output files ---- */

int cli_check_output(const char *path) {
  char err[CLI_ERRLEN];
  if (fileio_check_regular(path, err, sizeof err) == 0) return 0;
  cli_error("%s", err);
  return -1;
}

int cli_write_text(const char *path, char *buf, size_t len) {
  char err[CLI_ERRLEN];
  int rc = 0;
  if (!buf) {
    cli_error("%s: out of memory", path);
    return -1;
  }
  if (cli_check_output(path) != 0) {
    free(buf);
    return -1;
  }
  if (fileio_write_atomic(path, buf, len, err, sizeof err) != 0) {
    cli_error("%s", err);
    rc = -1;
  }
  free(buf);
  return rc;
}
