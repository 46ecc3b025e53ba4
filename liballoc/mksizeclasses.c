/* mksizeclasses.c: build-time generator of the small-object size classes.
 *
 * Run by the build (sizeclasses.cmake) as `mksizeclasses OUT`; writes the
 * header sizeclasses.h to OUT (through a temporary file and rename, so a
 * failed run never leaves a half-written header). The allocator overview is
 * in malloc.c; the idea of this table follows the Go runtime's size classes.
 *
 * How the classes are chosen
 * --------------------------
 * Candidate sizes are walked upward from 8 bytes in steps that widen with the
 * size: 8, then 16-byte steps, then from 128 bytes on a step of size/8
 * (a power of two, since it only changes at powers of two), capped at 256
 * bytes from 2048 on. The cap keeps candidates dense among the big classes,
 * where a span holds few objects and small size changes decide the waste.
 *
 * Each candidate gets the smallest span (a whole number of 8 KiB pages) whose
 * unused tail is at most 1/8 of the span. A candidate that gets the same span
 * length and the same object count as the class before it replaces that
 * class: the bigger size costs nothing. A power of two is never replaced that
 * way, because aligned allocation picks a class that is a multiple of the
 * alignment and powers of two guarantee one exists.
 *
 * Last, each class is widened to the largest size that still fits the same
 * number of objects in its span, rounded down to a multiple of 128 so the
 * lookup table for sizes above 1024 (128-byte buckets) stays exact.
 *
 * Alignment: every class of 16 bytes or more is a multiple of 16. Objects sit
 * at k*size from an 8 KiB-aligned span base, so this gives the 16-byte
 * alignment glibc promises for requests of 16 bytes or more. Only class 1
 * (8 bytes) is smaller.
 *
 * Bounds this program checks (it exits non-zero if any fails)
 * ------------------------------------------------------------
 *  - tail waste of a span <= 1/8 of the span;
 *  - worst-case waste of a class, counting the tail and objects that each
 *    hold a request one byte larger than the previous class:
 *      classes of 128 bytes or more:   <= 17.0%  (MAXWASTE_LARGE_PCT)
 *      classes below 128 bytes: the rounding step itself is the limit, each
 *      class is at most 16 bytes above the previous one (TINY_STEP), which
 *      is what bounds their large percentages (87.5% for 8 bytes);
 *  - every class >= 16 is a multiple of 16; every power of two from 16 to
 *    32768 is a class; sizes strictly increase; npages fits in uint8_t;
 *  - the division magic gives offset/size for every byte offset in a span;
 *  - both lookup tables give, for every request 0..32768, the smallest class
 *    whose size is >= the request (request 0 gets class 1).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- parameters ------------------------------------------------------- */

enum {
  PAGE_SIZE = 8192,
  MAX_SMALL = 32768,
  SMALL_DIV = 8,    /* granularity of size_to_class8 */
  SMALL_MAX = 1024, /* sizes <= this use size_to_class8 */
  LARGE_DIV = 128,  /* granularity of size_to_class128 */
  MIN_ALIGN = 16,   /* classes >= 16 bytes are multiples of this */
  TINY_LIMIT = 128, /* below this, classes are bounded by TINY_STEP */
  TINY_STEP = 16,
  MAX_CLASSES = 128,
  CLASS8_LEN = SMALL_MAX / SMALL_DIV + 1,
  CLASS128_LEN = (MAX_SMALL - SMALL_MAX) / LARGE_DIV + 1,
  BY8_LEN = MAX_SMALL / SMALL_DIV + 1,
};

/* Worst-case waste allowed for classes of TINY_LIMIT bytes or more, percent.
 * A step of size/8 alone loses up to 1/9 of an object and the tail up to 1/8
 * of the span, but the two are never both at their worst: the table peaks at
 * 16.65% (4864 bytes, the class after 4096). Wider steps or a looser span
 * rule push classes past the bound. */
#define MAXWASTE_LARGE_PCT 17.0

struct sizeclass {
  uint32_t size;
  uint32_t npages;
  uint32_t nelems;
  uint32_t divmagic;
};

static struct sizeclass classes[MAX_CLASSES];
static int nclasses; /* including class 0 */
static uint8_t class8[CLASS8_LEN];
static uint8_t class128[CLASS128_LEN];
static uint8_t class_by8[BY8_LEN]; /* both tables in one, by 8-byte step */

/* ---- helpers ---------------------------------------------------------- */

static _Noreturn void fail(const char *fmt, ...) {
  va_list ap;

  fputs("mksizeclasses: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(1);
}

static int is_pow2(uint32_t x) { return x != 0 && (x & (x - 1)) == 0; }

/* Smallest number of pages whose span leaves a tail of at most 1/8. */
static uint32_t span_pages(uint32_t size) {
  uint32_t bytes = PAGE_SIZE;

  while (bytes % size > bytes / 8) bytes += PAGE_SIZE;
  return bytes / PAGE_SIZE;
}

static uint32_t span_bytes(const struct sizeclass *c) { return c->npages * PAGE_SIZE; }

static uint32_t tail_waste(const struct sizeclass *c) {
  return span_bytes(c) - c->nelems * c->size;
}

/* Worst case, in percent of the span: every object holds a request one byte
 * above the previous class, and the tail is unused. */
static double max_waste_pct(int i) {
  const struct sizeclass *c = &classes[i];
  uint32_t prev = classes[i - 1].size;
  uint64_t lost = (uint64_t)(c->size - prev - 1) * c->nelems + tail_waste(c);

  return 100.0 * (double)lost / (double)span_bytes(c);
}

/* ceil(2^32 / size): then (offset * magic) >> 32 == offset / size for every
 * offset in the span, since offset * (magic*size - 2^32) stays below 2^32
 * when offset * size does. check_divmagic confirms it offset by offset. */
static uint32_t div_magic(uint32_t size) {
  return (uint32_t)(((UINT64_C(1) << 32) + size - 1) / size);
}

/* ---- building the table ----------------------------------------------- */

static void add_class(uint32_t size, uint32_t npages) {
  if (nclasses == MAX_CLASSES) fail("more than %d classes", MAX_CLASSES - 1);
  classes[nclasses].size = size;
  classes[nclasses].npages = npages;
  nclasses++;
}

static void make_classes(void) {
  uint32_t step = 8;

  add_class(0, 0); /* class 0: large objects, served by the page heap */
  for (uint32_t size = 8; size <= MAX_SMALL; size += step) {
    if (is_pow2(size)) {
      if (size >= 2048)
        step = 256;
      else if (size >= 128)
        step = size / 8;
      else if (size >= 16)
        step = MIN_ALIGN;
    }
    uint32_t npages = span_pages(size);
    uint32_t span = npages * PAGE_SIZE;
    struct sizeclass *last = &classes[nclasses - 1];

    if (nclasses > 1 && !is_pow2(last->size) && last->npages == npages &&
        span / last->size == span / size) {
      last->size = size;
      continue;
    }
    add_class(size, npages);
  }

  /* Widen each class while its span still holds as many objects. */
  for (int i = 1; i < nclasses; i++) {
    struct sizeclass *c = &classes[i];
    uint32_t span = span_bytes(c);
    uint32_t wide = span / (span / c->size) / LARGE_DIV * LARGE_DIV;

    if (wide > c->size) c->size = wide;
  }

  for (int i = 1; i < nclasses; i++) {
    struct sizeclass *c = &classes[i];

    c->nelems = span_bytes(c) / c->size;
    c->divmagic = div_magic(c->size);
  }
}

/* Smallest class whose size is >= request, by linear search. */
static int class_for(uint32_t request) {
  for (int i = 1; i < nclasses; i++)
    if (classes[i].size >= request) return i;
  fail("no class holds %" PRIu32 " bytes", request);
}

static void make_lookup(void) {
  for (uint32_t i = 0; i < CLASS8_LEN; i++) class8[i] = (uint8_t)class_for(i * SMALL_DIV);
  for (uint32_t i = 0; i < CLASS128_LEN; i++)
    class128[i] = (uint8_t)class_for(SMALL_MAX + i * LARGE_DIV);
  for (uint32_t i = 0; i < BY8_LEN; i++) class_by8[i] = (uint8_t)class_for(i * SMALL_DIV);
}

/* ---- checks ----------------------------------------------------------- */

static void check_shape(void) {
  if (classes[nclasses - 1].size != MAX_SMALL)
    fail("largest class is %" PRIu32 ", want %d", classes[nclasses - 1].size, MAX_SMALL);
  if (nclasses > 255) fail("%d classes do not fit the uint8_t lookup tables", nclasses);
  for (int i = 1; i < nclasses; i++) {
    const struct sizeclass *c = &classes[i];

    if (c->size <= classes[i - 1].size)
      fail("class %d (%" PRIu32 " bytes) is not above class %d", i, c->size, i - 1);
    if (c->size >= MIN_ALIGN && c->size % MIN_ALIGN != 0)
      fail("class %d (%" PRIu32 " bytes) is not a multiple of %d", i, c->size, MIN_ALIGN);
    if (c->npages == 0 || c->npages > UINT8_MAX)
      fail("class %d: %" PRIu32 " pages per span does not fit uint8_t", i, c->npages);
    if (c->nelems == 0 || c->nelems > UINT16_MAX)
      fail("class %d: %" PRIu32 " objects per span does not fit uint16_t", i, c->nelems);
  }
  for (uint32_t p = MIN_ALIGN; p <= MAX_SMALL; p *= 2) {
    int found = 0;

    for (int i = 1; i < nclasses; i++) found |= classes[i].size == p;
    if (!found) fail("power of two %" PRIu32 " is not a class", p);
  }
}

static void check_waste(void) {
  for (int i = 1; i < nclasses; i++) {
    const struct sizeclass *c = &classes[i];
    double pct = max_waste_pct(i);

    if (tail_waste(c) > span_bytes(c) / 8)
      fail("class %d: tail waste %" PRIu32 " is over 1/8 of %" PRIu32, i, tail_waste(c),
           span_bytes(c));
    if (c->size < TINY_LIMIT) {
      if (c->size - classes[i - 1].size > TINY_STEP)
        fail("class %d: %" PRIu32
             " bytes is more than %d above "
             "the previous class",
             i, c->size, TINY_STEP);
    } else if (pct > MAXWASTE_LARGE_PCT) {
      fail("class %d (%" PRIu32 " bytes): max waste %.2f%% over %.2f%%", i, c->size, pct,
           MAXWASTE_LARGE_PCT);
    }
  }
}

static void check_divmagic(void) {
  for (int i = 1; i < nclasses; i++) {
    const struct sizeclass *c = &classes[i];

    for (uint32_t off = 0; off < span_bytes(c); off++) {
      uint32_t q = (uint32_t)(((uint64_t)off * c->divmagic) >> 32);

      if (q != off / c->size)
        fail("class %d: magic %" PRIu32 " gives %" PRIu32 " for offset %" PRIu32 " / %" PRIu32, i,
             c->divmagic, q, off, c->size);
    }
  }
}

static void check_lookup(void) {
  for (uint32_t n = 0; n <= MAX_SMALL; n++) {
    int want = n == 0 ? 1 : class_for(n);
    int got;

    if (n <= SMALL_MAX)
      got = class8[(n + SMALL_DIV - 1) / SMALL_DIV];
    else
      got = class128[(n - SMALL_MAX + LARGE_DIV - 1) / LARGE_DIV];
    if (got != want) fail("request %" PRIu32 " looks up class %d, want %d", n, got, want);
    if (class_by8[(n + SMALL_DIV - 1) / SMALL_DIV] != want)
      fail("request %" PRIu32 " looks up class %d by 8, want %d", n,
           class_by8[(n + SMALL_DIV - 1) / SMALL_DIV], want);
    /* independent of class_for: the class fits, the one below does not */
    if (classes[got].size < n || (got > 1 && classes[got - 1].size >= n))
      fail("request %" PRIu32 " gets class %d of %" PRIu32 " bytes", n, got, classes[got].size);
  }
}

/* ---- output ----------------------------------------------------------- */

static void print_comment(FILE *f) {
  fprintf(f, "/* class  bytes/obj  bytes/span  objects  tail waste  max waste\n");
  for (int i = 1; i < nclasses; i++) {
    const struct sizeclass *c = &classes[i];

    fprintf(f, " * %5d  %9" PRIu32 "  %10" PRIu32 "  %7" PRIu32 "  %10" PRIu32 "  %8.2f%%\n", i,
            c->size, span_bytes(c), c->nelems, tail_waste(c), max_waste_pct(i));
  }
  fprintf(f, " */\n\n");
}

#define ARRAY_ATTR "__attribute__((unused))"

static void print_u32_array(FILE *f, const char *type, const char *name, const char *len,
                            const uint32_t *v, int n) {
  fprintf(f, "static const %s %s[%s] %s = {", type, name, len, ARRAY_ATTR);
  for (int i = 0; i < n; i++) fprintf(f, "%s%" PRIu32 ",", i % 8 == 0 ? "\n\t" : " ", v[i]);
  fprintf(f, "\n};\n\n");
}

static void print_header(FILE *f) {
  uint32_t v[MAX_CLASSES > CLASS128_LEN ? MAX_CLASSES : CLASS128_LEN];

  fprintf(f,
          "/* sizeclasses.h: small-object size classes.\n"
          " *\n"
          " * generated by mksizeclasses.c, do not edit.\n"
          " * The rules, bounds and checks are described in mksizeclasses.c.\n"
          " * Class 0 stands for large objects (> SIZECLASS_MAX_SMALL) and has\n"
          " * size 0. Objects of a class sit at k * size from an 8 KiB-aligned\n"
          " * span base; every class of 16 bytes or more is a multiple of 16.\n"
          " *\n"
          " * Lookup of a request n <= SIZECLASS_MAX_SMALL:\n"
          " *   n <= SIZECLASS_SMALL_MAX: size_to_class8[(n + 7) / 8]\n"
          " *   otherwise:                size_to_class128[(n - 1024 + 127) / 128]\n"
          " * gives the smallest class whose size is >= n (n == 0 gives class 1);\n"
          " * so does size_to_class_x64[(n + 7) / 8] >> 6, one table for all n\n"
          " * (8 KiB, for malloc's fast path: no branch between the two, and the\n"
          " * class times 64, the offset of its entry in an array of 64-byte\n"
          " * records such as a thread cache's, so no shift either).\n"
          " *\n"
          " * Object index from a byte offset in a span, without a division:\n"
          " *   (uint32_t)(((uint64_t)offset * class_to_divmagic[c]) >> 32)\n"
          " * equals offset / class_to_size[c] for every offset < the span size.\n"
          " */\n"
          "#ifndef ALLOC_SIZECLASSES_H\n"
          "#define ALLOC_SIZECLASSES_H\n\n"
          "#include <stdint.h>\n\n");
  fprintf(f, "#define SIZECLASS_COUNT %d\n", nclasses);
  fprintf(f, "#define SIZECLASS_MAX_SMALL %d\n", MAX_SMALL);
  fprintf(f, "#define SIZECLASS_SMALL_DIV %d    /* granularity of size_to_class8 */\n", SMALL_DIV);
  fprintf(f, "#define SIZECLASS_SMALL_MAX %d /* sizes <= this use size_to_class8 */\n", SMALL_MAX);
  fprintf(f, "#define SIZECLASS_LARGE_DIV %d  /* granularity of size_to_class128 */\n\n",
          LARGE_DIV);

  print_comment(f);

  for (int i = 0; i < nclasses; i++) v[i] = classes[i].size;
  print_u32_array(f, "uint32_t", "class_to_size", "SIZECLASS_COUNT", v, nclasses);
  fprintf(f, "/* 8 KiB pages per span */\n");
  for (int i = 0; i < nclasses; i++) v[i] = classes[i].npages;
  print_u32_array(f, "uint8_t", "class_to_npages", "SIZECLASS_COUNT", v, nclasses);
  fprintf(f, "/* objects per span */\n");
  for (int i = 0; i < nclasses; i++) v[i] = classes[i].nelems;
  print_u32_array(f, "uint16_t", "class_to_nelems", "SIZECLASS_COUNT", v, nclasses);
  fprintf(f, "/* offset / size == ((uint64_t)offset * magic) >> 32 in a span */\n");
  for (int i = 0; i < nclasses; i++) v[i] = classes[i].divmagic;
  print_u32_array(f, "uint32_t", "class_to_divmagic", "SIZECLASS_COUNT", v, nclasses);
  fprintf(f, "/* index (size + 7) / 8, for size <= SIZECLASS_SMALL_MAX */\n");
  for (int i = 0; i < CLASS8_LEN; i++) v[i] = class8[i];
  print_u32_array(f, "uint8_t", "size_to_class8", "SIZECLASS_SMALL_MAX / SIZECLASS_SMALL_DIV + 1",
                  v, CLASS8_LEN);
  fprintf(f,
          "/* index (size - 1024 + 127) / 128, for SIZECLASS_SMALL_MAX < size"
          " <= SIZECLASS_MAX_SMALL */\n");
  for (int i = 0; i < CLASS128_LEN; i++) v[i] = class128[i];
  print_u32_array(f, "uint8_t", "size_to_class128",
                  "(SIZECLASS_MAX_SMALL - SIZECLASS_SMALL_MAX) / SIZECLASS_LARGE_DIV + 1", v,
                  CLASS128_LEN);
  fprintf(f, "/* class * 64, index (size + 7) / 8, for size <= SIZECLASS_MAX_SMALL */\n");
  static uint32_t by8[BY8_LEN];
  for (int i = 0; i < BY8_LEN; i++) by8[i] = (uint32_t)class_by8[i] << 6;
  print_u32_array(f, "uint16_t", "size_to_class_x64",
                  "SIZECLASS_MAX_SMALL / SIZECLASS_SMALL_DIV + 1", by8, BY8_LEN);
  fprintf(f, "#endif /* ALLOC_SIZECLASSES_H */\n");
}

static void write_header(const char *path) {
  size_t len = strlen(path) + 32;
  char *tmp = malloc(len);
  FILE *f;

  if (tmp == NULL) fail("out of memory");
  snprintf(tmp, len, "%s.tmp.%ld", path, (long)getpid());
  f = fopen(tmp, "w");
  if (f == NULL) fail("cannot create %s: %s", tmp, strerror(errno));
  print_header(f);
  if (ferror(f) || fclose(f) != 0) {
    int err = errno;

    remove(tmp);
    fail("cannot write %s: %s", tmp, strerror(err));
  }
  if (rename(tmp, path) != 0) {
    int err = errno;

    remove(tmp);
    fail("cannot rename %s to %s: %s", tmp, path, strerror(err));
  }
  free(tmp);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: mksizeclasses OUTPUT.h\n");
    return 2;
  }
  make_classes();
  make_lookup();
  check_shape();
  check_waste();
  check_divmagic();
  check_lookup();
  write_header(argv[1]);
  return 0;
}
