/* template.c — the public API: compile (lex + parse into an arena owned by
 * the template) and render (a fresh arena per call, so one compiled
 * template renders from many threads at once). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "chat_templates/internal.h"

#define DEFAULT_MAX_OUTPUT (16u << 20)
#define DEFAULT_MAX_LOOP 10000000L
#define DEFAULT_MAX_DEPTH 256
#define DEFAULT_MAX_TIME_MS 10000L
#define MAX_COMPILE_ARENA ((size_t)1 << 30)

static void set_err(char *err, size_t errlen, const char *msg) {
    if (err && errlen) snprintf(err, errlen, "%s", msg);
}

int vr_template_compile(const char *src, size_t len, vr_template **out, char *err, size_t errlen) {
    char dummy[1];
    if (!err || !errlen) { err = dummy; errlen = sizeof dummy; }
    *out = NULL;
    if (!src && len) { set_err(err, errlen, "no template source"); return -1; }
    vr_template *t = calloc(1, sizeof *t);
    if (!t) { set_err(err, errlen, "out of memory"); return -1; }
    arena_init(&t->a, MAX_COMPILE_ARENA);
    token_list toks;
    /* tokens and the normalised source live in the template's arena: AST
     * strings point into them */
    if (lex(&t->a, src ? src : "", len, &toks, err, errlen) || parse_template(t, &toks, err, errlen)) {
        vr_template_free(t);
        return -1;
    }
    *out = t;
    return 0;
}

void vr_template_free(vr_template *t) {
    if (!t) return;
    arena_free(&t->a);
    free(t);
}

int vr_template_render(const vr_template *t, const char *context_json, size_t len,
                       const vr_template_limits *limits, char **out, size_t *out_len,
                       char *err, size_t errlen) {
    char dummy[1];
    if (!err || !errlen) { err = dummy; errlen = sizeof dummy; }
    err[0] = 0;
    *out = NULL;
    if (out_len) *out_len = 0;
    if (!t) { set_err(err, errlen, "no template"); return -1; }
    size_t max_out = limits && limits->max_output_bytes ? limits->max_output_bytes : DEFAULT_MAX_OUTPUT;
    long max_loop = limits && limits->max_loop_iterations > 0 ? limits->max_loop_iterations : DEFAULT_MAX_LOOP;
    int max_depth = limits && limits->max_recursion_depth > 0 ? limits->max_recursion_depth : DEFAULT_MAX_DEPTH;
    long max_ms = limits && limits->max_time_ms > 0 ? limits->max_time_ms : DEFAULT_MAX_TIME_MS;
    arena a;
    /* memory: the context, the output and the intermediate values; bounded
     * so string-building loops fail instead of exhausting the machine */
    size_t cap = 16 * (size_t)max_out + 4 * len + ((size_t)64 << 20);
    arena_init(&a, cap);
    val ctx;
    if (context_json && len) {
        if (json_parse(&a, context_json, len, &ctx, err, errlen)) { arena_free(&a); return -1; }
        if (ctx.t != V_DICT) { set_err(err, errlen, "context JSON must be an object"); arena_free(&a); return -1; }
    } else {
        ctx = v_dict(dict_new(&a, 0));
        if (!ctx.u.d) { set_err(err, errlen, "out of memory"); arena_free(&a); return -1; }
    }
    int nsym = t->syms.n;
    val *dense = arena_alloc(&a, (size_t)(nsym + 1) * sizeof(val));
    scope *root = arena_alloc(&a, sizeof(scope));
    sbuf ob;
    sbuf_init(&ob, &a);
    ob.limit = max_out;
    if (!dense || !root || !sbuf_put(&ob, "", 0)) { set_err(err, errlen, "out of memory"); arena_free(&a); return -1; }
    memset(root, 0, sizeof *root);
    root->dense = dense;
    for (int i = 0; i < nsym; i++) {
        val *cv = dict_get_str(ctx.u.d, t->syms.names[i], t->syms.lens[i]);
        if (cv) { dense[i] = *cv; continue; }
        int g = global_lookup(t->syms.names[i], t->syms.lens[i]);
        if (g) { dense[i] = (val){0}; dense[i].t = V_FUNC; dense[i].u.fn = g; }
        else dense[i] = v_undef(NULL);
    }
    rstate st;
    memset(&st, 0, sizeof st);
    st.t = t;
    st.a = &a;
    st.out = &ob;
    st.loop_budget = max_loop;
    st.max_depth = max_depth;
    st.err = err;
    st.errlen = errlen;
    st.globals = dense;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    st.deadline = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9 + (double)max_ms / 1000.0;
    if (eval_template(&st, root) || st.failed) {
        if (!err[0]) set_err(err, errlen, "template render failed");
        arena_free(&a);
        return -1;
    }
    char *res = malloc(ob.n + 1);
    if (!res) { set_err(err, errlen, "out of memory"); arena_free(&a); return -1; }
    memcpy(res, ob.p, ob.n);
    res[ob.n] = 0;
    *out = res;
    if (out_len) *out_len = ob.n;
    arena_free(&a);
    return 0;
}
