/* tests/engine/forward_dump.c — runs scripted batches through vr_model_forward
 * and writes what came out, for the python oracle (test_forward_ref.py) to
 * compare with the float64 reference.
 *
 *   forward_dump logits PLAN OUT.f32 [HIDDEN.f32]
 *   forward_dump greedy MODEL_DIR N ID,ID,...      (prints the N greedy ids)
 *   forward_dump rope MODEL_DIR   (prints the RoPE attention factor, then
 *                                  inv_freq, one per line, from config.json)
 *
 * PLAN is whitespace-separated text:
 *   model DIR
 *   threads T  block_size B  num_blocks N  dtype auto|f32|bf16|f16
 *   kv_dtype auto|f32|bf16|f16   (auto: the weights' dtype)
 *   kind logits|hidden
 *   seqs S
 *     LEN id id ... (S times: each sequence's whole token list)
 *   steps K
 *     C  seq n k  seq n k ...  (K times: C chunks; each feeds the next n
 *                               tokens of sequence seq and wants the rows
 *                               of its last k tokens, 0 <= k <= n)
 * The wanted rows (logits or final hidden states) are written as f32 in
 * plan order (step, chunk, token). With HIDDEN.f32, every step runs a second
 * time asking for the final hidden states of all its tokens (rewriting the
 * same K/V), written there: one process checks both outputs. Blocks are handed out from a free list in a
 * scrambled order so sequences own non-contiguous blocks, as in the engine.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/model.h"
#include "engine/model_internal.h"

#define MAX_SEQS 64

typedef struct seq {
    int len, done; /* tokens in total, tokens already fed */
    int32_t *ids;
    int32_t *blocks; /* [max_blocks] */
    int nblocks;
} seq;

typedef struct plan {
    char model[4096];
    int threads, block_size, num_blocks;
    vr_model_load_opts opts;
    vr_output_kind kind;
    int nseqs;
    seq seqs[MAX_SEQS];
} plan;

static int expect(FILE *f, const char *word) {
    char buf[64];
    if (fscanf(f, "%63s", buf) != 1 || strcmp(buf, word) != 0) {
        fprintf(stderr, "plan: expected '%s'\n", word);
        return -1;
    }
    return 0;
}

static vr_dtype dtype_named(const char *s) {
    return strcmp(s, "f32") == 0 ? VR_F32 : strcmp(s, "bf16") == 0 ? VR_BF16 : VR_F16;
}

static int read_header(FILE *f, plan *p) {
    char dt[16], kvdt[16];
    if (expect(f, "model") || fscanf(f, "%4095s", p->model) != 1 || expect(f, "threads") ||
        fscanf(f, "%d", &p->threads) != 1 || expect(f, "block_size") ||
        fscanf(f, "%d", &p->block_size) != 1 || expect(f, "num_blocks") ||
        fscanf(f, "%d", &p->num_blocks) != 1 || expect(f, "dtype") || fscanf(f, "%15s", dt) != 1 ||
        expect(f, "kv_dtype") || fscanf(f, "%15s", kvdt) != 1)
        return -1;
    memset(&p->opts, 0, sizeof p->opts);
    if (strcmp(dt, "auto") != 0) {
        p->opts.force_dtype = 1;
        p->opts.dtype = dtype_named(dt);
    }
    if (strcmp(kvdt, "auto") != 0) {
        p->opts.force_kv_dtype = 1;
        p->opts.kv_dtype = dtype_named(kvdt);
    }
    char kind[16];
    if (expect(f, "kind") || fscanf(f, "%15s", kind) != 1)
        return -1;
    p->kind = strcmp(kind, "hidden") == 0 ? VR_OUTPUT_HIDDEN : VR_OUTPUT_LOGITS;
    if (expect(f, "seqs") || fscanf(f, "%d", &p->nseqs) != 1 || p->nseqs < 1 ||
        p->nseqs > MAX_SEQS)
        return -1;
    int max_blocks = p->num_blocks;
    for (int s = 0; s < p->nseqs; s++) {
        seq *q = &p->seqs[s];
        if (fscanf(f, "%d", &q->len) != 1 || q->len < 1)
            return -1;
        q->ids = calloc((size_t)q->len, sizeof *q->ids);
        q->blocks = calloc((size_t)max_blocks, sizeof *q->blocks);
        if (!q->ids || !q->blocks)
            return -1;
        for (int i = 0; i < q->len; i++)
            if (fscanf(f, "%d", &q->ids[i]) != 1)
                return -1;
    }
    return 0;
}

static void free_plan(plan *p) {
    for (int s = 0; s < p->nseqs; s++) {
        free(p->seqs[s].ids);
        free(p->seqs[s].blocks);
    }
}

/* The free list: block ids in a fixed scrambled order. */
typedef struct pool {
    int32_t *ids;
    int n, next;
} pool;

static int pool_init(pool *pl, int n) {
    pl->ids = malloc((size_t)n * sizeof *pl->ids);
    if (!pl->ids)
        return -1;
    for (int i = 0; i < n; i++)
        pl->ids[i] = i;
    uint32_t r = 12345;
    for (int i = n - 1; i > 0; i--) {
        r = r * 1103515245u + 12345u;
        int j = (int)((r >> 8) % (uint32_t)(i + 1));
        int32_t t = pl->ids[i];
        pl->ids[i] = pl->ids[j];
        pl->ids[j] = t;
    }
    pl->n = n;
    pl->next = 0;
    return 0;
}

/* Make sure sequence q has blocks for `ctx` tokens. */
static int grow_seq(seq *q, pool *pl, int ctx, int bs) {
    while (q->nblocks * bs < ctx) {
        if (pl->next >= pl->n) {
            fprintf(stderr, "plan: out of KV blocks\n");
            return -1;
        }
        q->blocks[q->nblocks++] = pl->ids[pl->next++];
    }
    return 0;
}

static int run_logits(const char *plan_path, const char *out_path, const char *hid_path) {
    FILE *f = fopen(plan_path, "r");
    if (!f) {
        perror(plan_path);
        return 1;
    }
    plan p;
    memset(&p, 0, sizeof p);
    int rc = 1;
    char err[512];
    vr_backend *be = NULL;
    vr_model *m = NULL;
    vr_kv_cache *kv = NULL;
    pool pl = {0};
    FILE *out = NULL, *hout = NULL;
    int32_t *ids = NULL, *pos = NULL, *slot = NULL, *qs = NULL, *ctx = NULL, *table = NULL,
            *rows = NULL;
    float *logits = NULL, *hid = NULL;
    int32_t *all_rows = NULL;
    if (read_header(f, &p)) {
        fprintf(stderr, "plan: bad header\n");
        goto done;
    }
    be = vr_backend_cpu_create(p.threads, err, sizeof err);
    if (!be || vr_model_load(p.model, &p.opts, be, &m, err, sizeof err) ||
        vr_kv_cache_create(m, p.num_blocks, p.block_size, &kv, err, sizeof err)) {
        fprintf(stderr, "forward_dump: %s\n", err);
        goto done;
    }
    if (pool_init(&pl, p.num_blocks))
        goto done;
    out = fopen(out_path, "wb");
    if (!out) {
        perror(out_path);
        goto done;
    }
    if (hid_path && !(hout = fopen(hid_path, "wb"))) {
        perror(hid_path);
        goto done;
    }
    const int hidden = vr_model_get_config(m)->hidden_size;
    const int vocab = p.kind == VR_OUTPUT_HIDDEN ? vr_model_get_config(m)->hidden_size
                                                 : vr_model_get_config(m)->vocab_size;
    int nsteps;
    if (expect(f, "steps") || fscanf(f, "%d", &nsteps) != 1)
        goto done;
    for (int step = 0; step < nsteps; step++) {
        int nch;
        if (fscanf(f, "%d", &nch) != 1 || nch < 1 || nch > MAX_SEQS)
            goto done;
        int chunk_seq[MAX_SEQS], chunk_n[MAX_SEQS], chunk_k[MAX_SEQS], T = 0;
        for (int c = 0; c < nch; c++) {
            if (fscanf(f, "%d %d %d", &chunk_seq[c], &chunk_n[c], &chunk_k[c]) != 3 ||
                chunk_seq[c] < 0 || chunk_seq[c] >= p.nseqs || chunk_n[c] < 1 ||
                chunk_k[c] < 0 || chunk_k[c] > chunk_n[c] ||
                p.seqs[chunk_seq[c]].done + chunk_n[c] > p.seqs[chunk_seq[c]].len) {
                fprintf(stderr, "plan: bad chunk in step %d\n", step);
                goto done;
            }
            T += chunk_n[c];
        }
        const int mb = p.num_blocks;
        ids = realloc(ids, (size_t)T * sizeof *ids);
        pos = realloc(pos, (size_t)T * sizeof *pos);
        slot = realloc(slot, (size_t)T * sizeof *slot);
        rows = realloc(rows, (size_t)T * sizeof *rows);
        qs = realloc(qs, (size_t)(nch + 1) * sizeof *qs);
        ctx = realloc(ctx, (size_t)nch * sizeof *ctx);
        table = realloc(table, (size_t)nch * (size_t)mb * sizeof *table);
        logits = realloc(logits, (size_t)T * (size_t)vocab * sizeof *logits);
        hid = realloc(hid, (size_t)T * (size_t)hidden * sizeof *hid);
        all_rows = realloc(all_rows, (size_t)T * sizeof *all_rows);
        if (!ids || !pos || !slot || !rows || !qs || !ctx || !table || !logits || !hid ||
            !all_rows)
            goto done;
        int t = 0, nout = 0;
        for (int c = 0; c < nch; c++) {
            seq *q = &p.seqs[chunk_seq[c]];
            qs[c] = t;
            ctx[c] = q->done + chunk_n[c];
            if (grow_seq(q, &pl, ctx[c], p.block_size))
                goto done;
            memset(table + (size_t)c * mb, 0, (size_t)mb * sizeof *table);
            memcpy(table + (size_t)c * mb, q->blocks, (size_t)q->nblocks * sizeof *table);
            for (int i = 0; i < chunk_n[c]; i++, t++) {
                int ps = q->done + i;
                ids[t] = q->ids[ps];
                pos[t] = ps;
                slot[t] = q->blocks[ps / p.block_size] * p.block_size + ps % p.block_size;
                if (i >= chunk_n[c] - chunk_k[c])
                    rows[nout++] = t;
            }
            q->done += chunk_n[c];
        }
        qs[nch] = T;
        vr_batch b = {
            .num_tokens = T, .token_ids = ids, .positions = pos, .slot = slot,
            .num_seqs = nch, .query_start = qs, .context_len = ctx, .block_table = table,
            .max_blocks_per_seq = mb, .num_outputs = nout, .output_rows = rows,
            .output_kind = p.kind,
        };
        if (vr_model_forward(m, kv, &b, logits, err, sizeof err)) {
            fprintf(stderr, "forward_dump: step %d: %s\n", step, err);
            goto done;
        }
        if (fwrite(logits, sizeof *logits, (size_t)nout * vocab, out) != (size_t)nout * vocab) {
            perror(out_path);
            goto done;
        }
        if (hout) {
            for (int i = 0; i < T; i++)
                all_rows[i] = i;
            b.num_outputs = T;
            b.output_rows = all_rows;
            b.output_kind = VR_OUTPUT_HIDDEN;
            if (vr_model_forward(m, kv, &b, hid, err, sizeof err)) {
                fprintf(stderr, "forward_dump: step %d (hidden): %s\n", step, err);
                goto done;
            }
            if (fwrite(hid, sizeof *hid, (size_t)T * hidden, hout) != (size_t)T * hidden) {
                perror(hid_path);
                goto done;
            }
        }
    }
    rc = 0;
done:
    if (out && fclose(out) != 0)
        rc = 1;
    if (hout && fclose(hout) != 0)
        rc = 1;
    free(hid);
    free(all_rows);
    fclose(f);
    free(ids);
    free(pos);
    free(slot);
    free(rows);
    free(qs);
    free(ctx);
    free(table);
    free(logits);
    free(pl.ids);
    vr_kv_cache_free(kv);
    vr_model_free(m);
    if (be)
        vr_backend_destroy(be);
    free_plan(&p);
    return rc;
}

/* Greedy decoding of one sequence: prefill in one chunk, then one token per
 * step, argmax of the logits (lowest id on ties). */
static int run_greedy(const char *dir, int n, const char *csv) {
    char err[512];
    int32_t ids[4096];
    int len = 0;
    for (const char *s = csv; *s && len < 2048;) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s)
            break;
        ids[len++] = (int32_t)v;
        s = *end == ',' ? end + 1 : end;
    }
    if (len < 1 || n < 1 || len + n > 4096) {
        fprintf(stderr, "greedy: need 1..2048 prompt ids and 1 <= N\n");
        return 1;
    }
    int rc = 1;
    vr_backend *be = vr_backend_cpu_create(2, err, sizeof err);
    vr_model *m = NULL;
    vr_kv_cache *kv = NULL;
    float *logits = NULL;
    const int bs = 16, mb = 4096 / 16;
    int32_t table[4096 / 16];
    if (!be || vr_model_load(dir, NULL, be, &m, err, sizeof err) ||
        vr_kv_cache_create(m, mb, bs, &kv, err, sizeof err)) {
        fprintf(stderr, "greedy: %s\n", err);
        goto done;
    }
    for (int i = 0; i < mb; i++)
        table[i] = mb - 1 - i;
    const int vocab = vr_model_get_config(m)->vocab_size;
    logits = malloc((size_t)vocab * sizeof *logits);
    if (!logits)
        goto done;
    int done_tok = 0, total = len;
    for (int step = 0; step < n; step++) {
        int T = total - done_tok;
        int32_t pos[4096], slot[4096], qs[2] = {0, T}, ctx = total, row = T - 1;
        for (int i = 0; i < T; i++) {
            pos[i] = done_tok + i;
            slot[i] = table[pos[i] / bs] * bs + pos[i] % bs;
        }
        vr_batch b = {
            .num_tokens = T, .token_ids = ids + done_tok, .positions = pos, .slot = slot,
            .num_seqs = 1, .query_start = qs, .context_len = &ctx, .block_table = table,
            .max_blocks_per_seq = mb, .num_outputs = 1, .output_rows = &row,
            .output_kind = VR_OUTPUT_LOGITS,
        };
        if (vr_model_forward(m, kv, &b, logits, err, sizeof err)) {
            fprintf(stderr, "greedy: %s\n", err);
            goto done;
        }
        int best = 0;
        for (int v = 1; v < vocab; v++)
            if (logits[v] > logits[best])
                best = v;
        printf("%s%d", step ? "," : "", best);
        done_tok = total;
        ids[total++] = best;
    }
    printf("\n");
    rc = 0;
done:
    free(logits);
    vr_kv_cache_free(kv);
    vr_model_free(m);
    if (be)
        vr_backend_destroy(be);
    return rc;
}

static int run_rope(const char *dir) {
    vr_model_config c;
    vr_config_extra ex;
    char err[512];
    if (vr_config_load(dir, &c, &ex, err, sizeof err)) {
        fprintf(stderr, "rope: %s\n", err);
        return 1;
    }
    int half = vr_config_rotary_dim(&c) / 2;
    float *inv = malloc((size_t)half * sizeof *inv), att;
    if (!inv)
        return 1;
    vr_rope_inv_freq(&c, &ex, inv, &att);
    printf("%.9g\n", att);
    for (int i = 0; i < half; i++)
        printf("%.9g\n", inv[i]);
    free(inv);
    return 0;
}

int main(int argc, char **argv) {
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "logits") == 0)
        return run_logits(argv[2], argv[3], argc == 5 ? argv[4] : NULL);
    if (argc == 3 && strcmp(argv[1], "rope") == 0)
        return run_rope(argv[2]);
    if (argc == 5 && strcmp(argv[1], "greedy") == 0)
        return run_greedy(argv[2], atoi(argv[3]), argv[4]);
    fprintf(stderr, "usage: forward_dump logits PLAN OUT.f32 [HIDDEN.f32] | greedy MODEL_DIR N ID,ID,... | rope MODEL_DIR\n");
    return 2;
}
