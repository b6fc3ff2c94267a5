/* server/guided/json_pda.c — the byte-level JSON automaton (guided.h).
 *
 * Two layers in one small state: `phase` walks the fixed skeleton of the
 * shape (for tool calls: [ { "name" : "<name>" , "parameters" : <object> }
 * , ... ]), and `st` / `depth` / `stack` read a free JSON value (the root
 * object of OBJECT, each call's parameters). Every byte is judged at once,
 * so an accepted prefix always has a viable continuation: the mask never
 * leaves the model without a token to pick. */
#include <stdlib.h>
#include <string.h>

#include "server/guided/guided.h"

enum { /* phase */
    P_FREE,           /* reading the root object (OBJECT shape) */
    P_ARR,            /* '[' opening the list of calls */
    P_CALL_OPEN,      /* '{' opening a call */
    P_KEY_NAME,       /* '"' of "name" */
    P_KEY_NAME_LIT,   /* rest of name" */
    P_NAME_COLON,
    P_NAME_VAL,       /* '"' opening the function name */
    P_NAME_STR,       /* the function name, one of shape->names */
    P_COMMA1,
    P_KEY_PARAMS,     /* '"' of "parameters" */
    P_KEY_PARAMS_LIT, /* rest of parameters" */
    P_PARAMS_COLON,
    P_PARAMS,         /* reading the parameters object */
    P_CALL_CLOSE,     /* '}' closing a call */
    P_AFTER_CALL,     /* ',' or ']' */
    P_DONE,
    P_SCHEMA,         /* reading the root value of a SCHEMA shape */
    P_SPARAMS,        /* reading parameters that have a schema */
};

enum { /* st, inside a free value */
    S_ROOT, S_VAL, S_ARR_FIRST, S_OBJ_FIRST, S_OBJ_KEY, S_COLON, S_AFTER,
    S_STR, S_ESC, S_HEX, S_LOW_BS, S_LOW_U, S_UTF8,
    S_NUM_MINUS, S_NUM_ZERO, S_NUM_INT, S_NUM_DOT, S_NUM_FRAC, S_NUM_E, S_NUM_ESIGN, S_NUM_EXP,
    S_LIT,
    /* schema states (phase P_SCHEMA / P_SPARAMS); a value without more
     * structure to check (a string, a number, any value) is read by the
     * free states above from depth 0 and handed back when it ends */
    S_SVAL,      /* a value of node vn */
    S_SOBJ_OPEN, /* after '{': a key or '}' */
    S_SOBJ_NEXT, /* after a member: ',' or '}' */
    S_SOBJ_KEY,  /* after ',': a key */
    S_SKEY,      /* inside a key: cand holds those still matching */
    S_SCOLON,
    S_SARR_OPEN, /* after '[': an element or ']' */
    S_SARR_NEXT, /* after an element: ',' or ']' */
    S_SENUM,     /* one of vn's literals: [elo, ehi) still match */
};

/* string is an object key; reading a low surrogate; a number must be an integer */
enum { F_KEY = 1, F_LOW = 2, F_INT = 4 };

void vr_jpda_init(vr_jpda *a, const vr_jshape *shape) {
    memset(a, 0, sizeof *a);
    a->shape = shape;
    a->phase = shape->kind == VR_JSHAPE_TOOL_CALLS ? P_ARR : shape->kind == VR_JSHAPE_SCHEMA ? P_SCHEMA : P_FREE;
    a->st = a->phase == P_SCHEMA ? S_SVAL : S_ROOT;
    a->vn = shape->root;
}

static int in_schema(const vr_jpda *a) { return a->phase == P_SCHEMA || a->phase == P_SPARAMS; }

int vr_jpda_done(const vr_jpda *a) { return a->phase == P_DONE; }

int vr_jpda_in_string(const vr_jpda *a) {
    return (a->phase == P_FREE || a->phase == P_PARAMS || in_schema(a)) && a->st == S_STR;
}

static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
static int is_hex(uint8_t c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
static int hex_val(uint8_t c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; }

static int push(vr_jpda *a, int is_array) {
    if (a->depth >= VR_JPDA_MAX_DEPTH) return -1;
    if (is_array) a->stack |= 1u << a->depth;
    else a->stack &= ~(1u << a->depth);
    a->depth++;
    a->st = is_array ? S_ARR_FIRST : S_OBJ_FIRST;
    return 0;
}

/* A container closed; the free value may be complete. */
static int close_container(vr_jpda *a) {
    a->depth--;
    if (a->depth == 0 && in_schema(a)) a->st = S_AFTER; /* handed back at the next byte */
    else if (a->depth == 0) a->phase = a->phase == P_PARAMS ? P_CALL_CLOSE : P_DONE;
    else a->st = S_AFTER;
    return 0;
}

static int top_is_array(const vr_jpda *a) { return (a->stack >> (a->depth - 1)) & 1u; }

static int value_start(vr_jpda *a, uint8_t c) {
    switch (c) {
    case '{': return push(a, 0);
    case '[': return push(a, 1);
    case '"': a->st = S_STR; a->flags &= (uint8_t)~F_KEY; return 0;
    case '-': a->st = S_NUM_MINUS; return 0;
    case '0': a->st = S_NUM_ZERO; return 0;
    case 't': a->st = S_LIT; a->lit = "rue"; a->pos = 0; return 0;
    case 'f': a->st = S_LIT; a->lit = "alse"; a->pos = 0; return 0;
    case 'n': a->st = S_LIT; a->lit = "ull"; a->pos = 0; return 0;
    default:
        if (c >= '1' && c <= '9') { a->st = S_NUM_INT; return 0; }
        return -1;
    }
}

/* A string byte that is neither '"' nor '\\': plain ASCII or UTF-8. */
static int str_byte(vr_jpda *a, uint8_t c) {
    if (c < 0x20) return -1;
    if (c < 0x80) return 0;
    if (c >= 0xC2 && c <= 0xDF) { a->u = 1; a->ulo = 0x80; a->uhi = 0xBF; }
    else if (c == 0xE0) { a->u = 2; a->ulo = 0xA0; a->uhi = 0xBF; }
    else if (c == 0xED) { a->u = 2; a->ulo = 0x80; a->uhi = 0x9F; } /* no surrogates */
    else if (c >= 0xE1 && c <= 0xEF) { a->u = 2; a->ulo = 0x80; a->uhi = 0xBF; }
    else if (c == 0xF0) { a->u = 3; a->ulo = 0x90; a->uhi = 0xBF; }
    else if (c >= 0xF1 && c <= 0xF3) { a->u = 3; a->ulo = 0x80; a->uhi = 0xBF; }
    else if (c == 0xF4) { a->u = 3; a->ulo = 0x80; a->uhi = 0x8F; } /* <= U+10FFFF */
    else return -1;
    a->st = S_UTF8;
    return 0;
}

/* One hex digit of \uXXXX. Surrogates must come as a high-low pair; a lone
 * low one is refused at its second digit, \u0000 at its last. */
static int hex_digit(vr_jpda *a, uint8_t c) {
    if (!is_hex(c)) return -1;
    int i = 4 - a->u;
    int low = (a->flags & F_LOW) != 0;
    if (i == 0 && low && (c | 0x20) != 'd') return -1;
    if (i == 1 && a->cp == 0xD) {
        int v = hex_val(c);
        if (low && v < 0xC) return -1;
        if (!low && v >= 0xC) return -1;
    }
    a->cp = (uint16_t)(a->cp << 4 | hex_val(c));
    if (--a->u) return 0;
    if (low) {
        a->flags &= (uint8_t)~F_LOW;
        a->st = S_STR;
    } else if (a->cp >= 0xD800 && a->cp <= 0xDBFF) {
        a->flags |= F_LOW;
        a->st = S_LOW_BS;
    } else if (a->cp == 0) {
        return -1;
    } else {
        a->st = S_STR;
    }
    return 0;
}

/* Whitespace where the grammar allows it, at most VR_JPDA_MAX_WS bytes in
 * a row (so a model cannot spend its whole budget on spaces). Expects c's
 * `ws` flag and the count before it, `prev_ws`, in scope. */
#define WS_OK()                                                  \
    do {                                                         \
        if (ws) {                                                \
            if (prev_ws >= VR_JPDA_MAX_WS) return -1;            \
            a->ws = (uint8_t)(prev_ws + 1);                      \
            return 0;                                            \
        }                                                        \
    } while (0)

static int schema_byte(vr_jpda *a, uint8_t c, int ws, uint8_t prev_ws);
static void value_done(vr_jpda *a);

/* A byte inside the free value (phase P_FREE or P_PARAMS, or a value of a
 * schema without more structure). */
static int free_byte(vr_jpda *a, uint8_t c, int ws, uint8_t prev_ws) {
    for (;;) {
        switch (a->st) {
        case S_ROOT:
            if (a->phase == P_PARAMS) WS_OK(); /* the root of OBJECT starts the output: no ws */
            return c == '{' ? push(a, 0) : -1;
        case S_VAL: WS_OK(); return value_start(a, c);
        case S_ARR_FIRST:
            WS_OK();
            if (c == ']') return close_container(a);
            return value_start(a, c);
        case S_OBJ_FIRST:
            WS_OK();
            if (c == '}') return close_container(a);
            /* fall through */
        case S_OBJ_KEY:
            WS_OK();
            if (c != '"') return -1;
            a->st = S_STR;
            a->flags |= F_KEY;
            return 0;
        case S_COLON:
            WS_OK();
            if (c != ':') return -1;
            a->st = S_VAL;
            return 0;
        case S_AFTER:
            if (a->depth == 0 && in_schema(a)) { /* a schema's value ended: c is the schema's */
                value_done(a);
                return schema_byte(a, c, ws, prev_ws);
            }
            WS_OK();
            if (c == ',') { a->st = top_is_array(a) ? S_VAL : S_OBJ_KEY; return 0; }
            if (c == ']' && top_is_array(a)) return close_container(a);
            if (c == '}' && !top_is_array(a)) return close_container(a);
            return -1;
        case S_STR:
            if (c == '"') { a->st = a->flags & F_KEY ? S_COLON : S_AFTER; return 0; }
            if (c == '\\') { a->st = S_ESC; return 0; }
            return str_byte(a, c);
        case S_ESC:
            if (c == 'u') { a->st = S_HEX; a->u = 4; a->cp = 0; return 0; }
            if (!c || !strchr("\"\\/bfnrt", c)) return -1;
            a->st = S_STR;
            return 0;
        case S_HEX: return hex_digit(a, c);
        case S_LOW_BS: if (c != '\\') return -1; a->st = S_LOW_U; return 0;
        case S_LOW_U: if (c != 'u') return -1; a->st = S_HEX; a->u = 4; a->cp = 0; return 0;
        case S_UTF8:
            if (c < a->ulo || c > a->uhi) return -1;
            a->ulo = 0x80;
            a->uhi = 0xBF;
            if (--a->u == 0) a->st = S_STR;
            return 0;
        case S_NUM_MINUS:
            if (c == '0') { a->st = S_NUM_ZERO; return 0; }
            if (c >= '1' && c <= '9') { a->st = S_NUM_INT; return 0; }
            return -1;
        case S_NUM_ZERO:
        case S_NUM_INT:
            if (a->st == S_NUM_INT && is_digit(c)) return 0;
            if (a->flags & F_INT) { a->st = S_AFTER; continue; } /* no fraction, no exponent */
            if (c == '.') { a->st = S_NUM_DOT; return 0; }
            if (c == 'e' || c == 'E') { a->st = S_NUM_E; return 0; }
            a->st = S_AFTER; /* the number ended: c belongs to what follows */
            continue;
        case S_NUM_DOT: if (!is_digit(c)) return -1; a->st = S_NUM_FRAC; return 0;
        case S_NUM_FRAC:
            if (is_digit(c)) return 0;
            if (c == 'e' || c == 'E') { a->st = S_NUM_E; return 0; }
            a->st = S_AFTER;
            continue;
        case S_NUM_E:
            if (c == '+' || c == '-') { a->st = S_NUM_ESIGN; return 0; }
            /* fall through */
        case S_NUM_ESIGN: if (!is_digit(c)) return -1; a->st = S_NUM_EXP; return 0;
        case S_NUM_EXP:
            if (is_digit(c)) return 0;
            a->st = S_AFTER;
            continue;
        case S_LIT:
            if (c != (uint8_t)a->lit[a->pos]) return -1;
            if (!a->lit[++a->pos]) a->st = S_AFTER;
            return 0;
        default: return -1;
        }
    }
}

/* ---- schema shapes ---- */

static const vr_jnode *node_of(const vr_jpda *a, uint16_t n) { return &a->shape->nodes[n]; }
static const vr_jnode *top_node(const vr_jpda *a) { return node_of(a, a->sn[a->sd - 1]); }
static int top_is_sarr(const vr_jpda *a) { return (a->sarr >> (a->sd - 1)) & 1u; }

/* The keys that may come at property index `from`: properties keep the
 * schema's order, so every one up to the next required one (included). */
static uint64_t key_cands(const vr_jnode *n, int from) {
    uint64_t m = 0;
    for (int j = from; j < n->n_props; j++) {
        m |= 1ULL << j;
        if (n->required >> j & 1u) break;
    }
    return m;
}
/* No required property left at index `from` or after. */
static int can_close(const vr_jnode *n, int from) { return from >= 64 || !(n->required >> from); }

/* The value of the innermost schema container (or the root) is complete. */
static void value_done(vr_jpda *a) {
    if (a->sd == 0) {
        a->phase = a->phase == P_SPARAMS ? P_CALL_CLOSE : P_DONE;
        return;
    }
    if (top_is_sarr(a)) {
        if (a->sc[a->sd - 1] < 0xFFFF) a->sc[a->sd - 1]++; /* past every minItems / maxItems */
        a->st = S_SARR_NEXT;
    } else {
        a->st = S_SOBJ_NEXT;
    }
}

static int spush(vr_jpda *a, uint16_t node, int is_array) {
    if (a->sd >= VR_JSCHEMA_MAX_DEPTH) return -1; /* schema.c keeps nesting below this */
    if (is_array) a->sarr |= 1u << a->sd;
    else a->sarr &= ~(1u << a->sd);
    a->sn[a->sd] = node;
    a->sc[a->sd] = 0;
    a->sd++;
    a->st = is_array ? S_SARR_OPEN : S_SOBJ_OPEN;
    return 0;
}

static int spop(vr_jpda *a) {
    a->sd--;
    value_done(a);
    return 0;
}

/* One byte of node n's literals (enum / const), sorted: those sharing a
 * prefix are contiguous and one that ends here comes first. A byte no
 * literal goes on with ends the value when one has ended. */
static int enum_byte(vr_jpda *a, uint8_t c, int ws, uint8_t prev_ws) {
    const vr_jnode *n = node_of(a, a->vn);
    int lo = a->elo, hi = a->ehi;
    while (lo < hi && (n->lit_lens[lo] <= a->pos || (uint8_t)n->lits[lo][a->pos] < c)) lo++;
    if (lo < hi && (uint8_t)n->lits[lo][a->pos] == c) {
        int e = lo + 1;
        while (e < hi && (uint8_t)n->lits[e][a->pos] == c) e++;
        a->elo = (uint16_t)lo;
        a->ehi = (uint16_t)e;
        a->pos++;
        return 0;
    }
    if (n->lit_lens[a->elo] != a->pos) return -1;
    value_done(a);
    return schema_byte(a, c, ws, prev_ws);
}

/* The first byte of a value of node `node`. */
static int node_value_start(vr_jpda *a, uint16_t node, uint8_t c) {
    a->flags &= (uint8_t)~F_INT;
    a->depth = 0;
    if (node == VR_JNODE_ANY) return value_start(a, c);
    const vr_jnode *n = node_of(a, node);
    if (n->n_alts) { /* anyOf: the branch this byte can start (schema.c keeps them apart) */
        uint8_t f = c == '{' ? VR_JF_OBJ : c == '[' ? VR_JF_ARR : c == '"' ? VR_JF_STR : c == 't' ? VR_JF_T
                  : c == 'f' ? VR_JF_F : c == 'n' ? VR_JF_N : (c == '-' || is_digit(c)) ? VR_JF_NUM : 0;
        for (int i = 0; f && i < n->n_alts; i++)
            if (n->alts[i] == VR_JNODE_ANY || node_of(a, n->alts[i])->first & f)
                return node_value_start(a, n->alts[i], c);
        return -1;
    }
    if (n->n_lits) {
        a->vn = node;
        a->st = S_SENUM;
        a->elo = 0;
        a->ehi = (uint16_t)n->n_lits;
        a->pos = 0;
        return enum_byte(a, c, 0, 0); /* the first byte never ends a value */
    }
    int t = n->types;
    switch (c) {
    case '{':
        if (!(t & VR_JT_OBJ)) return -1;
        return n->has_props ? spush(a, node, 0) : push(a, 0);
    case '[':
        if (!(t & VR_JT_ARR)) return -1;
        return spush(a, node, 1);
    case '"': if (!(t & VR_JT_STR)) return -1; break;
    case 't': case 'f': if (!(t & VR_JT_BOOL)) return -1; break;
    case 'n': if (!(t & VR_JT_NULL)) return -1; break;
    default:
        if (c != '-' && !is_digit(c)) return -1;
        if (!(t & VR_JT_INT)) return -1;
        if (!(t & VR_JT_NUM)) a->flags |= F_INT;
    }
    return value_start(a, c);
}

static int key_start(vr_jpda *a, int from) {
    a->cand = key_cands(top_node(a), from);
    if (!a->cand) return -1;
    a->st = S_SKEY;
    a->pos = 1; /* the opening quote, part of every key */
    return 0;
}

static int key_byte(vr_jpda *a, uint8_t c) {
    const vr_jnode *n = top_node(a);
    uint64_t m = 0;
    for (uint64_t r = a->cand; r; r &= r - 1) {
        int j = __builtin_ctzll(r);
        if (n->props[j].len > a->pos && (uint8_t)n->props[j].key[a->pos] == c) m |= 1ULL << j;
    }
    if (!m) return -1;
    a->cand = m;
    a->pos++;
    /* keys end at their unescaped closing quote, so none is a prefix of
     * another: a key that ended is the only one left */
    int j = __builtin_ctzll(m);
    if (n->props[j].len == a->pos) {
        a->sc[a->sd - 1] = (uint16_t)(j + 1);
        a->vn = n->props[j].node;
        a->st = S_SCOLON;
    }
    return 0;
}

static int schema_byte(vr_jpda *a, uint8_t c, int ws, uint8_t prev_ws) {
    switch (a->st) {
    case S_SVAL:
        if (a->sd > 0 || a->phase == P_SPARAMS) WS_OK(); /* the output starts with its value */
        return node_value_start(a, a->vn, c);
    case S_SOBJ_OPEN:
    case S_SOBJ_NEXT: {
        WS_OK();
        const vr_jnode *n = top_node(a);
        int from = a->sc[a->sd - 1];
        if (c == '}') return can_close(n, from) ? spop(a) : -1;
        if (a->st == S_SOBJ_OPEN) return c == '"' ? key_start(a, from) : -1;
        if (c != ',' || !key_cands(n, from)) return -1;
        a->st = S_SOBJ_KEY;
        return 0;
    }
    case S_SOBJ_KEY: WS_OK(); return c == '"' ? key_start(a, a->sc[a->sd - 1]) : -1;
    case S_SKEY: return key_byte(a, c);
    case S_SCOLON:
        WS_OK();
        if (c != ':') return -1;
        a->st = S_SVAL;
        return 0;
    case S_SARR_OPEN:
    case S_SARR_NEXT: {
        WS_OK();
        const vr_jnode *n = top_node(a);
        int cnt = a->sc[a->sd - 1];
        if (c == ']') return cnt >= n->min_items ? spop(a) : -1;
        if (n->max_items >= 0 && cnt >= n->max_items) return -1;
        if (a->st == S_SARR_OPEN) return node_value_start(a, n->items, c);
        if (c != ',') return -1;
        a->vn = n->items;
        a->st = S_SVAL;
        return 0;
    }
    case S_SENUM: return enum_byte(a, c, ws, prev_ws);
    default: return -1;
    }
}

/* The function name: narrow [elo, ehi) to the names going on with c. Names
 * are sorted, so those sharing a prefix are contiguous and the one that
 * ends right there comes first. */
static int name_byte(vr_jpda *a, uint8_t c) {
    const vr_jshape *s = a->shape;
    /* names are stored escaped: a '"' inside one follows an odd run of
     * backslashes, where no name can end, so the two never compete */
    if (c == '"' && s->name_lens[a->elo] == a->pos) {
        a->phase = P_COMMA1;
        a->vn = s->name_roots ? s->name_roots[a->elo] : VR_JNODE_ANY; /* its parameters */
        return 0;
    }
    int lo = a->elo, hi = a->ehi;
    while (lo < hi && (s->name_lens[lo] <= a->pos || (uint8_t)s->names[lo][a->pos] != c)) {
        if (s->name_lens[lo] > a->pos && (uint8_t)s->names[lo][a->pos] > c) return -1;
        lo++;
    }
    if (lo == hi) return -1;
    int e = lo + 1;
    while (e < hi && (uint8_t)s->names[e][a->pos] == c) e++;
    a->elo = (uint16_t)lo;
    a->ehi = (uint16_t)e;
    a->pos++;
    return 0;
}

int vr_jpda_feed(vr_jpda *a, uint8_t c) {
    int ws = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    uint8_t prev_ws = a->ws;
    a->ws = 0;
#define EXPECT(ch, next)                                         \
    do {                                                         \
        if (c != (ch)) return -1;                                \
        a->phase = (next);                                       \
        return 0;                                                \
    } while (0)
    switch (a->phase) {
    case P_FREE:
    case P_PARAMS: return free_byte(a, c, ws, prev_ws);
    case P_SCHEMA:
    case P_SPARAMS: return a->st >= S_SVAL ? schema_byte(a, c, ws, prev_ws) : free_byte(a, c, ws, prev_ws);
    case P_ARR: EXPECT('[', P_CALL_OPEN); /* first byte of the output: no ws */
    case P_CALL_OPEN: WS_OK(); EXPECT('{', P_KEY_NAME);
    case P_KEY_NAME:
        WS_OK();
        if (c != '"') return -1;
        a->phase = P_KEY_NAME_LIT;
        a->lit = "name\"";
        a->pos = 0;
        return 0;
    case P_KEY_PARAMS:
        WS_OK();
        if (c != '"') return -1;
        a->phase = P_KEY_PARAMS_LIT;
        a->lit = "parameters\"";
        a->pos = 0;
        return 0;
    case P_KEY_NAME_LIT:
    case P_KEY_PARAMS_LIT:
        if (c != (uint8_t)a->lit[a->pos]) return -1;
        if (!a->lit[++a->pos]) a->phase = a->phase == P_KEY_NAME_LIT ? P_NAME_COLON : P_PARAMS_COLON;
        return 0;
    case P_NAME_COLON: WS_OK(); EXPECT(':', P_NAME_VAL);
    case P_NAME_VAL:
        WS_OK();
        if (c != '"') return -1;
        a->phase = P_NAME_STR;
        a->pos = 0;
        a->elo = 0;
        a->ehi = (uint16_t)a->shape->n_names;
        return 0;
    case P_NAME_STR: return name_byte(a, c);
    case P_COMMA1: WS_OK(); EXPECT(',', P_KEY_PARAMS);
    case P_PARAMS_COLON:
        WS_OK();
        if (c != ':') return -1;
        a->flags &= (uint8_t)~F_INT;
        a->phase = a->vn == VR_JNODE_ANY ? P_PARAMS : P_SPARAMS;
        a->st = a->vn == VR_JNODE_ANY ? S_ROOT : S_SVAL;
        return 0;
    case P_CALL_CLOSE:
        WS_OK();
        if (c != '}') return -1;
        a->ncalls++;
        a->phase = P_AFTER_CALL;
        return 0;
    case P_AFTER_CALL:
        WS_OK();
        if (c == ']') { a->phase = P_DONE; return 0; }
        if (c == ',' && (a->shape->max_calls <= 0 || a->ncalls < a->shape->max_calls)) {
            a->phase = P_CALL_OPEN;
            return 0;
        }
        return -1;
    default: return -1; /* P_DONE: only EOS */
    }
#undef WS_OK
#undef EXPECT
}

int vr_jpda_feed_all(vr_jpda *a, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (vr_jpda_feed(a, (uint8_t)s[i])) return -1;
    return 0;
}
