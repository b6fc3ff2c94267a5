/* tests/guided/test_engine_hook.c — the engine's per-request logits
 * processor (vr_sampling_params.logits_processor) driven by the guided
 * processor, on the fake model of tests/engine: every sequence's output is
 * a viable prefix of its shape (complete when it stopped), the outputs are
 * the same whatever the batch (one batch, chunked prefill, preemption), and
 * the state is freed exactly once however the request ends: finished,
 * aborted, refused at submit, dropped at shutdown, or an embedding. */
#include "server/guided/guided.h"
#include "tests/engine/test_engine_fake.h"
#include "tests/json/check.h" /* CHECK: report, count, go on */

#define V 97
#define EOS 96
#define NREQ 6
#define MAXOUT 64

static const char *g_tok[V];
static size_t g_len[V];
static const vr_guided_vocab *g_vocab;
static int g_frees;

static void make_vocab(void) {
    static const char *pieces[] = {"{", "}", "[", "]", "\"", ":", ",", " ", "0", "1", "-", ".", "e", "true", "null",
                                   "{\"", "\":", "\"}", "\",\"", "a", "b", "\\n", "\\u00e9", "\xc3\xa9", "12", "}]",
                                   "name", "get", "\"parameters", "}}", "]}",
                                   /* every letter of the skeleton, so no prefix is a dead end */
                                   "p", "r", "m", "t", "s", "g", "n", "u", "l", "f", NULL};
    int np = 0;
    while (pieces[np]) np++;
    for (int i = 0; i < EOS; i++) {
        g_tok[i] = pieces[i % np];
        g_len[i] = strlen(g_tok[i]);
    }
    g_vocab = vr_guided_vocab_new(EOS, g_tok, g_len, NULL); /* EOS has no bytes: left out */
}

static void counting_free(void *user) {
    g_frees++;
    vr_guided_proc_free(user);
}

static vr_jshape *new_shape(int req) {
    static const char *names[] = {"get", "name"};
    char err[64];
    return req % 2 ? vr_jshape_new(VR_JSHAPE_TOOL_CALLS, names, 2, req == 3 ? 1 : 0, err, sizeof err)
                   : vr_jshape_new(VR_JSHAPE_OBJECT, NULL, 0, 0, err, sizeof err);
}

static void guide(vr_sampling_params *p, int req) {
    int eos = EOS;
    p->logits_processor = vr_guided_logits;
    p->logits_processor_user = vr_guided_proc_new(new_shape(req), g_vocab, p->n, &eos, 1);
    p->logits_processor_free = counting_free;
}

typedef struct cap {
    int32_t ids[4][MAXOUT];
    int n[4];
    char reason[4][16];
    int done;
} cap;

static void on_out(void *u, const vr_output_delta *d) {
    cap *c = u;
    int s = d->seq_index;
    for (int i = 0; i < d->n_new && c->n[s] < MAXOUT; i++) c->ids[s][c->n[s]++] = d->new_ids[i];
    if (d->finished) snprintf(c->reason[s], sizeof c->reason[s], "%s", d->finish_reason);
    if (d->request_finished) c->done = 1;
}

static vr_sampling_params params(int req) {
    vr_sampling_params p;
    vr_sampling_params_default(&p, NULL);
    p.temperature = req % 3 ? 1.0f : 0.0f;
    p.has_seed = 1;
    p.seed = 40 + (uint64_t)req;
    p.max_tokens = req == 4 ? 5 : 60;
    p.n = req == 1 ? 3 : req == 2 ? 2 : 1;
    p.ignore_eos = req == 5; /* the unguided one: compared with the reference */
    return p;
}

static vr_engine *engine(int budget, int blocks) {
    vr_engine_options o = fake_options(16, budget);
    return fake_engine(&o, V, 160, blocks, EOS, NULL);
}

/* Outputs of NREQ guided requests (req 5 unguided) in one configuration. */
static void run_config(int budget, int blocks, cap *caps, const char *name) {
    vr_engine *e = engine(budget, blocks);
    if (!e) {
        failures++;
        return;
    }
    int32_t prompt[100], prompt5[100];
    int n_prompt5 = 0;
    char err[256], id[8];
    int frees0 = g_frees, guided = 0;
    for (int r = 0; r < NREQ; r++) {
        vr_sampling_params p = params(r);
        if (r != 5) {
            guide(&p, r);
            guided++;
        }
        int n_prompt = 10 + r * 15;
        for (int k = 0; k < n_prompt; k++) prompt[k] = (int32_t)((r * 7 + k * 3) % EOS);
        memcpy(prompt5, prompt, sizeof prompt);
        n_prompt5 = n_prompt;
        snprintf(id, sizeof id, "r%d", r);
        CHECK(vr_engine_submit(e, id, VR_REQ_GENERATE, prompt, n_prompt, &p, 0, on_out, &caps[r], err, sizeof err) == 0,
              "%s: submit: %s", name, err);
    }
    CHECK(fake_run_all(e) == 0, "%s: did not finish", name);
    CHECK(g_frees - frees0 == guided, "%s: %d frees for %d guided requests", name, g_frees - frees0, guided);
    vr_engine_stats st;
    vr_engine_get_stats(e, &st);
    if (blocks < 20) CHECK(st.preemptions_total > 0, "%s: no preemption happened", name);
    vr_engine_destroy(e);
    vr_sampling_params p5 = params(5);
    int32_t ref[MAXOUT];
    fake_ref_generate(prompt5, n_prompt5, &p5, p5.seed, 0, V, p5.max_tokens, ref);
    CHECK(caps[5].n[0] == p5.max_tokens && !memcmp(caps[5].ids[0], ref, sizeof(int32_t) * (size_t)p5.max_tokens),
          "%s: the unguided request differs from its run alone", name);
    for (int r = 0; r < NREQ - 1; r++)
        for (int s = 0; s < params(r).n; s++) {
            vr_jpda a;
            vr_jshape *shape = new_shape(r);
            vr_jpda_init(&a, shape);
            int n = caps[r].n[s], ok = 1, stopped = !strcmp(caps[r].reason[s], "stop");
            for (int k = 0; k < n - stopped && ok; k++)
                ok = vr_jpda_feed_all(&a, g_tok[caps[r].ids[s][k]], g_len[caps[r].ids[s][k]]) == 0;
            CHECK(ok, "%s: r%d seq %d left its shape", name, r, s);
            if (stopped) CHECK(vr_jpda_done(&a) && caps[r].ids[s][n - 1] == EOS, "%s: r%d seq %d stopped early", name, r, s);
            vr_jshape_free(shape);
        }
}

/* Every way a request can end frees its processor state once. */
static void endings(void) {
    vr_engine *e = engine(2048, 100);
    if (!e) {
        failures++;
        return;
    }
    int32_t prompt[4] = {1, 2, 3, 4};
    char err[256];
    cap c[4];
    memset(c, 0, sizeof c);
    int f0 = g_frees;
    vr_sampling_params p = params(0);
    p.n = 0; /* refused by validation */
    p.logits_processor = vr_guided_logits;
    p.logits_processor_user = vr_guided_proc_new(new_shape(0), g_vocab, 1, (int[]){EOS}, 1);
    p.logits_processor_free = counting_free;
    CHECK(vr_engine_submit(e, "bad", VR_REQ_GENERATE, prompt, 4, &p, 0, on_out, &c[0], err, sizeof err) != 0, "n=0");
    CHECK(g_frees == f0 + 1, "refused at validation: %d frees", g_frees - f0);
    p = params(0);
    guide(&p, 0);
    CHECK(vr_engine_submit(e, "a", VR_REQ_GENERATE, prompt, 4, &p, 0, on_out, &c[1], err, sizeof err) == 0, "%s", err);
    p = params(0);
    guide(&p, 0);
    CHECK(vr_engine_submit(e, "a", VR_REQ_GENERATE, prompt, 4, &p, 0, on_out, &c[2], err, sizeof err) != 0, "dup id");
    CHECK(g_frees == f0 + 2, "refused as a duplicate: %d frees", g_frees - f0);
    p = params(0);
    guide(&p, 0);
    CHECK(vr_engine_submit(e, "emb", VR_REQ_EMBED, prompt, 4, &p, 0, on_out, &c[3], err, sizeof err) == 0, "%s", err);
    vr_engine_step(e, err, sizeof err);
    vr_engine_abort(e, "a");
    CHECK(fake_run_all(e) == 0, "did not finish");
    CHECK(g_frees == f0 + 4, "aborted / embedding: %d frees", g_frees - f0);
    p = params(0);
    guide(&p, 0);
    CHECK(vr_engine_submit(e, "left", VR_REQ_GENERATE, prompt, 4, &p, 0, on_out, &c[0], err, sizeof err) == 0, "%s", err);
    vr_engine_step(e, err, sizeof err);
    vr_engine_destroy(e); /* shutdown with the request running */
    CHECK(g_frees == f0 + 5, "shutdown: %d frees", g_frees - f0);
}

int main(void) {
    make_vocab();
    static cap ref[NREQ], chunked[NREQ], preempt[NREQ];
    run_config(2048, 200, ref, "one batch");
    run_config(7, 200, chunked, "chunk 7");
    run_config(2048, 12, preempt, "tiny KV (preemption)");
    CHECK(!memcmp(ref, chunked, sizeof ref), "chunked prefill changed the outputs");
    CHECK(!memcmp(ref, preempt, sizeof ref), "preemption changed the outputs");
    int stopped = 0;
    for (int r = 0; r < NREQ; r++) stopped += !strcmp(ref[r].reason[0], "stop");
    CHECK(stopped > 0, "no guided request finished its value");
    endings();
    vr_guided_vocab_free((vr_guided_vocab *)g_vocab);
    if (failures) fprintf(stderr, "%d checks failed\n", failures);
    return failures != 0;
}
