/* tests/guided/test_mask.c — the trie walk against brute force: on a small
 * vocabulary, along random walks through both shapes, the tokens the walk
 * allows are exactly those whose bytes, fed one token alone to the
 * automaton, are all accepted. Then the logits processor: generations it
 * guides are complete values, per sequence, also when the output goes back. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "server/guided/guided.h"
#include "tests/json/check.h" /* CHECK: report, count, go on */

static uint64_t g_rng = 88172645463325252ull;
static uint32_t rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 16);
}

#define NTOK 700
static char g_bytes[NTOK][8];
static size_t g_lens[NTOK];

static void make_vocab(void) {
    static const char alpha[] = "{}[]\":, \n\\aeu0123-.+Ee\xc3\xa9tfnlrsgwp_";
    int na = (int)sizeof alpha - 1, i = 0;
    for (; i < 255; i++) { g_bytes[i][0] = (char)(i + 1); g_lens[i] = 1; } /* every byte: no dead ends */
    /* every piece of the skeleton, so walks can finish */
    static const char *pieces[] = {"{\"", "\":", "\",", "\"name", "\"parameters", "get", "_weather", "name", "true", "null", "false", "\\u00e9", "\\ud83d", "\\ude00", "},", "}]", "get", NULL};
    for (int k = 0; pieces[k]; k++, i++) { g_lens[i] = strlen(pieces[k]); memcpy(g_bytes[i], pieces[k], g_lens[i]); }
    for (; i < NTOK; i++) {
        g_lens[i] = 1 + rnd() % 6;
        for (size_t k = 0; k < g_lens[i]; k++) g_bytes[i][k] = alpha[rnd() % (uint32_t)na];
    }
}

static int brute(const vr_guided_vocab *v, const vr_jpda *a, int id) {
    size_t len;
    const char *b = vr_guided_vocab_token(v, id, &len);
    if (!b) return 0;
    vr_jpda c = *a;
    return vr_jpda_feed_all(&c, b, len) == 0;
}

static void walks(const vr_guided_vocab *v, const vr_jshape *s, int n_walks) {
    uint8_t allowed[NTOK];
    for (int w = 0; w < n_walks; w++) {
        vr_jpda a;
        vr_jpda_init(&a, s);
        for (int step = 0; step < 80 && !vr_jpda_done(&a); step++) {
            int n = vr_guided_mask(v, &a, allowed), nb = 0;
            for (int id = 0; id < NTOK; id++) {
                int b = brute(v, &a, id);
                nb += b;
                CHECK(b == allowed[id], "walk %d step %d token %d: trie %d brute %d", w, step, id, allowed[id], b);
            }
            CHECK(n == nb && n > 0, "walk %d step %d: %d allowed, brute %d", w, step, n, nb);
            if (!n) break;
            /* prefer closing tokens late in the walk, so many walks finish */
            int pick = -1, k = (int)(rnd() % (uint32_t)n);
            for (int id = 0; id < NTOK; id++)
                if (allowed[id] && k-- == 0) pick = id;
            if (step > 40)
                for (int id = 0; id < NTOK; id++)
                    if (allowed[id] && g_lens[id] == 1 && strchr("}]\"", g_bytes[id][0])) pick = id;
            size_t len;
            const char *b = vr_guided_vocab_token(v, pick, &len);
            CHECK(vr_jpda_feed_all(&a, b, len) == 0, "allowed token refused");
        }
    }
}

/* Greedy generation on random logits through the processor. */
static void processor(const vr_guided_vocab *v, vr_jshape *s) {
    enum { EOS = NTOK, V = NTOK + 1, MAXT = 400 };
    int eos = EOS;
    vr_guided_proc *p = vr_guided_proc_new(s, v, 2, &eos, 1);
    CHECK(p != NULL, "processor");
    int32_t out[2][MAXT];
    int n_out[2] = {0, 0}, finished[2] = {0, 0};
    float logits[V];
    for (int t = 0; t < 2 * MAXT; t++) {
        int q = t % 2;
        if (finished[q] || n_out[q] >= MAXT) continue;
        if (q == 1 && n_out[1] == 20) n_out[1] = 5; /* preempted: the output goes back */
        for (int i = 0; i < V; i++) logits[i] = (float)(rnd() % 1000) / 100.0f;
        logits[EOS] = 100.0f; /* the model wants to stop: only allowed at the end */
        vr_logits_info info = {.seq_index = q, .output = out[q], .n_output = n_out[q]};
        vr_guided_logits(p, &info, logits, V);
        int best = 0;
        for (int i = 1; i < V; i++)
            if (logits[i] > logits[best]) best = i;
        CHECK(isfinite(logits[best]), "no token left");
        if (best == EOS) finished[q] = 1;
        else out[q][n_out[q]++] = best;
    }
    for (int q = 0; q < 2; q++) {
        if (!finished[q]) continue; /* ran out of tokens: fine, just unfinished */
        vr_jpda a;
        vr_jpda_init(&a, s);
        for (int i = 0; i < n_out[q]; i++) {
            size_t len;
            const char *b = vr_guided_vocab_token(v, out[q][i], &len);
            CHECK(vr_jpda_feed_all(&a, b, len) == 0, "seq %d token %d refused", q, i);
        }
        CHECK(vr_jpda_done(&a), "seq %d stopped before the value was complete", q);
    }
    vr_guided_proc_free(p); /* frees s too */
}

int main(void) {
    make_vocab();
    const char *ptrs[NTOK];
    uint8_t excluded[NTOK] = {0};
    for (int i = 0; i < NTOK; i++) ptrs[i] = g_bytes[i];
    excluded[NTOK - 1] = 1; /* a special token: never allowed */
    vr_guided_vocab *v = vr_guided_vocab_new(NTOK, ptrs, g_lens, excluded);
    CHECK(v != NULL, "vocab");
    size_t len;
    CHECK(vr_guided_vocab_token(v, NTOK - 1, &len) == NULL && len == 0, "excluded token");
    char err[128];
    const char *names[] = {"get", "get_weather", "name"};
    vr_jshape *obj = vr_jshape_new(VR_JSHAPE_OBJECT, NULL, 0, 0, err, sizeof err);
    vr_jshape *calls = vr_jshape_new(VR_JSHAPE_TOOL_CALLS, names, 3, 0, err, sizeof err);
    vr_jshape *one = vr_jshape_new(VR_JSHAPE_TOOL_CALLS, names, 3, 1, err, sizeof err);
    walks(v, obj, 60);
    walks(v, calls, 60);
    walks(v, one, 30);
    for (int k = 0; k < 10; k++) {
        processor(v, vr_jshape_new(VR_JSHAPE_OBJECT, NULL, 0, 0, err, sizeof err));
        processor(v, vr_jshape_new(VR_JSHAPE_TOOL_CALLS, names, 3, 0, err, sizeof err));
    }
    vr_jshape_free(obj);
    vr_jshape_free(calls);
    vr_jshape_free(one);
    vr_guided_vocab_free(v);
    if (failures) fprintf(stderr, "%d checks failed\n", failures);
    return failures != 0;
}
