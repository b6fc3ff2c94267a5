/* tests_builtin.c — jinja2's tests, used as `x is name(args)`. */
#include <math.h>
#include <string.h>
#include "chat_templates/internal.h"

enum {
    IS_DEFINED, IS_UNDEFINED, IS_NONE, IS_STRING, IS_NUMBER, IS_INTEGER, IS_FLOAT, IS_MAPPING, IS_ITERABLE,
    IS_SEQUENCE, IS_BOOLEAN, IS_TRUE, IS_FALSE, IS_ODD, IS_EVEN, IS_DIVISIBLEBY, IS_EQUALTO, IS_EQ, IS_NE,
    IS_LT, IS_GT, IS_LE, IS_GE, IS_IN, IS_CALLABLE, IS_SAMEAS, IS_LOWER, IS_UPPER, IS_ESCAPED, IS_LESSTHAN,
    IS_GREATERTHAN, IS_FILTER, IS_TEST
};

static const char *const TEST_NAMES[] = {
    "defined", "undefined", "none", "string", "number", "integer", "float", "mapping", "iterable",
    "sequence", "boolean", "true", "false", "odd", "even", "divisibleby", "equalto", "eq", "ne",
    "lt", "gt", "le", "ge", "in", "callable", "sameas", "lower", "upper", "escaped", "lessthan",
    "greaterthan", "filter", "test", NULL};

/* operator spellings jinja2 registers as test names too (usable as
 * strings, e.g. selectattr('role', '==', 'user')) */
static const struct { const char *alias; int id; } TEST_ALIASES[] = {
    {"==", IS_EQ}, {"!=", IS_NE}, {"<", IS_LT}, {">", IS_GT}, {"<=", IS_LE}, {">=", IS_GE}, {NULL, 0}};

int test_lookup(const char *name, size_t n) {
    for (int i = 0; TEST_ALIASES[i].alias; i++)
        if (strlen(TEST_ALIASES[i].alias) == n && memcmp(TEST_ALIASES[i].alias, name, n) == 0) return TEST_ALIASES[i].id;
    for (int i = 0; TEST_NAMES[i]; i++)
        if (strlen(TEST_NAMES[i]) == n && memcmp(TEST_NAMES[i], name, n) == 0) return i;
    return -1;
}

static int need_arg(rstate *st, const node *at, int nargs, int id) {
    if (nargs < 1) return rerr(st, at, "TypeError: test '%s' takes one argument", TEST_NAMES[id]);
    return 0;
}

static int int_mod(rstate *st, const node *at, val x, val m, int64_t *r, bool *is_float, double *fr) {
    if (x.t == V_UNDEF) return undef_error(st, at, x);
    if (m.t == V_UNDEF) return undef_error(st, at, m);
    if (!val_is_number(x) || !val_is_number(m)) return rerr(st, at, "TypeError: unsupported operand type(s) for %%: '%s' and '%s'", val_type_name(x), val_type_name(m));
    if (x.t == V_FLOAT || m.t == V_FLOAT) {
        double a = val_as_double(x), b = val_as_double(m);
        if (b == 0) return rerr(st, at, "ZeroDivisionError: float modulo");
        *is_float = true;
        *fr = fmod(a, b);
        return 0;
    }
    int64_t a = x.t == V_INT ? x.u.i : x.u.b, b = m.t == V_INT ? m.u.i : m.u.b;
    if (b == 0) return rerr(st, at, "ZeroDivisionError: integer division or modulo by zero");
    *is_float = false;
    *r = b == -1 ? 0 : a % b;
    return 0;
}

static val m_arg_or_two(int id, val *args) { return id == IS_DIVISIBLEBY ? args[0] : v_int(2); }

int apply_test(rstate *st, scope *sc, const node *at, int id, val x, val *args, int nargs, bool *out) {
    (void)sc;
    switch (id) {
    case IS_DEFINED: *out = x.t != V_UNDEF; return 0;
    case IS_UNDEFINED: *out = x.t == V_UNDEF; return 0;
    case IS_NONE: *out = x.t == V_NONE; return 0;
    case IS_STRING: *out = x.t == V_STR; return 0;
    case IS_NUMBER: *out = val_is_number(x); return 0;
    case IS_INTEGER: *out = x.t == V_INT; return 0;
    case IS_FLOAT: *out = x.t == V_FLOAT; return 0;
    case IS_MAPPING: *out = x.t == V_DICT; return 0;
    case IS_ITERABLE: *out = x.t == V_STR || x.t == V_LIST || x.t == V_DICT || x.t == V_UNDEF || x.t == V_CYCLER; return 0;
    case IS_SEQUENCE: *out = x.t == V_STR || x.t == V_UNDEF || (x.t == V_LIST && !(x.flags & (VF_ITER | VF_VIEW))) || x.t == V_DICT; return 0;
    case IS_BOOLEAN: *out = x.t == V_BOOL; return 0;
    case IS_TRUE: *out = x.t == V_BOOL && x.u.b; return 0;
    case IS_FALSE: *out = x.t == V_BOOL && !x.u.b; return 0;
    case IS_ODD: case IS_EVEN: case IS_DIVISIBLEBY: {
        val m = v_int(2);
        if (id == IS_DIVISIBLEBY) { if (need_arg(st, at, nargs, id)) return -1; m = args[0]; }
        int64_t r = 0;
        double fr = 0;
        bool isf = false;
        if (int_mod(st, at, x, m, &r, &isf, &fr)) return -1;
        /* Python: value % 2 == 1 (odd), == 0 (even); the remainder takes the divisor's sign */
        if (isf) {
            double m = val_as_double(m_arg_or_two(id, args));
            if (fr != 0 && ((fr < 0) != (m < 0))) fr += m;
            *out = id == IS_ODD ? fr == 1.0 : fr == 0.0;
        } else {
            int64_t m = id == IS_DIVISIBLEBY ? (args[0].t == V_INT ? args[0].u.i : args[0].u.b) : 2;
            if (r != 0 && ((r < 0) != (m < 0))) r += m;
            *out = id == IS_ODD ? r == 1 : r == 0;
        }
        return 0;
    }
    case IS_EQUALTO: case IS_EQ: case IS_SAMEAS:
        if (need_arg(st, at, nargs, id)) return -1;
        if (id == IS_SAMEAS) {
            /* identity: singletons and the same container */
            val y = args[0];
            if (x.t != y.t) *out = false;
            else if (x.t == V_NONE || x.t == V_UNDEF) *out = true;
            else if (x.t == V_BOOL) *out = x.u.b == y.u.b;
            else if (x.t == V_LIST) *out = x.u.l == y.u.l;
            else if (x.t == V_DICT || x.t == V_NS) *out = x.u.d == y.u.d;
            else *out = val_equal(x, y) && x.t == V_INT && x.u.i >= -5 && x.u.i <= 256;
            return 0;
        }
        *out = val_equal(x, args[0]);
        return 0;
    case IS_NE:
        if (need_arg(st, at, nargs, id)) return -1;
        *out = !val_equal(x, args[0]);
        return 0;
    case IS_LT: case IS_GT: case IS_LE: case IS_GE: case IS_LESSTHAN: case IS_GREATERTHAN: {
        if (need_arg(st, at, nargs, id)) return -1;
        if (x.t == V_UNDEF) return undef_error(st, at, x);
        if (args[0].t == V_UNDEF) return undef_error(st, at, args[0]);
        int c = val_compare(x, args[0], false);
        if (c == -2) return rerr(st, at, "TypeError: '%s' not supported between instances of '%s' and '%s'", TEST_NAMES[id], val_type_name(x), val_type_name(args[0]));
        *out = (id == IS_LT || id == IS_LESSTHAN) ? c < 0 : (id == IS_GT || id == IS_GREATERTHAN) ? c > 0 : id == IS_LE ? c <= 0 : c >= 0;
        return 0;
    }
    case IS_IN: {
        if (need_arg(st, at, nargs, id)) return -1;
        val hay = args[0];
        if (hay.t == V_STR) {
            if (x.t != V_STR) return rerr(st, at, "TypeError: 'in <string>' requires string as left operand, not %s", val_type_name(x));
            *out = x.u.s.n == 0 || memmem(hay.u.s.p, hay.u.s.n, x.u.s.p, x.u.s.n) != NULL;
            return 0;
        }
        if (hay.t == V_DICT) { *out = dict_get(hay.u.d, x) != NULL; return 0; }
        if (hay.t == V_LIST) {
            *out = false;
            for (size_t i = 0; i < hay.u.l->n && !*out; i++) *out = val_equal(hay.u.l->v[i], x);
            return 0;
        }
        if (hay.t == V_UNDEF) { *out = false; return 0; }
        return rerr(st, at, "TypeError: argument of type '%s' is not iterable", val_type_name(hay));
    }
    case IS_CALLABLE: *out = x.t == V_UNDEF || x.t == V_MACRO || x.t == V_FUNC || x.t == V_METHOD || x.t == V_JOINER || (x.t == V_LOOP && x.u.loop->recursive); return 0;
    case IS_LOWER: case IS_UPPER: {
        if (x.t != V_STR) {
            if (x.t == V_UNDEF) { *out = false; return 0; }
            x = val_to_str(st->a, x);
        }
        bool found;
        val r;
        if (call_method(st, at, x, id == IS_LOWER ? "islower" : "isupper", 7, NULL, 0, NULL, NULL, NULL, 0, &r, &found)) return -1;
        *out = r.u.b;
        return 0;
    }
    case IS_ESCAPED: *out = false; return 0;
    case IS_FILTER: case IS_TEST:
        if (need_arg(st, at, nargs, id)) return -1;
        *out = x.t == V_STR && (id == IS_FILTER ? filter_lookup(x.u.s.p, x.u.s.n) : test_lookup(x.u.s.p, x.u.s.n)) >= 0;
        return 0;
    }
    return rerr(st, at, "internal error: unknown test");
}
