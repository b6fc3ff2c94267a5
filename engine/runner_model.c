/* engine/runner_model.c — the real runner: a model folder on a backend, its
 * tokenizer, and a KV cache sized from the options. */
#include "engine/engine_internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/model_internal.h"
#include "tokenizer/tokenizer.h"

static int model_forward(void *ctx, const vr_batch *b, float *out, char *err, size_t errlen) {
    vr_engine *e = ctx;
    return vr_model_forward(e->model, e->kv, b, out, err, errlen);
}

static void model_copy_blocks(void *ctx, const int32_t *src, const int32_t *dst, int n) {
    vr_engine *e = ctx;
    vr_kv_cache_copy_blocks(e->kv, src, dst, n);
}

static void model_destroy(void *ctx) {
    vr_engine *e = ctx;
    if (e->kv) vr_kv_cache_free(e->kv);
    if (e->model) vr_model_free(e->model);
    if (e->be) vr_backend_destroy(e->be);
    e->kv = NULL;
    e->model = NULL;
    e->be = NULL;
}

static int is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 > cap) {
            cap = cap ? cap * 2 : 65536;
            char *b = realloc(buf, cap);
            if (!b) { free(buf); fclose(f); return NULL; }
            buf = b;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0) break;
    }
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

/* "auto" (or NULL) leaves *force at 0; otherwise sets *dt and *force. */
static int parse_dtype(const char *flag, const char *s, vr_dtype *dt, int *force, char *err,
                       size_t errlen) {
    if (!s || !strcmp(s, "auto")) return 0;
    *force = 1;
    if (!strcmp(s, "bfloat16") || !strcmp(s, "bf16")) *dt = VR_BF16;
    else if (!strcmp(s, "float16") || !strcmp(s, "half") || !strcmp(s, "fp16")) *dt = VR_F16;
    else if (!strcmp(s, "float32") || !strcmp(s, "float") || !strcmp(s, "fp32")) *dt = VR_F32;
    else {
        snprintf(err, errlen, "%s: '%s' is not one of auto, bfloat16, float16, float32", flag, s);
        return -1;
    }
    return 0;
}

/* generation_config "vllm": ignore the model's defaults; a folder: take them
 * from its generation_config.json instead. */
static int generation_defaults(const vr_engine_options *o, const vr_model_config *cfg,
                               vr_engine_info *in, char *err, size_t errlen) {
    const char *gc = o->generation_config;
    vr_model_config alt;
    const vr_model_config *src = cfg;
    if (gc && !strcmp(gc, "vllm")) return 0;
    if (gc && strcmp(gc, "auto")) {
        char p1[4096], p2[4096];
        snprintf(p1, sizeof p1, "%s/config.json", o->model_path);
        snprintf(p2, sizeof p2, "%s/generation_config.json", gc);
        size_t l1 = 0, l2 = 0;
        char *t1 = read_all(p1, &l1), *t2 = read_all(p2, &l2);
        vr_config_extra ex;
        int rc = (!t1 || !t2) ? -1 : vr_config_parse(t1, l1, t2, l2, &alt, &ex, err, errlen);
        if (!t2) snprintf(err, errlen, "--generation-config: cannot read %s", p2);
        free(t1);
        free(t2);
        if (rc) return -1;
        src = &alt;
    }
    in->has_temperature = src->has_temperature;
    in->gen_temperature = src->gen_temperature;
    in->has_top_p = src->has_top_p;
    in->gen_top_p = src->gen_top_p;
    in->has_top_k = src->has_top_k;
    in->gen_top_k = src->gen_top_k;
    in->has_repetition_penalty = src->has_repetition_penalty;
    in->gen_repetition_penalty = src->gen_repetition_penalty;
    in->has_max_new_tokens = src->has_max_new_tokens;
    in->gen_max_new_tokens = src->gen_max_new_tokens;
    return 0;
}

/* Sentence-transformers folders say how they pool in 1_Pooling/config.json. */
static int wants_mean_pooling(const vr_engine_options *o) {
    if (o->pooling && !strcmp(o->pooling, "mean")) return 1;
    if (o->pooling && !strcmp(o->pooling, "last")) return 0;
    char p[4096];
    snprintf(p, sizeof p, "%s/1_Pooling/config.json", o->model_path);
    size_t n;
    char *t = read_all(p, &n);
    if (!t) return 0;
    char *k = strstr(t, "\"pooling_mode_mean_tokens\"");
    int mean = k && strstr(k, "true") && (!strchr(k, ',') || strstr(k, "true") < strchr(k, ','));
    free(t);
    return mean;
}

int vr_engine_load_model(vr_engine *e, const vr_engine_options *o, vr_engine_info *in,
                         int *num_blocks, char *err, size_t errlen) {
    if (o->pooling && strcmp(o->pooling, "auto") && strcmp(o->pooling, "mean") && strcmp(o->pooling, "last")) {
        snprintf(err, errlen, "pooling: '%s' is not one of auto, last, mean", o->pooling);
        return VR_E_INVALID;
    }
    vr_model_load_opts lo = {0};
    if (parse_dtype("--dtype", o->dtype, &lo.dtype, &lo.force_dtype, err, errlen) ||
        parse_dtype("--kv-cache-dtype", o->kv_cache_dtype, &lo.kv_dtype, &lo.force_kv_dtype, err,
                    errlen))
        return VR_E_INVALID;
    vr_backend_options bo = {.device = o->device ? o->device : "auto", .num_threads = o->num_threads};
    e->be = vr_backend_create(&bo, err, errlen);
    if (!e->be) return VR_E_LOAD;
    e->runner = (vr_runner){.ctx = e, .forward = model_forward, .copy_blocks = model_copy_blocks,
                            .destroy = model_destroy};
    if (vr_model_load(o->model_path, &lo, e->be, &e->model, err, errlen)) return VR_E_LOAD;
    const vr_model_config *cfg = vr_model_get_config(e->model);
    in->architecture = cfg->architecture;
    in->dtype = vr_dtype_name(cfg->dtype);
    in->device = e->be->ops->name;
    in->vocab_size = cfg->vocab_size;
    in->hidden_size = cfg->hidden_size;
    in->bos_id = cfg->bos_token_id;
    if (o->max_model_len > cfg->max_position_embeddings) {
        snprintf(err, errlen, "--max-model-len %d is beyond the model's max_position_embeddings (%d)",
                 o->max_model_len, cfg->max_position_embeddings);
        return VR_E_INVALID;
    }
    in->max_model_len = o->max_model_len > 0 ? o->max_model_len : cfg->max_position_embeddings;
    e->n_eos = cfg->num_eos_token_ids < VR_ENGINE_MAX_EOS ? cfg->num_eos_token_ids : VR_ENGINE_MAX_EOS;
    for (int i = 0; i < e->n_eos; i++) e->eos[i] = cfg->eos_token_ids[i];
    if (generation_defaults(o, cfg, in, err, errlen)) return VR_E_INVALID;
    e->pool_mean = wants_mean_pooling(o);
    in->pooling = e->pool_mean ? "mean" : "last";

    /* tokenizer: optional (ids-only engines), but a broken one is an error */
    const char *tp = o->tokenizer_path ? o->tokenizer_path : o->model_path;
    char tj[4096];
    snprintf(tj, sizeof tj, "%s/tokenizer.json", tp);
    if (is_file(tp) || (is_dir(tp) && is_file(tj))) {
        if (vr_tokenizer_load(tp, &e->tok, err, errlen)) return VR_E_LOAD;
    } else if (o->tokenizer_path) {
        snprintf(err, errlen, "tokenizer: no tokenizer.json at %s", tp);
        return VR_E_LOAD;
    }

    /* KV cache */
    int bs = o->block_size > 0 ? o->block_size : 16;
    if (bs > 1024) {
        snprintf(err, errlen, "--block-size %d is too large (at most 1024)", bs);
        return VR_E_INVALID;
    }
    int max_seqs = o->max_num_seqs > 0 ? o->max_num_seqs : 256;
    size_t bpb = vr_kv_cache_bytes_per_block(e->model, bs);
    long need = (in->max_model_len + bs - 1) / bs;
    size_t budget = o->kv_cache_memory_bytes;
    if (!budget) {
        budget = e->be->ops->memory_available(e->be);
        /* no point holding more than every running sequence at full length */
        double full = (double)bpb * (double)need * (double)max_seqs;
        if ((double)budget > full) budget = (size_t)full;
    }
    size_t nb = bpb ? budget / bpb : 0;
    if (nb > (size_t)INT_MAX / 2) nb = (size_t)INT_MAX / 2;
    if ((long)nb < need) {
        snprintf(err, errlen,
                 "KV cache: %zu bytes hold %zu blocks of %d tokens (%zu bytes each), but one "
                 "request of max_model_len %d needs %ld blocks; raise --kv-cache-memory-bytes or "
                 "lower --max-model-len",
                 budget, nb, bs, bpb, in->max_model_len, need);
        return VR_E_LOAD;
    }
    if (vr_kv_cache_create(e->model, (int)nb, bs, &e->kv, err, errlen)) return VR_E_LOAD;
    in->kv_cache_dtype = vr_dtype_name(vr_kv_cache_dtype(e->kv));
    *num_blocks = (int)nb;
    return 0;
}
