/* json.c — JSON text to values (the render context), and values to JSON
 * text the way Python's json.dumps writes it (what HF's tojson filter is).
 * Objects keep their key order; integers and floats stay distinct. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "chat_templates/internal.h"

#define JSON_MAX_DEPTH 512

typedef struct jp {
    arena *a;
    const char *s;
    size_t n, i;
    char *err; size_t errlen;
} jp;

static int jfail(jp *p, const char *msg) {
    if (p->errlen) snprintf(p->err, p->errlen, "context JSON: %s at byte %zu", msg, p->i);
    return -1;
}

static void skip_ws(jp *p) {
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r')) p->i++;
}

static int hex4(jp *p, uint32_t *out) {
    if (p->i + 4 > p->n) return jfail(p, "truncated \\u escape");
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        char c = p->s[p->i++];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return jfail(p, "bad \\u escape");
    }
    *out = v;
    return 0;
}

static int parse_string(jp *p, val *out) {
    p->i++; /* opening quote */
    size_t start = p->i;
    /* fast path: no escapes; eight bytes at a time while none of them is
     * '"', '\\' or a control character */
    while (p->i + 8 <= p->n) {
        uint64_t w;
        memcpy(&w, p->s + p->i, 8);
        const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
        uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
        uint64_t hit = ((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w);
        if (hit & high) break;
        p->i += 8;
    }
    while (p->i < p->n && p->s[p->i] != '"' && p->s[p->i] != '\\') {
        if ((unsigned char)p->s[p->i] < 0x20) return jfail(p, "control character in string");
        p->i++;
    }
    if (p->i < p->n && p->s[p->i] == '"') {
        *out = v_str(p->s + start, p->i - start);
        p->i++;
        return 0;
    }
    sbuf b;
    sbuf_init(&b, p->a);
    sbuf_put(&b, p->s + start, p->i - start);
    while (p->i < p->n && p->s[p->i] != '"') {
        char c = p->s[p->i];
        if ((unsigned char)c < 0x20) return jfail(p, "control character in string");
        if (c != '\\') { sbuf_putc(&b, c); p->i++; continue; }
        if (++p->i >= p->n) break;
        char e = p->s[p->i++];
        switch (e) {
        case '"': sbuf_putc(&b, '"'); break;
        case '\\': sbuf_putc(&b, '\\'); break;
        case '/': sbuf_putc(&b, '/'); break;
        case 'b': sbuf_putc(&b, '\b'); break;
        case 'f': sbuf_putc(&b, '\f'); break;
        case 'n': sbuf_putc(&b, '\n'); break;
        case 'r': sbuf_putc(&b, '\r'); break;
        case 't': sbuf_putc(&b, '\t'); break;
        case 'u': {
            uint32_t cp;
            if (hex4(p, &cp)) return -1;
            if (cp >= 0xD800 && cp < 0xDC00 && p->i + 6 <= p->n && p->s[p->i] == '\\' && p->s[p->i + 1] == 'u') {
                size_t save = p->i;
                p->i += 2;
                uint32_t lo;
                if (hex4(p, &lo)) return -1;
                if (lo >= 0xDC00 && lo < 0xE000) cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                else p->i = save;
            }
            if (cp >= 0xD800 && cp <= 0xDFFF) return jfail(p, "lone surrogate in \\u escape (not encodable as UTF-8)");
            char tmp[4];
            sbuf_put(&b, tmp, utf8_encode(cp, tmp));
            break;
        }
        default: return jfail(p, "bad escape");
        }
    }
    if (p->i >= p->n) return jfail(p, "unterminated string");
    p->i++;
    if (b.oom) return jfail(p, "out of memory");
    *out = v_str(b.p ? b.p : "", b.n);
    return 0;
}

static int parse_number(jp *p, val *out) {
    size_t st = p->i;
    bool is_float = false;
    if (p->s[p->i] == '-') p->i++;
    if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9') return jfail(p, "bad number");
    while (p->i < p->n) {
        char c = p->s[p->i];
        if (c >= '0' && c <= '9') { p->i++; continue; }
        if (c == '.' || c == 'e' || c == 'E' || c == '+' || (c == '-' && is_float)) { is_float = true; p->i++; continue; }
        break;
    }
    char buf[64];
    size_t len = p->i - st;
    if (len >= sizeof buf) is_float = true;
    if (len >= sizeof buf) len = sizeof buf - 1;
    memcpy(buf, p->s + st, len);
    buf[len] = 0;
    char *end;
    if (!is_float) {
        errno = 0;
        long long v = strtoll(buf, &end, 10);
        if (errno == 0 && *end == 0) { *out = v_int(v); return 0; }
        /* beyond 64 bits: kept as a float (Python would keep the integer) */
    }
    double d = strtod(buf, &end);
    if (*end) return jfail(p, "bad number");
    *out = v_float(d);
    return 0;
}

static int parse_value(jp *p, val *out, int depth) {
    if (depth > JSON_MAX_DEPTH) return jfail(p, "nesting too deep");
    skip_ws(p);
    if (p->i >= p->n) return jfail(p, "unexpected end");
    char c = p->s[p->i];
    if (c == '"') return parse_string(p, out);
    if (c == '{') {
        p->i++;
        vdict *d = dict_new(p->a, 0);
        if (!d) return jfail(p, "out of memory");
        skip_ws(p);
        if (p->i < p->n && p->s[p->i] == '}') { p->i++; *out = v_dict(d); return 0; }
        for (;;) {
            skip_ws(p);
            if (p->i >= p->n || p->s[p->i] != '"') return jfail(p, "expected a key");
            val k, v;
            if (parse_string(p, &k)) return -1;
            skip_ws(p);
            if (p->i >= p->n || p->s[p->i] != ':') return jfail(p, "expected ':'");
            p->i++;
            if (parse_value(p, &v, depth + 1)) return -1;
            if (!dict_set(p->a, d, k, v)) return jfail(p, "out of memory");
            skip_ws(p);
            if (p->i < p->n && p->s[p->i] == ',') { p->i++; continue; }
            if (p->i < p->n && p->s[p->i] == '}') { p->i++; break; }
            return jfail(p, "expected ',' or '}'");
        }
        *out = v_dict(d);
        return 0;
    }
    if (c == '[') {
        p->i++;
        vlist *l = list_new(p->a, 0);
        if (!l) return jfail(p, "out of memory");
        skip_ws(p);
        if (p->i < p->n && p->s[p->i] == ']') { p->i++; *out = v_list(l, false); return 0; }
        for (;;) {
            val v;
            if (parse_value(p, &v, depth + 1)) return -1;
            if (!list_push(p->a, l, v)) return jfail(p, "out of memory");
            skip_ws(p);
            if (p->i < p->n && p->s[p->i] == ',') { p->i++; continue; }
            if (p->i < p->n && p->s[p->i] == ']') { p->i++; break; }
            return jfail(p, "expected ',' or ']'");
        }
        *out = v_list(l, false);
        return 0;
    }
    if (p->n - p->i >= 4 && memcmp(p->s + p->i, "true", 4) == 0) { p->i += 4; *out = v_bool(true); return 0; }
    if (p->n - p->i >= 5 && memcmp(p->s + p->i, "false", 5) == 0) { p->i += 5; *out = v_bool(false); return 0; }
    if (p->n - p->i >= 4 && memcmp(p->s + p->i, "null", 4) == 0) { p->i += 4; *out = v_none(); return 0; }
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number(p, out);
    return jfail(p, "unexpected character");
}

int json_parse(arena *a, const char *s, size_t n, val *out, char *err, size_t errlen) {
    jp p = {a, s, n, 0, err, errlen};
    if (!utf8_valid(s, n)) return jfail(&p, "text is not valid UTF-8");
    if (parse_value(&p, out, 0)) return -1;
    skip_ws(&p);
    if (p.i != p.n) return jfail(&p, "trailing characters");
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
