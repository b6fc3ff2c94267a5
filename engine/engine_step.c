/* engine/engine_step.c — one engine step: take the inbox, schedule, build
 * the flat batch, run the model, sample, apply stops, send deltas. */
#include "engine/engine_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int grow(void **p, int *cap, int need, size_t elem) {
    if (need <= *cap) return 0;
    int c = *cap ? *cap : 16;
    while (c < need) c *= 2;
    void *n = realloc(*p, (size_t)c * elem);
    if (!n) return -1;
    *p = n;
    *cap = c;
    return 0;
}
#define GROW(arr, cap, need) grow((void **)&(arr), &(cap), (need), sizeof *(arr))

/* Grow n parallel arrays of 4-byte elements (int32_t / int) to hold need. */
static int ensure_cap(int *cap, int need, int n, void **arrs[]) {
    if (need <= *cap) return 0;
    int c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    for (int i = 0; i < n; i++) {
        void *p = realloc(*arrs[i], (size_t)c * 4);
        if (!p) return -1;
        *arrs[i] = p;
    }
    *cap = c;
    return 0;
}

/* counters of one step, folded into the shared snapshot at its end */
typedef struct step_counts {
    uint64_t prompt, computed_prompt, generated, fin_stop, fin_length, fin_abort;
} step_counts;

/* ---- request bookkeeping ---- */

static int live_add(vr_engine *e, vr_request *r) {
    if (GROW(e->live, e->cap_live, e->n_live + 1)) return -1;
    e->live[e->n_live++] = r;
    return 0;
}

static void live_remove(vr_engine *e, vr_request *r) {
    for (int i = 0; i < e->n_live; i++)
        if (e->live[i] == r) {
            memmove(e->live + i, e->live + i + 1, (size_t)(e->n_live - i - 1) * sizeof *e->live);
            e->n_live--;
            return;
        }
}

static void touch(vr_engine *e, vr_request *r) {
    if (r->touched) return;
    if (GROW(e->touched, e->cap_touched, e->n_touched + 1)) return; /* deltas go out next time */
    r->touched = 1;
    e->touched[e->n_touched++] = r;
}

static void drop_seq(vr_engine *e, vr_request *r, int i) {
    vr_seq *q = r->outs[i].seq;
    if (!q) return;
    vr_sched_remove(&e->sched, q);
    vr_seq_destroy(q);
    r->outs[i].seq = NULL;
}

/* Send what each sequence has; when all are finished, the last delta says
 * so and the request is freed. */
static void flush_request(vr_engine *e, vr_request *r, const char *error, double now, step_counts *sc) {
    int all = 1, last = -1;
    for (int i = 0; i < r->n; i++) {
        all &= r->outs[i].finished;
        if (r->outs[i].finished && !r->outs[i].final_sent) {
            last = i;
            const char *why = r->outs[i].finish_reason;
            if (!strcmp(why, "stop")) sc->fin_stop++;
            else if (!strcmp(why, "length")) sc->fin_length++;
            else sc->fin_abort++;
        }
    }
    if (all) {
        for (int i = 0; i < r->n; i++) drop_seq(e, r, i);
        vr_engine_forget_id(e, r, r->queued);
        r->queued = 0;
    }
    for (int i = 0; i < r->n; i++) vr_request_emit(r, i, all && i == last, error, now);
    if (all) {
        live_remove(e, r);
        vr_request_destroy(r);
    }
}

static void abort_request(vr_engine *e, vr_request *r, const char *reason, const char *error,
                          double now, step_counts *sc) {
    for (int i = 0; i < r->n; i++)
        if (!r->outs[i].finished) {
            drop_seq(e, r, i);
            vr_request_finish_seq(r, i, reason);
        }
    flush_request(e, r, error, now, sc);
}

static void publish(vr_engine *e, const step_counts *sc, int tokens, double t0, double t1, double t2,
                    double t3);

void vr_engine_abort_all(vr_engine *e, const char *reason, const char *error) {
    step_counts sc = {0};
    double now = vr_now();
    pthread_mutex_lock(&e->mu);
    vr_request *in = e->inbox_head;
    e->inbox_head = e->inbox_tail = NULL;
    for (int i = 0; i < e->n_aborts; i++) free(e->aborts[i]);
    e->n_aborts = 0;
    pthread_mutex_unlock(&e->mu);
    while (in) {
        vr_request *next = in->next;
        if (live_add(e, in) == 0) {
            abort_request(e, in, reason, error, now, &sc);
        } else { /* no room to track it: still tell its owner, then free */
            vr_engine_forget_id(e, in, in->queued);
            in->queued = 0;
            for (int i = 0; i < in->n; i++) vr_request_finish_seq(in, i, reason);
            for (int i = 0; i < in->n; i++) vr_request_emit(in, i, i == in->n - 1, error, now);
            vr_request_destroy(in);
        }
        in = next;
    }
    while (e->n_live) abort_request(e, e->live[e->n_live - 1], reason, error, now, &sc);
    publish(e, &sc, 0, now, now, now, now);
}

static vr_request *live_find(vr_engine *e, const char *id) {
    for (int i = 0; i < e->n_live; i++)
        if (!strcmp(e->live[i]->id, id)) return e->live[i];
    return NULL;
}

/* A new request becomes a waiting sequence. */
static int admit(vr_engine *e, vr_request *r) {
    if (live_add(e, r)) return -1;
    vr_seq *q = vr_seq_create(r->prompt, r->n_prompt);
    if (!q) return -1;
    q->req = r;
    q->seq_index = 0;
    q->arrival = e->admitted++;
    q->priority = r->priority;
    q->extra_key = r->cache_salt ? vr_block_hash_bytes(r->cache_salt, strlen(r->cache_salt)) : 0;
    if (r->kind == VR_REQ_EMBED) {
        q->allow_prefix_hits = 0;
        q->allow_register = 0; /* computed by a separate forward in the same step */
    }
    if (r->plp) {
        q->allow_prefix_hits = 0; /* every prompt row's logits are needed */
        q->max_chunk = 256;       /* bounds the logits buffer */
    }
    q->fork_n = r->n;
    r->outs[0].seq = q;
    if (vr_sched_add_waiting(&e->sched, q)) {
        r->outs[0].seq = NULL;
        vr_seq_destroy(q);
        return -1;
    }
    return 0;
}

static void take_inbox(vr_engine *e, double now, step_counts *sc) {
    pthread_mutex_lock(&e->mu);
    vr_request *in = e->inbox_head;
    e->inbox_head = e->inbox_tail = NULL;
    char **ab = e->aborts;
    int n_ab = e->n_aborts;
    e->aborts = NULL;
    e->n_aborts = e->cap_aborts = 0;
    pthread_mutex_unlock(&e->mu);
    while (in) {
        vr_request *next = in->next;
        in->next = NULL;
        if (admit(e, in)) {
            if (!live_find(e, in->id) && live_add(e, in)) {
                /* cannot even track it: tell the owner and drop it */
                vr_engine_forget_id(e, in, in->queued);
                in->queued = 0;
                for (int i = 0; i < in->n; i++) vr_request_finish_seq(in, i, "abort");
                for (int i = 0; i < in->n; i++) vr_request_emit(in, i, i == in->n - 1, "out of memory", now);
                vr_request_destroy(in);
            } else {
                abort_request(e, in, "abort", "out of memory", now, sc);
            }
        }
        in = next;
    }
    for (int i = 0; i < n_ab; i++) {
        vr_request *r = live_find(e, ab[i]);
        if (r) abort_request(e, r, "abort", NULL, now, sc);
        free(ab[i]);
    }
    free(ab);
}

/* ---- the flat batch ---- */

/* How many output rows a scheduled sequence needs: its chunk's last row when
 * the chunk completes it, every row for prompt logprobs or mean pooling. */
static int rows_wanted(const vr_engine *e, const vr_seq *q, int num_new) {
    const vr_request *r = q->req;
    int completes = q->num_computed + num_new == q->n_tokens;
    if (r->kind == VR_REQ_EMBED) return e->pool_mean ? num_new : completes;
    if (r->plp && !r->plp_sent && q->seq_index == 0 && q->num_computed < r->n_prompt) return num_new;
    return completes;
}

static int build_and_run(vr_engine *e, vr_request_kind kind, double *build_s, char *err, size_t errlen) {
    double tb = vr_now();
    vr_sched_out *so = &e->sched.out;
    vr_batch_buf *bb = &e->bb;
    int bs = e->pool.block_size;
    int nt = 0, ns = 0, maxb = 1, nrows = 0;
    for (int i = 0; i < so->n; i++) {
        vr_seq *q = so->seqs[i];
        if (q->req->kind != kind) continue;
        nt += so->num_new[i];
        ns++;
        if (q->n_blocks > maxb) maxb = q->n_blocks;
        nrows += rows_wanted(e, q, so->num_new[i]);
    }
    if (!ns) return 0;
    if (ensure_cap(&bb->cap_tokens, nt, 3, (void **[]){(void **)&bb->tokens, (void **)&bb->positions,
                                                       (void **)&bb->slot}) ||
        ensure_cap(&bb->cap_rows, nt, 1, (void **[]){(void **)&bb->rows}) ||
        ensure_cap(&bb->cap_seqs, ns + 1, 2, (void **[]){(void **)&bb->query_start, (void **)&bb->context_len}) ||
        ensure_cap(&bb->cap_table, ns * maxb, 1, (void **[]){(void **)&bb->block_table}) ||
        ensure_cap(&bb->cap_sched, so->n, 2, (void **[]){(void **)&bb->row_first, (void **)&bb->row_count}))
        goto oom;
    int dim = kind == VR_REQ_EMBED ? e->info.hidden_size : e->info.vocab_size;
    size_t need = (size_t)(nrows ? nrows : 1) * (size_t)dim;
    if (need > bb->cap_out[kind]) {
        float *o = realloc(bb->out[kind], need * sizeof *o);
        if (!o) goto oom;
        bb->out[kind] = o;
        bb->cap_out[kind] = need;
    }

    int t = 0, s = 0, row = 0;
    for (int i = 0; i < so->n; i++) {
        vr_seq *q = so->seqs[i];
        if (q->req->kind != kind) continue;
        int n = so->num_new[i], c = q->num_computed;
        bb->query_start[s] = t;
        for (int k = 0; k < n; k++) {
            int pos = c + k;
            bb->tokens[t + k] = q->tokens[pos];
            bb->positions[t + k] = pos;
            bb->slot[t + k] = q->blocks[pos / bs] * bs + pos % bs;
        }
        bb->context_len[s] = c + n;
        int32_t *bt = bb->block_table + (size_t)s * maxb;
        memcpy(bt, q->blocks, (size_t)q->n_blocks * sizeof *bt);
        for (int k = q->n_blocks; k < maxb; k++) bt[k] = 0;
        int w = rows_wanted(e, q, n);
        bb->row_first[i] = row;
        bb->row_count[i] = w;
        for (int k = 0; k < w; k++) bb->rows[row + k] = t + n - w + k;
        row += w;
        t += n;
        s++;
    }
    bb->query_start[s] = t;
    vr_batch b = {
        .num_tokens = nt,
        .token_ids = bb->tokens,
        .positions = bb->positions,
        .slot = bb->slot,
        .num_seqs = ns,
        .query_start = bb->query_start,
        .context_len = bb->context_len,
        .block_table = bb->block_table,
        .max_blocks_per_seq = maxb,
        .num_outputs = nrows,
        .output_rows = bb->rows,
        .output_kind = kind == VR_REQ_EMBED ? VR_OUTPUT_HIDDEN : VR_OUTPUT_LOGITS,
    };
    *build_s += vr_now() - tb; /* batch building counts as scheduling work */
    if (e->runner.forward(e->runner.ctx, &b, bb->out[kind], err, errlen)) return -1;
    return nt;
oom:
    snprintf(err, errlen, "out of memory building a batch of %d tokens", nt);
    return -1;
}

/* ---- after the forward ---- */

static void sample_seq(vr_engine *e, vr_seq *q, float *row, const float *raw, double now,
                       step_counts *sc) {
    vr_request *r = q->req;
    vr_seq_out *o = &r->outs[q->seq_index];
    vr_sample_ctx ctx = {
        .p = &r->p,
        .prompt = r->prompt,
        .n_prompt = r->n_prompt,
        .output = q->tokens + q->n_prompt,
        .n_output = q->n_tokens - q->n_prompt,
        .eos_ids = e->eos,
        .n_eos = e->n_eos,
        .seed = r->seed,
        .seq_index = q->seq_index,
        .proc = e->opt.logits_processor,
        .proc_user = e->opt.logits_processor_user,
        .engine = e,
        .request_id = r->id,
    };
    int32_t tok = vr_sampler_sample(&ctx, row, e->info.vocab_size, &e->scratch);
    if (r->p.logprobs >= 0)
        vr_sampler_logprobs(raw, e->info.vocab_size, tok, r->p.logprobs, &o->new_lp, o->top_ids, o->top_lps);
    if (vr_seq_append(q, tok)) {
        vr_request_finish_seq(r, q->seq_index, "abort");
        drop_seq(e, r, q->seq_index);
        return;
    }
    if (r->t_first_token == 0) r->t_first_token = now;
    sc->generated++;
    vr_request_on_token(r, q->seq_index, tok, e->eos, e->n_eos, q->n_tokens, e->info.max_model_len);
    if (o->finished) drop_seq(e, r, q->seq_index);
}

/* The prompt is computed: fork the other n-1 sequences (sharing its blocks)
 * and sample one token for each from the same logits. */
static void sample_request_seqs(vr_engine *e, vr_seq *q, float *row, double now, step_counts *sc) {
    vr_request *r = q->req;
    int V = e->info.vocab_size;
    int forking = r->n > 1 && !r->forked;
    const float *raw = row;
    if (forking || r->p.logprobs >= 0) {
        memcpy(e->row_copy, row, (size_t)V * sizeof *row);
        raw = e->row_copy;
    }
    if (!forking) {
        sample_seq(e, q, row, raw, now, sc);
        return;
    }
    r->forked = 1;
    q->fork_n = 0;
    for (int i = 1; i < r->n; i++) {
        vr_seq *c = vr_seq_fork(&e->pool, q, i);
        if (!c || vr_sched_add_running(&e->sched, c)) {
            if (c) {
                vr_seq_release_blocks(&e->pool, c);
                vr_seq_destroy(c);
            }
            vr_request_finish_seq(r, i, "abort");
            continue;
        }
        r->outs[i].seq = c;
    }
    for (int i = 0; i < r->n; i++) {
        vr_seq *s = r->outs[i].seq;
        if (!s) continue;
        if (i) memcpy(row, e->row_copy, (size_t)V * sizeof *row);
        sample_seq(e, s, row, raw, now, sc);
    }
}

static void pool_embedding(vr_engine *e, vr_seq *q, const float *rows, int first_pos, int count,
                           double now, step_counts *sc) {
    vr_request *r = q->req;
    int H = e->info.hidden_size;
    for (int k = 0; k < count; k++) {
        int pos = first_pos + k;
        const float *x = rows + (size_t)k * H;
        if (e->pool_mean) {
            if (pos != r->emb_next) continue; /* recomputed after preemption: counted already */
            for (int d = 0; d < H; d++) r->emb[d] += x[d];
            r->emb_next++;
        } else if (pos == r->n_prompt - 1) {
            memcpy(r->emb, x, (size_t)H * sizeof *x);
        }
    }
    if (q->num_computed < q->n_tokens) return;
    double norm = 0;
    for (int d = 0; d < H; d++) norm += (double)r->emb[d] * r->emb[d];
    float inv = norm > 0 ? (float)(1.0 / sqrt(norm)) : 0.0f;
    for (int d = 0; d < H; d++) r->emb[d] *= inv;
    drop_seq(e, r, 0);
    r->outs[0].finished = 1;
    r->outs[0].finish_reason = "stop";
    sc->fin_stop++;
    vr_engine_forget_id(e, r, r->queued);
    r->queued = 0;
    vr_request_emit_embedding(r, r->emb, H, now);
    r->touched = 0;
    live_remove(e, r);
    vr_request_destroy(r);
}

static void process_outputs(vr_engine *e, double now, step_counts *sc) {
    vr_sched_out *so = &e->sched.out;
    vr_batch_buf *bb = &e->bb;
    int V = e->info.vocab_size, H = e->info.hidden_size;
    for (int i = 0; i < so->n; i++) {
        vr_seq *q = so->seqs[i];
        vr_request *r = q->req;
        int n = so->num_new[i];
        int c0 = q->num_computed - n;
        int w = bb->row_count[i];
        int first_pos = c0 + n - w;
        if (c0 < r->n_prompt) sc->computed_prompt += (uint64_t)((c0 + n < r->n_prompt ? c0 + n : r->n_prompt) - c0);
        if (r->kind == VR_REQ_EMBED) {
            pool_embedding(e, q, bb->out[VR_REQ_EMBED] + (size_t)bb->row_first[i] * H, first_pos, w, now, sc);
            continue;
        }
        float *rows = bb->out[VR_REQ_GENERATE] + (size_t)bb->row_first[i] * V;
        if (r->plp && !r->plp_sent && q->seq_index == 0) {
            int k = r->p.prompt_logprobs;
            for (int j = 0; j < w; j++) {
                int pos = first_pos + j;
                if (pos + 1 >= r->n_prompt) break;
                vr_sampler_logprobs(rows + (size_t)j * V, V, r->prompt[pos + 1], k, &r->plp[pos + 1],
                                    r->ptop_ids + (size_t)(pos + 1) * (k ? k : 1),
                                    r->ptop_lps + (size_t)(pos + 1) * (k ? k : 1));
            }
        }
        if (q->num_computed == q->n_tokens && w > 0) {
            sample_request_seqs(e, q, rows + (size_t)(w - 1) * V, now, sc);
            touch(e, r);
        }
    }
}

static void publish(vr_engine *e, const step_counts *sc, int tokens, double t0, double t1, double t2,
                    double t3) {
    pthread_mutex_lock(&e->stats_mu);
    vr_engine_stats *s = &e->stats;
    s->running = e->sched.n_running;
    s->waiting = e->sched.n_waiting;
    s->num_blocks = e->pool.num_blocks;
    s->free_blocks = e->pool.num_free;
    s->kv_usage = vr_block_pool_usage(&e->pool);
    s->prompt_tokens_total += sc->prompt;
    s->computed_prompt_tokens_total += sc->computed_prompt;
    s->generation_tokens_total += sc->generated;
    s->preemptions_total = e->sched.preemptions;
    s->prefix_cache_queries = e->sched.prefix_queries;
    s->prefix_cache_hits = e->sched.prefix_hits;
    s->requests_finished_stop += sc->fin_stop;
    s->requests_finished_length += sc->fin_length;
    s->requests_finished_abort += sc->fin_abort;
    if (tokens > 0) {
        s->steps_total++;
        s->step_time_total_s += t3 - t0;
        s->schedule_time_total_s += t1 - t0;
        s->forward_time_total_s += t2 - t1;
        s->sample_time_total_s += t3 - t2;
        s->last_step_time_s = t3 - t0;
        vr_stats_count_iteration(s, tokens);
    }
    e->has_work = e->sched.n_running + e->sched.n_waiting > 0;
    e->last_step_end = t3;
    vr_engine_stats snap = *s;
    pthread_mutex_unlock(&e->stats_mu);
    if (e->opt.log_stats && !e->opt.quiet) vr_stats_maybe_log(&e->acc, &snap, t3, e->has_work, stderr);
}

int vr_engine_run_step(vr_engine *e, char *err, size_t errlen) {
    step_counts sc = {0};
    double t0 = vr_now();
    take_inbox(e, t0, &sc);
    vr_sched_out *so = &e->sched.out;
    so->n = 0;
    if (e->sched.n_running + e->sched.n_waiting == 0) {
        publish(e, &sc, 0, t0, t0, t0, t0);
        return 0;
    }
    if (vr_sched_schedule(&e->sched)) {
        snprintf(err, errlen, "out of memory while scheduling");
        vr_engine_abort_all(e, "abort", "out of memory");
        return -1;
    }
    for (int i = 0; i < so->n; i++) {
        vr_request *r = so->seqs[i]->req;
        if (r->t_sched == 0) {
            r->t_sched = t0;
            r->cached_tokens = so->seqs[i]->num_cached_tokens;
            sc.prompt += (uint64_t)r->n_prompt;
        }
        if (r->queued) {
            vr_engine_leave_queue(e);
            r->queued = 0;
        }
    }
    if (so->n_cow) e->runner.copy_blocks(e->runner.ctx, so->cow_src, so->cow_dst, so->n_cow);
    double t1 = vr_now();
    int rc = 0;
    double build_s = 0;
    for (int kind = 0; kind < 2 && rc >= 0; kind++) rc = build_and_run(e, (vr_request_kind)kind, &build_s, err, errlen);
    double t2 = vr_now();
    t1 += build_s; /* [t0, t1): scheduling and batch building; [t1, t2): forward */
    if (rc < 0) {
        /* blocks registered at scheduling may hold nothing valid now */
        vr_block_pool_reset_cache(&e->pool);
        for (int i = 0; i < so->n; i++) touch(e, so->seqs[i]->req);
        for (int i = 0; i < e->n_touched; i++) {
            vr_request *r = e->touched[i];
            r->touched = 0;
            abort_request(e, r, "abort", err, t2, &sc);
        }
        e->n_touched = 0;
        so->n = 0;
        publish(e, &sc, 0, t0, t1, t2, vr_now());
        return -1;
    }
    vr_sched_commit(&e->sched);
    process_outputs(e, t2, &sc);
    for (int i = 0; i < e->n_touched; i++) {
        vr_request *r = e->touched[i];
        r->touched = 0;
        flush_request(e, r, NULL, t2, &sc);
    }
    e->n_touched = 0;
    double t3 = vr_now();
    publish(e, &sc, so->num_tokens, t0, t1, t2, t3);
    return so->num_tokens;
}
