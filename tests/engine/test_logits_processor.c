/* tests/engine/test_logits_processor.c — the engine's logits processor hook
 * (vr_engine_options.logits_processor) on the fake model: a processor that
 * forces a token sequence per request and per sequence gets exactly that
 * sequence, in a batch of mixed forced and untouched requests (greedy,
 * seeded, n > 1, penalties and logit_bias that the forcing must win over),
 * with chunked prefill and under preemption; untouched requests are exactly
 * what they are without a processor; logprobs stay those of the raw model;
 * the processor sees the right request, prompt and tokens so far. */
#include <math.h>
#include <stdint.h>

#include "test_engine_fake.h"

static int failures;
#define CHECK(c, ...) do { if (!(c)) { failures++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

#define V 97
#define EOS 96
#define LEN 12    /* forced tokens before EOS */
#define NREQ 8
#define MAXOUT 64

typedef struct cap_seq {
    int32_t ids[MAXOUT];
    float lps[MAXOUT];
    int n;
    int finished;
    char reason[16];
} cap_seq;

typedef struct cap {
    cap_seq seq[4];
    int request_finished, calls_after_finish;
} cap;

static void on_out(void *u, const vr_output_delta *d) {
    cap *c = u;
    if (c->request_finished) c->calls_after_finish++;
    cap_seq *s = &c->seq[d->seq_index];
    for (int i = 0; i < d->n_new && s->n < MAXOUT; i++) {
        s->lps[s->n] = d->logprobs ? d->logprobs[i] : NAN;
        s->ids[s->n++] = d->new_ids[i];
    }
    if (d->finished) {
        s->finished = 1;
        snprintf(s->reason, sizeof s->reason, "%s", d->finish_reason);
    }
    if (d->request_finished) c->request_finished = 1;
}

/* Forced token i of request `req`, sequence `seq` (never EOS). */
static int32_t script_tok(int req, int seq, int i) {
    return (int32_t)(((unsigned)(req * 31 + seq * 17 + i * 13 + 5)) % (V - 1));
}

typedef struct proc_state {
    const vr_engine *engine;
    int32_t prompts[NREQ][300];
    int lens[NREQ];
    long calls, bad;
} proc_state;

/* Requests are named "f<i>" (forced) or "u<i>" (untouched). */
static void processor(void *user, const vr_logits_info *in, float *logits, int vocab) {
    proc_state *ps = user;
    ps->calls++;
    int req = in->request_id[1] - '0';
    if (vocab != V || in->engine != ps->engine || req < 0 || req >= NREQ || in->n_prompt != ps->lens[req] ||
        memcmp(in->prompt, ps->prompts[req], (size_t)in->n_prompt * sizeof *in->prompt)) {
        ps->bad++;
        return;
    }
    if (in->request_id[0] != 'f') return;
    for (int k = 0; k < in->n_output; k++)
        if (in->output[k] != (k < LEN ? script_tok(req, in->seq_index, k) : EOS)) ps->bad++;
    int32_t t = in->n_output < LEN ? script_tok(req, in->seq_index, in->n_output) : EOS;
    for (int v = 0; v < vocab; v++) logits[v] = -INFINITY;
    logits[t] = 0.0f;
}

static vr_sampling_params base(int max_tokens) {
    vr_sampling_params p;
    vr_sampling_params_default(&p, NULL);
    p.temperature = 0;
    p.max_tokens = max_tokens;
    return p;
}

static void run_config(int budget, int blocks, const char *name) {
    static proc_state ps;
    memset(&ps, 0, sizeof ps);
    for (int i = 0; i < NREQ; i++) {
        ps.lens[i] = 5 + (i * 41) % 120;
        for (int k = 0; k < ps.lens[i]; k++) ps.prompts[i][k] = (int32_t)(fake_mix((uint64_t)i * 977 + (uint64_t)k) % (V - 1));
    }
    vr_sampling_params p[NREQ];
    const char *ids[NREQ] = {"f0", "f1", "f2", "f3", "u4", "u5", "u6", "f7"};
    p[0] = base(40);                   /* greedy: script, then EOS stops it */
    p[1] = base(40);                   /* n = 3, seeded sampling: each sequence its own script */
    p[1].n = 3;
    p[1].temperature = 1.0f;
    p[1].top_k = 5;
    p[1].top_p = 0.9f;
    p[1].has_seed = 1;
    p[1].seed = 99;
    p[2] = base(40);                   /* penalties and a bias against the script: forcing wins */
    static int32_t bias_ids[LEN];
    static float bias_vals[LEN];
    for (int k = 0; k < LEN; k++) bias_ids[k] = script_tok(2, 0, k), bias_vals[k] = -100.0f;
    p[2].logit_bias_ids = bias_ids;
    p[2].logit_bias_vals = bias_vals;
    p[2].n_logit_bias = LEN;
    p[2].repetition_penalty = 1.5f;
    p[2].presence_penalty = 2.0f;
    p[3] = base(40);                   /* logprobs: of the raw model, not of the forced row */
    p[3].logprobs = 2;
    p[4] = base(20);                   /* untouched greedy */
    p[4].ignore_eos = 1;
    p[5] = base(20);                   /* untouched n = 2, seeded */
    p[5].n = 2;
    p[5].temperature = 0.8f;
    p[5].has_seed = 1;
    p[5].seed = 7;
    p[5].ignore_eos = 1;
    p[6] = base(20);
    p[6].ignore_eos = 1;
    p[7] = base(5);                    /* max_tokens inside the script: length */

    vr_engine_options o = fake_options(16, budget);
    o.logits_processor = processor;
    o.logits_processor_user = &ps;
    vr_engine *e = fake_engine(&o, V, 160, blocks, EOS, NULL);
    if (!e) {
        failures++;
        return;
    }
    ps.engine = e;
    static cap caps[NREQ];
    memset(caps, 0, sizeof caps);
    char err[256];
    for (int i = 0; i < NREQ; i++)
        if (vr_engine_submit(e, ids[i], VR_REQ_GENERATE, ps.prompts[i], ps.lens[i], &p[i], 0, on_out, &caps[i], err,
                             sizeof err)) {
            fprintf(stderr, "submit %s: %s\n", ids[i], err);
            failures++;
        }
    CHECK(fake_run_all(e) == 0, "%s: did not finish", name);
    CHECK(ps.calls > 0 && ps.bad == 0, "%s: %ld calls, %ld with wrong request, prompt or history", name, ps.calls,
          ps.bad);

    for (int i = 0; i < NREQ; i++) {
        cap *c = &caps[i];
        CHECK(c->request_finished && !c->calls_after_finish, "%s: %s finish protocol", name, ids[i]);
        for (int s = 0; s < p[i].n; s++) {
            cap_seq *q = &c->seq[s];
            if (ids[i][0] == 'f') {
                int want = p[i].max_tokens < LEN ? p[i].max_tokens : LEN;
                int ok = q->n >= want;
                for (int k = 0; k < want && ok; k++) ok = q->ids[k] == script_tok(i, s, k);
                CHECK(ok, "%s: %s seq %d: not the forced sequence (n=%d)", name, ids[i], s, q->n);
                if (p[i].max_tokens < LEN) {
                    CHECK(q->n == want && !strcmp(q->reason, "length"), "%s: %s: n=%d reason %s", name, ids[i],
                          q->n, q->reason);
                } else {
                    /* EOS, forced after the script, ends it */
                    CHECK(q->n == LEN + 1 && q->ids[LEN] == EOS && !strcmp(q->reason, "stop"),
                          "%s: %s seq %d: n=%d reason %s", name, ids[i], s, q->n, q->reason);
                }
            } else {
                int32_t ref[MAXOUT];
                fake_ref_generate(ps.prompts[i], ps.lens[i], &p[i], p[i].seed, s, V, p[i].max_tokens, ref);
                CHECK(q->n == p[i].max_tokens && !memcmp(q->ids, ref, (size_t)q->n * sizeof *ref),
                      "%s: untouched %s seq %d differs from the run without a processor", name, ids[i], s);
            }
        }
    }
    /* f1's three sequences were each forced to their own script */
    CHECK(caps[1].seq[0].ids[0] != caps[1].seq[1].ids[0] || caps[1].seq[1].ids[0] != caps[1].seq[2].ids[0],
          "%s: n > 1 sequences got the same script", name);
    /* logprobs of the raw model */
    int32_t toks[400];
    memcpy(toks, ps.prompts[3], (size_t)ps.lens[3] * sizeof *toks);
    for (int k = 0; k < LEN; k++) {
        float logits[V], lp;
        int32_t top_ids[2];
        float top_lps[2];
        fake_ref_logits(toks, ps.lens[3] + k, V, logits);
        int32_t t = script_tok(3, 0, k);
        vr_sampler_logprobs(logits, V, t, 2, &lp, top_ids, top_lps);
        CHECK(fabsf(caps[3].seq[0].lps[k] - lp) < 1e-4f, "%s: logprob %d is %g, raw model says %g", name, k,
              caps[3].seq[0].lps[k], lp);
        toks[ps.lens[3] + k] = t;
    }
    vr_engine_stats st;
    vr_engine_get_stats(e, &st);
    if (blocks < 20) CHECK(st.preemptions_total > 0, "%s: no preemption happened", name);
    CHECK(st.free_blocks == st.num_blocks, "%s: blocks leaked", name);
    vr_engine_destroy(e);
}

int main(void) {
    run_config(2048, 200, "one batch");
    run_config(7, 200, "chunk 7");
    run_config(2048, 12, "tiny KV (preemption)");
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("test_logits_processor: ok\n");
    return 0;
}
