/* tests/engine/test_sampler.c — the sampler against a direct reference
 * computation (every processor and truncation, small and large
 * vocabularies), chi-square tests of the draw with fixed seeds, greedy
 * ties, seeded reproducibility and raw logprobs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/sampler.h"

static int failures;
#define CHECK(c, ...) do { if (!(c)) { failures++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

static uint64_t rs = 88172645463325252ULL;
static double urand(void) {
    rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17;
    return (double)(rs >> 11) * 0x1.0p-53;
}

/* ---- the reference: written from the documented order, in double ---- */
typedef struct { double p; int id; } pid;
static int cmp_desc(const void *a, const void *b) {
    const pid *x = a, *y = b;
    if (x->p != y->p) return x->p > y->p ? -1 : 1;
    return x->id - y->id;
}

static void ref_distribution(const vr_sample_ctx *c, const float *in, int V, double *probs) {
    const vr_sampling_params *p = c->p;
    double *l = malloc((size_t)V * sizeof *l);
    for (int v = 0; v < V; v++) l[v] = in[v];
    if (p->n_allowed_token_ids) {
        for (int v = 0; v < V; v++) {
            int ok = 0;
            for (int i = 0; i < p->n_allowed_token_ids; i++) ok |= p->allowed_token_ids[i] == v;
            if (!ok) l[v] = -INFINITY;
        }
    }
    if (c->n_output < p->min_tokens) {
        if (!p->ignore_eos) for (int i = 0; i < c->n_eos; i++) l[c->eos_ids[i]] = -INFINITY;
        for (int i = 0; i < p->n_stop_token_ids; i++) l[p->stop_token_ids[i]] = -INFINITY;
    }
    for (int i = 0; i < p->n_logit_bias; i++) l[p->logit_bias_ids[i]] += p->logit_bias_vals[i];
    for (int v = 0; v < V; v++) {
        int in_ctx = 0, cnt = 0;
        for (int i = 0; i < c->n_prompt; i++) in_ctx |= c->prompt[i] == v;
        for (int i = 0; i < c->n_output; i++) cnt += c->output[i] == v;
        if (in_ctx || cnt) l[v] = l[v] > 0 ? l[v] / p->repetition_penalty : l[v] * p->repetition_penalty;
        l[v] -= p->frequency_penalty * cnt + (cnt ? p->presence_penalty : 0);
    }
    if (p->temperature < 1e-5f) {
        int best = 0;
        for (int v = 1; v < V; v++) if (l[v] > l[best]) best = v;
        for (int v = 0; v < V; v++) probs[v] = v == best;
        free(l);
        return;
    }
    double mx = -INFINITY, s = 0;
    for (int v = 0; v < V; v++) mx = fmax(mx, l[v]);
    for (int v = 0; v < V; v++) s += probs[v] = isinf(l[v]) ? 0 : exp((l[v] - mx) / p->temperature);
    double pmax = 0;
    for (int v = 0; v < V; v++) pmax = fmax(pmax, probs[v] /= s);
    for (int v = 0; v < V; v++) if (probs[v] < p->min_p * pmax) probs[v] = 0;
    pid *o = malloc((size_t)V * sizeof *o);
    for (int v = 0; v < V; v++) o[v] = (pid){probs[v], v};
    qsort(o, (size_t)V, sizeof *o, cmp_desc);
    if (p->top_k > 0 && p->top_k < V) {
        double kth = o[p->top_k - 1].p;
        for (int v = 0; v < V; v++) if (probs[v] < kth) probs[v] = 0;
    }
    if (p->top_p < 1) {
        double tot = 0, cum = 0;
        for (int v = 0; v < V; v++) tot += probs[v];
        for (int v = 0; v < V; v++) o[v] = (pid){probs[v], v};
        qsort(o, (size_t)V, sizeof *o, cmp_desc);
        int keep = 1; /* prefix whose sum first reaches top_p */
        for (int i = 0; i < V; i++) {
            cum += o[i].p;
            keep = i + 1;
            if (cum >= p->top_p * tot) break;
        }
        for (int i = keep; i < V; i++) probs[o[i].id] = 0;
    }
    double tot = 0;
    for (int v = 0; v < V; v++) tot += probs[v];
    for (int v = 0; v < V; v++) probs[v] /= tot;
    free(o);
    free(l);
}

static void compare_case(const char *name, const vr_sample_ctx *c, int V, double scale) {
    float *lg = malloc((size_t)V * sizeof *lg), *work = malloc((size_t)V * sizeof *work);
    float *got = malloc((size_t)V * sizeof *got);
    double *want = malloc((size_t)V * sizeof *want);
    vr_sampler_scratch s;
    vr_sampler_scratch_init(&s, V);
    for (int trial = 0; trial < 20; trial++) {
        for (int v = 0; v < V; v++) lg[v] = (float)((urand() * 2 - 1) * scale);
        memcpy(work, lg, (size_t)V * sizeof *lg);
        vr_sampler_distribution(c, work, V, &s, got);
        ref_distribution(c, lg, V, want);
        double maxd = 0;
        int support = 0;
        for (int v = 0; v < V; v++) {
            maxd = fmax(maxd, fabs(got[v] - want[v]));
            support += (got[v] > 1e-30 && want[v] == 0) || (want[v] > 1e-30 && got[v] == 0); /* floats underflow below that */
        }
        CHECK(maxd < 2e-5 && support == 0, "%s (trial %d): max diff %g, %d support mismatches", name, trial, maxd, support);
        for (int v = 0; v < V; v++) CHECK(s.count[v] == 0, "%s: scratch counts not cleared", name);
    }
    vr_sampler_scratch_free(&s);
    free(lg); free(work); free(got); free(want);
}

static vr_sampling_params base(void) {
    vr_sampling_params p;
    vr_sampling_params_default(&p, NULL);
    return p;
}

typedef struct { const char *name; vr_sampling_params p; } named_case;

static void test_against_reference(void) {
    int32_t prompt[] = {1, 2, 3, 3, 7, 11};
    int32_t output[] = {3, 5, 5, 5, 9, 2};
    int32_t eos[] = {4};
    int32_t stops[] = {6, 8};
    int32_t allowed[] = {0, 3, 5, 6, 8, 9, 12, 20, 21, 22, 30};
    int32_t bias_ids[] = {10, 11, 12};
    float bias_vals[] = {5.0f, -100.0f, 2.5f};
    vr_sample_ctx c = {.prompt = prompt, .n_prompt = 6, .output = output, .n_output = 6,
                       .eos_ids = eos, .n_eos = 1, .seed = 1};
    named_case cases[16];
    int n = 0;
    vr_sampling_params p = base();
    cases[n++] = (named_case){"plain t=1", p};
    p = base(); p.temperature = 0.5f; cases[n++] = (named_case){"temperature 0.5", p};
    p = base(); p.top_k = 5; cases[n++] = (named_case){"top_k 5", p};
    p = base(); p.top_p = 0.6f; cases[n++] = (named_case){"top_p 0.6", p};
    p = base(); p.min_p = 0.2f; cases[n++] = (named_case){"min_p 0.2", p};
    p = base(); p.temperature = 0.7f; p.top_k = 8; p.top_p = 0.8f; p.min_p = 0.05f;
    cases[n++] = (named_case){"all truncations", p};
    p = base(); p.repetition_penalty = 1.5f; cases[n++] = (named_case){"repetition 1.5", p};
    p = base(); p.repetition_penalty = 0.7f; cases[n++] = (named_case){"repetition 0.7", p};
    p = base(); p.frequency_penalty = 0.8f; p.presence_penalty = -0.6f; cases[n++] = (named_case){"freq/presence", p};
    p = base(); p.min_tokens = 10; p.stop_token_ids = stops; p.n_stop_token_ids = 2;
    cases[n++] = (named_case){"min_tokens masks", p};
    p = base(); p.allowed_token_ids = allowed; p.n_allowed_token_ids = 11; cases[n++] = (named_case){"allowed ids", p};
    p = base(); p.logit_bias_ids = bias_ids; p.logit_bias_vals = bias_vals; p.n_logit_bias = 3;
    cases[n++] = (named_case){"logit bias", p};
    p = base(); p.temperature = 0; p.repetition_penalty = 1.3f; p.logit_bias_ids = bias_ids;
    p.logit_bias_vals = bias_vals; p.n_logit_bias = 3; cases[n++] = (named_case){"greedy + processors", p};
    p = base(); p.temperature = 1.3f; p.top_p = 0.95f; p.frequency_penalty = 1.0f; p.repetition_penalty = 1.1f;
    p.top_k = 20; cases[n++] = (named_case){"everything", p};
    for (int i = 0; i < n; i++) {
        c.p = &cases[i].p;
        compare_case(cases[i].name, &c, 40, 3.0);
    }
    /* large vocabulary: top_p over many candidates exercises the growing head */
    p = base(); p.top_p = 0.9f; c.p = &p;
    compare_case("top_p 0.9, V=5000 flat", &c, 5000, 0.5);
    p = base(); p.top_p = 0.3f; p.top_k = 3000; c.p = &p;
    compare_case("top_p 0.3 + top_k, V=5000", &c, 5000, 6.0);
}

/* Chi-square goodness of fit of the draws, deterministic with fixed seeds.
 * Critical values at p = 0.001. */
static double chi2_crit(int df) { return df + 3.29 * sqrt(2.0 * df) + 2.0; /* upper bound of the 0.999 quantile for df 5..60 */ }

static void test_distribution(void) {
    const int V = 30, N = 60000;
    float lg[30], work[30], probs[30];
    for (int v = 0; v < V; v++) lg[v] = (float)sin(v * 1.7) * 2;
    vr_sampler_scratch s;
    vr_sampler_scratch_init(&s, V);
    vr_sampling_params ps[3];
    ps[0] = base(); ps[0].temperature = 0.8f;
    ps[1] = base(); ps[1].top_k = 12; ps[1].temperature = 1.2f;
    ps[2] = base(); ps[2].top_p = 0.85f; ps[2].min_p = 0.02f;
    for (int k = 0; k < 3; k++) {
        vr_sample_ctx c = {.p = &ps[k], .seed = 2024};
        memcpy(work, lg, sizeof lg);
        vr_sampler_distribution(&c, work, V, &s, probs);
        int hist[30] = {0};
        for (int i = 0; i < N; i++) {
            c.seq_index = i; /* a fresh stream per draw */
            memcpy(work, lg, sizeof lg);
            int t = vr_sampler_sample(&c, work, V, &s);
            hist[t]++;
        }
        double chi = 0;
        int df = -1, outside = 0;
        for (int v = 0; v < V; v++) {
            if (probs[v] == 0) { outside += hist[v]; continue; }
            double ex = probs[v] * N;
            chi += (hist[v] - ex) * (hist[v] - ex) / ex;
            df++;
        }
        CHECK(outside == 0, "case %d: %d draws outside the support", k, outside);
        CHECK(chi < chi2_crit(df), "case %d: chi-square %.1f with %d df", k, chi, df);
    }
    /* the uniform generator itself: 64 bins */
    int bins[64] = {0};
    for (int i = 0; i < 64000; i++) bins[(int)(vr_rng_uniform(7, 3, (uint64_t)i) * 64)]++;
    double chi = 0;
    for (int b = 0; b < 64; b++) chi += (bins[b] - 1000.0) * (bins[b] - 1000.0) / 1000.0;
    CHECK(chi < chi2_crit(63), "rng chi-square %.1f", chi);
    vr_sampler_scratch_free(&s);
}

static void test_greedy_seed_logprobs(void) {
    const int V = 16;
    float lg[16] = {0, 1, 3, 3, -1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    float work[16];
    vr_sampler_scratch s;
    vr_sampler_scratch_init(&s, V);
    vr_sampling_params p = base();
    p.temperature = 0;
    vr_sample_ctx c = {.p = &p, .seed = 5};
    memcpy(work, lg, sizeof lg);
    CHECK(vr_sampler_sample(&c, work, V, &s) == 2, "greedy tie should pick the lowest id");
    p.temperature = 1e-6f;
    memcpy(work, lg, sizeof lg);
    CHECK(vr_sampler_sample(&c, work, V, &s) == 2, "temperature < 1e-5 is greedy");
    /* same (seed, seq, position): same token; the draw never reads other state */
    p.temperature = 1.0f;
    int same = 1, diff = 0;
    for (int i = 0; i < 200; i++) {
        vr_sample_ctx a = {.p = &p, .seed = 99, .seq_index = i % 4, .n_output = i};
        vr_sample_ctx b = a;
        b.seed = 100;
        memcpy(work, lg, sizeof lg);
        int t1 = vr_sampler_sample(&a, work, V, &s);
        memcpy(work, lg, sizeof lg);
        int t2 = vr_sampler_sample(&a, work, V, &s);
        memcpy(work, lg, sizeof lg);
        int t3 = vr_sampler_sample(&b, work, V, &s);
        same &= t1 == t2;
        diff += t1 != t3;
    }
    CHECK(same, "same seed gave different tokens");
    CHECK(diff > 50, "different seeds agree too often (%d of 200 differ)", diff);
    /* raw logprobs and top-k, ties by lower id */
    float lp;
    int32_t ids[4];
    float lps[4];
    vr_sampler_logprobs(lg, V, 5, 4, &lp, ids, lps);
    double mx = 3, z = 0;
    for (int v = 0; v < V; v++) z += exp(lg[v] - mx);
    double lse = mx + log(z);
    CHECK(fabs(lp - (2 - lse)) < 1e-5, "logprob %g want %g", lp, 2 - lse);
    CHECK(ids[0] == 2 && ids[1] == 3 && ids[2] == 6 && ids[3] == 5, "top ids %d %d %d %d", ids[0], ids[1], ids[2], ids[3]);
    CHECK(fabs(lps[0] - (3 - lse)) < 1e-5 && fabs(lps[3] - (2 - lse)) < 1e-5, "top logprobs");
    vr_sampler_scratch_free(&s);
}

int main(void) {
    test_against_reference();
    test_distribution();
    test_greedy_seed_logprobs();
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("test_sampler: ok\n");
    return 0;
}
