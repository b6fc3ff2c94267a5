/* tmpl_batch — renders many (template, context) pairs in one process for
 * the oracle comparison. Each line of MANIFEST is
 *   TEMPLATE_PATH \t CONTEXT_PATH \t OUTPUT_PATH
 * and the rendered text goes to OUTPUT_PATH, or the error message to
 * OUTPUT_PATH.err. With two arguments (TEMPLATE CONTEXT) it renders one
 * pair to stdout, like `vireo template render`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "chat_templates/template.h"

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) { free(b); b = NULL; }
    fclose(f);
    if (b) { b[n] = 0; *len = (size_t)n; }
    return b;
}

static int render_pair(const char *tp, const char *cp, char **out, size_t *out_len, char *err, size_t errlen) {
    size_t tl, cl;
    char *src = slurp(tp, &tl), *ctx = slurp(cp, &cl);
    int rc = -1;
    if (!src || !ctx) {
        snprintf(err, errlen, "cannot read %s or %s", tp, cp);
    } else {
        vr_template *t;
        if (vr_template_compile(src, tl, &t, err, errlen) == 0) {
            rc = vr_template_render(t, ctx, cl, NULL, out, out_len, err, errlen);
            vr_template_free(t);
        }
    }
    free(src);
    free(ctx);
    return rc;
}

int main(int argc, char **argv) {
    char err[2048];
    if (argc == 3) {
        char *out;
        size_t n;
        if (render_pair(argv[1], argv[2], &out, &n, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
        fwrite(out, 1, n, stdout);
        free(out);
        return 0;
    }
    if (argc != 2) { fprintf(stderr, "usage: tmpl_batch MANIFEST | tmpl_batch TEMPLATE CONTEXT\n"); return 2; }
    FILE *m = fopen(argv[1], "r");
    if (!m) { perror(argv[1]); return 2; }
    char line[8192];
    while (fgets(line, sizeof line, m)) {
        line[strcspn(line, "\n")] = 0;
        char *tp = strtok(line, "\t"), *cp = strtok(NULL, "\t"), *op = strtok(NULL, "\t");
        if (!tp || !cp || !op) continue;
        char *out = NULL;
        size_t n = 0;
        char path[8300];
        if (render_pair(tp, cp, &out, &n, err, sizeof err) == 0) {
            FILE *f = fopen(op, "wb");
            if (f) { fwrite(out, 1, n, f); fclose(f); }
            free(out);
        } else {
            snprintf(path, sizeof path, "%s.err", op);
            FILE *f = fopen(path, "wb");
            if (f) { fputs(err, f); fclose(f); }
        }
    }
    fclose(m);
    return 0;
}
