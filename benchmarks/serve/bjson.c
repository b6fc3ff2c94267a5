/* benchmarks/serve/bjson.c — see bjson.h. Nodes and string copies live in a
 * list of arena chunks so the whole document is freed at once. */
#include "benchmarks/serve/bjson.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BJ_MAX_DEPTH 256

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} chunk;

struct vr_bj_doc {
    chunk *chunks;
    vr_bj *root;
    size_t chunk_size; /* scaled to the input: a 200-byte SSE event must not cost 64 KiB */
};

typedef struct {
    const char *p, *start, *end;
    vr_bj_doc *doc;
    char *err;
    size_t errlen;
    int failed;
} parser;

static void *arena_alloc(vr_bj_doc *d, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (!d->chunks || d->chunks->cap - d->chunks->used < n) {
        size_t cap = n > d->chunk_size ? n : d->chunk_size;
        chunk *c = malloc(sizeof *c + cap);
        if (!c) return NULL;
        c->next = d->chunks;
        c->used = 0;
        c->cap = cap;
        d->chunks = c;
    }
    void *r = d->chunks->data + d->chunks->used;
    d->chunks->used += n;
    return r;
}

static void fail(parser *ps, const char *fmt, ...) {
    if (ps->failed) return;
    ps->failed = 1;
    if (!ps->err || !ps->errlen) return;
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(ps->err, ps->errlen, "JSON: %s at byte %zu", msg, (size_t)(ps->p - ps->start));
}

static void skip_ws(parser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int hex4(const char *s, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F)); return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F)); return 4;
}

/* Reads a string starting at the opening quote; the copy is never longer
 * than the source (every escape shrinks or keeps its length). */
static const char *parse_string(parser *ps, size_t *outlen) {
    const char *s = ++ps->p;
    const char *q = s;
    while (q < ps->end && *q != '"') {
        if (*q == '\\') q++;
        q++;
    }
    if (q >= ps->end) { fail(ps, "unterminated string"); return NULL; }
    char *o = arena_alloc(ps->doc, (size_t)(q - s) + 1);
    if (!o) { fail(ps, "out of memory"); return NULL; }
    size_t n = 0;
    while (ps->p < q) {
        unsigned char c = (unsigned char)*ps->p;
        if (c < 0x20) { fail(ps, "control character in string"); return NULL; }
        if (c != '\\') { o[n++] = (char)c; ps->p++; continue; }
        ps->p++;
        char e = *ps->p++;
        switch (e) {
        case '"': o[n++] = '"'; break;
        case '\\': o[n++] = '\\'; break;
        case '/': o[n++] = '/'; break;
        case 'b': o[n++] = '\b'; break;
        case 'f': o[n++] = '\f'; break;
        case 'n': o[n++] = '\n'; break;
        case 'r': o[n++] = '\r'; break;
        case 't': o[n++] = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (q - ps->p < 4 || hex4(ps->p, &cp)) { fail(ps, "bad \\u escape"); return NULL; }
            ps->p += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && q - ps->p >= 6 && ps->p[0] == '\\' && ps->p[1] == 'u' &&
                !hex4(ps->p + 2, &lo) && lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                ps->p += 6;
            } else if (cp >= 0xD800 && cp < 0xE000) {
                cp = 0xFFFD; /* lone surrogate: keep the text usable */
            }
            n += put_utf8(o + n, cp);
            break;
        }
        default: fail(ps, "bad escape"); return NULL;
        }
    }
    o[n] = 0;
    ps->p = q + 1;
    *outlen = n;
    return o;
}

static vr_bj *parse_value(parser *ps, int depth);

static vr_bj *new_node(parser *ps, vr_bj_type t) {
    vr_bj *v = arena_alloc(ps->doc, sizeof *v);
    if (!v) { fail(ps, "out of memory"); return NULL; }
    memset(v, 0, sizeof *v);
    v->type = t;
    return v;
}

static vr_bj *parse_container(parser *ps, int depth, int is_obj) {
    vr_bj *v = new_node(ps, is_obj ? VR_BJ_OBJ : VR_BJ_ARR);
    if (!v) return NULL;
    ps->p++;
    skip_ws(ps);
    char close = is_obj ? '}' : ']';
    if (ps->p < ps->end && *ps->p == close) { ps->p++; return v; }
    vr_bj **tail = &v->child;
    for (;;) {
        const char *key = NULL;
        if (is_obj) {
            size_t kl;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != '"') { fail(ps, "expected a key"); return NULL; }
            if (!(key = parse_string(ps, &kl))) return NULL;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') { fail(ps, "expected ':'"); return NULL; }
            ps->p++;
        }
        vr_bj *c = parse_value(ps, depth + 1);
        if (!c) return NULL;
        c->key = key;
        *tail = c;
        tail = &c->next;
        v->n++;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') { ps->p++; continue; }
        if (ps->p < ps->end && *ps->p == close) { ps->p++; return v; }
        fail(ps, is_obj ? "expected ',' or '}'" : "expected ',' or ']'");
        return NULL;
    }
}

static vr_bj *parse_value(parser *ps, int depth) {
    if (depth > BJ_MAX_DEPTH) { fail(ps, "nesting too deep"); return NULL; }
    skip_ws(ps);
    if (ps->p >= ps->end) { fail(ps, "unexpected end"); return NULL; }
    char c = *ps->p;
    if (c == '{' || c == '[') return parse_container(ps, depth, c == '{');
    if (c == '"') {
        vr_bj *v = new_node(ps, VR_BJ_STR);
        if (!v || !(v->str = parse_string(ps, &v->len))) return NULL;
        return v;
    }
    static const struct { const char *w; vr_bj_type t; double n; } lits[] = {
        {"true", VR_BJ_BOOL, 1}, {"false", VR_BJ_BOOL, 0}, {"null", VR_BJ_NULL, 0}};
    for (size_t i = 0; i < 3; i++) {
        size_t l = strlen(lits[i].w);
        if ((size_t)(ps->end - ps->p) >= l && !memcmp(ps->p, lits[i].w, l)) {
            vr_bj *v = new_node(ps, lits[i].t);
            if (!v) return NULL;
            v->num = lits[i].n;
            ps->p += l;
            return v;
        }
    }
    /* number: validate the JSON grammar, then convert a bounded copy */
    const char *s = ps->p, *q = s;
    if (q < ps->end && *q == '-') q++;
    if (q >= ps->end || *q < '0' || *q > '9') { fail(ps, "unexpected character"); return NULL; }
    if (*q == '0') q++;
    else while (q < ps->end && *q >= '0' && *q <= '9') q++;
    if (q < ps->end && *q == '.') {
        q++;
        if (q >= ps->end || *q < '0' || *q > '9') { fail(ps, "bad number"); return NULL; }
        while (q < ps->end && *q >= '0' && *q <= '9') q++;
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < ps->end && (*q == '+' || *q == '-')) q++;
        if (q >= ps->end || *q < '0' || *q > '9') { fail(ps, "bad number"); return NULL; }
        while (q < ps->end && *q >= '0' && *q <= '9') q++;
    }
    char buf[64];
    size_t l = (size_t)(q - s);
    if (l >= sizeof buf) l = sizeof buf - 1; /* precision beyond this is noise for us */
    memcpy(buf, s, l);
    buf[l] = 0;
    vr_bj *v = new_node(ps, VR_BJ_NUM);
    if (!v) return NULL;
    v->num = strtod(buf, NULL);
    ps->p = q;
    return v;
}

vr_bj_doc *vr_bj_parse(const char *text, size_t len, char *err, size_t errlen) {
    if (err && errlen) err[0] = 0;
    vr_bj_doc *d = calloc(1, sizeof *d);
    if (!d) {
        if (err && errlen) snprintf(err, errlen, "JSON: out of memory");
        return NULL;
    }
    /* small inputs get a small first chunk; more chunks are added as needed */
    d->chunk_size = len < 16384 ? 2 * len + 1024 : 65536;
    parser ps = {text, text, text + len, d, err, errlen, 0};
    if (!text) { ps.end = ps.p = ps.start = ""; }
    d->root = parse_value(&ps, 0);
    if (d->root) {
        skip_ws(&ps);
        if (ps.p != ps.end) fail(&ps, "trailing characters");
    }
    if (ps.failed || !d->root) {
        vr_bj_free(d);
        return NULL;
    }
    return d;
}

void vr_bj_free(vr_bj_doc *doc) {
    if (!doc) return;
    for (chunk *c = doc->chunks, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    free(doc);
}

const vr_bj *vr_bj_root(const vr_bj_doc *doc) { return doc ? doc->root : NULL; }

const vr_bj *vr_bj_get(const vr_bj *obj, const char *key) {
    if (!obj || obj->type != VR_BJ_OBJ) return NULL;
    const vr_bj *found = NULL;
    for (const vr_bj *c = obj->child; c; c = c->next)
        if (!strcmp(c->key, key)) found = c; /* last duplicate wins, as in most parsers */
    return found;
}

const vr_bj *vr_bj_at(const vr_bj *arr, size_t i) {
    if (!arr || arr->type != VR_BJ_ARR) return NULL;
    const vr_bj *c = arr->child;
    while (c && i--) c = c->next;
    return c;
}

const char *vr_bj_str(const vr_bj *v) { return v && v->type == VR_BJ_STR ? v->str : NULL; }

int vr_bj_num(const vr_bj *v, double *out) {
    if (!v || v->type != VR_BJ_NUM) return -1;
    *out = v->num;
    return 0;
}
