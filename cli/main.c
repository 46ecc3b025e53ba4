/* main.c: the allocprof command: a table of subcommands and the dispatch to
 * them. Each subcommand is one cmd_*.c file; what they share is in common.h.
 * Overview: cli/README.md. */
#include <stdio.h>
#include <string.h>

#include "build_id.h"
#include "cmds.h"
#include "common.h"
#include "fileio.h"

static const cli_command *const commands[] = {
    &cmd_run,     &cmd_top,   &cmd_merge,    &cmd_diff,  &cmd_gate,
    &cmd_convert, &cmd_flame, &cmd_timeline, &cmd_leaks, &cmd_symbolize,
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const cli_command *find_command(const char *name) {
  for (size_t i = 0; i < NCOMMANDS; i++)
    if (strcmp(commands[i]->name, name) == 0) return commands[i];
  return NULL;
}

static const char overview_head[] =
    "usage: allocprof COMMAND [OPTIONS] ARGS...\n"
    "\n"
    "allocprof runs programs under the allocprof heap profiler and reads the pprof\n"
    "profiles it writes (and those of Go programs and go tool pprof): raw .pb,\n"
    "gzip .pb.gz and zstd .pb.zst, recognised by content, not by name.\n"
    "\n"
    "commands:\n";

static const char overview_tail[] =
    "\n"
    "Run 'allocprof COMMAND --help' for the options of one command, 'allocprof\n"
    "--version' (-V) for the version and the git commit of this build.\n"
    "\n"
    "Output files are written whole or not at all (temporary file, then rename),\n"
    "with mode 0666 less the umask; their ending picks the container: .pb.gz gzip\n"
    "(what go tool pprof reads), .pb.zst zstd, .pb raw, .folded folded stacks.\n"
    "\n"
    "exit status: 0 success; 1 gate: a regression, leaks: a suspect over\n"
    "--fail-over; 2 bad arguments or an input or output file that cannot be used\n"
    "(one line on stderr names the file and the problem). run exits with its\n"
    "program's status instead (128+N when killed by signal N).\n";

void cli_help(const char *cmd, FILE *f) {
  const cli_command *c = cmd ? find_command(cmd) : NULL;
  if (c) {
    cli_command_help(c, f);
    return;
  }
  fputs(overview_head, f);
  for (size_t i = 0; i < NCOMMANDS; i++)
    fprintf(f, "  %-9s  %s\n", commands[i]->name, commands[i]->summary);
  fputs(overview_tail, f);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    cli_help(NULL, stderr);
    return CLI_EXIT_USAGE;
  }
  const char *name = argv[1];
  if (!strcmp(name, "--version") || !strcmp(name, "-V")) {
    printf("allocprof %s (git %s, %s build)\n", ALLOCPROF_VERSION, ALLOCPROF_GIT_ID,
           *ALLOCPROF_BUILD_TYPE ? ALLOCPROF_BUILD_TYPE : "default");
    return cli_finish_stdout(CLI_EXIT_OK);
  }
  if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
    if (argc > 2 && strcmp(name, "help") == 0 && !find_command(argv[2])) {
      cli_error("unknown command '%s' (see allocprof --help)", argv[2]);
      return CLI_EXIT_USAGE;
    }
    cli_help(argc > 2 && !strcmp(name, "help") ? argv[2] : NULL, stdout);
    return cli_finish_stdout(CLI_EXIT_OK);
  }
  const cli_command *c = find_command(name);
  if (!c) {
    cli_error("unknown command '%s' (see allocprof --help)", name);
    return CLI_EXIT_USAGE;
  }
  cli_option_reset();
  /* the command's outputs are the user's files: 0666 less the umask, as cp
   * and gzip make theirs (the library's profiles keep 0600) */
  fileio_set_create_mode(0666);
  return c->run(argc - 1, argv + 1);
}
