/* vireo — entry point: dispatch to a subcommand (see commands.h). */
#include <stdio.h>
#include <string.h>

#include "server/cli/commands.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"serve", vr_cmd_serve, "serve MODEL [flags]        OpenAI-compatible HTTP server"},
    {"generate", vr_cmd_generate, "generate MODEL [flags]     offline generation"},
    {"tokenize", vr_cmd_tokenize, "tokenize PATH              JSON lines {\"text\"} -> {\"ids\"}"},
    {"detokenize", vr_cmd_detokenize, "detokenize PATH            JSON lines {\"ids\"} -> {\"text\"}"},
    {"template", vr_cmd_template, "template render T CTX      render a chat template"},
    {"bench", vr_cmd_bench, "bench serve|throughput     load generator / offline throughput"},
};

static void usage(FILE *f) {
    fprintf(f, "vireo %s — LLM inference engine\n\nusage: vireo COMMAND [args]\n\ncommands:\n",
            VIREO_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %s\n", commands[i].help);
    fprintf(f, "\n`vireo COMMAND --help` for a command's flags.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("vireo %s\n", VIREO_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(cmd, commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "vireo: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}
