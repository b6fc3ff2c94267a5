/* tokenizer/pretokenizer.c — pre-tokenizers: cut normalized text into the
 * pieces the model tokenizes one at a time. Each step maps a list of pieces
 * to a new list; new strings go to the per-call arena. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Printable Latin-1 bytes stand for themselves; the 68 others are shifted
 * to U+0100.. in byte order, so every byte becomes a visible character. */
static int byte_is_printable(unsigned b) { return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174; }

uint32_t vr_tok_bytelevel_char(unsigned b) {
    if (byte_is_printable(b)) return b;
    if (b <= 32) return 256 + b;
    if (b <= 160) return 256 + 33 + (b - 127);
    return 256 + 67; /* 173, the soft hyphen */
}

int vr_tok_bytelevel_byte(uint32_t cp) {
    if (cp < 256) return byte_is_printable(cp) ? (int)cp : -1;
    if (cp <= 288) return (int)(cp - 256);
    if (cp <= 322) return (int)(cp - 289 + 127);
    if (cp == 323) return 173;
    return -1;
}

static int bytelevel_map(const vr_piece *in, vr_scratch *sc, vr_pieces *out) {
    char *p = vr_tok_arena_alloc(&sc->arena, in->n * 2 + 1);
    if (!p) return -1;
    size_t k = 0;
    for (size_t i = 0; i < in->n; i++) {
        uint32_t c = vr_tok_bytelevel_char((unsigned char)in->s[i]);
        if (c < 0x80) p[k++] = (char)c;
        else {
            p[k++] = (char)(0xC0 | (c >> 6));
            p[k++] = (char)(0x80 | (c & 0x3F));
        }
    }
    return vr_tok_pieces_push(out, p, k, in->first);
}

static int bytelevel(const vr_pretok *pt, vr_pieces *pieces, vr_scratch *sc) {
    vr_pieces a = {0}, b = {0};
    int rc = -1;
    for (size_t i = 0; i < pieces->n; i++) {
        vr_piece pc = pieces->p[i];
        if (pt->add_prefix_space && !(pc.n && pc.s[0] == ' ')) {
            char *p = vr_tok_arena_alloc(&sc->arena, pc.n + 1);
            if (!p) goto done;
            p[0] = ' ';
            memcpy(p + 1, pc.s, pc.n);
            pc.s = p;
            pc.n++;
        }
        if (pt->use_regex) {
            if (vr_tok_split_piece(&pt->pat, SPLIT_ISOLATED, 0, &pc, sc, &a)) goto done;
        } else if (vr_tok_pieces_push(&a, pc.s, pc.n, pc.first)) goto done;
    }
    for (size_t i = 0; i < a.n; i++)
        if (bytelevel_map(&a.p[i], sc, &b)) goto done;
    free(pieces->p);
    *pieces = b;
    b.p = NULL;
    rc = 0;
done:
    free(a.p);
    free(b.p);
    return rc;
}

static int metaspace(const vr_pretok *pt, vr_pieces *pieces, vr_scratch *sc) {
    vr_pieces out = {0};
    vr_pattern rep = {.kind = PAT_CHAR};
    size_t adv;
    rep.ch = vr_tok_utf8_next(pt->rep, pt->rep_len, &adv);
    for (size_t i = 0; i < pieces->n; i++) {
        const vr_piece *pc = &pieces->p[i];
        size_t spaces = 0;
        for (size_t k = 0; k < pc->n; k++) spaces += pc->s[k] == ' ';
        int prepend = pt->prepend_scheme == PREPEND_ALWAYS || (pt->prepend_scheme == PREPEND_FIRST && pc->first);
        char *p = vr_tok_arena_alloc(&sc->arena, pc->n + spaces * pt->rep_len + pt->rep_len + 1);
        if (!p) goto fail;
        size_t k = 0;
        for (size_t j = 0; j < pc->n; j++) {
            if (pc->s[j] == ' ') {
                memcpy(p + k, pt->rep, pt->rep_len);
                k += pt->rep_len;
            } else p[k++] = pc->s[j];
        }
        if (prepend && !(k >= pt->rep_len && !memcmp(p, pt->rep, pt->rep_len))) {
            memmove(p + pt->rep_len, p, k);
            memcpy(p, pt->rep, pt->rep_len);
            k += pt->rep_len;
        }
        vr_piece np = {p, k, pc->first};
        if (pt->split) {
            if (vr_tok_split_piece(&rep, SPLIT_MERGED_NEXT, 0, &np, sc, &out)) goto fail;
        } else if (vr_tok_pieces_push(&out, p, k, pc->first)) goto fail;
    }
    free(pieces->p);
    *pieces = out;
    return 0;
fail:
    free(out.p);
    return -1;
}

static int split_all(const vr_pattern *pat, int behavior, int invert, vr_pieces *pieces, vr_scratch *sc) {
    vr_pieces out = {0};
    for (size_t i = 0; i < pieces->n; i++)
        if (vr_tok_split_piece(pat, behavior, invert, &pieces->p[i], sc, &out)) {
            free(out.p);
            return -1;
        }
    free(pieces->p);
    *pieces = out;
    return 0;
}

int vr_tok_pretokenize(const vr_pretok *pt, vr_pieces *pieces, vr_scratch *sc) {
    switch (pt->type) {
    case PRE_SEQUENCE:
        for (size_t i = 0; i < pt->n_subs; i++)
            if (vr_tok_pretokenize(&pt->subs[i], pieces, sc)) return -1;
        return 0;
    case PRE_BYTELEVEL: return bytelevel(pt, pieces, sc);
    case PRE_METASPACE: return metaspace(pt, pieces, sc);
    case PRE_BERT: {
        vr_pattern ws = {.kind = PAT_WHITESPACE}, punct = {.kind = PAT_BERT_PUNCT};
        if (split_all(&ws, SPLIT_REMOVED, 0, pieces, sc)) return -1;
        return split_all(&punct, SPLIT_ISOLATED, 0, pieces, sc);
    }
    default: /* Split, Whitespace, WhitespaceSplit, Punctuation, Digits, CharDelimiterSplit */
        return split_all(&pt->pat, pt->behavior, pt->invert, pieces, sc);
    }
}

void vr_tok_pretok_free(vr_pretok *pt) {
    vr_tok_pattern_free(&pt->pat);
    for (size_t i = 0; i < pt->n_subs; i++) vr_tok_pretok_free(&pt->subs[i]);
    free(pt->subs);
    memset(pt, 0, sizeof *pt);
}
