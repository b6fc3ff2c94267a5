/* json.c — JSON text to values (the render context, read by json/), and
 * values to JSON text the way Python's json.dumps writes it (what HF's
 * tojson filter is). Objects keep their key order; integers and floats stay
 * distinct. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "chat_templates/internal.h"
#include "json/json.h"

/* Deep enough for any real context; the renderer and tojson walk values
 * recursively, so the reader refuses anything deeper up front. */
#define JSON_MAX_DEPTH 512

/* The json/ tree copied into arena values: strings into the arena (the
 * document is freed before rendering), members in document order with
 * dict_set's duplicate rule (first position, last value: Python's dict). */
static bool from_json(arena *a, const vr_json *j, val *out) {
    switch (j->type) {
    case VR_JSON_NULL: *out = v_none(); return true;
    case VR_JSON_BOOL: *out = v_bool(j->u.b != 0); return true;
    case VR_JSON_INT: *out = v_int(j->u.i); return true;
    /* beyond int64 too: kept as a float (Python would keep the integer) */
    case VR_JSON_DOUBLE: *out = v_float(j->u.d); return true;
    case VR_JSON_STRING: {
        char *p = arena_strdup(a, j->u.str.s, j->u.str.len);
        *out = v_str(p, j->u.str.len);
        return p != NULL;
    }
    case VR_JSON_ARRAY: {
        vlist *l = list_new(a, j->u.arr.n);
        if (!l) return false;
        for (size_t i = 0; i < j->u.arr.n; i++) {
            val v;
            if (!from_json(a, &j->u.arr.items[i], &v) || !list_push(a, l, v)) return false;
        }
        *out = v_list(l, false);
        return true;
    }
    case VR_JSON_OBJECT: {
        vdict *d = dict_new(a, j->u.obj.n);
        if (!d) return false;
        for (size_t i = 0; i < j->u.obj.n; i++) {
            const vr_json_member *m = &j->u.obj.m[i];
            char *k = arena_strdup(a, m->key, m->key_len);
            val v;
            if (!k || !from_json(a, m->value, &v) || !dict_set(a, d, v_str(k, m->key_len), v)) return false;
        }
        *out = v_dict(d);
        return true;
    }
    }
    return false;
}

int json_parse(arena *a, const char *s, size_t n, val *out, char *err, size_t errlen) {
    char why[200];
    vr_jdoc *doc = vr_jdoc_parse_depth(s, n, JSON_MAX_DEPTH, why, sizeof why);
    if (!doc) {
        if (errlen) snprintf(err, errlen, "context JSON: %s", why);
        return -1;
    }
    bool ok = from_json(a, vr_jdoc_root(doc), out);
    vr_jdoc_free(doc);
    if (!ok) {
        if (errlen) snprintf(err, errlen, "context JSON: out of memory");
        return -1;
    }
    return 0;
}

/* ---- output */

static bool dump_str(sbuf *b, const char *s, size_t n, bool ascii) {
    sbuf_putc(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && (c < 0x80 || !ascii)) { i++; run++; continue; }
        sbuf_put(b, s + i - run, run);
        run = 0;
        switch (c) {
        case '"': sbuf_put(b, "\\\"", 2); i++; continue;
        case '\\': sbuf_put(b, "\\\\", 2); i++; continue;
        case '\n': sbuf_put(b, "\\n", 2); i++; continue;
        case '\r': sbuf_put(b, "\\r", 2); i++; continue;
        case '\t': sbuf_put(b, "\\t", 2); i++; continue;
        case '\b': sbuf_put(b, "\\b", 2); i++; continue;
        case '\f': sbuf_put(b, "\\f", 2); i++; continue;
        }
        if (c < 0x20) { sbuf_printf(b, "\\u%04x", c); i++; continue; }
        size_t adv;
        uint32_t cp = utf8_decode(s + i, n - i, &adv);
        if (cp >= 0x10000) {
            cp -= 0x10000;
            sbuf_printf(b, "\\u%04x\\u%04x", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
        } else {
            sbuf_printf(b, "\\u%04x", cp);
        }
        i += adv;
    }
    sbuf_put(b, s + n - run, run);
    return sbuf_putc(b, '"');
}

static bool dump_float(sbuf *b, double d) {
    if (isnan(d)) return sbuf_puts(b, "NaN");
    if (isinf(d)) return sbuf_puts(b, d < 0 ? "-Infinity" : "Infinity");
    return fmt_float(b, d);
}

static void newline_indent(sbuf *b, const json_opts *o, int level) {
    sbuf_putc(b, '\n');
    for (int i = 0; i < level; i++) sbuf_put(b, o->indent, o->indent_n);
}

/* a dict key as json.dumps converts it: str as is, numbers / bool / None to text */
static bool dump_key(sbuf *b, val k, const json_opts *o, const char **why) {
    switch (k.t) {
    case V_STR: return dump_str(b, k.u.s.p, k.u.s.n, o->ensure_ascii);
    case V_INT: return sbuf_printf(b, "\"%lld\"", (long long)k.u.i);
    case V_FLOAT: sbuf_putc(b, '"'); dump_float(b, k.u.f); return sbuf_putc(b, '"');
    case V_BOOL: return sbuf_puts(b, k.u.b ? "\"true\"" : "\"false\"");
    case V_NONE: return sbuf_puts(b, "\"null\"");
    default: *why = "keys must be str, int, float, bool or None"; return false;
    }
}

static int key_order(const void *x, const void *y) {
    const val *a = *(const val *const *)x, *b = *(const val *const *)y;
    int c = val_compare(*a, *b, false);
    return c == -2 ? 0 : c;
}

bool json_dump(sbuf *b, val v, const json_opts *o, int depth, const char **why) {
    if (depth > 500) { *why = "maximum recursion depth exceeded"; return false; }
    switch (v.t) {
    case V_NONE: return sbuf_put(b, "null", 4);
    case V_BOOL: return sbuf_puts(b, v.u.b ? "true" : "false");
    case V_INT: return sbuf_printf(b, "%lld", (long long)v.u.i);
    case V_FLOAT: return dump_float(b, v.u.f);
    case V_STR: return dump_str(b, v.u.s.p, v.u.s.n, o->ensure_ascii);
    case V_LIST: {
        vlist *l = v.u.l;
        if (v.flags & (VF_VIEW | VF_ITER)) { *why = val_type_name(v); return false; }
        if (l->n == 0) return sbuf_put(b, "[]", 2);
        sbuf_putc(b, '[');
        for (size_t i = 0; i < l->n; i++) {
            if (i) sbuf_put(b, o->item_sep, o->item_sep_n);
            if (o->has_indent) newline_indent(b, o, depth + 1);
            if (!json_dump(b, l->v[i], o, depth + 1, why)) return false;
        }
        if (o->has_indent) newline_indent(b, o, depth);
        return sbuf_putc(b, ']');
    }
    case V_DICT: {
        vdict *d = v.u.d;
        if (d->n == 0) return sbuf_put(b, "{}", 2);
        size_t *order = arena_alloc(b->a, d->n * sizeof(size_t));
        if (!order) { *why = "out of memory"; return false; }
        for (size_t i = 0; i < d->n; i++) order[i] = i;
        if (o->sort_keys) {
            const val **keys = arena_alloc(b->a, d->n * sizeof(val *));
            if (!keys) { *why = "out of memory"; return false; }
            for (size_t i = 0; i < d->n; i++) {
                if (i && val_compare(d->k[i], d->k[0], false) == -2) { *why = "'<' not supported between keys of different types"; return false; }
                keys[i] = &d->k[i];
            }
            qsort(keys, d->n, sizeof *keys, key_order);
            for (size_t i = 0; i < d->n; i++) order[i] = (size_t)(keys[i] - d->k);
        }
        sbuf_putc(b, '{');
        for (size_t j = 0; j < d->n; j++) {
            size_t i = order[j];
            if (j) sbuf_put(b, o->item_sep, o->item_sep_n);
            if (o->has_indent) newline_indent(b, o, depth + 1);
            if (!dump_key(b, d->k[i], o, why)) return false;
            sbuf_put(b, o->key_sep, o->key_sep_n);
            if (!json_dump(b, d->v[i], o, depth + 1, why)) return false;
        }
        if (o->has_indent) newline_indent(b, o, depth);
        return sbuf_putc(b, '}');
    }
    default:
        *why = val_type_name(v);
        return false;
    }
}
