/* engine/sampler.c — logit processors, truncation and the seeded draw. */
#include "engine/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

uint64_t vr_rng_u64(uint64_t seed, uint64_t stream, uint64_t counter) {
    uint64_t x = mix64(seed ^ 0x2545f4914f6cdd1dULL);
    x = mix64(x + (stream + 1) * 0x9e3779b97f4a7c15ULL);
    x = mix64(x ^ ((counter + 1) * 0xd1b54a32d192ed03ULL));
    return x;
}

double vr_rng_uniform(uint64_t seed, uint64_t stream, uint64_t counter) {
    return (double)(vr_rng_u64(seed, stream, counter) >> 11) * 0x1.0p-53;
}

int vr_sampler_scratch_init(vr_sampler_scratch *s, int vocab) {
    memset(s, 0, sizeof *s);
    s->vocab = vocab;
    s->probs = malloc((size_t)vocab * sizeof *s->probs);
    s->idx = malloc((size_t)vocab * sizeof *s->idx);
    s->count = calloc((size_t)vocab, sizeof *s->count);
    s->bsum = malloc(((size_t)vocab / 256 + 1) * sizeof *s->bsum);
    if (!s->probs || !s->idx || !s->count || !s->bsum) {
        vr_sampler_scratch_free(s);
        return -1;
    }
    return 0;
}

void vr_sampler_scratch_free(vr_sampler_scratch *s) {
    free(s->probs);
    free(s->idx);
    free(s->count);
    free(s->bsum);
    memset(s, 0, sizeof *s);
}

int vr_sampler_is_greedy(const vr_sampling_params *p) { return p->temperature < 1e-5f; }

static int has_processors(const vr_sample_ctx *c) {
    const vr_sampling_params *p = c->p;
    return p->n_allowed_token_ids > 0 || p->n_logit_bias > 0 ||
           (p->min_tokens > 0 && c->n_output < p->min_tokens) || p->repetition_penalty != 1.0f ||
           p->frequency_penalty != 0.0f || p->presence_penalty != 0.0f;
}

void vr_sampler_apply_logit_processors(const vr_sample_ctx *c, float *logits, int vocab,
                                       vr_sampler_scratch *s) {
    const vr_sampling_params *p = c->p;
    if (c->proc || p->logits_processor) {
        vr_logits_info info = {
            .engine = c->engine,
            .request_id = c->request_id,
            .seq_index = c->seq_index,
            .prompt = c->prompt,
            .n_prompt = c->n_prompt,
            .output = c->output,
            .n_output = c->n_output,
        };
        if (c->proc) c->proc(c->proc_user, &info, logits, vocab);
        /* then the request's own (guided decoding) */
        if (p->logits_processor) p->logits_processor(p->logits_processor_user, &info, logits, vocab);
    }
    if (!has_processors(c)) return;
    /* allowed tokens: everything else -inf (count[] marks the allowed set) */
    if (p->n_allowed_token_ids > 0) {
        for (int i = 0; i < p->n_allowed_token_ids; i++) s->count[p->allowed_token_ids[i]] = 1;
        for (int v = 0; v < vocab; v++)
            if (!s->count[v]) logits[v] = -INFINITY;
        for (int i = 0; i < p->n_allowed_token_ids; i++) s->count[p->allowed_token_ids[i]] = 0;
    }
    /* min_tokens: no way to stop before it */
    if (p->min_tokens > 0 && c->n_output < p->min_tokens) {
        if (!p->ignore_eos)
            for (int i = 0; i < c->n_eos; i++) logits[c->eos_ids[i]] = -INFINITY;
        for (int i = 0; i < p->n_stop_token_ids; i++) logits[p->stop_token_ids[i]] = -INFINITY;
    }
    for (int i = 0; i < p->n_logit_bias; i++) logits[p->logit_bias_ids[i]] += p->logit_bias_vals[i];

    /* repetition penalty over prompt + output, once per distinct token */
    if (p->repetition_penalty != 1.0f) {
        float rp = p->repetition_penalty;
        for (int pass = 0; pass < 2; pass++) {
            const int32_t *t = pass ? c->output : c->prompt;
            int n = pass ? c->n_output : c->n_prompt;
            for (int i = 0; i < n; i++) {
                int32_t v = t[i];
                if (s->count[v]) continue;
                s->count[v] = 1;
                logits[v] = logits[v] > 0 ? logits[v] / rp : logits[v] * rp;
            }
        }
        for (int pass = 0; pass < 2; pass++) {
            const int32_t *t = pass ? c->output : c->prompt;
            int n = pass ? c->n_output : c->n_prompt;
            for (int i = 0; i < n; i++) s->count[t[i]] = 0;
        }
    }
    /* frequency / presence over the output only */
    if (p->frequency_penalty != 0.0f || p->presence_penalty != 0.0f) {
        for (int i = 0; i < c->n_output; i++) s->count[c->output[i]]++;
        for (int i = 0; i < c->n_output; i++) {
            int32_t v = c->output[i];
            uint32_t k = s->count[v];
            if (!k) continue; /* already applied */
            logits[v] -= p->frequency_penalty * (float)k + p->presence_penalty;
            s->count[v] = 0;
        }
    }
}

static int32_t argmax(const float *x, int n) {
    int32_t best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

/* (prob desc, id asc) ordering for truncation */
static int better(const float *pr, int32_t a, int32_t b) {
    return pr[a] > pr[b] || (pr[a] == pr[b] && a < b);
}

/* Partially order idx[0..n) so that its first k entries are the best k
 * (quickselect with a median-of-three pivot). */
static void select_top(const float *pr, int32_t *idx, int n, int k) {
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        int32_t a = idx[lo], b = idx[mid], c = idx[hi], piv;
        if (better(pr, a, b)) { if (better(pr, b, c)) piv = b; else piv = better(pr, a, c) ? c : a; }
        else { if (better(pr, a, c)) piv = a; else piv = better(pr, b, c) ? c : b; }
        int i = lo, j = hi;
        while (i <= j) {
            while (better(pr, idx[i], piv)) i++;
            while (better(pr, piv, idx[j])) j--;
            if (i <= j) {
                int32_t t = idx[i]; idx[i] = idx[j]; idx[j] = t;
                i++; j--;
            }
        }
        if (k - 1 <= j) hi = j;
        else if (k - 1 >= i) lo = i;
        else break;
    }
}

typedef struct { float p; int32_t id; } prob_id;
static int cmp_prob_id(const void *x, const void *y) {
    const prob_id *a = x, *b = y;
    if (a->p != b->p) return a->p > b->p ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

static void sort_best(const float *pr, int32_t *idx, int n) {
    prob_id *tmp = malloc((size_t)n * sizeof *tmp);
    if (!tmp) { /* fall back to an insertion sort: slow but correct */
        for (int i = 1; i < n; i++) {
            int32_t v = idx[i];
            int j = i - 1;
            while (j >= 0 && better(pr, v, idx[j])) { idx[j + 1] = idx[j]; j--; }
            idx[j + 1] = v;
        }
        return;
    }
    for (int i = 0; i < n; i++) tmp[i] = (prob_id){pr[idx[i]], idx[i]};
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_prob_id);
    for (int i = 0; i < n; i++) idx[i] = tmp[i].id;
    free(tmp);
}

/* exp(x) for x <= 0 in plain float arithmetic the compiler can vectorize
 * (range reduction to 2^n * e^r, |r| <= ln2/2, degree-6 polynomial;
 * relative error ~1e-7). Anything below -87, -inf included, is exactly 0. */
static inline float exp_nonpos(float x) {
    float xc = x < -87.0f ? -87.0f : x;
    float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round to nearest */
    float r = xc - n * 0.693359375f + n * 2.12194440e-4f;
    float q = 1.9875691500e-4f;
    q = q * r + 1.3981999507e-3f;
    q = q * r + 8.3334519073e-3f;
    q = q * r + 4.1665795894e-2f;
    q = q * r + 1.6666665459e-1f;
    q = q * r + 5.0000001201e-1f;
    float e = q * r * r + r + 1.0f;
    union { int32_t i; float f; } sc;
    sc.i = ((int32_t)n + 127) << 23;
    return x < -87.0f ? 0.0f : e * sc.f;
}

/* The two passes over the whole vocabulary (max, exp) in GCC/Clang vector
 * extensions: 8 floats at a time (two SSE registers on plain x86-64, where
 * the scalar loops would not vectorize under strict IEEE rules). Results
 * equal exp_nonpos() lane by lane. On x86-64 with ifunc support both passes
 * also get an AVX2 clone picked at load time (one ymm register per vector).
 * AVX2 alone implies no FMA, so the clone rounds exactly like the default
 * one and samples stay identical across machines. */
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
#define VL 8 /* lanes of v8f */
/* A scalar in every lane. Spelled out rather than mixing vector and scalar
 * operands, which targets that evaluate float in double (s390x) refuse. */
#define V8(s) ((v8f){(s), (s), (s), (s), (s), (s), (s), (s)})
#if defined(__x86_64__) && defined(__GNUC__) && defined(__gnu_linux__) && !defined(__clang__)
#define VR_VOCAB_PASS __attribute__((target_clones("avx2", "default")))
#else
#define VR_VOCAB_PASS
#endif

/* Macros, not functions: a function returning a 32-byte vector would change
 * the calling convention between the default and the AVX2 code (-Wpsabi). */
#define v8_load(p) (__extension__({ v8f v_; memcpy(&v_, (p), sizeof v_); v_; }))
#define v8_select(mask, a, b) /* mask ? a : b */ \
    ((v8f)(((v8i)(a) & (mask)) | ((v8i)(b) & ~(mask))))

VR_VOCAB_PASS static float max_of(const float *x, int n) {
    float mx = -INFINITY;
    int i = 0;
    if (n >= 2 * VL) {
        v8f m0 = v8_load(x), m1 = m0;
        for (i = VL; i + 2 * VL <= n; i += 2 * VL) {
            v8f a = v8_load(x + i), b = v8_load(x + i + VL);
            m0 = v8_select(a > m0, a, m0);
            m1 = v8_select(b > m1, b, m1);
        }
        for (int k = 0; k < VL; k++) {
            mx = m0[k] > mx ? m0[k] : mx;
            mx = m1[k] > mx ? m1[k] : mx;
        }
    }
    for (; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    return mx;
}

/* w[i] = exp((x[i] - mx) * inv_t) */
VR_VOCAB_PASS static void exp_scaled(const float *x, int n, float mx, float inv_t, float *w) {
    int i = 0;
    const v8f zero = V8(0.0f), lo = V8(-87.0f), vmx = V8(mx), vinv = V8(inv_t);
    for (; i + VL <= n; i += VL) {
        v8f a = (v8_load(x + i) - vmx) * vinv;
        v8i under = a < lo;
        v8f xc = v8_select(under, lo, a);
        v8f nf = (xc * V8(1.44269504088896341f) + V8(12582912.0f)) - V8(12582912.0f);
        v8f r = xc - nf * V8(0.693359375f) + nf * V8(2.12194440e-4f);
        v8f q = r * V8(1.9875691500e-4f) + V8(1.3981999507e-3f);
        q = q * r + V8(8.3334519073e-3f);
        q = q * r + V8(4.1665795894e-2f);
        q = q * r + V8(1.6666665459e-1f);
        q = q * r + V8(5.0000001201e-1f);
        v8f e = q * r * r + r + V8(1.0f);
        v8i ni = __builtin_convertvector(nf, v8i);
        v8f sc = (v8f)((ni + 127) << 23);
        v8f out = v8_select(under, zero, e * sc);
        memcpy(w + i, &out, sizeof out);
    }
    for (; i < n; i++) w[i] = exp_nonpos((x[i] - mx) * inv_t);
}

#define DRAW_BLOCK 256

/* Sum of w[0..n) in float lanes (vectorizes), folded into a double. */
static double sum_floats(const float *w, int n) {
    float acc[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += w[i + k];
    double t = 0;
    for (int k = 0; k < 8; k++) t += acc[k];
    for (; i < n; i++) t += w[i];
    return t;
}

/* Per-block sums of the weights (the draw walks blocks first); returns the total. */
static double block_sums(const float *w, int vocab, double *bsum) {
    double tot = 0;
    for (int b = 0; b * DRAW_BLOCK < vocab; b++) {
        int lo = b * DRAW_BLOCK, n = vocab - lo < DRAW_BLOCK ? vocab - lo : DRAW_BLOCK;
        bsum[b] = sum_floats(w + lo, n);
        tot += bsum[b];
    }
    return tot;
}

/* Weights proportional to softmax(logits / temperature), with min_p, top_k
 * and top_p applied (zeros for removed tokens); the largest weight is 1.
 * Fills s->bsum and returns the total weight. */
static double truncated_weights(const vr_sampling_params *p, const float *logits, int vocab,
                                vr_sampler_scratch *s, float *w) {
    float inv_t = 1.0f / p->temperature;
    float mx = max_of(logits, vocab);
    exp_scaled(logits, vocab, mx, inv_t, w);
    if (p->min_p > 0.0f) { /* relative to the top weight, which is 1 */
        float thr = p->min_p;
        for (int v = 0; v < vocab; v++) w[v] = w[v] < thr ? 0.0f : w[v];
    }
    int k = p->top_k > 0 && p->top_k < vocab ? p->top_k : 0;
    if (k || p->top_p < 1.0f) {
        int m = 0;
        for (int v = 0; v < vocab; v++)
            if (w[v] > 0.0f) s->idx[m++] = v;
        if (k && k < m) {
            select_top(w, s->idx, m, k);
            /* keep ties with the k-th value, as a "logits < kth value" mask does */
            float kth = w[s->idx[0]];
            for (int i = 1; i < k; i++)
                if (w[s->idx[i]] < kth) kth = w[s->idx[i]];
            int keep = k;
            for (int i = k; i < m; i++) {
                if (w[s->idx[i]] >= kth) s->idx[keep++] = s->idx[i];
                else w[s->idx[i]] = 0.0f;
            }
            m = keep;
        }
        if (p->top_p < 1.0f && m > 1) {
            double tot = 0;
            for (int i = 0; i < m; i++) tot += w[s->idx[i]];
            double target = (double)p->top_p * tot;
            /* only the head of the order matters: grow it until it covers top_p */
            int h = m < 64 ? m : 64;
            for (;;) {
                if (h < m) select_top(w, s->idx, m, h);
                sort_best(w, s->idx, h);
                double cum = 0;
                int cut = -1;
                for (int i = 0; i < h; i++) {
                    cum += w[s->idx[i]];
                    if (cum >= target) { cut = i + 1; break; }
                }
                if (cut < 0 && h < m) { h = h * 8 < m ? h * 8 : m; continue; }
                if (cut < 0) cut = m; /* rounding: keep everything */
                for (int i = cut; i < m; i++) w[s->idx[i]] = 0.0f;
                break;
            }
        }
    }
    return block_sums(w, vocab, s->bsum);
}

void vr_sampler_distribution(const vr_sample_ctx *c, float *logits, int vocab,
                             vr_sampler_scratch *s, float *probs) {
    vr_sampler_apply_logit_processors(c, logits, vocab, s);
    if (vr_sampler_is_greedy(c->p)) {
        memset(probs, 0, (size_t)vocab * sizeof *probs);
        probs[argmax(logits, vocab)] = 1.0f;
        return;
    }
    double tot = truncated_weights(c->p, logits, vocab, s, probs);
    float r = (float)(1.0 / tot);
    for (int v = 0; v < vocab; v++) probs[v] *= r;
}

int32_t vr_sampler_sample(const vr_sample_ctx *c, float *logits, int vocab, vr_sampler_scratch *s) {
    vr_sampler_apply_logit_processors(c, logits, vocab, s);
    if (vr_sampler_is_greedy(c->p)) return argmax(logits, vocab);
    double tot = truncated_weights(c->p, logits, vocab, s, s->probs);
    double target = vr_rng_uniform(c->seed, (uint64_t)c->seq_index, (uint64_t)c->n_output) * tot;
    /* inverse CDF in id order: find the block, then the token; the last
     * token with weight catches rounding at the top end */
    double cum = 0;
    int nb = (vocab + DRAW_BLOCK - 1) / DRAW_BLOCK, b = 0;
    while (b < nb - 1 && cum + s->bsum[b] <= target) cum += s->bsum[b++];
    int32_t last = -1;
    for (int v = b * DRAW_BLOCK; v < vocab; v++) {
        if (s->probs[v] <= 0.0f) continue;
        cum += s->probs[v];
        last = v;
        if (target < cum) return v;
    }
    return last >= 0 ? last : argmax(logits, vocab);
}

void vr_sampler_logprobs(const float *logits, int vocab, int32_t token, int k, float *token_lp,
                         int32_t *top_ids, float *top_lps) {
    float mx = max_of(logits, vocab);
    /* sum of exp in chunks through the vectorized exp; the max term is 1 */
    float chunk[DRAW_BLOCK];
    double sum = 0;
    for (int lo = 0; lo < vocab; lo += DRAW_BLOCK) {
        int n = vocab - lo < DRAW_BLOCK ? vocab - lo : DRAW_BLOCK;
        exp_scaled(logits + lo, n, mx, 1.0f, chunk);
        sum += sum_floats(chunk, n);
    }
    float lse = mx + (float)log(sum);
    if (token_lp) *token_lp = token >= 0 ? logits[token] - lse : NAN;
    if (k <= 0) return;
    if (k > vocab) k = vocab;
    /* insertion into a small sorted array: k is at most a few dozen */
    int m = 0;
    for (int v = 0; v < vocab; v++) {
        float x = logits[v];
        if (m == k && !(x > top_lps[m - 1])) continue;
        int j = m < k ? m++ : k - 1;
        while (j > 0 && x > top_lps[j - 1]) {
            top_lps[j] = top_lps[j - 1];
            top_ids[j] = top_ids[j - 1];
            j--;
        }
        top_lps[j] = x;
        top_ids[j] = v;
    }
    for (int i = 0; i < m; i++) top_lps[i] -= lse;
}
