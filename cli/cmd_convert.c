/* cmd_convert.c: `allocprof convert`: a profile into another container or
 * into folded stacks, and snapshots out of an ALLOCPROF_STREAM file (one, or
 * all of them into files named by a %n pattern). */
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "common.h"
#include "container.h"
#include "fileio.h"
#include "folded.h"
#include "stream.h"

static const char convert_intro[] =
    "usage: allocprof convert [--sample-index TYPE] -o OUT IN\n"
    "       allocprof convert [--index N | --all] [--sample-index TYPE] -o OUT STREAM\n"
    "\n"
    "Writes IN (any container, found by content) to OUT in the container OUT's\n"
    "ending names: .pb.gz gzip, .pb.zst zstd, .pb raw, .folded folded stacks\n"
    "(\"root;caller;callee value\" lines: the input of flamegraph.pl, speedscope and\n"
    "inferno), anything else gzip.\n"
    "\n"
    "A snapshot stream (the file ALLOCPROF_STREAM names: one zstd frame per\n"
    "snapshot) gives its last complete snapshot, or the one --index picks, or with\n"
    "--all every snapshot, each to OUT with %n replaced by its index. A damaged\n"
    "stream (a process killed while writing) is read up to its last good frame,\n"
    "with a warning.\n"
    "\n";

static const cli_option convert_options[] = {
    {"output", 'o', "OUT", 'o', "the output file (required; with --all it must hold %n)"},
    {"index", 'x', "N", 'x',
     "the snapshot of a stream to write, from 0 (default: the\n"
     "last)"},
    {"all", 'a', NULL, 'a',
     "every snapshot of a stream, all or nothing: when one\n"
     "cannot be written, none is"},
    {"sample-index", 'i', "TYPE", 'i',
     "for .folded: the value to fold (default: the profile's\n"
     "default sample type, else its last one)"},
    {NULL},
};

static int run_convert(int argc, char **argv);

const cli_command cmd_convert = {
    .name = "convert",
    .summary = "change container, fold stacks, unpack snapshot streams",
    .run = run_convert,
    .intro = convert_intro,
    .options = convert_options,
};

/* OUT with each %n replaced by index and %% by %. NULL when out of memory. */
static char *expand_index(const char *pattern, size_t index) {
  size_t cap = strlen(pattern) + 64, used = 0;
  char *s = malloc(cap);
  if (!s) return NULL;
  for (const char *p = pattern; *p; p++) {
    if (used + 32 >= cap) {
      char *ns = realloc(s, cap *= 2);
      if (!ns) {
        free(s);
        return NULL;
      }
      s = ns;
    }
    if (p[0] == '%' && p[1] == 'n') {
      used += (size_t)snprintf(s + used, cap - used, "%zu", index);
      p++;
    } else if (p[0] == '%' && p[1] == '%') {
      s[used++] = '%';
      p++;
    } else {
      s[used++] = *p;
    }
  }
  s[used] = 0;
  return s;
}

/* p as the bytes out's ending names (.folded: of the chosen value), in
 * *buf (malloc'd). Returns 0 or -1 after printing. */
static int render(const char *out, const profile_pb *p, const char *index_name, const char *in,
                  uint8_t **buf, size_t *len) {
  char err[CLI_ERRLEN];
  container_kind kind = container_for_path(out);
  ssize_t vi = -1;
  if (cli_check_types(p, in) != 0) return -1;
  if (kind == CONTAINER_FOLDED || index_name) {
    vi = cli_sample_index(p, index_name, in);
    if (vi < 0) return -1;
  }
  if (kind == CONTAINER_FOLDED) {
    char *text = NULL;
    if (folded_format(p, (size_t)vi, &text, len, err, sizeof err) != 0) {
      cli_error("%s: %s", in, err);
      return -1;
    }
    *buf = (uint8_t *)text;
    return 0;
  }
  if (profile_write_buffer(p, kind, buf, len, err, sizeof err) != 0) {
    cli_error("%s: %s", out, err);
    return -1;
  }
  return 0;
}

/* Writes p to out, all or nothing. */
static int write_profile(const char *out, const profile_pb *p, const char *index_name,
                         const char *in) {
  uint8_t *buf = NULL;
  size_t len = 0;
  if (render(out, p, index_name, in, &buf, &len) != 0) return -1;
  return cli_write_text(out, (char *)buf, len);
}

typedef struct walk {
  const char *in, *out, *index_name;
  bool all;
  long want;     /* the snapshot to keep, or -1: the last */
  uint8_t *kept; /* its serialized profile */
  size_t kept_len, kept_index;
  bool have;
  size_t written;
  fileio_batch batch; /* --all: every snapshot, renamed into place at the end */
  int failed;
} walk;

static int on_frame(void *ctx, size_t index, uint64_t offset, const uint8_t *pb, size_t len) {
  walk *w = ctx;
  (void)offset;
  if (w->all) {
    char name[CLI_ERRLEN], err[CLI_ERRLEN];
    snprintf(name, sizeof name, "%s[%zu]", w->in, index);
    profile_pb *p = NULL;
    if (profile_decode(pb, len, name, &p, err, sizeof err) != 0) {
      cli_error("%s", err);
      w->failed = 1;
      return 1;
    }
    char *path = expand_index(w->out, index);
    uint8_t *buf = NULL;
    size_t blen = 0;
    int rc = path ? render(path, p, w->index_name, name, &buf, &blen) : -1;
    if (!path) cli_error("out of memory");
    if (rc == 0) rc = cli_check_output(path);
    if (rc == 0 && (rc = fileio_batch_add(&w->batch, path, buf, blen, err, sizeof err)) != 0)
      cli_error("%s", err);
    free(buf);
    free(path);
    profile_free(p);
    if (rc != 0) {
      w->failed = 1;
      return 1;
    }
    w->written++;
    return 0;
  }
  if (w->want >= 0 && index != (size_t)w->want) return 0;
  uint8_t *copy = malloc(len ? len : 1);
  if (!copy) {
    cli_error("out of memory");
    w->failed = 1;
    return 1;
  }
  memcpy(copy, pb, len);
  free(w->kept);
  w->kept = copy;
  w->kept_len = len;
  w->kept_index = index;
  w->have = true;
  return w->want >= 0; /* found the one asked for: stop */
}

/* Options and the operand into w; returns -1 to go on, else the exit
 * status. */
static int parse_convert(walk *w, int argc, char **argv) {
  int c;
  while ((c = cli_option_next(&cmd_convert, argc, argv)) != -1) {
    switch (c) {
      case 'o': w->out = optarg; break;
      case 'x':
        if (cli_parse_count(optarg, &w->want) != 0)
          return cli_usage_error("convert", "--index wants a snapshot number, not '%s'", optarg);
        break;
      case 'a': w->all = true; break;
      case 'i': w->index_name = optarg; break;
      default: return cli_option_end(&cmd_convert, c);
    }
  }
  if (!w->out) return cli_usage_error("convert", "no output file (-o OUT)");
  if (argc - optind != 1)
    return cli_usage_error("convert", argc == optind ? "no input given" : "one input at a time");
  if (w->all && w->want >= 0)
    return cli_usage_error("convert", "--index and --all exclude each other");
  if (w->all && !strstr(w->out, "%n"))
    return cli_usage_error("convert",
                           "with --all the output name needs %%n for the snapshot index");
  w->in = argv[optind];
  if (!w->all && cli_check_output(w->out) != 0) return CLI_EXIT_USAGE;
  return -1;
}

/* One profile (buf: not a stream): a stream of one snapshot for --index 0
 * and --all. Returns the exit status. */
static int convert_one(walk *w, const uint8_t *buf, size_t len) {
  char err[CLI_ERRLEN];
  profile_pb *p = NULL;
  int rc = CLI_EXIT_USAGE;
  if (profile_read_buffer(buf, len, w->in, &p, err, sizeof err) != 0) {
    cli_error("%s", err);
    return rc;
  }
  char *path = NULL;
  if (w->want > 0)
    cli_error("%s: not a snapshot stream: there is no snapshot %ld", w->in, w->want);
  else if (w->all && !(path = expand_index(w->out, 0)))
    cli_error("out of memory");
  else if (write_profile(path ? path : w->out, p, w->index_name, w->in) == 0)
    rc = CLI_EXIT_OK;
  free(path);
  profile_free(p);
  return rc;
}

/* The snapshot w kept (the last, or --index's) written to w->out. Returns
 * the exit status. */
static int write_kept(walk *w, size_t frames) {
  char err[CLI_ERRLEN], name[CLI_ERRLEN];
  if (!w->have) {
    cli_error("%s: no snapshot %ld (the stream has %zu, from 0)", w->in, w->want, frames);
    return CLI_EXIT_USAGE;
  }
  snprintf(name, sizeof name, "%s[%zu]", w->in, w->kept_index);
  profile_pb *p = NULL;
  if (profile_decode(w->kept, w->kept_len, name, &p, err, sizeof err) != 0) {
    cli_error("%s", err);
    return CLI_EXIT_USAGE;
  }
  int rc = write_profile(w->out, p, w->index_name, name) == 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
  profile_free(p);
  return rc;
}

/* A snapshot stream: one snapshot, or --all of them. Returns the exit
 * status. */
static int convert_stream(walk *w, const uint8_t *buf, size_t len) {
  char err[CLI_ERRLEN];
  stream_report rep;
  int src = stream_read_buffer(buf, len, w->in, on_frame, w, &rep, err, sizeof err);
  if (w->failed) return CLI_EXIT_USAGE;
  if (src < 0) {
    cli_error("%s", err);
    return CLI_EXIT_USAGE;
  }
  if (rep.frames == 0) {
    /* Nothing usable: the single-profile reader says best what is wrong. */
    profile_pb *p = NULL;
    if (profile_read_buffer(buf, len, w->in, &p, err, sizeof err) != 0)
      cli_error("%s", err);
    else
      cli_error("%s: no complete snapshot in the stream", w->in);
    profile_free(p);
    return CLI_EXIT_USAGE;
  }
  if (rep.message[0]) cli_error("%s: warning: %s", w->in, rep.message);
  if (!w->all) return write_kept(w, rep.frames);
  if (fileio_batch_commit(&w->batch, err, sizeof err) != 0) {
    cli_error("%s", err);
    return CLI_EXIT_USAGE;
  }
  fprintf(stderr, "allocprof: %s: wrote %zu snapshots\n", w->in, w->written);
  return CLI_EXIT_OK;
}

static int run_convert(int argc, char **argv) {
  walk w = {.want = -1};
  int rc = parse_convert(&w, argc, argv);
  if (rc >= 0) return rc;
  char err[CLI_ERRLEN];
  uint8_t *buf = NULL;
  size_t len = 0;
  if (fileio_read_all_checked(w.in, 4 * CONTAINER_MAX_DECOMPRESSED, profile_input_check, NULL, &buf,
                              &len, err, sizeof err) != 0) {
    cli_error("%s", err);
    return CLI_EXIT_USAGE;
  }
  if (container_detect(buf, len) == CONTAINER_ZSTD && container_zstd_frames(buf, len) != 1)
    rc = convert_stream(&w, buf, len);
  else
    rc = convert_one(&w, buf, len);
  fileio_batch_abort(&w.batch); /* nothing after a commit */
  free(w.kept);
  free(buf);
  return rc;
}
