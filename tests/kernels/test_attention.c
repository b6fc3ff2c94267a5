/* tests/kernels/test_attention.c — write_kv + paged attention against a
 * plain double-precision softmax(q k^T) v over dense per-sequence K/V.
 *
 * Each scenario builds a flat batch of sequences (decodes, whole prompts and
 * prefill chunks that continue an already cached context), gives every
 * sequence a shuffled, non-contiguous block table, writes the cached tokens
 * and then this step's tokens through write_kv (as the engine does), and
 * compares attention's output for every token and head. */
#include "kt.h"

typedef struct {
    const char *name;
    int heads, kv_heads, head_dim, block_size, sliding, nseqs;
    float softcap, qamp; /* qamp scales q: large values test the softmax's stability */
    int ctx[8], qlen[8];
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
};

/* Double-precision reference for one token and head. */
static void ref_token(const scenario *sc, const double *Ks, const double *Vs, const float *qh,
                      int kvh, int pos, int ctx, float scale, double *out, double *bound) {
    int D = sc->head_dim, hi = pos < ctx - 1 ? pos : ctx - 1, lo = 0;
    if (sc->sliding > 0 && pos - sc->sliding + 1 > 0) lo = pos - sc->sliding + 1;
    int n = hi - lo + 1;
    double *sc_ = kt_xmalloc((size_t)n * sizeof(double));
    double mx = -INFINITY, mag = 0;
    for (int j = lo; j <= hi; j++) {
        const double *k = Ks + ((size_t)j * sc->kv_heads + kvh) * D;
        double s = 0, a = 0;
        for (int d = 0; d < D; d++) {
            s += qh[d] * k[d];
            a += fabs(qh[d] * k[d]);
        }
        s *= scale;
        a *= scale;
        if (sc->softcap > 0) s = sc->softcap * tanh(s / sc->softcap);
        if (a > mag) mag = a;
        sc_[j - lo] = s;
        if (s > mx) mx = s;
    }
    double sum = 0;
    for (int i = 0; i < n; i++) sum += (sc_[i] = exp(sc_[i] - mx));
    for (int d = 0; d < D; d++) out[d] = 0;
    for (int j = lo; j <= hi; j++) {
        const double *v = Vs + ((size_t)j * sc->kv_heads + kvh) * D;
        for (int d = 0; d < D; d++) out[d] += sc_[j - lo] / sum * v[d];
    }
    *bound = mag;
    free(sc_);
}

static float round_to(float f, vr_dtype dt) {
    if (dt == VR_BF16) return vr_bf16_to_f32(vr_f32_to_bf16(f));
    if (dt == VR_F16) return vr_f16_to_f32(vr_f32_to_f16(f));
    return f;
}

static void run_scenario(vr_backend *be, const char *cfg, const scenario *sc, vr_dtype kvdt,
                         kt_rng *r) {
    const int H = sc->heads, KVH = sc->kv_heads, D = sc->head_dim, bs = sc->block_size;
    int max_blocks = 0, ntok = 0, max_ctx = 0, max_q = 0;
    for (int s = 0; s < sc->nseqs; s++) {
        int nb = (sc->ctx[s] + bs - 1) / bs;
        if (nb > max_blocks) max_blocks = nb;
        ntok += sc->qlen[s];
        if (sc->ctx[s] > max_ctx) max_ctx = sc->ctx[s];
        if (sc->qlen[s] > max_q) max_q = sc->qlen[s];
    }
    /* A pool with spare blocks, handed out in shuffled order. */
    int nblocks = max_blocks * sc->nseqs + 3;
    int32_t *perm = kt_xmalloc((size_t)nblocks * sizeof(int32_t));
    for (int i = 0; i < nblocks; i++) perm[i] = i;
    for (int i = nblocks - 1; i > 0; i--) {
        int j = kt_int(r, i + 1);
        int32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    int32_t *bt = kt_xmalloc((size_t)sc->nseqs * max_blocks * sizeof(int32_t));
    for (int i = 0; i < sc->nseqs * max_blocks; i++) bt[i] = perm[i];

    char err[256];
    vr_kv_cache_desc desc = {.num_layers = 2, .num_blocks = nblocks, .block_size = bs,
                             .num_kv_heads = KVH, .head_dim = D, .dtype = kvdt};
    void *kv = be->ops->kv_create(be, &desc, err, sizeof err);
    KT_CHECK(kv != NULL, "kv_create: %s", err);
    if (!kv) return;
    const int layer = 1;

    size_t row = (size_t)KVH * D;
    double **Ks = kt_xmalloc((size_t)sc->nseqs * sizeof(double *));
    double **Vs = kt_xmalloc((size_t)sc->nseqs * sizeof(double *));
    float *q = kt_xmalloc((size_t)ntok * H * D * sizeof(float));
    float *out = kt_xmalloc((size_t)ntok * H * D * sizeof(float));
    float *knew = kt_xmalloc((size_t)ntok * row * sizeof(float));
    float *vnew = kt_xmalloc((size_t)ntok * row * sizeof(float));
    int32_t *slots = kt_xmalloc((size_t)ntok * sizeof(int32_t));
    int32_t *positions = kt_xmalloc((size_t)ntok * sizeof(int32_t));
    int32_t qs[9], cl[8];
    int t = 0;
    for (int s = 0; s < sc->nseqs; s++) {
        int ctx = sc->ctx[s], past = ctx - sc->qlen[s];
        Ks[s] = kt_xmalloc((size_t)ctx * row * sizeof(double));
        Vs[s] = kt_xmalloc((size_t)ctx * row * sizeof(double));
        float *kp = kt_xmalloc(((size_t)past * row + 1) * sizeof(float));
        float *vp = kt_xmalloc(((size_t)past * row + 1) * sizeof(float));
        int32_t *ps = kt_xmalloc(((size_t)past + 1) * sizeof(int32_t));
        for (int j = 0; j < ctx; j++) {
            float *kd = j < past ? kp + (size_t)j * row : knew + (size_t)(t + j - past) * row;
            float *vd = j < past ? vp + (size_t)j * row : vnew + (size_t)(t + j - past) * row;
            for (size_t i = 0; i < row; i++) {
                kd[i] = round_to(kt_uniform(r), kvdt); /* what the cache can hold */
                vd[i] = round_to(kt_uniform(r), kvdt);
                Ks[s][(size_t)j * row + i] = kd[i];
                Vs[s][(size_t)j * row + i] = vd[i];
            }
            int32_t slot = bt[s * max_blocks + j / bs] * bs + j % bs;
            if (j < past)
                ps[j] = slot;
            else {
                slots[t + j - past] = slot;
                positions[t + j - past] = j;
            }
        }
        /* the earlier steps' tokens, with one padding slot (-1) in between */
        if (past > 0) {
            int32_t keep = ps[0];
            ps[0] = -1;
            be->ops->write_kv(be, kv, layer, kp, vp, ps, past);
            ps[0] = keep;
            be->ops->write_kv(be, kv, layer, kp, vp, ps, 1);
        }
        free(kp);
        free(vp);
        free(ps);
        qs[s] = t;
        cl[s] = ctx;
        t += sc->qlen[s];
    }
    qs[sc->nseqs] = t;
    for (size_t i = 0; i < (size_t)ntok * H * D; i++) q[i] = kt_uniform(r) * sc->qamp;
    for (size_t i = 0; i < (size_t)ntok * H * D; i++) out[i] = NAN;
    be->ops->write_kv(be, kv, layer, knew, vnew, slots, ntok);
    /* layer 0 holds garbage that must not leak into layer 1 */
    for (int i = 0; i < ntok; i++) knew[i * row] = 1e30f;
    be->ops->write_kv(be, kv, 0, knew, vnew, slots, ntok);

    vr_attn_meta meta = {ntok, sc->nseqs, qs, cl, positions, bt, max_blocks, max_ctx, max_q, bs,
                         sc->sliding};
    float scale = 1.0f / sqrtf((float)D);
    be->ops->attention(be, out, q, kv, layer, &meta, H, KVH, D, scale, sc->softcap);

    double *ref = kt_xmalloc((size_t)D * sizeof(double));
    int bad = 0;
    for (int s = 0; s < sc->nseqs && bad < 3; s++)
        for (int tt = qs[s]; tt < qs[s + 1]; tt++)
            for (int h = 0; h < H; h++) {
                double bound;
                int kvh = h / (H / KVH);
                ref_token(sc, Ks[s], Vs[s], q + ((size_t)tt * H + h) * D, kvh, positions[tt], cl[s],
                          scale, ref, &bound);
                double tol = 2e-6 + 2e-6 * bound;
                for (int d = 0; d < D; d++) {
                    double got = out[((size_t)tt * H + h) * D + d];
                    if (!(fabs(got - ref[d]) <= tol)) bad++;
                    KT_CHECK(fabs(got - ref[d]) <= tol,
                             "%s attention '%s' kv %s seq %d token %d head %d dim %d: %.9g vs %.9g",
                             cfg, sc->name, vr_dtype_name(kvdt), s, tt, h, d, got, ref[d]);
                    if (bad >= 3) goto done;
                }
            }
done:
    /* kv_copy_blocks: copy seq 0's first block into a spare block and read it back
     * through a block table that points there. */
    if (sc->nseqs > 1) {
        int32_t src = bt[0], dst = perm[nblocks - 1];
        be->ops->kv_copy_blocks(be, kv, &src, &dst, 1);
        const vr_cpu_kv *ck = kv;
        for (int l = 0; l < 2; l++) {
            KT_CHECK(memcmp(vr_cpu_kv_row(ck->k, ck, l, src, 0, 0), vr_cpu_kv_row(ck->k, ck, l, dst, 0, 0),
                            ck->block_elems * ck->esize) == 0 &&
                         memcmp(vr_cpu_kv_row(ck->v, ck, l, src, 0, 0),
                                vr_cpu_kv_row(ck->v, ck, l, dst, 0, 0), ck->block_elems * ck->esize) == 0,
                     "kv_copy_blocks layer %d", l);
        }
    }
    free(ref);
    for (int s = 0; s < sc->nseqs; s++) {
        free(Ks[s]);
        free(Vs[s]);
    }
    free(Ks);
    free(Vs);
    free(q);
    free(out);
    free(knew);
    free(vnew);
    free(slots);
    free(positions);
    free(perm);
    free(bt);
    be->ops->kv_destroy(be, kv);
}

/* Random scenarios over the dimensions the fixed ones do not pin down. */
static void random_scenario(scenario *sc, kt_rng *r) {
    static const int ratios[] = {1, 2, 4, 8};
    static const int dims[] = {4, 16, 64, 72, 128};
    static const int bss[] = {1, 16, 32, 8};
    memset(sc, 0, sizeof *sc);
    sc->name = "random";
    sc->kv_heads = 1 + kt_int(r, 3);
    sc->heads = sc->kv_heads * ratios[kt_int(r, 4)];
    sc->head_dim = dims[kt_int(r, 5)];
    sc->block_size = bss[kt_int(r, 4)];
    sc->sliding = kt_int(r, 3) == 0 ? 1 + kt_int(r, 40) : 0;
    sc->softcap = kt_int(r, 4) == 0 ? 20.0f : 0.0f;
    sc->qamp = kt_int(r, 3) == 0 ? 8.0f : 1.0f;
    sc->nseqs = 1 + kt_int(r, 8);
    for (int s = 0; s < sc->nseqs; s++) {
        sc->ctx[s] = 1 + kt_int(r, 120);
        int kind = kt_int(r, 3);
        sc->qlen[s] = kind == 0 ? 1 : kind == 1 ? sc->ctx[s] : 1 + kt_int(r, sc->ctx[s]);
    }
}

int main(void) {
    kt_config cfgs[8];
    int ncfg = kt_configs(cfgs, 8);
    for (int c = 0; c < ncfg; c++) {
        char name[64];
        snprintf(name, sizeof name, "[%s x%d]", vr_cpu_isa_name(cfgs[c].isa), cfgs[c].threads);
        vr_backend *be = kt_backend(cfgs[c].threads, cfgs[c].isa);
        kt_rng r = {42u + (uint64_t)c};
        static const vr_dtype kv_dtypes[] = {VR_F32, VR_BF16, VR_F16};
        for (int d = 0; d < 3; d++)
            for (size_t i = 0; i < sizeof kFixed / sizeof *kFixed; i++)
                run_scenario(be, name, &kFixed[i], kv_dtypes[d], &r);
        for (int i = 0; i < 40; i++) {
            scenario sc;
            random_scenario(&sc, &r);
            run_scenario(be, name, &sc, kv_dtypes[i % 3], &r);
        }
        vr_backend_destroy(be);
    }
    return kt_finish("test_attention");
}
