/* server/guided/vocab.c — the vocabulary as a byte trie, and the mask walk.
 *
 * Nodes are stored in preorder (children in byte order), each with its
 * depth and the index just past its subtree. The walk is then one loop over
 * the array: a node's automaton state is its parent's (kept per depth) fed
 * with the node's byte; a rejected byte jumps past the whole subtree, so the
 * cost follows the viable part of the vocabulary, not all of it. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "server/guided/guided.h"
#include "tokenizer/tokenizer.h"

typedef struct {
    uint32_t skip;      /* first node after this subtree */
    uint32_t tok_start; /* tokens ending here: sorted[tok_start .. +n_tok) */
    uint16_t depth;     /* 1 for the root's children */
    uint16_t n_tok;
    uint8_t byte;
} node;

typedef struct {
    int32_t *sorted;    /* its ids by bytes */
    node *nodes;
    uint32_t n_nodes;
    size_t max_len;
} trie;

struct vr_guided_vocab {
    int n;              /* token ids [0, n) */
    char **bytes;       /* per id, NULL when left out */
    size_t *lens;
    /* Inside a string nearly every token is "plain" (no quote, whole
     * characters) and allowed: those come from a precomputed set and only
     * the others are walked, which turns a walk over the whole vocabulary
     * into one over a few percent of it. */
    uint8_t *plain;     /* [n] */
    int n_plain;
    trie all, rest;     /* every token; the tokens that are not plain */
};

static const vr_guided_vocab *g_sort_vocab; /* qsort has no user pointer */

static int cmp_tok(const void *x, const void *y) {
    const vr_guided_vocab *v = g_sort_vocab;
    int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
    size_t la = v->lens[a], lb = v->lens[b];
    int c = memcmp(v->bytes[a], v->bytes[b], la < lb ? la : lb);
    if (c) return c;
    if (la != lb) return la < lb ? -1 : 1;
    return a < b ? -1 : a > b;
}

static pthread_mutex_t g_sort_mu = PTHREAD_MUTEX_INITIALIZER;

/* The trie of the ids with keep[id] (all when keep is NULL). */
static int build_trie(const vr_guided_vocab *v, trie *t, const uint8_t *keep, int exclude) {
    int m = 0;
    size_t total = 0;
    t->sorted = malloc(((size_t)v->n + 1) * sizeof *t->sorted);
    if (!t->sorted) return -1;
    for (int i = 0; i < v->n; i++)
        if (v->bytes[i] && (!keep || keep[i] != exclude)) {
            t->sorted[m++] = i;
            total += v->lens[i];
            if (v->lens[i] > t->max_len) t->max_len = v->lens[i];
        }
    if (t->max_len > 65535 || total > 0xffffffffu) return -1;
    pthread_mutex_lock(&g_sort_mu);
    g_sort_vocab = v;
    qsort(t->sorted, (size_t)m, sizeof *t->sorted, cmp_tok);
    pthread_mutex_unlock(&g_sort_mu);
    t->nodes = malloc((total ? total : 1) * sizeof *t->nodes); /* at most one node per byte */
    uint32_t *path = malloc((t->max_len + 1) * sizeof *path);
    if (!t->nodes || !path) {
        free(path);
        return -1;
    }
    size_t plen = 0; /* open nodes on the current path */
    const char *prev = NULL;
    size_t prev_len = 0;
    for (int k = 0; k < m; k++) {
        int32_t id = t->sorted[k];
        const char *b = v->bytes[id];
        size_t len = v->lens[id], lcp = 0;
        while (prev && lcp < len && lcp < prev_len && b[lcp] == prev[lcp]) lcp++;
        while (plen > lcp) t->nodes[path[--plen]].skip = t->n_nodes; /* close */
        for (size_t d = lcp; d < len; d++) {
            node *nd = &t->nodes[t->n_nodes];
            memset(nd, 0, sizeof *nd);
            nd->byte = (uint8_t)b[d];
            nd->depth = (uint16_t)(d + 1);
            path[plen++] = t->n_nodes++;
        }
        node *end = &t->nodes[path[len - 1]];
        if (end->n_tok == 0) end->tok_start = (uint32_t)k;
        if (end->n_tok < 65535) end->n_tok++;
        prev = b;
        prev_len = len;
    }
    while (plen > 0) t->nodes[path[--plen]].skip = t->n_nodes;
    free(path);
    /* shared prefixes made far fewer nodes than bytes: give the rest back */
    node *fit = realloc(t->nodes, (t->n_nodes ? t->n_nodes : 1) * sizeof *t->nodes);
    if (fit) t->nodes = fit;
    return 0;
}

static void free_trie(trie *t) {
    free(t->sorted);
    free(t->nodes);
}

/* Plain tokens: no '"', and from inside a string they leave the automaton
 * inside it. Without a quote no byte can leave the string, and what string
 * bytes do depends only on the lexical state, so one probe state speaks
 * for every string. */
static int mark_plain(vr_guided_vocab *v) {
    v->plain = calloc((size_t)v->n + 1, 1);
    if (!v->plain) return -1;
    static const vr_jshape obj = {.kind = VR_JSHAPE_OBJECT};
    vr_jpda in_str;
    vr_jpda_init(&in_str, &obj);
    vr_jpda_feed_all(&in_str, "{\"", 2);
    for (int i = 0; i < v->n; i++) {
        if (!v->bytes[i] || memchr(v->bytes[i], '"', v->lens[i])) continue;
        vr_jpda a = in_str;
        if (vr_jpda_feed_all(&a, v->bytes[i], v->lens[i]) == 0 && vr_jpda_in_string(&a)) {
            v->plain[i] = 1;
            v->n_plain++;
        }
    }
    return 0;
}

vr_guided_vocab *vr_guided_vocab_new(int n_tokens, const char *const *bytes, const size_t *lens,
                                     const uint8_t *excluded) {
    if (n_tokens < 0) return NULL;
    vr_guided_vocab *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    v->n = n_tokens;
    v->bytes = calloc((size_t)n_tokens + 1, sizeof *v->bytes);
    v->lens = calloc((size_t)n_tokens + 1, sizeof *v->lens);
    if (!v->bytes || !v->lens) goto fail;
    for (int i = 0; i < n_tokens; i++) {
        if (!lens[i] || (excluded && excluded[i]) || !bytes[i]) continue;
        v->bytes[i] = malloc(lens[i]);
        if (!v->bytes[i]) goto fail;
        memcpy(v->bytes[i], bytes[i], lens[i]);
        v->lens[i] = lens[i];
    }
    if (mark_plain(v) || build_trie(v, &v->all, NULL, 0) || build_trie(v, &v->rest, v->plain, 1)) goto fail;
    return v;
fail:
    vr_guided_vocab_free(v);
    return NULL;
}

void vr_guided_vocab_free(vr_guided_vocab *v) {
    if (!v) return;
    for (int i = 0; v->bytes && i < v->n; i++) free(v->bytes[i]);
    free(v->bytes);
    free(v->lens);
    free(v->plain);
    free_trie(&v->all);
    free_trie(&v->rest);
    free(v);
}

int vr_guided_vocab_size(const vr_guided_vocab *v) { return v->n; }

const char *vr_guided_vocab_token(const vr_guided_vocab *v, int id, size_t *len) {
    if (id < 0 || id >= v->n || !v->bytes[id]) {
        *len = 0;
        return NULL;
    }
    *len = v->lens[id];
    return v->bytes[id];
}

/* From a tokenizer: special tokens (EOS among them) never appear inside the
 * JSON; EOS is handled by the processor. */
static vr_guided_vocab *from_tokenizer(const vr_tokenizer *t) {
    int n = (int)vr_tokenizer_vocab_size(t);
    char **bytes = calloc((size_t)n + 1, sizeof *bytes);
    size_t *lens = calloc((size_t)n + 1, sizeof *lens);
    vr_guided_vocab *v = NULL;
    if (!bytes || !lens) goto out;
    for (int i = 0; i < n; i++) {
        if (vr_tokenizer_is_special(t, i)) continue;
        char buf[256];
        size_t len = 0;
        if (vr_tokenizer_token_bytes(t, i, buf, sizeof buf, &len) || !len) continue;
        bytes[i] = malloc(len);
        if (!bytes[i]) goto out;
        if (len <= sizeof buf) memcpy(bytes[i], buf, len);
        else if (vr_tokenizer_token_bytes(t, i, bytes[i], len, &len)) { free(bytes[i]); bytes[i] = NULL; continue; }
        lens[i] = len;
    }
    v = vr_guided_vocab_new(n, (const char *const *)bytes, lens, NULL);
out:
    for (int i = 0; bytes && i < n; i++) free(bytes[i]);
    free(bytes);
    free(lens);
    return v;
}

/* One trie per tokenizer for the life of the process (a server has one). */
#define CACHE_MAX 4
static pthread_mutex_t g_cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct { const vr_tokenizer *t; vr_guided_vocab *v; } g_cache[CACHE_MAX];

const vr_guided_vocab *vr_guided_vocab_for(const vr_tokenizer *t) {
    if (!t) return NULL;
    pthread_mutex_lock(&g_cache_mu);
    vr_guided_vocab *v = NULL;
    int free_slot = -1;
    for (int i = 0; i < CACHE_MAX; i++) {
        if (g_cache[i].t == t) v = g_cache[i].v;
        if (!g_cache[i].t && free_slot < 0) free_slot = i;
    }
    if (!v && free_slot >= 0) {
        v = from_tokenizer(t);
        if (v) {
            g_cache[free_slot].t = t;
            g_cache[free_slot].v = v;
        }
    }
    pthread_mutex_unlock(&g_cache_mu);
    return v;
}

static int walk(const trie *t, const vr_jpda *a, uint8_t *allowed) {
    vr_jpda stack_states[64];
    vr_jpda *st = t->max_len < 64 ? stack_states : malloc((t->max_len + 1) * sizeof *st);
    if (!st) return 0;
    st[0] = *a;
    int count = 0;
    const node *nodes = t->nodes;
    for (uint32_t i = 0; i < t->n_nodes;) {
        const node *nd = &nodes[i];
        vr_jpda *s = &st[nd->depth];
        *s = st[nd->depth - 1];
        if (vr_jpda_feed(s, nd->byte)) {
            i = nd->skip;
            continue;
        }
        for (uint32_t k = 0; k < nd->n_tok; k++) allowed[t->sorted[nd->tok_start + k]] = 1;
        count += nd->n_tok;
        i++;
    }
    if (st != stack_states) free(st);
    return count;
}

int vr_guided_mask(const vr_guided_vocab *v, const vr_jpda *a, uint8_t *allowed) {
    if (vr_jpda_in_string(a)) {
        memcpy(allowed, v->plain, (size_t)v->n);
        return v->n_plain + walk(&v->rest, a, allowed);
    }
    memset(allowed, 0, (size_t)v->n);
    return walk(&v->all, a, allowed);
}
