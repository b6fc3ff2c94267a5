/* engine/model_forward.c — one flat batch through the Llama-family decoder.
 *
 * Written as the textbook order of operations, each step one backend op:
 *
 *   x = embed(ids)
 *   for each layer:
 *     h = rmsnorm(x);  q,k,v = h Wq^T (+b), h Wk^T (+b), h Wv^T (+b)
 *     (Qwen3) q,k = rmsnorm per head;  q,k = rope(q,k)
 *     write k,v into the paged cache;  a = attention(q, cache)
 *     x += a Wo^T (+b)
 *     h = rmsnorm(x);  x += (act(h Wg^T) * (h Wu^T)) Wd^T
 *   rows = the wanted rows of x;  rows = rmsnorm(rows)
 *   logits = rows Wlm^T   (Wlm = the embedding when tied)
 *
 * The final norm and lm_head run on the gathered rows only: a prefill chunk
 * of 512 tokens that wants one row of logits pays for one row.
 *
 * The batch comes from the engine, ultimately from users: it is validated in
 * full before any op runs, so a bad batch is an error message, never an
 * out-of-bounds kernel.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/model_internal.h"

/* ---- scratch ---------------------------------------------------------- */

static void dev_free(vr_backend *be, void *p) {
    if (p)
        be->ops->free(be, p);
}

static void free_token_buffers(vr_model *m) {
    vr_scratch *s = &m->s;
    void *bufs[] = {s->x,  s->xn,       s->q,        s->k,   s->v,   s->attn,
                    s->proj, s->gate_up, s->gu_split, s->act, s->ids, s->pos,
                    s->slots, s->interleave};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        dev_free(m->be, bufs[i]);
    s->x = s->xn = s->q = s->k = s->v = s->attn = s->proj = NULL;
    s->gate_up = s->gu_split = s->act = NULL;
    s->ids = s->pos = s->slots = s->interleave = NULL;
    free(s->host_interleave);
    s->host_interleave = NULL;
    s->cap_tokens = 0;
}

void vr_model_scratch_free(vr_model *m) {
    vr_scratch *s = &m->s;
    free_token_buffers(m);
    dev_free(m->be, s->query_start);
    dev_free(m->be, s->context_len);
    dev_free(m->be, s->block_table);
    dev_free(m->be, s->rows);
    dev_free(m->be, s->out_rows);
    dev_free(m->be, s->logits);
    memset(s, 0, sizeof *s);
}

static void *dev_alloc(vr_model *m, size_t bytes, int *failed) {
    void *p = m->be->ops->alloc(m->be, bytes ? bytes : 1);
    if (!p)
        *failed = 1;
    return p;
}

/* Grow the per-token buffers to hold `n` tokens. Capacities round up so a
 * stream of slightly bigger batches does not reallocate every step. */
static int ensure_tokens(vr_model *m, int n, char *err, size_t errlen) {
    vr_scratch *s = &m->s;
    if (n <= s->cap_tokens)
        return 0;
    free_token_buffers(m);
    const vr_model_config *c = &m->cfg;
    size_t cap = (size_t)((n + 15) / 16 * 16);
    size_t f = sizeof(float), h = (size_t)c->hidden_size, qd = (size_t)c->num_heads * c->head_dim,
           kvd = (size_t)c->num_kv_heads * c->head_dim, inter = (size_t)c->intermediate_size;
    int failed = 0;
    s->x = dev_alloc(m, cap * h * f, &failed);
    s->xn = dev_alloc(m, cap * h * f, &failed);
    s->q = dev_alloc(m, cap * qd * f, &failed);
    s->k = dev_alloc(m, cap * kvd * f, &failed);
    s->v = dev_alloc(m, cap * kvd * f, &failed);
    s->attn = dev_alloc(m, cap * qd * f, &failed);
    s->proj = dev_alloc(m, cap * h * f, &failed);
    s->gate_up = dev_alloc(m, cap * 2 * inter * f, &failed);
    s->gu_split = dev_alloc(m, cap * 2 * inter * f, &failed);
    s->act = dev_alloc(m, cap * inter * f, &failed);
    s->ids = dev_alloc(m, cap * sizeof(int32_t), &failed);
    s->pos = dev_alloc(m, cap * sizeof(int32_t), &failed);
    s->slots = dev_alloc(m, cap * sizeof(int32_t), &failed);
    s->interleave = dev_alloc(m, 2 * cap * sizeof(int32_t), &failed);
    s->host_interleave = malloc(2 * cap * sizeof(int32_t));
    if (failed || !s->host_interleave) {
        free_token_buffers(m);
        snprintf(err, errlen, "out of device memory for a batch of %d tokens", n);
        return -1;
    }
    s->cap_tokens = (int)cap;
    return 0;
}

/* Grow one small buffer (sequence metadata, output rows) to `n` elements. */
static int ensure_buf(vr_model *m, void **buf, int *cap, int n, size_t elem, char *err,
                      size_t errlen) {
    if (n <= *cap && *buf)
        return 0;
    dev_free(m->be, *buf);
    *cap = 0;
    int want = n < 8 ? 8 : n;
    *buf = m->be->ops->alloc(m->be, (size_t)want * elem);
    if (!*buf) {
        snprintf(err, errlen, "out of device memory for batch metadata");
        return -1;
    }
    *cap = want;
    return 0;
}

static int ensure_scratch(vr_model *m, const vr_batch *b, char *err, size_t errlen) {
    vr_scratch *s = &m->s;
    const vr_model_config *c = &m->cfg;
    const int table = b->num_seqs * b->max_blocks_per_seq;
    const int out_n = b->num_outputs > 0 ? b->num_outputs : 1;
    if (ensure_tokens(m, b->num_tokens, err, errlen) ||
        ensure_buf(m, (void **)&s->query_start, &s->cap_qs, b->num_seqs + 1, sizeof(int32_t), err,
                   errlen) ||
        ensure_buf(m, (void **)&s->context_len, &s->cap_ctx, b->num_seqs, sizeof(int32_t), err,
                   errlen) ||
        ensure_buf(m, (void **)&s->block_table, &s->cap_table, table, sizeof(int32_t), err,
                   errlen) ||
        ensure_buf(m, (void **)&s->rows, &s->cap_rows, out_n, sizeof(int32_t), err, errlen))
        return -1;
    if (out_n <= s->cap_outputs)
        return 0;
    /* out_rows and logits scale with num_outputs: grown together. */
    dev_free(m->be, s->out_rows);
    dev_free(m->be, s->logits);
    s->cap_outputs = 0;
    s->out_rows = m->be->ops->alloc(m->be, (size_t)out_n * c->hidden_size * sizeof(float));
    s->logits = m->be->ops->alloc(m->be, (size_t)out_n * c->vocab_size * sizeof(float));
    if (!s->out_rows || !s->logits) {
        dev_free(m->be, s->out_rows);
        dev_free(m->be, s->logits);
        s->out_rows = s->logits = NULL;
        snprintf(err, errlen, "out of device memory for %d output rows", out_n);
        return -1;
    }
    s->cap_outputs = out_n;
    return 0;
}

/* ---- validation -------------------------------------------------------- */

static int validate(const vr_model *m, const vr_kv_cache *kv, const vr_batch *b, int *max_ctx,
                    int *max_q, char *err, size_t errlen) {
    const vr_model_config *c = &m->cfg;
    if (kv->m != m) {
        snprintf(err, errlen, "batch: the KV cache was created for another model");
        return -1;
    }
    const int T = b->num_tokens, S = b->num_seqs;
    if (T > (1 << 24)) { /* bounds every size computed from it below */
        snprintf(err, errlen, "batch: %d tokens is more than %d", T, 1 << 24);
        return -1;
    }
    if (T < 1 || S < 1 || S > T) {
        snprintf(err, errlen, "batch: %d tokens in %d sequences (need 1 <= sequences <= tokens)", T,
                 S);
        return -1;
    }
    if (!b->token_ids || !b->positions || !b->slot || !b->query_start || !b->context_len ||
        !b->block_table || (b->num_outputs > 0 && !b->output_rows)) {
        snprintf(err, errlen, "batch: a required array is NULL");
        return -1;
    }
    if (b->max_blocks_per_seq < 1 || (int64_t)S * b->max_blocks_per_seq > (1 << 30)) {
        snprintf(err, errlen, "batch: max_blocks_per_seq (%d) is out of range",
                 b->max_blocks_per_seq);
        return -1;
    }
    /* Rows may repeat (a request sampling n > 1 completions from one row),
     * so num_outputs may exceed num_tokens; the cap only bounds memory. */
    if (b->num_outputs < 0 || b->num_outputs > (1 << 20)) {
        snprintf(err, errlen, "batch: num_outputs (%d) must be in [0, %d]", b->num_outputs,
                 1 << 20);
        return -1;
    }
    if (b->output_kind != VR_OUTPUT_LOGITS && b->output_kind != VR_OUTPUT_HIDDEN) {
        snprintf(err, errlen, "batch: unknown output kind %d", (int)b->output_kind);
        return -1;
    }
    if (b->query_start[0] != 0 || b->query_start[S] != T) {
        snprintf(err, errlen, "batch: query_start must run from 0 to num_tokens (%d)", T);
        return -1;
    }
    const int64_t bs = kv->desc.block_size, nblocks = kv->desc.num_blocks;
    *max_ctx = 0;
    *max_q = 0;
    for (int s = 0; s < S; s++) {
        const int q0 = b->query_start[s], q1 = b->query_start[s + 1];
        if (q1 <= q0 || q1 > T) {
            snprintf(err, errlen, "batch: query_start must increase (sequence %d has [%d, %d))", s,
                     q0, q1);
            return -1;
        }
        const int ql = q1 - q0, ctx = b->context_len[s];
        if (ctx < ql || ctx > c->max_position_embeddings) {
            snprintf(err, errlen,
                     "batch: sequence %d has context_len %d, needs %d <= context_len <= max_position_embeddings (%d)",
                     s, ctx, ql, c->max_position_embeddings);
            return -1;
        }
        if ((int64_t)ctx > (int64_t)b->max_blocks_per_seq * bs) {
            snprintf(err, errlen,
                     "batch: sequence %d has context_len %d but its block table holds %lld tokens",
                     s, ctx, (long long)b->max_blocks_per_seq * bs);
            return -1;
        }
        const int32_t *table = b->block_table + (size_t)s * (size_t)b->max_blocks_per_seq;
        const int used = (int)(((int64_t)ctx + bs - 1) / bs);
        for (int i = 0; i < used; i++) {
            if (table[i] < 0 || table[i] >= nblocks) {
                snprintf(err, errlen, "batch: sequence %d block_table[%d] = %d is not a block in [0, %lld)",
                         s, i, table[i], (long long)nblocks);
                return -1;
            }
        }
        for (int t = q0; t < q1; t++) {
            const int32_t want_pos = ctx - ql + (t - q0);
            if (b->positions[t] != want_pos) {
                snprintf(err, errlen, "batch: token %d has position %d, but its sequence places it at %d",
                         t, b->positions[t], want_pos);
                return -1;
            }
            if (b->token_ids[t] < 0 || b->token_ids[t] >= c->vocab_size) {
                snprintf(err, errlen, "batch: token id %d (token %d) is outside the vocabulary [0, %d)",
                         b->token_ids[t], t, c->vocab_size);
                return -1;
            }
            /* The slot must be where attention will look for this position. */
            const int64_t want_slot = (int64_t)table[want_pos / bs] * bs + want_pos % bs;
            if (b->slot[t] != -1 && b->slot[t] != want_slot) {
                snprintf(err, errlen,
                         "batch: token %d has slot %d, but the block table puts position %d at slot %lld",
                         t, b->slot[t], want_pos, (long long)want_slot);
                return -1;
            }
        }
        if (ctx > *max_ctx)
            *max_ctx = ctx;
        if (ql > *max_q)
            *max_q = ql;
    }
    for (int i = 0; i < b->num_outputs; i++) {
        if (b->output_rows[i] < 0 || b->output_rows[i] >= T) {
            snprintf(err, errlen, "batch: output_rows[%d] = %d is not a token index in [0, %d)", i,
                     b->output_rows[i], T);
            return -1;
        }
    }
    return 0;
}

/* ---- the forward --------------------------------------------------------- */

/* Matmuls of several weights over one x: one backend call where the backend
 * has matmul_multi (one parallel region), else one matmul per weight. */
static void matmul_parts(vr_model *m, const vr_matmul_part *parts, int n, const float *x, int T,
                         int K) {
    const vr_backend_ops *op = m->be->ops;
    if (op->matmul_multi) {
        op->matmul_multi(m->be, parts, n, x, T, K);
        return;
    }
    for (int i = 0; i < n; i++)
        op->matmul(m->be, parts[i].y, x, parts[i].w, parts[i].wdt, parts[i].bias, T, parts[i].N,
                   K);
}

/* gate/up projections into the [T][2*inter] layout act_mul reads.
 * One token: the two halves of its row are contiguous, so each matmul writes
 * its half directly (the decode path: no extra copy). Several tokens: the
 * halves interleave per token, so gate and up go to two [T][inter] blocks of
 * one buffer and gather_rows interleaves them (a copy of T*2*inter floats,
 * small beside the matmuls). This keeps the weights zero-copy: no
 * concatenated gate_up weight is ever built. */
static void gate_up_proj(vr_model *m, const vr_layer_weights *L, int T) {
    vr_scratch *s = &m->s;
    const int h = m->cfg.hidden_size, inter = m->cfg.intermediate_size;
    if (T == 1) {
        const vr_matmul_part p[2] = {
            {s->gate_up, L->gate.dev, L->gate.dt, NULL, inter},
            {s->gate_up + inter, L->up.dev, L->up.dt, NULL, inter},
        };
        matmul_parts(m, p, 2, s->xn, 1, h);
        return;
    }
    float *g = s->gu_split, *u = s->gu_split + (size_t)T * inter;
    const vr_matmul_part p[2] = {
        {g, L->gate.dev, L->gate.dt, NULL, inter},
        {u, L->up.dev, L->up.dt, NULL, inter},
    };
    matmul_parts(m, p, 2, s->xn, T, h);
    m->be->ops->gather_rows(m->be, s->gate_up, s->gu_split, s->interleave, 2 * T, inter);
}

static void layer_forward(vr_model *m, vr_kv_cache *kv, int li, int T, const vr_attn_meta *meta) {
    const vr_backend_ops *op = m->be->ops;
    vr_backend *be = m->be;
    const vr_model_config *c = &m->cfg;
    const vr_layer_weights *L = &m->layers[li];
    vr_scratch *s = &m->s;
    const int h = c->hidden_size, H = c->num_heads, KV = c->num_kv_heads, hd = c->head_dim;
    const int qd = H * hd, kvd = KV * hd, inter = c->intermediate_size;
    const float eps = c->rms_norm_eps, off = c->norm_weight_offset;

    op->rmsnorm(be, s->xn, s->x, L->attn_norm.dev, L->attn_norm.dt, T, h, eps, off);
    const vr_matmul_part qkv[3] = {
        {s->q, L->q.dev, L->q.dt, L->q_bias.dev, qd},
        {s->k, L->k.dev, L->k.dt, L->k_bias.dev, kvd},
        {s->v, L->v.dev, L->v.dt, L->v_bias.dev, kvd},
    };
    matmul_parts(m, qkv, 3, s->xn, T, h);
    if (c->qk_norm) {
        op->rmsnorm(be, s->q, s->q, L->q_norm.dev, L->q_norm.dt, T * H, hd, eps, off);
        op->rmsnorm(be, s->k, s->k, L->k_norm.dev, L->k_norm.dt, T * KV, hd, eps, off);
    }
    op->rope(be, s->q, T, H, hd, s->pos, &m->rope);
    op->rope(be, s->k, T, KV, hd, s->pos, &m->rope);
    op->write_kv(be, kv->handle, li, s->k, s->v, s->slots, T);
    const float scale = 1.0f / sqrtf(c->query_pre_attn_scalar > 0 ? c->query_pre_attn_scalar
                                                                   : (float)hd);
    op->attention(be, s->attn, s->q, kv->handle, li, meta, H, KV, hd, scale, c->attn_softcap);
    op->matmul(be, s->proj, s->attn, L->o.dev, L->o.dt, L->o_bias.dev, T, h, qd);
    op->add(be, s->x, s->proj, (size_t)T * h);

    op->rmsnorm(be, s->xn, s->x, L->ffn_norm.dev, L->ffn_norm.dt, T, h, eps, off);
    gate_up_proj(m, L, T);
    op->act_mul(be, s->act, s->gate_up, T, inter, c->hidden_act);
    op->matmul(be, s->proj, s->act, L->down.dev, L->down.dt, NULL, T, h, inter);
    op->add(be, s->x, s->proj, (size_t)T * h);
}

int vr_model_forward(vr_model *m, vr_kv_cache *kv, const vr_batch *b, float *out, char *err,
                     size_t errlen) {
    if (!m || !kv || !b || (!out && b->num_outputs > 0)) {
        snprintf(err, errlen, "vr_model_forward: NULL argument");
        return -1;
    }
    int max_ctx, max_q;
    if (validate(m, kv, b, &max_ctx, &max_q, err, errlen) ||
        ensure_scratch(m, b, err, errlen))
        return -1;
    const vr_backend_ops *op = m->be->ops;
    vr_backend *be = m->be;
    const vr_model_config *c = &m->cfg;
    vr_scratch *s = &m->s;
    const int T = b->num_tokens, S = b->num_seqs;
    const size_t i32 = sizeof(int32_t);

    op->upload(be, s->ids, b->token_ids, (size_t)T * i32);
    op->upload(be, s->pos, b->positions, (size_t)T * i32);
    op->upload(be, s->slots, b->slot, (size_t)T * i32);
    op->upload(be, s->query_start, b->query_start, (size_t)(S + 1) * i32);
    op->upload(be, s->context_len, b->context_len, (size_t)S * i32);
    op->upload(be, s->block_table, b->block_table, (size_t)S * b->max_blocks_per_seq * i32);
    if (b->num_outputs > 0)
        op->upload(be, s->rows, b->output_rows, (size_t)b->num_outputs * i32);
    if (T > 1) {
        /* gate_up row 2t <- gate row t (split row t); row 2t+1 <- up row t (split row T+t) */
        for (int t = 0; t < T; t++) {
            s->host_interleave[2 * t] = t;
            s->host_interleave[2 * t + 1] = T + t;
        }
        op->upload(be, s->interleave, s->host_interleave, (size_t)(2 * T) * i32);
    }

    vr_attn_meta meta = {
        .num_tokens = T,
        .num_seqs = S,
        .query_start = s->query_start,
        .context_len = s->context_len,
        .positions = s->pos,
        .block_table = s->block_table,
        .max_blocks_per_seq = b->max_blocks_per_seq,
        .max_context_len = max_ctx,
        .max_query_len = max_q,
        .block_size = kv->desc.block_size,
        .sliding_window = c->sliding_window,
    };

    op->embedding(be, s->x, m->embed.dev, m->embed.dt, s->ids, T, c->hidden_size, c->embed_scale);
    for (int li = 0; li < c->num_layers; li++)
        layer_forward(m, kv, li, T, &meta);

    const int n = b->num_outputs;
    if (n == 0) {
        op->sync(be); /* the cache writes are the only result */
        return 0;
    }
    op->gather_rows(be, s->out_rows, s->x, s->rows, n, c->hidden_size);
    op->rmsnorm(be, s->out_rows, s->out_rows, m->final_norm.dev, m->final_norm.dt, n,
                c->hidden_size, c->rms_norm_eps, c->norm_weight_offset);
    if (b->output_kind == VR_OUTPUT_HIDDEN) {
        op->download(be, out, s->out_rows, (size_t)n * c->hidden_size * sizeof(float));
        return 0;
    }
    const vr_weight *lm = m->lm_head.dev ? &m->lm_head : &m->embed;
    op->matmul(be, s->logits, s->out_rows, lm->dev, lm->dt, NULL, n, c->vocab_size,
               c->hidden_size);
    op->download(be, out, s->logits, (size_t)n * c->vocab_size * sizeof(float));
    return 0;
}
