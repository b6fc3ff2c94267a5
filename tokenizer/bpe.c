/* tokenizer/bpe.c — byte-pair encoding of one pre-tokenized piece.
 *
 * Symbols form a doubly linked list over an array; candidate merges sit in
 * a binary min-heap ordered by (rank, position), so a word of n characters
 * costs O(n log n) however long it is (a Mistral "word" can be the whole
 * input). Stale heap entries are detected and skipped when popped, exactly
 * like Hugging Face's Word::merge_all, so ties resolve identically. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct { int32_t id; int32_t prev, next; uint32_t len; } symbol;
/* A merge candidate; left/right are the symbol ids it was made from, so a
 * popped entry whose symbols are unchanged needs no second merge lookup. */
typedef struct { int32_t rank, pos, id, left, right; } cand;

static int cand_less(const cand *a, const cand *b) {
    return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static void heap_push(cand *h, size_t *n, cand c) {
    size_t i = (*n)++;
    while (i) {
        size_t p = (i - 1) / 2;
        if (!cand_less(&c, &h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = c;
}

static cand heap_pop(cand *h, size_t *n) {
    cand top = h[0], last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1;
        if (l >= *n) break;
        size_t m = (l + 1 < *n && cand_less(&h[l + 1], &h[l])) ? l + 1 : l;
        if (!cand_less(&h[m], &last)) break;
        h[i] = h[m];
        i = m;
    }
    h[i] = last;
    return top;
}

typedef struct { symbol *s; size_t n, cap; } symbols;

static int sym_add(symbols *w, int32_t id, size_t len) {
    if (w->n == w->cap) return -1; /* capacity is sized up front */
    int32_t i = (int32_t)w->n;
    w->s[w->n++] = (symbol){id, i - 1, i + 1, (uint32_t)len};
    return 0;
}

/* Looks a character (with optional prefix/suffix) up in the vocab. */
static int32_t lookup_affixed(const vr_tok_model *m, const char *c, size_t n, int pre, int suf, char *tmp) {
    if (!pre && !suf) return vr_tok_strmap_get(&m->vocab, c, n);
    size_t k = 0;
    if (pre) { memcpy(tmp, m->prefix, m->prefix_len); k = m->prefix_len; }
    memcpy(tmp + k, c, n);
    k += n;
    if (suf) { memcpy(tmp + k, m->suffix, m->suffix_len); k += m->suffix_len; }
    return vr_tok_strmap_get(&m->vocab, tmp, k);
}

static int merge_word(const vr_tok_model *m, const char *w, size_t n, vr_ids *out) {
    /* one symbol per byte at most (byte fallback), plus nothing else */
    symbols word = {malloc((n + 1) * sizeof(symbol)), 0, n + 1};
    cand *heap = malloc((2 * n + 2) * sizeof(cand));
    char *tmp = malloc(m->prefix_len + m->suffix_len + 8);
    int rc = -1;
    if (!word.s || !heap || !tmp) goto done;
    int32_t unk_id = -1;
    size_t unk_len = 0;
    for (size_t i = 0; i < n;) {
        size_t adv;
        vr_tok_utf8_next(w + i, n - i, &adv);
        int first = i == 0, last = i + adv >= n;
        int pre = !first && m->prefix_len, suf = last && m->suffix_len;
        int32_t id = lookup_affixed(m, w + i, adv, pre, suf, tmp);
        if (id >= 0) {
            if (unk_id >= 0) {
                if (sym_add(&word, unk_id, unk_len)) goto done;
                unk_id = -1;
            }
            if (sym_add(&word, id, adv)) goto done;
            i += adv;
            continue;
        }
        if (m->byte_fallback) {
            /* the bytes of the (affixed) character as <0xXX> tokens, if all exist */
            size_t k = 0;
            if (pre) { memcpy(tmp, m->prefix, m->prefix_len); k = m->prefix_len; }
            memcpy(tmp + k, w + i, adv);
            k += adv;
            if (suf) { memcpy(tmp + k, m->suffix, m->suffix_len); k += m->suffix_len; }
            int all = 1;
            for (size_t j = 0; j < k; j++) all &= m->byte_tok[(unsigned char)tmp[j]] >= 0;
            if (all) {
                if (word.n + k > word.cap) {
                    symbol *s = realloc(word.s, (word.n + k + n) * sizeof *s);
                    cand *h = realloc(heap, (2 * (word.n + k + n) + 2) * sizeof *h);
                    if (s) word.s = s;
                    if (h) heap = h;
                    if (!s || !h) goto done;
                    word.cap = word.n + k + n;
                }
                for (size_t j = 0; j < k; j++) sym_add(&word, m->byte_tok[(unsigned char)tmp[j]], 1);
                i += adv;
                continue;
            }
        }
        if (m->unk_id >= 0) {
            if (unk_id >= 0 && m->fuse_unk) unk_len += adv;
            else {
                if (unk_id >= 0 && sym_add(&word, unk_id, unk_len)) goto done;
                unk_id = m->unk_id;
                unk_len = adv;
            }
        }
        i += adv;
    }
    if (unk_id >= 0 && sym_add(&word, unk_id, unk_len)) goto done;
    if (word.n == 0) { rc = 0; goto done; }
    word.s[word.n - 1].next = -1;

    size_t hn = 0;
    /* prefetch the merge-table slots of a window of pairs ahead */
    for (size_t i = 0; i + 1 < word.n && i < 16; i++) vr_tok_pairmap_prefetch(&m->merges, word.s[i].id, word.s[i + 1].id);
    for (size_t i = 0; i + 1 < word.n; i++) {
        if (i + 17 < word.n) vr_tok_pairmap_prefetch(&m->merges, word.s[i + 16].id, word.s[i + 17].id);
        const vr_pairslot *p = vr_tok_pairmap_get(&m->merges, word.s[i].id, word.s[i + 1].id);
        if (p) heap_push(heap, &hn, (cand){p->rank, (int32_t)i, p->id, word.s[i].id, word.s[i + 1].id});
    }
    size_t heap_cap = 2 * word.cap + 2;
    while (hn) {
        cand top = heap_pop(heap, &hn);
        symbol *cur = &word.s[top.pos];
        if (cur->len == 0 || cur->next < 0) continue;
        symbol *right = &word.s[cur->next];
        if (cur->id != top.left || right->id != top.right) {
            /* the pair changed since this entry was made: valid only if the
             * new pair merges into the same token (HF's staleness test) */
            const vr_pairslot *p = vr_tok_pairmap_get(&m->merges, cur->id, right->id);
            if (!p || p->id != top.id) continue;
        }
        cur->id = top.id;
        cur->len += right->len;
        right->len = 0;
        cur->next = right->next;
        if (cur->next >= 0) word.s[cur->next].prev = top.pos;
        /* every merge adds at most two candidates; grow if ever needed */
        if (hn + 2 > heap_cap) {
            cand *h = realloc(heap, (heap_cap * 2) * sizeof *h);
            if (!h) goto done;
            heap = h;
            heap_cap *= 2;
        }
        const vr_pairslot *p;
        if (cur->prev >= 0) {
            int32_t l = word.s[cur->prev].id;
            p = vr_tok_pairmap_get(&m->merges, l, cur->id);
            if (p) heap_push(heap, &hn, (cand){p->rank, cur->prev, p->id, l, cur->id});
        }
        if (cur->next >= 0) {
            int32_t r = word.s[cur->next].id;
            p = vr_tok_pairmap_get(&m->merges, cur->id, r);
            if (p) heap_push(heap, &hn, (cand){p->rank, top.pos, p->id, cur->id, r});
        }
    }
    for (int32_t i = 0; i >= 0; i = word.s[i].next)
        if (vr_tok_ids_push(out, word.s[i].id)) goto done;
    rc = 0;
done:
    free(word.s);
    free(heap);
    free(tmp);
    return rc;
}

/* ---- cache of merged words ----
 * Sharded, direct-mapped: a word hashes to one slot of one shard; a miss
 * overwrites the slot. Each shard has its own mutex, so concurrent encodes
 * on one tokenizer are safe and rarely contend. */
#define CACHE_SHARDS 64
#define CACHE_SLOTS 512
#define CACHE_MAX_WORD 256

typedef struct { uint64_t hash; uint32_t klen, n; char *mem; /* key bytes then ids */ } cache_entry;
typedef struct { pthread_mutex_t mu; cache_entry e[CACHE_SLOTS]; } cache_shard;
struct vr_cache { cache_shard shard[CACHE_SHARDS]; };

vr_cache *vr_tok_cache_create(void) {
    vr_cache *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    for (int i = 0; i < CACHE_SHARDS; i++) pthread_mutex_init(&c->shard[i].mu, NULL);
    return c;
}

void vr_tok_cache_free(vr_cache *c) {
    if (!c) return;
    for (int i = 0; i < CACHE_SHARDS; i++) {
        pthread_mutex_destroy(&c->shard[i].mu);
        for (int j = 0; j < CACHE_SLOTS; j++) free(c->shard[i].e[j].mem);
    }
    free(c);
}

static int cache_get(vr_cache *c, uint64_t h, const char *w, size_t n, vr_ids *out) {
    cache_shard *s = &c->shard[h % CACHE_SHARDS];
    cache_entry *e = &s->e[(h / CACHE_SHARDS) % CACHE_SLOTS];
    int hit = 0;
    pthread_mutex_lock(&s->mu);
    if (e->mem && e->hash == h && e->klen == n && !memcmp(e->mem, w, n)) {
        int32_t ids[CACHE_MAX_WORD * 4];
        memcpy(ids, e->mem + n, e->n * sizeof(int32_t));
        uint32_t k = e->n;
        pthread_mutex_unlock(&s->mu);
        return vr_tok_ids_append(out, ids, k) ? -1 : 1;
    }
    pthread_mutex_unlock(&s->mu);
    return hit;
}

static void cache_put(vr_cache *c, uint64_t h, const char *w, size_t n, const int32_t *ids, size_t k) {
    char *mem = malloc(n + k * sizeof(int32_t));
    if (!mem) return; /* the cache is only an optimization */
    memcpy(mem, w, n);
    if (k) memcpy(mem + n, ids, k * sizeof(int32_t)); /* a word may give no ids at all */
    cache_shard *s = &c->shard[h % CACHE_SHARDS];
    cache_entry *e = &s->e[(h / CACHE_SHARDS) % CACHE_SLOTS];
    pthread_mutex_lock(&s->mu);
    char *old = e->mem;
    *e = (cache_entry){h, (uint32_t)n, (uint32_t)k, mem};
    pthread_mutex_unlock(&s->mu);
    free(old);
}

static int bpe_piece(const vr_tok_model *m, const char *w, size_t n, vr_ids *out);

static int no_cut_after(const vr_tok_model *m, uint32_t c) {
    size_t lo = 0, hi = m->n_no_cut;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->no_cut[mid] == c) return 1;
        if (m->no_cut[mid] < c) lo = mid + 1;
        else hi = mid;
    }
    return 0;
}

#define SP_MARK 0x2581u

int vr_tok_bpe_tokenize(const vr_tok_model *m, const char *w, size_t n, vr_ids *out) {
    if (n == 0) return 0;
    if (m->ignore_merges) {
        int32_t id = vr_tok_strmap_get(&m->vocab, w, n);
        if (id >= 0) return vr_tok_ids_push(out, id);
    }
    if (!m->sp_split) return bpe_piece(m, w, n, out);
    size_t start = 0;
    uint32_t prev = SP_MARK;
    for (size_t i = 0; i < n;) {
        size_t adv;
        uint32_t c = vr_tok_utf8_next(w + i, n - i, &adv);
        if (c == SP_MARK && i > start && prev != SP_MARK && !no_cut_after(m, prev)) {
            if (bpe_piece(m, w + start, i - start, out)) return -1;
            start = i;
        }
        prev = c;
        i += adv;
    }
    return bpe_piece(m, w + start, n - start, out);
}

int vr_tok_bpe_note_marks(vr_tok_model *m, const char *s, size_t len) {
    for (const char *p = s; (p = memchr(p, 0xE2, (size_t)(s + len - p))) != NULL; p++) {
        if (s + len - p < 3 || (unsigned char)p[1] != 0x96 || (unsigned char)p[2] != 0x81 || p == s) continue;
        const char *q = p - 1;
        while (q > s && ((unsigned char)*q & 0xC0) == 0x80) q--;
        size_t adv;
        uint32_t prev = vr_tok_utf8_next(q, (size_t)(p - q), &adv);
        if (prev == SP_MARK || no_cut_after(m, prev)) continue;
        if (m->n_no_cut % 16 == 0) {
            uint32_t *r = realloc(m->no_cut, (m->n_no_cut + 16) * sizeof *r);
            if (!r) return -1;
            m->no_cut = r;
        }
        size_t j = m->n_no_cut++; /* insertion keeps it sorted */
        while (j > 0 && m->no_cut[j - 1] > prev) {
            m->no_cut[j] = m->no_cut[j - 1];
            j--;
        }
        m->no_cut[j] = prev;
    }
    return 0;
}

int vr_tok_bpe_prepare_split(vr_tok_model *m, int merges_touch_special) {
    static const char mark[] = "\xe2\x96\x81";
    m->sp_split = 0;
    if (merges_touch_special || vr_tok_strmap_get(&m->vocab, mark, 3) < 0 || m->prefix_len || m->suffix_len) return 0;
    /* With ignore_merges a whole piece can be any vocab token, not only a
     * merge result: look at all of them. */
    if (m->ignore_merges)
        for (size_t i = 0; i < m->n_ids; i++)
            if (m->tok[i] && vr_tok_bpe_note_marks(m, m->tok[i], m->tok_len[i])) return -1;
    m->sp_split = 1;
    return 0;
}

static int bpe_piece(const vr_tok_model *m, const char *w, size_t n, vr_ids *out) {
    if (n == 0) return 0;
    uint64_t h = 0;
    /* byte fallback can give up to 4 ids per byte of input: bound the copy */
    int cacheable = m->cache && n <= CACHE_MAX_WORD;
    if (cacheable) {
        h = vr_tok_hash_bytes(w, n);
        int r = cache_get(m->cache, h, w, n, out);
        if (r) return r < 0 ? -1 : 0;
    }
    size_t before = out->n;
    if (merge_word(m, w, n, out)) return -1;
    if (cacheable && out->n - before <= CACHE_MAX_WORD * 4)
        cache_put(m->cache, h, w, n, out->p ? out->p + before : NULL, out->n - before);
    return 0;
}

void vr_tok_model_free(vr_tok_model *m) {
    free(m->tok);
    free(m->tok_len);
    free(m->arena);
    vr_tok_strmap_free(&m->vocab);
    vr_tok_pairmap_free(&m->merges);
    free(m->prefix);
    free(m->suffix);
    vr_tok_cache_free(m->cache);
    free(m->no_cut);
    memset(m, 0, sizeof *m);
}
