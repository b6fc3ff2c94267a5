/* vireo detokenize PATH [--skip-special-tokens]
 * Reads JSON lines {"ids": [...]} from stdin, writes {"text": "..."} lines.
 * A bad line (not JSON, no "ids", an id out of range) gets {"error": "..."}
 * and the command goes on; the exit status is 1 if any line failed.
 * (The JSON line reader is the same small one as cmd_tokenize.c's: each
 * command file stands alone.) */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/cli/commands.h"
#include "tokenizer/tokenizer.h"

typedef struct { char *p; size_t n, cap; } sbuf;

static int sb_put(sbuf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
    return 0;
}

typedef struct { const char *p, *end; const char *err; } jcur;

static void ws(jcur *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static int hex4(const char *p, unsigned *v) {
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char h = p[i];
        *v <<= 4;
        if (h >= '0' && h <= '9') *v |= (unsigned)(h - '0');
        else if ((h | 32) >= 'a' && (h | 32) <= 'f') *v |= (unsigned)((h | 32) - 'a' + 10);
        else return -1;
    }
    return 0;
}

/* A JSON string at c->p into out (NULL: just skip it). Unpaired surrogates
 * are refused: they have no UTF-8 form. */
static int jstring(jcur *c, sbuf *out) {
    if (c->p >= c->end || *c->p != '"') return c->err = "expected a string", -1;
    c->p++;
    while (c->p < c->end && *c->p != '"') {
        unsigned char ch = (unsigned char)*c->p;
        if (ch < 0x20) return c->err = "control character in string", -1;
        if (ch != '\\') {
            const char *s = c->p;
            while (c->p < c->end && *c->p != '"' && *c->p != '\\' && (unsigned char)*c->p >= 0x20) c->p++;
            if (out && sb_put(out, s, (size_t)(c->p - s))) return c->err = "out of memory", -1;
            continue;
        }
        if (++c->p >= c->end) break;
        char e = *c->p++, buf[4];
        size_t k = 1;
        switch (e) {
        case '"': buf[0] = '"'; break;
        case '\\': buf[0] = '\\'; break;
        case '/': buf[0] = '/'; break;
        case 'b': buf[0] = '\b'; break;
        case 'f': buf[0] = '\f'; break;
        case 'n': buf[0] = '\n'; break;
        case 'r': buf[0] = '\r'; break;
        case 't': buf[0] = '\t'; break;
        case 'u': {
            unsigned v, lo;
            if (c->end - c->p < 4 || hex4(c->p, &v)) return c->err = "bad \\u escape", -1;
            c->p += 4;
            if (v >= 0xDC00 && v <= 0xDFFF) return c->err = "unpaired surrogate in string", -1;
            if (v >= 0xD800 && v <= 0xDBFF) {
                if (c->end - c->p < 6 || c->p[0] != '\\' || c->p[1] != 'u' || hex4(c->p + 2, &lo) || lo < 0xDC00 ||
                    lo > 0xDFFF)
                    return c->err = "unpaired surrogate in string", -1;
                c->p += 6;
                v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (v < 0x80) buf[0] = (char)v;
            else if (v < 0x800) {
                buf[0] = (char)(0xC0 | (v >> 6));
                buf[1] = (char)(0x80 | (v & 0x3F));
                k = 2;
            } else if (v < 0x10000) {
                buf[0] = (char)(0xE0 | (v >> 12));
                buf[1] = (char)(0x80 | ((v >> 6) & 0x3F));
                buf[2] = (char)(0x80 | (v & 0x3F));
                k = 3;
            } else {
                buf[0] = (char)(0xF0 | (v >> 18));
                buf[1] = (char)(0x80 | ((v >> 12) & 0x3F));
                buf[2] = (char)(0x80 | ((v >> 6) & 0x3F));
                buf[3] = (char)(0x80 | (v & 0x3F));
                k = 4;
            }
            break;
        }
        default: return c->err = "bad escape in string", -1;
        }
        if (out && sb_put(out, buf, k)) return c->err = "out of memory", -1;
    }
    if (c->p >= c->end) return c->err = "unterminated string", -1;
    c->p++;
    if (out && !out->p && sb_put(out, "", 0)) return -1;
    return 0;
}

static int jskip(jcur *c, int depth) {
    ws(c);
    if (c->p >= c->end) return c->err = "unexpected end of line", -1;
    if (depth > 64) return c->err = "nesting too deep", -1;
    char ch = *c->p;
    if (ch == '"') return jstring(c, NULL);
    if (ch == '{' || ch == '[') {
        char close = ch == '{' ? '}' : ']';
        c->p++;
        ws(c);
        if (c->p < c->end && *c->p == close) return c->p++, 0;
        for (;;) {
            if (ch == '{') {
                ws(c);
                if (jstring(c, NULL)) return -1;
                ws(c);
                if (c->p >= c->end || *c->p++ != ':') return c->err = "expected ':'", -1;
            }
            if (jskip(c, depth + 1)) return -1;
            ws(c);
            if (c->p < c->end && *c->p == ',') { c->p++; continue; }
            if (c->p < c->end && *c->p == close) return c->p++, 0;
            return c->err = "expected ',' or a closing bracket", -1;
        }
    }
    static const char *const lits[] = {"true", "false", "null"};
    for (int i = 0; i < 3; i++) {
        size_t l = strlen(lits[i]);
        if ((size_t)(c->end - c->p) >= l && !memcmp(c->p, lits[i], l)) return c->p += l, 0;
    }
    const char *s = c->p;
    char *e;
    if (ch == '-' || (ch >= '0' && ch <= '9')) {
        (void)strtod(s, &e);
        if (e > s && e <= c->end) return c->p = e, 0;
    }
    return c->err = "invalid JSON value", -1;
}

static void put_json_string(FILE *f, const char *s, size_t n) {
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
        else if (ch == '\n') fputs("\\n", f);
        else if (ch == '\r') fputs("\\r", f);
        else if (ch == '\t') fputs("\\t", f);
        else if (ch < 0x20 || ch == 0x7F) fprintf(f, "\\u%04x", ch);
        else fputc(ch, f);
    }
    fputc('"', f);
}

static void put_error(const char *msg) {
    fputs("{\"error\": ", stdout);
    put_json_string(stdout, msg, strlen(msg));
    fputs("}\n", stdout);
}

typedef struct { int32_t *p; size_t n, cap; } idvec;

static int ids_push(idvec *v, int32_t x) {
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        int32_t *p = realloc(v->p, cap * sizeof *p);
        if (!p) return -1;
        v->p = p;
        v->cap = cap;
    }
    v->p[v->n++] = x;
    return 0;
}

/* The "ids" array: integers only; a value outside int32 is refused here,
 * one outside the vocabulary by decode. */
static int parse_ids(jcur *c, idvec *ids, const char **err) {
    if (c->p >= c->end || *c->p != '[') return *err = "\"ids\" must be an array of integers", -1;
    c->p++;
    ws(c);
    if (c->p < c->end && *c->p == ']') return c->p++, 0;
    for (;;) {
        ws(c);
        const char *s = c->p;
        if (s < c->end && *s == '-') s++;
        const char *d = s;
        while (s < c->end && *s >= '0' && *s <= '9') s++;
        if (s == d || (s < c->end && (*s == '.' || *s == 'e' || *s == 'E')))
            return *err = "\"ids\" must be an array of integers", -1;
        errno = 0;
        char *e;
        long long v = strtoll(c->p, &e, 10);
        if (errno || e != s || v < INT32_MIN || v > INT32_MAX)
            return *err = "token id out of range", -1;
        if (ids_push(ids, (int32_t)v)) return *err = "out of memory", -1;
        c->p = s;
        ws(c);
        if (c->p < c->end && *c->p == ',') { c->p++; continue; }
        if (c->p < c->end && *c->p == ']') return c->p++, 0;
        return *err = "invalid JSON in \"ids\"", -1;
    }
}

static int parse_line(const char *line, size_t n, idvec *ids, const char **err) {
    jcur c = {line, line + n, NULL};
    sbuf key = {0};
    int have = 0, rc = -1;
    ws(&c);
    if (c.p >= c.end || *c.p != '{') {
        *err = "line is not a JSON object";
        goto done;
    }
    c.p++;
    ws(&c);
    if (c.p < c.end && *c.p == '}') c.p++;
    else
        for (;;) {
            ws(&c);
            key.n = 0;
            if (jstring(&c, &key)) goto bad;
            ws(&c);
            if (c.p >= c.end || *c.p++ != ':') { c.err = "expected ':'"; goto bad; }
            ws(&c);
            if (key.n == 3 && !memcmp(key.p, "ids", 3)) {
                ids->n = 0;
                if (parse_ids(&c, ids, err)) goto done;
                have = 1;
            } else if (jskip(&c, 0)) goto bad;
            ws(&c);
            if (c.p < c.end && *c.p == ',') { c.p++; continue; }
            if (c.p < c.end && *c.p == '}') { c.p++; break; }
            c.err = "expected ',' or '}'";
            goto bad;
        }
    ws(&c);
    if (c.p != c.end) { c.err = "trailing characters after the object"; goto bad; }
    if (!have) {
        *err = "missing \"ids\"";
        goto done;
    }
    rc = 0;
    goto done;
bad:
    *err = c.err ? c.err : "invalid JSON";
done:
    free(key.p);
    return rc;
}

int vr_cmd_detokenize(int argc, char **argv) {
    const char *path = NULL;
    int skip_special = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--skip-special-tokens")) skip_special = 1;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: vireo detokenize PATH [--skip-special-tokens]\n"
                   "  PATH: a model folder or a tokenizer.json file\n"
                   "  stdin: JSON lines {\"ids\": [...]}; stdout: {\"text\": \"...\"} per line\n");
            return 0;
        } else if (argv[i][0] == '-' || path) {
            fprintf(stderr, "vireo detokenize: unexpected argument '%s' (see --help)\n", argv[i]);
            return 2;
        } else path = argv[i];
    }
    if (!path) {
        fprintf(stderr, "usage: vireo detokenize PATH [--skip-special-tokens]\n");
        return 2;
    }
    char err[512];
    vr_tokenizer *tok;
    if (vr_tokenizer_load(path, &tok, err, sizeof err)) {
        fprintf(stderr, "vireo detokenize: %s\n", err);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int failed = 0;
    idvec ids = {0};
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        size_t len = (size_t)n;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
        const char *perr;
        char *text;
        size_t tlen;
        if (parse_line(line, len, &ids, &perr)) {
            put_error(perr);
            failed = 1;
            continue;
        }
        if (vr_tokenizer_decode(tok, ids.p, ids.n, skip_special, &text, &tlen, err, sizeof err)) {
            put_error(err);
            failed = 1;
            continue;
        }
        fputs("{\"text\": ", stdout);
        put_json_string(stdout, text, tlen);
        fputs("}\n", stdout);
        free(text);
    }
    free(line);
    free(ids.p);
    vr_tokenizer_free(tok);
    if (fflush(stdout)) return 1;
    return failed;
}
