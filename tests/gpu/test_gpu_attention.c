/* tests/gpu/test_gpu_attention.c — write_kv, kv_copy_blocks and paged
 * attention of the GPU backend against the CPU backend.
 *
 * Each scenario is a flat batch of sequences (decodes, whole prompts,
 * prefill chunks continuing a cached context) with shuffled, non-contiguous
 * block tables. The cached tokens and this step's tokens are written through
 * write_kv on both backends (plus tokens with slot -1 that must not land
 * anywhere), then attention runs on both and every (token, head) output is
 * compared. Shapes cover odd head counts, GQA ratios 1..8, block sizes 1..32,
 * block boundaries, sliding windows, softcap, large scores, and contexts long
 * enough that decode splits them across blocks and reduces. A last pass
 * copies every block to a fresh id with kv_copy_blocks and checks attention
 * over the copies is unchanged, and (decode batches) that a sequence
 * attended alone gets the same bits as in the batch. Every case runs with the cache stored in
 * f32, bf16 and f16 (the CPU backend rounds the same way).
 * Skips (exit 77) when there is no GPU. */
#include "gt.h"

#define MAXS 80

typedef struct {
    const char *name;
    int heads, kv_heads, head_dim, block_size, sliding, nseqs;
    float softcap, qamp;
    int ctx[MAXS], qlen[MAXS];
} scenario;

static const scenario kFixed[] = {
    {"decode batch, GQA 4", 8, 2, 64, 16, 0, 5, 0, 1, {1, 15, 16, 17, 100}, {1, 1, 1, 1, 1}},
    {"prefill+chunk+decode, GQA 8", 8, 1, 128, 16, 0, 4, 0, 1, {37, 50, 33, 1}, {37, 20, 1, 1}},
    {"block size 1, MHA, odd heads", 3, 3, 16, 1, 0, 3, 0, 1, {5, 9, 1}, {5, 2, 1}},
    {"block size 32, GQA 2, sliding 7", 6, 3, 80, 32, 7, 3, 0, 1, {70, 40, 8}, {30, 1, 8}},
    {"sliding window of 1", 4, 4, 8, 16, 1, 2, 0, 1, {20, 3}, {4, 1}},
    {"softcap", 4, 2, 32, 16, 0, 3, 3.0f, 6, {24, 49, 2}, {24, 1, 1}},
    {"large scores", 2, 1, 64, 16, 0, 2, 0, 40, {64, 33}, {10, 1}},
    {"Qwen3-like decode", 16, 8, 128, 16, 0, 4, 0, 1, {130, 257, 16, 33}, {1, 1, 1, 1}},
    {"odd kv heads GQA 3, chunk", 15, 5, 24, 16, 0, 2, 0, 1, {90, 45}, {45, 45}},
    {"long decode split across blocks", 16, 8, 128, 16, 0, 2, 0, 1, {5000, 4097}, {1, 1}},
    {"long decode, head_dim 256, sliding 1000", 8, 4, 256, 16, 1000, 2, 0, 1, {3000, 999}, {1, 1}},
    {"long prefill chunk + long decode", 12, 4, 96, 16, 0, 3, 0, 1, {2100, 1500, 64}, {300, 1, 64}},
    {"head_dim 256 prefill, GQA 2", 4, 2, 256, 16, 0, 2, 0, 1, {70, 19}, {70, 3}},
};

static int sum(const int *a, int n) {
    int s = 0;
    for (int i = 0; i < n; i++) s += a[i];
    return s;
}

static void run(gt_rng *r, vr_backend *gpu, vr_backend *cpu, const scenario *sc, vr_dtype kvdt) {
    const int S = sc->nseqs, H = sc->heads, KV = sc->kv_heads, D = sc->head_dim;
    const int bs = sc->block_size;
    int mb = 0, max_ctx = 0, max_q = 0;
    for (int s = 0; s < S; s++) {
        int nb = (sc->ctx[s] + bs - 1) / bs;
        if (nb > mb) mb = nb;
        if (sc->ctx[s] > max_ctx) max_ctx = sc->ctx[s];
        if (sc->qlen[s] > max_q) max_q = sc->qlen[s];
    }
    const int total_blocks = mb * S;
    /* twice the blocks: the second half receives the kv_copy_blocks copies */
    vr_kv_cache_desc desc = {.num_layers = 2,
                             .num_blocks = 2 * total_blocks + 1,
                             .block_size = bs,
                             .num_kv_heads = KV,
                             .head_dim = D,
                             .dtype = kvdt};
    const int layer = 1;
    char err[256];
    void *kvc = cpu->ops->kv_create(cpu, &desc, err, sizeof err);
    void *kvg = gpu->ops->kv_create(gpu, &desc, err, sizeof err);
    GT_CHECK(kvc && kvg, "%s: kv_create: %s", sc->name, err);
    if (!kvc || !kvg) return;

    /* shuffled block ids 0..total_blocks-1 */
    int32_t *perm = gt_xmalloc((size_t)total_blocks * sizeof(int32_t));
    for (int i = 0; i < total_blocks; i++) perm[i] = i;
    for (int i = total_blocks - 1; i > 0; i--) {
        int j = gt_int(r, i + 1);
        int32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    int32_t *table = gt_xmalloc((size_t)S * mb * sizeof(int32_t));
    for (int i = 0; i < S * mb; i++) table[i] = perm[i];

    /* write every cached token (context) of every sequence, plus 3 skipped */
    const int ncache = sum(sc->ctx, S) + 3;
    const size_t row = (size_t)KV * D;
    float *k = gt_randf(r, (size_t)ncache * row, 1.0f), *v = gt_randf(r, (size_t)ncache * row, 1.0f);
    int32_t *slots = gt_xmalloc((size_t)ncache * sizeof(int32_t));
    int n = 0;
    for (int s = 0; s < S; s++)
        for (int j = 0; j < sc->ctx[s]; j++) {
            slots[n++] = table[s * mb + j / bs] * bs + j % bs;
            if (n == 5 || n == 40) slots[n++] = -1;
        }
    while (n < ncache) slots[n++] = -1;
    cpu->ops->write_kv(cpu, kvc, layer, k, v, slots, ncache);
    float *kg = gt_dev(gpu, k, (size_t)ncache * row * sizeof(float));
    float *vg = gt_dev(gpu, v, (size_t)ncache * row * sizeof(float));
    int32_t *slg = gt_dev(gpu, slots, (size_t)ncache * sizeof(int32_t));
    gpu->ops->write_kv(gpu, kvg, layer, kg, vg, slg, ncache);

    /* this step's queries */
    const int T = sum(sc->qlen, S);
    int32_t *qs = gt_xmalloc((size_t)(S + 1) * sizeof(int32_t));
    int32_t *pos = gt_xmalloc((size_t)T * sizeof(int32_t));
    qs[0] = 0;
    for (int s = 0; s < S; s++) {
        qs[s + 1] = qs[s] + sc->qlen[s];
        for (int i = 0; i < sc->qlen[s]; i++) pos[qs[s] + i] = sc->ctx[s] - sc->qlen[s] + i;
    }
    float *q = gt_randf(r, (size_t)T * H * D, sc->qamp);
    int32_t ctx[MAXS];
    memcpy(ctx, sc->ctx, sizeof ctx);
    vr_attn_meta mc = {T, S, qs, ctx, pos, table, mb, max_ctx, max_q, bs, sc->sliding};
    vr_attn_meta mg = mc;
    mg.query_start = gt_dev(gpu, qs, (size_t)(S + 1) * sizeof(int32_t));
    mg.context_len = gt_dev(gpu, ctx, (size_t)S * sizeof(int32_t));
    mg.positions = gt_dev(gpu, pos, (size_t)T * sizeof(int32_t));
    int32_t *tg = gt_dev(gpu, table, (size_t)S * mb * sizeof(int32_t));
    mg.block_table = tg;
    const float scale = 1.0f / sqrtf((float)D);
    size_t nout = (size_t)T * H * D;
    float *ref = gt_xmalloc(nout * sizeof(float));
    cpu->ops->attention(cpu, ref, q, kvc, layer, &mc, H, KV, D, scale, sc->softcap);
    float *qg = gt_dev(gpu, q, nout * sizeof(float));
    float *og = gt_dev(gpu, NULL, nout * sizeof(float));
    gpu->ops->attention(gpu, og, qg, kvg, layer, &mg, H, KV, D, scale, sc->softcap);
    float *o = gt_download(gpu, og, nout);
    double e = gt_rel_err(o, ref, nout);
    GT_CHECK(e <= 1e-4, "%s (KV %s): rel err %.3g", sc->name, vr_dtype_name(kvdt), e);

    /* batch invariance: a decode sequence attended alone gives the very bits
     * it got inside the batch (the split size does not depend on the batch) */
    if (max_q == 1 && max_ctx <= 4096)
        for (int s = 0; s < S; s += S > 1 ? S - 1 : 1) {
            int32_t qs1[2] = {0, 1}, ctx1[1] = {sc->ctx[s]}, pos1[1] = {pos[qs[s]]};
            vr_attn_meta m1 = {1, 1, gt_dev(gpu, qs1, sizeof qs1), gt_dev(gpu, ctx1, sizeof ctx1),
                               gt_dev(gpu, pos1, sizeof pos1),
                               gt_dev(gpu, table + (size_t)s * mb, (size_t)mb * sizeof(int32_t)),
                               mb, sc->ctx[s], 1, bs, sc->sliding};
            float *q1 = gt_dev(gpu, q + (size_t)qs[s] * H * D, (size_t)H * D * sizeof(float));
            float *o1g = gt_dev(gpu, NULL, (size_t)H * D * sizeof(float));
            gpu->ops->attention(gpu, o1g, q1, kvg, layer, &m1, H, KV, D, scale, sc->softcap);
            float *o1 = gt_download(gpu, o1g, (size_t)H * D);
            GT_CHECK(memcmp(o1, o + (size_t)qs[s] * H * D, (size_t)H * D * sizeof(float)) == 0,
                     "%s: sequence %d alone differs from its result in the batch", sc->name, s);
            gpu->ops->free(gpu, (void *)m1.query_start);
            gpu->ops->free(gpu, (void *)m1.context_len);
            gpu->ops->free(gpu, (void *)m1.positions);
            gpu->ops->free(gpu, (void *)m1.block_table);
            gpu->ops->free(gpu, q1);
            gpu->ops->free(gpu, o1g);
            free(o1);
        }

    /* kv_copy_blocks: blocks i -> total_blocks + i, table moved to the copies */
    int32_t *src = gt_xmalloc((size_t)total_blocks * sizeof(int32_t));
    int32_t *dst = gt_xmalloc((size_t)total_blocks * sizeof(int32_t));
    for (int i = 0; i < total_blocks; i++) {
        src[i] = i;
        dst[i] = total_blocks + i;
    }
    gpu->ops->kv_copy_blocks(gpu, kvg, src, dst, total_blocks);
    for (int i = 0; i < S * mb; i++) table[i] += total_blocks;
    gpu->ops->upload(gpu, tg, table, (size_t)S * mb * sizeof(int32_t));
    gpu->ops->attention(gpu, og, qg, kvg, layer, &mg, H, KV, D, scale, sc->softcap);
    float *o2 = gt_download(gpu, og, nout);
    GT_CHECK(memcmp(o, o2, nout * sizeof(float)) == 0, "%s: attention over copied blocks differs",
             sc->name);

    gpu->ops->free(gpu, kg);
    gpu->ops->free(gpu, vg);
    gpu->ops->free(gpu, slg);
    gpu->ops->free(gpu, (void *)mg.query_start);
    gpu->ops->free(gpu, (void *)mg.context_len);
    gpu->ops->free(gpu, (void *)mg.positions);
    gpu->ops->free(gpu, tg);
    gpu->ops->free(gpu, qg);
    gpu->ops->free(gpu, og);
    cpu->ops->kv_destroy(cpu, kvc);
    gpu->ops->kv_destroy(gpu, kvg);
    free(perm);
    free(table);
    free(k);
    free(v);
    free(slots);
    free(qs);
    free(pos);
    free(q);
    free(ref);
    free(o);
    free(o2);
    free(src);
    free(dst);
}

int main(void) {
    vr_backend *gpu = gt_open_gpu("gpu_test_attention");
    vr_backend *cpu = gt_open_cpu();
    gt_rng r = {7};
    const vr_dtype kvdts[] = {VR_F32, VR_BF16, VR_F16};
    for (int d = 0; d < 3; d++)
        for (size_t i = 0; i < sizeof kFixed / sizeof kFixed[0]; i++)
            run(&r, gpu, cpu, &kFixed[i], kvdts[d]);

    /* random mixes: many decodes with a few prefill chunks, random shapes */
    static const int hd[] = {32, 64, 80, 128, 256};
    for (int it = 0; it < 40; it++) {
        scenario sc;
        memset(&sc, 0, sizeof sc);
        sc.name = "random mix";
        sc.kv_heads = 1 + gt_int(&r, 6);
        sc.heads = sc.kv_heads * (1 + gt_int(&r, 8));
        sc.head_dim = hd[gt_int(&r, 5)];
        sc.block_size = (int[]){1, 8, 16, 32}[gt_int(&r, 4)];
        sc.sliding = gt_int(&r, 4) == 0 ? 1 + gt_int(&r, 300) : 0;
        sc.softcap = gt_int(&r, 5) == 0 ? 30.0f : 0.0f;
        sc.qamp = 1 + gt_int(&r, 4);
        sc.nseqs = 1 + gt_int(&r, it < 5 ? MAXS : 16);
        for (int s = 0; s < sc.nseqs; s++) {
            sc.ctx[s] = 1 + gt_int(&r, gt_int(&r, 4) == 0 ? 3000 : 200);
            sc.qlen[s] = gt_int(&r, 3) == 0 ? 1 + gt_int(&r, sc.ctx[s] < 300 ? sc.ctx[s] : 300) : 1;
        }
        run(&r, gpu, cpu, &sc, kvdts[it % 3]);
    }
    /* batch 64 x 4k decode: the benchmark's shape, checked for correctness */
    {
        scenario sc;
        memset(&sc, 0, sizeof sc);
        sc.name = "batch 64 x 4k decode";
        sc.heads = 16;
        sc.kv_heads = 8;
        sc.head_dim = 128;
        sc.block_size = 16;
        sc.qamp = 1;
        sc.nseqs = 64;
        for (int s = 0; s < 64; s++) {
            sc.ctx[s] = 4096 - s;
            sc.qlen[s] = 1;
        }
        run(&r, gpu, cpu, &sc, VR_F32);
        run(&r, gpu, cpu, &sc, VR_BF16);
    }
    int rc = gt_finish("gpu_test_attention", gpu);
    vr_backend_destroy(gpu);
    vr_backend_destroy(cpu);
    return rc;
}
