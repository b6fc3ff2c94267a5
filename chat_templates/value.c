/* value.c — the value type: lists, ordered dicts, truthiness, equality,
 * ordering, and printing the way Python's str() and repr() do. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "chat_templates/internal.h"

vlist *list_new(arena *a, size_t cap) {
    vlist *l = arena_alloc(a, sizeof *l);
    if (!l) return NULL;
    l->n = 0;
    l->cap = cap;
    l->v = cap ? arena_alloc(a, cap * sizeof(val)) : NULL;
    if (cap && !l->v) return NULL;
    return l;
}

bool list_push(arena *a, vlist *l, val v) {
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 4;
        val *nv = arena_realloc(a, l->v, l->cap * sizeof(val), nc * sizeof(val));
        if (!nv) return false;
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n++] = v;
    return true;
}

vdict *dict_new(arena *a, size_t cap) {
    vdict *d = arena_alloc(a, sizeof *d);
    if (!d) return NULL;
    d->n = 0;
    d->cap = cap;
    d->k = cap ? arena_alloc(a, cap * sizeof(val)) : NULL;
    d->v = cap ? arena_alloc(a, cap * sizeof(val)) : NULL;
    if (cap && (!d->k || !d->v)) return NULL;
    return d;
}

val *dict_get_str(const vdict *d, const char *s, size_t n) {
    for (size_t i = 0; i < d->n; i++)
        if (d->k[i].t == V_STR && d->k[i].u.s.n == n && memcmp(d->k[i].u.s.p, s, n) == 0) return &d->v[i];
    return NULL;
}

val *dict_get(const vdict *d, val k) {
    if (k.t == V_STR) return dict_get_str(d, k.u.s.p, k.u.s.n);
    for (size_t i = 0; i < d->n; i++)
        if (val_equal(d->k[i], k)) return &d->v[i];
    return NULL;
}

bool dict_set(arena *a, vdict *d, val k, val v) {
    val *slot = dict_get(d, k);
    if (slot) { *slot = v; return true; }
    if (d->n == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 4;
        val *nk = arena_realloc(a, d->k, d->cap * sizeof(val), nc * sizeof(val));
        if (!nk) return false;
        d->k = nk;
        val *nv = arena_realloc(a, d->v, d->cap * sizeof(val), nc * sizeof(val));
        if (!nv) return false;
        d->v = nv;
        d->cap = nc;
    }
    d->k[d->n] = k;
    d->v[d->n] = v;
    d->n++;
    return true;
}

val v_list(vlist *l, bool tuple) { val v = {0}; v.t = V_LIST; v.flags = tuple ? VF_TUPLE : 0; v.u.l = l; return v; }
val v_dict(vdict *d) { val v = {0}; v.t = V_DICT; v.u.d = d; return v; }

bool f64_to_i64(double d, int64_t *out) {
    /* truncation toward zero, refused where C's conversion would be undefined */
    if (!(d > -9223372036854775808.0 - 1024.0 && d < 9223372036854775808.0)) return false;
    if (d <= -9223372036854775808.0) { *out = INT64_MIN; return true; }
    *out = (int64_t)d;
    return true;
}

bool val_truthy(val v) {
    switch (v.t) {
    case V_UNDEF: case V_NONE: return false;
    case V_BOOL: return v.u.b;
    case V_INT: return v.u.i != 0;
    case V_FLOAT: return v.u.f != 0.0;
    case V_STR: return v.u.s.n != 0;
    case V_LIST: return (v.flags & VF_ITER) || v.u.l->n != 0;
    case V_DICT: return v.u.d->n != 0;
    default: return true;
    }
}

bool val_is_number(val v) { return v.t == V_BOOL || v.t == V_INT || v.t == V_FLOAT; }

double val_as_double(val v) {
    if (v.t == V_FLOAT) return v.u.f;
    if (v.t == V_INT) return (double)v.u.i;
    if (v.t == V_BOOL) return v.u.b;
    return 0;
}

bool val_equal(val a, val b) {
    if (val_is_number(a) && val_is_number(b)) {
        if (a.t != V_FLOAT && b.t != V_FLOAT) {
            int64_t x = a.t == V_BOOL ? a.u.b : a.u.i, y = b.t == V_BOOL ? b.u.b : b.u.i;
            return x == y;
        }
        return val_as_double(a) == val_as_double(b);
    }
    if (a.t != b.t) return false;
    switch (a.t) {
    case V_UNDEF: case V_NONE: return true;
    case V_STR: return a.u.s.n == b.u.s.n && memcmp(a.u.s.p, b.u.s.p, a.u.s.n) == 0;
    case V_LIST:
        if ((a.flags & VF_ITER) || (b.flags & VF_ITER)) return a.u.l == b.u.l;
        if ((a.flags & VF_SEQKIND) != (b.flags & VF_SEQKIND) || a.u.l->n != b.u.l->n) return false;
        for (size_t i = 0; i < a.u.l->n; i++)
            if (!val_equal(a.u.l->v[i], b.u.l->v[i])) return false;
        return true;
    case V_DICT:
        if (a.u.d->n != b.u.d->n) return false;
        for (size_t i = 0; i < a.u.d->n; i++) {
            val *o = dict_get(b.u.d, a.u.d->k[i]);
            if (!o || !val_equal(a.u.d->v[i], *o)) return false;
        }
        return true;
    case V_NS: return a.u.d == b.u.d;
    case V_MACRO: return a.u.m == b.u.m;
    case V_FUNC: return a.u.fn == b.u.fn;
    default: return a.u.loop == b.u.loop;
    }
}

static int cmp_str(val a, val b, bool ci) {
    if (!ci) {
        size_t n = a.u.s.n < b.u.s.n ? a.u.s.n : b.u.s.n;
        int c = memcmp(a.u.s.p, b.u.s.p, n);
        if (c) return c < 0 ? -1 : 1;
        return a.u.s.n < b.u.s.n ? -1 : a.u.s.n > b.u.s.n;
    }
    size_t i = 0, j = 0;
    while (i < a.u.s.n && j < b.u.s.n) {
        size_t x, y;
        uint32_t ca = py_lower(utf8_decode(a.u.s.p + i, a.u.s.n - i, &x));
        uint32_t cb = py_lower(utf8_decode(b.u.s.p + j, b.u.s.n - j, &y));
        if (ca != cb) return ca < cb ? -1 : 1;
        i += x;
        j += y;
    }
    return i < a.u.s.n ? 1 : j < b.u.s.n ? -1 : 0;
}

/* Python ordering: numbers with numbers, str with str, list with list (same
 * kind). -2 means the types cannot be ordered (TypeError in Python). */
int val_compare(val a, val b, bool ci) {
    if (val_is_number(a) && val_is_number(b)) {
        if (a.t != V_FLOAT && b.t != V_FLOAT) {
            int64_t x = a.t == V_BOOL ? a.u.b : a.u.i, y = b.t == V_BOOL ? b.u.b : b.u.i;
            return x < y ? -1 : x > y;
        }
        double x = val_as_double(a), y = val_as_double(b);
        return x < y ? -1 : x > y;
    }
    if (a.t == V_STR && b.t == V_STR) return cmp_str(a, b, ci);
    if (a.t == V_LIST && b.t == V_LIST && (a.flags & VF_SEQKIND) == (b.flags & VF_SEQKIND) && !(a.flags & (VF_ITER | VF_VIEW))) {
        size_t n = a.u.l->n < b.u.l->n ? a.u.l->n : b.u.l->n;
        for (size_t i = 0; i < n; i++) {
            if (val_equal(a.u.l->v[i], b.u.l->v[i])) continue;
            return val_compare(a.u.l->v[i], b.u.l->v[i], ci);
        }
        return a.u.l->n < b.u.l->n ? -1 : a.u.l->n > b.u.l->n;
    }
    return -2;
}

const char *val_type_name(val v) {
    switch (v.t) {
    case V_UNDEF: return "Undefined";
    case V_NONE: return "NoneType";
    case V_BOOL: return "bool";
    case V_INT: return "int";
    case V_FLOAT: return "float";
    case V_STR: return "str";
    case V_LIST:
        if (v.flags & VF_ITER) return "generator";
        return (v.flags & VF_TUPLE) ? "tuple" : (v.flags & VF_ITEMS) ? "dict_items" : (v.flags & VF_KEYS) ? "dict_keys" : (v.flags & VF_VALUES) ? "dict_values" : "list";
    case V_DICT: return "dict";
    case V_NS: return "Namespace";
    case V_LOOP: return "LoopContext";
    case V_MACRO: return "Macro";
    case V_CYCLER: return "Cycler";
    case V_JOINER: return "Joiner";
    default: return "builtin_function_or_method";
    }
}

/* float.__repr__: the shortest digit string that reads back to the same
 * double, laid out as Python does (fixed for 1e-4 <= |x| < 1e16). */
bool fmt_float(sbuf *b, double d) {
    if (isnan(d)) return sbuf_puts(b, "nan");
    if (isinf(d)) return sbuf_puts(b, d < 0 ? "-inf" : "inf");
    char buf[40];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, d);
        if (strtod(buf, NULL) == d) break;
    }
    /* buf = [-]D[.DDD]e[+-]XX */
    char digits[24];
    int nd = 0;
    const char *q = buf;
    bool neg = false;
    if (*q == '-') { neg = true; q++; }
    for (; *q && *q != 'e'; q++)
        if (*q != '.') digits[nd++] = *q;
    int exp = atoi(q + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    char o[64];
    int k = 0;
    if (neg) o[k++] = '-';
    if (exp < -4 || exp >= 16) {
        o[k++] = digits[0];
        if (nd > 1) {
            o[k++] = '.';
            for (int i = 1; i < nd; i++) o[k++] = digits[i];
        }
        k += snprintf(o + k, sizeof o - (size_t)k, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    } else if (exp < 0) {
        o[k++] = '0';
        o[k++] = '.';
        for (int i = 0; i < -exp - 1; i++) o[k++] = '0';
        for (int i = 0; i < nd; i++) o[k++] = digits[i];
    } else {
        for (int i = 0; i <= exp; i++) o[k++] = i < nd ? digits[i] : '0';
        o[k++] = '.';
        if (nd > exp + 1)
            for (int i = exp + 1; i < nd; i++) o[k++] = digits[i];
        else
            o[k++] = '0';
    }
    return sbuf_put(b, o, (size_t)k);
}

/* Python's str.isprintable for code points beyond ASCII (approximation:
 * separators, format characters, C1 controls and private use are not). */
static bool printable_cp(uint32_t c) {
    if (c < 0x20 || c == 0x7f) return false;
    if (c < 0x80) return true;
    if (c <= 0xa0 || c == 0xad) return false;
    if (c == 0x1680 || (c >= 0x2000 && c <= 0x200f) || (c >= 0x2028 && c <= 0x202f) ||
        (c >= 0x205f && c <= 0x2064) || c == 0x3000 || c == 0xfeff || (c >= 0xd800 && c <= 0xf8ff) ||
        (c >= 0xfff9 && c <= 0xfffb) || c >= 0xf0000 || (c >= 0x2066 && c <= 0x206f))
        return false;
    return true;
}

static bool repr_str(sbuf *b, const char *p, size_t n) {
    bool has_sq = memchr(p, '\'', n) != NULL, has_dq = memchr(p, '"', n) != NULL;
    char quote = (has_sq && !has_dq) ? '"' : '\'';
    sbuf_putc(b, quote);
    for (size_t i = 0; i < n;) {
        size_t adv;
        uint32_t c = utf8_decode(p + i, n - i, &adv);
        if (c == (uint32_t)quote || c == '\\') { sbuf_putc(b, '\\'); sbuf_putc(b, (char)c); }
        else if (c == '\n') sbuf_puts(b, "\\n");
        else if (c == '\r') sbuf_puts(b, "\\r");
        else if (c == '\t') sbuf_puts(b, "\\t");
        else if (printable_cp(c)) sbuf_put(b, p + i, adv);
        else if (c < 0x100) sbuf_printf(b, "\\x%02x", c);
        else if (c < 0x10000) sbuf_printf(b, "\\u%04x", c);
        else sbuf_printf(b, "\\U%08x", c);
        i += adv;
    }
    return sbuf_putc(b, quote);
}

static bool print_val(sbuf *b, val v, bool repr, int depth) {
    if (depth > 200) return sbuf_puts(b, "...");
    switch (v.t) {
    case V_UNDEF: return repr ? sbuf_puts(b, "Undefined") : true;
    case V_NONE: return sbuf_puts(b, "None");
    case V_BOOL: return sbuf_puts(b, v.u.b ? "True" : "False");
    case V_INT: return sbuf_printf(b, "%lld", (long long)v.u.i);
    case V_FLOAT: return fmt_float(b, v.u.f);
    case V_STR: return repr ? repr_str(b, v.u.s.p, v.u.s.n) : sbuf_put(b, v.u.s.p, v.u.s.n);
    case V_LIST: {
        if (v.flags & VF_ITER) return sbuf_puts(b, "<generator object>"); /* Python adds an address */
        bool tuple = v.flags & VF_TUPLE;
        bool view = v.flags & (VF_ITEMS | VF_KEYS | VF_VALUES);
        if (view) { sbuf_puts(b, val_type_name(v)); sbuf_putc(b, '('); }
        sbuf_putc(b, tuple ? '(' : '[');
        for (size_t i = 0; i < v.u.l->n; i++) {
            if (i) sbuf_put(b, ", ", 2);
            print_val(b, v.u.l->v[i], true, depth + 1);
        }
        if (tuple && v.u.l->n == 1) sbuf_putc(b, ',');
        sbuf_putc(b, tuple ? ')' : ']');
        return view ? sbuf_putc(b, ')') : true;
    }
    case V_DICT: case V_NS: {
        if (v.t == V_NS) sbuf_puts(b, "<Namespace ");
        sbuf_putc(b, '{');
        for (size_t i = 0; i < v.u.d->n; i++) {
            if (i) sbuf_put(b, ", ", 2);
            print_val(b, v.u.d->k[i], true, depth + 1);
            sbuf_put(b, ": ", 2);
            print_val(b, v.u.d->v[i], true, depth + 1);
        }
        sbuf_putc(b, '}');
        return v.t == V_NS ? sbuf_putc(b, '>') : true;
    }
    case V_MACRO: return sbuf_printf(b, "<Macro '%s'>", v.u.m->name ? v.u.m->name : "caller");
    case V_LOOP: return sbuf_puts(b, "<LoopContext>");
    default: return sbuf_printf(b, "<%s object>", val_type_name(v));
    }
}

bool val_str(sbuf *b, val v) { return print_val(b, v, false, 0); }
bool val_repr(sbuf *b, val v) { return print_val(b, v, true, 0); }

val val_to_str(arena *a, val v) {
    if (v.t == V_STR) return v;
    sbuf b;
    sbuf_init(&b, a);
    sbuf_put(&b, "", 0);
    val_str(&b, v);
    if (b.oom) return v_undef(NULL);
    return v_str(b.p, b.n);
}
