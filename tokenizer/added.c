/* tokenizer/added.c — finding added tokens in text: a byte trie gives the
 * leftmost-longest match (what HF's Aho-Corasick search returns), then the
 * token's single_word / lstrip / rstrip options are applied like HF's
 * AddedVocabulary::find_matches. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct { int32_t child, sibling, tok; unsigned char byte; } trie_node;
struct vr_trie {
    int32_t root[256];
    trie_node *nodes;
    size_t n, cap;
};

static int32_t new_node(vr_trie *t, unsigned char b) {
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        trie_node *p = realloc(t->nodes, cap * sizeof *p);
        if (!p) return -1;
        t->nodes = p;
        t->cap = cap;
    }
    t->nodes[t->n] = (trie_node){-1, -1, -1, b};
    return (int32_t)t->n++;
}

vr_trie *vr_tok_trie_build(const vr_added *toks, size_t n, int normalized, const char *const *patterns,
                       const size_t *pattern_lens) {
    vr_trie *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    memset(t->root, 0xff, sizeof t->root);
    for (size_t i = 0; i < n; i++) {
        if (!toks[i].normalized != !normalized) continue;
        const unsigned char *p = (const unsigned char *)(patterns ? patterns[i] : toks[i].content);
        size_t len = patterns ? pattern_lens[i] : toks[i].len;
        if (len == 0) continue;
        int32_t cur = t->root[p[0]];
        if (cur < 0) {
            if ((cur = new_node(t, p[0])) < 0) goto fail;
            t->root[p[0]] = cur;
        }
        for (size_t k = 1; k < len; k++) {
            int32_t c = t->nodes[cur].child;
            while (c >= 0 && t->nodes[c].byte != p[k]) c = t->nodes[c].sibling;
            if (c < 0) {
                if ((c = new_node(t, p[k])) < 0) goto fail;
                t->nodes[c].sibling = t->nodes[cur].child;
                t->nodes[cur].child = c;
            }
            cur = c;
        }
        if (t->nodes[cur].tok < 0) t->nodes[cur].tok = (int32_t)i; /* first token wins a tie */
    }
    return t;
fail:
    vr_tok_trie_free(t);
    return NULL;
}

void vr_tok_trie_free(vr_trie *t) {
    if (!t) return;
    free(t->nodes);
    free(t);
}

static uint32_t char_before(const char *s, size_t i) {
    size_t k = i - 1;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80) k--;
    size_t adv;
    return vr_tok_utf8_next(s + k, i - k, &adv);
}

static int is_word_char(uint32_t c) { return c == '_' || vr_tok_is_alnum(c); }

int vr_tok_trie_find(const vr_trie *t, const vr_added *toks, const char *s, size_t n, vr_added_match **out,
                 size_t *n_out) {
    vr_added_match *m = NULL;
    size_t mn = 0, mcap = 0, start_offset = 0;
    *out = NULL;
    *n_out = 0;
    if (!t || !t->n) return 0;
    for (size_t i = 0; i < n;) {
        int32_t cur = t->root[(unsigned char)s[i]];
        int32_t best = -1;
        size_t best_end = 0;
        for (size_t k = i + 1; cur >= 0; k++) {
            if (t->nodes[cur].tok >= 0) {
                best = t->nodes[cur].tok;
                best_end = k;
            }
            if (k >= n) break;
            int32_t c = t->nodes[cur].child;
            while (c >= 0 && t->nodes[c].byte != (unsigned char)s[k]) c = t->nodes[c].sibling;
            cur = c;
        }
        if (best < 0) {
            i++;
            continue;
        }
        const vr_added *a = &toks[best];
        size_t start = i, stop = best_end;
        i = best_end;
        if (a->single_word) {
            size_t adv;
            int start_ok = start == 0 || !is_word_char(char_before(s, start));
            int stop_ok = stop == n || !is_word_char(vr_tok_utf8_next(s + stop, n - stop, &adv));
            if (!start_ok || !stop_ok) continue;
        }
        if (a->lstrip) {
            size_t ns = start;
            while (ns > 0) {
                size_t k = ns - 1;
                while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80) k--;
                size_t adv;
                if (!vr_tok_is_whitespace(vr_tok_utf8_next(s + k, ns - k, &adv))) break;
                ns = k;
            }
            start = ns > start_offset ? ns : start_offset;
        }
        if (a->rstrip) {
            while (stop < n) {
                size_t adv;
                if (!vr_tok_is_whitespace(vr_tok_utf8_next(s + stop, n - stop, &adv))) break;
                stop += adv;
            }
        }
        if (mn == mcap) {
            mcap = mcap ? mcap * 2 : 16;
            vr_added_match *p = realloc(m, mcap * sizeof *p);
            if (!p) {
                free(m);
                return -1;
            }
            m = p;
        }
        m[mn++] = (vr_added_match){start, stop, a->id};
        start_offset = stop;
    }
    *out = m;
    *n_out = mn;
    return 0;
}
