/* server/json_writer.c — growable buffer + streaming JSON writer. */
#include "server/json_writer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vr_sb_free(vr_sbuf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

int vr_sb_reserve(vr_sbuf *b, size_t extra) {
    if (b->oom) return -1;
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2) { b->oom = 1; return -1; }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) { b->oom = 1; return -1; }
    b->p = p;
    b->cap = cap;
    return 0;
}

void vr_sb_put(vr_sbuf *b, const void *data, size_t n) {
    if (vr_sb_reserve(b, n)) return;
    if (n) memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = 0;
}

void vr_sb_puts(vr_sbuf *b, const char *s) { vr_sb_put(b, s, strlen(s)); }

void vr_sb_printf(vr_sbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) { va_end(ap2); return; }
    if ((size_t)n < sizeof tmp) {
        vr_sb_put(b, tmp, (size_t)n);
    } else if (!vr_sb_reserve(b, (size_t)n)) {
        vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

char *vr_sb_take(vr_sbuf *b) {
    if (!b->p) vr_sb_reserve(b, 0);
    char *p = b->p;
    memset(b, 0, sizeof *b);
    return p;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid
 * (overlongs, surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_valid_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && s[1] < 0xA0) return 0;  /* overlong */
        if (c == 0xED && s[1] >= 0xA0) return 0; /* surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80) return 0;
        if (c == 0xF0 && s[1] < 0x90) return 0;
        if (c == 0xF4 && s[1] >= 0x90) return 0;
        return 4;
    }
    return 0;
}

void vr_json_escape(vr_sbuf *b, const char *str, size_t n) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    if (vr_sb_reserve(b, n + 2)) return;
    size_t i = 0;
    while (i < n) {
        /* Copy the longest run that needs no escaping in one go. */
        size_t j = i;
        while (j < n && s[j] >= 0x20 && s[j] < 0x80 && s[j] != '"' && s[j] != '\\') j++;
        if (j > i) { vr_sb_put(b, s + i, j - i); i = j; continue; }
        unsigned c = s[i];
        if (c < 0x80) {
            char e[6];
            switch (c) {
            case '"': vr_sb_put(b, "\\\"", 2); break;
            case '\\': vr_sb_put(b, "\\\\", 2); break;
            case '\n': vr_sb_put(b, "\\n", 2); break;
            case '\r': vr_sb_put(b, "\\r", 2); break;
            case '\t': vr_sb_put(b, "\\t", 2); break;
            case '\b': vr_sb_put(b, "\\b", 2); break;
            case '\f': vr_sb_put(b, "\\f", 2); break;
            default:
                e[0] = '\\'; e[1] = 'u'; e[2] = '0'; e[3] = '0';
                e[4] = hex[c >> 4]; e[5] = hex[c & 15];
                vr_sb_put(b, e, 6);
            }
            i++;
            continue;
        }
        size_t l = utf8_valid_len(s + i, n - i);
        if (!l) { vr_sb_put(b, "\xEF\xBF\xBD", 3); i++; continue; }
        if (l == 3 && s[i] == 0xE2 && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
            vr_sb_puts(b, s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029");
        } else {
            vr_sb_put(b, s + i, l);
        }
        i += l;
    }
}

/* Python's repr style: the fewest significant digits that read back to the
 * same value, fixed notation for 1e-4 <= |v| < 1e16, else scientific. */
static int fmt_shortest(char *buf, double v, int max_prec, int is_float) {
    if (!isfinite(v)) return snprintf(buf, 32, "null");
    if (v == 0) return snprintf(buf, 32, signbit(v) ? "-0.0" : "0.0");
    int prec = 1, n = 0;
    for (; prec <= max_prec; prec++) {
        n = snprintf(buf, 32, "%.*e", prec - 1, v);
        if (is_float ? strtof(buf, NULL) == (float)v : strtod(buf, NULL) == v) break;
    }
    if (prec > max_prec) prec = max_prec;
    int exp10 = atoi(strchr(buf, 'e') + 1);
    if (exp10 >= -4 && exp10 < 16) {
        int decimals = prec - 1 - exp10;
        n = snprintf(buf, 32, "%.*f", decimals > 0 ? decimals : 0, v);
        if (!strchr(buf, '.')) n += snprintf(buf + n, 32 - (size_t)n, ".0");
        return n;
    }
    n = snprintf(buf, 32, "%.*e", prec - 1, v); /* e.g. 1e+21, 1.5e-07 */
    return n;
}

int vr_fmt_double(char *buf, double v) { return fmt_shortest(buf, v, 17, 0); }

int vr_fmt_float(char *buf, float v) { return fmt_shortest(buf, (double)v, 9, 1); }

void vr_jw_init(vr_jw *w, vr_sbuf *out) {
    memset(w, 0, sizeof *w);
    w->out = out;
    w->first[0] = 1;
}

/* Separator before a value: a comma unless first at this level or right after a key. */
static void sep(vr_jw *w) {
    if (w->after_key) { w->after_key = 0; return; }
    if (!w->first[w->depth]) vr_sb_put(w->out, ",", 1);
    w->first[w->depth] = 0;
}

static void open(vr_jw *w, char c) {
    sep(w);
    vr_sb_put(w->out, &c, 1);
    if (w->depth + 1 >= VR_JW_MAX_DEPTH) { w->err = 1; return; }
    w->first[++w->depth] = 1;
}

static void close_(vr_jw *w, char c) {
    vr_sb_put(w->out, &c, 1);
    if (w->depth > 0) w->depth--;
    else w->err = 1;
}

void vr_jw_obj_begin(vr_jw *w) { open(w, '{'); }
void vr_jw_obj_end(vr_jw *w) { close_(w, '}'); }
void vr_jw_arr_begin(vr_jw *w) { open(w, '['); }
void vr_jw_arr_end(vr_jw *w) { close_(w, ']'); }

void vr_jw_key(vr_jw *w, const char *key) {
    sep(w);
    vr_sb_put(w->out, "\"", 1);
    vr_json_escape(w->out, key, strlen(key));
    vr_sb_put(w->out, "\":", 2);
    w->after_key = 1;
}

void vr_jw_strn(vr_jw *w, const char *s, size_t n) {
    sep(w);
    vr_sb_put(w->out, "\"", 1);
    vr_json_escape(w->out, s, n);
    vr_sb_put(w->out, "\"", 1);
}

void vr_jw_str(vr_jw *w, const char *s) {
    if (!s) vr_jw_null(w);
    else vr_jw_strn(w, s, strlen(s));
}

void vr_jw_int(vr_jw *w, int64_t v) {
    sep(w);
    vr_sb_printf(w->out, "%lld", (long long)v);
}

void vr_jw_double(vr_jw *w, double v) {
    char tmp[40];
    sep(w);
    vr_sb_put(w->out, tmp, (size_t)vr_fmt_double(tmp, v));
}

void vr_jw_float(vr_jw *w, float v) {
    char tmp[40];
    sep(w);
    vr_sb_put(w->out, tmp, (size_t)vr_fmt_float(tmp, v));
}

void vr_jw_bool(vr_jw *w, int v) {
    sep(w);
    vr_sb_puts(w->out, v ? "true" : "false");
}

void vr_jw_null(vr_jw *w) {
    sep(w);
    vr_sb_put(w->out, "null", 4);
}

void vr_jw_raw(vr_jw *w, const char *json, size_t n) {
    sep(w);
    vr_sb_put(w->out, json, n);
}

void vr_jw_value(vr_jw *w, const vr_json *v) {
    if (!v) { vr_jw_null(w); return; }
    switch (v->type) {
    case VR_JSON_NULL: vr_jw_null(w); break;
    case VR_JSON_BOOL: vr_jw_bool(w, v->u.b); break;
    case VR_JSON_INT: vr_jw_int(w, v->u.i); break;
    case VR_JSON_DOUBLE: vr_jw_double(w, v->u.d); break;
    case VR_JSON_STRING: vr_jw_strn(w, v->u.str.s, v->u.str.len); break;
    case VR_JSON_ARRAY:
        vr_jw_arr_begin(w);
        for (size_t i = 0; i < v->u.arr.n; i++) vr_jw_value(w, &v->u.arr.items[i]);
        vr_jw_arr_end(w);
        break;
    case VR_JSON_OBJECT:
        vr_jw_obj_begin(w);
        for (size_t i = 0; i < v->u.obj.n; i++) {
            const vr_json_member *m = &v->u.obj.m[i];
            sep(w);
            vr_sb_put(w->out, "\"", 1);
            vr_json_escape(w->out, m->key, m->key_len);
            vr_sb_put(w->out, "\":", 2);
            w->after_key = 1;
            vr_jw_value(w, m->value);
        }
        vr_jw_obj_end(w);
        break;
    }
}
