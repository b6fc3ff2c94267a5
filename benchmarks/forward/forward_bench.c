/* benchmarks/forward/forward_bench.c — the model forward on the CPU backend:
 * prompt processing (one prefill batch of P tokens) and single-stream decode
 * (D steps of one token, from an empty cache like llama.cpp's tg), printed
 * beside this machine's memory read bandwidth measured in the same run and the
 * decode speed that bandwidth allows (weight bytes read per token / bandwidth).
 *
 *   forward_bench MODEL_DIR [--threads N] [--prompt P] [--decode D] [--reps R]
 *
 * Typical: tools/gen_fixture.py --preset qwen3-0.6b-bf16 --out /tmp/qwen3-0.6b
 *          forward_bench /tmp/qwen3-0.6b --threads 2
 *
 * Uses the model layer directly (engine/model.h), below the scheduler, so the
 * figures are the forward's own. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/model.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds of the whole process (all threads). On a shared machine the
 * wall clock includes waiting for a core; CPU time / threads is what the run
 * would take with the cores to itself (an estimate, printed beside). */
static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- memory bandwidth: threads summing disjoint slices of a big buffer ---- */

typedef struct bw_job {
    const uint64_t *p;
    size_t n;
    uint64_t sum;
} bw_job;

static void *bw_read(void *arg) {
    bw_job *j = arg;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = 0; i + 4 <= j->n; i += 4) { /* integer adds vectorize */
        s0 += j->p[i];
        s1 += j->p[i + 1];
        s2 += j->p[i + 2];
        s3 += j->p[i + 3];
    }
    j->sum = s0 + s1 + s2 + s3;
    return NULL;
}

/* Best of several passes over `bytes` of memory, read by `threads` threads. */
static double measure_bandwidth(size_t bytes, int threads, uint64_t *sink) {
    size_t n = bytes / sizeof(uint64_t);
    uint64_t *buf = malloc(n * sizeof *buf);
    if (!buf)
        return 0;
    for (size_t i = 0; i < n; i++) /* touch every page: no zero-page reads */
        buf[i] = i * 0x9E3779B97F4A7C15ull;
    double best = 1e30;
    bw_job jobs[64];
    pthread_t tid[64];
    if (threads > 64)
        threads = 64;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now_s();
        for (int t = 0; t < threads; t++) {
            size_t a = n * (size_t)t / (size_t)threads, b = n * (size_t)(t + 1) / (size_t)threads;
            jobs[t] = (bw_job){buf + a, b - a, 0};
            pthread_create(&tid[t], NULL, bw_read, &jobs[t]);
        }
        for (int t = 0; t < threads; t++) {
            pthread_join(tid[t], NULL);
            *sink += jobs[t].sum;
        }
        double dt = now_s() - t0;
        if (dt < best)
            best = dt;
    }
    free(buf);
    return (double)(n * sizeof *buf) / best;
}

/* Bytes of weights one decode step reads: every layer's matrices and norms,
 * the final norm and the lm_head (the embedding matrix when tied); of the
 * embedding itself only one row. */
static double weight_bytes_per_token(const vr_model_config *c) {
    double e = (double)vr_dtype_size(c->dtype);
    double h = c->hidden_size, qd = (double)c->num_heads * c->head_dim,
           kvd = (double)c->num_kv_heads * c->head_dim, inter = c->intermediate_size;
    double layer = h * qd * 2 + h * kvd * 2 + 3 * h * inter + 2 * h;
    if (c->qk_norm)
        layer += 2.0 * c->head_dim;
    if (c->attention_bias)
        layer += qd + 2 * kvd;
    return e * (c->num_layers * layer + h + (double)c->vocab_size * h + h);
}

typedef struct runner {
    vr_model *m;
    vr_kv_cache *kv;
    int32_t *table;
    int max_blocks, block_size;
    float *logits;
} runner;

/* Feed tokens [start, start + n) of ids into sequence 0; logits of the last. */
static int feed(runner *r, const int32_t *ids, int start, int n) {
    char err[256];
    int32_t *pos = malloc((size_t)n * sizeof *pos), *slot = malloc((size_t)n * sizeof *slot);
    if (!pos || !slot) {
        free(pos);
        free(slot);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        pos[i] = start + i;
        slot[i] = r->table[pos[i] / r->block_size] * r->block_size + pos[i] % r->block_size;
    }
    int32_t qs[2] = {0, n}, ctx = start + n, row = n - 1;
    vr_batch b = {n, ids + start, pos, slot, 1, qs, &ctx, r->table, r->max_blocks, 1, &row,
                  VR_OUTPUT_LOGITS};
    int rc = vr_model_forward(r->m, r->kv, &b, r->logits, err, sizeof err);
    if (rc)
        fprintf(stderr, "forward: %s\n", err);
    free(pos);
    free(slot);
    return rc;
}

static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

int main(int argc, char **argv) {
    const char *dir = NULL;
    int threads = 2, prompt = 512, decode = 128, reps = 3;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--prompt") == 0 && i + 1 < argc)
            prompt = atoi(argv[++i]);
        else if (strcmp(argv[i], "--decode") == 0 && i + 1 < argc)
            decode = atoi(argv[++i]);
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (argv[i][0] != '-' && !dir)
            dir = argv[i];
        else {
            fprintf(stderr, "usage: forward_bench MODEL_DIR [--threads N] [--prompt P] "
                            "[--decode D] [--reps R]\n");
            return 2;
        }
    }
    if (!dir || threads < 1 || prompt < 1 || decode < 1 || reps < 1) {
        fprintf(stderr, "usage: forward_bench MODEL_DIR [--threads N] [--prompt P] [--decode D]\n");
        return 2;
    }
    char err[512];
    vr_backend *be = vr_backend_cpu_create(threads, err, sizeof err);
    if (!be) {
        fprintf(stderr, "backend: %s\n", err);
        return 1;
    }
    double t0 = now_s();
    vr_model *m = NULL;
    if (vr_model_load(dir, NULL, be, &m, err, sizeof err)) {
        fprintf(stderr, "load: %s\n", err);
        vr_backend_destroy(be);
        return 1;
    }
    double load_s = now_s() - t0;
    const vr_model_config *c = vr_model_get_config(m);
    runner r = {.m = m, .block_size = 16};
    int total = prompt > decode + 1 ? prompt : decode + 1;
    r.max_blocks = (total + r.block_size - 1) / r.block_size;
    r.table = malloc((size_t)r.max_blocks * sizeof *r.table);
    r.logits = malloc((size_t)c->vocab_size * sizeof *r.logits);
    int32_t *ids = malloc((size_t)total * sizeof *ids);
    int rc = 1;
    if (!r.table || !r.logits || !ids ||
        vr_kv_cache_create(m, r.max_blocks, r.block_size, &r.kv, err, sizeof err)) {
        fprintf(stderr, "setup: %s\n", err);
        goto done;
    }
    for (int i = 0; i < r.max_blocks; i++)
        r.table[i] = i;
    uint32_t s = 1;
    for (int i = 0; i < total; i++) {
        s = s * 1664525u + 1013904223u;
        ids[i] = (int32_t)((s >> 8) % (uint32_t)(c->vocab_size < 30000 ? c->vocab_size : 30000));
    }

    printf("model: %s (%s, %d layers, hidden %d, %d/%d heads x %d, inter %d, vocab %d, %s)\n",
           dir, c->architecture, c->num_layers, c->hidden_size, c->num_heads, c->num_kv_heads,
           c->head_dim, c->intermediate_size, c->vocab_size, vr_dtype_name(c->dtype));
    printf("backend: %s, %d threads; load %.3f s\n", be->ops->name, threads, load_s);

    uint64_t sink = 0;
    double bw = measure_bandwidth((size_t)1 << 30, threads, &sink);
    double wbytes = weight_bytes_per_token(c);
    double bound = bw / wbytes;
    printf("memory read bandwidth (%d threads): %.2f GB/s\n", threads, bw / 1e9);
    printf("weights read per decode token: %.3f GB -> decode bound %.1f tok/s\n", wbytes / 1e9,
           bound);

    /* Prompt processing: one batch of `prompt` tokens; best of reps (the
     * first run also warms the page cache of the mmap'd weights). */
    if (feed(&r, ids, 0, 1)) /* warm-up: touches every weight page */
        goto done;
    double best_pp = 1e30, best_pp_cpu = 1e30;
    for (int rep = 0; rep < reps; rep++) {
        double a = now_s(), ac = cpu_s();
        if (feed(&r, ids, 0, prompt))
            goto done;
        double dt = now_s() - a, dc = cpu_s() - ac;
        if (dt < best_pp)
            best_pp = dt;
        if (dc < best_pp_cpu)
            best_pp_cpu = dc;
    }
    printf("pp%d: %.1f tok/s (%.3f s per prompt, best of %d); by CPU time / %d threads: %.1f tok/s\n",
           prompt, prompt / best_pp, best_pp, reps, threads, prompt / (best_pp_cpu / threads));

    /* Decode: from an empty cache, `decode` steps of one token each, greedy. */
    double best_tg = 1e30, best_tg_cpu = 1e30;
    for (int rep = 0; rep < reps; rep++) {
        int32_t *seq = ids; /* overwritten with greedy tokens after position 0 */
        double a = now_s(), ac = cpu_s();
        for (int i = 0; i < decode; i++) {
            if (feed(&r, seq, i, 1))
                goto done;
            seq[i + 1] = argmax(r.logits, c->vocab_size);
        }
        double dt = now_s() - a, dc = cpu_s() - ac;
        if (dt < best_tg)
            best_tg = dt;
        if (dc < best_tg_cpu)
            best_tg_cpu = dc;
    }
    double tg = decode / best_tg;
    printf("tg%d: %.1f tok/s (%.2f ms per token, best of %d) = %.0f%% of the bandwidth bound\n",
           decode, tg, 1e3 * best_tg / decode, reps, 100.0 * tg / bound);
    printf("tg%d by CPU time / %d threads: %.1f tok/s\n", decode, threads,
           decode / (best_tg_cpu / threads));
    double load[1];
    if (getloadavg(load, 1) == 1)
        printf("load average during the run: %.1f (figures are only meaningful near %d)\n",
               load[0], threads);
    printf("(bandwidth checksum %llu)\n", (unsigned long long)sink);
    rc = 0;
done:
    free(ids);
    free(r.table);
    free(r.logits);
    vr_kv_cache_free(r.kv);
    vr_model_free(m);
    vr_backend_destroy(be);
    return rc;
}
