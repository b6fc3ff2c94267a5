/* tokenizer/split.c — splitting a piece by a pattern with the five
 * behaviours of Hugging Face's SplitDelimiterBehavior (and `invert`).
 *
 * First the piece is cut into alternating spans flagged match / no-match
 * (like HF's Pattern::find_matches), then spans are merged or dropped per
 * behaviour, then empty spans are dropped. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct { size_t s, e; int m; } span;
typedef struct { span *p; size_t n, cap; } spans;

static int spans_push(spans *v, size_t s, size_t e, int m) {
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        span *p = realloc(v->p, cap * sizeof *p);
        if (!p) return -1;
        v->p = p;
        v->cap = cap;
    }
    v->p[v->n++] = (span){s, e, m};
    return 0;
}

int vr_tok_pieces_push(vr_pieces *v, const char *s, size_t n, int first) {
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        vr_piece *p = realloc(v->p, cap * sizeof *p);
        if (!p) return -1;
        v->p = p;
        v->cap = cap;
    }
    v->p[v->n++] = (vr_piece){s, n, first};
    return 0;
}

static int char_matches(const vr_pattern *pat, uint32_t c) {
    switch (pat->kind) {
    case PAT_WHITESPACE: return vr_tok_is_whitespace(c);
    case PAT_BERT_PUNCT: return vr_tok_is_bert_punct(c);
    case PAT_NUMERIC: return vr_tok_is_numeric(c);
    case PAT_CHAR: return c == pat->ch;
    }
    return 0;
}

static int find_matches(const vr_pattern *pat, const char *s, size_t n, vr_scratch *sc, spans *out) {
    size_t prev = 0;
    if (pat->kind == PAT_REGEX || pat->kind == PAT_STRING) {
        if (pat->kind == PAT_STRING && pat->str_len == 0) return spans_push(out, 0, n, 0);
        size_t pos = 0;
        while (pos <= n) {
            size_t ms, me;
            if (pat->kind == PAT_REGEX) {
                int r = vr_tok_regex_find(&pat->re, sc->md, s, n, pos, &ms, &me);
                if (r < 0) return -1;
                if (!r) break;
            } else {
                const char *f = pat->str_len <= n - pos ? memmem(s + pos, n - pos, pat->str, pat->str_len) : NULL;
                if (!f) break;
                ms = (size_t)(f - s);
                me = ms + pat->str_len;
            }
            if (prev != ms && spans_push(out, prev, ms, 0)) return -1;
            if (spans_push(out, ms, me, 1)) return -1;
            prev = me;
            if (me == ms) { /* empty match: step over one character */
                if (me >= n) break;
                size_t adv;
                vr_tok_utf8_next(s + me, n - me, &adv);
                pos = me + adv;
            } else pos = me;
        }
        if (prev != n && spans_push(out, prev, n, 0)) return -1;
        return 0;
    }
    size_t i = 0;
    while (i < n) {
        size_t adv;
        uint32_t c = vr_tok_utf8_next(s + i, n - i, &adv);
        if (char_matches(pat, c)) {
            if (prev < i && spans_push(out, prev, i, 0)) return -1;
            if (spans_push(out, i, i + adv, 1)) return -1;
            prev = i + adv;
        }
        i += adv;
    }
    if (prev < n && spans_push(out, prev, n, 0)) return -1;
    return 0;
}

int vr_tok_split_piece(const vr_pattern *pat, int behavior, int invert, const vr_piece *in, vr_scratch *sc,
                   vr_pieces *out) {
    if (in->n == 0) return 0;
    spans m = {0}, r = {0};
    int rc = -1;
    if (find_matches(pat, in->s, in->n, sc, &m)) goto done;
    if (invert)
        for (size_t i = 0; i < m.n; i++) m.p[i].m = !m.p[i].m;
    /* r: spans with m = "remove this span" */
    switch (behavior) {
    case SPLIT_ISOLATED:
        for (size_t i = 0; i < m.n; i++)
            if (spans_push(&r, m.p[i].s, m.p[i].e, 0)) goto done;
        break;
    case SPLIT_REMOVED:
        for (size_t i = 0; i < m.n; i++)
            if (spans_push(&r, m.p[i].s, m.p[i].e, m.p[i].m)) goto done;
        break;
    case SPLIT_CONTIGUOUS: {
        int prev = 0;
        for (size_t i = 0; i < m.n; i++) {
            if (m.p[i].m == prev && r.n) r.p[r.n - 1].e = m.p[i].e;
            else if (spans_push(&r, m.p[i].s, m.p[i].e, 0)) goto done;
            prev = m.p[i].m;
        }
        break;
    }
    case SPLIT_MERGED_PREV: {
        int prev = 0;
        for (size_t i = 0; i < m.n; i++) {
            if (m.p[i].m && !prev && r.n) r.p[r.n - 1].e = m.p[i].e;
            else if (spans_push(&r, m.p[i].s, m.p[i].e, 0)) goto done;
            prev = m.p[i].m;
        }
        break;
    }
    case SPLIT_MERGED_NEXT: {
        int prev = 0;
        for (size_t k = m.n; k-- > 0;) {
            if (m.p[k].m && !prev && r.n) r.p[r.n - 1].s = m.p[k].s;
            else if (spans_push(&r, m.p[k].s, m.p[k].e, 0)) goto done;
            prev = m.p[k].m;
        }
        for (size_t i = 0; i < r.n / 2; i++) {
            span t = r.p[i];
            r.p[i] = r.p[r.n - 1 - i];
            r.p[r.n - 1 - i] = t;
        }
        break;
    }
    }
    for (size_t i = 0; i < r.n; i++) {
        if (r.p[i].m || r.p[i].e == r.p[i].s) continue;
        if (vr_tok_pieces_push(out, in->s + r.p[i].s, r.p[i].e - r.p[i].s, in->first && r.p[i].s == 0)) goto done;
    }
    rc = 0;
done:
    free(m.p);
    free(r.p);
    return rc;
}

void vr_tok_pattern_free(vr_pattern *p) {
    free(p->str);
    p->str = NULL;
    if (p->re.code) vr_tok_regex_free(&p->re);
}
