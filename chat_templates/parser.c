/* parser.c — tokens to AST, a recursive-descent parser following jinja2's
 * grammar and operator precedence (lowest first): inline if, or, and, not,
 * comparisons and `in`, + -, ~, * / // %, **, unary - +, then primaries
 * with postfix . [] () and the filter / test suffixes | and `is`.
 * Nesting depth is bounded so hostile input cannot exhaust the C stack. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "chat_templates/internal.h"

#define MAX_PARSE_DEPTH 128


typedef struct ps {
    vr_template *t;
    arena *a;
    const token *tok;
    size_t n, i;
    int depth;
    int refs;          /* REF_* seen inside the macro being parsed */
    int loops;         /* enclosing for-loop bodies (break/continue need one) */
    char *err; size_t errlen;
    bool failed;
} ps;

static node *pfail(ps *p, const token *t, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static node *pfail(ps *p, const token *t, const char *fmt, ...) {
    if (p->failed) return NULL;
    p->failed = true;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (p->errlen) snprintf(p->err, p->errlen, "line %d:%d: %s", t->line, t->col, msg);
    return NULL;
}

static const token *cur(ps *p) { return &p->tok[p->i]; }
static const token *peek(ps *p, size_t k) { return &p->tok[p->i + k < p->n ? p->i + k : p->n - 1]; }
static void adv(ps *p) { if (p->i + 1 < p->n) p->i++; }
static bool is_op(const token *t, int op) { return t->type == T_OP && t->op == op; }
static bool is_name(const token *t, const char *s) {
    return t->type == T_NAME && t->n == strlen(s) && memcmp(t->p, s, t->n) == 0;
}

static const char *tok_desc(const token *t) {
    switch (t->type) {
    case T_EOF: return "end of template";
    case T_DATA: return "template data";
    case T_VAR_BEGIN: return "'{{'";
    case T_VAR_END: return "end of print statement";
    case T_BLOCK_BEGIN: return "'{%'";
    case T_BLOCK_END: return "end of statement block";
    case T_NAME: return "name";
    case T_STRING: return "string";
    case T_INT: return "integer";
    case T_FLOAT: return "float";
    default: return "operator";
    }
}

static node *mk(ps *p, int kind, const token *at) {
    node *n = arena_alloc(p->a, sizeof *n);
    if (!n) return pfail(p, at, "out of memory");
    memset(n, 0, sizeof *n);
    n->kind = (uint8_t)kind;
    n->line = at->line;
    n->col = at->col;
    n->sym = -1;
    return n;
}

typedef struct nvec { node **v; int n, cap; } nvec;
static bool nv_push(ps *p, nvec *v, node *x) {
    if (v->n == v->cap) {
        int nc = v->cap ? v->cap * 2 : 4;
        node **q = arena_realloc(p->a, v->v, (size_t)v->cap * sizeof(node *), (size_t)nc * sizeof(node *));
        if (!q) { pfail(p, cur(p), "out of memory"); return false; }
        v->v = q;
        v->cap = nc;
    }
    v->v[v->n++] = x;
    return true;
}

int sym_find(const symtab *st, const char *s, size_t n) {
    for (int i = 0; i < st->n; i++)
        if (st->lens[i] == n && memcmp(st->names[i], s, n) == 0) return i;
    return -1;
}

int sym_intern(arena *a, symtab *st, const char *s, size_t n) {
    int k = sym_find(st, s, n);
    if (k >= 0) return k;
    if (st->n == st->cap) {
        int nc = st->cap ? st->cap * 2 : 32;
        const char **nn = arena_realloc(a, st->names, (size_t)st->cap * sizeof(char *), (size_t)nc * sizeof(char *));
        size_t *nl = arena_realloc(a, st->lens, (size_t)st->cap * sizeof(size_t), (size_t)nc * sizeof(size_t));
        if (!nn || !nl) return -1;
        st->names = nn;
        st->lens = nl;
        st->cap = nc;
    }
    const char *copy = arena_strdup(a, s, n);
    if (!copy) return -1;
    st->names[st->n] = copy;
    st->lens[st->n] = n;
    return st->n++;
}

static int intern(ps *p, const char *s, size_t n) {
    int k = sym_intern(p->a, &p->t->syms, s, n);
    if (k < 0) pfail(p, cur(p), "out of memory");
    return k;
}

static bool expect_op(ps *p, int op, const char *what) {
    if (!is_op(cur(p), op)) { pfail(p, cur(p), "expected '%s', got %s", what, tok_desc(cur(p))); return false; }
    adv(p);
    return true;
}

static bool expect_block_end(ps *p) {
    if (cur(p)->type != T_BLOCK_END) {
        pfail(p, cur(p), "expected end of statement block, got %s", tok_desc(cur(p)));
        return false;
    }
    adv(p);
    return true;
}

static node *parse_expression(ps *p, bool with_condexpr);
static node *parse_tuple(ps *p, bool with_condexpr, bool explicit_parens, const char *extra_end);
static node *parse_unary(ps *p, bool with_filter);
static node *parse_postfix(ps *p, node *n);
static node *parse_filter_expr(ps *p, node *n);

static bool enter(ps *p) {
    if (++p->depth > MAX_PARSE_DEPTH) { pfail(p, cur(p), "template nested too deeply"); return false; }
    return true;
}
#define LEAVE(p, x) do { (p)->depth--; return (x); } while (0)

/* ---------- expressions */

static node *parse_primary(ps *p) {
    const token *t = cur(p);
    node *n;
    if (t->type == T_NAME) {
        if (is_name(t, "true") || is_name(t, "True")) { n = mk(p, N_CONST, t); if (n) n->lit = v_bool(true); }
        else if (is_name(t, "false") || is_name(t, "False")) { n = mk(p, N_CONST, t); if (n) n->lit = v_bool(false); }
        else if (is_name(t, "none") || is_name(t, "None")) { n = mk(p, N_CONST, t); if (n) n->lit = v_none(); }
        else {
            n = mk(p, N_NAME, t);
            if (!n) return NULL;
            n->name = t->p;
            n->namelen = t->n;
            n->sym = intern(p, t->p, t->n);
            if (is_name(t, "caller")) p->refs |= REF_CALLER;
            if (is_name(t, "varargs")) p->refs |= REF_VARARGS;
            if (is_name(t, "kwargs")) p->refs |= REF_KWARGS;
        }
        adv(p);
        return n;
    }
    if (t->type == T_STRING) {
        /* adjacent literals concatenate */
        n = mk(p, N_CONST, t);
        if (!n) return NULL;
        if (peek(p, 1)->type != T_STRING) {
            n->lit = v_str(t->p, t->n);
            adv(p);
            return n;
        }
        sbuf b;
        sbuf_init(&b, p->a);
        while (cur(p)->type == T_STRING) { sbuf_put(&b, cur(p)->p, cur(p)->n); adv(p); }
        if (b.oom) return pfail(p, t, "out of memory");
        n->lit = v_str(b.p, b.n);
        return n;
    }
    if (t->type == T_INT || t->type == T_FLOAT) {
        n = mk(p, N_CONST, t);
        if (n) n->lit = t->type == T_INT ? v_int(t->i) : v_float(t->f);
        adv(p);
        return n;
    }
    if (is_op(t, OP_LPAREN)) {
        adv(p);
        n = parse_tuple(p, true, true, NULL);
        if (!n) return NULL;
        if (!expect_op(p, OP_RPAREN, ")")) return NULL;
        return n;
    }
    if (is_op(t, OP_LBRACKET)) {
        adv(p);
        nvec items = {0};
        while (!is_op(cur(p), OP_RBRACKET)) {
            if (items.n && !expect_op(p, OP_COMMA, ",")) return NULL;
            if (is_op(cur(p), OP_RBRACKET)) break;
            node *e = parse_expression(p, true);
            if (!e || !nv_push(p, &items, e)) return NULL;
        }
        adv(p);
        n = mk(p, N_LIST, t);
        if (!n) return NULL;
        n->items = items.v;
        n->nitems = items.n;
        return n;
    }
    if (is_op(t, OP_LBRACE)) {
        adv(p);
        nvec keys = {0}, vals = {0};
        while (!is_op(cur(p), OP_RBRACE)) {
            if (keys.n && !expect_op(p, OP_COMMA, ",")) return NULL;
            if (is_op(cur(p), OP_RBRACE)) break;
            node *k = parse_expression(p, true);
            if (!k || !expect_op(p, OP_COLON, ":")) return NULL;
            node *v = parse_expression(p, true);
            if (!v || !nv_push(p, &keys, k) || !nv_push(p, &vals, v)) return NULL;
        }
        adv(p);
        n = mk(p, N_DICT, t);
        if (!n) return NULL;
        n->items = keys.v;
        n->nitems = keys.n;
        n->items2 = vals.v;
        n->nitems2 = vals.n;
        return n;
    }
    return pfail(p, t, "unexpected %s", tok_desc(t));
}

/* ( args ) of a call, filter or test; the current token is '(' */
static bool parse_call_args(ps *p, node *call) {
    adv(p);
    nvec args = {0}, kwv = {0};
    const char **kwn = NULL;
    size_t *kwl = NULL;
    int nkw = 0, capkw = 0;
    while (!is_op(cur(p), OP_RPAREN)) {
        if ((args.n || nkw || call->dynargs || call->dynkwargs) && !expect_op(p, OP_COMMA, ",")) return false;
        if (is_op(cur(p), OP_RPAREN)) break;
        if (is_op(cur(p), OP_MUL)) {
            adv(p);
            if (!(call->dynargs = parse_expression(p, true))) return false;
        } else if (is_op(cur(p), OP_POW)) {
            adv(p);
            if (!(call->dynkwargs = parse_expression(p, true))) return false;
        } else if (cur(p)->type == T_NAME && is_op(peek(p, 1), OP_ASSIGN)) {
            if (nkw == capkw) {
                int nc = capkw ? capkw * 2 : 4;
                kwn = arena_realloc(p->a, kwn, (size_t)capkw * sizeof(char *), (size_t)nc * sizeof(char *));
                kwl = arena_realloc(p->a, kwl, (size_t)capkw * sizeof(size_t), (size_t)nc * sizeof(size_t));
                if (!kwn || !kwl) { pfail(p, cur(p), "out of memory"); return false; }
                capkw = nc;
            }
            kwn[nkw] = cur(p)->p;
            kwl[nkw] = cur(p)->n;
            nkw++;
            adv(p);
            adv(p);
            node *v = parse_expression(p, true);
            if (!v || !nv_push(p, &kwv, v)) return false;
        } else {
            if (nkw || call->dynargs || call->dynkwargs) { pfail(p, cur(p), "positional argument follows keyword argument"); return false; }
            node *v = parse_expression(p, true);
            if (!v || !nv_push(p, &args, v)) return false;
        }
    }
    adv(p);
    call->items = args.v;
    call->nitems = args.n;
    call->items2 = kwv.v;
    call->nitems2 = kwv.n;
    call->names = kwn;
    call->namelens = kwl;
    call->nnames = nkw;
    return true;
}

static node *parse_subscribed(ps *p) {
    const token *t = cur(p);
    node *args[3] = {NULL, NULL, NULL};
    if (is_op(t, OP_COLON)) {
        adv(p);
    } else {
        node *e = parse_expression(p, true);
        if (!e) return NULL;
        if (!is_op(cur(p), OP_COLON)) return e;
        args[0] = e;
        adv(p);
    }
    if (!is_op(cur(p), OP_RBRACKET) && !is_op(cur(p), OP_COMMA) && !is_op(cur(p), OP_COLON)) {
        if (!(args[1] = parse_expression(p, true))) return NULL;
    }
    if (is_op(cur(p), OP_COLON)) {
        adv(p);
        if (!is_op(cur(p), OP_RBRACKET) && !is_op(cur(p), OP_COMMA)) {
            if (!(args[2] = parse_expression(p, true))) return NULL;
        }
    }
    node *s = mk(p, N_SLICE, t);
    if (!s) return NULL;
    s->a = args[0];
    s->b = args[1];
    s->c = args[2];
    return s;
}

/* could obj.name be a method (or special attribute) for some value type? */
static bool may_be_method(const char *name, size_t n) {
    static const uint8_t kinds[] = {V_STR, V_LIST, V_DICT, V_CYCLER, V_LOOP, V_FLOAT};
    bool unsafe;
    for (size_t i = 0; i < sizeof kinds; i++) {
        val v = {0};
        v.t = kinds[i];
        if (has_method(v, name, n, &unsafe)) return true;
    }
    return n == 0 || name[0] == '_';
}

static node *parse_postfix(ps *p, node *n) {
    for (;;) {
        const token *t = cur(p);
        if (is_op(t, OP_DOT)) {
            adv(p);
            const token *a = cur(p);
            node *g;
            if (a->type == T_NAME) {
                g = mk(p, N_GETATTR, a);
                if (!g) return NULL;
                g->name = a->p;
                g->namelen = a->n;
                g->flag = may_be_method(a->p, a->n);
            } else if (a->type == T_INT) {
                g = mk(p, N_GETITEM, a);
                if (!g) return NULL;
                node *k = mk(p, N_CONST, a);
                if (!k) return NULL;
                k->lit = v_int(a->i);
                g->b = k;
            } else {
                return pfail(p, a, "expected name or number after '.'");
            }
            adv(p);
            g->a = n;
            n = g;
        } else if (is_op(t, OP_LBRACKET)) {
            adv(p);
            nvec args = {0};
            while (!is_op(cur(p), OP_RBRACKET)) {
                if (args.n && !expect_op(p, OP_COMMA, ",")) return NULL;
                if (is_op(cur(p), OP_RBRACKET)) break;
                node *e = parse_subscribed(p);
                if (!e || !nv_push(p, &args, e)) return NULL;
            }
            adv(p);
            if (args.n == 0) return pfail(p, t, "expected subscript expression");
            node *g = mk(p, N_GETITEM, t);
            if (!g) return NULL;
            g->a = n;
            if (args.n == 1) {
                g->b = args.v[0];
            } else {
                node *tu = mk(p, N_TUPLE, t);
                if (!tu) return NULL;
                tu->items = args.v;
                tu->nitems = args.n;
                g->b = tu;
            }
            n = g;
        } else if (is_op(t, OP_LPAREN)) {
            node *c = mk(p, N_CALL, t);
            if (!c) return NULL;
            c->a = n;
            if (!parse_call_args(p, c)) return NULL;
            n = c;
        } else {
            return n;
        }
    }
}

static node *parse_filter_expr(ps *p, node *n) {
    for (;;) {
        const token *t = cur(p);
        if (is_op(t, OP_PIPE)) {
            adv(p);
            const token *nm = cur(p);
            if (nm->type != T_NAME) return pfail(p, nm, "expected filter name");
            node *f = mk(p, N_FILTER, nm);
            if (!f) return NULL;
            f->name = nm->p;
            f->namelen = nm->n;
            f->op = filter_lookup(nm->p, nm->n);
            if (f->op < 0) return pfail(p, nm, "no filter named '%.*s'", (int)nm->n, nm->p);
            adv(p);
            f->a = n;
            if (is_op(cur(p), OP_LPAREN) && !parse_call_args(p, f)) return NULL;
            n = f;
        } else if (is_name(t, "is")) {
            adv(p);
            node *te = mk(p, N_TEST, t);
            if (!te) return NULL;
            if (is_name(cur(p), "not")) { te->flag = true; adv(p); }
            const token *nm = cur(p);
            if (nm->type != T_NAME) return pfail(p, nm, "expected test name");
            const char *name = nm->p;
            size_t nl = nm->n;
            te->name = name;
            te->namelen = nl;
            te->op = test_lookup(name, nl);
            if (te->op < 0) return pfail(p, nm, "no test named '%.*s'", (int)nl, name);
            adv(p);
            te->a = n;
            const token *c = cur(p);
            if (is_op(c, OP_LPAREN)) {
                if (!parse_call_args(p, te)) return NULL;
            } else if ((c->type == T_NAME || c->type == T_STRING || c->type == T_INT || c->type == T_FLOAT ||
                        is_op(c, OP_LBRACKET) || is_op(c, OP_LBRACE)) &&
                       !is_name(c, "else") && !is_name(c, "or") && !is_name(c, "and")) {
                if (is_name(c, "is")) return pfail(p, c, "you cannot chain multiple tests with is");
                node *arg = parse_primary(p);
                if (!arg || !(arg = parse_postfix(p, arg))) return NULL;
                te->items = arena_alloc(p->a, sizeof(node *));
                if (!te->items) return pfail(p, c, "out of memory");
                te->items[0] = arg;
                te->nitems = 1;
            }
            n = te;
        } else if (is_op(t, OP_LPAREN)) {
            node *c = mk(p, N_CALL, t);
            if (!c) return NULL;
            c->a = n;
            if (!parse_call_args(p, c)) return NULL;
            n = c;
        } else {
            return n;
        }
    }
}

static node *parse_unary(ps *p, bool with_filter) {
    if (!enter(p)) return NULL;
    const token *t = cur(p);
    node *n;
    if (is_op(t, OP_SUB) || is_op(t, OP_ADD)) {
        adv(p);
        node *x = parse_unary(p, false);
        if (!x) LEAVE(p, NULL);
        n = mk(p, N_UNARY, t);
        if (!n) LEAVE(p, NULL);
        n->op = t->op;
        n->a = x;
    } else {
        n = parse_primary(p);
    }
    if (!n) LEAVE(p, NULL);
    n = parse_postfix(p, n);
    if (n && with_filter) n = parse_filter_expr(p, n);
    LEAVE(p, n);
}

static node *binop(ps *p, const token *t, int kind, int op, node *l, node *r) {
    node *n = mk(p, kind, t);
    if (!n) return NULL;
    n->op = op;
    n->a = l;
    n->b = r;
    return n;
}

static node *parse_pow(ps *p) {
    node *l = parse_unary(p, true);
    while (l && is_op(cur(p), OP_POW)) {
        const token *t = cur(p);
        adv(p);
        node *r = parse_unary(p, true);
        if (!r) return NULL;
        l = binop(p, t, N_BINOP, OP_POW, l, r);
    }
    return l;
}

static node *parse_math2(ps *p) {
    node *l = parse_pow(p);
    while (l && (is_op(cur(p), OP_MUL) || is_op(cur(p), OP_DIV) || is_op(cur(p), OP_FLOORDIV) || is_op(cur(p), OP_MOD))) {
        const token *t = cur(p);
        adv(p);
        node *r = parse_pow(p);
        if (!r) return NULL;
        l = binop(p, t, N_BINOP, t->op, l, r);
    }
    return l;
}

static node *parse_concat(ps *p) {
    node *l = parse_math2(p);
    while (l && is_op(cur(p), OP_TILDE)) {
        const token *t = cur(p);
        adv(p);
        node *r = parse_math2(p);
        if (!r) return NULL;
        l = binop(p, t, N_CONCAT, 0, l, r);
    }
    return l;
}

static node *parse_math1(ps *p) {
    node *l = parse_concat(p);
    while (l && (is_op(cur(p), OP_ADD) || is_op(cur(p), OP_SUB))) {
        const token *t = cur(p);
        adv(p);
        node *r = parse_concat(p);
        if (!r) return NULL;
        l = binop(p, t, N_BINOP, t->op, l, r);
    }
    return l;
}


static node *parse_compare(ps *p) {
    const token *t0 = cur(p);
    node *first = parse_math1(p);
    if (!first) return NULL;
    nvec ops = {0};
    int *codes = NULL;
    int ncodes = 0, cap = 0;
    for (;;) {
        const token *t = cur(p);
        int code = 0;
        if (t->type == T_OP && (t->op == OP_EQ || t->op == OP_NE || t->op == OP_LT || t->op == OP_LE || t->op == OP_GT || t->op == OP_GE)) {
            code = t->op;
            adv(p);
        } else if (is_name(t, "in")) {
            code = CMP_IN;
            adv(p);
        } else if (is_name(t, "not") && is_name(peek(p, 1), "in")) {
            code = CMP_NOTIN;
            adv(p);
            adv(p);
        } else {
            break;
        }
        node *r = parse_math1(p);
        if (!r || !nv_push(p, &ops, r)) return NULL;
        if (ncodes == cap) {
            int nc = cap ? cap * 2 : 4;
            codes = arena_realloc(p->a, codes, (size_t)cap * sizeof(int), (size_t)nc * sizeof(int));
            if (!codes) return pfail(p, t, "out of memory");
            cap = nc;
        }
        codes[ncodes++] = code;
    }
    if (!ncodes) return first;
    node *n = mk(p, N_COMPARE, t0);
    if (!n) return NULL;
    n->a = first;
    n->items = ops.v;
    n->nitems = ops.n;
    n->syms = codes;
    return n;
}

static node *parse_not(ps *p) {
    if (is_name(cur(p), "not")) {
        const token *t = cur(p);
        adv(p);
        if (!enter(p)) return NULL;
        node *x = parse_not(p);
        p->depth--;
        if (!x) return NULL;
        node *n = mk(p, N_NOT, t);
        if (n) n->a = x;
        return n;
    }
    return parse_compare(p);
}

static node *parse_and(ps *p) {
    node *l = parse_not(p);
    while (l && is_name(cur(p), "and")) {
        const token *t = cur(p);
        adv(p);
        node *r = parse_not(p);
        if (!r) return NULL;
        l = binop(p, t, N_AND, 0, l, r);
    }
    return l;
}

static node *parse_or(ps *p) {
    node *l = parse_and(p);
    while (l && is_name(cur(p), "or")) {
        const token *t = cur(p);
        adv(p);
        node *r = parse_and(p);
        if (!r) return NULL;
        l = binop(p, t, N_OR, 0, l, r);
    }
    return l;
}

static node *parse_condexpr(ps *p) {
    node *e1 = parse_or(p);
    while (e1 && is_name(cur(p), "if")) {
        const token *t = cur(p);
        adv(p);
        node *cond = parse_or(p);
        if (!cond) return NULL;
        node *e3 = NULL;
        if (is_name(cur(p), "else")) {
            adv(p);
            if (!enter(p)) return NULL;
            e3 = parse_condexpr(p);
            p->depth--;
            if (!e3) return NULL;
        }
        node *n = mk(p, N_CONDEXPR, t);
        if (!n) return NULL;
        n->a = cond;
        n->b = e1;
        n->c = e3;
        e1 = n;
    }
    return e1;
}

static node *parse_expression(ps *p, bool with_condexpr) {
    if (!enter(p)) return NULL;
    node *n = with_condexpr ? parse_condexpr(p) : parse_or(p);
    LEAVE(p, n);
}

static bool tuple_end(ps *p, const char *extra_end) {
    const token *t = cur(p);
    if (t->type == T_VAR_END || t->type == T_BLOCK_END || t->type == T_EOF || is_op(t, OP_RPAREN)) return true;
    return extra_end && is_name(t, extra_end);
}

static node *parse_tuple(ps *p, bool with_condexpr, bool explicit_parens, const char *extra_end) {
    const token *t0 = cur(p);
    nvec items = {0};
    bool is_tuple = false;
    for (;;) {
        if (items.n) {
            if (!is_op(cur(p), OP_COMMA)) break;
            adv(p);
            is_tuple = true;
        }
        if (tuple_end(p, extra_end)) break;
        node *e = parse_expression(p, with_condexpr);
        if (!e || !nv_push(p, &items, e)) return NULL;
        if (!is_op(cur(p), OP_COMMA)) break;
    }
    if (!is_tuple && items.n == 1) return items.v[0];
    if (!is_tuple && items.n == 0 && !explicit_parens)
        return pfail(p, cur(p), "expected an expression, got %s", tok_desc(cur(p)));
    node *n = mk(p, N_TUPLE, t0);
    if (!n) return NULL;
    n->items = items.v;
    n->nitems = items.n;
    return n;
}

/* ---------- statements */

static bool parse_body(ps *p, const char *const *ends, nvec *body);

/* one element of an assignment target: a name or a parenthesised tuple of targets */
static node *parse_target_item(ps *p) {
    const token *nm = cur(p);
    if (is_op(nm, OP_LPAREN)) {
        if (!enter(p)) return NULL;
        adv(p);
        nvec items = {0};
        for (;;) {
            node *e = parse_target_item(p);
            if (!e || !nv_push(p, &items, e)) return NULL;
            if (!is_op(cur(p), OP_COMMA)) break;
            adv(p);
            if (is_op(cur(p), OP_RPAREN)) break;
        }
        if (!expect_op(p, OP_RPAREN, ")")) return NULL;
        p->depth--;
        node *tu = mk(p, N_TUPLE, nm);
        if (!tu) return NULL;
        tu->items = items.v;
        tu->nitems = items.n;
        return tu;
    }
    if (nm->type != T_NAME) return pfail(p, nm, "can't assign to %s", tok_desc(nm));
    node *n = mk(p, N_NAME, nm);
    if (!n) return NULL;
    n->name = nm->p;
    n->namelen = nm->n;
    n->sym = intern(p, nm->p, nm->n);
    adv(p);
    return n;
}

/* assignment targets: a name, ns.attr, or a (possibly nested) tuple of names */
static node *parse_assign_target(ps *p, bool with_namespace, const char *extra_end) {
    const token *t = cur(p);
    if (with_namespace && t->type == T_NAME && is_op(peek(p, 1), OP_DOT) && peek(p, 2)->type == T_NAME) {
        node *n = mk(p, N_NSREF, t);
        if (!n) return NULL;
        n->sym = intern(p, t->p, t->n);
        n->name = peek(p, 2)->p;
        n->namelen = peek(p, 2)->n;
        adv(p); adv(p); adv(p);
        return n;
    }
    nvec names = {0};
    bool comma = false;
    for (;;) {
        node *n = parse_target_item(p);
        if (!n || !nv_push(p, &names, n)) return NULL;
        if (!is_op(cur(p), OP_COMMA)) break;
        adv(p);
        comma = true;
        if (extra_end && is_name(cur(p), extra_end)) break;
        if (is_op(cur(p), OP_ASSIGN)) break;
    }
    /* a lone target without a comma (a name, or one parenthesised tuple) stands for itself */
    if (names.n == 1 && !comma) return names.v[0];
    node *tu = mk(p, N_TUPLE, t);
    if (!tu) return NULL;
    tu->items = names.v;
    tu->nitems = names.n;
    return tu;
}

static node *parse_if(ps *p, const token *t) {
    node *n = mk(p, N_IF, t);
    if (!n) return NULL;
    if (!(n->a = parse_tuple(p, false, false, NULL)) || !expect_block_end(p)) return NULL;
    static const char *const ends[] = {"elif", "else", "endif", NULL};
    nvec body = {0};
    if (!parse_body(p, ends, &body)) return NULL;
    n->items = body.v;
    n->nitems = body.n;
    const token *e = cur(p);
    adv(p);
    if (is_name(e, "elif")) {
        node *sub = parse_if(p, e);
        if (!sub) return NULL;
        n->items2 = arena_alloc(p->a, sizeof(node *));
        if (!n->items2) return pfail(p, e, "out of memory");
        n->items2[0] = sub;
        n->nitems2 = 1;
        return n;
    }
    if (is_name(e, "else")) {
        if (!expect_block_end(p)) return NULL;
        static const char *const ends2[] = {"endif", NULL};
        nvec eb = {0};
        if (!parse_body(p, ends2, &eb)) return NULL;
        n->items2 = eb.v;
        n->nitems2 = eb.n;
        adv(p);
    }
    if (!expect_block_end(p)) return NULL;
    return n;
}

static node *parse_for(ps *p, const token *t) {
    node *n = mk(p, N_FOR, t);
    if (!n) return NULL;
    if (!(n->b = parse_assign_target(p, false, "in"))) return NULL;
    if (!is_name(cur(p), "in")) return pfail(p, cur(p), "expected 'in'");
    adv(p);
    if (!(n->a = parse_tuple(p, false, false, "recursive"))) return NULL;
    if (is_name(cur(p), "if")) {
        adv(p);
        if (!(n->c = parse_expression(p, true))) return NULL;
    }
    if (is_name(cur(p), "recursive")) { n->flag = true; adv(p); }
    if (!expect_block_end(p)) return NULL;
    static const char *const ends[] = {"endfor", "else", NULL};
    nvec body = {0};
    p->loops++;
    if (!parse_body(p, ends, &body)) return NULL;
    p->loops--;
    n->items = body.v;
    n->nitems = body.n;
    if (is_name(cur(p), "else")) {
        adv(p);
        if (!expect_block_end(p)) return NULL;
        static const char *const ends2[] = {"endfor", NULL};
        nvec eb = {0};
        if (!parse_body(p, ends2, &eb)) return NULL;
        n->items2 = eb.v;
        n->nitems2 = eb.n;
    }
    adv(p);
    if (!expect_block_end(p)) return NULL;
    return n;
}

/* filter chain of `{% set x | f %}` / `{% filter f %}`: a N_FILTER tree whose innermost operand is NULL */
static node *parse_filter_chain(ps *p) {
    node *n = NULL;
    bool first = true;
    while (first || is_op(cur(p), OP_PIPE)) {
        if (!first) adv(p);
        first = false;
        const token *nm = cur(p);
        if (nm->type != T_NAME) return pfail(p, nm, "expected filter name");
        node *f = mk(p, N_FILTER, nm);
        if (!f) return NULL;
        f->name = nm->p;
        f->namelen = nm->n;
        f->op = filter_lookup(nm->p, nm->n);
        if (f->op < 0) return pfail(p, nm, "no filter named '%.*s'", (int)nm->n, nm->p);
        adv(p);
        if (is_op(cur(p), OP_LPAREN) && !parse_call_args(p, f)) return NULL;
        f->a = n;
        n = f;
    }
    return n;
}

static node *parse_set(ps *p, const token *t) {
    node *target = parse_assign_target(p, true, NULL);
    if (!target) return NULL;
    if (is_op(cur(p), OP_ASSIGN)) {
        adv(p);
        node *n = mk(p, N_SET, t);
        if (!n) return NULL;
        n->b = target;
        if (!(n->a = parse_tuple(p, true, false, NULL)) || !expect_block_end(p)) return NULL;
        return n;
    }
    node *n = mk(p, N_SET_BLOCK, t);
    if (!n) return NULL;
    n->b = target;
    if (is_op(cur(p), OP_PIPE)) {
        adv(p);
        if (!(n->c = parse_filter_chain(p))) return NULL;
    }
    if (!expect_block_end(p)) return NULL;
    static const char *const ends[] = {"endset", NULL};
    nvec body = {0};
    if (!parse_body(p, ends, &body)) return NULL;
    n->items = body.v;
    n->nitems = body.n;
    adv(p);
    if (!expect_block_end(p)) return NULL;
    return n;
}

/* (a, b=1, ...) of a macro or call block */
static bool parse_signature(ps *p, node *n) {
    if (!expect_op(p, OP_LPAREN, "(")) return false;
    int cap = 0;
    while (!is_op(cur(p), OP_RPAREN)) {
        if (n->nnames && !expect_op(p, OP_COMMA, ",")) return false;
        if (is_op(cur(p), OP_RPAREN)) break;
        const token *nm = cur(p);
        if (nm->type != T_NAME) { pfail(p, nm, "expected parameter name"); return false; }
        if (n->nnames == cap) {
            int nc = cap ? cap * 2 : 4;
            n->names = arena_realloc(p->a, n->names, (size_t)cap * sizeof(char *), (size_t)nc * sizeof(char *));
            n->namelens = arena_realloc(p->a, n->namelens, (size_t)cap * sizeof(size_t), (size_t)nc * sizeof(size_t));
            n->syms = arena_realloc(p->a, n->syms, (size_t)cap * sizeof(int), (size_t)nc * sizeof(int));
            n->defaults = arena_realloc(p->a, n->defaults, (size_t)cap * sizeof(node *), (size_t)nc * sizeof(node *));
            if (!n->names || !n->namelens || !n->syms || !n->defaults) { pfail(p, nm, "out of memory"); return false; }
            cap = nc;
        }
        n->names[n->nnames] = nm->p;
        n->namelens[n->nnames] = nm->n;
        n->syms[n->nnames] = intern(p, nm->p, nm->n);
        n->defaults[n->nnames] = NULL;
        adv(p);
        if (is_op(cur(p), OP_ASSIGN)) {
            adv(p);
            if (!(n->defaults[n->nnames] = parse_expression(p, true))) return false;
        } else if (n->nnames && n->defaults[n->nnames - 1]) {
            pfail(p, nm, "non-default argument follows default argument");
            return false;
        }
        n->nnames++;
    }
    adv(p);
    return true;
}

static node *parse_macro(ps *p, const token *t) {
    node *n = mk(p, N_MACRO, t);
    if (!n) return NULL;
    const token *nm = cur(p);
    if (nm->type != T_NAME) return pfail(p, nm, "expected macro name");
    n->name = nm->p;
    n->namelen = nm->n;
    n->sym = intern(p, nm->p, nm->n);
    adv(p);
    if (!parse_signature(p, n) || !expect_block_end(p)) return NULL;
    int saved = p->refs, saved_loops = p->loops;
    p->refs = 0;
    p->loops = 0; /* a macro body is its own function: no loop to break out of */
    static const char *const ends[] = {"endmacro", NULL};
    nvec body = {0};
    if (!parse_body(p, ends, &body)) return NULL;
    n->op = p->refs;
    p->refs = saved;
    p->loops = saved_loops;
    n->items = body.v;
    n->nitems = body.n;
    adv(p);
    if (!expect_block_end(p)) return NULL;
    return n;
}

static node *parse_call_block(ps *p, const token *t) {
    node *n = mk(p, N_CALL_BLOCK, t);
    if (!n) return NULL;
    if (is_op(cur(p), OP_LPAREN) && !parse_signature(p, n)) return NULL;
    int saved = p->refs;
    p->refs = 0;
    node *call = parse_expression(p, true);
    if (!call) return NULL;
    if (call->kind != N_CALL) return pfail(p, t, "expected call");
    n->a = call;
    if (!expect_block_end(p)) return NULL;
    static const char *const ends[] = {"endcall", NULL};
    nvec body = {0};
    int saved_loops = p->loops;
    p->loops = 0;
    if (!parse_body(p, ends, &body)) return NULL;
    p->loops = saved_loops;
    n->op = p->refs;
    p->refs = saved | (p->refs & REF_CALLER);
    n->items = body.v;
    n->nitems = body.n;
    adv(p);
    if (!expect_block_end(p)) return NULL;
    return n;
}

static node *parse_simple_block(ps *p, const token *t, int kind, const char *end) {
    node *n = mk(p, kind, t);
    if (!n) return NULL;
    if (kind == N_FILTER_BLOCK && !(n->c = parse_filter_chain(p))) return NULL;
    if (kind == N_WITH) {
        /* with a = 1, b = 2 */
        nvec targets = {0}, vals = {0};
        while (cur(p)->type != T_BLOCK_END) {
            if (targets.n && !expect_op(p, OP_COMMA, ",")) return NULL;
            node *tg = parse_assign_target(p, false, NULL);
            if (!tg || !expect_op(p, OP_ASSIGN, "=")) return NULL;
            node *v = parse_expression(p, true);
            if (!v || !nv_push(p, &targets, tg) || !nv_push(p, &vals, v)) return NULL;
        }
        n->items2 = vals.v;
        n->nitems2 = vals.n;
        n->dynargs = NULL;
        n->defaults = targets.v;
        n->nnames = targets.n;
    }
    if (!expect_block_end(p)) return NULL;
    const char *ends[] = {end, NULL};
    nvec body = {0};
    if (!parse_body(p, ends, &body)) return NULL;
    n->items = body.v;
    n->nitems = body.n;
    adv(p);
    if (!expect_block_end(p)) return NULL;
    return n;
}

static node *parse_statement(ps *p) {
    const token *t = cur(p);
    if (t->type != T_NAME) return pfail(p, t, "tag name expected");
    adv(p);
    if (!enter(p)) return NULL;
    node *n = NULL;
    if (is_name(t, "if")) n = parse_if(p, t);
    else if (is_name(t, "for")) n = parse_for(p, t);
    else if (is_name(t, "set")) n = parse_set(p, t);
    else if (is_name(t, "macro")) n = parse_macro(p, t);
    else if (is_name(t, "call")) n = parse_call_block(p, t);
    else if (is_name(t, "filter")) n = parse_simple_block(p, t, N_FILTER_BLOCK, "endfilter");
    else if (is_name(t, "with")) n = parse_simple_block(p, t, N_WITH, "endwith");
    else if (is_name(t, "generation")) n = parse_simple_block(p, t, N_BODY, "endgeneration");
    else if (is_name(t, "break") || is_name(t, "continue")) {
        if (!p->loops) n = pfail(p, t, "'%.*s' outside loop", (int)t->n, t->p);
        else n = mk(p, is_name(t, "break") ? N_BREAK : N_CONTINUE, t);
        if (n && !expect_block_end(p)) n = NULL;
    } else {
        n = pfail(p, t, "encountered unknown tag '%.*s'", (int)t->n, t->p);
    }
    LEAVE(p, n);
}

/* statements until a block whose tag name is one of ends (left unconsumed:
 * the current token is that name) or, with ends NULL, the end of input */
static bool parse_body(ps *p, const char *const *ends, nvec *body) {
    for (;;) {
        const token *t = cur(p);
        if (t->type == T_EOF) {
            if (ends) {
                pfail(p, t, "unexpected end of template; expected '%s'", ends[0]);
                return false;
            }
            return true;
        }
        if (t->type == T_DATA) {
            node *n = mk(p, N_TEXT, t);
            if (!n) return false;
            n->lit = v_str(t->p, t->n);
            if (!nv_push(p, body, n)) return false;
            adv(p);
            continue;
        }
        if (t->type == T_VAR_BEGIN) {
            adv(p);
            node *n = mk(p, N_OUTPUT, t);
            if (!n || !(n->a = parse_tuple(p, true, false, NULL))) return false;
            if (cur(p)->type != T_VAR_END) {
                pfail(p, cur(p), "expected end of print statement, got %s", tok_desc(cur(p)));
                return false;
            }
            adv(p);
            if (!nv_push(p, body, n)) return false;
            continue;
        }
        if (t->type == T_BLOCK_BEGIN) {
            adv(p);
            const token *nm = cur(p);
            if (ends && nm->type == T_NAME) {
                for (int k = 0; ends[k]; k++)
                    if (is_name(nm, ends[k])) return true;
            }
            if (nm->type == T_NAME && (is_name(nm, "endif") || is_name(nm, "endfor") || is_name(nm, "endmacro") ||
                                       is_name(nm, "endset") || is_name(nm, "endcall") || is_name(nm, "endfilter") ||
                                       is_name(nm, "else") || is_name(nm, "elif") || is_name(nm, "endwith") ||
                                       is_name(nm, "endgeneration"))) {
                pfail(p, nm, "unexpected '%.*s'", (int)nm->n, nm->p);
                return false;
            }
            node *n = parse_statement(p);
            if (!n || !nv_push(p, body, n)) return false;
            continue;
        }
        pfail(p, t, "unexpected %s", tok_desc(t));
        return false;
    }
}

int parse_template(vr_template *t, const token_list *toks, char *err, size_t errlen) {
    ps p = {0};
    p.t = t;
    p.a = &t->a;
    p.tok = toks->t;
    p.n = toks->n;
    p.err = err;
    p.errlen = errlen;
    nvec body = {0};
    /* the names the evaluator itself binds */
    t->sym_loop = intern(&p, "loop", 4);
    t->sym_caller = intern(&p, "caller", 6);
    t->sym_varargs = intern(&p, "varargs", 7);
    t->sym_kwargs = intern(&p, "kwargs", 6);
    if (!parse_body(&p, NULL, &body)) return -1;
    node *root = mk(&p, N_BODY, &p.tok[0]);
    if (!root) return -1;
    root->items = body.v;
    root->nitems = body.n;
    t->root = root;
    return p.failed ? -1 : 0;
}
