/* tests/gpu/test_gpu_generate.c — end-to-end greedy generation on the tiny
 * f32 fixture models, GPU backend against CPU backend, through the model
 * layer (engine/model.h) the way the engine drives it.
 *
 * Four sequences join at different steps (so batches mix whole-prompt
 * prefills with decodes), blocks come from a scrambled free list, and every
 * step's logits from the GPU must pick the same greedy token as the CPU's
 * and sit within f32 tolerance of them. Both backends are fed the CPU's
 * tokens, so one early difference cannot hide later ones.
 * usage: test_gpu_generate MODELS_DIR [preset...]   (exit 77: no GPU) */
#include "engine/model.h"
#include "gt.h"

#define NSEQ 4
#define GEN 24
#define BS 16
#define NBLOCKS 64

typedef struct {
    int32_t ids[256];
    int len;      /* tokens known (prompt + generated) */
    int fed;      /* tokens already in the cache */
    int prompt;   /* prompt length */
    int join;     /* step at which it starts */
    int32_t blocks[NBLOCKS];
    int nblocks;
} seqst;

static int argmax(const float *v, int n) {
    int b = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[b]) b = i;
    return b;
}

static void run_preset(vr_backend *gpu, vr_backend *cpu, const char *dir, const char *preset) {
    char path[2048], err[512];
    snprintf(path, sizeof path, "%s/%s", dir, preset);
    vr_model_load_opts opts = {.dtype = VR_F32};
    vr_model *mc = NULL, *mg = NULL;
    vr_kv_cache *kc = NULL, *kg = NULL;
    if (vr_model_load(path, &opts, cpu, &mc, err, sizeof err) ||
        vr_model_load(path, &opts, gpu, &mg, err, sizeof err) ||
        vr_kv_cache_create(mc, NBLOCKS, BS, &kc, err, sizeof err) ||
        vr_kv_cache_create(mg, NBLOCKS, BS, &kg, err, sizeof err)) {
        GT_CHECK(0, "%s: %s", preset, err);
        goto done;
    }
    {
        const int vocab = vr_model_get_config(mc)->vocab_size;
        gt_rng r = {1234};
        seqst sq[NSEQ];
        memset(sq, 0, sizeof sq);
        const int prompts[NSEQ] = {5, 17, 40, 1}, joins[NSEQ] = {0, 0, 2, 5};
        int32_t freel[NBLOCKS];
        for (int i = 0; i < NBLOCKS; i++) freel[i] = (int32_t)((i * 37 + 11) % NBLOCKS);
        int nextb = 0;
        for (int s = 0; s < NSEQ; s++) {
            sq[s].prompt = sq[s].len = prompts[s];
            sq[s].join = joins[s];
            for (int i = 0; i < prompts[s]; i++) sq[s].ids[i] = gt_int(&r, vocab);
        }
        float *lc = gt_xmalloc((size_t)NSEQ * vocab * sizeof(float));
        float *lg = gt_xmalloc((size_t)NSEQ * vocab * sizeof(float));
        double worst = 0;
        int mismatches = 0;
        for (int step = 0; step < GEN + 6; step++) {
            int32_t tok[256], pos[256], slot[256], qs[NSEQ + 1], ctx[NSEQ], rows[NSEQ];
            int32_t table[NSEQ * NBLOCKS];
            int who[NSEQ], T = 0, S = 0;
            qs[0] = 0;
            for (int s = 0; s < NSEQ; s++) {
                seqst *q = &sq[s];
                if (step < q->join || q->len - q->prompt >= GEN) continue;
                int n = q->len - q->fed; /* the whole prompt, then one token */
                while (q->nblocks * BS < q->len) q->blocks[q->nblocks++] = freel[nextb++];
                for (int i = 0; i < n; i++) {
                    int p = q->fed + i;
                    tok[T] = q->ids[p];
                    pos[T] = p;
                    slot[T] = q->blocks[p / BS] * BS + p % BS;
                    T++;
                }
                memcpy(table + S * NBLOCKS, q->blocks, sizeof q->blocks);
                ctx[S] = q->len;
                qs[S + 1] = T;
                rows[S] = T - 1;
                who[S++] = s;
            }
            if (S == 0) break;
            vr_batch b = {T, tok, pos, slot, S, qs, ctx, table, NBLOCKS, S, rows, VR_OUTPUT_LOGITS};
            if (vr_model_forward(mc, kc, &b, lc, err, sizeof err) ||
                vr_model_forward(mg, kg, &b, lg, err, sizeof err)) {
                GT_CHECK(0, "%s step %d: %s", preset, step, err);
                break;
            }
            for (int i = 0; i < S; i++) {
                const float *a = lg + (size_t)i * vocab, *ref = lc + (size_t)i * vocab;
                double e = gt_rel_err(a, ref, (size_t)vocab);
                if (e > worst) worst = e;
                int tc = argmax(ref, vocab), tgp = argmax(a, vocab);
                if (tc != tgp) mismatches++;
                GT_CHECK(tc == tgp, "%s step %d seq %d: greedy cpu %d gpu %d", preset, step,
                         who[i], tc, tgp);
                seqst *q = &sq[who[i]];
                q->fed = q->len;
                q->ids[q->len++] = tc;
            }
        }
        GT_CHECK(worst <= 1e-3, "%s: logits rel err %.3g", preset, worst);
        printf("%s: %d greedy mismatches, worst logits rel err %.3g\n", preset, mismatches, worst);
        free(lc);
        free(lg);
    }
done:
    vr_kv_cache_free(kc);
    vr_kv_cache_free(kg);
    vr_model_free(mc);
    vr_model_free(mg);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODELS_DIR [preset...]\n", argv[0]);
        return 2;
    }
    vr_backend *gpu = gt_open_gpu("gpu_test_generate");
    vr_backend *cpu = gt_open_cpu();
    static const char *presets[] = {"qwen3-tiny-f32", "llama3-tiny-f32", "qwen2-tiny-f32",
                                    "mistral-tiny-f32"};
    if (argc > 2)
        for (int i = 2; i < argc; i++) run_preset(gpu, cpu, argv[1], argv[i]);
    else
        for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
            run_preset(gpu, cpu, argv[1], presets[i]);
    int rc = gt_finish("gpu_test_generate", gpu);
    vr_backend_destroy(gpu);
    vr_backend_destroy(cpu);
    return rc;
}
