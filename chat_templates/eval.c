/* eval.c — the tree-walking evaluator: statements write to the output
 * buffer, expressions produce values. Scoping follows jinja2: `for`,
 * macros, call blocks and `with` open a scope, `if` does not; a name not
 * found anywhere is Undefined. Loop iterations, macro recursion and output
 * size are bounded (the sandbox limits). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "chat_templates/internal.h"

int rerr(rstate *st, const node *n, const char *fmt, ...) {
    if (st->failed) return -1;
    st->failed = true;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (st->errlen) {
        if (n) snprintf(st->err, st->errlen, "line %d:%d: %s", n->line, n->col, msg);
        else snprintf(st->err, st->errlen, "%s", msg);
    }
    return -1;
}

int rerr_oom(rstate *st, const node *n) {
    return rerr(st, n, "template render exceeded its memory limit");
}

int undef_error(rstate *st, const node *at, val u) {
    if (u.flags & VF_UNSAFE) return rerr(st, at, "SecurityError: %.*s", (int)u.u.s.n, u.u.s.p);
    if (u.why == UNDEF_NAME) return rerr(st, at, "UndefinedError: '%.*s' is undefined", (int)u.u.s.n, u.u.s.p);
    if (u.why == UNDEF_ATTR) {
        val o = {0};
        o.t = u.objt;
        if (o.t == V_NONE) return rerr(st, at, "UndefinedError: 'None' has no attribute '%.*s'", (int)u.u.s.n, u.u.s.p);
        return rerr(st, at, "UndefinedError: '%s object' has no attribute '%.*s'", val_type_name(o), (int)u.u.s.n, u.u.s.p);
    }
    if (u.u.s.p) return rerr(st, at, "UndefinedError: %.*s", (int)u.u.s.n, u.u.s.p);
    return rerr(st, at, "UndefinedError: value is undefined");
}

int check_deadline(rstate *st, const node *at) {
    if ((++st->tick & 255) != 0) return 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if ((double)ts.tv_sec + (double)ts.tv_nsec * 1e-9 <= st->deadline) return 0;
    return rerr(st, at, "template render exceeded its time limit");
}

/* ---------- scopes */

static scope *scope_new(rstate *st, scope *parent) {
    scope *s = arena_alloc(st->a, sizeof *s);
    if (!s) return NULL;
    memset(s, 0, sizeof *s);
    s->parent = parent;
    return s;
}

static val *scope_find(scope *s, int sym) {
    for (; s; s = s->parent) {
        if (s->dense) return &s->dense[sym];
        for (int i = 0; i < s->n; i++)
            if (s->syms[i] == sym) return &s->vals[i];
    }
    return NULL;
}

static int scope_set(rstate *st, scope *s, int sym, val v) {
    if (s->dense) { s->dense[sym] = v; return 0; }
    for (int i = 0; i < s->n; i++)
        if (s->syms[i] == sym) { s->vals[i] = v; return 0; }
    if (s->n == s->cap) {
        int nc = s->cap ? s->cap * 2 : 4;
        int *ns = arena_realloc(st->a, s->syms, (size_t)s->cap * sizeof(int), (size_t)nc * sizeof(int));
        val *nv = arena_realloc(st->a, s->vals, (size_t)s->cap * sizeof(val), (size_t)nc * sizeof(val));
        if (!ns || !nv) return rerr_oom(st, NULL);
        s->syms = ns;
        s->vals = nv;
        s->cap = nc;
    }
    s->syms[s->n] = sym;
    s->vals[s->n] = v;
    s->n++;
    return 0;
}

static val lookup(rstate *st, scope *s, const node *n) {
    val *v = scope_find(s, n->sym);
    if (v) return *v;
    (void)st;
    return v_undef(NULL);
}

/* ---------- output */

static int emit(rstate *st, const node *at, const char *p, size_t n) {
    if (!sbuf_put(st->out, p, n)) {
        if (st->out->overflow) return rerr(st, at, "template output exceeds the limit of %zu bytes", st->out->limit);
        return rerr_oom(st, at);
    }
    return 0;
}

static int emit_val(rstate *st, const node *at, val v) {
    if (v.t == V_STR) return emit(st, at, v.u.s.p, v.u.s.n);
    if (v.t == V_UNDEF) return 0;
    if (!val_str(st->out, v)) {
        if (st->out->overflow) return rerr(st, at, "template output exceeds the limit of %zu bytes", st->out->limit);
        return rerr_oom(st, at);
    }
    return 0;
}

/* run body into a fresh buffer and return it as a string value */
static int exec_body(rstate *st, scope *sc, node **body, int n);
static int capture(rstate *st, scope *sc, node **body, int n, val *out) {
    sbuf *saved = st->out;
    sbuf b;
    sbuf_init(&b, st->a);
    b.limit = saved->limit;
    st->out = &b;
    int r = exec_body(st, sc, body, n);
    st->out = saved;
    if (r) return r;
    *out = v_str(b.p ? b.p : "", b.n);
    return 0;
}

/* ---------- expressions */

static int eval_args(rstate *st, scope *sc, const node *n, val **args, int *nargs, val **kwv, int *nkw,
                     const char ***kwn, size_t **kwl) {
    int na = n->nitems, nk = n->nitems2;
    val dyn = {0}, dynk = {0};
    if (n->dynargs) {
        if (eval_expr(st, sc, n->dynargs, &dyn)) return -1;
        if (dyn.t != V_LIST) return rerr(st, n, "argument after * must be a sequence");
        na += (int)dyn.u.l->n;
    }
    if (n->dynkwargs) {
        if (eval_expr(st, sc, n->dynkwargs, &dynk)) return -1;
        if (dynk.t != V_DICT) return rerr(st, n, "argument after ** must be a mapping");
        nk += (int)dynk.u.d->n;
    }
    val *a = na ? arena_alloc(st->a, (size_t)na * sizeof(val)) : NULL;
    val *kv = nk ? arena_alloc(st->a, (size_t)nk * sizeof(val)) : NULL;
    if ((na && !a) || (nk && !kv)) return rerr_oom(st, n);
    for (int i = 0; i < n->nitems; i++)
        if (eval_expr(st, sc, n->items[i], &a[i])) return -1;
    if (n->dynargs)
        for (size_t i = 0; i < dyn.u.l->n; i++) a[n->nitems + (int)i] = dyn.u.l->v[i];
    for (int i = 0; i < n->nitems2; i++)
        if (eval_expr(st, sc, n->items2[i], &kv[i])) return -1;
    const char **names = (const char **)n->names;
    size_t *lens = n->namelens;
    if (n->dynkwargs && dynk.u.d->n) {
        names = arena_alloc(st->a, (size_t)nk * sizeof(char *));
        lens = arena_alloc(st->a, (size_t)nk * sizeof(size_t));
        if (!names || !lens) return rerr_oom(st, n);
        for (int i = 0; i < n->nitems2; i++) { names[i] = n->names[i]; lens[i] = n->namelens[i]; }
        for (size_t i = 0; i < dynk.u.d->n; i++) {
            val k = dynk.u.d->k[i];
            if (k.t != V_STR) return rerr(st, n, "keywords must be strings");
            names[n->nitems2 + (int)i] = k.u.s.p;
            lens[n->nitems2 + (int)i] = k.u.s.n;
            kv[n->nitems2 + (int)i] = dynk.u.d->v[i];
        }
    }
    *args = a;
    *nargs = na;
    *kwv = kv;
    *nkw = nk;
    *kwn = names;
    *kwl = lens;
    return 0;
}

static bool to_index(val v, int64_t *out) {
    if (v.t == V_INT) { *out = v.u.i; return true; }
    if (v.t == V_BOOL) { *out = v.u.b; return true; }
    return false;
}

/* Python slice semantics on a list, tuple or str */
static int do_slice(rstate *st, const node *at, val obj, val lo, val hi, val step, val *out) {
    int64_t len;
    bool ascii = true;
    if (obj.t == V_UNDEF) return undef_error(st, at, obj);
    /* jinja2 slices with Python's own subscription: no undefined fallback */
    if (obj.t == V_DICT) return rerr(st, at, "TypeError: unhashable type: 'slice'");
    if ((obj.t != V_LIST && obj.t != V_STR) || (obj.flags & (VF_VIEW | VF_ITER)))
        return rerr(st, at, "TypeError: '%s' object is not subscriptable", val_type_name(obj));
    if (obj.t == V_LIST) len = (int64_t)obj.u.l->n;
    else if (obj.t == V_STR) {
        len = (int64_t)utf8_len(obj.u.s.p, obj.u.s.n);
        ascii = (size_t)len == obj.u.s.n;
    } else if (obj.t == V_UNDEF) return undef_error(st, at, obj);
    else return rerr(st, at, "'%s' object is not subscriptable", val_type_name(obj));
    int64_t a, b, s = 1;
    if (step.t != V_NONE && step.t != V_UNDEF) {
        if (!to_index(step, &s)) return rerr(st, at, "slice indices must be integers or None");
        if (s == 0) return rerr(st, at, "slice step cannot be zero");
    }
    if (lo.t == V_NONE || lo.t == V_UNDEF) a = s < 0 ? len - 1 : 0;
    else {
        if (!to_index(lo, &a)) return rerr(st, at, "slice indices must be integers or None");
        if (a < 0) { a += len; if (a < 0) a = s < 0 ? -1 : 0; }
        else if (a >= len) a = s < 0 ? len - 1 : len;
    }
    if (hi.t == V_NONE || hi.t == V_UNDEF) b = s < 0 ? -1 : len;
    else {
        if (!to_index(hi, &b)) return rerr(st, at, "slice indices must be integers or None");
        if (b < 0) { b += len; if (b < 0) b = s < 0 ? -1 : 0; }
        else if (b >= len) b = s < 0 ? len - 1 : len;
    }
    if (obj.t == V_LIST) {
        vlist *l = list_new(st->a, 0);
        if (!l) return rerr_oom(st, at);
        for (int64_t i = a; s > 0 ? i < b : i > b;) {
            if (!list_push(st->a, l, obj.u.l->v[i])) return rerr_oom(st, at);
            if (__builtin_add_overflow(i, s, &i)) break;
        }
        *out = v_list(l, obj.flags & VF_TUPLE);
        return 0;
    }
    if (s == 1 && ascii) { *out = v_str(obj.u.s.p + a, b > a ? (size_t)(b - a) : 0); return 0; }
    if (s == 1) {
        if (b <= a) { *out = v_str("", 0); return 0; }
        size_t ba = utf8_offset(obj.u.s.p, obj.u.s.n, (size_t)a);
        size_t bb = utf8_offset(obj.u.s.p, obj.u.s.n, (size_t)b);
        *out = v_str(obj.u.s.p + ba, bb - ba);
        return 0;
    }
    /* general step: index code point offsets */
    size_t *offs = arena_alloc(st->a, (size_t)(len + 1) * sizeof(size_t));
    if (!offs) return rerr_oom(st, at);
    size_t k = 0;
    for (size_t i = 0; i < obj.u.s.n; i++)
        if (((unsigned char)obj.u.s.p[i] & 0xC0) != 0x80) offs[k++] = i;
    offs[k] = obj.u.s.n;
    sbuf bb;
    sbuf_init(&bb, st->a);
    sbuf_put(&bb, "", 0);
    for (int64_t i = a; s > 0 ? i < b : i > b;) {
        sbuf_put(&bb, obj.u.s.p + offs[i], offs[i + 1] - offs[i]);
        if (__builtin_add_overflow(i, s, &i)) break;
    }
    if (bb.oom) return rerr_oom(st, at);
    *out = v_str(bb.p, bb.n);
    return 0;
}

static val method_val(rstate *st, val self, const char *name, size_t n) {
    vmethod *m = arena_alloc(st->a, sizeof *m);
    if (!m) return v_undef(NULL);
    m->self = self;
    m->name = name;
    m->n = n;
    val v = {0};
    v.t = V_METHOD;
    v.u.meth = m;
    return v;
}

static val attr_undef(rstate *st, val obj, const char *name, size_t n) {
    (void)st;
    val u = v_undef(NULL);
    u.why = UNDEF_ATTR;
    u.objt = obj.t;
    u.u.s.p = name;
    u.u.s.n = n;
    return u;
}

static val unsafe_undef(rstate *st, val obj, const char *name, size_t n) {
    sbuf b;
    sbuf_init(&b, st->a);
    sbuf_printf(&b, "access to attribute '%.*s' of '%s' object is unsafe.", (int)n, name, val_type_name(obj));
    val u = v_undef(NULL);
    u.flags = VF_UNSAFE;
    u.u.s.p = b.p;
    u.u.s.n = b.n;
    return u;
}

static int loop_attr(rstate *st, const node *at, loopstate *L, const char *name, size_t n, val *out) {
#define IS(s) (n == sizeof(s) - 1 && memcmp(name, s, n) == 0)
    int64_t idx = (int64_t)L->idx, len = (int64_t)L->n;
    if (L->live) {
        /* jinja2 measures the list when loop.length (or revindex) is first asked for */
        if ((IS("length") || IS("revindex") || IS("revindex0")) && !L->has_length) {
            L->length = (int64_t)L->live->n;
            L->has_length = true;
        }
        if (IS("length") || IS("revindex") || IS("revindex0")) len = L->length;
        else { len = (int64_t)L->live->n; L->items = L->live->v; } /* last, nextitem: peek the live list */
    }
    if (IS("index")) *out = v_int(idx + 1);
    else if (IS("index0")) *out = v_int(idx);
    else if (IS("revindex")) *out = v_int(len - idx);
    else if (IS("revindex0")) *out = v_int(len - idx - 1);
    else if (IS("first")) *out = v_bool(idx == 0);
    else if (IS("last")) *out = v_bool(idx == len - 1);
    else if (IS("length")) *out = v_int(len);
    else if (IS("depth")) *out = v_int(L->depth0 + 1);
    else if (IS("depth0")) *out = v_int(L->depth0);
    else if (IS("previtem")) *out = idx > 0 ? L->items[idx - 1] : v_undef("there is no previous item");
    else if (IS("nextitem")) *out = idx + 1 < len ? L->items[idx + 1] : v_undef("there is no next item");
    else if (IS("cycle") || IS("changed")) {
        val self = {0};
        self.t = V_LOOP;
        self.u.loop = L;
        *out = method_val(st, self, name, n);
    } else {
        val self = {0};
        self.t = V_LOOP;
        *out = attr_undef(st, self, name, n);
    }
    (void)at;
    return 0;
#undef IS
}

int get_attr(rstate *st, const node *at, val obj, const char *name, size_t n, val *out) {
    bool unsafe = false;
    switch (obj.t) {
    case V_UNDEF: return undef_error(st, at, obj);
    case V_LOOP: return loop_attr(st, at, obj.u.loop, name, n, out);
    case V_NS: {
        val *v = dict_get_str(obj.u.d, name, n);
        *out = v ? *v : attr_undef(st, obj, name, n);
        return 0;
    }
    case V_DICT:
        if (has_method(obj, name, n, &unsafe)) break;
        {
            val *v = dict_get_str(obj.u.d, name, n);
            *out = v ? *v : attr_undef(st, obj, name, n);
            return 0;
        }
    case V_CYCLER:
        if (n == 7 && memcmp(name, "current", 7) == 0) {
            *out = obj.u.cyc->items->v[obj.u.cyc->pos];
            return 0;
        }
        break;
    default: break;
    }
    if (n > 0 && name[0] == '_') { *out = attr_undef(st, obj, name, n); return 0; }
    if (has_method(obj, name, n, &unsafe)) {
        *out = unsafe ? unsafe_undef(st, obj, name, n) : method_val(st, obj, name, n);
        return 0;
    }
    *out = attr_undef(st, obj, name, n);
    return 0;
}

int get_item(rstate *st, const node *at, val obj, val key, val *out) {
    switch (obj.t) {
    case V_UNDEF: return undef_error(st, at, obj);
    case V_DICT: {
        val *v = dict_get(obj.u.d, key);
        if (v) { *out = *v; return 0; }
        break;
    }
    case V_LIST: {
        int64_t i;
        if ((obj.flags & (VF_VIEW | VF_ITER)) && key.t != V_STR) { *out = v_undef("object is not subscriptable"); return 0; }
        if (to_index(key, &i)) {
            int64_t n = (int64_t)obj.u.l->n;
            if (i < 0) i += n;
            if (i >= 0 && i < n) { *out = obj.u.l->v[i]; return 0; }
            *out = v_undef("list index out of range");
            return 0;
        }
        break;
    }
    case V_STR: {
        int64_t i;
        if (to_index(key, &i)) {
            int64_t n = (int64_t)utf8_len(obj.u.s.p, obj.u.s.n);
            if (i < 0) i += n;
            if (i >= 0 && i < n) {
                size_t b = (size_t)n == obj.u.s.n ? (size_t)i : utf8_offset(obj.u.s.p, obj.u.s.n, (size_t)i);
                size_t adv;
                utf8_decode(obj.u.s.p + b, obj.u.s.n - b, &adv);
                *out = v_str(obj.u.s.p + b, adv);
                return 0;
            }
            *out = v_undef("string index out of range");
            return 0;
        }
        break;
    }
    default: break;
    }
    if (key.t == V_STR && obj.t != V_DICT) return get_attr(st, at, obj, key.u.s.p, key.u.s.n, out);
    if (key.t == V_STR) {
        bool unsafe;
        if (has_method(obj, key.u.s.p, key.u.s.n, &unsafe)) return get_attr(st, at, obj, key.u.s.p, key.u.s.n, out);
    }
    sbuf b;
    sbuf_init(&b, st->a);
    sbuf_printf(&b, "'%s object' has no attribute '", obj.t == V_DICT ? "dict" : val_type_name(obj));
    val_str(&b, key);
    sbuf_putc(&b, '\'');
    val u = v_undef(NULL);
    u.u.s.p = b.p;
    u.u.s.n = b.n;
    *out = u;
    return 0;
}

int iterate(rstate *st, const node *at, val v, val **items, size_t *n) {
    switch (v.t) {
    case V_LIST:
        *items = v.u.l->v;
        *n = v.u.l->n;
        if (v.flags & VF_ITER) v.u.l->n = 0; /* a Python iterator is spent once iterated */
        return 0;
    case V_DICT: *items = v.u.d->k; *n = v.u.d->n; return 0;
    case V_UNDEF:
        if (v.flags & VF_UNSAFE) return undef_error(st, at, v);
        *items = NULL; *n = 0; return 0;
    case V_STR: {
        size_t cnt = utf8_len(v.u.s.p, v.u.s.n);
        val *arr = arena_alloc(st->a, (cnt + 1) * sizeof(val));
        if (!arr) return rerr_oom(st, at);
        size_t k = 0;
        for (size_t i = 0; i < v.u.s.n;) {
            size_t adv;
            utf8_decode(v.u.s.p + i, v.u.s.n - i, &adv);
            arr[k++] = v_str(v.u.s.p + i, adv);
            i += adv;
        }
        *items = arr;
        *n = k;
        return 0;
    }
    case V_CYCLER: *items = v.u.cyc->items->v; *n = v.u.cyc->items->n; return 0;
    default: return rerr(st, at, "TypeError: '%s' object is not iterable", val_type_name(v));
    }
}

static int check_undef2(rstate *st, const node *at, val a, val b) {
    if (a.t == V_UNDEF) return undef_error(st, at, a);
    if (b.t == V_UNDEF) return undef_error(st, at, b);
    return 0;
}

static const char *opname(int op) {
    switch (op) {
    case OP_ADD: return "+"; case OP_SUB: return "-"; case OP_MUL: return "*"; case OP_DIV: return "/";
    case OP_FLOORDIV: return "//"; case OP_MOD: return "%"; case OP_POW: return "**";
    default: return "?";
    }
}

static int repeat_seq(rstate *st, const node *at, val seq, int64_t times, val *out) {
    if (times < 0) times = 0;
    if ((seq.t == V_STR && seq.u.s.n == 0) || (seq.t == V_LIST && seq.u.l->n == 0)) times = 0; /* empty stays empty, at once */
    if (seq.t == V_STR) {
        size_t total;
        if (__builtin_mul_overflow(seq.u.s.n, (size_t)times, &total)) return rerr_oom(st, at);
        char *p = arena_alloc(st->a, total + 1);
        if (!p) return rerr_oom(st, at);
        for (int64_t i = 0; i < times; i++) memcpy(p + (size_t)i * seq.u.s.n, seq.u.s.p, seq.u.s.n);
        *out = v_str(p, total);
        return 0;
    }
    size_t total;
    if (__builtin_mul_overflow(seq.u.l->n, (size_t)times, &total) || total > ((size_t)1 << 28)) return rerr_oom(st, at);
    vlist *l = list_new(st->a, total);
    if (!l) return rerr_oom(st, at);
    for (int64_t i = 0; i < times; i++)
        for (size_t j = 0; j < seq.u.l->n; j++) l->v[l->n++] = seq.u.l->v[j];
    *out = v_list(l, seq.flags & VF_TUPLE);
    return 0;
}

int str_percent_format(rstate *st, const node *at, val fmt, val args, val *out);

static int binop(rstate *st, const node *at, int op, val a, val b, val *out) {
    if (check_undef2(st, at, a, b)) return -1;
    bool an = val_is_number(a), bn = val_is_number(b);
    if (an && bn) {
        bool fl = a.t == V_FLOAT || b.t == V_FLOAT;
        if (!fl) {
            int64_t x = a.t == V_BOOL ? a.u.b : a.u.i, y = b.t == V_BOOL ? b.u.b : b.u.i, r;
            switch (op) {
            case OP_ADD: if (__builtin_add_overflow(x, y, &r)) goto overflow; *out = v_int(r); return 0;
            case OP_SUB: if (__builtin_sub_overflow(x, y, &r)) goto overflow; *out = v_int(r); return 0;
            case OP_MUL: if (__builtin_mul_overflow(x, y, &r)) goto overflow; *out = v_int(r); return 0;
            case OP_DIV:
                if (y == 0) return rerr(st, at, "ZeroDivisionError: division by zero");
                *out = v_float((double)x / (double)y);
                return 0;
            case OP_FLOORDIV: case OP_MOD: {
                if (y == 0) return rerr(st, at, "ZeroDivisionError: integer division or modulo by zero");
                if (x == INT64_MIN && y == -1) goto overflow;
                int64_t q = x / y, m = x % y;
                if (m != 0 && ((m < 0) != (y < 0))) { q--; m += y; }
                *out = v_int(op == OP_MOD ? m : q);
                return 0;
            }
            case OP_POW:
                if (y < 0 && x == 0) return rerr(st, at, "ZeroDivisionError: 0.0 cannot be raised to a negative power");
                if (y < 0) { *out = v_float(pow((double)x, (double)y)); return 0; }
                r = 1;
                for (int64_t i = 0; i < y; i++) {
                    if (__builtin_mul_overflow(r, x, &r)) goto overflow;
                    if (r == 0 || r == 1) break;
                }
                if (r == -1 || r == 1) r = (x == -1 && (y & 1)) ? -1 : (x == 0 && y > 0) ? 0 : r;
                *out = v_int(r);
                return 0;
            }
        }
        double x = val_as_double(a), y = val_as_double(b);
        switch (op) {
        case OP_ADD: *out = v_float(x + y); return 0;
        case OP_SUB: *out = v_float(x - y); return 0;
        case OP_MUL: *out = v_float(x * y); return 0;
        case OP_DIV:
            if (y == 0) return rerr(st, at, "ZeroDivisionError: float division by zero");
            *out = v_float(x / y);
            return 0;
        case OP_FLOORDIV: case OP_MOD: {
            if (y == 0) return rerr(st, at, op == OP_MOD ? "ZeroDivisionError: float modulo" : "ZeroDivisionError: float floor division by zero");
            /* CPython's float divmod: the quotient from the exact remainder */
            double m = fmod(x, y), q = (x - m) / y;
            if (m != 0) {
                if ((y < 0) != (m < 0)) { m += y; q -= 1.0; }
            } else {
                m = copysign(0.0, y);
            }
            double fq;
            if (q != 0) {
                fq = floor(q);
                if (q - fq > 0.5) fq += 1.0;
            } else {
                fq = copysign(0.0, x / y);
            }
            *out = v_float(op == OP_MOD ? m : fq);
            return 0;
        }
        case OP_POW:
            if (x == 0 && y < 0) return rerr(st, at, "ZeroDivisionError: 0.0 cannot be raised to a negative power");
            *out = v_float(pow(x, y));
            return 0;
        }
    }
    if (op == OP_ADD && a.t == V_STR && b.t == V_STR) {
        char *p = arena_alloc(st->a, a.u.s.n + b.u.s.n + 1);
        if (!p) return rerr_oom(st, at);
        memcpy(p, a.u.s.p, a.u.s.n);
        memcpy(p + a.u.s.n, b.u.s.p, b.u.s.n);
        *out = v_str(p, a.u.s.n + b.u.s.n);
        return 0;
    }
    if (op == OP_ADD && a.t == V_LIST && b.t == V_LIST && (a.flags & VF_SEQKIND) == (b.flags & VF_SEQKIND) && !(a.flags & (VF_VIEW | VF_ITER))) {
        vlist *l = list_new(st->a, a.u.l->n + b.u.l->n);
        if (!l) return rerr_oom(st, at);
        for (size_t i = 0; i < a.u.l->n; i++) l->v[l->n++] = a.u.l->v[i];
        for (size_t i = 0; i < b.u.l->n; i++) l->v[l->n++] = b.u.l->v[i];
        *out = v_list(l, a.flags & VF_TUPLE);
        return 0;
    }
    if (op == OP_MUL && (a.t == V_STR || (a.t == V_LIST && !(a.flags & (VF_VIEW | VF_ITER)))) && (b.t == V_INT || b.t == V_BOOL))
        return repeat_seq(st, at, a, b.t == V_INT ? b.u.i : b.u.b, out);
    if (op == OP_MUL && (b.t == V_STR || (b.t == V_LIST && !(b.flags & (VF_VIEW | VF_ITER)))) && (a.t == V_INT || a.t == V_BOOL))
        return repeat_seq(st, at, b, a.t == V_INT ? a.u.i : a.u.b, out);
    if (op == OP_MOD && a.t == V_STR) return str_percent_format(st, at, a, b, out);
    return rerr(st, at, "TypeError: unsupported operand type(s) for %s: '%s' and '%s'", opname(op), val_type_name(a), val_type_name(b));
overflow:
    return rerr(st, at, "integer overflow in '%s'", opname(op));
}

static int contains(rstate *st, const node *at, val needle, val hay, bool *out) {
    switch (hay.t) {
    case V_STR:
        if (needle.t != V_STR) return rerr(st, at, "TypeError: 'in <string>' requires string as left operand, not %s", val_type_name(needle));
        *out = needle.u.s.n == 0 || memmem(hay.u.s.p, hay.u.s.n, needle.u.s.p, needle.u.s.n) != NULL;
        return 0;
    case V_LIST:
        for (size_t i = 0; i < hay.u.l->n; i++)
            if (val_equal(hay.u.l->v[i], needle)) { *out = true; return 0; }
        *out = false;
        return 0;
    case V_DICT: case V_NS:
        if ((needle.t == V_LIST && !(needle.flags & VF_TUPLE)) || needle.t == V_DICT)
            return rerr(st, at, "TypeError: unhashable type: '%s'", val_type_name(needle));
        *out = dict_get(hay.u.d, needle) != NULL;
        return 0;
    case V_UNDEF:
        if (hay.flags & VF_UNSAFE) return undef_error(st, at, hay);
        *out = false;
        return 0;
    default:
        return rerr(st, at, "TypeError: argument of type '%s' is not iterable", val_type_name(hay));
    }
}

static int compare_op(rstate *st, const node *at, int code, val a, val b, bool *out) {
    switch (code) {
    case OP_EQ: *out = val_equal(a, b); return 0;
    case OP_NE: *out = !val_equal(a, b); return 0;
    case CMP_IN: return contains(st, at, a, b, out);
    case CMP_NOTIN: if (contains(st, at, a, b, out)) return -1; *out = !*out; return 0;
    }
    if (check_undef2(st, at, a, b)) return -1;
    int c = val_compare(a, b, false);
    if (c == -2) {
        const char *sym = code == OP_LT ? "<" : code == OP_LE ? "<=" : code == OP_GT ? ">" : ">=";
        return rerr(st, at, "TypeError: '%s' not supported between instances of '%s' and '%s'", sym, val_type_name(a), val_type_name(b));
    }
    switch (code) {
    case OP_LT: *out = c < 0; break;
    case OP_LE: *out = c <= 0; break;
    case OP_GT: *out = c > 0; break;
    default: *out = c >= 0; break;
    }
    return 0;
}

static int apply_filter_node(rstate *st, scope *sc, const node *f, val x, val *out) {
    val *args, *kwv;
    int na, nk;
    const char **kwn;
    size_t *kwl;
    if (eval_args(st, sc, f, &args, &na, &kwv, &nk, &kwn, &kwl)) return -1;
    return apply_filter(st, sc, f, f->op, x, args, na, kwn, kwl, kwv, nk, out);
}

/* filter chain whose innermost operand is NULL (set blocks, filter blocks) */
static int apply_chain(rstate *st, scope *sc, const node *f, val x, val *out) {
    if (!f) { *out = x; return 0; }
    val inner;
    if (apply_chain(st, sc, f->a, x, &inner)) return -1;
    return apply_filter_node(st, sc, f, inner, out);
}

static int stack_exhausted(rstate *st, const node *n) {
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    uintptr_t used = st->stack_base > here ? st->stack_base - here : here - st->stack_base;
    if (used < RENDER_STACK_BUDGET) return 0;
    return rerr(st, n, "maximum recursion depth exceeded: template nesting needs more than %zu KiB of stack",
                (size_t)(RENDER_STACK_BUDGET >> 10));
}

int eval_expr(rstate *st, scope *sc, const node *n, val *out) {
    if (stack_exhausted(st, n)) return -1;
    switch (n->kind) {
    case N_CONST: *out = n->lit; return 0;
    case N_NAME: {
        *out = lookup(st, sc, n);
        if (out->t == V_UNDEF && !out->u.s.p) {
            out->why = UNDEF_NAME;
            out->u.s.p = n->name;
            out->u.s.n = n->namelen;
        }
        return 0;
    }
    case N_LIST: case N_TUPLE: {
        vlist *l = list_new(st->a, (size_t)n->nitems);
        if (!l) return rerr_oom(st, n);
        for (int i = 0; i < n->nitems; i++)
            if (eval_expr(st, sc, n->items[i], &l->v[l->n++])) return -1;
        *out = v_list(l, n->kind == N_TUPLE);
        return 0;
    }
    case N_DICT: {
        vdict *d = dict_new(st->a, (size_t)n->nitems);
        if (!d) return rerr_oom(st, n);
        for (int i = 0; i < n->nitems; i++) {
            val k, v;
            if (eval_expr(st, sc, n->items[i], &k) || eval_expr(st, sc, n->items2[i], &v)) return -1;
            if (k.t == V_LIST && !(k.flags & VF_TUPLE)) return rerr(st, n, "TypeError: unhashable type: 'list'");
            if (k.t == V_DICT) return rerr(st, n, "TypeError: unhashable type: 'dict'");
            if (!dict_set(st->a, d, k, v)) return rerr_oom(st, n);
        }
        *out = v_dict(d);
        return 0;
    }
    case N_GETATTR: {
        val obj;
        if (eval_expr(st, sc, n->a, &obj)) return -1;
        if (obj.t == V_DICT && !n->flag) {
            /* the name is no method of any type (decided at parse time): a plain key lookup */
            val *v = dict_get_str(obj.u.d, n->name, n->namelen);
            *out = v ? *v : attr_undef(st, obj, n->name, n->namelen);
            return 0;
        }
        return get_attr(st, n, obj, n->name, n->namelen, out);
    }
    case N_GETITEM: {
        val obj;
        if (eval_expr(st, sc, n->a, &obj)) return -1;
        if (n->b->kind == N_SLICE) {
            val lo = v_none(), hi = v_none(), step = v_none();
            if ((n->b->a && eval_expr(st, sc, n->b->a, &lo)) || (n->b->b && eval_expr(st, sc, n->b->b, &hi)) ||
                (n->b->c && eval_expr(st, sc, n->b->c, &step)))
                return -1;
            return do_slice(st, n, obj, lo, hi, step, out);
        }
        val key;
        if (eval_expr(st, sc, n->b, &key)) return -1;
        return get_item(st, n, obj, key, out);
    }
    case N_CALL: {
        val *args, *kwv;
        int na, nk;
        const char **kwn;
        size_t *kwl;
        if (n->a->kind == N_GETATTR) {
            /* obj.method(...): call the method without materialising it */
            val obj;
            if (eval_expr(st, sc, n->a->a, &obj)) return -1;
            bool unsafe = false;
            if (obj.t != V_UNDEF && obj.t != V_LOOP && obj.t != V_NS && has_method(obj, n->a->name, n->a->namelen, &unsafe) && !unsafe &&
                !(n->a->namelen && n->a->name[0] == '_')) {
                if (eval_args(st, sc, n, &args, &na, &kwv, &nk, &kwn, &kwl)) return -1;
                bool found;
                return call_method(st, n, obj, n->a->name, n->a->namelen, args, na, kwn, kwl, kwv, nk, out, &found);
            }
            val fn;
            if (get_attr(st, n->a, obj, n->a->name, n->a->namelen, &fn)) return -1;
            if (eval_args(st, sc, n, &args, &na, &kwv, &nk, &kwn, &kwl)) return -1;
            return call_value(st, sc, n, fn, args, na, kwn, kwl, kwv, nk, out);
        }
        val fn;
        if (eval_expr(st, sc, n->a, &fn)) return -1;
        if (eval_args(st, sc, n, &args, &na, &kwv, &nk, &kwn, &kwl)) return -1;
        return call_value(st, sc, n, fn, args, na, kwn, kwl, kwv, nk, out);
    }
    case N_FILTER: {
        val x;
        if (eval_expr(st, sc, n->a, &x)) return -1;
        return apply_filter_node(st, sc, n, x, out);
    }
    case N_TEST: {
        val x;
        if (eval_expr(st, sc, n->a, &x)) return -1;
        val *args = NULL;
        if (n->nitems) {
            args = arena_alloc(st->a, (size_t)n->nitems * sizeof(val));
            if (!args) return rerr_oom(st, n);
            for (int i = 0; i < n->nitems; i++)
                if (eval_expr(st, sc, n->items[i], &args[i])) return -1;
        }
        bool r;
        if (apply_test(st, sc, n, n->op, x, args, n->nitems, &r)) return -1;
        *out = v_bool(n->flag ? !r : r);
        return 0;
    }
    case N_BINOP: {
        val a, b;
        if (eval_expr(st, sc, n->a, &a) || eval_expr(st, sc, n->b, &b)) return -1;
        return binop(st, n, n->op, a, b, out);
    }
    case N_UNARY: {
        val a;
        if (eval_expr(st, sc, n->a, &a)) return -1;
        if (a.t == V_UNDEF) return undef_error(st, n, a);
        if (a.t == V_INT || a.t == V_BOOL) {
            int64_t x = a.t == V_INT ? a.u.i : a.u.b;
            if (n->op == OP_SUB && x == INT64_MIN) return rerr(st, n, "integer overflow");
            *out = v_int(n->op == OP_SUB ? -x : x);
            return 0;
        }
        if (a.t == V_FLOAT) { *out = v_float(n->op == OP_SUB ? -a.u.f : a.u.f); return 0; }
        return rerr(st, n, "TypeError: bad operand type for unary %s: '%s'", n->op == OP_SUB ? "-" : "+", val_type_name(a));
    }
    case N_AND: {
        if (eval_expr(st, sc, n->a, out)) return -1;
        if (!val_truthy(*out)) return 0;
        return eval_expr(st, sc, n->b, out);
    }
    case N_OR: {
        if (eval_expr(st, sc, n->a, out)) return -1;
        if (val_truthy(*out)) return 0;
        return eval_expr(st, sc, n->b, out);
    }
    case N_NOT: {
        val a;
        if (eval_expr(st, sc, n->a, &a)) return -1;
        *out = v_bool(!val_truthy(a));
        return 0;
    }
    case N_COMPARE: {
        val left;
        if (eval_expr(st, sc, n->a, &left)) return -1;
        bool r = true;
        for (int i = 0; i < n->nitems; i++) {
            val right;
            if (eval_expr(st, sc, n->items[i], &right)) return -1;
            if (compare_op(st, n, n->syms[i], left, right, &r)) return -1;
            if (!r) break;
            left = right;
        }
        *out = v_bool(r);
        return 0;
    }
    case N_CONCAT: {
        val a, b;
        if (eval_expr(st, sc, n->a, &a) || eval_expr(st, sc, n->b, &b)) return -1;
        sbuf s;
        sbuf_init(&s, st->a);
        sbuf_put(&s, "", 0);
        val_str(&s, a);
        val_str(&s, b);
        if (s.oom) return rerr_oom(st, n);
        *out = v_str(s.p, s.n);
        return 0;
    }
    case N_CONDEXPR: {
        val c;
        if (eval_expr(st, sc, n->a, &c)) return -1;
        if (val_truthy(c)) return eval_expr(st, sc, n->b, out);
        if (n->c) return eval_expr(st, sc, n->c, out);
        *out = v_undef("the inline if-expression on line evaluated to false and no else section was defined.");
        return 0;
    }
    default:
        return rerr(st, n, "internal error: unexpected node in expression");
    }
}

/* ---------- macros and calls */

static int bind_params(rstate *st, const node *at, const node *def, const char *mname, scope *ms, val *args, int nargs,
                       const char **kwn, const size_t *kwl, val *kwv, int nkw, bool is_caller_def) {
    int np = def->nnames;
    val *bound = arena_alloc(st->a, (size_t)(np + 1) * sizeof(val));
    bool *have = arena_alloc(st->a, (size_t)(np + 1) * sizeof(bool));
    if (!bound || !have) return rerr_oom(st, at);
    memset(have, 0, (size_t)(np + 1) * sizeof(bool));
    vlist *extra = list_new(st->a, 0);
    vdict *extrakw = dict_new(st->a, 0);
    if (!extra || !extrakw) return rerr_oom(st, at);
    for (int i = 0; i < nargs; i++) {
        if (i < np) { bound[i] = args[i]; have[i] = true; }
        else if (!list_push(st->a, extra, args[i])) return rerr_oom(st, at);
    }
    if (extra->n && !(def->op & REF_VARARGS))
        return rerr(st, at, "TypeError: macro '%s' takes not more than %d argument(s)", mname, np);
    val caller = v_undef(NULL);
    bool have_caller = false;
    for (int k = 0; k < nkw; k++) {
        int found = -1;
        for (int i = 0; i < np; i++)
            if (def->namelens[i] == kwl[k] && memcmp(def->names[i], kwn[k], kwl[k]) == 0) { found = i; break; }
        if (found >= 0) {
            if (have[found] && found < nargs) return rerr(st, at, "TypeError: macro '%s' got multiple values for argument '%.*s'", mname, (int)kwl[k], kwn[k]);
            bound[found] = kwv[k];
            have[found] = true;
        } else if (kwl[k] == 6 && memcmp(kwn[k], "caller", 6) == 0 && !is_caller_def) {
            caller = kwv[k];
            have_caller = true;
        } else if (def->op & REF_KWARGS) {
            if (!dict_set(st->a, extrakw, v_str(kwn[k], kwl[k]), kwv[k])) return rerr_oom(st, at);
        } else {
            return rerr(st, at, "TypeError: macro '%s' takes no keyword argument '%.*s'", mname, (int)kwl[k], kwn[k]);
        }
    }
    for (int i = 0; i < np; i++) {
        val v;
        if (have[i]) v = bound[i];
        else if (def->defaults && def->defaults[i]) {
            if (eval_expr(st, ms, def->defaults[i], &v)) return -1;
        } else {
            sbuf b;
            sbuf_init(&b, st->a);
            sbuf_printf(&b, "parameter '%.*s' was not provided", (int)def->namelens[i], def->names[i]);
            v = v_undef(NULL);
            v.u.s.p = b.p;
            v.u.s.n = b.n;
        }
        if (scope_set(st, ms, def->syms[i], v)) return -1;
    }
    if (def->op & REF_VARARGS) { if (scope_set(st, ms, st->t->sym_varargs, v_list(extra, true))) return -1; }
    if (def->op & REF_KWARGS) { if (scope_set(st, ms, st->t->sym_kwargs, v_dict(extrakw))) return -1; }
    if (!is_caller_def) {
        if (have_caller) { if (scope_set(st, ms, st->t->sym_caller, caller)) return -1; }
        else if (def->op & REF_CALLER) {
            if (scope_set(st, ms, st->t->sym_caller, v_undef("No caller defined"))) return -1;
        }
    }
    return 0;
}

static int exec_for(rstate *st, scope *sc, const node *n, val iterable, int depth0);

int call_value(rstate *st, scope *sc, const node *at, val fn, val *args, int nargs,
               const char **kwn, const size_t *kwl, val *kwv, int nkw, val *out) {
    switch (fn.t) {
    case V_MACRO: {
        vmacro *m = fn.u.m;
        if (++st->depth > st->max_depth) return rerr(st, at, "maximum recursion depth of %d exceeded", st->max_depth);
        if (check_deadline(st, at)) return -1;
        scope *ms = scope_new(st, m->env);
        if (!ms) return rerr_oom(st, at);
        const char *mname = m->name ? m->name : "caller";
        if (bind_params(st, at, m->def, mname, ms, args, nargs, kwn, kwl, kwv, nkw, m->def->kind == N_CALL_BLOCK)) return -1;
        int r = capture(st, ms, m->def->items, m->def->nitems, out);
        st->ctl = 0;
        st->depth--;
        return r;
    }
    case V_FUNC:
        return call_global(st, at, fn.u.fn, args, nargs, kwn, kwl, kwv, nkw, out);
    case V_METHOD: {
        bool found;
        return call_method(st, at, fn.u.meth->self, fn.u.meth->name, fn.u.meth->n, args, nargs, kwn, kwl, kwv, nkw, out, &found);
    }
    case V_LOOP: {
        loopstate *L = fn.u.loop;
        if (!L->recursive) return rerr(st, at, "TypeError: 'LoopContext' object is not callable");
        if (nargs != 1) return rerr(st, at, "TypeError: loop() takes exactly one argument");
        if (++st->depth > st->max_depth) return rerr(st, at, "maximum recursion depth of %d exceeded", st->max_depth);
        sbuf *saved = st->out;
        sbuf b;
        sbuf_init(&b, st->a);
        b.limit = saved->limit;
        st->out = &b;
        int r = exec_for(st, L->env, L->recursive, args[0], L->depth0 + 1);
        st->out = saved;
        st->depth--;
        if (r) return r;
        *out = v_str(b.p ? b.p : "", b.n);
        return 0;
    }
    case V_JOINER: {
        if (!fn.u.joi->used) { fn.u.joi->used = true; *out = v_str("", 0); }
        else *out = fn.u.joi->sep;
        return 0;
    }
    case V_UNDEF:
        return undef_error(st, at, fn);
    default:
        (void)sc;
        return rerr(st, at, "TypeError: '%s' object is not callable", val_type_name(fn));
    }
}

/* ---------- statements */

static int assign(rstate *st, scope *sc, const node *target, val v) {
    if (target->kind == N_NAME) return scope_set(st, sc, target->sym, v);
    if (target->kind == N_NSREF) {
        val *ns = scope_find(sc, target->sym);
        if (!ns || ns->t != V_NS) return rerr(st, target, "cannot assign attribute on non-namespace object");
        if (!dict_set(st->a, ns->u.d, v_str(target->name, target->namelen), v)) return rerr_oom(st, target);
        return 0;
    }
    /* tuple unpacking */
    val *items;
    size_t n;
    if (iterate(st, target, v, &items, &n)) return -1;
    if ((int)n != target->nitems)
        return rerr(st, target, "ValueError: %s values to unpack (expected %d, got %zu)", (int)n > target->nitems ? "too many" : "not enough", target->nitems, n);
    for (int i = 0; i < target->nitems; i++)
        if (assign(st, sc, target->items[i], items[i])) return -1;
    return 0;
}

static int exec_for(rstate *st, scope *sc, const node *n, val iterable, int depth0) {
    val *items;
    size_t cnt;
    if (iterate(st, n, iterable, &items, &cnt)) return -1;
    scope *ls = scope_new(st, sc);
    if (!ls) return rerr_oom(st, n);
    if (n->c) {
        /* `for x in xs if cond`: filter first, so loop.length counts what is kept */
        val *kept = arena_alloc(st->a, (cnt + 1) * sizeof(val));
        if (!kept) return rerr_oom(st, n);
        size_t k = 0;
        for (size_t i = 0; i < cnt; i++) {
            if (--st->loop_budget < 0) return rerr(st, n, "loop iteration limit exceeded");
            if (check_deadline(st, n)) return -1;
            if (assign(st, ls, n->b, items[i])) return -1;
            val c;
            if (eval_expr(st, ls, n->c, &c)) return -1;
            if (val_truthy(c)) kept[k++] = items[i];
        }
        items = kept;
        cnt = k;
    }
    /* a list is iterated live, as Python does: pop() in the body shortens the loop */
    vlist *live = (!n->c && iterable.t == V_LIST && !(iterable.flags & VF_ITER)) ? iterable.u.l : NULL;
    loopstate *L = arena_alloc(st->a, sizeof *L);
    if (!L) return rerr_oom(st, n);
    memset(L, 0, sizeof *L);
    L->items = items;
    L->n = cnt;
    L->depth0 = depth0;
    L->recursive = n->flag ? n : NULL;
    L->env = sc;
    val lv = {0};
    lv.t = V_LOOP;
    lv.u.loop = L;
    if (scope_set(st, ls, st->t->sym_loop, lv)) return -1;
    for (size_t i = 0; i < cnt; i++) {
        if (--st->loop_budget < 0) return rerr(st, n, "loop iteration limit exceeded");
        if (check_deadline(st, n)) return -1;
        if (live) {
            if (i >= live->n) break;
            L->items = items = live->v;
            L->n = cnt = live->n;
            L->live = live;
        }
        L->idx = i;
        /* jinja2 gives every iteration a fresh scope: a `set` in the body
         * does not carry over to the next iteration */
        ls->n = 0;
        if (scope_set(st, ls, st->t->sym_loop, lv)) return -1;
        if (assign(st, ls, n->b, items[i])) return -1;
        if (exec_body(st, ls, n->items, n->nitems)) return -1;
        if (st->ctl == CTL_BREAK) { st->ctl = 0; break; }
        st->ctl = 0;
    }
    if (cnt == 0 && n->nitems2) return exec_body(st, ls, n->items2, n->nitems2);
    return 0;
}

static int exec_node(rstate *st, scope *sc, const node *n) {
    if (stack_exhausted(st, n)) return -1;
    switch (n->kind) {
    case N_TEXT: return emit(st, n, n->lit.u.s.p, n->lit.u.s.n);
    case N_OUTPUT: {
        val v;
        if (eval_expr(st, sc, n->a, &v)) return -1;
        return emit_val(st, n, v);
    }
    case N_IF: {
        val c;
        if (eval_expr(st, sc, n->a, &c)) return -1;
        if (val_truthy(c)) return exec_body(st, sc, n->items, n->nitems);
        return exec_body(st, sc, n->items2, n->nitems2);
    }
    case N_FOR: {
        val it;
        if (eval_expr(st, sc, n->a, &it)) return -1;
        return exec_for(st, sc, n, it, 0);
    }
    case N_SET: {
        val v;
        if (eval_expr(st, sc, n->a, &v)) return -1;
        return assign(st, sc, n->b, v);
    }
    case N_SET_BLOCK: {
        val v;
        if (capture(st, sc, n->items, n->nitems, &v)) return -1;
        if (n->c && apply_chain(st, sc, n->c, v, &v)) return -1;
        return assign(st, sc, n->b, v);
    }
    case N_FILTER_BLOCK: {
        val v;
        if (capture(st, sc, n->items, n->nitems, &v)) return -1;
        if (apply_chain(st, sc, n->c, v, &v)) return -1;
        return emit_val(st, n, v);
    }
    case N_MACRO: {
        vmacro *m = arena_alloc(st->a, sizeof *m);
        if (!m) return rerr_oom(st, n);
        m->def = n;
        m->env = sc;
        m->name = arena_strdup(st->a, n->name, n->namelen);
        val v = {0};
        v.t = V_MACRO;
        v.u.m = m;
        return scope_set(st, sc, n->sym, v);
    }
    case N_CALL_BLOCK: {
        /* the body becomes `caller`, passed to the called macro as a keyword */
        vmacro *m = arena_alloc(st->a, sizeof *m);
        if (!m) return rerr_oom(st, n);
        m->def = n;
        m->env = sc;
        m->name = "caller";
        val cv = {0};
        cv.t = V_MACRO;
        cv.u.m = m;
        const node *call = n->a;
        val fn;
        if (eval_expr(st, sc, call->a, &fn)) return -1;
        val *args, *kwv;
        int na, nk;
        const char **kwn;
        size_t *kwl;
        if (eval_args(st, sc, call, &args, &na, &kwv, &nk, &kwn, &kwl)) return -1;
        const char **kwn2 = arena_alloc(st->a, (size_t)(nk + 1) * sizeof(char *));
        size_t *kwl2 = arena_alloc(st->a, (size_t)(nk + 1) * sizeof(size_t));
        val *kwv2 = arena_alloc(st->a, (size_t)(nk + 1) * sizeof(val));
        if (!kwn2 || !kwl2 || !kwv2) return rerr_oom(st, n);
        for (int i = 0; i < nk; i++) { kwn2[i] = kwn[i]; kwl2[i] = kwl[i]; kwv2[i] = kwv[i]; }
        kwn2[nk] = "caller";
        kwl2[nk] = 6;
        kwv2[nk] = cv;
        val r;
        if (call_value(st, sc, n, fn, args, na, kwn2, kwl2, kwv2, nk + 1, &r)) return -1;
        return emit_val(st, n, r);
    }
    case N_WITH: {
        scope *ws = scope_new(st, sc);
        if (!ws) return rerr_oom(st, n);
        for (int i = 0; i < n->nnames; i++) {
            val v;
            if (eval_expr(st, sc, n->items2[i], &v) || assign(st, ws, n->defaults[i], v)) return -1;
        }
        return exec_body(st, ws, n->items, n->nitems);
    }
    case N_BODY: return exec_body(st, sc, n->items, n->nitems);
    case N_BREAK: st->ctl = CTL_BREAK; return 0;
    case N_CONTINUE: st->ctl = CTL_CONTINUE; return 0;
    default: return rerr(st, n, "internal error: unexpected statement");
    }
}

static int exec_body(rstate *st, scope *sc, node **body, int n) {
    for (int i = 0; i < n; i++) {
        if (exec_node(st, sc, body[i])) return -1;
        if (st->ctl) return 0;
        if (st->a->exhausted) return rerr_oom(st, body[i]);
    }
    return 0;
}

int eval_template(rstate *st, scope *root) {
    st->stack_base = (uintptr_t)__builtin_frame_address(0);
    return exec_body(st, root, st->t->root->items, st->t->root->nitems);
}
