/* tests/gpu/test_gpu_ops.c — every non-attention op of the GPU backend
 * against the CPU backend (the reference semantics) on random inputs of
 * many shapes: matmul (cuBLAS and the tiled kernel; f32/bf16/f16 weights;
 * with and without bias), rmsnorm (in place too, Gemma's offset), add,
 * embedding, rope (partial rotary, long positions, attn_factor), act_mul
 * (SiLU, GELU-tanh, GELU), gather_rows, memory round trips, and the
 * device argmax helper.
 * Skips (exit 77) when the machine has no GPU. */
#include "gt.h"

static vr_backend *gpu, *cpu;

/* tolerances, relative to the largest reference magnitude */
#define TOL_F32 2e-5      /* f32 arithmetic, different summation order */
#define TOL_MATMUL16 1e-2 /* x rounded to bf16/f16 for the tensor cores */

static void test_roundtrip(gt_rng *r) {
    size_t n = 1000003;
    float *h = gt_randf(r, n, 5.0f);
    float *d = gt_dev(gpu, h, n * sizeof(float));
    float *back = gt_download(gpu, d, n);
    GT_CHECK(memcmp(h, back, n * sizeof(float)) == 0, "upload/download round trip differs");
    gpu->ops->free(gpu, d);
    free(h);
    free(back);
    GT_CHECK(gpu->ops->memory_available(gpu) > 0, "memory_available is 0");
}

static void test_matmul_case(gt_rng *r, int M, int N, int K, vr_dtype dt, int with_bias,
                             int tiled) {
    float *xv = gt_randf(r, (size_t)M * K, 1.0f);
    float *wv = gt_randf(r, (size_t)N * K, 0.5f);
    float *bv = gt_randf(r, (size_t)N, 1.0f);
    void *wb = gt_weight_bytes(wv, (size_t)N * K, dt);
    void *bb = gt_weight_bytes(bv, (size_t)N, dt);
    void *wc = cpu->ops->upload_weight(cpu, wb, (size_t)N * K, dt);
    void *bc = cpu->ops->upload_weight(cpu, bb, (size_t)N, dt);
    void *wg = gpu->ops->upload_weight(gpu, wb, (size_t)N * K, dt);
    void *bg = gpu->ops->upload_weight(gpu, bb, (size_t)N, dt);
    GT_CHECK(wg && bg, "upload_weight returned NULL");
    float *yc = gt_xmalloc((size_t)M * N * sizeof(float));
    cpu->ops->matmul(cpu, yc, xv, wc, dt, with_bias ? bc : NULL, M, N, K);
    float *xg = gt_dev(gpu, xv, (size_t)M * K * sizeof(float));
    float *yg = gt_dev(gpu, NULL, (size_t)M * N * sizeof(float));
    gt_set_tiled(gpu, tiled);
    gpu->ops->matmul(gpu, yg, xg, wg, dt, with_bias ? bg : NULL, M, N, K);
    gt_set_tiled(gpu, 0);
    float *yh = gt_download(gpu, yg, (size_t)M * N);
    double tol = (dt == VR_F32 || tiled) ? 1e-4 : TOL_MATMUL16;
    double e = gt_rel_err(yh, yc, (size_t)M * N);
    GT_CHECK(e <= tol, "matmul M=%d N=%d K=%d %s bias=%d tiled=%d: rel err %.3g > %.3g", M, N, K,
             vr_dtype_name(dt), with_bias, tiled, e, tol);
    cpu->ops->free_weight(cpu, wc, wb);
    cpu->ops->free_weight(cpu, bc, bb);
    gpu->ops->free_weight(gpu, wg, wb);
    gpu->ops->free_weight(gpu, bg, bb);
    gpu->ops->free(gpu, xg);
    gpu->ops->free(gpu, yg);
    free(xv);
    free(wv);
    free(bv);
    free(wb);
    free(bb);
    free(yc);
    free(yh);
}

static void test_matmul(gt_rng *r) {
    static const int shapes[][3] = {{1, 1, 1},      {1, 64, 128},   {3, 17, 33},  {7, 1000, 96},
                                    {64, 256, 512}, {130, 70, 300}, {1, 3072, 1024},
                                    {33, 151, 1}};
    const vr_dtype dts[] = {VR_F32, VR_BF16, VR_F16};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int d = 0; d < 3; d++)
            for (int tiled = 0; tiled < 2; tiled++)
                test_matmul_case(r, shapes[s][0], shapes[s][1], shapes[s][2], dts[d],
                                 (int)((s + d) % 2), tiled);
}

static void test_rmsnorm(gt_rng *r) {
    static const int shapes[][2] = {{1, 1}, {3, 128}, {17, 1000}, {5, 4096}, {64, 2048}, {9, 80}};
    const vr_dtype dts[] = {VR_F32, VR_BF16, VR_F16};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int d = 0; d < 3; d++) {
            int rows = shapes[s][0], dim = shapes[s][1];
            float off = (s % 2) ? 1.0f : 0.0f;
            size_t n = (size_t)rows * dim;
            float *x = gt_randf(r, n, 3.0f);
            float *wv = gt_randf(r, (size_t)dim, 1.0f);
            void *wb = gt_weight_bytes(wv, (size_t)dim, dts[d]);
            void *wc = cpu->ops->upload_weight(cpu, wb, (size_t)dim, dts[d]);
            void *wg = gpu->ops->upload_weight(gpu, wb, (size_t)dim, dts[d]);
            float *ref = gt_xmalloc(n * sizeof(float));
            cpu->ops->rmsnorm(cpu, ref, x, wc, dts[d], rows, dim, 1e-6f, off);
            float *xg = gt_dev(gpu, x, n * sizeof(float));
            float *og = gt_dev(gpu, NULL, n * sizeof(float));
            gpu->ops->rmsnorm(gpu, og, xg, wg, dts[d], rows, dim, 1e-6f, off);
            float *o = gt_download(gpu, og, n);
            double e = gt_rel_err(o, ref, n);
            GT_CHECK(e <= TOL_F32, "rmsnorm %dx%d %s: rel err %.3g", rows, dim,
                     vr_dtype_name(dts[d]), e);
            /* in place (out aliases x), as the forward's q/k norms do */
            gpu->ops->rmsnorm(gpu, xg, xg, wg, dts[d], rows, dim, 1e-6f, off);
            float *o2 = gt_download(gpu, xg, n);
            GT_CHECK(memcmp(o, o2, n * sizeof(float)) == 0, "rmsnorm in place differs (%dx%d)",
                     rows, dim);
            cpu->ops->free_weight(cpu, wc, wb);
            gpu->ops->free_weight(gpu, wg, wb);
            gpu->ops->free(gpu, xg);
            gpu->ops->free(gpu, og);
            free(x);
            free(wv);
            free(wb);
            free(ref);
            free(o);
            free(o2);
        }
}

static void test_add(gt_rng *r) {
    const size_t ns[] = {1, 1000, (1u << 20) + 3};
    for (int i = 0; i < 3; i++) {
        size_t n = ns[i];
        float *x = gt_randf(r, n, 2.0f), *y = gt_randf(r, n, 2.0f);
        float *xg = gt_dev(gpu, x, n * sizeof(float)), *yg = gt_dev(gpu, y, n * sizeof(float));
        cpu->ops->add(cpu, x, y, n);
        gpu->ops->add(gpu, xg, yg, n);
        float *o = gt_download(gpu, xg, n);
        GT_CHECK(memcmp(o, x, n * sizeof(float)) == 0, "add n=%zu differs", n);
        gpu->ops->free(gpu, xg);
        gpu->ops->free(gpu, yg);
        free(x);
        free(y);
        free(o);
    }
}

static void test_embedding(gt_rng *r) {
    const vr_dtype dts[] = {VR_F32, VR_BF16, VR_F16};
    const int vocab = 100, dim = 67, ntok = 9;
    int32_t ids[9];
    for (int t = 0; t < ntok; t++) ids[t] = gt_int(r, vocab);
    ids[0] = vocab - 1;
    ids[1] = 0;
    for (int d = 0; d < 3; d++) {
        float *tv = gt_randf(r, (size_t)vocab * dim, 1.0f);
        void *tb = gt_weight_bytes(tv, (size_t)vocab * dim, dts[d]);
        void *tc = cpu->ops->upload_weight(cpu, tb, (size_t)vocab * dim, dts[d]);
        void *tg = gpu->ops->upload_weight(gpu, tb, (size_t)vocab * dim, dts[d]);
        float ref[9 * 67];
        float scale = d == 1 ? 8.1853f : 1.0f;
        cpu->ops->embedding(cpu, ref, tc, dts[d], ids, ntok, dim, scale);
        int32_t *idg = gt_dev(gpu, ids, sizeof ids);
        float *og = gt_dev(gpu, NULL, sizeof ref);
        gpu->ops->embedding(gpu, og, tg, dts[d], idg, ntok, dim, scale);
        float *o = gt_download(gpu, og, (size_t)ntok * dim);
        GT_CHECK(memcmp(o, ref, sizeof ref) == 0, "embedding %s differs", vr_dtype_name(dts[d]));
        cpu->ops->free_weight(cpu, tc, tb);
        gpu->ops->free_weight(gpu, tg, tb);
        gpu->ops->free(gpu, idg);
        gpu->ops->free(gpu, og);
        free(tv);
        free(tb);
        free(o);
    }
}

static void test_rope(gt_rng *r) {
    static const int cases[][4] = {/* ntok, nheads, head_dim, rotary_dim */
                                   {5, 3, 64, 64},
                                   {1, 16, 128, 128},
                                   {7, 2, 80, 40},
                                   {33, 8, 256, 128}};
    for (int c = 0; c < 4; c++) {
        int ntok = cases[c][0], nh = cases[c][1], hd = cases[c][2], rot = cases[c][3];
        size_t n = (size_t)ntok * nh * hd;
        float *x = gt_randf(r, n, 1.0f);
        int32_t *pos = gt_xmalloc((size_t)ntok * sizeof(int32_t));
        for (int t = 0; t < ntok; t++) pos[t] = t == 0 ? 0 : gt_int(r, 131072);
        float *inv = gt_xmalloc((size_t)(rot / 2) * sizeof(float));
        for (int i = 0; i < rot / 2; i++) inv[i] = (float)pow(1000000.0, -2.0 * i / rot);
        vr_rope rc = {rot, inv, c == 2 ? 1.3f : 1.0f};
        float *xg = gt_dev(gpu, x, n * sizeof(float));
        int32_t *pg = gt_dev(gpu, pos, (size_t)ntok * sizeof(int32_t));
        float *ig = gt_dev(gpu, inv, (size_t)(rot / 2) * sizeof(float));
        vr_rope rg = {rot, ig, rc.attn_factor};
        cpu->ops->rope(cpu, x, ntok, nh, hd, pos, &rc);
        gpu->ops->rope(gpu, xg, ntok, nh, hd, pg, &rg);
        float *o = gt_download(gpu, xg, n);
        double e = gt_rel_err(o, x, n);
        GT_CHECK(e <= TOL_F32, "rope ntok=%d heads=%d hd=%d rot=%d: rel err %.3g", ntok, nh, hd,
                 rot, e);
        gpu->ops->free(gpu, xg);
        gpu->ops->free(gpu, pg);
        gpu->ops->free(gpu, ig);
        free(x);
        free(pos);
        free(inv);
        free(o);
    }
}

static void test_act_mul(gt_rng *r) {
    const vr_activation acts[] = {VR_ACT_SILU, VR_ACT_GELU_TANH, VR_ACT_GELU};
    const int shapes[][2] = {{1, 1}, {7, 300}, {64, 3072}};
    for (int a = 0; a < 3; a++)
        for (int s = 0; s < 3; s++) {
            int ntok = shapes[s][0], inter = shapes[s][1];
            size_t n = (size_t)ntok * inter;
            float *gu = gt_randf(r, 2 * n, 8.0f);
            float *ref = gt_xmalloc(n * sizeof(float));
            cpu->ops->act_mul(cpu, ref, gu, ntok, inter, acts[a]);
            float *gug = gt_dev(gpu, gu, 2 * n * sizeof(float));
            float *og = gt_dev(gpu, NULL, n * sizeof(float));
            gpu->ops->act_mul(gpu, og, gug, ntok, inter, acts[a]);
            float *o = gt_download(gpu, og, n);
            double e = gt_rel_err(o, ref, n);
            GT_CHECK(e <= TOL_F32, "act_mul act=%d %dx%d: rel err %.3g", (int)acts[a], ntok,
                     inter, e);
            gpu->ops->free(gpu, gug);
            gpu->ops->free(gpu, og);
            free(gu);
            free(ref);
            free(o);
        }
}

static void test_gather_rows(gt_rng *r) {
    const int nsrc = 20, dim = 37, n = 11;
    float *src = gt_randf(r, (size_t)nsrc * dim, 1.0f);
    int32_t rows[11];
    for (int i = 0; i < n; i++) rows[i] = gt_int(r, nsrc);
    rows[0] = nsrc - 1;
    rows[1] = rows[2]; /* repeats are allowed */
    float ref[11 * 37];
    cpu->ops->gather_rows(cpu, ref, src, rows, n, dim);
    float *sg = gt_dev(gpu, src, (size_t)nsrc * dim * sizeof(float));
    int32_t *rg = gt_dev(gpu, rows, sizeof rows);
    float *og = gt_dev(gpu, NULL, sizeof ref);
    gpu->ops->gather_rows(gpu, og, sg, rg, n, dim);
    float *o = gt_download(gpu, og, (size_t)n * dim);
    GT_CHECK(memcmp(o, ref, sizeof ref) == 0, "gather_rows differs");
    gpu->ops->free(gpu, sg);
    gpu->ops->free(gpu, rg);
    gpu->ops->free(gpu, og);
    free(src);
    free(o);
}

/* the device argmax helper against the host loop the sampler uses */
static void test_argmax(gt_rng *r) {
    const int shapes[][2] = {{1, 1}, {3, 100}, {7, 151936}, {64, 32000}, {2, 5000}};
    for (int c = 0; c < 5; c++) {
        int rows = shapes[c][0], dim = shapes[c][1];
        size_t n = (size_t)rows * dim;
        float *x = gt_randf(r, n, 10.0f);
        if (c == 4) { /* ties: the lowest index wins */
            for (size_t i = 0; i < n; i++) x[i] = (float)gt_int(r, 3);
        }
        if (c == 2) x[(size_t)dim - 1] = 100.0f; /* the last index */
        float *xg = gt_dev(gpu, x, n * sizeof(float));
        int32_t *og = gt_dev(gpu, NULL, (size_t)rows * sizeof(int32_t));
        gt_argmax(gpu, og, xg, rows, dim);
        int32_t *o = gt_xmalloc((size_t)rows * sizeof(int32_t));
        gpu->ops->download(gpu, o, og, (size_t)rows * sizeof(int32_t));
        for (int rr = 0; rr < rows; rr++) {
            const float *xr = x + (size_t)rr * dim;
            int best = 0;
            for (int i = 1; i < dim; i++)
                if (xr[i] > xr[best]) best = i;
            GT_CHECK(o[rr] == best, "argmax %dx%d row %d: gpu %d host %d", rows, dim, rr, o[rr],
                     best);
        }
        gpu->ops->free(gpu, xg);
        gpu->ops->free(gpu, og);
        free(x);
        free(o);
    }
}

int main(void) {
    gpu = gt_open_gpu("gpu_test_ops");
    cpu = gt_open_cpu();
    gt_rng r = {42};
    test_roundtrip(&r);
    test_matmul(&r);
    test_rmsnorm(&r);
    test_add(&r);
    test_embedding(&r);
    test_rope(&r);
    test_act_mul(&r);
    test_gather_rows(&r);
    test_argmax(&r);
    int rc = gt_finish("gpu_test_ops", gpu);
    vr_backend_destroy(gpu);
    vr_backend_destroy(cpu);
    return rc;
}
