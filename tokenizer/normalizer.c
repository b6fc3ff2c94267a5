/* tokenizer/normalizer.c — the normalizers of tokenizer.json, on whole
 * segments of text (utf8proc for the Unicode normal forms and cases). */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "internal.h"

/* Characters that are in NFC and are not the second half of any canonical
 * composition (those are combining marks, jamo, a few vowel signs, all left
 * out): NFC leaves a run of them as it is. Conservative on purpose. */
static int nfc_inert(uint32_t c) {
    return c < 0x300 || (c >= 0x400 && c < 0x483) || (c >= 0x621 && c <= 0x64A) || (c >= 0x660 && c <= 0x669) ||
           (c >= 0x671 && c <= 0x6D3) || (c >= 0x2002 && c <= 0x206F) || (c >= 0x2190 && c <= 0x21FF) ||
           (c >= 0x2500 && c <= 0x27BF) || (c >= 0x3000 && c <= 0x3029) || (c >= 0x3041 && c < 0x3097) ||
           (c >= 0x30A0 && c <= 0x30FF) || (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xAC00 && c <= 0xD7A3) ||
           (c >= 0xFE00 && c <= 0xFE0F) || (c >= 0xFF00 && c <= 0xFFEF) || (c >= 0x1F000 && c <= 0x1FAFF);
}

static int utf8proc_form(int opt, const char *s, size_t n, vr_buf *out) {
    utf8proc_uint8_t *r = NULL;
    utf8proc_ssize_t k = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &r, opt);
    if (k < 0) return -1;
    int rc = vr_tok_buf_put(out, r, (size_t)k);
    free(r);
    return rc;
}

/* NFC piecewise: an ASCII character never composes with what precedes it
 * and canonical reordering never crosses it, so NFC(text) is the NFC of the
 * stretches between ASCII characters. Stretches of inert characters are
 * copied; only the others (each starting at the ASCII character before it,
 * which may compose with the marks that follow) go through utf8proc. */
static int nfc(const char *s, size_t n, vr_buf *out) {
    size_t done = 0, i = 0, last_ascii = 0;
    while (i < n) {
        if ((unsigned char)s[i] < 0x80) {
            last_ascii = i++;
            continue;
        }
        size_t adv;
        if (nfc_inert(vr_tok_utf8_next(s + i, n - i, &adv))) {
            i += adv;
            continue;
        }
        size_t start = last_ascii >= done ? last_ascii : done, end = i + adv;
        while (end < n && (unsigned char)s[end] >= 0x80) end++;
        if (vr_tok_buf_put(out, s + done, start - done) ||
            utf8proc_form(UTF8PROC_STABLE | UTF8PROC_COMPOSE, s + start, end - start, out))
            return -1;
        done = i = end;
    }
    return vr_tok_buf_put(out, s + done, n - done);
}

static int unicode_form(int type, const char *s, size_t n, vr_buf *out) {
    if (n == 0) return 0;
    if (type == NORM_NFC) return nfc(s, n, out);
    int opt = UTF8PROC_STABLE;
    if (type == NORM_NFKC) opt |= UTF8PROC_COMPOSE;
    else opt |= UTF8PROC_DECOMPOSE;
    if (type == NORM_NFKC || type == NORM_NFKD) opt |= UTF8PROC_COMPAT;
    return utf8proc_form(opt, s, n, out);
}

static int lowercase(const char *s, size_t n, vr_buf *out) {
    for (size_t i = 0; i < n;) {
        size_t adv;
        uint32_t c = vr_tok_utf8_next(s + i, n - i, &adv);
        char b[8];
        size_t k;
        if (c < 0x80) {
            b[0] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
            k = 1;
        } else if (c == 0x130) { /* the one full-case mapping to two chars: "i" + U+0307 */
            memcpy(b, "i\xCC\x87", 3);
            k = 3;
        } else k = vr_tok_utf8_put((uint32_t)utf8proc_tolower((utf8proc_int32_t)c), b);
        if (vr_tok_buf_put(out, b, k)) return -1;
        i += adv;
    }
    return 0;
}

static int strip(const char *s, size_t n, int left, int right, vr_buf *out) {
    size_t a = 0, b = n;
    if (left)
        while (a < b) {
            size_t adv;
            if (!vr_tok_is_whitespace(vr_tok_utf8_next(s + a, b - a, &adv))) break;
            a += adv;
        }
    if (right)
        while (b > a) {
            size_t k = b - 1;
            while (k > a && ((unsigned char)s[k] & 0xC0) == 0x80) k--;
            size_t adv;
            if (!vr_tok_is_whitespace(vr_tok_utf8_next(s + k, b - k, &adv))) break;
            b = k;
        }
    return vr_tok_buf_put(out, s + a, b - a);
}

static int replace(const vr_normalizer *nz, const char *s, size_t n, vr_scratch *sc, vr_buf *out) {
    /* Removed behaviour keeps the text between matches; walk the gaps. */
    size_t pos = 0;
    int rc = 0;
    while (pos <= n) {
        size_t ms, me;
        int r;
        if (nz->pat.kind == PAT_REGEX) r = vr_tok_regex_find(&nz->pat.re, sc->md, s, n, pos, &ms, &me);
        else {
            const char *f = nz->pat.str_len && nz->pat.str_len <= n - pos
                                ? memmem(s + pos, n - pos, nz->pat.str, nz->pat.str_len) : NULL;
            r = f != NULL;
            if (f) {
                ms = (size_t)(f - s);
                me = ms + nz->pat.str_len;
            }
        }
        if (r < 0) { rc = -1; break; }
        if (!r) break;
        if (vr_tok_buf_put(out, s + pos, ms - pos) || vr_tok_buf_put(out, nz->text, nz->text_len)) { rc = -1; break; }
        if (me == ms) {
            if (me >= n) { pos = n; break; }
            size_t adv;
            vr_tok_utf8_next(s + me, n - me, &adv);
            if (vr_tok_buf_put(out, s + me, adv)) { rc = -1; break; }
            pos = me + adv;
        } else pos = me;
    }
    if (!rc && pos < n) rc = vr_tok_buf_put(out, s + pos, n - pos);
    return rc;
}

/* HF's StripAccents drops every combining mark (Mn, Mc and Me); the BERT
 * normalizer's strip_accents only nonspacing ones (Mn). */
static int remove_marks(const char *s, size_t n, int only_nonspacing, vr_buf *out) {
    for (size_t i = 0; i < n;) {
        size_t adv;
        uint32_t c = vr_tok_utf8_next(s + i, n - i, &adv);
        utf8proc_category_t k = c < 0x300 ? UTF8PROC_CATEGORY_LL : utf8proc_category((utf8proc_int32_t)c);
        if (k != UTF8PROC_CATEGORY_MN && (only_nonspacing || (k != UTF8PROC_CATEGORY_MC && k != UTF8PROC_CATEGORY_ME)))
            if (vr_tok_buf_put(out, s + i, adv)) return -1;
        i += adv;
    }
    return 0;
}

static int bert(const vr_normalizer *nz, const char *s, size_t n, vr_scratch *sc, vr_buf *out) {
    vr_buf a = {0}, b = {0};
    int rc = -1;
    for (size_t i = 0; i < n;) {
        size_t adv;
        uint32_t c = vr_tok_utf8_next(s + i, n - i, &adv);
        char t[4];
        if (nz->clean_text) {
            if (c == 0 || c == 0xFFFD || vr_tok_is_control(c)) { i += adv; continue; }
            if (vr_tok_is_whitespace(c)) c = ' ';
        }
        size_t k = vr_tok_utf8_put(c, t);
        if (nz->chinese && vr_tok_is_cjk(c)) {
            if (vr_tok_buf_putc(&a, ' ') || vr_tok_buf_put(&a, t, k) || vr_tok_buf_putc(&a, ' ')) goto done;
        } else if (vr_tok_buf_put(&a, t, k)) goto done;
        i += adv;
    }
    if (nz->strip_accents) {
        if (unicode_form(NORM_NFD, a.p, a.n, &b)) goto done;
        a.n = 0;
        if (remove_marks(b.p, b.n, 1, &a)) goto done;
    }
    if (nz->lowercase) {
        if (lowercase(a.p, a.n, out)) goto done;
    } else if (vr_tok_buf_put(out, a.p, a.n)) goto done;
    rc = 0;
done:
    (void)sc;
    vr_tok_buf_free(&a);
    vr_tok_buf_free(&b);
    return rc;
}

/* Applies one normalizer: in -> out (out is empty on entry). */
static int apply(const vr_normalizer *nz, const char *s, size_t n, vr_scratch *sc, vr_buf *out) {
    switch (nz->type) {
    case NORM_NFC: case NORM_NFD: case NORM_NFKC: case NORM_NFKD: return unicode_form(nz->type, s, n, out);
    case NORM_LOWERCASE: return lowercase(s, n, out);
    case NORM_STRIP: return strip(s, n, nz->left, nz->right, out);
    case NORM_PREPEND:
        if (n && vr_tok_buf_put(out, nz->text, nz->text_len)) return -1;
        return vr_tok_buf_put(out, s, n);
    case NORM_REPLACE: return replace(nz, s, n, sc, out);
    case NORM_BERT: return bert(nz, s, n, sc, out);
    case NORM_STRIP_ACCENTS: return remove_marks(s, n, 0, out);
    case NORM_SEQUENCE: {
        vr_buf cur = {0}, next = {0};
        if (vr_tok_buf_put(&cur, s, n)) return -1;
        for (size_t i = 0; i < nz->n_subs; i++) {
            next.n = 0;
            if (apply(&nz->subs[i], cur.p ? cur.p : "", cur.n, sc, &next)) {
                vr_tok_buf_free(&cur);
                vr_tok_buf_free(&next);
                return -1;
            }
            vr_buf t = cur;
            cur = next;
            next = t;
        }
        int rc = vr_tok_buf_put(out, cur.p, cur.n);
        vr_tok_buf_free(&cur);
        vr_tok_buf_free(&next);
        return rc;
    }
    }
    return -1;
}

int vr_tok_normalize(const vr_normalizer *nz, const char *s, size_t n, vr_scratch *sc, vr_buf *out) {
    out->n = 0;
    if (out->p) out->p[0] = 0;
    return apply(nz, s, n, sc, out);
}

void vr_tok_normalizer_free(vr_normalizer *nz) {
    free(nz->text);
    vr_tok_pattern_free(&nz->pat);
    for (size_t i = 0; i < nz->n_subs; i++) vr_tok_normalizer_free(&nz->subs[i]);
    free(nz->subs);
    memset(nz, 0, sizeof *nz);
}
