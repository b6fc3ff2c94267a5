/* engine/json_min.c — recursive-descent JSON parser building a small tree.
 * See json_min.h for what it accepts. */
#include "engine/json_min.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vr_json {
    vr_json_type type;
    char *key; /* member name when this value sits in an object */
    union {
        int boolean;
        struct {
            double d;
            int64_t i;
            int is_int; /* written without fraction/exponent and fits in int64 */
        } num;
        struct {
            char *s;
            size_t len;
        } str;
        struct {
            vr_json *items; /* array elements or object members, in order */
            size_t n;
        } kids;
    } u;
};

typedef struct parser {
    const char *p, *start, *end;
    char *err;
    size_t errlen;
    int failed;
} parser;

static void fail(parser *ps, const char *fmt, ...) {
    if (ps->failed)
        return;
    ps->failed = 1;
    if (!ps->err || ps->errlen == 0)
        return;
    int line = 1, col = 1;
    for (const char *q = ps->start; q < ps->p && q < ps->end; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(ps->err, ps->errlen, "line %d col %d: %s", line, col, msg);
}

static void skip_ws(parser *ps) {
    while (ps->p < ps->end &&
           (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static void free_value(vr_json *v) {
    free(v->key);
    if (v->type == VR_JSON_STRING) {
        free(v->u.str.s);
    } else if (v->type == VR_JSON_ARRAY || v->type == VR_JSON_OBJECT) {
        for (size_t i = 0; i < v->u.kids.n; i++)
            free_value(&v->u.kids.items[i]);
        free(v->u.kids.items);
    }
}

static int parse_value(parser *ps, vr_json *out, int depth);

static int hex4(parser *ps, unsigned *out) {
    if (ps->end - ps->p < 4) {
        fail(ps, "truncated \\u escape");
        return -1;
    }
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = ps->p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else {
            fail(ps, "bad hex digit in \\u escape");
            return -1;
        }
    }
    ps->p += 4;
    *out = v;
    return 0;
}

static size_t put_utf8(char *dst, unsigned cp) {
    if (cp < 0x80) {
        dst[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        dst[0] = (char)(0xC0 | (cp >> 6));
        dst[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        dst[0] = (char)(0xE0 | (cp >> 12));
        dst[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        dst[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    dst[0] = (char)(0xF0 | (cp >> 18));
    dst[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    dst[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    dst[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Parses a string starting at the opening quote. The decoded form is never
 * longer than the source, so one allocation of the source span suffices. */
static int parse_string(parser *ps, char **out, size_t *outlen) {
    ps->p++; /* opening quote */
    const char *q = ps->p;
    while (q < ps->end && *q != '"') {
        if (*q == '\\')
            q++;
        q++;
    }
    if (q >= ps->end) {
        fail(ps, "unterminated string");
        return -1;
    }
    char *buf = malloc((size_t)(q - ps->p) + 1);
    if (!buf) {
        fail(ps, "out of memory");
        return -1;
    }
    size_t n = 0;
    while (ps->p < ps->end && *ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p;
        if (c < 0x20) {
            fail(ps, "control character in string");
            free(buf);
            return -1;
        }
        if (c != '\\') {
            buf[n++] = (char)c;
            ps->p++;
            continue;
        }
        ps->p++;
        if (ps->p >= ps->end) {
            fail(ps, "unterminated escape");
            free(buf);
            return -1;
        }
        char e = *ps->p++;
        switch (e) {
        case '"': buf[n++] = '"'; break;
        case '\\': buf[n++] = '\\'; break;
        case '/': buf[n++] = '/'; break;
        case 'b': buf[n++] = '\b'; break;
        case 'f': buf[n++] = '\f'; break;
        case 'n': buf[n++] = '\n'; break;
        case 'r': buf[n++] = '\r'; break;
        case 't': buf[n++] = '\t'; break;
        case 'u': {
            unsigned cp;
            if (hex4(ps, &cp)) {
                free(buf);
                return -1;
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u') {
                    fail(ps, "unpaired high surrogate");
                    free(buf);
                    return -1;
                }
                ps->p += 2;
                if (hex4(ps, &lo)) {
                    free(buf);
                    return -1;
                }
                if (lo < 0xDC00 || lo > 0xDFFF) {
                    fail(ps, "bad low surrogate");
                    free(buf);
                    return -1;
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                fail(ps, "unpaired low surrogate");
                free(buf);
                return -1;
            }
            /* \uXXXX (6 source bytes) -> at most 3 bytes; a pair (12) -> 4 */
            n += put_utf8(buf + n, cp);
            break;
        }
        default:
            fail(ps, "bad escape '\\%c'", e);
            free(buf);
            return -1;
        }
    }
    ps->p++; /* closing quote */
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return 0;
}

static int parse_number(parser *ps, vr_json *out) {
    const char *s = ps->p;
    const char *q = s;
    int is_int = 1;
    if (q < ps->end && *q == '-')
        q++;
    if (q >= ps->end || *q < '0' || *q > '9') {
        fail(ps, "bad number");
        return -1;
    }
    if (*q == '0') {
        q++;
    } else {
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    }
    if (q < ps->end && *q == '.') {
        is_int = 0;
        q++;
        if (q >= ps->end || *q < '0' || *q > '9') {
            fail(ps, "bad number: digit expected after '.'");
            return -1;
        }
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        is_int = 0;
        q++;
        if (q < ps->end && (*q == '+' || *q == '-'))
            q++;
        if (q >= ps->end || *q < '0' || *q > '9') {
            fail(ps, "bad number: digit expected in exponent");
            return -1;
        }
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    }
    /* strtod/strtoll need a NUL-terminated copy: the text is not terminated. */
    size_t n = (size_t)(q - s);
    char tmp[64];
    char *buf = n < sizeof tmp ? tmp : malloc(n + 1);
    if (!buf) {
        fail(ps, "out of memory");
        return -1;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    out->type = VR_JSON_NUMBER;
    out->u.num.d = strtod(buf, NULL);
    out->u.num.is_int = 0;
    if (is_int) {
        errno = 0;
        long long v = strtoll(buf, NULL, 10);
        if (errno == 0) {
            out->u.num.i = (int64_t)v;
            out->u.num.is_int = 1;
        }
    }
    if (buf != tmp)
        free(buf);
    ps->p = q;
    return 0;
}

static int parse_literal(parser *ps, const char *word, vr_json *out, vr_json_type t, int b) {
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) {
        fail(ps, "unexpected character '%c'", *ps->p);
        return -1;
    }
    ps->p += n;
    out->type = t;
    out->u.boolean = b;
    return 0;
}

/* Append *v to a growing array of values. */
static int push(parser *ps, vr_json **items, size_t *n, size_t *cap, vr_json *v) {
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        vr_json *ni = realloc(*items, nc * sizeof *ni);
        if (!ni) {
            fail(ps, "out of memory");
            return -1;
        }
        *items = ni;
        *cap = nc;
    }
    (*items)[(*n)++] = *v;
    return 0;
}

static int parse_container(parser *ps, vr_json *out, int depth, int is_obj) {
    char close = is_obj ? '}' : ']';
    vr_json *items = NULL;
    size_t n = 0, cap = 0;
    out->type = is_obj ? VR_JSON_OBJECT : VR_JSON_ARRAY;
    ps->p++; /* opening bracket */
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        out->u.kids.items = NULL;
        out->u.kids.n = 0;
        return 0;
    }
    for (;;) {
        vr_json item;
        memset(&item, 0, sizeof item);
        skip_ws(ps);
        if (is_obj) {
            size_t klen;
            if (ps->p >= ps->end || *ps->p != '"') {
                fail(ps, "object key (a string) expected");
                goto bad;
            }
            if (parse_string(ps, &item.key, &klen))
                goto bad;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                fail(ps, "':' expected after object key");
                free(item.key);
                goto bad;
            }
            ps->p++;
        }
        char *key = item.key;
        if (parse_value(ps, &item, depth + 1)) {
            free(key);
            goto bad;
        }
        item.key = key;
        if (push(ps, &items, &n, &cap, &item)) {
            free_value(&item);
            goto bad;
        }
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            break;
        }
        fail(ps, "',' or '%c' expected", close);
        goto bad;
    }
    out->u.kids.items = items;
    out->u.kids.n = n;
    return 0;
bad:
    for (size_t i = 0; i < n; i++)
        free_value(&items[i]);
    free(items);
    out->type = VR_JSON_NULL;
    return -1;
}

static int parse_value(parser *ps, vr_json *out, int depth) {
    if (depth > VR_JSON_MAX_DEPTH) {
        fail(ps, "nesting deeper than %d", VR_JSON_MAX_DEPTH);
        return -1;
    }
    skip_ws(ps);
    if (ps->p >= ps->end) {
        fail(ps, "unexpected end of input");
        return -1;
    }
    out->key = NULL;
    switch (*ps->p) {
    case '{': return parse_container(ps, out, depth, 1);
    case '[': return parse_container(ps, out, depth, 0);
    case '"':
        out->type = VR_JSON_STRING;
        if (parse_string(ps, &out->u.str.s, &out->u.str.len)) {
            out->type = VR_JSON_NULL;
            return -1;
        }
        return 0;
    case 't': return parse_literal(ps, "true", out, VR_JSON_BOOL, 1);
    case 'f': return parse_literal(ps, "false", out, VR_JSON_BOOL, 0);
    case 'n': return parse_literal(ps, "null", out, VR_JSON_NULL, 0);
    default:
        if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
            return parse_number(ps, out);
        if ((unsigned char)*ps->p >= 0x20 && (unsigned char)*ps->p < 0x7f)
            fail(ps, "unexpected character '%c'", *ps->p);
        else
            fail(ps, "unexpected byte 0x%02x", (unsigned char)*ps->p);
        return -1;
    }
}

vr_json *vr_json_parse(const char *text, size_t len, char *err, size_t errlen) {
    parser ps = {text, text, text + len, err, errlen, 0};
    vr_json *root = calloc(1, sizeof *root);
    if (!root) {
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (parse_value(&ps, root, 0)) {
        free(root);
        return NULL;
    }
    skip_ws(&ps);
    if (ps.p != ps.end) {
        fail(&ps, "trailing characters after the document");
        free_value(root);
        free(root);
        return NULL;
    }
    return root;
}

void vr_json_free(vr_json *root) {
    if (!root)
        return;
    free_value(root);
    free(root);
}

vr_json_type vr_json_type_of(const vr_json *v) { return v ? v->type : VR_JSON_NULL; }

const char *vr_json_type_name(vr_json_type t) {
    switch (t) {
    case VR_JSON_NULL: return "null";
    case VR_JSON_BOOL: return "bool";
    case VR_JSON_NUMBER: return "number";
    case VR_JSON_STRING: return "string";
    case VR_JSON_ARRAY: return "array";
    case VR_JSON_OBJECT: return "object";
    }
    return "?";
}

size_t vr_json_len(const vr_json *v) {
    if (!v || (v->type != VR_JSON_ARRAY && v->type != VR_JSON_OBJECT))
        return 0;
    return v->u.kids.n;
}

const vr_json *vr_json_at(const vr_json *v, size_t i) {
    if (i >= vr_json_len(v))
        return NULL;
    return &v->u.kids.items[i];
}

const char *vr_json_key_at(const vr_json *v, size_t i) {
    if (!v || v->type != VR_JSON_OBJECT || i >= v->u.kids.n)
        return NULL;
    return v->u.kids.items[i].key;
}

const vr_json *vr_json_get(const vr_json *v, const char *key) {
    if (!v || v->type != VR_JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < v->u.kids.n; i++)
        if (strcmp(v->u.kids.items[i].key, key) == 0)
            return &v->u.kids.items[i];
    return NULL;
}

int vr_json_get_bool(const vr_json *v, int *out) {
    if (!v || v->type != VR_JSON_BOOL)
        return -1;
    *out = v->u.boolean;
    return 0;
}

int vr_json_get_double(const vr_json *v, double *out) {
    if (!v || v->type != VR_JSON_NUMBER)
        return -1;
    *out = v->u.num.d;
    return 0;
}

int vr_json_get_int64(const vr_json *v, int64_t *out) {
    if (!v || v->type != VR_JSON_NUMBER)
        return -1;
    if (v->u.num.is_int) {
        *out = v->u.num.i;
        return 0;
    }
    /* 4.0 or 1e3 written as floats but integral: accept, as Python's json
     * round-trips of configs sometimes produce them. */
    double d = v->u.num.d;
    if (isfinite(d) && d == floor(d) && fabs(d) < 9.0e15) {
        *out = (int64_t)d;
        return 0;
    }
    return -1;
}

int vr_json_get_string(const vr_json *v, const char **out, size_t *len) {
    if (!v || v->type != VR_JSON_STRING)
        return -1;
    *out = v->u.str.s;
    if (len)
        *len = v->u.str.len;
    return 0;
}
