/* globals.c — the functions a template can call by name: range,
 * namespace, dict, cycler, joiner, and Hugging Face's raise_exception and
 * strftime_now. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "chat_templates/internal.h"

#define MAX_RANGE 100000 /* jinja2's sandbox refuses longer ranges */

static const char *const GLOBAL_NAMES[] = {NULL, "range", "namespace", "dict", "raise_exception", "strftime_now", "cycler", "joiner", NULL};

int global_lookup(const char *name, size_t n) {
    for (int i = 1; GLOBAL_NAMES[i]; i++)
        if (strlen(GLOBAL_NAMES[i]) == n && memcmp(GLOBAL_NAMES[i], name, n) == 0) return i;
    return 0;
}

static int int_arg(rstate *st, const node *at, val v, int64_t *out) {
    if (v.t == V_INT) { *out = v.u.i; return 0; }
    if (v.t == V_BOOL) { *out = v.u.b; return 0; }
    if (v.t == V_UNDEF) return undef_error(st, at, v);
    return rerr(st, at, "TypeError: '%s' object cannot be interpreted as an integer", val_type_name(v));
}

/* fill d from dict(*args, **kwargs) semantics */
static int dict_from(rstate *st, const node *at, vdict *d, val *args, int nargs, const char **kwn, const size_t *kwl, val *kwv, int nkw, const char *fname) {
    if (nargs > 1) return rerr(st, at, "TypeError: %s expected at most 1 argument, got %d", fname, nargs);
    if (nargs == 1) {
        val src = args[0];
        if (src.t == V_DICT || src.t == V_NS) {
            for (size_t i = 0; i < src.u.d->n; i++)
                if (!dict_set(st->a, d, src.u.d->k[i], src.u.d->v[i])) return rerr_oom(st, at);
        } else {
            val *items;
            size_t n;
            if (iterate(st, at, src, &items, &n)) return -1;
            for (size_t i = 0; i < n; i++) {
                val *kv;
                size_t m;
                if (iterate(st, at, items[i], &kv, &m)) return -1;
                if (m != 2) return rerr(st, at, "ValueError: dictionary update sequence element #%zu has length %zu; 2 is required", i, m);
                if (!dict_set(st->a, d, kv[0], kv[1])) return rerr_oom(st, at);
            }
        }
    }
    for (int i = 0; i < nkw; i++)
        if (!dict_set(st->a, d, v_str(kwn[i], kwl[i]), kwv[i])) return rerr_oom(st, at);
    return 0;
}

int call_global(rstate *st, const node *at, int id, val *args, int nargs,
                const char **kwn, const size_t *kwl, val *kwv, int nkw, val *out) {
    switch (id) {
    case G_RANGE: {
        if (nkw) return rerr(st, at, "TypeError: range() takes no keyword arguments");
        if (nargs < 1 || nargs > 3) return rerr(st, at, "TypeError: range expected 1 to 3 arguments, got %d", nargs);
        int64_t a = 0, b = 0, s = 1;
        if (nargs == 1) { if (int_arg(st, at, args[0], &b)) return -1; }
        else {
            if (int_arg(st, at, args[0], &a) || int_arg(st, at, args[1], &b)) return -1;
            if (nargs == 3 && int_arg(st, at, args[2], &s)) return -1;
        }
        if (s == 0) return rerr(st, at, "ValueError: range() arg 3 must not be zero");
        double cnt = s > 0 ? ((double)b - (double)a) / (double)s : ((double)a - (double)b) / -(double)s;
        if (cnt > MAX_RANGE + 1) return rerr(st, at, "OverflowError: Range too big. The sandbox blocks ranges larger than MAX_RANGE (%d).", MAX_RANGE);
        int64_t n = cnt <= 0 ? 0 : (int64_t)cnt + (cnt != (double)(int64_t)cnt);
        if (n > MAX_RANGE) return rerr(st, at, "OverflowError: Range too big. The sandbox blocks ranges larger than MAX_RANGE (%d).", MAX_RANGE);
        vlist *l = list_new(st->a, (size_t)n);
        if (!l) return rerr_oom(st, at);
        for (int64_t i = 0, v = a; i < n; i++) {
            l->v[l->n++] = v_int(v);
            if (__builtin_add_overflow(v, s, &v)) break;
        }
        *out = v_list(l, false);
        return 0;
    }
    case G_NAMESPACE: case G_DICT: {
        vdict *d = dict_new(st->a, (size_t)nkw);
        if (!d) return rerr_oom(st, at);
        if (dict_from(st, at, d, args, nargs, kwn, kwl, kwv, nkw, id == G_DICT ? "dict" : "namespace")) return -1;
        *out = v_dict(d);
        if (id == G_NAMESPACE) out->t = V_NS;
        return 0;
    }
    case G_RAISE: {
        /* the message alone, as the caller shows it to the user */
        st->failed = true;
        if (st->errlen) {
            if (nargs >= 1) {
                sbuf b;
                sbuf_init(&b, st->a);
                sbuf_put(&b, "", 0);
                val_str(&b, args[0]);
                snprintf(st->err, st->errlen, "%s", b.p ? b.p : "");
            } else {
                snprintf(st->err, st->errlen, "TypeError: raise_exception() missing 1 required positional argument: 'message'");
            }
        }
        return -1;
    }
    case G_STRFTIME: {
        if (nargs != 1 || args[0].t != V_STR) return rerr(st, at, "TypeError: strftime_now() takes one string argument");
        if (!st->have_now) {
            const char *sde = getenv("SOURCE_DATE_EPOCH");
            st->now = sde && *sde ? (time_t)strtoll(sde, NULL, 10) : time(NULL);
            st->have_now = true;
        }
        struct tm tm;
        localtime_r(&st->now, &tm);
        char *fmt = arena_strdup(st->a, args[0].u.s.p, args[0].u.s.n);
        if (!fmt) return rerr_oom(st, at);
        size_t cap = 64 + args[0].u.s.n * 16;
        char *buf = arena_alloc(st->a, cap);
        if (!buf) return rerr_oom(st, at);
        size_t k = args[0].u.s.n ? strftime(buf, cap, fmt, &tm) : 0;
        *out = v_str(buf, k);
        return 0;
    }
    case G_CYCLER: {
        if (nargs == 0) return rerr(st, at, "TypeError: at least one item has to be provided");
        vcycler *c = arena_alloc(st->a, sizeof *c);
        vlist *l = list_new(st->a, (size_t)nargs);
        if (!c || !l) return rerr_oom(st, at);
        for (int i = 0; i < nargs; i++) l->v[l->n++] = args[i];
        c->items = l;
        c->pos = 0;
        val v = {0};
        v.t = V_CYCLER;
        v.u.cyc = c;
        *out = v;
        return 0;
    }
    case G_JOINER: {
        vjoiner *j = arena_alloc(st->a, sizeof *j);
        if (!j) return rerr_oom(st, at);
        j->sep = v_str(", ", 2);
        val s;
        if (arg_get(args, nargs, kwn, kwl, kwv, nkw, 0, "sep", &s)) j->sep = s;
        j->used = false;
        val v = {0};
        v.t = V_JOINER;
        v.u.joi = j;
        *out = v;
        return 0;
    }
    }
    return rerr(st, at, "internal error: unknown global");
}
