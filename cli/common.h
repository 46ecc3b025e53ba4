/* common.h: what the allocprof subcommands share: exit codes, one-line error
 * reporting, option parsing, loading profiles, choosing a sample type,
 * aggregating by function, the sampling-error model, human units, JSON and
 * XML escaping. The command itself is described in cli/README.md; each
 * subcommand lives in its own cmd_*.c behind the table in main.c.
 *
 * One header, one file per concern behind it: options.c (options), load.c
 * (loading), model.c (the sampling-error model), funcs.c (hashing
 * names, aggregation by function), filter.c (frame filters), output.c
 * (messages, units, escaping, output files).
 *
 * Conventions: functions that can fail print their one line themselves
 * ("allocprof: FILE: what is wrong") and return -1 (or NULL); callers then
 * clean up and return CLI_EXIT_USAGE. Nothing here calls exit().
 */
#ifndef CLI_COMMON_H
#define CLI_COMMON_H

#include <getopt.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#include "profile_io.h"

/* ---- exit codes: the same for every subcommand except run, which exits
 * with its program's status ---- */
enum {
  CLI_EXIT_OK = 0,
  CLI_EXIT_REGRESSION = 1, /* gate: the new profile grew past the limits */
  CLI_EXIT_USAGE = 2,      /* bad arguments, unreadable input, unwritable output */
  CLI_EXIT_UNDECIDED = 3,  /* gate: the sampling error is too large to decide a limit */
};

#define CLI_ERRLEN 512

/* ---- messages ---- */

/* "allocprof: <message>\n" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "allocprof CMD: <message> (see allocprof CMD --help)\n" on stderr;
 * returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints the help of the command called cmd (NULL or unknown: the
 * overview) to f. Defined in main.c, which holds the command table. */
void cli_help(const char *cmd, FILE *f);

/* Flushes stdout and reports a write error on it (e.g. a full disk) as
 * "allocprof: stdout: ..."; returns rc, or CLI_EXIT_USAGE on such an error. */
int cli_finish_stdout(int rc);

/* ---- commands and their options ----
 *
 * Each subcommand is one cli_command (cmd_<name>.c), listed in main.c's
 * table: its name, its line in the overview, its function, and its options
 * in one table, from which both the parser and --help are made: a new
 * option is one entry, and --help cannot forget it. */

/* One option. key is what cli_option_next returns for it: the letter for
 * an option with a short form, any other distinct value for a long-only
 * one (the CLI_OPT_* codes below, or a letter not in the short options). */
typedef struct cli_option {
  const char *name; /* the long name, without "--"; NULL ends a table */
  char letter;      /* the short form ("-n"), or 0 */
  const char *arg;  /* the argument's name in --help ("N"); NULL: a flag */
  int key;
  const char *help; /* --help's text: lines (at most 54 columns) split by '\n' */
} cli_option;

typedef struct cli_command {
  const char *name;
  const char *summary; /* its line in `allocprof --help` */
  int (*run)(int argc, char **argv);
  const char *intro;         /* --help before "options:": usage and description */
  const cli_option *options; /* ends with {NULL}; -h, --help comes last by itself */
  const char *outro;         /* --help after the options, or NULL */
  bool stop_at_operand;      /* options end at the first operand (run: PROG's follow) */
} cli_command;

/* Keys of long-only options. CLI_OPT_HELP comes back for -h and --help. */
enum {
  CLI_OPT_HELP = 0x1000,
  CLI_OPT_HIDE = 0x1001,
  CLI_OPT_FOCUS = 0x1002,
  CLI_OPT_JSON = 0x1003,
  CLI_OPT_NO_CHILDREN = 0x1004,
  CLI_OPT_NO_ERROR = 0x1005,
  CLI_OPT_ALL = 0x1006,
};

/* Call before parsing a command's arguments (getopt's state is global). */
void cli_option_reset(void);

/* getopt_long over cmd's table (permuting: options may follow operands,
 * unless cmd->stop_at_operand). Returns the next option's key (its
 * argument in optarg), CLI_OPT_HELP for -h/--help, -1 after the last
 * option (optind indexes the operands), or '?' after printing one usage
 * line for an unknown option or a missing argument. A command ends on
 * anything but its own keys with return cli_option_end(cmd, key). */
int cli_option_next(const cli_command *cmd, int argc, char **argv);

/* For CLI_OPT_HELP: prints cmd's --help on stdout and returns its exit
 * status (0, or 2 when stdout fails); for anything else CLI_EXIT_USAGE. */
int cli_option_end(const cli_command *cmd, int key);

/* cmd's --help, made from its intro, option table and outro. */
void cli_command_help(const cli_command *cmd, FILE *f);

/* "1048576", "512k", "1.5MiB", "2G", "64 KiB": k/K/KB/KiB = 1024 and so on.
 * Returns 0, or -1 when s is not a non-negative size. */
int cli_parse_size(const char *s, int64_t *out);

/* "5%", "5", "2.5%": a non-negative percentage. Returns 0 or -1. */
int cli_parse_percent(const char *s, double *out);

/* A non-negative decimal integer that fits in a long. Returns 0 or -1. */
int cli_parse_count(const char *s, long *out);

/* ---- loading ---- */

/* Reads a profile from path in any container (found by content). A zstd
 * snapshot stream (ALLOCPROF_STREAM) of two or more snapshots gives its last
 * one, with a note on stderr. On failure prints the reader's one line and
 * returns -1. */
int cli_load(const char *path, profile_pb **out);

/* Loads BASE and NEW for a comparison (diff, gate), their frames without a
 * symbol named by object and offset (frames.h): *ni is NEW's sample
 * type named index_name (default: NEW's default), *bi the type of the same
 * name in BASE, which must have the same unit. On failure prints one line
 * and returns -1; the profiles loaded so far are left in *base / *new for
 * the caller to free. */
int cli_load_pair(const char *base_file, const char *new_file, const char *index_name,
                  profile_pb **base, profile_pb **new, size_t *bi, size_t *ni);

/* Whether p has sample types: a profile without any holds no values (every
 * command refuses it). Otherwise prints "allocprof: FILE: the profile has
 * no sample types" and returns -1. */
int cli_check_types(const profile_pb *p, const char *file);

/* Index of the sample type called name (a type such as "inuse_space", or its
 * position as a number), or profile_default_value_index() when name is NULL.
 * On failure prints "allocprof: FILE: ..." listing the types and returns -1. */
ssize_t cli_sample_index(const profile_pb *p, const char *name, const char *file);

/* The type and unit strings of sample type i. */
const char *cli_type_name(const profile_pb *p, size_t i);
const char *cli_type_unit(const profile_pb *p, size_t i);

/* String i of p's table ("" when out of range). */
const char *cli_str(const profile_pb *p, int64_t i);

/* ---- ids ----
 *
 * Samples refer to locations, locations to functions and mappings, by id.
 * Every profile loaded here carries the index the validator built
 * (profile_index.h: profile_index_of, profile_index_use); the rule for code
 * that changes a profile's tables is there. */

/* ---- frame filters (--hide, --focus) ----
 *
 * pprof's meanings, on frames named as below (aggregation by function):
 * --focus RE keeps only the samples with at least one frame whose name
 * matches RE (matched before anything is hidden); --hide RE removes the
 * frames whose name matches from every stack, and the sample keeps its
 * value, which goes to the next frame up (a sample whose frames are all
 * hidden keeps its value with an empty stack). RE is a POSIX extended
 * regular expression, unanchored (anchor it with ^ and $). */
typedef struct cli_filter {
  bool has_hide, has_focus;
  regex_t hide, focus;
  const char *hide_src, *focus_src;
} cli_filter;

/* The filters' entries of a command's option table: they come back from
 * cli_option_next as CLI_OPT_FOCUS and CLI_OPT_HIDE. */
#define CLI_FILTER_OPTIONS                                                             \
  {"focus", 0, "REGEX", CLI_OPT_FOCUS,                                                 \
   "only the stacks through a function matching REGEX\n(POSIX extended, unanchored)"}, \
  {                                                                                    \
    "hide", 0, "REGEX", CLI_OPT_HIDE,                                                  \
        "leave out the frames of functions matching REGEX\n(wrappers such as "         \
        "'xmalloc|g_malloc'); "                                                        \
        "their values go\nto their callers"                                            \
  }

/* Compiles re for option opt (CLI_OPT_HIDE or CLI_OPT_FOCUS); a second one
 * of the same option replaces the first. An invalid expression prints one
 * usage line and returns -1. */
int cli_filter_set(cli_filter *f, const char *cmd, int opt, const char *re);

/* Whether any filter is set. */
bool cli_filter_active(const cli_filter *f);

/* Applies f to p in place: drops the samples --focus leaves out and the
 * frames --hide removes. Returns 0, or -1 after printing (out of memory). */
int cli_filter_apply(const cli_filter *f, profile_pb *p);

/* "--focus RE --hide RE" as given, for reports ("" when none). Returns buf. */
char *cli_filter_text(const cli_filter *f, char *buf, size_t len);

void cli_filter_free(cli_filter *f);

/* ---- the sampling-error model ----
 *
 * A heap profile sampled with period P (mean bytes between samples) records
 * each allocation of s bytes with probability q = 1 - exp(-s/P) and scales
 * what it records by 1/q. For N allocations of size s the estimated bytes
 * B = N*s have variance N*q*(1-q) * (s/q)^2 = C*s^2*(1-q)/q, with C the
 * estimated count; for s << P that is about B*P (one sample stands for about
 * P bytes, Poisson count). The estimated count has variance C*(1-q)/q. The
 * object size s comes from the sample's paired value (inuse_space with
 * inuse_objects, alloc_space with alloc_objects); without a pair, bytes get
 * B*P and counts no error estimate at all. A period of 0 or 1 (every
 * allocation recorded) or a profile that is not a space-sampled heap profile
 * has no sampling error.
 *
 * A sample with a numeric label CLI_PERIOD_LABEL was sampled at that period
 * instead of the profile's: merge writes it on every sample when its inputs
 * were taken at different rates, so that the error of a merged profile is
 * each part's own (a rate-1 part exact, a 512 KiB part noisy). */
#define CLI_PERIOD_LABEL "sampling_period"

/* The numeric label that gives a sample's object size (liballoc writes it
 * on every sample, as Go does); without it the size is the sample's bytes
 * over its count. */
#define CLI_SIZE_LABEL "bytes"

typedef struct cli_model {
  double period;     /* P; 0 = exact values */
  int64_t label_key; /* string index of CLI_PERIOD_LABEL in the profile, or 0 */
  int64_t size_key;  /* string index of CLI_SIZE_LABEL, or 0 */
  double pmin, pmax; /* the smallest and largest P of any sample (0 = exact) */
  size_t vi;         /* the value modelled */
  ssize_t pair;      /* its paired value (bytes <-> count), or -1 */
  bool bytes;        /* vi is in bytes (else a count) */
  bool known;        /* the model gives an error estimate for vi */
} cli_model;

void cli_model_init(cli_model *m, const profile_pb *p, size_t vi);

/* The largest period the model believes: 1 GiB between samples. A larger
 * one (say near INT64_MAX) would give every growth a noise allowance that
 * hides it. The profiler's rate is far below (default 512 KiB). */
#define CLI_MAX_PERIOD ((int64_t)1 << 30)

/* For a heap profile (period type space/bytes), checks that its period and
 * its samples' CLI_PERIOD_LABEL labels are sampling rates the model can use:
 * from 1 (every allocation recorded) to CLI_MAX_PERIOD. Other profiles pass. On failure prints one line
 * ("allocprof: FILE: implausible sampling period ...") and returns -1. */
int cli_check_period(const profile_pb *p, const char *file);

/* Variance of sample s's estimate of value m->vi (derived in model.c). */
double cli_model_variance(const cli_model *m, const Perftools__Profiles__Sample *s);

/* Whether m's values are sampled estimates with a known error: false at
 * rate 1 (exact) and for values the model does not cover. */
bool cli_model_sampled(const cli_model *m);

/* The variance of the total of value vi over all of p's samples. */
double cli_model_total_variance(const profile_pb *p, size_t vi);

/* Whether a change delta with variance var lies beyond k standard errors
 * (any change but 0 when var is 0: exact values). */
bool cli_beyond_noise(double delta, double var, double k);

/* The largest power-of-two rate that brings the standard error of an
 * estimate, which has variance var at period, down to sigma (1 when only
 * recording every allocation would), or 0 when var or period says nothing. */
int64_t cli_rate_for_error(double var, double period, double sigma);

/* "16k", "2m", "512": a rate as ALLOCPROF_RATE takes it. buf: 32 bytes. */
char *cli_rate_text(char *buf, int64_t rate);

/* "estimates from samples every 512 KiB allocated on average; ± is one
 * standard error", or "" when m's values are exact. Returns buf. */
char *cli_model_note(char *buf, size_t len, const cli_model *m);

/* ---- hashing names ----
 *
 * Names come from the input, which can choose them to collide in an
 * unseeded hash table and make every lookup walk one long chain. The
 * command's tables start their hashes from a random per-process seed and
 * finish them with a full mix. */
uint64_t cli_hash_seed(void);
uint64_t cli_hash_finish(uint64_t h);

/* ---- aggregation by function ----
 *
 * Frames are named as folded stacks name them (folded.h): Function.name, else
 * system_name, else the location's address in hex; inlined frames count as
 * frames. flat = samples whose leaf frame is the function; cum = samples
 * with the function anywhere on the stack, counted once per sample. Two
 * slots hold two profiles side by side (diff, gate: 0 = base, 1 = new). */
typedef struct cli_func {
  char *name;
  int64_t flat[2], cum[2];
  double var_flat[2], var_cum[2]; /* sampling variance (cli_model) */
  size_t stacks[2];               /* samples with a value whose stack holds it */
  size_t stamp;                   /* internal: last sample counted in cum */
} cli_func;

typedef struct cli_funcs {
  cli_func *v;
  size_t n, cap;
  uint32_t *slots; /* open addressing over v, by name */
  size_t nslots;
  size_t stamp;
  int64_t total[2];     /* sum of the value over all samples */
  int64_t abs_total[2]; /* sum of its absolute values (percentages) */
  double var_total[2];
  size_t samples[2];
  size_t valued[2]; /* samples whose value is not 0 */
} cli_funcs;

/* Adds value vi of every sample of p into slot (0 or 1). Returns 0, or -1
 * after printing an out-of-memory message. */
int cli_funcs_add(cli_funcs *t, const profile_pb *p, size_t vi, int slot);

/* The name of frame j of location l, as above: the function's name, else
 * its system name, else the location's address written into addr. ix is
 * p's index (profile_index.h). */
const char *cli_frame_name(const profile_pb *p, const profile_index *ix,
                           const Perftools__Profiles__Location *l, size_t j, char addr[24]);
void cli_funcs_free(cli_funcs *t);

/* Sorts t->v in place: by flat of slot (descending), by cum, or by the
 * absolute change of flat from slot 0 to slot 1; ties by name. Functions
 * whose values are all zero are dropped, and so is the hash index (no more
 * cli_funcs_add afterwards; sorting again is fine). */
enum cli_sort { CLI_SORT_FLAT, CLI_SORT_CUM, CLI_SORT_FLAT_DELTA };
void cli_funcs_sort(cli_funcs *t, enum cli_sort how, int slot);

/* ---- units ---- */

/* v in human units for a value of unit: bytes as B/KiB/MiB/GiB/TiB, counts
 * as k/M/G, three significant digits; a sign when plus is set or v < 0.
 * Returns buf (at least 32 bytes). */
char *cli_human(char *buf, double v, const char *unit, bool plus);

/* 100*part/whole as "12.34%" (or "-" when whole is 0). Returns buf. */
char *cli_percent(char *buf, double part, double whole);

/* ---- escaping ---- */

/* s as a JSON string literal, quotes included, always valid UTF-8: control
 * characters escaped, each byte that is not part of a valid UTF-8 sequence
 * written as \ufffd (U+FFFD). */
void cli_json_string(FILE *f, const char *s);

/* s escaped for XML text and attributes; bytes that are not valid UTF-8,
 * control characters other than newline and tab, and U+FFFE/U+FFFF (not XML
 * characters) become '?'. */
void cli_xml_text(FILE *f, const char *s);

/* ---- output files ---- */

/* Whether path may be written: a regular file or nothing there. A symbolic
 * link, fifo, device (/dev/null), socket or directory is refused: prints
 * one line and returns -1 (the caller exits 2). Commands check their output
 * names before doing any work; the writers check again. */
int cli_check_output(const char *path);

/* The contents of a memory stream (open_memstream) written to path all or
 * nothing (fileio_write_atomic) if cli_check_output allows. Frees buf.
 * Returns 0 or -1 after printing. */
int cli_write_text(const char *path, char *buf, size_t len);

/* Grows *v (an array of elements of `size` bytes, *cap of them) to hold at
 * least n, doubling; 0, or -1 when out of memory (then *v is unchanged). */
static inline int cli_grow(void *v, size_t *cap, size_t n, size_t size) {
  if (n <= *cap) return 0;
  size_t ncap = *cap ? *cap : 16;
  while (ncap < n) ncap *= 2;
  if (ncap > SIZE_MAX / size) return -1;
  void *nv = realloc(*(void **)v, ncap * size);
  if (!nv) return -1;
  *(void **)v = nv;
  *cap = ncap;
  return 0;
}

#endif
