/* vireo template render TEMPLATE_FILE CONTEXT_JSON_FILE
 * Renders a chat template with a JSON context and writes the text to
 * stdout with nothing added; a template error goes to stderr, exit 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "chat_templates/template.h"
#include "server/cli/commands.h"

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (n < cap) break;
        char *nb = realloc(buf, cap * 2);
        if (!nb) { free(buf); buf = NULL; break; }
        buf = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) { free(buf); return NULL; }
    *len = n;
    return buf;
}

int vr_cmd_template(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "render") != 0 || argc != 4) {
        fprintf(stderr, "usage: vireo template render TEMPLATE_FILE CONTEXT_JSON_FILE\n");
        return 2;
    }
    size_t tlen = 0, clen = 0;
    char *src = read_file(argv[2], &tlen);
    if (!src) { fprintf(stderr, "vireo template: cannot read %s\n", argv[2]); return 1; }
    char *ctx = read_file(argv[3], &clen);
    if (!ctx) { fprintf(stderr, "vireo template: cannot read %s\n", argv[3]); free(src); return 1; }
    char err[1024];
    vr_template *t = NULL;
    int rc = 1;
    if (vr_template_compile(src, tlen, &t, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", argv[2], err);
    } else {
        char *out = NULL;
        size_t out_len = 0;
        if (vr_template_render(t, ctx, clen, NULL, &out, &out_len, err, sizeof err) != 0) {
            fprintf(stderr, "%s\n", err);
        } else {
            rc = fwrite(out, 1, out_len, stdout) == out_len && fflush(stdout) == 0 ? 0 : 1;
            free(out);
        }
        vr_template_free(t);
    }
    free(src);
    free(ctx);
    return rc;
}
