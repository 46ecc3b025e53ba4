/* cmds.h: the subcommands of allocprof, one file each (cmd_<name>.c), each
 * a cli_command (common.h: its name, summary, function, option table and
 * help). main.c dispatches through a table of these. */
#ifndef CLI_CMDS_H
#define CLI_CMDS_H

#include "common.h"

/* Each one's run takes the arguments after the command name (argv[0] is
 * the command name) and returns the process exit status. */
extern const cli_command cmd_run, cmd_top, cmd_merge, cmd_diff, cmd_gate, cmd_convert, cmd_flame;
extern const cli_command cmd_timeline;
extern const cli_command cmd_leaks;
extern const cli_command cmd_symbolize;

#endif
