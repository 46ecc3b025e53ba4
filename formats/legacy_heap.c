/* legacy_heap.c: gperftools' and jemalloc's text heap profiles into pprof.
 * Contract: legacy_heap.h.
 *
 * The source formats, as their writers produce them:
 *
 *   gperftools (heap-profile-table.cc; Debian's libtcmalloc.so.4 with
 *   HEAPPROFILE=prefix writes prefix.0001.heap):
 *     heap profile:  30001: 50004096 [ 40001: 80004096] @ heapprofile
 *      10000: 30000000 [ 20000: 60000000] @ 0x55c6d83dd177 0x55c6d83dd197 ...
 *     <blank>
 *     MAPPED_LIBRARIES:
 *     55c6d83dd000-55c6d83de000 r-xp 00001000 00:00 10961173    /tmp/prog
 *   The pairs are "in-use objects: in-use bytes [allocated objects:
 *   allocated bytes]". After "@" comes the kind: "heapprofile" counts every
 *   allocation; "heap_v2/R" samples on average once per R bytes (a Poisson
 *   process); the older "heap/2R" sampled once per R bytes on average too.
 *
 *   jemalloc (prof_dump in prof_data.c; MALLOC_CONF=prof:true,...):
 *     heap_v2/524288
 *       t*: 24437: 41626163 [0: 0]        <- whole-process totals
 *       t0: 24437: 41626163 [0: 0]        <- per-thread totals
 *     @ 0x7f95924a2630 0x7f95924a2d21 ...
 *       t*: 9084: 29369693 [0: 0]         <- this stack, all threads
 *       t0: 9084: 29369693 [0: 0]         <- this stack, thread 0
 *     <blank>
 *     MAPPED_LIBRARIES:
 *     ...
 *   The bracketed (cumulative) pair is 0 unless prof_accum is on. As jeprof
 *   does by default, a stack's t*: line is its sample; thread lines are
 *   checked and otherwise left out.
 *
 * What the reader makes of them follows pprof's own legacy parser
 * (github.com/google/pprof/profile/legacy_profile.go):
 * - sample types alloc_objects, alloc_space, inuse_objects, inuse_space
 *   when the header's totals count allocations apart from live objects,
 *   otherwise inuse_objects and inuse_space alone (pprof calls these two
 *   "objects" and "space"; the inuse_ names let diff and gate match them
 *   with allocprof's own profiles);
 * - sampled values unsampled pair by pair: count and bytes both times
 *   1 / (1 - exp(-(bytes / count) / R)), truncated, for heap_v2 with rate R
 *   and for "heap/N" with R = N / 2; heapprofile values as they are;
 * - period type space/bytes, period R (1 for heapprofile);
 * - a "bytes" label on each sample, its bytes / count (the object size);
 * - every return address but the leaf's less 1, so that it falls inside
 *   the call instruction, where symbolizers look;
 * - mappings from the executable lines of MAPPED_LIBRARIES (start, limit,
 *   file offset, path; no build ID), adjacent pieces of one file joined,
 *   the main program's first.
 * Functions stay unnamed: the CLI names the frames OBJECT+0xOFFSET
 * (cli/frames.c) until something symbolizes them.
 *
 * Robustness: every line is parsed strictly, numbers are range-checked,
 * and a file must end with a whole line and carry its MAPPED_LIBRARIES
 * section (both writers always write one), so a cut file is an error,
 * not a smaller profile. Memory grows with the input: one location per
 * distinct address, one sample per stack line. */
#include "legacy_heap.h"
#include "errmsg.h"
#include "hashtab.h"
#include "profile_builder.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- lines and tokens ---- */

typedef struct cursor {
  const char *p, *end; /* the rest of the current line, without its '\n' */
} cursor;

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

static void skip_blanks(cursor *c) {
  while (c->p < c->end && is_blank(*c->p)) c->p++;
}

static bool at_end(cursor *c) {
  skip_blanks(c);
  return c->p == c->end;
}

/* Consumes the literal s (after blanks). */
static bool eat(cursor *c, const char *s) {
  skip_blanks(c);
  size_t n = strlen(s);
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0) return false;
  c->p += n;
  return true;
}

/* A decimal number that fits int64_t (after blanks). 0 or -1. */
static int dec(cursor *c, int64_t *out) {
  skip_blanks(c);
  const char *s = c->p;
  uint64_t v = 0;
  while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
    unsigned d = (unsigned)(*c->p - '0');
    if (v > ((uint64_t)INT64_MAX - d) / 10) return -1;
    v = v * 10 + d;
    c->p++;
  }
  if (c->p == s) return -1;
  *out = (int64_t)v;
  return 0;
}

static int hexval(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

/* Hex digits, at most 16 (no blanks skipped, no prefix). 0 or -1. */
static int hex(cursor *c, uint64_t *out) {
  const char *s = c->p;
  uint64_t v = 0;
  int d;
  while (c->p < c->end && (d = hexval(*c->p)) >= 0) {
    if (c->p - s == 16) return -1;
    v = v << 4 | (uint64_t)d;
    c->p++;
  }
  if (c->p == s) return -1;
  *out = v;
  return 0;
}

/* The end of the line at p: its '\n', or end. */
static const char *line_end(const char *p, const char *end) {
  const char *nl = memchr(p, '\n', (size_t)(end - p));
  return nl ? nl : end;
}

/* ---- the reader's state ---- */

typedef struct lmap {
  uint64_t start, limit, offset;
  const char *file; /* into the input; not terminated */
  size_t filelen;
  uint64_t id;
} lmap;

typedef struct reader {
  legacy_heap_kind kind;
  profile_builder *b;
  char *err;
  size_t errlen;
  size_t lineno;
  bool v2;      /* values to unsample */
  int64_t rate; /* R; <= 1: leave values as they are */
  bool has_alloc;
  lmap *maps; /* executable mappings, by start */
  size_t nmaps;
  char desc[96];  /* the source format, for the profile's comment */
  uint64_t *locs; /* the current stack's location ids */
  size_t nlocs, capl;
  /* address -> location id, open addressing (id 0: empty): a big profile
   * repeats each address thousands of times, and this is cheaper than the
   * builder's general lookup by mapping, address and lines */
  struct aslot {
    uint64_t addr, id;
  } * amap;
  size_t acap, acount;
} reader;

static int fail(reader *r, const char *what) {
  formats_set_err(r->err, r->errlen, "%s heap profile, line %zu: %s",
                  r->kind == LEGACY_HEAP_JEMALLOC ? "jemalloc" : "gperftools", r->lineno, what);
  return -1;
}

static int oom(reader *r) {
  formats_set_err(r->err, r->errlen, "out of memory reading a legacy heap profile");
  return -1;
}

/* ---- MAPPED_LIBRARIES ---- */

static bool is_lib(const char *f, size_t n) {
  /* pprof's test for a shared library's name: ".so" at the end, or
   * ".so." / ".so_" and a digit */
  for (size_t i = 0; i + 3 <= n; i++) {
    if (memcmp(f + i, ".so", 3) != 0) continue;
    if (i + 3 == n) return true;
    if (i + 4 < n && (f[i + 3] == '.' || f[i + 3] == '_') && f[i + 4] >= '0' && f[i + 4] <= '9')
      return true;
  }
  return false;
}

/* One /proc/PID/maps line: "START-END PERMS OFFSET DEV INODE [PATH]".
 * Returns 1 with *m for an executable mapping, 0 for any other line (pprof
 * skips what it does not recognize). */
static int parse_map_line(cursor c, lmap *m) {
  uint64_t dev;
  int64_t inode;
  skip_blanks(&c);
  if (hex(&c, &m->start) != 0 || !eat(&c, "-") || hex(&c, &m->limit) != 0) return 0;
  skip_blanks(&c);
  bool exec = false;
  const char *perms = c.p;
  while (c.p < c.end && *c.p && strchr("rwxps-", *c.p)) exec |= *c.p++ == 'x';
  if (c.p == perms) return 0;
  skip_blanks(&c);
  if (hex(&c, &m->offset) != 0) return 0;
  skip_blanks(&c);
  if (hex(&c, &dev) != 0 || !eat(&c, ":") || hex(&c, &dev) != 0 || dec(&c, &inode) != 0) return 0;
  skip_blanks(&c);
  const char *f = c.p;
  while (c.p < c.end && !is_blank(*c.p)) c.p++;
  m->file = f;
  m->filelen = (size_t)(c.p - f);
  return exec && m->start < m->limit ? 1 : 0;
}

static int by_start(const void *a, const void *b) {
  const lmap *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start;
}

/* Reads the section from p to end into r->maps and adds the mappings to the
 * builder, the main program's first. */
static int read_maps(reader *r, const char *p, const char *end) {
  size_t cap = 0;
  for (; p < end; r->lineno++) {
    const char *e = line_end(p, end);
    lmap m;
    cursor c = {p, e > p && e[-1] == '\r' ? e - 1 : e};
    p = e < end ? e + 1 : end;
    if (!parse_map_line(c, &m)) continue;
    if (r->nmaps > 0) { /* one file's adjacent pieces, offsets in step: one mapping */
      lmap *last = &r->maps[r->nmaps - 1];
      if (last->limit == m.start && last->offset + (last->limit - last->start) == m.offset &&
          (last->filelen == 0 ||
           (last->filelen == m.filelen && memcmp(last->file, m.file, m.filelen) == 0))) {
        last->limit = m.limit;
        last->file = m.file;
        last->filelen = m.filelen;
        continue;
      }
    }
    if (r->nmaps == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      lmap *nm = realloc(r->maps, ncap * sizeof *nm);
      if (!nm) return oom(r);
      r->maps = nm;
      cap = ncap;
    }
    r->maps[r->nmaps++] = m;
  }
  /* The main program first, as pprof guesses it: the first named file
   * that is no shared library and no [pseudo-file]. */
  size_t main_ix = 0;
  for (size_t i = 0; i < r->nmaps; i++) {
    const lmap *m = &r->maps[i];
    if (m->filelen > 0 && m->file[0] != '[' && !is_lib(m->file, m->filelen)) {
      main_ix = i;
      break;
    }
  }
  for (size_t k = 0; k < r->nmaps; k++) {
    size_t i = k == 0 ? main_ix : k <= main_ix ? k - 1 : k;
    lmap *m = &r->maps[i];
    char *file = strndup(m->file, m->filelen);
    if (!file) return oom(r);
    profile_mapping_info mi = {.memory_start = m->start,
                               .memory_limit = m->limit,
                               .file_offset = m->offset,
                               .filename = file};
    m->id = profile_builder_add_mapping(r->b, &mi);
    free(file);
    if (m->id == 0) return oom(r);
  }
  if (r->nmaps > 1) qsort(r->maps, r->nmaps, sizeof *r->maps, by_start);
  return 0;
}

/* The id of the mapping holding addr, or 0. */
static uint64_t mapping_of(const reader *r, uint64_t addr) {
  size_t lo = 0, hi = r->nmaps;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (r->maps[mid].start <= addr)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == 0) return 0;
  const lmap *m = &r->maps[lo - 1];
  return addr < m->limit ? m->id : 0;
}

/* ---- stacks and values ---- */

static size_t aslot_of(const reader *r, uint64_t addr) {
  size_t i = (size_t)hash_mix(addr ^ hashtab_seed()) & (r->acap - 1);
  while (r->amap[i].id != 0 && r->amap[i].addr != addr) i = (i + 1) & (r->acap - 1);
  return i;
}

/* The location id of addr (already adjusted), added when new; 0 when out
 * of memory. */
static uint64_t location_of(reader *r, uint64_t addr) {
  if (r->acount >= r->acap / 4 * 3) { /* at most 3/4 full */
    size_t ncap = r->acap ? r->acap * 2 : 4096;
    struct aslot *old = r->amap;
    size_t ocap = r->acap;
    r->amap = calloc(ncap, sizeof *r->amap);
    if (!r->amap) {
      r->amap = old;
      return 0;
    }
    r->acap = ncap;
    for (size_t i = 0; i < ocap; i++)
      if (old[i].id != 0) r->amap[aslot_of(r, old[i].addr)] = old[i];
    free(old);
  }
  size_t i = aslot_of(r, addr);
  if (r->amap[i].id == 0) {
    uint64_t id = profile_builder_add_location(r->b, mapping_of(r, addr), addr, NULL, 0, false);
    if (id == 0) return 0;
    r->amap[i] = (struct aslot){addr, id};
    r->acount++;
  }
  return r->amap[i].id;
}

/* "@ 0xADDR 0xADDR ..." (the '@' already eaten) into r->locs. */
static int read_stack(reader *r, cursor *c) {
  r->nlocs = 0;
  while (!at_end(c)) {
    uint64_t addr;
    if (!eat(c, "0x") && !eat(c, "0X")) return fail(r, "expected a 0x address in the stack");
    if (hex(c, &addr) != 0) return fail(r, "bad or overlong address in the stack");
    if (c->p < c->end && !is_blank(*c->p)) return fail(r, "bad address in the stack");
    /* A return address points after its call: land inside the call. */
    if (r->nlocs > 0 && addr > 0) addr--;
    if (r->nlocs == r->capl) {
      size_t ncap = r->capl ? r->capl * 2 : 64;
      uint64_t *nl = realloc(r->locs, ncap * sizeof *nl);
      if (!nl) return oom(r);
      r->locs = nl;
      r->capl = ncap;
    }
    uint64_t id = location_of(r, addr);
    if (id == 0) return oom(r);
    r->locs[r->nlocs++] = id;
  }
  return 0;
}

/* "N: B [N: B]" into v[0..4): in-use count, bytes, allocated count, bytes. */
static int read_counts(reader *r, cursor *c, int64_t v[4]) {
  if (dec(c, &v[0]) != 0 || !eat(c, ":") || dec(c, &v[1]) != 0 || !eat(c, "[") ||
      dec(c, &v[2]) != 0 || !eat(c, ":") || dec(c, &v[3]) != 0 || !eat(c, "]"))
    return fail(r, "expected \"COUNT: BYTES [COUNT: BYTES]\" (numbers up to 2^63-1)");
  return 0;
}

static int64_t to_int64(double x) {
  if (!(x >= 0)) return 0; /* NaN too */
  if (x >= 9223372036854775807.0) return INT64_MAX;
  return (int64_t)x;
}

/* One (count, bytes) pair unsampled in place; *blocksize set to bytes per
 * object when count > 0 (pprof's scaleHeapSample). */
static int unsample(reader *r, int64_t *count, int64_t *bytes, int64_t *blocksize) {
  if (*count == 0 && *bytes != 0) return fail(r, "a count of 0 with a nonzero number of bytes");
  if (*count == 0) return 0;
  *blocksize = *bytes / *count;
  if (!r->v2 || r->rate <= 1) return 0;
  if (*bytes == 0) { /* no size: no probability, as pprof */
    *count = 0;
    return 0;
  }
  double avg = (double)*bytes / (double)*count;
  double scale = 1 / (1 - exp(-avg / (double)r->rate));
  *count = to_int64((double)*count * scale);
  *bytes = to_int64((double)*bytes * scale);
  return 0;
}

/* Adds the sample of the current stack with the raw values v. */
static int add_sample(reader *r, int64_t v[4]) {
  int64_t blocksize = 0, vals[4];
  size_t n = 0;
  if (r->has_alloc) {
    if (unsample(r, &v[2], &v[3], &blocksize) != 0) return -1;
    vals[n++] = v[2];
    vals[n++] = v[3];
  }
  if (unsample(r, &v[0], &v[1], &blocksize) != 0) return -1;
  vals[n++] = v[0];
  vals[n++] = v[1];
  profile_label lab = {.key = "bytes", .num = blocksize, .num_unit = "bytes"};
  if (profile_builder_add_sample(r->b, r->locs, r->nlocs, vals, n, &lab, 1) != 0) return oom(r);
  return 0;
}

/* pprof's rule: the file counts allocations when the header's bracketed
 * pair is neither zero nor a copy of the in-use pair. */
static void set_has_alloc(reader *r, const int64_t v[4]) {
  r->has_alloc = (v[2] != v[0] && v[2] != 0) || (v[3] != v[1] && v[3] != 0);
}

/* ---- headers and bodies ---- */

/* The sample types (once the header says whether there are allocation
 * counts), period and comment. */
static void set_types(reader *r) {
  profile_builder *b = r->b;
  if (r->has_alloc) {
    profile_builder_add_sample_type(b, "alloc_objects", "count");
    profile_builder_add_sample_type(b, "alloc_space", "bytes");
  }
  profile_builder_add_sample_type(b, "inuse_objects", "count");
  profile_builder_add_sample_type(b, "inuse_space", "bytes");
  profile_builder_set_default_sample_type(b, "inuse_space");
  profile_builder_set_period(b, "space", "bytes", r->rate > 1 ? r->rate : 1);
  char comment[160];
  snprintf(comment, sizeof comment, "converted from a %s%s", r->desc,
           r->v2 && r->rate > 1 ? ": values unsampled as pprof and jeprof do" : "");
  profile_builder_add_comment(b, comment);
}

/* "heap profile: N: B [N: B] @ KIND[/RATE]". */
static int gperf_header(reader *r, cursor *c) {
  char *desc = r->desc;
  size_t desclen = sizeof r->desc;
  int64_t v[4];
  if (!eat(c, "heap profile:")) return fail(r, "expected \"heap profile:\"");
  if (read_counts(r, c, v) != 0) return -1;
  if (!eat(c, "@")) return fail(r, "expected \"@ heap_v2/RATE\" or \"@ heapprofile\"");
  skip_blanks(c);
  const char *k = c->p;
  while (c->p < c->end && c->p[0] != '/' && !is_blank(c->p[0])) c->p++;
  size_t klen = (size_t)(c->p - k);
  int64_t n = 0;
  if (eat(c, "/") && dec(c, &n) != 0) return fail(r, "bad sampling rate after '/'");
  if (!at_end(c)) return fail(r, "unexpected text after the sampling kind");
  if (klen == 11 && memcmp(k, "heapprofile", 11) == 0) {
    r->v2 = false;
    r->rate = 1;
  } else if ((klen == 7 && memcmp(k, "heap_v2", 7) == 0) ||
             (klen == 8 && memcmp(k, "heapz_v2", 8) == 0)) {
    r->v2 = true;
    r->rate = n;
  } else if (klen == 4 && memcmp(k, "heap", 4) == 0) {
    r->v2 = true; /* pprof reads the older form's number as twice the rate */
    r->rate = n / 2;
  } else {
    return fail(r, "unknown kind of heap profile (not heapprofile, heap_v2 or heap)");
  }
  set_has_alloc(r, v);
  if (n)
    snprintf(desc, desclen, "gperftools heap profile (%.*s/%lld)", (int)klen, k, (long long)n);
  else
    snprintf(desc, desclen, "gperftools heap profile (%.*s)", (int)klen, k);
  return 0;
}

static int gperf_line(reader *r, cursor *c) {
  int64_t v[4];
  if (read_counts(r, c, v) != 0) return -1;
  if (!eat(c, "@")) return fail(r, "expected '@' and the stack after the counts");
  if (read_stack(r, c) != 0) return -1;
  return add_sample(r, v);
}

/* jemalloc: where the reader is between lines. */
typedef struct je_state {
  bool totals; /* the process-wide t*: line seen */
  bool stack;  /* an "@" line waits for its t*: line */
} je_state;

static int je_line(reader *r, je_state *s, cursor *c) {
  if (eat(c, "@")) {
    if (s->stack) return fail(r, "a stack without its t*: line");
    if (!s->totals) return fail(r, "a stack before the t*: totals line");
    s->stack = true;
    return read_stack(r, c);
  }
  if (!eat(c, "t")) return fail(r, "expected an \"@\" stack or a \"t*:\" / \"tN:\" line");
  bool all = eat(c, "*");
  int64_t thread, v[4];
  if (!all && dec(c, &thread) != 0) return fail(r, "expected \"t*:\" or a thread number");
  if (!eat(c, ":")) return fail(r, "expected ':' after the thread");
  if (read_counts(r, c, v) != 0) return -1;
  if (!at_end(c)) return fail(r, "unexpected text after the counts");
  if (!all) return 0; /* a thread's share: jeprof's default view leaves it out */
  if (!s->totals) {
    s->totals = true;
    set_has_alloc(r, v);
    set_types(r);
    return 0;
  }
  if (!s->stack) return fail(r, "a second t*: line for one stack");
  s->stack = false;
  return add_sample(r, v);
}

/* Whether a line starts the maps section (pprof also takes a "--- Memory
 * map: ---" line). */
static bool maps_trigger(cursor c) {
  skip_blanks(&c);
  size_t n = (size_t)(c.end - c.p);
  return (n >= 17 && memcmp(c.p, "MAPPED_LIBRARIES:", 17) == 0) ||
         (n >= 15 && memcmp(c.p, "--- Memory map:", 15) == 0);
}

/* ---- the whole file ---- */

static int convert(reader *r, const char *buf, size_t len) {
  const char *end = buf + len;
  if (len == 0 || buf[len - 1] != '\n') {
    r->lineno = 0;
    for (const char *q = buf; q < end; q = line_end(q, end) + 1) r->lineno++;
    return fail(r, "the last line is cut short (truncated file?)");
  }
  if (memchr(buf, 0, len)) {
    r->lineno = 1;
    for (const char *q = buf; q < (const char *)memchr(buf, 0, len); q++) r->lineno += *q == '\n';
    return fail(r, "a NUL byte in the text (corrupt file?)");
  }
  /* The maps come last but locations need them: find the section first. */
  const char *maps = NULL;
  size_t maps_line = 0, n = 0;
  for (const char *q = buf; q < end; n++) {
    const char *e = line_end(q, end);
    if (n > 0 && maps_trigger((cursor){q, e})) {
      maps = e + 1;
      maps_line = n + 2;
      break;
    }
    q = e + 1;
  }
  const char *body_end = maps ? maps : end;
  if (maps) {
    r->lineno = maps_line;
    if (read_maps(r, maps, end) != 0) return -1;
  }
  const char *p = buf, *e = line_end(p, end);
  cursor c = {p, e > p && e[-1] == '\r' ? e - 1 : e};
  r->lineno = 1;
  if (r->kind == LEGACY_HEAP_GPERF) {
    if (gperf_header(r, &c) != 0) return -1;
    set_types(r);
  } else {
    int64_t rate = 0;
    if (!eat(&c, "heap_v2/") || dec(&c, &rate) != 0 || !at_end(&c))
      return fail(r, "expected \"heap_v2/RATE\"");
    r->v2 = true;
    r->rate = rate;
    snprintf(r->desc, sizeof r->desc, "jemalloc heap profile (heap_v2/%lld)", (long long)rate);
  }
  je_state js = {0};
  for (p = e + 1; p < body_end; p = e + 1) {
    r->lineno++;
    e = line_end(p, end);
    c = (cursor){p, e > p && e[-1] == '\r' ? e - 1 : e};
    if (at_end(&c) || *c.p == '#') continue;
    if (maps_trigger(c)) break;
    int rc = r->kind == LEGACY_HEAP_GPERF ? gperf_line(r, &c) : je_line(r, &js, &c);
    if (rc != 0) return -1;
  }
  if (js.stack) return fail(r, "the last stack has no t*: line (truncated file?)");
  if (r->kind == LEGACY_HEAP_JEMALLOC && !js.totals)
    return fail(r, "no t*: totals line (truncated file?)");
  if (!maps) return fail(r, "no MAPPED_LIBRARIES: section after the stacks (truncated file?)");
  return profile_builder_ok(r->b) ? 0 : oom(r);
}

/* ---- entry points ---- */

legacy_heap_kind legacy_heap_detect(const void *buf, size_t len) {
  const char *p = buf, *end = p + len;
  while (p < end && is_blank(*p)) p++;
  size_t n = (size_t)(end - p);
  if (n >= 13 && memcmp(p, "heap profile:", 13) == 0) return LEGACY_HEAP_GPERF;
  if (n >= 8 && memcmp(p, "heap_v2/", 8) == 0) return LEGACY_HEAP_JEMALLOC;
  return LEGACY_HEAP_NONE;
}

int legacy_heap_convert(const void *buf, size_t len, uint8_t **out, size_t *outlen, char *err,
                        size_t errlen) {
  *out = NULL;
  *outlen = 0;
  reader r = {.kind = legacy_heap_detect(buf, len), .err = err, .errlen = errlen};
  if (r.kind == LEGACY_HEAP_NONE) {
    formats_set_err(err, errlen, "not a gperftools or jemalloc heap profile");
    return -1;
  }
  r.b = profile_builder_new();
  if (!r.b) return oom(&r);
  int rc = convert(&r, buf, len);
  if (rc == 0 && profile_builder_pack(r.b, out, outlen) != 0) rc = oom(&r);
  profile_builder_free(r.b);
  free(r.maps);
  free(r.locs);
  free(r.amap);
  return rc;
}
