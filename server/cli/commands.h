/* server/cli/commands.h — the subcommands of the `vireo` binary.
 * Each lives in its own cmd_<name>.c; main.c only dispatches.
 * Every command returns its process exit status (0 ok, 1 failure, 2 usage). */
#ifndef VR_CLI_COMMANDS_H
#define VR_CLI_COMMANDS_H

int vr_cmd_serve(int argc, char **argv);      /* vireo serve MODEL [flags] */
int vr_cmd_generate(int argc, char **argv);   /* vireo generate MODEL --prompt ... */
int vr_cmd_tokenize(int argc, char **argv);   /* vireo tokenize PATH */
int vr_cmd_detokenize(int argc, char **argv); /* vireo detokenize PATH */
int vr_cmd_template(int argc, char **argv);   /* vireo template render TEMPLATE CONTEXT */
int vr_cmd_bench(int argc, char **argv);      /* vireo bench serve|throughput ... */

#endif
