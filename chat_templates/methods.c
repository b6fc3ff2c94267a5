/* methods.c — methods of str, list and dict as Python has them, with the
 * refusals of jinja2's ImmutableSandboxedEnvironment: calls that would
 * modify a list or dict in place (append, extend, insert, remove, reverse,
 * sort; update, pop, popitem, setdefault, clear) are a SecurityError.
 * list.pop and list.clear are not on jinja2's list and so are allowed. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "chat_templates/internal.h"

bool arg_get(val *args, int nargs, const char **kwn, const size_t *kwl, val *kwv, int nkw,
             int pos, const char *name, val *out) {
    if (pos >= 0 && pos < nargs) { *out = args[pos]; return true; }
    size_t n = strlen(name);
    for (int i = 0; i < nkw; i++)
        if (kwl[i] == n && memcmp(kwn[i], name, n) == 0) { *out = kwv[i]; return true; }
    return false;
}

static const char *const STR_METHODS[] = {
    "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith", "endswith", "upper", "lower",
    "title", "capitalize", "swapcase", "casefold", "replace", "format", "find", "rfind", "index", "rindex",
    "count", "join", "isdigit", "isnumeric", "isdecimal", "isalpha", "isalnum", "isspace", "isupper", "islower",
    "istitle", "zfill", "center", "ljust", "rjust", "partition", "rpartition", "removeprefix", "removesuffix",
    "expandtabs", "encode", NULL};
static const char *const LIST_METHODS[] = {"index", "count", "copy", "pop", "clear", NULL};
static const char *const LIST_UNSAFE[] = {"append", "extend", "insert", "remove", "reverse", "sort", NULL};
static const char *const DICT_METHODS[] = {"items", "keys", "values", "get", "copy", "fromkeys", NULL};
static const char *const DICT_UNSAFE[] = {"update", "pop", "popitem", "setdefault", "clear", NULL};

static bool in_table(const char *const *t, const char *name, size_t n) {
    for (; *t; t++)
        if (strlen(*t) == n && memcmp(*t, name, n) == 0) return true;
    return false;
}

bool has_method(val self, const char *name, size_t n, bool *unsafe) {
    *unsafe = false;
    switch (self.t) {
    case V_STR: return in_table(STR_METHODS, name, n);
    case V_LIST:
        if (self.flags & (VF_VIEW | VF_ITER)) return false;
        if (self.flags & VF_TUPLE) return n == 5 ? memcmp(name, "index", 5) == 0 || memcmp(name, "count", 5) == 0 : false;
        if (in_table(LIST_UNSAFE, name, n)) { *unsafe = true; return true; }
        return in_table(LIST_METHODS, name, n);
    case V_DICT:
        if (in_table(DICT_UNSAFE, name, n)) { *unsafe = true; return true; }
        return in_table(DICT_METHODS, name, n);
    case V_CYCLER: return (n == 4 && memcmp(name, "next", 4) == 0) || (n == 5 && memcmp(name, "reset", 5) == 0);
    case V_LOOP: return (n == 5 && memcmp(name, "cycle", 5) == 0) || (n == 7 && memcmp(name, "changed", 7) == 0);
    case V_FLOAT: return n == 10 && memcmp(name, "is_integer", 10) == 0;
    default: return false;
    }
}

#define IS(s) (n == sizeof(s) - 1 && memcmp(name, s, n) == 0)
#define ARG(i, nm, out) arg_get(args, nargs, kwn, kwl, kwv, nkw, i, nm, out)

static int need_str(rstate *st, const node *at, val v, const char *what) {
    if (v.t != V_STR) return rerr(st, at, "TypeError: %s must be str, not %s", what, val_type_name(v));
    return 0;
}

static int opt_int(rstate *st, const node *at, bool have, val v, int64_t dflt, int64_t *out) {
    if (!have || v.t == V_NONE) { *out = dflt; return 0; }
    if (v.t == V_INT) { *out = v.u.i; return 0; }
    if (v.t == V_BOOL) { *out = v.u.b; return 0; }
    return rerr(st, at, "TypeError: '%s' object cannot be interpreted as an integer", val_type_name(v));
}

static bool is_all(val s, bool (*pred)(uint32_t)) {
    if (s.u.s.n == 0) return false;
    for (size_t i = 0; i < s.u.s.n;) {
        size_t adv;
        if (!pred(utf8_decode(s.u.s.p + i, s.u.s.n - i, &adv))) return false;
        i += adv;
    }
    return true;
}

static int pad(rstate *st, const node *at, val s, int64_t width, val fill, char how, val *out) {
    int64_t len = (int64_t)utf8_len(s.u.s.p, s.u.s.n);
    if (width <= len) { *out = s; return 0; }
    const char *fp = " ";
    size_t fn = 1;
    if (fill.t == V_STR) {
        if (utf8_len(fill.u.s.p, fill.u.s.n) != 1) return rerr(st, at, "TypeError: The fill character must be exactly one character long");
        fp = fill.u.s.p;
        fn = fill.u.s.n;
    }
    int64_t total = width - len, left = 0;
    if (total > ((int64_t)1 << 28)) return rerr(st, at, "MemoryError: padded string too long");
    if (how == 'r') left = total;
    else if (how == 'c') left = total / 2 + (total & width & 1);
    int64_t right = total - left;
    sbuf b;
    sbuf_init(&b, st->a);
    for (int64_t i = 0; i < left; i++) sbuf_put(&b, fp, fn);
    sbuf_put(&b, s.u.s.p, s.u.s.n);
    for (int64_t i = 0; i < right; i++) sbuf_put(&b, fp, fn);
    if (b.oom) return rerr_oom(st, at);
    *out = v_str(b.p, b.n);
    return 0;
}

static int str_method(rstate *st, const node *at, val self, const char *name, size_t n, val *args, int nargs,
                      const char **kwn, const size_t *kwl, val *kwv, int nkw, val *out) {
    val a0 = {0}, a1 = {0}, a2 = {0};
    if (IS("strip") || IS("lstrip") || IS("rstrip")) {
        bool has = ARG(0, "chars", &a0) && a0.t != V_NONE;
        if (has && need_str(st, at, a0, "strip arg")) return -1;
        *out = str_strip(st->a, self, has ? a0.u.s.p : NULL, has ? a0.u.s.n : 0, has, name[0] != 'r', name[0] != 'l');
        return 0;
    }
    if (IS("split") || IS("rsplit")) {
        bool hs = ARG(0, "sep", &a0) && a0.t != V_NONE;
        bool hm = ARG(1, "maxsplit", &a1);
        int64_t maxsplit = -1;
        if (opt_int(st, at, hm, a1, -1, &maxsplit)) return -1;
        if (hs) {
            if (need_str(st, at, a0, "separator")) return -1;
            if (a0.u.s.n == 0) return rerr(st, at, "ValueError: empty separator");
        }
        vlist *l = str_split(st->a, self, hs ? &a0 : NULL, maxsplit, name[0] == 'r');
        if (!l) return rerr_oom(st, at);
        *out = v_list(l, false);
        return 0;
    }
    if (IS("splitlines")) {
        bool keep = ARG(0, "keepends", &a0) && val_truthy(a0);
        vlist *l = list_new(st->a, 0);
        if (!l) return rerr_oom(st, at);
        const char *p = self.u.s.p;
        size_t len = self.u.s.n, i = 0, start = 0;
        while (i < len) {
            size_t adv;
            uint32_t c = utf8_decode(p + i, len - i, &adv);
            bool brk = c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || (c >= 0x1c && c <= 0x1e) || c == 0x85 || c == 0x2028 || c == 0x2029;
            if (!brk) { i += adv; continue; }
            size_t e = i + adv;
            if (c == '\r' && e < len && p[e] == '\n') e++;
            if (!list_push(st->a, l, v_str(p + start, (keep ? e : i) - start))) return rerr_oom(st, at);
            start = i = e;
        }
        if (start < len && !list_push(st->a, l, v_str(p + start, len - start))) return rerr_oom(st, at);
        *out = v_list(l, false);
        return 0;
    }
    if (IS("startswith") || IS("endswith")) {
        if (!ARG(0, "prefix", &a0)) return rerr(st, at, "TypeError: %.*s() takes at least 1 argument (0 given)", (int)n, name);
        int64_t start = 0, end = 0;
        bool hs = ARG(1, "start", &a1), he = ARG(2, "end", &a2);
        if (opt_int(st, at, hs, a1, 0, &start) || opt_int(st, at, he, a2, INT64_MAX / 2, &end)) return -1;
        val sub = self;
        if (hs || he) {
            int64_t len = (int64_t)utf8_len(self.u.s.p, self.u.s.n);
            if (start < 0) { start += len; if (start < 0) start = 0; }
            if (end < 0) { end += len; if (end < 0) end = 0; }
            if (end > len) end = len;
            if (start > len) { *out = v_bool(false); return 0; }
            if (end < start) end = start;
            size_t bs = utf8_offset(self.u.s.p, self.u.s.n, (size_t)start), be = utf8_offset(self.u.s.p, self.u.s.n, (size_t)end);
            sub = v_str(self.u.s.p + bs, be - bs);
        }
        val *cands = &a0;
        size_t nc = 1;
        if (a0.t == V_LIST && (a0.flags & VF_TUPLE)) { cands = a0.u.l->v; nc = a0.u.l->n; }
        bool r = false;
        for (size_t i = 0; i < nc && !r; i++) {
            val c = cands[i];
            if (c.t != V_STR) return rerr(st, at, "TypeError: %.*s first arg must be str or a tuple of str, not %s", (int)n, name, val_type_name(c));
            if (c.u.s.n > sub.u.s.n) continue;
            r = name[0] == 's' ? memcmp(sub.u.s.p, c.u.s.p, c.u.s.n) == 0
                               : memcmp(sub.u.s.p + sub.u.s.n - c.u.s.n, c.u.s.p, c.u.s.n) == 0;
        }
        *out = v_bool(r);
        return 0;
    }
    if (IS("upper")) { *out = str_case(st->a, self, 'u'); return 0; }
    if (IS("lower") || IS("casefold")) { *out = str_case(st->a, self, 'l'); return 0; }
    if (IS("title")) { *out = str_case(st->a, self, 't'); return 0; }
    if (IS("capitalize")) { *out = str_case(st->a, self, 'c'); return 0; }
    if (IS("swapcase")) { *out = str_case(st->a, self, 's'); return 0; }
    if (IS("replace")) {
        if (!ARG(0, "old", &a0) || !ARG(1, "new", &a1)) return rerr(st, at, "TypeError: replace expected at least 2 arguments");
        if (need_str(st, at, a0, "replace() argument 1") || need_str(st, at, a1, "replace() argument 2")) return -1;
        int64_t count = -1;
        bool hc = ARG(2, "count", &a2);
        if (opt_int(st, at, hc, a2, -1, &count)) return -1;
        *out = str_replace(st->a, self, a0, a1, count);
        return 0;
    }
    if (IS("format")) return str_format(st, at, self, args, nargs, kwn, kwl, kwv, nkw, out);
    if (IS("find") || IS("rfind") || IS("index") || IS("rindex")) {
        if (!ARG(0, "sub", &a0)) return rerr(st, at, "TypeError: %.*s() takes at least 1 argument (0 given)", (int)n, name);
        if (need_str(st, at, a0, "substring")) return -1;
        int64_t start = 0, end = 0;
        bool hs = ARG(1, "start", &a1), he = ARG(2, "end", &a2);
        if (opt_int(st, at, hs, a1, 0, &start) || opt_int(st, at, he, a2, INT64_MAX / 2, &end)) return -1;
        int64_t r = str_find(self, a0, start, end, name[0] == 'r');
        if (r < 0 && (IS("index") || IS("rindex"))) return rerr(st, at, "ValueError: substring not found");
        *out = v_int(r);
        return 0;
    }
    if (IS("count")) {
        if (!ARG(0, "sub", &a0) || need_str(st, at, a0, "substring")) return a0.t == V_STR ? -1 : rerr(st, at, "TypeError: count() takes a string");
        *out = v_int(str_count(self, a0));
        return 0;
    }
    if (IS("join")) {
        if (!ARG(0, "iterable", &a0)) return rerr(st, at, "TypeError: join() takes exactly one argument (0 given)");
        val *items;
        size_t cnt;
        if (iterate(st, at, a0, &items, &cnt)) return -1;
        sbuf b;
        sbuf_init(&b, st->a);
        sbuf_put(&b, "", 0);
        for (size_t i = 0; i < cnt; i++) {
            if (items[i].t != V_STR) return rerr(st, at, "TypeError: sequence item %zu: expected str instance, %s found", i, val_type_name(items[i]));
            if (i) sbuf_put(&b, self.u.s.p, self.u.s.n);
            sbuf_put(&b, items[i].u.s.p, items[i].u.s.n);
        }
        if (b.oom) return rerr_oom(st, at);
        *out = v_str(b.p, b.n);
        return 0;
    }
    if (IS("isdigit") || IS("isnumeric") || IS("isdecimal")) { *out = v_bool(is_all(self, py_isdigit)); return 0; }
    if (IS("isalpha")) { *out = v_bool(is_all(self, py_isalpha)); return 0; }
    if (IS("isalnum")) { *out = v_bool(is_all(self, py_isalnum)); return 0; }
    if (IS("isspace")) { *out = v_bool(is_all(self, is_py_space)); return 0; }
    if (IS("isupper") || IS("islower")) {
        bool cased = false, ok = true;
        for (size_t i = 0; i < self.u.s.n;) {
            size_t adv;
            uint32_t c = utf8_decode(self.u.s.p + i, self.u.s.n - i, &adv);
            if (py_isupper(c) || py_islower(c)) {
                cased = true;
                if (name[2] == 'u' ? py_islower(c) : py_isupper(c)) ok = false;
            }
            i += adv;
        }
        *out = v_bool(cased && ok);
        return 0;
    }
    if (IS("istitle")) {
        val t = str_case(st->a, self, 't');
        bool cased = false;
        for (size_t i = 0; i < self.u.s.n; i++) if (((unsigned char)self.u.s.p[i] | 32) >= 'a' && ((unsigned char)self.u.s.p[i] | 32) <= 'z') cased = true;
        *out = v_bool(cased && val_equal(t, self));
        return 0;
    }
    if (IS("zfill")) {
        int64_t w = 0;
        if (!ARG(0, "width", &a0) || opt_int(st, at, true, a0, 0, &w)) return a0.t ? -1 : rerr(st, at, "TypeError: zfill() takes exactly one argument");
        int64_t len = (int64_t)utf8_len(self.u.s.p, self.u.s.n);
        if (w <= len) { *out = self; return 0; }
        if (w - len > ((int64_t)1 << 28)) return rerr(st, at, "MemoryError: padded string too long");
        sbuf b;
        sbuf_init(&b, st->a);
        size_t signlen = self.u.s.n && (self.u.s.p[0] == '-' || self.u.s.p[0] == '+') ? 1 : 0;
        sbuf_put(&b, self.u.s.p, signlen);
        for (int64_t i = 0; i < w - len; i++) sbuf_putc(&b, '0');
        sbuf_put(&b, self.u.s.p + signlen, self.u.s.n - signlen);
        if (b.oom) return rerr_oom(st, at);
        *out = v_str(b.p, b.n);
        return 0;
    }
    if (IS("center") || IS("ljust") || IS("rjust")) {
        int64_t w = 0;
        if (!ARG(0, "width", &a0)) return rerr(st, at, "TypeError: %.*s() takes at least 1 argument", (int)n, name);
        if (opt_int(st, at, true, a0, 0, &w)) return -1;
        ARG(1, "fillchar", &a1);
        return pad(st, at, self, w, a1, name[0] == 'c' ? 'c' : name[0] == 'l' ? 'l' : 'r', out);
    }
    if (IS("partition") || IS("rpartition")) {
        if (!ARG(0, "sep", &a0) || a0.t != V_STR) return rerr(st, at, "TypeError: must be str");
        if (a0.u.s.n == 0) return rerr(st, at, "ValueError: empty separator");
        vlist *l = list_new(st->a, 3);
        if (!l) return rerr_oom(st, at);
        const char *f = NULL;
        if (name[0] == 'p') f = memmem(self.u.s.p, self.u.s.n, a0.u.s.p, a0.u.s.n);
        else
            for (size_t i = self.u.s.n + 1; i-- > 0;)
                if (i + a0.u.s.n <= self.u.s.n && memcmp(self.u.s.p + i, a0.u.s.p, a0.u.s.n) == 0) { f = self.u.s.p + i; break; }
        if (!f) {
            if (name[0] == 'p') { l->v[0] = self; l->v[1] = v_str("", 0); l->v[2] = v_str("", 0); }
            else { l->v[0] = v_str("", 0); l->v[1] = v_str("", 0); l->v[2] = self; }
        } else {
            size_t off = (size_t)(f - self.u.s.p);
            l->v[0] = v_str(self.u.s.p, off);
            l->v[1] = a0;
            l->v[2] = v_str(f + a0.u.s.n, self.u.s.n - off - a0.u.s.n);
        }
        l->n = 3;
        *out = v_list(l, true);
        return 0;
    }
    if (IS("removeprefix") || IS("removesuffix")) {
        if (!ARG(0, "affix", &a0) || need_str(st, at, a0, "argument")) return a0.t == V_STR ? -1 : rerr(st, at, "TypeError: argument required");
        *out = self;
        if (a0.u.s.n <= self.u.s.n) {
            if (name[6] == 'p' && memcmp(self.u.s.p, a0.u.s.p, a0.u.s.n) == 0) *out = v_str(self.u.s.p + a0.u.s.n, self.u.s.n - a0.u.s.n);
            if (name[6] == 's' && memcmp(self.u.s.p + self.u.s.n - a0.u.s.n, a0.u.s.p, a0.u.s.n) == 0) *out = v_str(self.u.s.p, self.u.s.n - a0.u.s.n);
        }
        return 0;
    }
    return rerr(st, at, "str.%.*s() is not supported", (int)n, name);
}

int call_method(rstate *st, const node *at, val self, const char *name, size_t n, val *args, int nargs,
                const char **kwn, const size_t *kwl, val *kwv, int nkw, val *out, bool *found) {
    *found = true;
    val a0 = {0}, a1 = {0};
    bool unsafe;
    if (!has_method(self, name, n, &unsafe)) {
        *found = false;
        return rerr(st, at, "'%s' object has no attribute '%.*s'", val_type_name(self), (int)n, name);
    }
    if (unsafe) return rerr(st, at, "SecurityError: access to attribute '%.*s' of '%s' object is unsafe.", (int)n, name, val_type_name(self));
    switch (self.t) {
    case V_STR: return str_method(st, at, self, name, n, args, nargs, kwn, kwl, kwv, nkw, out);
    case V_LIST: {
        vlist *l = self.u.l;
        if (IS("index") || IS("count")) {
            if (!ARG(0, "value", &a0)) return rerr(st, at, "TypeError: %.*s() takes exactly one argument (0 given)", (int)n, name);
            int64_t k = 0;
            for (size_t i = 0; i < l->n; i++) {
                if (!val_equal(l->v[i], a0)) continue;
                if (IS("index")) { *out = v_int((int64_t)i); return 0; }
                k++;
            }
            if (IS("index")) return rerr(st, at, "ValueError: value is not in list");
            *out = v_int(k);
            return 0;
        }
        if (IS("copy")) {
            vlist *c = list_new(st->a, l->n);
            if (!c) return rerr_oom(st, at);
            if (l->n) memcpy(c->v, l->v, l->n * sizeof(val));
            c->n = l->n;
            *out = v_list(c, false);
            return 0;
        }
        if (IS("clear")) { l->n = 0; *out = v_none(); return 0; }
        if (IS("pop")) {
            int64_t i = -1;
            if (opt_int(st, at, ARG(0, "index", &a0), a0, -1, &i)) return -1;
            if (l->n == 0) return rerr(st, at, "IndexError: pop from empty list");
            if (i < 0) i += (int64_t)l->n;
            if (i < 0 || i >= (int64_t)l->n) return rerr(st, at, "IndexError: pop index out of range");
            *out = l->v[i];
            memmove(l->v + i, l->v + i + 1, (l->n - (size_t)i - 1) * sizeof(val));
            l->n--;
            return 0;
        }
        break;
    }
    case V_DICT: {
        vdict *d = self.u.d;
        if (IS("get")) {
            if (!ARG(0, "key", &a0)) return rerr(st, at, "TypeError: get expected at least 1 argument, got 0");
            val *v = dict_get(d, a0);
            if (v) *out = *v;
            else if (ARG(1, "default", &a1)) *out = a1;
            else *out = v_none();
            return 0;
        }
        if (IS("items") || IS("keys") || IS("values")) {
            vlist *l = list_new(st->a, d->n);
            if (!l) return rerr_oom(st, at);
            for (size_t i = 0; i < d->n; i++) {
                if (IS("keys")) l->v[i] = d->k[i];
                else if (IS("values")) l->v[i] = d->v[i];
                else {
                    vlist *pr = list_new(st->a, 2);
                    if (!pr) return rerr_oom(st, at);
                    pr->v[0] = d->k[i];
                    pr->v[1] = d->v[i];
                    pr->n = 2;
                    l->v[i] = v_list(pr, true);
                }
            }
            l->n = d->n;
            *out = v_list(l, false);
            out->flags = IS("keys") ? VF_KEYS : IS("values") ? VF_VALUES : VF_ITEMS;
            return 0;
        }
        if (IS("copy")) {
            vdict *c = dict_new(st->a, d->n);
            if (!c) return rerr_oom(st, at);
            for (size_t i = 0; i < d->n; i++) { c->k[i] = d->k[i]; c->v[i] = d->v[i]; }
            c->n = d->n;
            *out = v_dict(c);
            return 0;
        }
        break;
    }
    case V_LOOP: {
        loopstate *L = self.u.loop;
        if (IS("cycle")) {
            if (nargs == 0) return rerr(st, at, "TypeError: no items for cycling given");
            *out = args[L->idx % (size_t)nargs];
            return 0;
        }
        if (IS("changed")) {
            vlist *l = list_new(st->a, (size_t)nargs);
            if (!l) return rerr_oom(st, at);
            for (int i = 0; i < nargs; i++) l->v[l->n++] = args[i];
            val now = v_list(l, true);
            bool changed = !L->has_changed || !val_equal(L->last_changed, now);
            L->last_changed = now;
            L->has_changed = true;
            *out = v_bool(changed);
            return 0;
        }
        break;
    }
    case V_CYCLER: {
        vcycler *c = self.u.cyc;
        if (IS("next")) {
            *out = c->items->v[c->pos];
            c->pos = (c->pos + 1) % c->items->n;
            return 0;
        }
        if (IS("reset")) { c->pos = 0; *out = v_none(); return 0; }
        break;
    }
    case V_FLOAT:
        if (IS("is_integer")) { *out = v_bool(isfinite(self.u.f) && self.u.f == trunc(self.u.f)); return 0; }
        break;
    default: break;
    }
    return rerr(st, at, "'%s' object has no attribute '%.*s'", val_type_name(self), (int)n, name);
}
