/* bench_templates — chat template compile and render speed, beside Python
 * jinja2 (Hugging Face's environment, from the shared oracle) measured in
 * the same run with timeit.
 *
 * usage: bench_templates TEMPLATE.jinja ORACLE.py [PYTHON]
 * Prints the figures and the ratios (jinja2 time / vireo time). Times are
 * process CPU time, best of several batches, on both sides. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "chat_templates/template.h"

/* CPU time of this process: on a shared machine wall-clock time mostly
 * measures the neighbours; jinja2 is timed the same way (time.process_time) */
static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

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

/* a 20-message conversation: system, 9 user/assistant pairs, a final user turn */
static char *conversation(void) {
    size_t cap = 1 << 16, n = 0;
    char *s = malloc(cap);
    n += (size_t)snprintf(s + n, cap - n, "{\"messages\":[{\"role\":\"system\",\"content\":\"You are a helpful assistant. Answer concisely and cite sources when you can.\"}");
    for (int i = 0; i < 9; i++) {
        n += (size_t)snprintf(s + n, cap - n,
                              ",{\"role\":\"user\",\"content\":\"Question %d: could you explain how item %d of the list relates to the previous one, with an example?\"}"
                              ",{\"role\":\"assistant\",\"content\":\"Sure. Item %d builds on item %d: the first sets up the state, the second uses it. For example, step %d reads what step %d wrote.\"}",
                              i, i, i, i > 0 ? i - 1 : 0, i, i > 0 ? i - 1 : 0);
    }
    n += (size_t)snprintf(s + n, cap - n, ",{\"role\":\"user\",\"content\":\"Thanks! Now summarise everything in one paragraph.\"}],"
                                          "\"tools\":null,\"documents\":null,\"add_generation_prompt\":true,\"eos_token\":\"<|im_end|>\"}");
    return s;
}

static const char *PY =
    "import importlib.util, json, sys, time, timeit\n"
    "spec = importlib.util.spec_from_file_location('o', sys.argv[1]); o = importlib.util.module_from_spec(spec); spec.loader.exec_module(o)\n"
    "src = open(sys.argv[2], encoding='utf-8', newline='').read(); ctx = json.load(open(sys.argv[3], encoding='utf-8'))\n"
    "n = 30; c = min(timeit.repeat(lambda: o.ENV.from_string(src), timer=time.process_time, number=n, repeat=3)) / n\n"
    "t = o.ENV.from_string(src); out = t.render(**ctx)\n"
    "n = 2000; r = min(timeit.repeat(lambda: t.render(**ctx), timer=time.process_time, number=n, repeat=3)) / n\n"
    "print(c, r, len(out))\n";

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: bench_templates TEMPLATE.jinja ORACLE.py [PYTHON]\n"); return 2; }
    const char *python = argc > 3 ? argv[3] : "/usr/bin/python3";
    size_t slen;
    char *src = slurp(argv[1], &slen);
    if (!src) { fprintf(stderr, "cannot read %s\n", argv[1]); return 1; }
    char *ctx = conversation();
    size_t clen = strlen(ctx);
    char err[512];

    /* compile: best of 5 batches */
    int ncomp = 200;
    double best_c = 1e9;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now_s();
        for (int i = 0; i < ncomp; i++) {
            vr_template *t;
            if (vr_template_compile(src, slen, &t, err, sizeof err)) { fprintf(stderr, "compile: %s\n", err); return 1; }
            vr_template_free(t);
        }
        double dt = (now_s() - t0) / ncomp;
        if (dt < best_c) best_c = dt;
    }
    vr_template *t;
    if (vr_template_compile(src, slen, &t, err, sizeof err)) { fprintf(stderr, "compile: %s\n", err); return 1; }
    /* render: best of 5 batches */
    int nrend = 5000;
    double best_r = 1e9;
    size_t out_len = 0;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now_s();
        for (int i = 0; i < nrend; i++) {
            char *out;
            if (vr_template_render(t, ctx, clen, NULL, &out, &out_len, err, sizeof err)) { fprintf(stderr, "render: %s\n", err); return 1; }
            free(out);
        }
        double dt = (now_s() - t0) / nrend;
        if (dt < best_r) best_r = dt;
    }
    vr_template_free(t);

    /* jinja2 in the same run */
    char ctxpath[] = "/tmp/bench_templates_ctx_XXXXXX";
    int fd = mkstemp(ctxpath);
    if (fd < 0) { perror("mkstemp"); return 1; }
    FILE *cf = fdopen(fd, "w");
    fwrite(ctx, 1, clen, cf);
    fclose(cf);
    char pyfile[] = "/tmp/bench_templates_py_XXXXXX";
    fd = mkstemp(pyfile);
    if (fd < 0) { perror("mkstemp"); return 1; }
    FILE *pf = fdopen(fd, "w");
    fputs(PY, pf);
    fclose(pf);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s %s %s %s", python, pyfile, argv[2], argv[1], ctxpath);
    FILE *p = popen(cmd, "r");
    double jc = 0, jr = 0;
    size_t jlen = 0;
    int got = p ? fscanf(p, "%lf %lf %zu", &jc, &jr, &jlen) : 0;
    if (p) pclose(p);
    unlink(ctxpath);
    unlink(pyfile);

    printf("template: %s (%zu bytes), context: 20 messages (%zu bytes JSON), output %zu bytes\n", argv[1], slen, clen, out_len);
    printf("vireo   compile %9.1f us   render %8.2f us\n", best_c * 1e6, best_r * 1e6);
    if (got == 3) {
        printf("jinja2  compile %9.1f us   render %8.2f us   (output %zu chars)\n", jc * 1e6, jr * 1e6, jlen);
        printf("speedup compile %8.1fx    render %7.1fx   (targets: compile <= 1000 us, render >= 10x)\n", jc / best_c, jr / best_r);
    } else {
        printf("jinja2  not measured (python or jinja2 unavailable)\n");
    }
    free(src);
    free(ctx);
    return 0;
}
