/* chat_templates/internal.h — private types shared by the files of this
 * folder: the arena, the value type, tokens, the AST and the render state.
 * Nothing outside chat_templates/ includes this header. */
#ifndef VR_CHAT_TEMPLATES_INTERNAL_H
#define VR_CHAT_TEMPLATES_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <time.h>
#include "chat_templates/template.h"

/* ---------- arena: every render (and every compile) allocates from one
 * arena and frees it at once, so values need no reference counts and a
 * failing render cannot leak. A byte cap turns runaway templates into an
 * error instead of exhausting memory. */
typedef struct arena_chunk arena_chunk;
typedef struct arena {
    arena_chunk *head;
    size_t used_total, cap_total; /* cap 0 = unlimited */
    bool exhausted;
} arena;
void arena_init(arena *a, size_t cap_total);
void arena_free(arena *a);
void *arena_alloc(arena *a, size_t n);           /* NULL when the cap is hit */
void *arena_realloc(arena *a, void *p, size_t old, size_t n);
char *arena_strdup(arena *a, const char *s, size_t n);

/* growable byte buffer living in an arena */
typedef struct sbuf {
    arena *a;
    char *p;
    size_t n, cap;
    size_t limit; /* 0 = none; exceeding it sets overflow */
    bool overflow, oom;
} sbuf;
void sbuf_init(sbuf *b, arena *a);
bool sbuf_put(sbuf *b, const char *s, size_t n);
bool sbuf_putc(sbuf *b, char c);
bool sbuf_puts(sbuf *b, const char *s);
bool sbuf_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---------- values */
typedef enum {
    V_UNDEF, V_NONE, V_BOOL, V_INT, V_FLOAT, V_STR, V_LIST, V_DICT,
    V_NS, V_LOOP, V_MACRO, V_FUNC, V_METHOD, V_CYCLER, V_JOINER
} vtype;

typedef struct vlist vlist;
typedef struct vdict vdict;
typedef struct vmacro vmacro;
typedef struct vmethod vmethod;
typedef struct loopstate loopstate;
typedef struct vcycler vcycler;
typedef struct vjoiner vjoiner;

/* flags */
#define VF_TUPLE 1   /* a V_LIST that is a Python tuple */
#define VF_UNSAFE 2  /* a V_UNDEF standing for a refused sandbox attribute */
/* a V_LIST that is a view returned by dict.items() / keys() / values() */
#define VF_ITEMS 4
#define VF_KEYS 8
#define VF_VALUES 16
/* a V_LIST standing for a one-shot Python iterator (what map, select,
 * unique, batch, items and reverse return in jinja2): always true, no len(),
 * not subscriptable, emptied once iterated */
#define VF_ITER 32
#define VF_VIEW (VF_ITEMS | VF_KEYS | VF_VALUES)
#define VF_SEQKIND (VF_TUPLE | VF_ITEMS | VF_KEYS | VF_VALUES | VF_ITER)

/* what a V_UNDEF's u.s holds; the error message is only built on use */
enum { UNDEF_MSG = 0, UNDEF_NAME, UNDEF_ATTR };

typedef struct val {
    uint8_t t, flags;
    uint8_t why, objt;  /* V_UNDEF: UNDEF_* and, for UNDEF_ATTR, the vtype of the object */
    union {
        bool b;
        int64_t i;
        double f;
        struct { const char *p; size_t n; } s; /* V_STR; V_UNDEF: the hint for errors */
        vlist *l;
        vdict *d;     /* V_DICT, V_NS */
        loopstate *loop;
        vmacro *m;
        vmethod *meth;
        vcycler *cyc;
        vjoiner *joi;
        int fn;       /* V_FUNC: builtin global id */
    } u;
} val;

struct vlist { val *v; size_t n, cap; };
struct vdict { val *k; val *v; size_t n, cap; };
struct vmethod { val self; const char *name; size_t n; };
struct vcycler { vlist *items; size_t pos; };
struct vjoiner { val sep; bool used; };

static inline val v_undef(const char *hint) { val v = {0}; v.t = V_UNDEF; v.u.s.p = hint; v.u.s.n = hint ? __builtin_strlen(hint) : 0; return v; }
static inline val v_none(void) { val v = {0}; v.t = V_NONE; return v; }
static inline val v_bool(bool b) { val v = {0}; v.t = V_BOOL; v.u.b = b; return v; }
static inline val v_int(int64_t i) { val v = {0}; v.t = V_INT; v.u.i = i; return v; }
static inline val v_float(double f) { val v = {0}; v.t = V_FLOAT; v.u.f = f; return v; }
static inline val v_str(const char *p, size_t n) { val v = {0}; v.t = V_STR; v.u.s.p = p; v.u.s.n = n; return v; }

vlist *list_new(arena *a, size_t cap);
bool list_push(arena *a, vlist *l, val v);
vdict *dict_new(arena *a, size_t cap);
bool dict_set(arena *a, vdict *d, val k, val v);           /* keeps first position */
val *dict_get(const vdict *d, val k);                      /* NULL when missing */
val *dict_get_str(const vdict *d, const char *s, size_t n);
val v_list(vlist *l, bool tuple);
val v_dict(vdict *d);

bool val_truthy(val v);
bool val_equal(val a, val b);                 /* Python == */
bool val_is_number(val v);                    /* bool, int or float */
double val_as_double(val v);
bool f64_to_i64(double d, int64_t *out);       /* false when out of range or NaN */
const char *val_type_name(val v);             /* Python type name: 'str', 'list', ... */
/* Python str(v) / repr(v) appended to b. str of undefined is empty. */
bool val_str(sbuf *b, val v);
bool val_repr(sbuf *b, val v);
bool fmt_float(sbuf *b, double d);            /* float.__repr__ */
/* Python str(v) as a value (strings are returned as they are). */
val val_to_str(arena *a, val v);

/* ---------- UTF-8 and Python str helpers (strings.c) */
bool utf8_valid(const char *s, size_t n);
size_t utf8_len(const char *s, size_t n);                    /* code points */
size_t utf8_offset(const char *s, size_t n, size_t cp);      /* byte offset of code point cp */
uint32_t utf8_decode(const char *s, size_t n, size_t *adv);
size_t utf8_encode(uint32_t c, char *out);
bool is_py_space(uint32_t c);
bool py_isalpha(uint32_t c);
bool py_isdigit(uint32_t c);
bool py_isalnum(uint32_t c);
uint32_t py_upper(uint32_t c);
uint32_t py_lower(uint32_t c);
bool py_isupper(uint32_t c);
bool py_islower(uint32_t c);
/* case conversion of a whole string: mode 'u' upper, 'l' lower, 't' title, 'c' capitalize, 's' swapcase */
val str_case(arena *a, val s, char mode);
val str_strip(arena *a, val s, const char *chars, size_t nchars, bool has_chars, bool left, bool right);
int64_t str_find(val hay, val needle, int64_t start, int64_t end, bool reverse); /* code point index or -1 */
int64_t str_count(val hay, val needle);
val str_replace(arena *a, val s, val old, val nw, int64_t count);
/* Python str.split / rsplit; sep NULL = whitespace split */
vlist *str_split(arena *a, val s, const val *sep, int64_t maxsplit, bool right);

/* ---------- JSON (json.c) */
int json_parse(arena *a, const char *s, size_t n, val *out, char *err, size_t errlen);
/* json.dumps(v, ensure_ascii, indent, separators, sort_keys). indent: NULL = none.
 * On an unserialisable value returns false and sets *bad to it. */
typedef struct json_opts {
    bool ensure_ascii, sort_keys, has_indent;
    const char *indent; size_t indent_n;
    const char *item_sep; size_t item_sep_n;
    const char *key_sep; size_t key_sep_n;
} json_opts;
bool json_dump(sbuf *b, val v, const json_opts *o, int depth, const char **why);

/* ---------- lexer (lexer.c) */
typedef enum {
    T_EOF, T_DATA, T_VAR_BEGIN, T_VAR_END, T_BLOCK_BEGIN, T_BLOCK_END,
    T_NAME, T_STRING, T_INT, T_FLOAT, T_OP, T_RAW
} toktype;

typedef struct token {
    uint8_t type;
    int op;            /* T_OP: operator code (see OP_*) */
    int line, col;
    const char *p; size_t n; /* T_DATA / T_NAME / T_STRING (decoded) / T_RAW */
    int64_t i; double f;
} token;

enum {
    OP_ADD = 1, OP_SUB, OP_MUL, OP_DIV, OP_FLOORDIV, OP_MOD, OP_POW, OP_TILDE,
    OP_LBRACKET, OP_RBRACKET, OP_LPAREN, OP_RPAREN, OP_LBRACE, OP_RBRACE,
    OP_EQ, OP_NE, OP_GT, OP_GE, OP_LT, OP_LE, OP_ASSIGN, OP_DOT, OP_COLON,
    OP_PIPE, OP_COMMA, OP_SEMICOLON
};

typedef struct token_list { token *t; size_t n, cap; } token_list;
int lex(arena *a, const char *src, size_t len, token_list *out, char *err, size_t errlen);

/* ---------- AST (parser.c) */
typedef enum {
    /* statements */
    N_TEXT, N_OUTPUT, N_IF, N_FOR, N_SET, N_SET_BLOCK, N_MACRO, N_CALL_BLOCK,
    N_FILTER_BLOCK, N_BREAK, N_CONTINUE, N_WITH, N_BODY,
    /* expressions */
    N_CONST, N_NAME, N_LIST, N_TUPLE, N_DICT, N_GETATTR, N_GETITEM, N_SLICE,
    N_CALL, N_FILTER, N_TEST, N_BINOP, N_UNARY, N_AND, N_OR, N_NOT, N_COMPARE,
    N_CONCAT, N_CONDEXPR, N_NSREF
} nkind;

typedef struct node node;
struct node {
    uint8_t kind;
    int op;                 /* operator; filter/test id; builtin id */
    int line, col;
    node *a, *b, *c;        /* children (meaning depends on kind) */
    node **items; int nitems;   /* body / elements / positional args */
    node **items2; int nitems2; /* else body / dict values / keyword arg values */
    const char **names; size_t *namelens; int *syms; int nnames; /* kwarg names / targets / params */
    node **defaults;        /* macro param defaults (nnames entries, may be NULL) */
    const char *name; size_t namelen; int sym;
    val lit;
    bool flag;              /* N_FOR: recursive; N_TEST: negated; N_MACRO: uses caller/varargs/kwargs */
    node *dynargs, *dynkwargs;  /* *args, **kwargs in calls */
};

typedef struct symtab { const char **names; size_t *lens; int n, cap; } symtab;
int sym_intern(arena *a, symtab *st, const char *s, size_t n);
int sym_find(const symtab *st, const char *s, size_t n);

/* comparison codes of N_COMPARE beyond the OP_* ones (kept in node->syms) */
enum { CMP_IN = 100, CMP_NOTIN = 101 };
/* names a macro body refers to, kept in the N_MACRO / N_CALL_BLOCK node's op */
enum { REF_CALLER = 1, REF_VARARGS = 2, REF_KWARGS = 4 };

/* compiled template */
struct vr_template {
    arena a;
    node *root;
    symtab syms;
    int sym_loop, sym_caller, sym_varargs, sym_kwargs;
};

int parse_template(vr_template *t, const token_list *toks, char *err, size_t errlen);

/* filter and test tables (filters.c, tests_builtin.c) */
int filter_lookup(const char *name, size_t n);   /* -1 when unknown */
int test_lookup(const char *name, size_t n);
/* builtin globals */
enum { G_RANGE = 1, G_NAMESPACE, G_DICT, G_RAISE, G_STRFTIME, G_CYCLER, G_JOINER };
int global_lookup(const char *name, size_t n);   /* 0 when not a builtin */

/* ---------- render state (eval.c) */
typedef struct scope scope;
struct scope {
    scope *parent;
    val *dense;           /* the template's top level: indexed by symbol */
    int n, cap;
    int *syms;
    val *vals;
};

struct vmacro {
    const node *def;      /* N_MACRO or N_CALL_BLOCK (for caller) */
    scope *env;           /* where it was defined */
    const char *name;
};

struct loopstate {
    val *items; size_t n, idx;
    int depth0;
    const node *recursive; /* the for node when `recursive` */
    scope *env;
    val last_changed; bool has_changed;
    vlist *live;          /* the list iterated, read live as Python does */
    int64_t length; bool has_length; /* loop.length is taken at first use, then kept */
};

typedef struct rstate {
    const vr_template *t;
    arena *a;
    sbuf *out;
    long loop_budget;
    int depth, max_depth;
    char *err; size_t errlen;
    bool failed;
    val *globals;         /* dense, indexed by symbol */
    time_t now; bool have_now;
    int ctl;              /* 0, CTL_BREAK, CTL_CONTINUE while unwinding */
    uintptr_t stack_base; /* frame address where the render started */
    double deadline;      /* CLOCK_MONOTONIC seconds */
    unsigned tick;        /* the clock is read every 256 ticks */
} rstate;

/* nonzero (and the error set) once the render's time budget is spent */
int check_deadline(rstate *st, const node *at);

/* C stack a render may use: the evaluator recurses on nested expressions
 * and macro calls, so depth limits alone cannot bound it */
#define RENDER_STACK_BUDGET ((uintptr_t)1 << 20)

enum { CTL_BREAK = 1, CTL_CONTINUE = 2 };

/* error helpers: format "line L:C: msg" into st->err; return -1 */
int rerr(rstate *st, const node *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int rerr_oom(rstate *st, const node *n);

int eval_expr(rstate *st, scope *sc, const node *n, val *out);
int call_value(rstate *st, scope *sc, const node *at, val fn, val *args, int nargs,
               const char **kwnames, const size_t *kwlens, val *kwvals, int nkw, val *out);
int apply_filter(rstate *st, scope *sc, const node *at, int id, val x, val *args, int nargs,
                 const char **kwn, const size_t *kwl, val *kwv, int nkw, val *out);
int apply_test(rstate *st, scope *sc, const node *at, int id, val x, val *args, int nargs, bool *out);
int call_method(rstate *st, const node *at, val self, const char *name, size_t namelen,
                val *args, int nargs, const char **kwn, const size_t *kwl, val *kwv, int nkw,
                val *out, bool *found);
bool has_method(val self, const char *name, size_t n, bool *unsafe);
int call_global(rstate *st, const node *at, int id, val *args, int nargs,
                const char **kwn, const size_t *kwl, val *kwv, int nkw, val *out);
/* jinja2 environment.getattr (obj.name) and getitem (obj[key]) */
int get_attr(rstate *st, const node *at, val obj, const char *name, size_t n, val *out);
int get_item(rstate *st, const node *at, val obj, val key, val *out);
/* error for using an undefined value (UndefinedError) */
int undef_error(rstate *st, const node *at, val u);
/* materialise an iterable as an array of values */
int iterate(rstate *st, const node *at, val v, val **items, size_t *n);
int eval_template(rstate *st, scope *root);
/* Python's str % args and str.format(*args, **kwargs) */
int str_percent_format(rstate *st, const node *at, val fmt, val args, val *out);
int str_format(rstate *st, const node *at, val fmt, val *args, int nargs,
               const char **kwn, const size_t *kwl, val *kwv, int nkw, val *out);
/* argument `pos` / keyword `name` of a builtin call; false when absent */
bool arg_get(val *args, int nargs, const char **kwn, const size_t *kwl, val *kwv, int nkw,
             int pos, const char *name, val *out);
/* Python ordering for sort/min/max/< ; returns -2 on a type error */
int val_compare(val a, val b, bool case_insensitive);

#endif
