/* tests/engine/test_engine_fake.h — a fake model behind the engine's runner
 * seam, for fast unit tests of the scheduler, block tables and sampler.
 *
 * Each token writes one value, a hash of (token id, position), into its KV
 * slot. The logits of a row are a hash of every value its sequence can see,
 * read back through the block table: any wrong block, stale prefix-cache
 * entry or missing copy-on-write changes the next token. fake_ref_logits()
 * computes the same logits straight from a token list, so expected outputs
 * need no engine at all. */
#ifndef VR_TEST_ENGINE_FAKE_H
#define VR_TEST_ENGINE_FAKE_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"

typedef struct fake_model {
    int vocab, hidden, num_blocks, block_size;
    uint64_t *kv;   /* [num_blocks * block_size] */
    long forwards, tokens_computed;
    int max_tokens_seen;
} fake_model;

static uint64_t fake_mix(uint64_t x) {
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185ULL;
    x ^= x >> 27;
    x *= 0x81dadef4bc2dd44dULL;
    x ^= x >> 33;
    return x;
}

static uint64_t fake_kv_value(int32_t tok, int pos) {
    return fake_mix(((uint64_t)(uint32_t)tok << 32) ^ (uint64_t)pos ^ 0xabcdefULL);
}

static void fake_logits_from_state(uint64_t h, int vocab, float *out) {
    for (int v = 0; v < vocab; v++) {
        uint64_t r = fake_mix(h ^ ((uint64_t)v * 0x9e3779b97f4a7c15ULL));
        out[v] = (float)((double)(r >> 40) / (double)(1 << 24) * 8.0 - 4.0);
    }
}

/* Logits after tokens[0..n): the reference the engine must reproduce. */
static void fake_ref_logits(const int32_t *tokens, int n, int vocab, float *out) {
    uint64_t h = 0x1234;
    for (int p = 0; p < n; p++) h = fake_mix(h ^ fake_kv_value(tokens[p], p));
    fake_logits_from_state(h, vocab, out);
}

static int fake_forward(void *ctx, const vr_batch *b, float *out, char *err, size_t errlen) {
    fake_model *m = ctx;
    int bs = m->block_size;
    m->forwards++;
    m->tokens_computed += b->num_tokens;
    if (b->num_tokens > m->max_tokens_seen) m->max_tokens_seen = b->num_tokens;
    for (int t = 0; t < b->num_tokens; t++) {
        if (b->slot[t] < 0 || b->slot[t] >= m->num_blocks * bs || b->token_ids[t] < 0 ||
            b->token_ids[t] >= m->vocab) {
            snprintf(err, errlen, "fake: bad slot %d or token %d", b->slot[t], b->token_ids[t]);
            return -1;
        }
        m->kv[b->slot[t]] = fake_kv_value(b->token_ids[t], b->positions[t]);
    }
    for (int o = 0; o < b->num_outputs; o++) {
        int t = b->output_rows[o];
        int s = 0;
        while (s + 1 < b->num_seqs && b->query_start[s + 1] <= t) s++;
        const int32_t *bt = b->block_table + (size_t)s * b->max_blocks_per_seq;
        uint64_t h = 0x1234;
        for (int p = 0; p <= b->positions[t]; p++) h = fake_mix(h ^ m->kv[bt[p / bs] * bs + p % bs]);
        if (b->output_kind == VR_OUTPUT_LOGITS) {
            fake_logits_from_state(h, m->vocab, out + (size_t)o * m->vocab);
        } else {
            for (int d = 0; d < m->hidden; d++)
                out[(size_t)o * m->hidden + d] = (float)((fake_mix(h + (uint64_t)d) >> 40) % 1000) / 1000.0f;
        }
    }
    return 0;
}

static void fake_copy_blocks(void *ctx, const int32_t *src, const int32_t *dst, int n) {
    fake_model *m = ctx;
    for (int i = 0; i < n; i++)
        memcpy(m->kv + (size_t)dst[i] * m->block_size, m->kv + (size_t)src[i] * m->block_size,
               (size_t)m->block_size * sizeof *m->kv);
}

static void fake_destroy(void *ctx) {
    fake_model *m = ctx;
    free(m->kv);
    free(m);
}

/* Step a no_thread engine until every request finished; 0 when they did. */
static int fake_run_all(vr_engine *e) {
    char err[256];
    for (int i = 0; i < 200000 && vr_engine_num_unfinished(e) > 0; i++)
        if (vr_engine_step(e, err, sizeof err) < 0) {
            fprintf(stderr, "step: %s\n", err);
            return -1;
        }
    return vr_engine_num_unfinished(e) == 0 ? 0 : -1;
}

/* Greedy / seeded continuation computed without the engine: the sampler
 * alone on fake_ref_logits (prompt + output at most 2048 tokens). */
static int fake_ref_generate(const int32_t *prompt, int n_prompt, const vr_sampling_params *p, uint64_t seed,
                             int seq_index, int vocab, int max_tokens, int32_t *out) {
    int32_t toks[2048];
    float *logits = malloc((size_t)vocab * sizeof *logits);
    vr_sampler_scratch s;
    vr_sampler_scratch_init(&s, vocab);
    memcpy(toks, prompt, (size_t)n_prompt * sizeof *toks);
    int n = n_prompt;
    for (int k = 0; k < max_tokens; k++) {
        fake_ref_logits(toks, n, vocab, logits);
        vr_sample_ctx c = {.p = p, .prompt = prompt, .n_prompt = n_prompt, .output = toks + n_prompt,
                           .n_output = k, .seed = seed, .seq_index = seq_index};
        out[k] = toks[n++] = vr_sampler_sample(&c, logits, vocab, &s);
    }
    vr_sampler_scratch_free(&s);
    free(logits);
    return max_tokens;
}

/* Options of a test engine driven by vr_engine_step() on the caller's
 * thread, silent, blocks of 16 tokens. */
static vr_engine_options fake_options(int max_seqs, int budget) {
    vr_engine_options o;
    vr_engine_options_default(&o);
    o.no_thread = 1;
    o.quiet = 1;
    o.log_stats = 0;
    o.max_num_seqs = max_seqs;
    o.max_num_batched_tokens = budget;
    o.block_size = 16;
    return o;
}

/* An engine on a fake model. eos: one EOS id (or -1 for none). Returns NULL
 * (printing why) on failure. *model_out lets the test read counters. */
static vr_engine *fake_engine(const vr_engine_options *o, int vocab, int max_model_len, int num_blocks,
                              int eos, fake_model **model_out) {
    fake_model *m = calloc(1, sizeof *m);
    m->vocab = vocab;
    m->hidden = 8;
    m->num_blocks = num_blocks;
    m->block_size = o->block_size > 0 ? o->block_size : 16;
    m->kv = calloc((size_t)num_blocks * m->block_size, sizeof *m->kv);
    vr_engine_info info;
    memset(&info, 0, sizeof info);
    info.vocab_size = vocab;
    info.hidden_size = m->hidden;
    info.max_model_len = max_model_len;
    info.bos_id = -1;
    if (eos >= 0) {
        info.eos_ids[0] = eos;
        info.n_eos = 1;
    }
    vr_runner r = {.ctx = m, .forward = fake_forward, .copy_blocks = fake_copy_blocks, .destroy = fake_destroy};
    vr_engine *e = NULL;
    char err[512];
    if (vr_engine_create_with_runner(o, &info, r, num_blocks, NULL, &e, err, sizeof err)) {
        fprintf(stderr, "fake_engine: %s\n", err);
        return NULL;
    }
    if (model_out) *model_out = m;
    return e;
}

#endif
