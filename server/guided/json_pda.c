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
};

enum { /* st, inside a free value */
    S_ROOT, S_VAL, S_ARR_FIRST, S_OBJ_FIRST, S_OBJ_KEY, S_COLON, S_AFTER,
    S_STR, S_ESC, S_HEX, S_LOW_BS, S_LOW_U, S_UTF8,
    S_NUM_MINUS, S_NUM_ZERO, S_NUM_INT, S_NUM_DOT, S_NUM_FRAC, S_NUM_E, S_NUM_ESIGN, S_NUM_EXP,
    S_LIT,
};

enum { F_KEY = 1, F_LOW = 2 }; /* string is an object key; reading a low surrogate */

void vr_jpda_init(vr_jpda *a, const vr_jshape *shape) {
    memset(a, 0, sizeof *a);
    a->shape = shape;
    a->phase = shape->kind == VR_JSHAPE_TOOL_CALLS ? P_ARR : P_FREE;
    a->st = S_ROOT;
}

int vr_jpda_done(const vr_jpda *a) { return a->phase == P_DONE; }

int vr_jpda_in_string(const vr_jpda *a) {
    return (a->phase == P_FREE || a->phase == P_PARAMS) && a->st == S_STR;
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
    if (a->depth == 0) a->phase = a->phase == P_PARAMS ? P_CALL_CLOSE : P_DONE;
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

/* A byte inside the free value (phase P_FREE or P_PARAMS). */
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

/* The function name: narrow [elo, ehi) to the names going on with c. Names
 * are sorted, so those sharing a prefix are contiguous and the one that
 * ends right there comes first. */
static int name_byte(vr_jpda *a, uint8_t c) {
    const vr_jshape *s = a->shape;
    /* names are stored escaped: a '"' inside one follows an odd run of
     * backslashes, where no name can end, so the two never compete */
    if (c == '"' && s->name_lens[a->elo] == a->pos) {
        a->phase = P_COMMA1;
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
        a->phase = P_PARAMS;
        a->st = S_ROOT;
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
