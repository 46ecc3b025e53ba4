/* dump_comments.c: what a profile says about itself, as pprof comments
 * (dump.h). Every profile the library writes carries, one comment each:
 *
 *   trigger=exit          what started the dump: exit, signal, interval,
 *                         growth (ALLOCPROF_INUSE_INTERVAL), peak, api, http; a
 *                         dump with several reasons lists them, comma-separated
 *   pid=1234
 *   cmdline=prog arg ...  /proc/self/cmdline at dump time, bounded, printable
 *   time=2026-11-30T03:12:00Z   UTC, the profile's time_nanos
 *   rate=524288           mean bytes between samples (0: sampling off)
 *   seq=3                 the dump's sequence number (ALLOCPROF_OUT's %n;
 *                         allocprof_dump counts its own calls)
 *   peak_inuse=52428800   the highest estimated in-use total so far (bytes),
 *                         whose stacks are the peak_inuse_* sample types
 *   peak_time=2026-11-30T03:11:58.412Z   UTC, when it was reached
 *
 * One key=value per comment, so that a tool (or `allocprof top`) can read a
 * field without parsing prose. Runs on the dumping thread, with the
 * profiler guard held: it may allocate. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dump.h"
#include "profile_builder.h"

/* The command line shown: longer ones end in "..." (g++ runs with pages of
 * arguments; the first kilobyte names the program well enough). */
#define CMDLINE_RAW_MAX 4096
#define CMDLINE_SHOWN_MAX 1024

void prof_trigger_names(unsigned trigger, char *buf, size_t len) {
  static const struct {
    unsigned bit;
    const char *name;
  } names[] = {
      {PROF_TRIG_EXIT, "exit"},     {PROF_TRIG_SIGNAL, "signal"}, {PROF_TRIG_INTERVAL, "interval"},
      {PROF_TRIG_GROWTH, "growth"}, {PROF_TRIG_PEAK, "peak"},     {PROF_TRIG_API, "api"},
      {PROF_TRIG_HTTP, "http"},
  };
  size_t used = 0;
  if (len == 0) return;
  buf[0] = 0;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (!(trigger & names[i].bit)) continue;
    int n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", names[i].name);
    if (n < 0 || (size_t)n >= len - used) return; /* cut: what fits stays */
    used += (size_t)n;
  }
}

/* Length of the well-formed UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  size_t len;
  unsigned min;
  if (s[0] >= 0xc2 && s[0] <= 0xdf)
    len = 2, min = 0x80;
  else if (s[0] >= 0xe0 && s[0] <= 0xef)
    len = 3, min = 0x800;
  else if (s[0] >= 0xf0 && s[0] <= 0xf4)
    len = 4, min = 0x10000;
  else
    return 0;
  if (len > n) return 0;
  unsigned cp = s[0] & (0x7f >> len);
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  /* no overlong forms, no surrogates, nothing past U+10FFFF */
  if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return 0;
  return len;
}

void prof_cmdline_printable(const char *raw, size_t rawlen, char *buf, size_t len) {
  const unsigned char *s = (const unsigned char *)raw;
  size_t o = 0;
  if (len < 8) {
    if (len) buf[0] = 0;
    return;
  }
  /* the kernel ends the last argument with a NUL: no trailing space */
  while (rawlen > 0 && s[rawlen - 1] == 0) rawlen--;
  for (size_t i = 0; i < rawlen;) {
    char piece[16];
    size_t plen, step = 1;
    size_t u = s[i] >= 0x80 ? utf8_len(s + i, rawlen - i) : 0;
    if (s[i] == 0) {
      piece[0] = ' ', plen = 1;
    } else if (u > 0) {
      memcpy(piece, s + i, u);
      plen = step = u;
    } else if (s[i] < 0x20 || s[i] >= 0x7f) {
      plen = (size_t)snprintf(piece, sizeof piece, "\\x%02x", s[i]);
    } else {
      piece[0] = (char)s[i], plen = 1;
    }
    /* room for this piece, and for "..." should anything follow it */
    size_t reserve = i + step < rawlen ? 3 : 0;
    if (o + plen + reserve >= len) {
      memcpy(buf + o, "...", 3);
      o += 3;
      break;
    }
    memcpy(buf + o, piece, plen);
    o += plen;
    i += step;
  }
  buf[o] = 0;
}

/* /proc/self/cmdline, printable, in buf; "" when it cannot be read. */
static void read_cmdline(char *buf, size_t len) {
  char raw[CMDLINE_RAW_MAX];
  size_t n = 0;
  buf[0] = 0;
  int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  while (n < sizeof raw) {
    ssize_t r = read(fd, raw + n, sizeof raw - n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    n += (size_t)r;
  }
  close(fd);
  /* a full buffer means more followed: prof_cmdline_printable then ends
   * in "..." only if what we have does not fit; say so here instead */
  if (n == sizeof raw && len > 4) {
    prof_cmdline_printable(raw, n, buf, len - 3);
    size_t shown = strlen(buf);
    if (shown < 3 || strcmp(buf + shown - 3, "...") != 0) strcat(buf, "...");
    return;
  }
  prof_cmdline_printable(raw, n, buf, len);
}

int prof_dump_add_comments(struct profile_builder *b, const struct prof_dump_meta *meta,
                           int64_t time_nanos, uint64_t rate) {
  char line[CMDLINE_SHOWN_MAX + 16], value[CMDLINE_SHOWN_MAX];
  int rc = 0;
  if (meta != NULL && meta->trigger != 0) {
    prof_trigger_names(meta->trigger, value, sizeof value);
    snprintf(line, sizeof line, "trigger=%s", value);
    rc |= profile_builder_add_comment(b, line);
  }
  snprintf(line, sizeof line, "pid=%ld", (long)getpid());
  rc |= profile_builder_add_comment(b, line);
  read_cmdline(value, sizeof value);
  if (value[0] != 0) {
    snprintf(line, sizeof line, "cmdline=%s", value);
    rc |= profile_builder_add_comment(b, line);
  }
  time_t secs = (time_t)(time_nanos / 1000000000);
  struct tm tm;
  if (gmtime_r(&secs, &tm) != NULL) {
    snprintf(line, sizeof line, "time=%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    rc |= profile_builder_add_comment(b, line);
  }
  snprintf(line, sizeof line, "rate=%llu", (unsigned long long)rate);
  rc |= profile_builder_add_comment(b, line);
  if (meta != NULL && meta->seq >= 0) {
    snprintf(line, sizeof line, "seq=%lld", (long long)meta->seq);
    rc |= profile_builder_add_comment(b, line);
  }
  return rc != 0 ? -1 : 0;
}

int prof_dump_add_peak_comments(struct profile_builder *b, uint64_t peak_bytes,
                                int64_t time_nanos) {
  char line[64];
  int rc = 0;
  snprintf(line, sizeof line, "peak_inuse=%llu", (unsigned long long)peak_bytes);
  rc |= profile_builder_add_comment(b, line);
  time_t secs = (time_t)(time_nanos / 1000000000);
  struct tm tm;
  if (time_nanos > 0 && gmtime_r(&secs, &tm) != NULL) {
    /* milliseconds: a short program's peak and its exit share a second */
    snprintf(line, sizeof line, "peak_time=%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(time_nanos % 1000000000 / 1000000));
    rc |= profile_builder_add_comment(b, line);
  }
  return rc != 0 ? -1 : 0;
}
