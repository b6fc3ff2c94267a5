/* strings.c — UTF-8 helpers and the Python str operations templates use
 * (case mapping, strip, find, count, replace, split). Indices are code
 * points, as in Python; storage is UTF-8. */
#include <string.h>
#include "chat_templates/internal.h"

uint32_t utf8_decode(const char *s, size_t n, size_t *adv) {
    const unsigned char *u = (const unsigned char *)s;
    if (n == 0) { *adv = 0; return 0; }
    unsigned c = u[0];
    if (c < 0x80) { *adv = 1; return c; }
    int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (len == 1 || (size_t)len > n) { *adv = 1; return 0xFFFD; }
    uint32_t cp = c & (0x3F >> (len - 1));
    for (int i = 1; i < len; i++) {
        if ((u[i] & 0xC0) != 0x80) { *adv = 1; return 0xFFFD; }
        cp = (cp << 6) | (u[i] & 0x3F);
    }
    *adv = (size_t)len;
    return cp;
}

size_t utf8_encode(uint32_t c, char *o) {
    if (c < 0x80) { o[0] = (char)c; return 1; }
    if (c < 0x800) { o[0] = (char)(0xC0 | (c >> 6)); o[1] = (char)(0x80 | (c & 0x3F)); return 2; }
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | (c >> 12)); o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F)); return 3;
    }
    o[0] = (char)(0xF0 | (c >> 18)); o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3F)); o[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* strict UTF-8 as Python's decoder accepts it: no overlong forms, no
 * surrogates, nothing above U+10FFFF. Every string the engine handles is
 * valid, so code point counting and decoding always agree. */
bool utf8_valid(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        /* ASCII runs eight bytes at a time */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, u + i, 8);
            if (w & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i >= n) break;
        unsigned c = u[i];
        if (c < 0x80) { i++; continue; }
        size_t len;
        uint32_t min, cp;
        if (c >= 0xC2 && c <= 0xDF) { len = 2; min = 0x80; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { len = 3; min = 0x800; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { len = 4; min = 0x10000; cp = c & 0x07; }
        else return false;
        if (i + len > n) return false;
        for (size_t k = 1; k < len; k++) {
            if ((u[i + k] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (u[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += len;
    }
    return true;
}

size_t utf8_len(const char *s, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

size_t utf8_offset(const char *s, size_t n, size_t cp) {
    size_t i = 0, k = 0;
    while (i < n) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (k == cp) return i;
            k++;
        }
        i++;
    }
    return n;
}

bool is_py_space(uint32_t c) {
    return c == ' ' || (c >= 9 && c <= 13) || (c >= 0x1c && c <= 0x1f) || c == 0x85 || c == 0xa0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
           c == 0x205f || c == 0x3000;
}

/* Simple case pairs for the scripts chat text commonly uses: ASCII, Latin-1,
 * Latin Extended-A, Greek and Cyrillic. Other scripts are left unchanged. */
uint32_t py_upper(uint32_t c) {
    if (c >= 'a' && c <= 'z') return c - 32;
    if (c < 0x80) return c;
    if ((c >= 0xe0 && c <= 0xfe && c != 0xf7)) return c - 32;
    if (c == 0xff) return 0x178;
    if (c == 0xb5) return 0x39c;
    if (c >= 0x100 && c <= 0x17f) {
        if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e)) return (c & 1) ? c : c - 1;
        if (c == 0x131) return 'I';
        if (c == 0x17f) return 'S';
        if (c == 0x138 || c == 0x149) return c;
        return (c & 1) ? c - 1 : c;
    }
    if (c >= 0x3b1 && c <= 0x3c9 && c != 0x3c2) return c - 32;
    if (c == 0x3c2) return 0x3a3;
    if (c >= 0x3ac && c <= 0x3af) return c == 0x3ac ? 0x386 : c - 37;
    if (c >= 0x430 && c <= 0x44f) return c - 32;
    if (c >= 0x450 && c <= 0x45f) return c - 80;
    return c;
}

uint32_t py_lower(uint32_t c) {
    if (c >= 'A' && c <= 'Z') return c + 32;
    if (c < 0x80) return c;
    if ((c >= 0xc0 && c <= 0xde && c != 0xd7)) return c + 32;
    if (c == 0x178) return 0xff;
    if (c >= 0x100 && c <= 0x17f) {
        if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e)) return (c & 1) ? c + 1 : c;
        if (c == 0x130 || c == 0x131 || c == 0x138 || c == 0x149 || c == 0x17f) return c == 0x130 ? 'i' : c;
        return (c & 1) ? c : c + 1;
    }
    if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2) return c + 32;
    if (c == 0x386) return 0x3ac;
    if (c >= 0x388 && c <= 0x38a) return c + 37;
    if (c >= 0x410 && c <= 0x42f) return c + 32;
    if (c >= 0x400 && c <= 0x40f) return c + 80;
    return c;
}

bool py_isupper(uint32_t c) { return py_lower(c) != c || c == 0x130; }
bool py_islower(uint32_t c) {
    return py_upper(c) != c || c == 0xdf || c == 0x138 || c == 0x149;
}
bool py_isdigit(uint32_t c) { return (c >= '0' && c <= '9'); }
bool py_isalpha(uint32_t c) {
    if (c < 0x80) return (c | 32) >= 'a' && (c | 32) <= 'z';
    if (c == 0xaa || c == 0xb5 || c == 0xba) return true;
    if (c < 0xc0) return false;
    if (c == 0xd7 || c == 0xf7) return false;
    if (c >= 0x2000 && c <= 0x2bff) return false;          /* punctuation, symbols */
    if (c >= 0x3000 && c <= 0x303f) return false;          /* CJK punctuation */
    if (c >= 0xff00 && c <= 0xff20) return false;
    if (c >= 0x1f000) return false;                        /* emoji */
    return true;
}
bool py_isalnum(uint32_t c) { return py_isalpha(c) || py_isdigit(c); }

static bool is_cased(uint32_t c) { return py_isupper(c) || py_islower(c); }

val str_case(arena *a, val s, char mode) {
    sbuf b;
    sbuf_init(&b, a);
    sbuf_put(&b, "", 0);
    bool prev_cased = false, first = true;
    for (size_t i = 0; i < s.u.s.n;) {
        size_t adv;
        uint32_t c = utf8_decode(s.u.s.p + i, s.u.s.n - i, &adv);
        uint32_t r = c;
        switch (mode) {
        case 'u': r = py_upper(c); break;
        case 'l': r = py_lower(c); break;
        case 't': r = prev_cased ? py_lower(c) : py_upper(c); prev_cased = is_cased(c); break;
        case 'c': r = first ? py_upper(c) : py_lower(c); break;
        case 's': r = py_isupper(c) ? py_lower(c) : py_upper(c); break;
        }
        first = false;
        if (c == 0xdf && (mode == 'u' || mode == 's')) {
            sbuf_put(&b, "SS", 2); /* the one full case mapping chat text commonly meets */
        } else if (r == c) {
            sbuf_put(&b, s.u.s.p + i, adv);
        } else {
            char tmp[4];
            sbuf_put(&b, tmp, utf8_encode(r, tmp));
        }
        i += adv;
    }
    if (b.oom) return v_undef(NULL);
    return v_str(b.p, b.n);
}

static bool in_chars(uint32_t c, const char *chars, size_t n) {
    for (size_t i = 0; i < n;) {
        size_t adv;
        if (utf8_decode(chars + i, n - i, &adv) == c) return true;
        i += adv;
    }
    return false;
}

val str_strip(arena *a, val s, const char *chars, size_t nchars, bool has_chars, bool left, bool right) {
    (void)a;
    const char *p = s.u.s.p;
    size_t lo = 0, hi = s.u.s.n;
    if (left) {
        while (lo < hi) {
            size_t adv;
            uint32_t c = utf8_decode(p + lo, hi - lo, &adv);
            if (has_chars ? !in_chars(c, chars, nchars) : !is_py_space(c)) break;
            lo += adv;
        }
    }
    if (right) {
        while (hi > lo) {
            size_t st = hi - 1;
            while (st > lo && ((unsigned char)p[st] & 0xC0) == 0x80) st--;
            size_t adv;
            uint32_t c = utf8_decode(p + st, hi - st, &adv);
            if (has_chars ? !in_chars(c, chars, nchars) : !is_py_space(c)) break;
            hi = st;
        }
    }
    return v_str(p + lo, hi - lo);
}

/* byte-level search; returns byte offset or -1 */
static int64_t find_bytes(const char *h, size_t hn, const char *nd, size_t nn, bool reverse) {
    if (nn > hn) return -1;
    if (nn == 0) return reverse ? (int64_t)hn : 0;
    if (!reverse) {
        const char *r = memmem(h, hn, nd, nn);
        return r ? r - h : -1;
    }
    for (size_t i = hn - nn + 1; i-- > 0;)
        if (memcmp(h + i, nd, nn) == 0) return (int64_t)i;
    return -1;
}

int64_t str_find(val hay, val needle, int64_t start, int64_t end, bool reverse) {
    int64_t len = (int64_t)utf8_len(hay.u.s.p, hay.u.s.n);
    if (start < 0) { start += len; if (start < 0) start = 0; }
    if (end < 0) { end += len; if (end < 0) end = 0; }
    if (end > len) end = len;
    if (start > len || start > end) return -1;
    size_t bs = utf8_offset(hay.u.s.p, hay.u.s.n, (size_t)start);
    size_t be = utf8_offset(hay.u.s.p, hay.u.s.n, (size_t)end);
    int64_t r = find_bytes(hay.u.s.p + bs, be - bs, needle.u.s.p, needle.u.s.n, reverse);
    if (r < 0) return -1;
    return start + (int64_t)utf8_len(hay.u.s.p + bs, (size_t)r);
}

int64_t str_count(val hay, val needle) {
    if (needle.u.s.n == 0) return (int64_t)utf8_len(hay.u.s.p, hay.u.s.n) + 1;
    int64_t k = 0;
    size_t i = 0;
    for (;;) {
        int64_t r = find_bytes(hay.u.s.p + i, hay.u.s.n - i, needle.u.s.p, needle.u.s.n, false);
        if (r < 0) break;
        k++;
        i += (size_t)r + needle.u.s.n;
    }
    return k;
}

val str_replace(arena *a, val s, val old, val nw, int64_t count) {
    sbuf b;
    sbuf_init(&b, a);
    sbuf_put(&b, "", 0);
    if (count < 0) count = INT64_MAX;
    if (old.u.s.n == 0) {
        /* Python inserts the replacement between every character */
        int64_t done = 0;
        for (size_t i = 0; i <= s.u.s.n;) {
            if (done < count) { sbuf_put(&b, nw.u.s.p, nw.u.s.n); done++; }
            if (i == s.u.s.n) break;
            size_t adv;
            utf8_decode(s.u.s.p + i, s.u.s.n - i, &adv);
            sbuf_put(&b, s.u.s.p + i, adv);
            i += adv;
        }
    } else {
        size_t i = 0;
        int64_t done = 0;
        while (done < count) {
            int64_t r = find_bytes(s.u.s.p + i, s.u.s.n - i, old.u.s.p, old.u.s.n, false);
            if (r < 0) break;
            sbuf_put(&b, s.u.s.p + i, (size_t)r);
            sbuf_put(&b, nw.u.s.p, nw.u.s.n);
            i += (size_t)r + old.u.s.n;
            done++;
        }
        sbuf_put(&b, s.u.s.p + i, s.u.s.n - i);
    }
    if (b.oom) return v_undef(NULL);
    return v_str(b.p, b.n);
}

vlist *str_split(arena *a, val s, const val *sep, int64_t maxsplit, bool right) {
    vlist *l = list_new(a, 4);
    if (!l) return NULL;
    const char *p = s.u.s.p;
    size_t n = s.u.s.n;
    if (maxsplit < 0) maxsplit = INT64_MAX;
    if (!sep) {
        /* whitespace runs; leading/trailing whitespace yields no empty parts */
        if (!right) {
            size_t i = 0;
            int64_t done = 0;
            while (i < n) {
                size_t adv;
                while (i < n && is_py_space(utf8_decode(p + i, n - i, &adv))) i += adv;
                if (i >= n) break;
                if (done == maxsplit) { /* the rest, trailing whitespace included */
                    if (!list_push(a, l, v_str(p + i, n - i))) return NULL;
                    return l;
                }
                size_t st = i;
                while (i < n && !is_py_space(utf8_decode(p + i, n - i, &adv))) i += adv;
                if (!list_push(a, l, v_str(p + st, i - st))) return NULL;
                done++;
            }
        } else {
            /* collect from the right, then reverse */
            size_t e = n;
            int64_t done = 0;
            while (e > 0) {
                while (e > 0 && is_py_space((unsigned char)p[e - 1] < 0x80 ? (unsigned char)p[e - 1] : 0)) e--;
                if (e == 0) break;
                if (done == maxsplit) {
                    if (!list_push(a, l, v_str(p, e))) return NULL;
                    break;
                }
                size_t st = e;
                while (st > 0 && !is_py_space((unsigned char)p[st - 1] < 0x80 ? (unsigned char)p[st - 1] : 0)) st--;
                if (!list_push(a, l, v_str(p + st, e - st))) return NULL;
                e = st;
                done++;
            }
            for (size_t i = 0; i < l->n / 2; i++) {
                val t = l->v[i]; l->v[i] = l->v[l->n - 1 - i]; l->v[l->n - 1 - i] = t;
            }
        }
        return l;
    }
    const char *sp = sep->u.s.p;
    size_t sn = sep->u.s.n;
    if (!right) {
        size_t i = 0;
        int64_t done = 0;
        while (done < maxsplit) {
            int64_t r = find_bytes(p + i, n - i, sp, sn, false);
            if (r < 0) break;
            if (!list_push(a, l, v_str(p + i, (size_t)r))) return NULL;
            i += (size_t)r + sn;
            done++;
        }
        if (!list_push(a, l, v_str(p + i, n - i))) return NULL;
    } else {
        size_t e = n;
        int64_t done = 0;
        while (done < maxsplit) {
            int64_t r = find_bytes(p, e, sp, sn, true);
            if (r < 0) break;
            if (!list_push(a, l, v_str(p + r + sn, e - (size_t)r - sn))) return NULL;
            e = (size_t)r;
            done++;
        }
        if (!list_push(a, l, v_str(p, e))) return NULL;
        for (size_t i = 0; i < l->n / 2; i++) {
            val t = l->v[i]; l->v[i] = l->v[l->n - 1 - i]; l->v[l->n - 1 - i] = t;
        }
    }
    return l;
}
