/* Placeholder until the owning library lands; replaced, not extended. */
#include <stdio.h>
#include "server/cli/commands.h"
int vr_cmd_template(int argc, char **argv) {
    (void)argc; (void)argv;
    fprintf(stderr, "vireo template: not available in this build yet\n");
    return 2;
}
