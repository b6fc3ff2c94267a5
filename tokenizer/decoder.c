/* tokenizer/decoder.c — the decoder chain as a stream, used both by the
 * streaming detokenizer and by full decode (decode = push every id, then
 * flush), so the two agree by construction.
 *
 * HF decoders map a list of token strings to a list of strings. Until a Fuse
 * or ByteLevel stage, items flowing between our stages are whole tokens
 * (with their index, which Metaspace / WordPiece / Strip look at); from then
 * on the list is one string, so items are chunks of that single string and
 * its index stays 0. Each stage holds back only what a later item could
 * still change: the incomplete UTF-8 tail (ByteLevel), a run of byte tokens
 * (ByteFallback: a run is valid UTF-8 as a whole or all U+FFFD), a possible
 * pattern prefix (Replace), trailing strippable characters (Strip). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct {
    size_t index;     /* items received (token mode) */
    vr_buf hold;      /* bytes held back */
    size_t held_n;    /* ByteFallback: byte tokens in hold; BPE suffix: a token is held */
    size_t to_strip;  /* Strip, stream mode: leading chars still to drop */
} stage_state;

struct vr_detok {
    const vr_tokenizer *t;
    int skip_special;
    size_t count;          /* ids decoded (no-decoder mode joins with spaces) */
    stage_state *st;
    vr_buf out;            /* text produced by the current call */
    pcre2_match_data *md;  /* for regex Replace stages */
};

static const char FFFD[] = "\xEF\xBF\xBD";

static int feed(vr_detok *d, size_t k, const char *s, size_t n);
static int finish(vr_detok *d, size_t k);

/* out += s with every match of pat replaced by rep. */
static int replace_all(vr_detok *d, const vr_pattern *pat, const char *rep, size_t rep_len, const char *s,
                       size_t n, vr_buf *out) {
    size_t pos = 0;
    while (pos <= n) {
        size_t ms = 0, me = 0;
        int r;
        if (pat->kind == PAT_REGEX) r = vr_tok_regex_find(&pat->re, d->md, s, n, pos, &ms, &me);
        else {
            const char *f = pat->str_len && pat->str_len <= n - pos ? memmem(s + pos, n - pos, pat->str, pat->str_len) : NULL;
            r = f != NULL;
            if (f) { ms = (size_t)(f - s); me = ms + pat->str_len; }
        }
        if (r < 0) return -1;
        if (!r) break;
        if (vr_tok_buf_put(out, s + pos, ms - pos) || vr_tok_buf_put(out, rep, rep_len)) return -1;
        if (me == ms) {
            if (me >= n) return 0;
            size_t adv;
            vr_tok_utf8_next(s + me, n - me, &adv);
            if (vr_tok_buf_put(out, s + me, adv)) return -1;
            pos = me + adv;
        } else pos = me;
    }
    return pos < n ? vr_tok_buf_put(out, s + pos, n - pos) : 0;
}

static int is_byte_token(const char *s, size_t n, unsigned char *b) {
    if (n != 6 || memcmp(s, "<0x", 3) || s[5] != '>') return 0;
    unsigned v = 0;
    for (int i = 3; i < 5; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if ((c | 32) >= 'a' && (c | 32) <= 'f') v |= (unsigned)((c | 32) - 'a' + 10);
        else return 0;
    }
    *b = (unsigned char)v;
    return 1;
}

/* Byte-level chars back to bytes; a token with any other char is kept as is. */
static int bytelevel_bytes(const char *s, size_t n, vr_buf *out) {
    size_t start = out->n;
    for (size_t i = 0; i < n;) {
        size_t adv;
        int b = vr_tok_bytelevel_byte(vr_tok_utf8_next(s + i, n - i, &adv));
        if (b < 0) {
            out->n = start;
            return vr_tok_buf_put(out, s, n);
        }
        char c = (char)b;
        if (vr_tok_buf_put(out, &c, 1)) return -1;
        i += adv;
    }
    return 0;
}

static int wordpiece_cleanup(vr_buf *b) {
    static const char *const from[] = {" .", " ?", " !", " ,", " ' ", " n't", " 'm", " do not", " 's", " 've", " 're"};
    static const char *const to[] = {".", "?", "!", ",", "'", "n't", "'m", " don't", "'s", "'ve", "'re"};
    for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
        vr_pattern p = {.kind = PAT_STRING, .str = (char *)from[i], .str_len = strlen(from[i])};
        vr_buf o = {0};
        if (replace_all(NULL, &p, to[i], strlen(to[i]), b->p ? b->p : "", b->n, &o)) {
            vr_tok_buf_free(&o);
            return -1;
        }
        vr_tok_buf_free(b);
        *b = o;
    }
    return 0;
}

static uint32_t first_char(const char *s, size_t n, size_t *adv) { return vr_tok_utf8_next(s, n, adv); }

/* Strip up to `start` leading and `stop` trailing `ch` from one token. */
static int strip_token(const vr_decstage *g, const char *s, size_t n, vr_detok *d, size_t k) {
    size_t a = 0, b = n, cnt = 0;
    while (cnt < g->start && a < b) {
        size_t adv;
        if (first_char(s + a, b - a, &adv) != g->ch) break;
        a += adv;
        cnt++;
    }
    cnt = 0;
    while (cnt < g->stop && b > a) {
        size_t j = b - 1;
        while (j > a && ((unsigned char)s[j] & 0xC0) == 0x80) j--;
        size_t adv;
        if (vr_tok_utf8_next(s + j, b - j, &adv) != g->ch) break;
        b = j;
        cnt++;
    }
    return feed(d, k + 1, s + a, b - a);
}

static int bytefallback_flush(vr_detok *d, size_t k) {
    stage_state *st = &d->st[k];
    if (!st->held_n) return 0;
    size_t n = st->held_n;
    st->held_n = 0;
    vr_buf h = st->hold;
    st->hold = (vr_buf){0};
    int rc = 0;
    if (vr_tok_utf8_valid_prefix(h.p, h.n) == h.n) rc = feed(d, k + 1, h.p, h.n);
    else
        for (size_t i = 0; i < n && !rc; i++) rc = feed(d, k + 1, FFFD, 3);
    vr_tok_buf_free(&h);
    return rc;
}

/* Emits the valid part of a ByteLevel stage's held bytes (all of it at the end). */
static int bytelevel_emit(vr_detok *d, size_t k, int final) {
    stage_state *st = &d->st[k];
    size_t keep = final ? 0 : vr_tok_utf8_incomplete_tail(st->hold.p, st->hold.n);
    vr_buf o = {0};
    int rc = vr_tok_utf8_lossy(&o, st->hold.p ? st->hold.p : "", st->hold.n - keep);
    if (keep) memmove(st->hold.p, st->hold.p + st->hold.n - keep, keep);
    st->hold.n = keep;
    if (!rc && o.n) rc = feed(d, k + 1, o.p, o.n);
    vr_tok_buf_free(&o);
    return rc;
}

/* Streaming string Replace: emit all but a suffix that may begin a match. */
static int replace_stream(vr_detok *d, size_t k, int final) {
    const vr_decstage *g = &d->t->dec[k];
    stage_state *st = &d->st[k];
    size_t n = st->hold.n, cut = n;
    if (!final) {
        if (g->pat.kind == PAT_REGEX) return 0; /* a regex may match anything: hold until the end */
        /* Matches of a fixed string found left to right are final once
         * whole; only the last pattern-length-1 bytes after the last match
         * could still start one, so hold those (cut on a char boundary). */
        size_t pl = g->pat.str_len, e = 0;
        const char *f = st->hold.p;
        while (pl && n - e >= pl && (f = memmem(st->hold.p + e, n - e, g->pat.str, pl)))
            e = (size_t)(f - st->hold.p) + pl;
        cut = pl && n - e > pl - 1 ? n - (pl - 1) : e;
        if (cut < e) cut = e;
        while (cut > e && cut < n && ((unsigned char)st->hold.p[cut] & 0xC0) == 0x80) cut--;
    }
    vr_buf o = {0};
    int rc = replace_all(d, &g->pat, g->text, g->text_len, st->hold.p ? st->hold.p : "", cut, &o);
    if (n > cut) memmove(st->hold.p, st->hold.p + cut, n - cut);
    st->hold.n = n - cut;
    if (!rc && o.n) rc = feed(d, k + 1, o.p, o.n);
    vr_tok_buf_free(&o);
    return rc;
}

/* Stream-mode Strip: drop leading chars at the very start, hold a trailing run. */
static int strip_stream(vr_detok *d, size_t k, const char *s, size_t n, int final) {
    const vr_decstage *g = &d->t->dec[k];
    stage_state *st = &d->st[k];
    size_t a = 0;
    while (st->to_strip && a < n) {
        size_t adv;
        if (first_char(s + a, n - a, &adv) != g->ch) { st->to_strip = 0; break; }
        a += adv;
        st->to_strip--;
    }
    if (a < n) st->to_strip = 0;
    if (g->stop == 0) return feed(d, k + 1, s + a, n - a);
    if (vr_tok_buf_put(&st->hold, s + a, n - a)) return -1;
    /* trailing run of ch (chars) */
    size_t b = st->hold.n, run = 0;
    while (b > 0) {
        size_t j = b - 1;
        while (j > 0 && ((unsigned char)st->hold.p[j] & 0xC0) == 0x80) j--;
        size_t adv;
        if (vr_tok_utf8_next(st->hold.p + j, b - j, &adv) != g->ch) break;
        b = j;
        run++;
    }
    size_t emit = b;
    if (final) { /* keep run - stop chars of the run */
        size_t keep_chars = run > g->stop ? run - g->stop : 0, e = b;
        for (size_t c = 0; c < keep_chars; c++) {
            size_t adv;
            vr_tok_utf8_next(st->hold.p + e, st->hold.n - e, &adv);
            e += adv;
        }
        emit = e;
    }
    int rc = emit ? feed(d, k + 1, st->hold.p, emit) : 0;
    size_t rest = final ? 0 : st->hold.n - b;
    if (rest) memmove(st->hold.p, st->hold.p + b, rest);
    st->hold.n = rest;
    return rc;
}

static int feed(vr_detok *d, size_t k, const char *s, size_t n) {
    const vr_tokenizer *t = d->t;
    if (k == t->n_dec) return vr_tok_buf_put(&d->out, s, n);
    const vr_decstage *g = &t->dec[k];
    stage_state *st = &d->st[k];
    size_t index = st->index++;
    int rc = 0;
    switch (g->type) {
    case DEC_FUSE: return feed(d, k + 1, s, n);
    case DEC_BYTELEVEL:
        if (bytelevel_bytes(s, n, &st->hold)) return -1;
        return bytelevel_emit(d, k, 0);
    case DEC_BYTEFALLBACK: {
        unsigned char b;
        if (!g->stream_in && is_byte_token(s, n, &b)) {
            st->held_n++;
            return vr_tok_buf_put(&st->hold, &b, 1);
        }
        if (bytefallback_flush(d, k)) return -1;
        return feed(d, k + 1, s, n);
    }
    case DEC_REPLACE:
        if (g->stream_in) {
            if (vr_tok_buf_put(&st->hold, s, n)) return -1;
            return replace_stream(d, k, 0);
        } else {
            vr_buf o = {0};
            rc = replace_all(d, &g->pat, g->text, g->text_len, s, n, &o);
            if (!rc) rc = feed(d, k + 1, o.p ? o.p : "", o.n);
            vr_tok_buf_free(&o);
            return rc;
        }
    case DEC_STRIP:
        if (g->stream_in) return strip_stream(d, k, s, n, 0);
        return strip_token(g, s, n, d, k);
    case DEC_METASPACE: {
        int drop = g->prepend && (g->stream_in || index == 0);
        char rep[4];
        size_t rl = vr_tok_utf8_put(g->ch, rep);
        vr_pattern p = {.kind = PAT_STRING, .str = rep, .str_len = rl};
        vr_buf o = {0};
        rc = replace_all(d, &p, drop ? "" : " ", drop ? 0 : 1, s, n, &o);
        if (!rc) rc = feed(d, k + 1, o.p ? o.p : "", o.n);
        vr_tok_buf_free(&o);
        return rc;
    }
    case DEC_WORDPIECE: {
        if (g->stream_in) return vr_tok_buf_put(&st->hold, s, n); /* applied at the end */
        vr_buf o = {0};
        if (index > 0) {
            if (n >= g->text_len && !memcmp(s, g->text, g->text_len)) {
                s += g->text_len;
                n -= g->text_len;
            } else if (vr_tok_buf_putc(&o, ' ')) rc = -1;
        }
        if (!rc) rc = vr_tok_buf_put(&o, s, n);
        if (!rc && g->cleanup) rc = wordpiece_cleanup(&o);
        if (!rc) rc = feed(d, k + 1, o.p ? o.p : "", o.n);
        vr_tok_buf_free(&o);
        return rc;
    }
    case DEC_BPE_SUFFIX: {
        if (g->stream_in) return vr_tok_buf_put(&st->hold, s, n);
        if (st->held_n) { /* the held token was not the last: its suffix is a space */
            vr_pattern p = {.kind = PAT_STRING, .str = g->text, .str_len = g->text_len};
            vr_buf o = {0};
            rc = replace_all(d, &p, " ", 1, st->hold.p, st->hold.n, &o);
            if (!rc) rc = feed(d, k + 1, o.p ? o.p : "", o.n);
            vr_tok_buf_free(&o);
            if (rc) return rc;
        }
        st->hold.n = 0;
        st->held_n = 1;
        return vr_tok_buf_put(&st->hold, s, n);
    }
    }
    return -1;
}

static int finish(vr_detok *d, size_t k) {
    const vr_tokenizer *t = d->t;
    if (k == t->n_dec) return 0;
    const vr_decstage *g = &t->dec[k];
    stage_state *st = &d->st[k];
    int rc = 0;
    switch (g->type) {
    case DEC_BYTELEVEL: rc = bytelevel_emit(d, k, 1); break;
    case DEC_BYTEFALLBACK: rc = bytefallback_flush(d, k); break;
    case DEC_REPLACE:
        if (g->stream_in) rc = replace_stream(d, k, 1);
        break;
    case DEC_STRIP:
        if (g->stream_in) rc = strip_stream(d, k, "", 0, 1);
        break;
    case DEC_WORDPIECE:
        if (g->stream_in && st->hold.n) {
            rc = g->cleanup ? wordpiece_cleanup(&st->hold) : 0;
            if (!rc) rc = feed(d, k + 1, st->hold.p ? st->hold.p : "", st->hold.n);
        }
        break;
    case DEC_BPE_SUFFIX: {
        vr_pattern p = {.kind = PAT_STRING, .str = g->text, .str_len = g->text_len};
        if (st->held_n || (g->stream_in && st->hold.n)) {
            vr_buf o = {0};
            rc = replace_all(d, &p, "", 0, st->hold.p ? st->hold.p : "", st->hold.n, &o);
            if (!rc) rc = feed(d, k + 1, o.p ? o.p : "", o.n);
            vr_tok_buf_free(&o);
        }
        break;
    }
    default: break;
    }
    if (!rc) rc = finish(d, k + 1);
    /* reset for a new sequence */
    vr_tok_buf_free(&st->hold);
    memset(st, 0, sizeof *st);
    st->to_strip = g->start;
    return rc;
}

vr_detok *vr_detok_create(const vr_tokenizer *t, int skip_special_tokens) {
    if (!t) return NULL;
    vr_detok *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->t = t;
    d->skip_special = skip_special_tokens;
    d->st = calloc(t->n_dec + 1, sizeof *d->st);
    d->md = pcre2_match_data_create(1, NULL);
    if (!d->st || !d->md) {
        vr_detok_free(d);
        return NULL;
    }
    for (size_t k = 0; k < t->n_dec; k++) d->st[k].to_strip = t->dec[k].start;
    return d;
}

void vr_detok_free(vr_detok *d) {
    if (!d) return;
    if (d->st)
        for (size_t k = 0; k < d->t->n_dec; k++) vr_tok_buf_free(&d->st[k].hold);
    free(d->st);
    vr_tok_buf_free(&d->out);
    pcre2_match_data_free(d->md);
    free(d);
}

int vr_detok_push(vr_detok *d, int32_t id, const char **text, size_t *len) {
    if (!d || !text || !len) return -1;
    d->out.n = 0;
    *text = "";
    *len = 0;
    const vr_tokenizer *t = d->t;
    if (id < 0 || (size_t)id >= t->vocab_size) return -1;
    const char *tok = t->id_tok[id];
    if (!tok || (d->skip_special && t->id_special[id])) return 0;
    int rc;
    if (!t->has_decoder) { /* HF joins tokens with a space when there is no decoder */
        rc = (d->count && vr_tok_buf_putc(&d->out, ' ')) || vr_tok_buf_put(&d->out, tok, t->id_len[id]) ? -1 : 0;
    } else rc = feed(d, 0, tok, t->id_len[id]);
    d->count++;
    *text = d->out.p ? d->out.p : "";
    *len = d->out.n;
    return rc;
}

int vr_detok_flush(vr_detok *d, const char **text, size_t *len) {
    if (!d || !text || !len) return -1;
    d->out.n = 0;
    int rc = finish(d, 0);
    d->count = 0;
    *text = d->out.p ? d->out.p : "";
    *len = d->out.n;
    return rc;
}

int vr_tokenizer_decode(const vr_tokenizer *t, const int32_t *ids, size_t n, int skip_special_tokens,
                        char **text, size_t *len, char *err, size_t errlen) {
    if (!t || (!ids && n) || !text) {
        vr_tok_set_err(err, errlen, "decode: invalid arguments");
        return -1;
    }
    *text = NULL;
    if (len) *len = 0;
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || (size_t)ids[i] >= t->vocab_size) {
            vr_tok_set_err(err, errlen, "token id %ld at position %zu is out of range (vocabulary size %zu)",
                       (long)ids[i], i, t->vocab_size);
            return -1;
        }
    vr_detok *d = vr_detok_create(t, skip_special_tokens);
    vr_buf all = {0};
    int rc = d ? 0 : -1;
    const char *s;
    size_t k;
    for (size_t i = 0; i < n && !rc; i++)
        if (!(rc = vr_detok_push(d, ids[i], &s, &k))) rc = vr_tok_buf_put(&all, s, k);
    if (!rc && !(rc = vr_detok_flush(d, &s, &k))) rc = vr_tok_buf_put(&all, s, k);
    if (!rc && !all.p) rc = vr_tok_buf_put(&all, "", 1), all.n = 0;
    vr_detok_free(d);
    if (rc) {
        vr_tok_buf_free(&all);
        vr_tok_set_err(err, errlen, "decode: out of memory");
        return -1;
    }
    *text = all.p;
    if (len) *len = all.n;
    return 0;
}

int vr_tokenizer_token_bytes(const vr_tokenizer *t, int32_t id, char *buf, size_t cap, size_t *len) {
    if (!t || id < 0 || (size_t)id >= t->vocab_size || !t->id_tok[id]) return -1;
    vr_buf cur = {0};
    int rc = vr_tok_buf_put(&cur, t->id_tok[id], t->id_len[id]);
    for (size_t k = 0; k < t->n_dec && !rc; k++) {
        const vr_decstage *g = &t->dec[k];
        vr_buf o = {0};
        unsigned char b;
        const char *s = cur.p ? cur.p : "";
        switch (g->type) {
        case DEC_BYTELEVEL: rc = bytelevel_bytes(s, cur.n, &o); break;
        case DEC_BYTEFALLBACK:
            rc = is_byte_token(s, cur.n, &b) ? vr_tok_buf_put(&o, &b, 1) : vr_tok_buf_put(&o, s, cur.n);
            break;
        case DEC_REPLACE:
            if (g->pat.kind == PAT_STRING) rc = replace_all(NULL, &g->pat, g->text, g->text_len, s, cur.n, &o);
            else rc = vr_tok_buf_put(&o, s, cur.n);
            break;
        case DEC_METASPACE: {
            char rep[4];
            vr_pattern p = {.kind = PAT_STRING, .str = rep, .str_len = vr_tok_utf8_put(g->ch, rep)};
            rc = replace_all(NULL, &p, " ", 1, s, cur.n, &o);
            break;
        }
        case DEC_WORDPIECE:
            if (cur.n >= g->text_len && !memcmp(s, g->text, g->text_len)) rc = vr_tok_buf_put(&o, s + g->text_len, cur.n - g->text_len);
            else rc = vr_tok_buf_put(&o, s, cur.n);
            break;
        default: rc = vr_tok_buf_put(&o, s, cur.n); break;
        }
        vr_tok_buf_free(&cur);
        cur = o;
    }
    if (!rc) {
        if (len) *len = cur.n;
        if (buf && cap) memcpy(buf, cur.p ? cur.p : "", cur.n < cap ? cur.n : cap);
    }
    vr_tok_buf_free(&cur);
    return rc ? -1 : 0;
}
