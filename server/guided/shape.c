/* server/guided/shape.c — vr_jshape: what the output must look like. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/guided/guided.h"

char *vr_jshape_escape(const char *s, size_t n, int quoted, size_t *out_len) {
    char *o = malloc(n * 6 + 3);
    if (!o) return NULL;
    size_t k = 0;
    if (quoted) o[k++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *sh = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r"
                       : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
        if (c == '"' || c == '\\') { o[k++] = '\\'; o[k++] = (char)c; }
        else if (sh) { o[k++] = sh[0]; o[k++] = sh[1]; }
        else if (c < 0x20) k += (size_t)snprintf(o + k, 7, "\\u%04x", c);
        else o[k++] = (char)c;
    }
    if (quoted) o[k++] = '"';
    o[k] = 0;
    *out_len = k;
    return o;
}

static int cmp_names(const void *x, const void *y) {
    const char *a = *(const char *const *)x, *b = *(const char *const *)y;
    return strcmp(a, b); /* bytewise: a prefix sorts before its extensions */
}

vr_jshape *vr_jshape_new(vr_jshape_kind kind, const char *const *names, int n_names, int max_calls,
                         char *err, size_t errlen) {
    if (kind == VR_JSHAPE_TOOL_CALLS && (n_names <= 0 || n_names > 65535)) {
        snprintf(err, errlen, "tool calls need between 1 and 65535 function names");
        return NULL;
    }
    vr_jshape *s = calloc(1, sizeof *s);
    if (!s) goto oom;
    s->kind = kind;
    s->max_calls = max_calls > 0 ? max_calls : 0;
    if (kind != VR_JSHAPE_TOOL_CALLS) return s;
    s->names = calloc((size_t)n_names, sizeof *s->names);
    s->name_lens = calloc((size_t)n_names, sizeof *s->name_lens);
    if (!s->names || !s->name_lens) goto oom;
    for (int i = 0; i < n_names; i++) {
        if (!names[i] || !*names[i]) {
            snprintf(err, errlen, "function name %d is empty", i);
            vr_jshape_free(s);
            return NULL;
        }
        size_t len;
        char *e = vr_jshape_escape(names[i], strlen(names[i]), 0, &len);
        if (!e) goto oom;
        if (len > 65535) {
            free(e);
            snprintf(err, errlen, "function name %d is too long", i);
            vr_jshape_free(s);
            return NULL;
        }
        s->names[s->n_names++] = e;
    }
    qsort(s->names, (size_t)s->n_names, sizeof *s->names, cmp_names);
    int k = 0; /* drop duplicates: the automaton wants distinct names */
    for (int i = 0; i < s->n_names; i++) {
        if (k && !strcmp(s->names[k - 1], s->names[i])) { free(s->names[i]); continue; }
        s->names[k++] = s->names[i];
    }
    s->n_names = k;
    for (int i = 0; i < k; i++) s->name_lens[i] = strlen(s->names[i]);
    return s;
oom:
    snprintf(err, errlen, "out of memory");
    vr_jshape_free(s);
    return NULL;
}

vr_jshape *vr_jshape_new_schema(const struct vr_json *schema, const char *path, int root_object, char *err,
                                size_t errlen) {
    vr_jshape *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->kind = VR_JSHAPE_SCHEMA;
    if (vr_jschema_compile(s, schema, path, root_object, &s->root, err, errlen)) {
        vr_jshape_free(s);
        return NULL;
    }
    return s;
}

int vr_jshape_set_tool_schema(vr_jshape *s, const char *name, const struct vr_json *schema, const char *path,
                              char *err, size_t errlen) {
    size_t len;
    char *e = vr_jshape_escape(name, strlen(name), 0, &len);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int i = 0;
    while (i < s->n_names && strcmp(s->names[i], e)) i++;
    free(e);
    if (s->kind != VR_JSHAPE_TOOL_CALLS || i == s->n_names) {
        snprintf(err, errlen, "%s: no such function", path);
        return -1;
    }
    if (!s->name_roots) {
        s->name_roots = malloc((size_t)s->n_names * sizeof *s->name_roots);
        if (!s->name_roots) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        for (int k = 0; k < s->n_names; k++) s->name_roots[k] = VR_JNODE_ANY;
    }
    uint16_t root;
    if (vr_jschema_compile(s, schema, path, 1, &root, err, errlen)) return -1;
    s->name_roots[i] = root;
    return 0;
}

void vr_jshape_free(vr_jshape *s) {
    if (!s) return;
    for (int i = 0; i < s->n_nodes; i++) {
        vr_jnode *n = &s->nodes[i];
        for (int k = 0; k < n->n_props; k++) free(n->props[k].key);
        free(n->props);
        for (int k = 0; k < n->n_lits; k++) free(n->lits[k]);
        free(n->lits);
        free(n->lit_lens);
        free(n->alts);
    }
    free(s->nodes);
    free(s->name_roots);
    for (int i = 0; i < s->n_names; i++) free(s->names[i]);
    free(s->names);
    free(s->name_lens);
    free(s);
}
