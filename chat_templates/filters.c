/* filters.c — jinja2's builtin filters, plus tojson as Hugging Face
 * defines it: json.dumps(x, ensure_ascii=False, indent=None,
 * separators=None, sort_keys=False). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "chat_templates/internal.h"

enum {
    F_TOJSON, F_TRIM, F_LENGTH, F_COUNT, F_FIRST, F_LAST, F_LOWER, F_UPPER, F_TITLE, F_CAPITALIZE,
    F_REPLACE, F_JOIN, F_DEFAULT, F_D, F_ITEMS, F_LIST, F_STRING, F_INT, F_FLOAT, F_ABS, F_ROUND,
    F_INDENT, F_SAFE, F_MAP, F_SELECT, F_REJECT, F_SELECTATTR, F_REJECTATTR, F_UNIQUE, F_SORT,
    F_REVERSE, F_DICTSORT, F_BATCH, F_SUM, F_MIN, F_MAX, F_WORDCOUNT, F_ESCAPE, F_E, F_CENTER,
    F_FORMAT, F_ATTR, F_TRUNCATE, F_STRIPTAGS, F_PPRINT
};

static const char *const FILTER_NAMES[] = {
    "tojson", "trim", "length", "count", "first", "last", "lower", "upper", "title", "capitalize",
    "replace", "join", "default", "d", "items", "list", "string", "int", "float", "abs", "round",
    "indent", "safe", "map", "select", "reject", "selectattr", "rejectattr", "unique", "sort",
    "reverse", "dictsort", "batch", "sum", "min", "max", "wordcount", "escape", "e", "center",
    "format", "attr", "truncate", "striptags", "pprint", NULL};

int filter_lookup(const char *name, size_t n) {
    for (int i = 0; FILTER_NAMES[i]; i++)
        if (strlen(FILTER_NAMES[i]) == n && memcmp(FILTER_NAMES[i], name, n) == 0) return i;
    return -1;
}

#define ARG(i, nm, out) arg_get(args, nargs, kwn, kwl, kwv, nkw, i, nm, out)

/* str() as jinja2's soft_str: Undefined becomes "" */
static val soft_str(rstate *st, val v) { return v.t == V_UNDEF ? v_str("", 0) : val_to_str(st->a, v); }

/* jinja2's attribute getter for map/sort/...: "a.b.0" walks items, integer parts index */
static int attr_path(rstate *st, const node *at, val obj, val path, val *out) {
    if (path.t == V_INT) return get_item(st, at, obj, path, out);
    if (path.t != V_STR) return rerr(st, at, "attribute must be a string");
    const char *p = path.u.s.p;
    size_t n = path.u.s.n, i = 0;
    *out = obj;
    while (i <= n) {
        size_t j = i;
        while (j < n && p[j] != '.') j++;
        val key = v_str(p + i, j - i);
        bool digits = j > i;
        int64_t iv = 0;
        for (size_t k = i; k < j; k++) { if (p[k] < '0' || p[k] > '9') digits = false; else if (iv < 100000000000000000LL) iv = iv * 10 + (p[k] - '0'); }
        if (digits) key = v_int(iv);
        if (get_item(st, at, *out, key, out)) return -1;
        i = j + 1;
        if (j >= n) break;
    }
    return 0;
}

static int to_list(rstate *st, const node *at, val v, vlist **out) {
    val *items;
    size_t n;
    if (iterate(st, at, v, &items, &n)) return -1;
    vlist *l = list_new(st->a, n);
    if (!l) return rerr_oom(st, at);
    if (n) memcpy(l->v, items, n * sizeof(val));
    l->n = n;
    *out = l;
    return 0;
}

/* sort keys: merge sort (stable, as Python's sort is) by a key array */
typedef struct keyed { val key; val item; } keyed;
static int cmp_keyed(const keyed *a, const keyed *b, bool ci) {
    int c = val_compare(a->key, b->key, ci);
    return c == -2 ? 0 : c; /* mixed types were refused before sorting */
}
static void merge_sort(keyed *a, keyed *tmp, size_t n, bool ci, bool rev) {
    if (n < 2) return;
    size_t h = n / 2;
    merge_sort(a, tmp, h, ci, rev);
    merge_sort(a + h, tmp, n - h, ci, rev);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) {
        int c = cmp_keyed(&a[j], &a[i], ci);
        if (rev ? c > 0 : c < 0) tmp[k++] = a[j++];
        else tmp[k++] = a[i++];
    }
    while (i < h) tmp[k++] = a[i++];
    while (j < n) tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof(keyed));
}

static int sorted(rstate *st, const node *at, keyed *ks, size_t n, bool ci, bool rev) {
    /* reverse=True in Python keeps equal items in their original order too */
    keyed *tmp = arena_alloc(st->a, (n + 1) * sizeof(keyed));
    if (!tmp) return rerr_oom(st, at);
    for (size_t i = 1; i < n; i++)
        if (val_compare(ks[i].key, ks[0].key, ci) == -2)
            return rerr(st, at, "TypeError: '<' not supported between instances of '%s' and '%s'", val_type_name(ks[i].key), val_type_name(ks[0].key));
    merge_sort(ks, tmp, n, ci, rev);
    return 0;
}

static int call_test_by_name(rstate *st, scope *sc, const node *at, val name, val x, val *args, int nargs, bool *out) {
    if (name.t != V_STR) return rerr(st, at, "test name must be a string");
    int id = test_lookup(name.u.s.p, name.u.s.n);
    if (id < 0) return rerr(st, at, "TemplateRuntimeError: No test named '%.*s'.", (int)name.u.s.n, name.u.s.p);
    return apply_test(st, sc, at, id, x, args, nargs, out);
}

static int json_filter(rstate *st, const node *at, val x, val *args, int nargs, const char **kwn, const size_t *kwl, val *kwv, int nkw, val *out) {
    val ea = {0}, ind = {0}, seps = {0}, sk = {0};
    json_opts o;
    memset(&o, 0, sizeof o);
    o.ensure_ascii = ARG(0, "ensure_ascii", &ea) && val_truthy(ea);
    o.sort_keys = ARG(3, "sort_keys", &sk) && val_truthy(sk);
    char spaces[64];
    if (ARG(1, "indent", &ind) && ind.t != V_NONE) {
        o.has_indent = true;
        if (ind.t == V_INT || ind.t == V_BOOL) {
            int64_t k = ind.t == V_INT ? ind.u.i : ind.u.b;
            if (k < 0) k = 0;
            if (k > 63) {
                char *sp = arena_alloc(st->a, (size_t)k);
                if (!sp) return rerr_oom(st, at);
                memset(sp, ' ', (size_t)k);
                o.indent = sp;
            } else {
                memset(spaces, ' ', (size_t)k);
                o.indent = spaces;
            }
            o.indent_n = (size_t)k;
        } else if (ind.t == V_STR) {
            o.indent = ind.u.s.p;
            o.indent_n = ind.u.s.n;
        } else {
            return rerr(st, at, "TypeError: indent must be an int or a string");
        }
    }
    o.item_sep = o.has_indent ? "," : ", ";
    o.item_sep_n = o.has_indent ? 1 : 2;
    o.key_sep = ": ";
    o.key_sep_n = 2;
    if (ARG(2, "separators", &seps) && seps.t != V_NONE) {
        if (seps.t != V_LIST || seps.u.l->n != 2 || seps.u.l->v[0].t != V_STR || seps.u.l->v[1].t != V_STR)
            return rerr(st, at, "ValueError: separators must be a pair of strings");
        o.item_sep = seps.u.l->v[0].u.s.p;
        o.item_sep_n = seps.u.l->v[0].u.s.n;
        o.key_sep = seps.u.l->v[1].u.s.p;
        o.key_sep_n = seps.u.l->v[1].u.s.n;
    }
    sbuf b;
    sbuf_init(&b, st->a);
    sbuf_put(&b, "", 0);
    const char *why = NULL;
    if (!json_dump(&b, x, &o, 0, &why)) {
        if (b.oom) return rerr_oom(st, at);
        return rerr(st, at, "TypeError: Object of type %s is not JSON serializable", why ? why : "?");
    }
    if (b.oom) return rerr_oom(st, at);
    *out = v_str(b.p, b.n);
    return 0;
}

static int do_round(rstate *st, const node *at, val x, val *args, int nargs, const char **kwn, const size_t *kwl, val *kwv, int nkw, val *out) {
    val pv = {0}, mv = {0};
    int64_t prec = 0;
    if (ARG(0, "precision", &pv)) {
        if (pv.t != V_INT) return rerr(st, at, "TypeError: precision must be an integer");
        prec = pv.u.i;
    }
    const char *method = "common";
    if (ARG(1, "method", &mv)) {
        if (mv.t != V_STR || !((mv.u.s.n == 6 && !memcmp(mv.u.s.p, "common", 6)) || (mv.u.s.n == 4 && !memcmp(mv.u.s.p, "ceil", 4)) || (mv.u.s.n == 5 && !memcmp(mv.u.s.p, "floor", 5))))
            return rerr(st, at, "FilterArgumentError: method must be common, ceil or floor");
        method = mv.u.s.p;
    }
    if (x.t == V_UNDEF) return undef_error(st, at, x);
    if (!val_is_number(x)) return rerr(st, at, "TypeError: type %s doesn't define __round__ method", val_type_name(x));
    if (method[0] == 'c' && method[1] == 'o') {
        if (x.t != V_FLOAT) { *out = x.t == V_BOOL ? v_int(x.u.b) : x; return 0; } /* round(int, n) stays an int */
        if (prec > 300 || prec < -300 || !isfinite(x.u.f)) { *out = x; return 0; }
        /* correctly rounded, half to even on the exact binary value, as Python's round() */
        char buf[400];
        if (prec >= 0) {
            snprintf(buf, sizeof buf, "%.*f", (int)prec, x.u.f);
            *out = v_float(strtod(buf, NULL));
        } else {
            double p10 = pow(10, -(double)prec);
            double y = x.u.f / p10;
            double r = nearbyint(y);
            *out = v_float(r * p10);
        }
        return 0;
    }
    double p10 = pow(10, (double)prec), d = val_as_double(x);
    *out = v_float((method[0] == 'c' ? ceil(d * p10) : floor(d * p10)) / p10);
    return 0;
}

static int do_indent(rstate *st, const node *at, val x, val *args, int nargs, const char **kwn, const size_t *kwl, val *kwv, int nkw, val *out) {
    val wv = {0}, fv = {0}, bv = {0};
    const char *ind = "    ";
    size_t indn = 4;
    char spaces[256];
    if (ARG(0, "width", &wv)) {
        if (wv.t == V_STR) { ind = wv.u.s.p; indn = wv.u.s.n; }
        else if (wv.t == V_INT) {
            int64_t k = wv.u.i < 0 ? 0 : wv.u.i > 255 ? 255 : wv.u.i;
            memset(spaces, ' ', (size_t)k);
            ind = spaces;
            indn = (size_t)k;
        } else return rerr(st, at, "TypeError: indent width must be int or str");
    }
    bool first = ARG(1, "first", &fv) && val_truthy(fv);
    bool blank = ARG(2, "blank", &bv) && val_truthy(bv);
    /* jinja2 appends "\n" to the value itself: only strings survive that */
    if (x.t == V_UNDEF) return undef_error(st, at, x);
    if (x.t != V_STR) return rerr(st, at, "TypeError: unsupported operand type(s) for +=: '%s' and 'str'", val_type_name(x));
    val s = x;
    /* jinja2 splits s + "\n" with str.splitlines(): every line ends with a
     * break, the first is not indented (unless first=True), empty lines
     * only with blank=True */
    sbuf b;
    sbuf_init(&b, st->a);
    sbuf_put(&b, "", 0);
    if (first) sbuf_put(&b, ind, indn);
    const char *p = s.u.s.p;
    size_t n = s.u.s.n, start = 0;
    int line = 0;
    while (start <= n) {
        size_t e = start, brk_end = n + 1;
        while (e < n) {
            size_t adv;
            uint32_t c = utf8_decode(p + e, n - e, &adv);
            if (c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || (c >= 0x1c && c <= 0x1e) || c == 0x85 || c == 0x2028 || c == 0x2029) {
                brk_end = e + adv;
                if (c == '\r' && brk_end < n && p[brk_end] == '\n') brk_end++;
                break;
            }
            e += adv;
        }
        if (line > 0) {
            sbuf_putc(&b, '\n');
            if (blank || e > start) sbuf_put(&b, ind, indn);
        }
        sbuf_put(&b, p + start, e - start);
        line++;
        start = brk_end; /* n + 1 after the last line (ended by the appended newline) */
    }
    if (b.oom) return rerr_oom(st, at);
    *out = v_str(b.p, b.n);
    return 0;
}

static int minmax(rstate *st, const node *at, val x, bool is_max, val *args, int nargs, const char **kwn, const size_t *kwl, val *kwv, int nkw, val *out) {
    val cs = {0}, attr = {0};
    bool ci = !(ARG(0, "case_sensitive", &cs) && val_truthy(cs));
    bool ha = ARG(1, "attribute", &attr) && attr.t != V_NONE;
    val *items;
    size_t n;
    if (iterate(st, at, x, &items, &n)) return -1;
    if (n == 0) { *out = v_undef("No aggregated item, sequence was empty."); return 0; }
    size_t best = 0;
    val bestk;
    if (ha) { if (attr_path(st, at, items[0], attr, &bestk)) return -1; } else bestk = items[0];
    for (size_t i = 1; i < n; i++) {
        val k;
        if (ha) { if (attr_path(st, at, items[i], attr, &k)) return -1; } else k = items[i];
        int c = val_compare(k, bestk, ci);
        if (c == -2) return rerr(st, at, "TypeError: '<' not supported between instances of '%s' and '%s'", val_type_name(k), val_type_name(bestk));
        if (is_max ? c > 0 : c < 0) { best = i; bestk = k; }
    }
    *out = items[best];
    return 0;
}

/* a copy of v whose dicts have sorted keys (for pprint) */
static int sorted_copy(rstate *st, const node *at, val v, val *out, int depth) {
    if (depth > 100) return rerr(st, at, "structure nested too deeply");
    *out = v;
    if (v.t == V_LIST) {
        vlist *l = list_new(st->a, v.u.l->n);
        if (!l) return rerr_oom(st, at);
        for (size_t i = 0; i < v.u.l->n; i++)
            if (sorted_copy(st, at, v.u.l->v[i], &l->v[l->n++], depth + 1)) return -1;
        *out = v_list(l, v.flags & VF_TUPLE);
    } else if (v.t == V_DICT) {
        size_t n = v.u.d->n;
        keyed *ks = arena_alloc(st->a, (n + 1) * sizeof(keyed));
        vdict *d = dict_new(st->a, n);
        if (!ks || !d) return rerr_oom(st, at);
        for (size_t i = 0; i < n; i++) { ks[i].key = v.u.d->k[i]; ks[i].item = v.u.d->v[i]; }
        if (sorted(st, at, ks, n, false, false)) return -1;
        for (size_t i = 0; i < n; i++) {
            val sv;
            if (sorted_copy(st, at, ks[i].item, &sv, depth + 1) || !dict_set(st->a, d, ks[i].key, sv)) return st->failed ? -1 : rerr_oom(st, at);
        }
        *out = v_dict(d);
    }
    return 0;
}

int apply_filter(rstate *st, scope *sc, const node *at, int id, val x, val *args, int nargs,
                 const char **kwn, const size_t *kwl, val *kwv, int nkw, val *out) {
    val a0 = {0}, a1 = {0}, a2 = {0};
    switch (id) {
    case F_TOJSON: return json_filter(st, at, x, args, nargs, kwn, kwl, kwv, nkw, out);
    case F_TRIM: {
        val s = soft_str(st, x);
        bool has = ARG(0, "chars", &a0) && a0.t != V_NONE;
        if (has && a0.t != V_STR) return rerr(st, at, "TypeError: strip arg must be None or str");
        *out = str_strip(st->a, s, has ? a0.u.s.p : NULL, has ? a0.u.s.n : 0, has, true, true);
        return 0;
    }
    case F_LENGTH: case F_COUNT:
        switch (x.t) {
        case V_UNDEF: *out = v_int(0); return 0;
        case V_STR: *out = v_int((int64_t)utf8_len(x.u.s.p, x.u.s.n)); return 0;
        case V_LIST:
            if (x.flags & VF_ITER) return rerr(st, at, "TypeError: object of type 'generator' has no len()");
            *out = v_int((int64_t)x.u.l->n);
            return 0;
        case V_DICT: *out = v_int((int64_t)x.u.d->n); return 0;
        default: return rerr(st, at, "TypeError: object of type '%s' has no len()", val_type_name(x));
        }
    case F_FIRST: case F_LAST: {
        if (id == F_LAST && x.t == V_LIST && (x.flags & VF_ITER)) return rerr(st, at, "TypeError: 'generator' object is not reversible");
        val *items;
        size_t n;
        if (iterate(st, at, x, &items, &n)) return -1;
        if (n == 0) { *out = v_undef(id == F_FIRST ? "No first item, sequence was empty." : "No last item, sequence was empty."); return 0; }
        *out = id == F_FIRST ? items[0] : items[n - 1];
        return 0;
    }
    case F_LOWER: *out = str_case(st->a, soft_str(st, x), 'l'); return 0;
    case F_UPPER: *out = str_case(st->a, soft_str(st, x), 'u'); return 0;
    case F_CAPITALIZE: *out = str_case(st->a, soft_str(st, x), 'c'); return 0;
    case F_TITLE: {
        /* jinja2's title: words start after whitespace, '-', and opening brackets */
        val s = soft_str(st, x);
        sbuf b;
        sbuf_init(&b, st->a);
        sbuf_put(&b, "", 0);
        bool start = true;
        for (size_t i = 0; i < s.u.s.n;) {
            size_t adv;
            uint32_t c = utf8_decode(s.u.s.p + i, s.u.s.n - i, &adv);
            bool sep = is_py_space(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
            uint32_t r = sep ? c : start ? py_upper(c) : py_lower(c);
            char tmp[4];
            sbuf_put(&b, tmp, utf8_encode(r, tmp));
            start = sep;
            i += adv;
        }
        if (b.oom) return rerr_oom(st, at);
        *out = v_str(b.p, b.n);
        return 0;
    }
    case F_REPLACE: {
        if (!ARG(0, "old", &a0) || !ARG(1, "new", &a1)) return rerr(st, at, "TypeError: replace() missing arguments");
        val s = soft_str(st, x);
        a0 = soft_str(st, a0);
        a1 = soft_str(st, a1);
        int64_t count = -1;
        if (ARG(2, "count", &a2) && a2.t != V_NONE) {
            if (a2.t != V_INT) return rerr(st, at, "TypeError: count must be an integer");
            count = a2.u.i;
        }
        *out = str_replace(st->a, s, a0, a1, count);
        return 0;
    }
    case F_JOIN: {
        val d = v_str("", 0), attr = {0};
        if (ARG(0, "d", &a0)) d = soft_str(st, a0);
        bool ha = ARG(1, "attribute", &attr) && attr.t != V_NONE;
        val *items;
        size_t n;
        if (iterate(st, at, x, &items, &n)) return -1;
        sbuf b;
        sbuf_init(&b, st->a);
        sbuf_put(&b, "", 0);
        for (size_t i = 0; i < n; i++) {
            val it = items[i];
            if (ha && attr_path(st, at, it, attr, &it)) return -1;
            if (i) sbuf_put(&b, d.u.s.p, d.u.s.n);
            val_str(&b, it);
        }
        if (b.oom) return rerr_oom(st, at);
        *out = v_str(b.p, b.n);
        return 0;
    }
    case F_DEFAULT: case F_D: {
        val dv = v_str("", 0), bo = {0};
        ARG(0, "default_value", &dv);
        bool boolean = ARG(1, "boolean", &bo) && val_truthy(bo);
        if (x.t == V_UNDEF || (boolean && !val_truthy(x))) *out = dv;
        else *out = x;
        return 0;
    }
    case F_ITEMS: {
        if (x.t == V_UNDEF) { *out = v_list(list_new(st->a, 0), false); return 0; }
        if (x.t != V_DICT) return rerr(st, at, "TypeError: Can only get item pairs from a mapping.");
        bool found;
        if (call_method(st, at, x, "items", 5, NULL, 0, NULL, NULL, NULL, 0, out, &found)) return -1;
        out->flags = VF_ITER;
        return 0;
    }
    case F_LIST: {
        vlist *l = NULL;
        if (to_list(st, at, x, &l)) return -1;
        *out = v_list(l, false);
        return 0;
    }
    case F_STRING: case F_SAFE: *out = soft_str(st, x); return 0;
    case F_ESCAPE: case F_E: {
        val s = soft_str(st, x);
        sbuf b;
        sbuf_init(&b, st->a);
        sbuf_put(&b, "", 0);
        for (size_t i = 0; i < s.u.s.n; i++) {
            char c = s.u.s.p[i];
            switch (c) {
            case '&': sbuf_puts(&b, "&amp;"); break;
            case '<': sbuf_puts(&b, "&lt;"); break;
            case '>': sbuf_puts(&b, "&gt;"); break;
            case '"': sbuf_puts(&b, "&#34;"); break;
            case '\'': sbuf_puts(&b, "&#39;"); break;
            default: sbuf_putc(&b, c);
            }
        }
        if (b.oom) return rerr_oom(st, at);
        *out = v_str(b.p, b.n);
        return 0;
    }
    case F_INT: {
        val dv = v_int(0), bv = v_int(10);
        ARG(0, "default", &dv);
        ARG(1, "base", &bv);
        if (x.t == V_UNDEF) return undef_error(st, at, x); /* int(Undefined) raises in jinja2 */
        if (x.t == V_INT) { *out = x; return 0; }
        if (x.t == V_BOOL) { *out = v_int(x.u.b); return 0; }
        if (x.t == V_FLOAT) {
            int64_t iv;
            if (!isfinite(x.u.f)) { *out = dv; return 0; }
            if (!f64_to_i64(x.u.f, &iv)) return rerr(st, at, "integer too large for 64 bits");
            *out = v_int(iv);
            return 0;
        }
        if (x.t == V_STR) {
            val s = str_strip(st->a, x, NULL, 0, false, true, true);
            char buf[128];
            size_t k = 0;
            for (size_t i = 0; i < s.u.s.n && k < sizeof buf - 1; i++)
                if (s.u.s.p[i] != '_') buf[k++] = s.u.s.p[i];
            buf[k] = 0;
            int base = bv.t == V_INT ? (int)bv.u.i : 10;
            char *end;
            if (k && s.u.s.n < sizeof buf) {
                long long v = strtoll(buf, &end, base);
                if (*end == 0 && !(base == 16 && 0)) { *out = v_int(v); return 0; }
                double d = strtod(buf, &end);
                if (*end == 0 && isfinite(d) && base == 10 && strchr(buf, 'x') == NULL && strchr(buf, 'X') == NULL) {
                    int64_t iv;
                    if (!f64_to_i64(d, &iv)) return rerr(st, at, "integer too large for 64 bits");
                    *out = v_int(iv);
                    return 0;
                }
            }
        }
        *out = dv;
        return 0;
    }
    case F_FLOAT: {
        val dv = v_float(0.0);
        ARG(0, "default", &dv);
        if (x.t == V_UNDEF) return undef_error(st, at, x);
        if (x.t == V_FLOAT) { *out = x; return 0; }
        if (x.t == V_INT || x.t == V_BOOL) { *out = v_float(val_as_double(x)); return 0; }
        if (x.t == V_STR) {
            val s = str_strip(st->a, x, NULL, 0, false, true, true);
            char buf[128];
            if (s.u.s.n && s.u.s.n < sizeof buf) {
                memcpy(buf, s.u.s.p, s.u.s.n);
                buf[s.u.s.n] = 0;
                char *end;
                double d = strtod(buf, &end);
                if (*end == 0 && !strchr(buf, 'x') && !strchr(buf, 'X')) { *out = v_float(d); return 0; }
            }
        }
        *out = dv;
        return 0;
    }
    case F_ABS:
        if (x.t == V_INT) { if (x.u.i == INT64_MIN) return rerr(st, at, "integer overflow"); *out = v_int(x.u.i < 0 ? -x.u.i : x.u.i); return 0; }
        if (x.t == V_BOOL) { *out = v_int(x.u.b); return 0; }
        if (x.t == V_FLOAT) { *out = v_float(fabs(x.u.f)); return 0; }
        if (x.t == V_UNDEF) return undef_error(st, at, x);
        return rerr(st, at, "TypeError: bad operand type for abs(): '%s'", val_type_name(x));
    case F_ROUND: return do_round(st, at, x, args, nargs, kwn, kwl, kwv, nkw, out);
    case F_INDENT: return do_indent(st, at, x, args, nargs, kwn, kwl, kwv, nkw, out);
    case F_MAP: {
        val *items;
        size_t n;
        if (iterate(st, at, x, &items, &n)) return -1;
        vlist *l = list_new(st->a, n);
        if (!l) return rerr_oom(st, at);
        val attr = {0}, dflt = {0};
        if (nargs == 0 && ARG(-1, "attribute", &attr)) {
            bool hd = ARG(-1, "default", &dflt);
            for (size_t i = 0; i < n; i++) {
                val v;
                if (attr_path(st, at, items[i], attr, &v)) return -1;
                if (v.t == V_UNDEF && hd) v = dflt;
                l->v[l->n++] = v;
            }
        } else {
            if (nargs == 0 || args[0].t != V_STR) return rerr(st, at, "map requires a filter name or attribute=");
            int fid = filter_lookup(args[0].u.s.p, args[0].u.s.n);
            if (fid < 0) return rerr(st, at, "TemplateRuntimeError: No filter named '%.*s'.", (int)args[0].u.s.n, args[0].u.s.p);
            for (size_t i = 0; i < n; i++)
                if (apply_filter(st, sc, at, fid, items[i], args + 1, nargs - 1, kwn, kwl, kwv, nkw, &l->v[l->n++])) return -1;
        }
        *out = v_list(l, false);
        out->flags = VF_ITER;
        return 0;
    }
    case F_SELECT: case F_REJECT: case F_SELECTATTR: case F_REJECTATTR: {
        bool by_attr = id == F_SELECTATTR || id == F_REJECTATTR;
        bool want = id == F_SELECT || id == F_SELECTATTR;
        val *items;
        size_t n;
        if (iterate(st, at, x, &items, &n)) return -1;
        vlist *l = list_new(st->a, 0);
        if (!l) return rerr_oom(st, at);
        int skip = by_attr ? 1 : 0;
        if (by_attr && nargs < 1) return rerr(st, at, "TypeError: missing attribute for %s", FILTER_NAMES[id]);
        for (size_t i = 0; i < n; i++) {
            val v = items[i];
            if (by_attr && attr_path(st, at, v, args[0], &v)) return -1;
            bool r;
            if (nargs > skip) {
                if (call_test_by_name(st, sc, at, args[skip], v, args + skip + 1, nargs - skip - 1, &r)) return -1;
            } else {
                r = val_truthy(v);
            }
            if (r == want && !list_push(st->a, l, items[i])) return rerr_oom(st, at);
        }
        *out = v_list(l, false);
        out->flags = VF_ITER;
        return 0;
    }
    case F_UNIQUE: {
        val cs = {0}, attr = {0};
        bool ci = !(ARG(0, "case_sensitive", &cs) && val_truthy(cs));
        bool ha = ARG(1, "attribute", &attr) && attr.t != V_NONE;
        val *items;
        size_t n;
        if (iterate(st, at, x, &items, &n)) return -1;
        vlist *l = list_new(st->a, 0), *seen = list_new(st->a, 0);
        if (!l || !seen) return rerr_oom(st, at);
        for (size_t i = 0; i < n; i++) {
            val k = items[i];
            if (ha && attr_path(st, at, k, attr, &k)) return -1;
            if (ci && k.t == V_STR) k = str_case(st->a, k, 'l');
            bool dup = false;
            for (size_t j = 0; j < seen->n && !dup; j++) dup = val_equal(seen->v[j], k);
            if (dup) continue;
            if (!list_push(st->a, seen, k) || !list_push(st->a, l, items[i])) return rerr_oom(st, at);
        }
        *out = v_list(l, false);
        out->flags = VF_ITER;
        return 0;
    }
    case F_SORT: case F_DICTSORT: {
        val rv = {0}, cs = {0}, attr = {0}, by = {0};
        bool rev, ci, ha = false, by_value = false;
        if (id == F_SORT) {
            rev = ARG(0, "reverse", &rv) && val_truthy(rv);
            ci = !(ARG(1, "case_sensitive", &cs) && val_truthy(cs));
            ha = ARG(2, "attribute", &attr) && attr.t != V_NONE;
        } else {
            ci = !(ARG(0, "case_sensitive", &cs) && val_truthy(cs));
            if (ARG(1, "by", &by)) {
                if (by.t == V_STR && by.u.s.n == 5 && !memcmp(by.u.s.p, "value", 5)) by_value = true;
                else if (!(by.t == V_STR && by.u.s.n == 3 && !memcmp(by.u.s.p, "key", 3)))
                    return rerr(st, at, "FilterArgumentError: You can only sort by either \"key\" or \"value\"");
            }
            rev = ARG(2, "reverse", &rv) && val_truthy(rv);
        }
        val *items;
        size_t n;
        if (id == F_DICTSORT) {
            if (x.t != V_DICT) return rerr(st, at, "TypeError: dictsort requires a mapping");
            bool found;
            val pairs;
            if (call_method(st, at, x, "items", 5, NULL, 0, NULL, NULL, NULL, 0, &pairs, &found)) return -1;
            items = pairs.u.l->v;
            n = pairs.u.l->n;
        } else if (iterate(st, at, x, &items, &n)) return -1;
        keyed *ks = arena_alloc(st->a, (n + 1) * sizeof(keyed));
        if (!ks) return rerr_oom(st, at);
        for (size_t i = 0; i < n; i++) {
            ks[i].item = items[i];
            ks[i].key = items[i];
            if (id == F_DICTSORT) ks[i].key = items[i].u.l->v[by_value ? 1 : 0];
            else if (ha) {
                if (attr.t == V_STR && memchr(attr.u.s.p, ',', attr.u.s.n)) {
                    /* "a,b": sort by a tuple of attributes */
                    vlist *tk = list_new(st->a, 2);
                    if (!tk) return rerr_oom(st, at);
                    size_t s0 = 0;
                    for (size_t j = 0; j <= attr.u.s.n; j++) {
                        if (j < attr.u.s.n && attr.u.s.p[j] != ',') continue;
                        val part = str_strip(st->a, v_str(attr.u.s.p + s0, j - s0), NULL, 0, false, true, true), v;
                        if (attr_path(st, at, items[i], part, &v)) return -1;
                        if (!list_push(st->a, tk, v)) return rerr_oom(st, at);
                        s0 = j + 1;
                    }
                    ks[i].key = v_list(tk, true);
                } else if (attr_path(st, at, items[i], attr, &ks[i].key)) return -1;
            }
            if (ks[i].key.t == V_UNDEF) return undef_error(st, at, ks[i].key);
        }
        if (sorted(st, at, ks, n, ci, rev)) return -1;
        vlist *l = list_new(st->a, n);
        if (!l) return rerr_oom(st, at);
        for (size_t i = 0; i < n; i++) l->v[l->n++] = ks[i].item;
        *out = v_list(l, false);
        return 0;
    }
    case F_REVERSE: {
        if (x.t == V_STR) {
            val *items;
            size_t n;
            if (iterate(st, at, x, &items, &n)) return -1;
            sbuf b;
            sbuf_init(&b, st->a);
            sbuf_put(&b, "", 0);
            for (size_t i = n; i-- > 0;) sbuf_put(&b, items[i].u.s.p, items[i].u.s.n);
            if (b.oom) return rerr_oom(st, at);
            *out = v_str(b.p, b.n);
            return 0;
        }
        /* reversed(seq) is an iterator; what cannot be reversed is listed first */
        bool was_iter = x.t == V_LIST && (x.flags & VF_ITER);
        val *items;
        size_t n;
        if (iterate(st, at, x, &items, &n)) return -1;
        vlist *l = list_new(st->a, n);
        if (!l) return rerr_oom(st, at);
        for (size_t i = n; i-- > 0;) l->v[l->n++] = items[i];
        *out = v_list(l, false);
        if (!was_iter && x.t != V_UNDEF) out->flags = VF_ITER;
        return 0;
    }
    case F_BATCH: {
        if (!ARG(0, "linecount", &a0) || a0.t != V_INT || a0.u.i <= 0) return rerr(st, at, "batch requires a positive line count");
        bool fill = ARG(1, "fill_with", &a1) && a1.t != V_NONE;
        val *items;
        size_t n;
        if (iterate(st, at, x, &items, &n)) return -1;
        vlist *l = list_new(st->a, 0), *cur = NULL;
        if (!l) return rerr_oom(st, at);
        for (size_t i = 0; i < n; i++) {
            if (!cur) { cur = list_new(st->a, 0); if (!cur || !list_push(st->a, l, v_list(cur, false))) return rerr_oom(st, at); }
            if (!list_push(st->a, cur, items[i])) return rerr_oom(st, at);
            if ((int64_t)cur->n == a0.u.i) cur = NULL;
        }
        if (cur && fill)
            while ((int64_t)cur->n < a0.u.i)
                if (!list_push(st->a, cur, a1)) return rerr_oom(st, at);
        *out = v_list(l, false);
        out->flags = VF_ITER;
        return 0;
    }
    case F_SUM: {
        val attr = {0}, start = v_int(0);
        bool ha = ARG(0, "attribute", &attr) && attr.t != V_NONE;
        ARG(1, "start", &start);
        val *items;
        size_t n;
        if (iterate(st, at, x, &items, &n)) return -1;
        val acc = start;
        for (size_t i = 0; i < n; i++) {
            val v = items[i];
            if (ha && attr_path(st, at, v, attr, &v)) return -1;
            if (!val_is_number(acc) || !val_is_number(v)) return rerr(st, at, "TypeError: unsupported operand type(s) for +: '%s' and '%s'", val_type_name(acc), val_type_name(v));
            if (acc.t == V_FLOAT || v.t == V_FLOAT) acc = v_float(val_as_double(acc) + val_as_double(v));
            else {
                int64_t r, x1 = acc.t == V_INT ? acc.u.i : acc.u.b, x2 = v.t == V_INT ? v.u.i : v.u.b;
                if (__builtin_add_overflow(x1, x2, &r)) return rerr(st, at, "integer overflow");
                acc = v_int(r);
            }
        }
        *out = acc;
        return 0;
    }
    case F_MIN: case F_MAX: return minmax(st, at, x, id == F_MAX, args, nargs, kwn, kwl, kwv, nkw, out);
    case F_WORDCOUNT: {
        val s = soft_str(st, x);
        int64_t k = 0;
        bool in = false;
        for (size_t i = 0; i < s.u.s.n;) {
            size_t adv;
            uint32_t c = utf8_decode(s.u.s.p + i, s.u.s.n - i, &adv);
            bool w = py_isalnum(c) || c == '_';
            if (w && !in) k++;
            in = w;
            i += adv;
        }
        *out = v_int(k);
        return 0;
    }
    case F_CENTER: {
        int64_t w = 80;
        if (ARG(0, "width", &a0)) { if (a0.t != V_INT) return rerr(st, at, "TypeError: width must be an integer"); w = a0.u.i; }
        bool found;
        val wa = v_int(w);
        return call_method(st, at, soft_str(st, x), "center", 6, &wa, 1, NULL, NULL, NULL, 0, out, &found);
    }
    case F_FORMAT: {
        val s = soft_str(st, x);
        if (nargs && nkw) return rerr(st, at, "FilterArgumentError: can't handle positional and keyword arguments at the same time");
        if (nkw) {
            vdict *d = dict_new(st->a, (size_t)nkw);
            if (!d) return rerr_oom(st, at);
            for (int i = 0; i < nkw; i++) if (!dict_set(st->a, d, v_str(kwn[i], kwl[i]), kwv[i])) return rerr_oom(st, at);
            return str_percent_format(st, at, s, v_dict(d), out);
        }
        vlist *l = list_new(st->a, (size_t)nargs);
        if (!l) return rerr_oom(st, at);
        for (int i = 0; i < nargs; i++) l->v[l->n++] = args[i];
        return str_percent_format(st, at, s, v_list(l, true), out);
    }
    case F_ATTR: {
        if (!ARG(0, "name", &a0) || a0.t != V_STR) return rerr(st, at, "attr requires a name");
        if (x.t == V_DICT || x.t == V_LIST || x.t == V_STR) {
            bool unsafe;
            if (!has_method(x, a0.u.s.p, a0.u.s.n, &unsafe)) { *out = v_undef("no such attribute"); return 0; }
        }
        return get_attr(st, at, x, a0.u.s.p, a0.u.s.n, out);
    }
    case F_TRUNCATE: {
        val s = soft_str(st, x), lv = v_int(255), kv = v_bool(false), ev = v_str("...", 3), lev = v_int(5);
        ARG(0, "length", &lv);
        ARG(1, "killwords", &kv);
        ARG(2, "end", &ev);
        ARG(3, "leeway", &lev);
        if (lv.t != V_INT || lev.t != V_INT || ev.t != V_STR) return rerr(st, at, "TypeError: bad truncate arguments");
        int64_t len = (int64_t)utf8_len(s.u.s.p, s.u.s.n), ln = lv.u.i, el = (int64_t)utf8_len(ev.u.s.p, ev.u.s.n);
        if (ln < el) return rerr(st, at, "expected length >= %lld, got %lld", (long long)el, (long long)ln);
        if (len <= ln + lev.u.i) { *out = s; return 0; }
        size_t cut = utf8_offset(s.u.s.p, s.u.s.n, (size_t)(ln - el));
        sbuf b;
        sbuf_init(&b, st->a);
        if (val_truthy(kv)) {
            sbuf_put(&b, s.u.s.p, cut);
        } else {
            size_t sp = cut;
            while (sp > 0 && s.u.s.p[sp - 1] != ' ') sp--;
            size_t k = sp ? sp - 1 : 0;
            while (k > 0 && s.u.s.p[k - 1] == ' ') k--;
            sbuf_put(&b, s.u.s.p, sp ? k : 0);
        }
        sbuf_put(&b, ev.u.s.p, ev.u.s.n);
        if (b.oom) return rerr_oom(st, at);
        *out = v_str(b.p, b.n);
        return 0;
    }
    case F_STRIPTAGS: {
        val s = soft_str(st, x);
        sbuf b;
        sbuf_init(&b, st->a);
        sbuf_put(&b, "", 0);
        bool intag = false, space = false, any = false;
        for (size_t i = 0; i < s.u.s.n; i++) {
            char c = s.u.s.p[i];
            if (c == '<') { intag = true; continue; }
            if (intag) { if (c == '>') intag = false; continue; }
            if (c == ' ' || c == '\n' || c == '\t' || c == '\r') { space = true; continue; }
            if (space && any) sbuf_putc(&b, ' ');
            space = false;
            any = true;
            sbuf_putc(&b, c);
        }
        if (b.oom) return rerr_oom(st, at);
        *out = v_str(b.p, b.n);
        return 0;
    }
    case F_PPRINT: {
        /* pprint.pformat sorts dict keys; its line wrapping at 80 columns is not reproduced */
        val sx;
        if (sorted_copy(st, at, x, &sx, 0)) return -1;
        sbuf b;
        sbuf_init(&b, st->a);
        sbuf_put(&b, "", 0);
        val_repr(&b, sx);
        if (b.oom) return rerr_oom(st, at);
        *out = v_str(b.p, b.n);
        return 0;
    }
    }
    return rerr(st, at, "internal error: unknown filter");
}
