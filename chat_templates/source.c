/* source.c — where a model's chat template and special tokens come from
 * in tokenizer_config.json, chosen the way Hugging Face transformers does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "chat_templates/internal.h"

static int copy_out(const char *p, size_t n, char **out, size_t *out_len, char *err, size_t errlen) {
    char *s = malloc(n + 1);
    if (!s) { if (errlen) snprintf(err, errlen, "out of memory"); return -1; }
    memcpy(s, p, n);
    s[n] = 0;
    *out = s;
    if (out_len) *out_len = n;
    return 0;
}

/* Parse tokenizer_config.json into a and find its top-level member key
 * (*member NULL when absent or the document is not an object). */
static int config_member(arena *a, const char *json, size_t len, const char *key, val **member,
                         char *err, size_t errlen) {
    arena_init(a, 4 * len + ((size_t)16 << 20));
    val root;
    if (json_parse(a, json, len, &root, err, errlen)) return -1;
    *member = root.t == V_DICT ? dict_get_str(root.u.d, key, strlen(key)) : NULL;
    return 0;
}

int vr_template_source_from_tokenizer_config(const char *json, size_t len, const char *name, int with_tools,
                                             char **out, size_t *out_len, char *err, size_t errlen) {
    char dummy[1];
    if (!err || !errlen) { err = dummy; errlen = sizeof dummy; }
    *out = NULL;
    arena a;
    val *ct;
    int rc = -1;
    if (config_member(&a, json, len, "chat_template", &ct, err, errlen)) goto done;
    if (!ct || ct->t == V_NONE) {
        snprintf(err, errlen, "tokenizer_config.json has no chat_template");
        goto done;
    }
    if (ct->t == V_STR) {
        rc = copy_out(ct->u.s.p, ct->u.s.n, out, out_len, err, errlen);
        goto done;
    }
    if (ct->t != V_LIST) {
        snprintf(err, errlen, "chat_template in tokenizer_config.json is neither a string nor a list");
        goto done;
    }
    /* a list of {"name": ..., "template": ...} */
    const char *want[3] = {name, with_tools ? "tool_use" : NULL, "default"};
    for (int w = 0; w < 3; w++) {
        if (!want[w]) continue;
        for (size_t i = 0; i < ct->u.l->n; i++) {
            val e = ct->u.l->v[i];
            if (e.t != V_DICT) continue;
            val *nm = dict_get_str(e.u.d, "name", 4), *tp = dict_get_str(e.u.d, "template", 8);
            if (!nm || !tp || nm->t != V_STR || tp->t != V_STR) continue;
            if (nm->u.s.n == strlen(want[w]) && memcmp(nm->u.s.p, want[w], nm->u.s.n) == 0) {
                rc = copy_out(tp->u.s.p, tp->u.s.n, out, out_len, err, errlen);
                goto done;
            }
        }
        if (w == 0) {
            snprintf(err, errlen, "tokenizer_config.json has no chat template named '%s'", name);
            goto done;
        }
    }
    snprintf(err, errlen, "tokenizer_config.json has several chat templates and none is named 'default'");
done:
    arena_free(&a);
    return rc;
}

int vr_template_special_token(const char *json, size_t len, const char *key, char **out, char *err, size_t errlen) {
    char dummy[1];
    if (!err || !errlen) { err = dummy; errlen = sizeof dummy; }
    *out = NULL;
    arena a;
    val *t;
    int rc = -1;
    if (config_member(&a, json, len, key, &t, err, errlen)) goto done;
    /* a plain string, or an AddedToken object {"content": ...} */
    if (t && t->t == V_DICT) t = dict_get_str(t->u.d, "content", 7);
    if (!t || t->t != V_STR) {
        snprintf(err, errlen, "tokenizer_config.json has no %s", key);
        rc = 1;
        goto done;
    }
    rc = copy_out(t->u.s.p, t->u.s.n, out, NULL, err, errlen);
done:
    arena_free(&a);
    return rc;
}
