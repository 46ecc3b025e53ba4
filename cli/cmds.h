/* cmds.h: the subcommands of allocprof, one file each (cmd_<name>.c), and
 * their help texts. main.c dispatches through a table of these. */
#ifndef CLI_CMDS_H
#define CLI_CMDS_H

/* Each takes the arguments after the command name (argv[0] is the command
 * name) and returns the process exit status. */
int cmd_run(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_gate(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_flame(int argc, char **argv);

extern const char cmd_run_help[], cmd_top_help[], cmd_merge_help[], cmd_diff_help[],
    cmd_gate_help[], cmd_convert_help[], cmd_flame_help[];

#endif
