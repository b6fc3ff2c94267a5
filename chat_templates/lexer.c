/* lexer.c — template source to tokens, with jinja2's whitespace rules as
 * Hugging Face configures them: trim_blocks (one newline after a block or
 * comment tag is dropped), lstrip_blocks (spaces and tabs before a block or
 * comment tag at the start of a line are dropped), `-` / `+` modifiers on
 * tags, newlines normalised to "\n" and one trailing newline of the source
 * dropped (keep_trailing_newline=False). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "chat_templates/internal.h"

typedef struct lx {
    arena *a;
    const char *s;
    size_t n, i;
    int line;
    size_t line_start;
    token_list *out;
    char *err; size_t errlen;
} lx;

static int lfail(lx *L, size_t pos, const char *fmt, const char *arg) {
    /* recompute line/column of pos */
    int line = 1;
    size_t ls = 0;
    for (size_t k = 0; k < pos && k < L->n; k++)
        if (L->s[k] == '\n') { line++; ls = k + 1; }
    if (L->errlen) {
        char msg[200];
        snprintf(msg, sizeof msg, fmt, arg ? arg : "");
        snprintf(L->err, L->errlen, "line %d:%zu: %s", line, pos - ls + 1, msg);
    }
    return -1;
}

static token *push(lx *L, int type, size_t pos) {
    token_list *tl = L->out;
    if (tl->n == tl->cap) {
        size_t nc = tl->cap ? tl->cap * 2 : 256;
        token *nt = arena_realloc(L->a, tl->t, tl->cap * sizeof(token), nc * sizeof(token));
        if (!nt) return NULL;
        tl->t = nt;
        tl->cap = nc;
    }
    token *t = &tl->t[tl->n++];
    memset(t, 0, sizeof *t);
    t->type = (uint8_t)type;
    /* line/column: advance the running line counter up to pos */
    while (L->i < pos) {
        if (L->s[L->i] == '\n') { L->line++; L->line_start = L->i + 1; }
        L->i++;
    }
    t->line = L->line;
    t->col = (int)(pos - L->line_start + 1);
    return t;
}

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_name_start(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80; }
static bool is_name_char(unsigned char c) { return is_name_start(c) || is_digit((char)c); }

/* Python's rstrip() length of s[0..n) */
static size_t rstrip_len(const char *s, size_t n) {
    while (n > 0) {
        size_t st = n - 1;
        while (st > 0 && ((unsigned char)s[st] & 0xC0) == 0x80) st--;
        size_t adv;
        if (!is_py_space(utf8_decode(s + st, n - st, &adv))) break;
        n = st;
    }
    return n;
}

static size_t skip_py_space(const char *s, size_t n, size_t i) {
    while (i < n) {
        size_t adv;
        if (!is_py_space(utf8_decode(s + i, n - i, &adv))) break;
        i += adv;
    }
    return i;
}

/* decode a string literal body the way Python's unicode-escape codec does */
static int decode_string(lx *L, const char *p, size_t n, token *t) {
    if (!memchr(p, '\\', n)) { t->p = p; t->n = n; return 0; }
    sbuf b;
    sbuf_init(&b, L->a);
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c != '\\' || i + 1 >= n) { sbuf_putc(&b, c); continue; }
        char e = p[++i];
        uint32_t cp = 0;
        int hex = 0;
        switch (e) {
        case '\n': continue;
        case '\\': sbuf_putc(&b, '\\'); continue;
        case '\'': sbuf_putc(&b, '\''); continue;
        case '"': sbuf_putc(&b, '"'); continue;
        case 'a': sbuf_putc(&b, '\a'); continue;
        case 'b': sbuf_putc(&b, '\b'); continue;
        case 'f': sbuf_putc(&b, '\f'); continue;
        case 'n': sbuf_putc(&b, '\n'); continue;
        case 'r': sbuf_putc(&b, '\r'); continue;
        case 't': sbuf_putc(&b, '\t'); continue;
        case 'v': sbuf_putc(&b, '\v'); continue;
        case 'x': hex = 2; break;
        case 'u': hex = 4; break;
        case 'U': hex = 8; break;
        default:
            if (e >= '0' && e <= '7') {
                int k = 0;
                while (k < 3 && i < n && p[i] >= '0' && p[i] <= '7') { cp = cp * 8 + (uint32_t)(p[i] - '0'); i++; k++; }
                i--;
                char tmp[4];
                sbuf_put(&b, tmp, utf8_encode(cp, tmp));
                continue;
            }
            sbuf_putc(&b, '\\');
            sbuf_putc(&b, e);
            continue;
        }
        for (int k = 0; k < hex; k++) {
            char h = (i + 1 < n) ? p[i + 1] : 0;
            int d = (h >= '0' && h <= '9') ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10 : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
            if (d < 0) return lfail(L, (size_t)(p - L->s) + i, "truncated \\%s escape in string literal", hex == 2 ? "x" : hex == 4 ? "u" : "U");
            cp = cp * 16 + (uint32_t)d;
            i++;
        }
        if (cp >= 0xD800 && cp <= 0xDFFF) return lfail(L, (size_t)(p - L->s) + i, "surrogate code point in string literal%s", "");
        if (cp > 0x10FFFF) return lfail(L, (size_t)(p - L->s) + i, "illegal Unicode character in string literal%s", "");
        char tmp[4];
        sbuf_put(&b, tmp, utf8_encode(cp, tmp));
    }
    if (b.oom) return lfail(L, 0, "out of memory%s", "");
    t->p = b.p ? b.p : "";
    t->n = b.n;
    return 0;
}

/* lex the inside of a {{ }} or {% %} tag starting at *pos; stops after the
 * end delimiter. Returns the position after the end (whitespace handling applied). */
static int lex_tag(lx *L, size_t *pos, bool block, bool *line_starting) {
    const char *s = L->s;
    size_t n = L->n, i = *pos;
    int depth = 0; /* open brackets: end delimiters inside them are not ends */
    for (;;) {
        while (i < n && is_ws(s[i])) i++;
        if (i >= n) return lfail(L, i, "unexpected end of template, expected '%s'", block ? "%}" : "}}");
        if (depth == 0) {
            const char *end = block ? "%}" : "}}";
            if (s[i] == '-' && i + 2 < n + 0 && i + 2 <= n && memcmp(s + i + 1, end, 2) == 0) {
                if (!push(L, block ? T_BLOCK_END : T_VAR_END, i)) return lfail(L, i, "out of memory%s", "");
                i = skip_py_space(s, n, i + 3);
                *line_starting = i > 0 && s[i - 1] == '\n';
                *pos = i;
                return 0;
            }
            if (block && s[i] == '+' && i + 3 <= n && memcmp(s + i + 1, end, 2) == 0) {
                if (!push(L, T_BLOCK_END, i)) return lfail(L, i, "out of memory%s", "");
                *line_starting = false;
                *pos = i + 3;
                return 0;
            }
            if (i + 2 <= n && memcmp(s + i, end, 2) == 0) {
                if (!push(L, block ? T_BLOCK_END : T_VAR_END, i)) return lfail(L, i, "out of memory%s", "");
                i += 2;
                *line_starting = false;
                if (block && i < n && s[i] == '\n') { i++; *line_starting = true; } /* trim_blocks */
                *pos = i;
                return 0;
            }
        }
        char c = s[i];
        size_t st = i;
        if (is_digit(c)) {
            /* integer or float, underscores allowed between digits */
            bool is_float = false;
            if (c == '0' && i + 1 < n && (s[i + 1] == 'x' || s[i + 1] == 'X' || s[i + 1] == 'o' || s[i + 1] == 'O' || s[i + 1] == 'b' || s[i + 1] == 'B')) {
                int base = (s[i + 1] | 32) == 'x' ? 16 : (s[i + 1] | 32) == 'o' ? 8 : 2;
                i += 2;
                int64_t v = 0;
                size_t ds = i;
                while (i < n) {
                    char h = s[i];
                    int d = (h >= '0' && h <= '9') ? h - '0' : ((h | 32) >= 'a' && (h | 32) <= 'f') ? (h | 32) - 'a' + 10 : (h == '_' ? -2 : -1);
                    if (d == -2) { i++; continue; }
                    if (d < 0 || d >= base) break;
                    if (__builtin_mul_overflow(v, base, &v) || __builtin_add_overflow(v, d, &v))
                        return lfail(L, st, "integer literal too large for 64 bits%s", "");
                    i++;
                }
                if (i == ds) return lfail(L, st, "invalid integer literal%s", "");
                token *t = push(L, T_INT, st);
                if (!t) return lfail(L, st, "out of memory%s", "");
                t->i = v;
                continue;
            }
            while (i < n && (is_digit(s[i]) || (s[i] == '_' && i + 1 < n && is_digit(s[i + 1])))) i++;
            if (i + 1 < n && s[i] == '.' && is_digit(s[i + 1])) {
                is_float = true;
                i++;
                while (i < n && (is_digit(s[i]) || (s[i] == '_' && i + 1 < n && is_digit(s[i + 1])))) i++;
            }
            if (i < n && (s[i] == 'e' || s[i] == 'E')) {
                size_t j = i + 1;
                if (j < n && (s[j] == '+' || s[j] == '-')) j++;
                if (j < n && is_digit(s[j])) {
                    is_float = true;
                    i = j;
                    while (i < n && (is_digit(s[i]) || (s[i] == '_' && i + 1 < n && is_digit(s[i + 1])))) i++;
                }
            }
            char buf[128];
            size_t k = 0;
            for (size_t j = st; j < i && k < sizeof buf - 1; j++)
                if (s[j] != '_') buf[k++] = s[j];
            buf[k] = 0;
            token *t = push(L, is_float ? T_FLOAT : T_INT, st);
            if (!t) return lfail(L, st, "out of memory%s", "");
            if (is_float) t->f = strtod(buf, NULL);
            else {
                errno = 0;
                t->i = strtoll(buf, NULL, 10);
                if (errno == ERANGE) return lfail(L, st, "integer literal too large for 64 bits%s", "");
            }
            continue;
        }
        if (is_name_start((unsigned char)c)) {
            while (i < n && is_name_char((unsigned char)s[i])) i++;
            token *t = push(L, T_NAME, st);
            if (!t) return lfail(L, st, "out of memory%s", "");
            t->p = s + st;
            t->n = i - st;
            continue;
        }
        if (c == '\'' || c == '"') {
            i++;
            while (i < n && s[i] != c) {
                if (s[i] == '\\') i++;
                i++;
            }
            if (i >= n) return lfail(L, st, "unexpected end of string literal%s", "");
            token *t = push(L, T_STRING, st);
            if (!t) return lfail(L, st, "out of memory%s", "");
            if (decode_string(L, s + st + 1, i - st - 1, t)) return -1;
            i++;
            continue;
        }
        int op = 0;
        size_t len = 1;
        char d = i + 1 < n ? s[i + 1] : 0;
        switch (c) {
        case '+': op = OP_ADD; break;
        case '-': op = OP_SUB; break;
        case '*': if (d == '*') { op = OP_POW; len = 2; } else op = OP_MUL; break;
        case '/': if (d == '/') { op = OP_FLOORDIV; len = 2; } else op = OP_DIV; break;
        case '%': op = OP_MOD; break;
        case '~': op = OP_TILDE; break;
        case '[': op = OP_LBRACKET; depth++; break;
        case ']': op = OP_RBRACKET; depth--; break;
        case '(': op = OP_LPAREN; depth++; break;
        case ')': op = OP_RPAREN; depth--; break;
        case '{': op = OP_LBRACE; depth++; break;
        case '}': op = OP_RBRACE; depth--; break;
        case '=': if (d == '=') { op = OP_EQ; len = 2; } else op = OP_ASSIGN; break;
        case '!': if (d == '=') { op = OP_NE; len = 2; } break;
        case '>': if (d == '=') { op = OP_GE; len = 2; } else op = OP_GT; break;
        case '<': if (d == '=') { op = OP_LE; len = 2; } else op = OP_LT; break;
        case '.': op = OP_DOT; break;
        case ':': op = OP_COLON; break;
        case '|': op = OP_PIPE; break;
        case ',': op = OP_COMMA; break;
        case ';': op = OP_SEMICOLON; break;
        }
        if (!op) {
            char ch[2] = {c, 0};
            return lfail(L, st, "unexpected char '%s'", ch);
        }
        if (depth < 0) {
            char ch[2] = {c, 0};
            return lfail(L, st, "unexpected '%s'", ch);
        }
        token *t = push(L, T_OP, st);
        if (!t) return lfail(L, st, "out of memory%s", "");
        t->op = op;
        i += len;
    }
}

/* does s[i..] start a `{% raw %}` (or endraw) tag? returns the position after it */
static size_t match_raw(const char *s, size_t n, size_t i, const char *word, char *lmod, char *rmod) {
    if (i + 2 > n || s[i] != '{' || s[i + 1] != '%') return 0;
    i += 2;
    *lmod = 0;
    if (i < n && (s[i] == '-' || s[i] == '+')) *lmod = s[i++];
    while (i < n && is_ws(s[i])) i++;
    size_t wl = strlen(word);
    if (i + wl > n || memcmp(s + i, word, wl) != 0) return 0;
    i += wl;
    if (i < n && is_name_char((unsigned char)s[i])) return 0;
    while (i < n && is_ws(s[i])) i++;
    *rmod = 0;
    if (i < n && (s[i] == '-' || s[i] == '+')) *rmod = s[i++];
    if (i + 2 > n || s[i] != '%' || s[i + 1] != '}') return 0;
    return i + 2;
}

/* lstrip_blocks: the data before a block/comment tag loses the spaces that
 * precede the tag on its line. Returns the new text length. */
static size_t lstrip_text(const char *text, size_t len, bool line_starting) {
    size_t l_pos = len;
    while (l_pos > 0 && text[l_pos - 1] != '\n') l_pos--;
    if (l_pos == 0 && !line_starting) return len;
    if (l_pos == len) return len;
    for (size_t k = l_pos; k < len;) {
        size_t adv;
        if (!is_py_space(utf8_decode(text + k, len - k, &adv))) return len;
        k += adv;
    }
    return l_pos;
}

int lex(arena *a, const char *src, size_t len, token_list *out, char *err, size_t errlen) {
    if (!utf8_valid(src, len)) { snprintf(err, errlen, "template source is not valid UTF-8"); return -1; }
    /* normalise newlines and drop one trailing newline */
    char *s = arena_alloc(a, len + 1);
    if (!s) { snprintf(err, errlen, "out of memory"); return -1; }
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '\r') {
            s[n++] = '\n';
            if (i + 1 < len && src[i + 1] == '\n') i++;
        } else {
            s[n++] = src[i];
        }
    }
    if (n > 0 && s[n - 1] == '\n') n--;
    s[n] = 0;
    lx L = {a, s, n, 0, 1, 0, out, err, errlen};
    out->t = NULL;
    out->n = out->cap = 0;
    size_t pos = 0;
    bool line_starting = true;
    while (pos < n) {
        /* next tag start */
        size_t i = pos;
        const char *hit = NULL;
        while (i + 1 < n) {
            hit = memchr(s + i, '{', n - i - 1);
            if (!hit) break;
            i = (size_t)(hit - s);
            char c = s[i + 1];
            if (c == '{' || c == '%' || c == '#') break;
            i++;
            hit = NULL;
        }
        size_t text_end = hit ? i : n;
        const char *text = s + pos;
        size_t tlen = text_end - pos;
        char kind = hit ? s[i + 1] : 0;
        char mod = (hit && i + 2 < n) ? s[i + 2] : 0;
        if (hit && mod == '-') {
            tlen = rstrip_len(text, tlen);
        } else if (hit && mod != '+' && (kind == '%' || kind == '#')) {
            tlen = lstrip_text(text, tlen, line_starting);
        }
        if (tlen) {
            token *t = push(&L, T_DATA, pos);
            if (!t) return lfail(&L, pos, "out of memory%s", "");
            t->p = text;
            t->n = tlen;
        }
        if (!hit) break;
        size_t after_mod = i + 2 + ((mod == '-' || mod == '+') ? 1 : 0);
        if (kind == '#') {
            /* comment: find the closing #} */
            size_t j = after_mod;
            const char *e = NULL;
            while (j + 1 < n) {
                e = memchr(s + j, '#', n - j - 1);
                if (!e) break;
                j = (size_t)(e - s);
                if (s[j + 1] == '}') break;
                j++;
                e = NULL;
            }
            if (!e) return lfail(&L, i, "missing end of comment tag%s", "");
            size_t endpos = j + 2;
            line_starting = false;
            if (j > after_mod && s[j - 1] == '-') {
                endpos = skip_py_space(s, n, endpos);
                line_starting = endpos > 0 && s[endpos - 1] == '\n';
            } else if (j > after_mod && s[j - 1] == '+') {
            } else if (endpos < n && s[endpos] == '\n') {
                endpos++;
                line_starting = true;
            }
            pos = endpos;
            continue;
        }
        char lm, rm;
        size_t raw_end = kind == '%' ? match_raw(s, n, i, "raw", &lm, &rm) : 0;
        if (raw_end) {
            /* {% raw %}: text up to {% endraw %} verbatim */
            size_t body = raw_end;
            if (rm == '-') body = skip_py_space(s, n, body);
            size_t j = body, end_tag = 0;
            char elm = 0, erm = 0;
            for (; j + 1 < n; j++) {
                if (s[j] == '{' && s[j + 1] == '%' && (end_tag = match_raw(s, n, j, "endraw", &elm, &erm))) break;
            }
            if (!end_tag) return lfail(&L, i, "missing end of raw directive%s", "");
            size_t blen = j - body;
            if (elm == '-') blen = rstrip_len(s + body, blen);
            else if (elm != '+') blen = lstrip_text(s + body, blen, body > 0 && s[body - 1] == '\n');
            if (blen) {
                token *t = push(&L, T_DATA, body);
                if (!t) return lfail(&L, body, "out of memory%s", "");
                t->p = s + body;
                t->n = blen;
            }
            pos = end_tag;
            line_starting = false;
            if (erm == '-') { pos = skip_py_space(s, n, pos); line_starting = pos > 0 && s[pos - 1] == '\n'; }
            else if (erm != '+' && pos < n && s[pos] == '\n') { pos++; line_starting = true; }
            continue;
        }
        if (!push(&L, kind == '%' ? T_BLOCK_BEGIN : T_VAR_BEGIN, i)) return lfail(&L, i, "out of memory%s", "");
        pos = after_mod;
        if (lex_tag(&L, &pos, kind == '%', &line_starting)) return -1;
    }
    token *t = push(&L, T_EOF, n);
    if (!t) return lfail(&L, n, "out of memory%s", "");
    return 0;
}
