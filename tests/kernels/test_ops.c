/* tests/kernels/test_ops.c — matmul, matmul_multi, rmsnorm, add, embedding, rope, act_mul
 * and gather_rows of every CPU kernel level and thread count against plain
 * double-precision loops, over many shapes (including sizes that are not
 * multiples of any vector width) and all weight dtypes. */
#include "kt.h"

static const vr_dtype kDtypes[] = {VR_F32, VR_BF16, VR_F16};

static void fill(float *x, size_t n, kt_rng *r, float amp) {
    for (size_t i = 0; i < n; i++) x[i] = kt_uniform(r) * amp;
}

static void test_matmul_shape(vr_backend *be, const char *cfg, vr_dtype dt, int M, int N, int K,
                              int with_bias, kt_rng *r) {
    kt_weight w, b;
    kt_weight_make(&w, be, dt, (size_t)N * K, r, 1.0f);
    if (with_bias) kt_weight_make(&b, be, dt, (size_t)N, r, 1.0f);
    float *x = kt_xmalloc((size_t)M * K * sizeof(float));
    float *y = kt_xmalloc((size_t)M * N * sizeof(float));
    fill(x, (size_t)M * K, r, 1.0f);
    for (size_t i = 0; i < (size_t)M * N; i++) y[i] = NAN; /* every output must be written */
    be->ops->matmul(be, y, x, w.dev, dt, with_bias ? b.dev : NULL, M, N, K);
    int bad = 0;
    for (int m = 0; m < M && bad < 3; m++)
        for (int n = 0; n < N && bad < 3; n++) {
            double ref = with_bias ? b.val[n] : 0.0, mag = fabs(ref);
            for (int k = 0; k < K; k++) {
                double p = (double)x[(size_t)m * K + k] * w.val[(size_t)n * K + k];
                ref += p;
                mag += fabs(p);
            }
            double got = y[(size_t)m * N + n];
            double tol = 2e-6 * mag * (1.0 + sqrt((double)K)) + 1e-30;
            if (!(fabs(got - ref) <= tol)) bad++;
            KT_CHECK(fabs(got - ref) <= tol, "%s matmul %s M=%d N=%d K=%d bias=%d y[%d][%d]=%.9g ref %.9g",
                     cfg, vr_dtype_name(dt), M, N, K, with_bias, m, n, got, ref);
        }
    free(x);
    free(y);
    kt_weight_free(&w, be);
    if (with_bias) kt_weight_free(&b, be);
}

/* matmul_multi must give each part exactly what matmul gives it alone (same
 * kernels, same column split), for mixed dtypes, biases and sizes, including
 * more parts than one call fuses and parts with N = 0. */
static void test_matmul_multi_shape(vr_backend *be, const char *cfg, int M, int K, int nparts,
                                    const int *Ns, const vr_dtype *dts, kt_rng *r) {
    kt_weight w[VR_MATMUL_MULTI_MAX + 2], b[VR_MATMUL_MULTI_MAX + 2];
    vr_matmul_part parts[VR_MATMUL_MULTI_MAX + 2];
    float *want[VR_MATMUL_MULTI_MAX + 2];
    float *x = kt_xmalloc((size_t)M * K * sizeof(float) + 1);
    fill(x, (size_t)M * K, r, 1.0f);
    for (int i = 0; i < nparts; i++) {
        kt_weight_make(&w[i], be, dts[i], (size_t)Ns[i] * K + 1, r, 1.0f);
        kt_weight_make(&b[i], be, dts[i], (size_t)Ns[i] + 1, r, 1.0f);
        size_t n = (size_t)M * Ns[i] + 1;
        parts[i] = (vr_matmul_part){kt_xmalloc(n * sizeof(float)), w[i].dev, dts[i],
                                    (i & 1) ? b[i].dev : NULL, Ns[i]};
        want[i] = kt_xmalloc(n * sizeof(float));
        for (size_t e = 0; e < n; e++) parts[i].y[e] = NAN;
        be->ops->matmul(be, want[i], x, w[i].dev, dts[i], parts[i].bias, M, Ns[i], K);
    }
    be->ops->matmul_multi(be, parts, nparts, x, M, K);
    for (int i = 0; i < nparts; i++) {
        size_t n = (size_t)M * Ns[i];
        KT_CHECK(memcmp(parts[i].y, want[i], n * sizeof(float)) == 0,
                 "%s matmul_multi M=%d K=%d part %d of %d (%s N=%d) differs from matmul", cfg, M,
                 K, i, nparts, vr_dtype_name(dts[i]), Ns[i]);
        free(parts[i].y);
        free(want[i]);
        kt_weight_free(&w[i], be);
        kt_weight_free(&b[i], be);
    }
    free(x);
}

static void test_matmul_multi(vr_backend *be, const char *cfg, kt_rng *r) {
    static const int qkv[] = {512, 128, 128};
    static const vr_dtype bf[] = {VR_BF16, VR_BF16, VR_BF16, VR_BF16, VR_BF16, VR_BF16};
    static const vr_dtype mixed[] = {VR_F32, VR_BF16, VR_F16, VR_BF16, VR_F32, VR_BF16};
    static const int odd[] = {33, 0, 300, 17, 64, 5};
    static const int Ms[] = {1, 2, 7, 40, 200};
    for (size_t mi = 0; mi < sizeof Ms / sizeof *Ms; mi++) {
        test_matmul_multi_shape(be, cfg, Ms[mi], 256, 3, qkv, bf, r);
        test_matmul_multi_shape(be, cfg, Ms[mi], 130, 4, odd, mixed, r);
        test_matmul_multi_shape(be, cfg, Ms[mi], 7, 2, odd + 2, bf, r);  /* K < 16: no packing */
        test_matmul_multi_shape(be, cfg, Ms[mi], 64, 6, odd, mixed, r); /* more than fused */
        test_matmul_multi_shape(be, cfg, Ms[mi], 0, 2, qkv, mixed, r);  /* K = 0: y = bias */
    }
}

static void test_matmul(vr_backend *be, const char *cfg, kt_rng *r) {
    static const int Ms[] = {1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 33, 64};
    static const int Ns[] = {1, 3, 8, 15, 16, 17, 33, 64, 100};
    static const int Ks[] = {1, 2, 7, 8, 16, 31, 64, 65, 130, 257};
    for (size_t d = 0; d < 3; d++)
        for (size_t mi = 0; mi < sizeof Ms / sizeof *Ms; mi++)
            for (size_t ni = 0; ni < sizeof Ns / sizeof *Ns; ni++) {
                int K = Ks[(mi * 7 + ni * 3 + d) % (sizeof Ks / sizeof *Ks)];
                test_matmul_shape(be, cfg, kDtypes[d], Ms[mi], Ns[ni], K, (int)((mi + ni) & 1), r);
            }
    /* Decode- and prefill-like shapes big enough to split across threads. */
    for (size_t d = 0; d < 3; d++) {
        test_matmul_shape(be, cfg, kDtypes[d], 1, 515, 256, 0, r);
        test_matmul_shape(be, cfg, kDtypes[d], 16, 300, 512, 1, r);
        test_matmul_shape(be, cfg, kDtypes[d], 40, 129, 200, 0, r);
        test_matmul_shape(be, cfg, kDtypes[d], 130, 70, 96, 1, r);
        test_matmul_shape(be, cfg, kDtypes[d], 200, 257, 129, 1, r); /* oneDNN for f32 */
        test_matmul_shape(be, cfg, kDtypes[d], 64, 48, 2048, 0, r);  /* several K blocks */
        test_matmul_shape(be, cfg, kDtypes[d], 3, 5, 0, 1, r);       /* K = 0: y = bias */
    }
}

static void test_rmsnorm(vr_backend *be, const char *cfg, kt_rng *r) {
    static const int dims[] = {1, 5, 8, 16, 33, 64, 128, 1000};
    for (size_t d = 0; d < 3; d++)
        for (size_t di = 0; di < sizeof dims / sizeof *dims; di++)
            for (int rows = 1; rows <= 37; rows += 12) {
                int dim = dims[di];
                float offset = (di & 1) ? 1.0f : 0.0f;
                float eps = 1e-6f;
                kt_weight w;
                kt_weight_make(&w, be, kDtypes[d], (size_t)dim, r, 1.0f);
                size_t n = (size_t)rows * dim;
                float *x = kt_xmalloc(n * sizeof(float)), *o = kt_xmalloc(n * sizeof(float));
                fill(x, n, r, 3.0f);
                int in_place = rows == 13;
                if (in_place) memcpy(o, x, n * sizeof(float));
                be->ops->rmsnorm(be, o, in_place ? o : x, w.dev, kDtypes[d], rows, dim, eps, offset);
                for (int row = 0; row < rows; row++) {
                    double ss = 0;
                    for (int i = 0; i < dim; i++) ss += (double)x[row * dim + i] * x[row * dim + i];
                    double inv = 1.0 / sqrt(ss / dim + eps);
                    for (int i = 0; i < dim; i++) {
                        double ref = x[row * dim + i] * inv * (offset + w.val[i]);
                        double got = o[row * dim + i];
                        KT_CHECK(fabs(got - ref) <= 2e-6 * (1 + fabs(ref)),
                                 "%s rmsnorm %s rows=%d dim=%d [%d][%d] %.9g vs %.9g", cfg,
                                 vr_dtype_name(kDtypes[d]), rows, dim, row, i, got, ref);
                    }
                }
                free(x);
                free(o);
                kt_weight_free(&w, be);
            }
}

static double act_ref(double g, vr_activation act) {
    switch (act) {
    case VR_ACT_SILU: return g / (1 + exp(-g));
    case VR_ACT_GELU_TANH:
        return 0.5 * g * (1 + tanh(sqrt(2 / 3.14159265358979323846) * (g + 0.044715 * g * g * g)));
    case VR_ACT_GELU: return 0.5 * g * (1 + erf(g / sqrt(2.0)));
    }
    return 0;
}

static void test_act_mul(vr_backend *be, const char *cfg, kt_rng *r) {
    static const int inters[] = {1, 7, 8, 9, 64, 100, 3072};
    for (int act = 0; act < 3; act++)
        for (size_t ii = 0; ii < sizeof inters / sizeof *inters; ii++)
            for (int ntok = 1; ntok <= 21; ntok += 10) {
                int inter = inters[ii];
                size_t n = (size_t)ntok * 2 * inter;
                float *g = kt_xmalloc(n * sizeof(float)), *o = kt_xmalloc(n * sizeof(float));
                fill(g, n, r, 12.0f); /* reaches both tails of the activations */
                if (ntok == 11) { /* extremes: exp overflow must not give NaN */
                    g[0] = -100.0f;
                    if (inter > 1) g[1] = 100.0f;
                    if (inter > 2) g[2] = -1000.0f;
                }
                int in_place = ntok == 21;
                float *dst = in_place ? kt_xmalloc(n * sizeof(float)) : o;
                if (in_place) memcpy(dst, g, n * sizeof(float));
                be->ops->act_mul(be, dst, in_place ? dst : g, ntok, inter, (vr_activation)act);
                for (int t = 0; t < ntok; t++)
                    for (int i = 0; i < inter; i++) {
                        double ref = act_ref(g[(size_t)t * 2 * inter + i], (vr_activation)act) *
                                     g[(size_t)t * 2 * inter + inter + i];
                        double got = dst[(size_t)t * inter + i];
                        KT_CHECK(fabs(got - ref) <= 3e-6 * (1 + fabs(ref)),
                                 "%s act %d inter=%d ntok=%d [%d][%d] %.9g vs %.9g (g=%g)", cfg, act,
                                 inter, ntok, t, i, got, ref, g[(size_t)t * 2 * inter + i]);
                    }
                if (in_place) free(dst);
                free(g);
                free(o);
            }
}

static void test_rope(vr_backend *be, const char *cfg, kt_rng *r) {
    static const int shapes[][3] = {/* head_dim, rotary_dim, nheads */
                                    {4, 4, 1}, {16, 16, 3}, {64, 32, 2}, {128, 128, 5}, {80, 64, 7}};
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
        int hd = shapes[si][0], rot = shapes[si][1], nh = shapes[si][2], ntok = 9;
        float *inv = kt_xmalloc((size_t)(rot / 2) * sizeof(float));
        for (int i = 0; i < rot / 2; i++) inv[i] = (float)pow(10000.0, -2.0 * i / rot);
        int32_t pos[9] = {0, 1, 2, 17, 100, 4095, 4096, 30000, si == 0 ? 131071 : 20001};
        size_t n = (size_t)ntok * nh * hd;
        float *x = kt_xmalloc(n * sizeof(float)), *x0 = kt_xmalloc(n * sizeof(float));
        fill(x0, n, r, 2.0f);
        memcpy(x, x0, n * sizeof(float));
        vr_rope rope = {rot, inv, si == 2 ? 1.25f : 1.0f};
        be->ops->rope(be, x, ntok, nh, hd, pos, &rope);
        for (int t = 0; t < ntok; t++)
            for (int h = 0; h < nh; h++) {
                const float *a = x0 + ((size_t)t * nh + h) * hd;
                const float *b = x + ((size_t)t * nh + h) * hd;
                for (int i = 0; i < hd; i++) {
                    double ref;
                    if (i >= rot) {
                        ref = a[i];
                    } else {
                        int j = i % (rot / 2);
                        double ang = (double)pos[t] * inv[j];
                        double c = cos(ang) * rope.attn_factor, s = sin(ang) * rope.attn_factor;
                        ref = i < rot / 2 ? a[i] * c - a[i + rot / 2] * s : a[i] * c + a[i - rot / 2] * s;
                    }
                    KT_CHECK(fabs(b[i] - ref) <= 2e-6 * (1 + fabs(ref)),
                             "%s rope hd=%d rot=%d pos=%d h=%d i=%d %.9g vs %.9g", cfg, hd, rot,
                             pos[t], h, i, b[i], ref);
                }
            }
        free(inv);
        free(x);
        free(x0);
    }
}

/* The backend caches cos/sin per position keyed by the inv_freq values:
 * new values behind the same pointer (a second model) must not reuse them. */
static void test_rope_cache_key(vr_backend *be, const char *cfg) {
    float inv[4] = {1.0f, 0.5f, 0.25f, 0.125f};
    vr_rope rope = {8, inv, 1.0f};
    int32_t pos[2] = {3, 2000};
    for (int round = 0; round < 3; round++) {
        float x[2 * 8], x0[2 * 8];
        for (int i = 0; i < 16; i++) x0[i] = x[i] = (float)(i + 1) * 0.1f;
        be->ops->rope(be, x, 2, 1, 8, pos, &rope);
        for (int t = 0; t < 2; t++)
            for (int i = 0; i < 4; i++) {
                double ang = (double)pos[t] * inv[i];
                double c = cos(ang) * rope.attn_factor, s = sin(ang) * rope.attn_factor;
                double r0 = x0[t * 8 + i] * c - x0[t * 8 + i + 4] * s;
                KT_CHECK(fabs(x[t * 8 + i] - r0) <= 1e-5, "%s rope cache round %d t %d i %d", cfg, round,
                         t, i);
            }
        inv[1] *= 1.5f; /* same pointer, new values */
        if (round == 1) rope.attn_factor = 1.1f;
    }
}

static void test_small_ops(vr_backend *be, const char *cfg, kt_rng *r) {
    /* add */
    for (size_t n = 0; n < 70; n += 9) {
        float x[70], y[70], x0[70];
        fill(x, n, r, 1.0f);
        fill(y, n, r, 1.0f);
        memcpy(x0, x, sizeof x0);
        be->ops->add(be, x, y, n);
        for (size_t i = 0; i < n; i++)
            KT_CHECK(x[i] == x0[i] + y[i], "%s add n=%zu i=%zu", cfg, n, i);
    }
    /* embedding with scale, every dtype */
    for (size_t d = 0; d < 3; d++) {
        int vocab = 50, dim = 37, ntok = 6;
        kt_weight tab;
        kt_weight_make(&tab, be, kDtypes[d], (size_t)vocab * dim, r, 1.0f);
        int32_t ids[6] = {0, 49, 3, 3, 17, 48};
        float out[6 * 37];
        float scale = d == 1 ? 6.0827625f : 1.0f;
        be->ops->embedding(be, out, tab.dev, kDtypes[d], ids, ntok, dim, scale);
        for (int t = 0; t < ntok; t++)
            for (int i = 0; i < dim; i++) {
                double ref = tab.val[(size_t)ids[t] * dim + i] * scale;
                KT_CHECK(fabs(out[t * dim + i] - ref) <= 1e-6 * fabs(ref), "%s embedding %s t=%d i=%d",
                         cfg, vr_dtype_name(kDtypes[d]), t, i);
            }
        kt_weight_free(&tab, be);
    }
    /* gather_rows, with repeats */
    {
        float src[10 * 13], dst[4 * 13];
        fill(src, 130, r, 1.0f);
        int32_t rows[4] = {9, 0, 4, 4};
        be->ops->gather_rows(be, dst, src, rows, 4, 13);
        for (int i = 0; i < 4; i++)
            KT_CHECK(memcmp(dst + i * 13, src + rows[i] * 13, 13 * sizeof(float)) == 0,
                     "%s gather row %d", cfg, i);
    }
}

int main(void) {
    kt_config cfgs[8];
    int ncfg = kt_configs(cfgs, 8);
    for (int c = 0; c < ncfg; c++) {
        char name[64];
        snprintf(name, sizeof name, "[%s x%d]", vr_cpu_isa_name(cfgs[c].isa), cfgs[c].threads);
        vr_backend *be = kt_backend(cfgs[c].threads, cfgs[c].isa);
        kt_rng r = {1234u + (uint64_t)c};
        test_matmul(be, name, &r);
        test_matmul_multi(be, name, &r);
        test_rmsnorm(be, name, &r);
        test_act_mul(be, name, &r);
        test_rope(be, name, &r);
        test_rope_cache_key(be, name);
        test_small_ops(be, name, &r);
        vr_backend_destroy(be);
    }
    return kt_finish("test_ops");
}
