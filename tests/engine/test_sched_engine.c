/* tests/engine/test_sched_engine.c — the engine core on a fake model:
 * scheduler, block tables, prefix cache, preemption, forks, aborts, stress,
 * admission errors, embeddings and the engine thread, each checked against
 * outputs computed directly from token lists. */
#include <pthread.h>
#include <stdint.h>

#include "test_engine_fake.h"

static int failures;
#define CHECK(c, ...) do { if (!(c)) { failures++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

#define MAXOUT 512
typedef struct cap_seq {
    int32_t ids[MAXOUT];
    float lps[MAXOUT];
    int n;
    int finished;
    char reason[16];
    int32_t stop_token;
} cap_seq;

typedef struct cap {
    cap_seq seq[8];
    int request_finished;
    int calls_after_finish;
    float emb[16];
    int emb_dim;
    int cached_tokens;
    float plp[512];
    int n_plp;
} cap;

static void on_out(void *u, const vr_output_delta *d) {
    cap *c = u;
    if (c->request_finished) c->calls_after_finish++;
    cap_seq *s = &c->seq[d->seq_index];
    for (int i = 0; i < d->n_new && s->n < MAXOUT; i++) {
        s->lps[s->n] = d->logprobs ? d->logprobs[i] : 0;
        s->ids[s->n++] = d->new_ids[i];
    }
    if (d->prompt_logprobs) {
        c->n_plp = d->n_prompt;
        memcpy(c->plp, d->prompt_logprobs, (size_t)d->n_prompt * sizeof(float));
    }
    if (d->embedding) {
        c->emb_dim = d->embedding_dim;
        memcpy(c->emb, d->embedding, (size_t)d->embedding_dim * sizeof(float));
    }
    if (d->finished) {
        s->finished = 1;
        snprintf(s->reason, sizeof s->reason, "%s", d->finish_reason);
        s->stop_token = d->stop_token;
    }
    c->cached_tokens = d->cached_tokens;
    if (d->request_finished) c->request_finished = 1;
}

static void make_prompt(int32_t *p, int n, int vocab, uint64_t seed) {
    for (int i = 0; i < n; i++) p[i] = (int32_t)(fake_mix(seed * 1000 + (uint64_t)i) % (uint64_t)vocab);
}

static vr_sampling_params greedy(int max_tokens) {
    vr_sampling_params p;
    vr_sampling_params_default(&p, NULL);
    p.temperature = 0;
    p.max_tokens = max_tokens;
    p.ignore_eos = 1;
    return p;
}

static int submit(vr_engine *e, const char *id, const int32_t *prompt, int n, const vr_sampling_params *p,
                  cap *c) {
    char err[512];
    int rc = vr_engine_submit(e, id, VR_REQ_GENERATE, prompt, n, p, 0, on_out, c, err, sizeof err);
    if (rc) fprintf(stderr, "submit %s: %s\n", id, err);
    return rc;
}

static void check_pool_clean(vr_engine *e, const char *what) {
    vr_engine_stats st;
    vr_engine_get_stats(e, &st);
    CHECK(st.free_blocks == st.num_blocks, "%s: %d of %d blocks free", what, st.free_blocks, st.num_blocks);
    CHECK(st.running == 0 && st.waiting == 0, "%s: running %d waiting %d", what, st.running, st.waiting);
}

#define V 97

/* Same greedy output alone, in a batch of 16 mixed requests, with prefill
 * chunked at 7, 64 and 2048 tokens, and under preemption. */
static void test_batch_invariance(void) {
    enum { NREQ = 16 };
    static int32_t prompts[NREQ][400];
    int lens[NREQ];
    for (int i = 0; i < NREQ; i++) {
        lens[i] = 1 + (i * 37) % 300;
        make_prompt(prompts[i], lens[i], V, (uint64_t)i + 1);
    }
    int32_t ref[NREQ][40];
    for (int i = 0; i < NREQ; i++) {
        vr_sampling_params p = greedy(40);
        fake_ref_generate(prompts[i], lens[i], &p, 0, 0, V, 40, ref[i]);
    }
    struct { int budget, blocks, seqs; const char *name; } cfg[] = {
        {2048, 400, 256, "batch of 16"}, {7, 400, 256, "chunk 7"}, {64, 400, 256, "chunk 64"},
        {2048, 27, 256, "tiny KV (preemption)"}, {64, 400, 1, "alone (max_num_seqs 1)"},
    };
    for (size_t k = 0; k < sizeof cfg / sizeof cfg[0]; k++) {
        vr_engine_options o = fake_options(cfg[k].seqs, cfg[k].budget);
        o.max_num_queued_requests = 64;
        vr_engine *e = fake_engine(&o, V, 400, cfg[k].blocks, -1, NULL);
        if (!e) { failures++; continue; }
        static cap caps[NREQ];
        memset(caps, 0, sizeof caps);
        for (int i = 0; i < NREQ; i++) {
            char id[16];
            snprintf(id, sizeof id, "r%d", i);
            vr_sampling_params p = greedy(40);
            submit(e, id, prompts[i], lens[i], &p, &caps[i]);
        }
        CHECK(fake_run_all(e) == 0, "%s: did not finish", cfg[k].name);
        for (int i = 0; i < NREQ; i++) {
            CHECK(caps[i].seq[0].n == 40 && !memcmp(caps[i].seq[0].ids, ref[i], sizeof ref[i]),
                  "%s: request %d differs from the reference", cfg[k].name, i);
            CHECK(!strcmp(caps[i].seq[0].reason, "length"), "%s: reason %s", cfg[k].name, caps[i].seq[0].reason);
            CHECK(caps[i].request_finished && !caps[i].calls_after_finish, "%s: finish protocol", cfg[k].name);
        }
        vr_engine_stats st;
        vr_engine_get_stats(e, &st);
        if (cfg[k].blocks == 27) CHECK(st.preemptions_total > 0, "tiny KV: no preemption happened");
        check_pool_clean(e, cfg[k].name);
        vr_engine_destroy(e);
    }
}

/* A second request sharing a 300-token prefix computes only the rest. */
static void test_prefix_cache(void) {
    vr_engine_options o = fake_options(8, 2048);
    vr_engine *e = fake_engine(&o, V, 512, 200, -1, NULL);
    if (!e) { failures++; return; }
    int32_t a[320], b[330];
    make_prompt(a, 320, V, 77);
    memcpy(b, a, 300 * sizeof *a);
    make_prompt(b + 300, 30, V, 78);
    vr_sampling_params p = greedy(10);
    cap ca = {0}, cb = {0}, cc = {0};
    submit(e, "a", a, 320, &p, &ca);
    fake_run_all(e);
    vr_engine_stats s0, s1;
    vr_engine_get_stats(e, &s0);
    submit(e, "b", b, 330, &p, &cb);
    fake_run_all(e);
    vr_engine_get_stats(e, &s1);
    uint64_t computed = s1.computed_prompt_tokens_total - s0.computed_prompt_tokens_total;
    CHECK(computed == 330 - 288, "prefix: second request computed %llu prompt tokens, want %d",
          (unsigned long long)computed, 330 - 288);
    CHECK(cb.cached_tokens == 288, "prefix: cached_tokens %d", cb.cached_tokens);
    CHECK(s1.prefix_cache_hits - s0.prefix_cache_hits == 288, "prefix: hits counted %llu",
          (unsigned long long)(s1.prefix_cache_hits - s0.prefix_cache_hits));
    int32_t ref[10];
    fake_ref_generate(b, 330, &p, 0, 0, V, 10, ref);
    CHECK(!memcmp(cb.seq[0].ids, ref, sizeof ref), "prefix: output differs from a cold run");
    /* another cache_salt shares nothing */
    vr_sampling_params ps = p;
    ps.cache_salt = "tenant-2";
    vr_engine_get_stats(e, &s0);
    submit(e, "c", b, 330, &ps, &cc);
    fake_run_all(e);
    vr_engine_get_stats(e, &s1);
    CHECK(s1.computed_prompt_tokens_total - s0.computed_prompt_tokens_total == 330, "salt: prefix shared across salts");
    CHECK(!memcmp(cc.seq[0].ids, ref, sizeof ref), "salt: output differs");
    check_pool_clean(e, "prefix");
    vr_engine_destroy(e);
}

/* n = 4 with a seed: forks share the prompt blocks (the partial last block
 * is copied on write), each sequence matches its own reference, and the
 * result does not depend on what else runs. */
static void test_fork_seeded(void) {
    int32_t prompt[45];
    make_prompt(prompt, 45, V, 5);
    vr_sampling_params p;
    vr_sampling_params_default(&p, NULL);
    p.temperature = 0.8f;
    p.top_p = 0.9f;
    p.has_seed = 1;
    p.seed = 1234;
    p.n = 4;
    p.max_tokens = 30;
    p.ignore_eos = 1;
    int32_t ref[4][30];
    for (int i = 0; i < 4; i++) fake_ref_generate(prompt, 45, &p, 1234, i, V, 30, ref[i]);
    CHECK(memcmp(ref[0], ref[1], sizeof ref[0]) || memcmp(ref[1], ref[2], sizeof ref[0]),
          "fork: all four samples identical");
    for (int variant = 0; variant < 3; variant++) {
        vr_engine_options o = fake_options(16, variant == 1 ? 5 : 512);
        vr_engine *e = fake_engine(&o, V, 120, variant == 2 ? 12 : 200, -1, NULL);
        if (!e) { failures++; continue; }
        cap c = {0}, other[4];
        memset(other, 0, sizeof other);
        if (variant) /* company: other requests in the same steps */
            for (int k = 0; k < 4; k++) {
                int32_t q[60];
                make_prompt(q, 20 + 10 * k, V, 100 + k);
                vr_sampling_params g = greedy(25);
                char id[8];
                snprintf(id, sizeof id, "o%d", k);
                submit(e, id, q, 20 + 10 * k, &g, &other[k]);
            }
        submit(e, "fork", prompt, 45, &p, &c);
        CHECK(fake_run_all(e) == 0, "fork: did not finish");
        for (int i = 0; i < 4; i++)
            CHECK(c.seq[i].n == 30 && !memcmp(c.seq[i].ids, ref[i], sizeof ref[i]),
                  "fork variant %d: sequence %d differs (n=%d)", variant, i, c.seq[i].n);
        CHECK(c.request_finished && !c.calls_after_finish, "fork: finish protocol");
        vr_engine_stats st;
        vr_engine_get_stats(e, &st);
        if (variant == 2) CHECK(st.preemptions_total > 0, "fork: tiny KV did not preempt");
        check_pool_clean(e, "fork");
        vr_engine_destroy(e);
    }
}

/* Aborting running and waiting requests returns every block. */
static void test_abort(void) {
    vr_engine_options o = fake_options(2, 64);
    vr_engine *e = fake_engine(&o, V, 256, 64, -1, NULL);
    if (!e) { failures++; return; }
    cap c[3];
    memset(c, 0, sizeof c);
    int32_t prompt[100];
    make_prompt(prompt, 100, V, 9);
    vr_sampling_params p = greedy(100);
    p.n = 1;
    submit(e, "x0", prompt, 100, &p, &c[0]);
    submit(e, "x1", prompt + 3, 90, &p, &c[1]);
    submit(e, "x2", prompt + 5, 50, &p, &c[2]); /* waits: max_num_seqs 2 */
    char err[128];
    for (int i = 0; i < 8; i++) vr_engine_step(e, err, sizeof err);
    CHECK(c[0].seq[0].n > 0 && c[0].seq[0].n < 100, "abort: x0 should be mid-generation (%d)", c[0].seq[0].n);
    vr_engine_abort(e, "x0");
    vr_engine_abort(e, "x2");
    vr_engine_abort(e, "nope");
    vr_engine_step(e, err, sizeof err);
    CHECK(c[0].request_finished && !strcmp(c[0].seq[0].reason, "abort"), "abort: x0 not aborted");
    CHECK(c[2].request_finished && !strcmp(c[2].seq[0].reason, "abort"), "abort: waiting x2 not aborted");
    vr_engine_abort(e, "x1");
    fake_run_all(e);
    CHECK(c[1].request_finished && !strcmp(c[1].seq[0].reason, "abort"), "abort: x1");
    vr_engine_stats st;
    vr_engine_get_stats(e, &st);
    CHECK(st.requests_finished_abort == 3, "abort: counted %llu", (unsigned long long)st.requests_finished_abort);
    check_pool_clean(e, "abort");
    /* a forked request aborted mid-way */
    cap f = {0};
    vr_sampling_params pf = p;
    pf.n = 2;
    pf.temperature = 1.0f;
    submit(e, "f", prompt, 33, &pf, &f);
    for (int i = 0; i < 5; i++) vr_engine_step(e, err, sizeof err);
    vr_engine_abort(e, "f");
    fake_run_all(e);
    CHECK(f.request_finished && f.seq[0].finished && f.seq[1].finished, "abort: fork not fully finished");
    check_pool_clean(e, "abort fork");
    vr_engine_destroy(e);
}

/* 200 requests of random lengths through a KV cache sized for 10. */
static void test_stress(void) {
    enum { N = 200 };
    vr_engine_options o = fake_options(32, 256);
    o.max_num_queued_requests = 1000;
    int max_len = 160;
    vr_engine *e = fake_engine(&o, V, max_len, 10 * (max_len / 16), 5, NULL);
    if (!e) { failures++; return; }
    static cap c[N];
    static int32_t prompts[N][160];
    int lens[N], maxt[N];
    memset(c, 0, sizeof c);
    uint64_t rng = 42;
    for (int i = 0; i < N; i++) {
        rng = fake_mix(rng);
        lens[i] = 1 + (int)(rng % 110);
        maxt[i] = 1 + (int)((rng >> 20) % 49);
        make_prompt(prompts[i], lens[i], V, 1000 + (uint64_t)i);
        if (i % 3 == 0 && i) memcpy(prompts[i], prompts[i - 1], (size_t)(lens[i] < lens[i - 1] ? lens[i] : lens[i - 1]) * 4);
        vr_sampling_params p = greedy(maxt[i]);
        p.ignore_eos = i % 2; /* half can stop at token 5 */
        char id[16];
        snprintf(id, sizeof id, "s%d", i);
        submit(e, id, prompts[i], lens[i], &p, &c[i]);
    }
    CHECK(fake_run_all(e) == 0, "stress: did not finish");
    int bad = 0;
    for (int i = 0; i < N; i++) {
        int32_t ref[64];
        vr_sampling_params p = greedy(maxt[i]);
        fake_ref_generate(prompts[i], lens[i], &p, 0, 0, V, maxt[i], ref);
        int want = maxt[i];
        if (!(i % 2))
            for (int k = 0; k < maxt[i]; k++)
                if (ref[k] == 5) { want = k + 1; break; }
        if (!c[i].request_finished || c[i].seq[0].n != want || memcmp(c[i].seq[0].ids, ref, (size_t)want * 4)) bad++;
    }
    CHECK(bad == 0, "stress: %d of %d requests wrong or unfinished", bad, N);
    vr_engine_stats st;
    vr_engine_get_stats(e, &st);
    CHECK(st.preemptions_total > 0, "stress: expected preemptions with a tiny KV cache");
    printf("stress: %llu steps, %llu preemptions, %llu prefix-cache hit tokens\n", (unsigned long long)st.steps_total,
           (unsigned long long)st.preemptions_total, (unsigned long long)st.prefix_cache_hits);
    CHECK(st.requests_finished_stop + st.requests_finished_length == N, "stress: finished counts");
    check_pool_clean(e, "stress");
    vr_engine_destroy(e);
}

static void test_admission_errors(void) {
    vr_engine_options o = fake_options(4, 64);
    o.max_num_queued_requests = 2;
    vr_engine *e = fake_engine(&o, V, 100, 40, -1, NULL);
    if (!e) { failures++; return; }
    cap c[4];
    memset(c, 0, sizeof c);
    int32_t prompt[120];
    make_prompt(prompt, 120, V, 3);
    vr_sampling_params p = greedy(10);
    char err[512];
    CHECK(vr_engine_submit(e, "a", VR_REQ_GENERATE, prompt, 10, &p, 0, on_out, &c[0], err, sizeof err) == 0, "a");
    CHECK(vr_engine_submit(e, "a", VR_REQ_GENERATE, prompt, 10, &p, 0, on_out, &c[1], err, sizeof err) == VR_E_DUPLICATE, "dup");
    CHECK(vr_engine_submit(e, "b", VR_REQ_GENERATE, prompt, 10, &p, 0, on_out, &c[1], err, sizeof err) == 0, "b");
    CHECK(vr_engine_submit(e, "c", VR_REQ_GENERATE, prompt, 10, &p, 0, on_out, &c[2], err, sizeof err) == VR_E_QUEUE_FULL, "queue full");
    vr_sampling_params q = greedy(95);
    CHECK(vr_engine_submit(e, "d", VR_REQ_GENERATE, prompt, 10, &q, 0, on_out, &c[3], err, sizeof err) == VR_E_INVALID &&
          strstr(err, "100") && strstr(err, "105"), "too long: %s", err);
    int32_t bad_id = V + 3;
    CHECK(vr_engine_submit(e, "d", VR_REQ_GENERATE, &bad_id, 1, &p, 0, on_out, &c[3], err, sizeof err) == VR_E_INVALID, "bad id");
    q = p; q.top_p = 0;
    CHECK(vr_engine_submit(e, "d", VR_REQ_GENERATE, prompt, 5, &q, 0, on_out, &c[3], err, sizeof err) == VR_E_INVALID && strstr(err, "top_p"), "top_p");
    q = p; q.logprobs = 21;
    CHECK(vr_engine_submit(e, "d", VR_REQ_GENERATE, prompt, 5, &q, 0, on_out, &c[3], err, sizeof err) == VR_E_INVALID, "logprobs cap");
    q = p; q.n = 5;
    CHECK(vr_engine_submit(e, "d", VR_REQ_GENERATE, prompt, 5, &q, 0, on_out, &c[3], err, sizeof err) == VR_E_INVALID, "n > max_num_seqs");
    q = p; q.n_stop = 1; q.stop = (const char *const[]){"x"};
    CHECK(vr_engine_submit(e, "d", VR_REQ_GENERATE, prompt, 5, &q, 0, on_out, &c[3], err, sizeof err) == VR_E_INVALID, "stop without tokenizer");
    CHECK(vr_engine_submit(e, "d", VR_REQ_GENERATE, prompt, 100, &p, 0, on_out, &c[3], err, sizeof err) == VR_E_INVALID, "no room");
    fake_run_all(e);
    CHECK(c[0].request_finished && c[1].request_finished, "admitted requests finish");
    CHECK(vr_engine_submit(e, "a", VR_REQ_GENERATE, prompt, 10, &p, 0, on_out, &c[2], err, sizeof err) == 0, "id reusable after finish");
    fake_run_all(e);
    check_pool_clean(e, "admission");
    vr_engine_destroy(e);
    /* a KV cache that cannot hold one max-length request is refused */
    vr_engine_options o2 = fake_options(4, 64);
    fake_model *m = NULL;
    CHECK(fake_engine(&o2, V, 1000, 10, -1, &m) == NULL, "tiny KV accepted");
}

/* Thousands of requests submitted and finished one after another (a long
 * running server): the live-id set must stay usable and small. Its removed
 * slots once never counted towards the load, the table filled with them and
 * the duplicate check of the next submit looped for ever. */
static void test_id_churn(void) {
    vr_engine_options o = fake_options(4, 64);
    vr_engine *e = fake_engine(&o, V, 100, 40, -1, NULL);
    if (!e) { failures++; return; }
    int32_t prompt[4];
    make_prompt(prompt, 4, V, 5);
    vr_sampling_params p = greedy(1);
    char err[512], id[32];
    for (int i = 0; i < 3000; i++) {
        cap c;
        memset(&c, 0, sizeof c);
        snprintf(id, sizeof id, "churn-%d", i);
        int rc = vr_engine_submit(e, id, VR_REQ_GENERATE, prompt, 4, &p, 0, on_out, &c, err, sizeof err);
        CHECK(rc == 0, "submit %d: %s", i, err);
        if (rc) break;
        fake_run_all(e);
        CHECK(c.request_finished, "request %d finished", i);
    }
    CHECK(e->ids.n == 0 && e->ids.cap <= 64, "id set after churn: %u live, capacity %u", e->ids.n, e->ids.cap);
    check_pool_clean(e, "id churn");
    vr_engine_destroy(e);
}

/* stop_token_ids, EOS, min_tokens, max_tokens, logprobs, prompt logprobs. */
static void test_stops_and_logprobs(void) {
    vr_engine_options o = fake_options(8, 7);
    vr_engine *e = fake_engine(&o, V, 300, 100, -1, NULL);
    if (!e) { failures++; return; }
    int32_t prompt[40];
    make_prompt(prompt, 40, V, 11);
    int32_t ref[60];
    vr_sampling_params g = greedy(60);
    fake_ref_generate(prompt, 40, &g, 0, 0, V, 60, ref);
    /* the first token that has not appeared before becomes the stop token */
    int k = 3;
    for (;; k++) {
        int seen = 0;
        for (int j = 0; j < k; j++) seen |= ref[j] == ref[k];
        if (!seen) break;
    }
    vr_sampling_params p = greedy(60);
    int32_t stop_id = ref[k];
    p.stop_token_ids = &stop_id;
    p.n_stop_token_ids = 1;
    p.logprobs = 3;
    p.prompt_logprobs = 2;
    cap c = {0};
    submit(e, "st", prompt, 40, &p, &c);
    fake_run_all(e);
    CHECK(c.seq[0].n == k + 1 && !strcmp(c.seq[0].reason, "stop") && c.seq[0].stop_token == stop_id,
          "stop token: n %d (want %d) reason %s", c.seq[0].n, k + 1, c.seq[0].reason);
    /* logprobs of the sampled tokens and of the prompt, against the reference */
    float lg[V];
    int32_t toks[100];
    memcpy(toks, prompt, sizeof prompt);
    memcpy(toks + 40, ref, 20 * sizeof *ref);
    double maxerr = 0;
    for (int j = 0; j < 3; j++) {
        fake_ref_logits(toks, 40 + j, V, lg);
        double mx = -1e30, s = 0;
        for (int v = 0; v < V; v++) mx = lg[v] > mx ? lg[v] : mx;
        for (int v = 0; v < V; v++) s += exp(lg[v] - mx);
        double want = lg[ref[j]] - mx - log(s);
        maxerr = fmax(maxerr, fabs(want - c.seq[0].lps[j]));
    }
    CHECK(maxerr < 1e-4, "logprobs differ by %g", maxerr);
    CHECK(c.n_plp == 40 && isnan(c.plp[0]), "prompt logprobs missing (%d)", c.n_plp);
    maxerr = 0;
    for (int j = 1; j < 40 && c.n_plp == 40; j++) {
        fake_ref_logits(prompt, j, V, lg);
        double mx = -1e30, s = 0;
        for (int v = 0; v < V; v++) mx = lg[v] > mx ? lg[v] : mx;
        for (int v = 0; v < V; v++) s += exp(lg[v] - mx);
        maxerr = fmax(maxerr, fabs(lg[prompt[j]] - mx - log(s) - c.plp[j]));
    }
    CHECK(maxerr < 1e-4, "prompt logprobs differ by %g", maxerr);
    /* min_tokens beyond k: the stop token is masked until then */
    p.min_tokens = k + 5;
    p.logprobs = -1;
    p.prompt_logprobs = -1;
    cap c2 = {0};
    submit(e, "mt", prompt, 40, &p, &c2);
    fake_run_all(e);
    CHECK(c2.seq[0].n >= k + 5, "min_tokens: stopped at %d", c2.seq[0].n);
    for (int j = 0; j + 1 < k + 5 && j < c2.seq[0].n; j++) CHECK(c2.seq[0].ids[j] != stop_id, "min_tokens: stop id sampled at %d", j);
    check_pool_clean(e, "stops");
    vr_engine_destroy(e);
    /* EOS of the model ends a request unless ignore_eos */
    vr_engine_options o2 = fake_options(8, 64);
    vr_engine *e2 = fake_engine(&o2, V, 300, 100, stop_id, NULL);
    cap c3 = {0}, c4 = {0};
    vr_sampling_params q = greedy(k + 3);
    q.ignore_eos = 0;
    submit(e2, "eos", prompt, 40, &q, &c3);
    q.ignore_eos = 1;
    submit(e2, "ign", prompt, 40, &q, &c4);
    fake_run_all(e2);
    CHECK(c3.seq[0].n == k + 1 && !strcmp(c3.seq[0].reason, "stop") && c3.seq[0].stop_token == -1, "eos: n %d", c3.seq[0].n);
    CHECK(c4.seq[0].n == k + 3 && !strcmp(c4.seq[0].reason, "length"), "ignore_eos: n %d", c4.seq[0].n);
    vr_engine_destroy(e2);
}

static void test_embeddings(void) {
    for (int mean = 0; mean < 2; mean++) {
        vr_engine_options o = fake_options(8, 16);
        o.pooling = mean ? "mean" : "last";
        vr_engine *e = fake_engine(&o, V, 300, 100, -1, NULL);
        if (!e) { failures++; continue; }
        int32_t prompt[50];
        make_prompt(prompt, 50, V, 21);
        cap c = {0}, g = {0};
        char err[256];
        CHECK(vr_engine_submit(e, "emb", VR_REQ_EMBED, prompt, 50, NULL, 0, on_out, &c, err, sizeof err) == 0, "%s", err);
        vr_sampling_params p = greedy(5);
        submit(e, "gen", prompt, 50, &p, &g); /* mixed in the same steps */
        fake_run_all(e);
        CHECK(c.request_finished && c.emb_dim == 8, "embedding missing");
        double n2 = 0;
        for (int d = 0; d < 8; d++) n2 += c.emb[d] * c.emb[d];
        CHECK(fabs(n2 - 1) < 1e-5, "embedding not normalized (%g)", n2);
        /* reference: hidden rows of the fake model, pooled and normalized */
        double want[8] = {0};
        uint64_t h = 0x1234;
        for (int pos = 0; pos < 50; pos++) {
            h = fake_mix(h ^ fake_kv_value(prompt[pos], pos));
            if (mean || pos == 49)
                for (int d = 0; d < 8; d++) want[d] += (float)((fake_mix(h + (uint64_t)d) >> 40) % 1000) / 1000.0f;
        }
        double wn = 0, err2 = 0;
        for (int d = 0; d < 8; d++) wn += want[d] * want[d];
        for (int d = 0; d < 8; d++) err2 = fmax(err2, fabs(want[d] / sqrt(wn) - c.emb[d]));
        CHECK(err2 < 1e-5, "%s pooling differs by %g", mean ? "mean" : "last", err2);
        CHECK(g.seq[0].n == 5, "generation next to an embedding");
        check_pool_clean(e, "embeddings");
        vr_engine_destroy(e);
    }
}

/* The engine thread: submissions from another thread, completion by callback. */
typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    cap c[8];
} waiter;

static waiter W;
static void on_out_threaded(void *u, const vr_output_delta *d) {
    cap *c = u;
    on_out(c, d);
    if (d->request_finished) {
        pthread_mutex_lock(&W.mu);
        W.done++;
        pthread_cond_signal(&W.cv);
        pthread_mutex_unlock(&W.mu);
    }
}

static void test_thread(void) {
    vr_engine_options o = fake_options(4, 32);
    o.no_thread = 0;
    vr_engine *e = fake_engine(&o, V, 300, 60, -1, NULL);
    if (!e) { failures++; return; }
    pthread_mutex_init(&W.mu, NULL);
    pthread_cond_init(&W.cv, NULL);
    int32_t prompts[8][64];
    char err[256];
    for (int i = 0; i < 8; i++) {
        make_prompt(prompts[i], 20 + 5 * i, V, 300 + (uint64_t)i);
        vr_sampling_params p = greedy(20);
        char id[8];
        snprintf(id, sizeof id, "t%d", i);
        CHECK(vr_engine_submit(e, id, VR_REQ_GENERATE, prompts[i], 20 + 5 * i, &p, 0, on_out_threaded,
                               &W.c[i], err, sizeof err) == 0, "%s", err);
    }
    CHECK(vr_engine_healthy(e), "engine unhealthy");
    pthread_mutex_lock(&W.mu);
    while (W.done < 8) pthread_cond_wait(&W.cv, &W.mu);
    pthread_mutex_unlock(&W.mu);
    for (int i = 0; i < 8; i++) {
        int32_t ref[20];
        vr_sampling_params p = greedy(20);
        fake_ref_generate(prompts[i], 20 + 5 * i, &p, 0, 0, V, 20, ref);
        CHECK(!memcmp(W.c[i].seq[0].ids, ref, sizeof ref), "thread: request %d differs", i);
    }
    /* destroy with work in flight aborts it */
    vr_sampling_params p = greedy(200);
    cap late = {0};
    vr_engine_submit(e, "late", VR_REQ_GENERATE, prompts[0], 20, &p, 0, on_out, &late, err, sizeof err);
    vr_engine_destroy(e);
    CHECK(late.request_finished, "destroy did not finish the last request");
    pthread_mutex_destroy(&W.mu);
    pthread_cond_destroy(&W.cv);
}

/* Under the priority policy the lower value runs first, whatever the order
 * of arrival; under FCFS arrival order wins. */
static int finish_order[8], n_finished_order;
static void on_out_order(void *u, const vr_output_delta *d) {
    if (d->request_finished) finish_order[n_finished_order++] = (int)(intptr_t)u;
}

static void test_priority(void) {
    for (int policy = 0; policy < 2; policy++) {
        vr_engine_options o = fake_options(1, 64);
        o.scheduling_policy_priority = policy;
        vr_engine *e = fake_engine(&o, V, 200, 40, -1, NULL);
        if (!e) { failures++; continue; }
        n_finished_order = 0;
        int32_t prompt[20];
        make_prompt(prompt, 20, V, 8);
        vr_sampling_params p = greedy(4);
        char err[256];
        int prio[3] = {5, 1, 3};
        for (int i = 0; i < 3; i++) {
            char id[8];
            snprintf(id, sizeof id, "p%d", i);
            vr_engine_submit(e, id, VR_REQ_GENERATE, prompt, 20, &p, prio[i], on_out_order, (void *)(intptr_t)i,
                             err, sizeof err);
        }
        fake_run_all(e);
        int want_prio[3] = {1, 2, 0}, want_fcfs[3] = {0, 1, 2};
        const int *want = policy ? want_prio : want_fcfs;
        CHECK(n_finished_order == 3 && finish_order[0] == want[0] && finish_order[1] == want[1] &&
              finish_order[2] == want[2], "policy %d: order %d %d %d", policy, finish_order[0], finish_order[1],
              finish_order[2]);
        vr_engine_destroy(e);
    }
}

/* The periodic stats line: silent before its interval, then rates over it. */
static void test_stats_line(void) {
    vr_stats_acc a = {.interval_s = 5.0};
    vr_engine_stats s;
    memset(&s, 0, sizeof s);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(vr_stats_maybe_log(&a, &s, 100.0, 1, f) == 0, "first call only starts the window");
    s.computed_prompt_tokens_total = 500;
    s.generation_tokens_total = 250;
    s.running = 3;
    s.waiting = 2;
    s.kv_usage = 0.25;
    s.prefix_cache_queries = 100;
    s.prefix_cache_hits = 40;
    CHECK(vr_stats_maybe_log(&a, &s, 103.0, 1, f) == 0, "logged before 5 s");
    CHECK(vr_stats_maybe_log(&a, &s, 105.0, 1, f) == 1, "no line after 5 s");
    CHECK(vr_stats_maybe_log(&a, &s, 111.0, 0, f) == 0, "idle engine logged");
    fclose(f);
    CHECK(buf && strstr(buf, "prompt 100.0 tok/s, generation 50.0 tok/s, running 3, waiting 2, KV usage 25.0%, "
                             "prefix hit rate 40.0%"), "line: %s", buf ? buf : "(none)");
    free(buf);
    vr_engine_stats it;
    memset(&it, 0, sizeof it);
    vr_stats_count_iteration(&it, 1);
    vr_stats_count_iteration(&it, 100);
    CHECK(it.iteration_tokens_buckets[0] == 1 && it.iteration_tokens_buckets[5] == 2 &&
          it.iteration_tokens_buckets[4] == 1 && it.iteration_tokens_sum == 101, "iteration histogram");
}

int main(void) {
    test_stats_line();
    test_priority();
    test_batch_invariance();
    test_prefix_cache();
    test_fork_seeded();
    test_abort();
    test_stress();
    test_admission_errors();
    test_id_churn();
    test_stops_and_logprobs();
    test_embeddings();
    test_thread();
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("test_sched_engine: ok\n");
    return 0;
}
