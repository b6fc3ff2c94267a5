/* engine/config.c — config.json + generation_config.json -> vr_model_config.
 *
 * Defaults follow the Hugging Face config classes of each architecture, so a
 * field a real checkpoint leaves out means what it means in transformers.
 * Every field is type-checked; every problem is one line starting with the
 * file name. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"
#include "engine/model_internal.h"

typedef struct ctx {
    const char *file; /* "config.json" or "generation_config.json" */
    char *err;
    size_t errlen;
} ctx;

static int bad(ctx *c, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(c->err, c->errlen, "%s: %s", c->file, msg);
    return -1;
}

/* An absent key and an explicit null both mean "use the default". */
static const vr_json *field(const vr_json *obj, const char *key) {
    const vr_json *v = vr_jget(obj, key);
    return vr_jis(v, VR_JSON_NULL) ? NULL : v;
}

/* Integer field in [lo, hi]; *out keeps its value (the default) when absent
 * unless required. */
static int get_int(ctx *c, const vr_json *obj, const char *key, int required, int64_t lo,
                   int64_t hi, int *out) {
    const vr_json *v = field(obj, key);
    if (!v) {
        if (required)
            return bad(c, "%s is missing", key);
        return 0;
    }
    int64_t x;
    if (vr_jint64(v, &x))
        return bad(c, "%s must be an integer (got %s)", key, vr_jtype_of(v));
    if (x < lo || x > hi)
        return bad(c, "%s (%lld) must be in [%lld, %lld]", key, (long long)x, (long long)lo,
                   (long long)hi);
    *out = (int)x;
    return 0;
}

/* Number field; must be finite and > 0 when positive is set. */
static int get_float(ctx *c, const vr_json *obj, const char *key, int positive, float *out,
                     int *present) {
    const vr_json *v = field(obj, key);
    if (present)
        *present = v != NULL;
    if (!v)
        return 0;
    double d;
    if (vr_jdouble(v, &d))
        return bad(c, "%s must be a number (got %s)", key, vr_jtype_of(v));
    if (!isfinite(d) || fabs(d) > 3.0e38 || (positive && !(d > 0)))
        return bad(c, "%s (%g) must be a %snumber", key, d, positive ? "positive finite " : "finite ");
    *out = (float)d;
    return 0;
}

static int get_bool(ctx *c, const vr_json *obj, const char *key, int *out) {
    const vr_json *v = field(obj, key);
    if (!v)
        return 0;
    if (vr_jbool(v, out))
        return bad(c, "%s must be true or false (got %s)", key,
                   vr_jtype_of(v));
    return 0;
}

static int add_eos(ctx *c, vr_model_config *cfg, int64_t id) {
    if (id < 0 || id >= cfg->vocab_size)
        return bad(c, "eos_token_id %lld is outside the vocabulary [0, %d)", (long long)id,
                   cfg->vocab_size);
    for (int i = 0; i < cfg->num_eos_token_ids; i++)
        if (cfg->eos_token_ids[i] == id)
            return 0;
    if (cfg->num_eos_token_ids == VR_MAX_EOS_IDS)
        return bad(c, "more than %d distinct eos_token_id values", VR_MAX_EOS_IDS);
    cfg->eos_token_ids[cfg->num_eos_token_ids++] = (int)id;
    return 0;
}

/* eos_token_id: an int, a list of ints, or null/absent. */
static int get_eos(ctx *c, const vr_json *obj, vr_model_config *cfg) {
    const vr_json *v = field(obj, "eos_token_id");
    if (!v)
        return 0;
    int64_t id;
    if (vr_jis(v, VR_JSON_ARRAY)) {
        for (size_t i = 0; i < vr_jlen(v); i++) {
            if (vr_jint64(vr_jat(v, i), &id))
                return bad(c, "eos_token_id[%zu] must be an integer", i);
            if (add_eos(c, cfg, id))
                return -1;
        }
        return 0;
    }
    if (vr_jint64(v, &id))
        return bad(c, "eos_token_id must be an integer or a list of integers");
    return add_eos(c, cfg, id);
}

/* bos/pad ids: outside the vocabulary (some configs write -1) means absent. */
static int get_token_id(ctx *c, const vr_json *obj, const char *key, int vocab, int *out) {
    const vr_json *v = field(obj, key);
    if (!v)
        return 0;
    int64_t id;
    if (vr_jint64(v, &id))
        return bad(c, "%s must be an integer", key);
    if (id < 0) {
        *out = -1;
        return 0;
    }
    if (id >= vocab)
        return bad(c, "%s %lld is outside the vocabulary [0, %d)", key, (long long)id, vocab);
    *out = (int)id;
    return 0;
}

static int parse_rope_scaling(ctx *c, const vr_json *root, vr_model_config *cfg,
                              vr_config_extra *ex) {
    /* Newer transformers write "rope_parameters" (with rope_theta inside);
     * older ones "rope_scaling". */
    const vr_json *rs = field(root, "rope_scaling");
    const char *key = "rope_scaling";
    if (!rs) {
        rs = field(root, "rope_parameters");
        key = "rope_parameters";
    }
    if (!rs)
        return 0;
    if (!vr_jis(rs, VR_JSON_OBJECT))
        return bad(c, "%s must be an object or null", key);
    if (get_float(c, rs, "rope_theta", 1, &cfg->rope_theta, NULL))
        return -1;
    const vr_json *t = field(rs, "rope_type");
    if (!t)
        t = field(rs, "type");
    const char *type = "default";
    if (t && vr_jstr(t, &type, NULL))
        return bad(c, "%s.rope_type must be a string", key);
    if (strcmp(type, "default") == 0) {
        cfg->rope_scaling = VR_ROPE_NONE;
        return 0;
    }
    if (strcmp(type, "linear") == 0)
        cfg->rope_scaling = VR_ROPE_LINEAR;
    else if (strcmp(type, "dynamic") == 0)
        cfg->rope_scaling = VR_ROPE_DYNAMIC;
    else if (strcmp(type, "llama3") == 0)
        cfg->rope_scaling = VR_ROPE_LLAMA3;
    else if (strcmp(type, "yarn") == 0)
        cfg->rope_scaling = VR_ROPE_YARN;
    else
        return bad(c, "%s type '%.40s' is not supported (default, linear, dynamic, llama3, yarn)",
                   key, type);
    int has_factor = 0;
    if (get_float(c, rs, "factor", 1, &cfg->rope_factor, &has_factor))
        return -1;
    if (!has_factor)
        return bad(c, "%s.factor is missing", key);
    if (cfg->rope_scaling == VR_ROPE_LLAMA3) {
        int a = 0, b = 0;
        cfg->rope_original_max_pos = 0;
        if (get_float(c, rs, "low_freq_factor", 1, &cfg->rope_low_freq_factor, &a) ||
            get_float(c, rs, "high_freq_factor", 1, &cfg->rope_high_freq_factor, &b) ||
            get_int(c, rs, "original_max_position_embeddings", 1, 1, 1 << 30,
                    &cfg->rope_original_max_pos))
            return -1;
        if (!a || !b)
            return bad(c, "%s: llama3 scaling needs low_freq_factor and high_freq_factor", key);
        if (!(cfg->rope_high_freq_factor > cfg->rope_low_freq_factor))
            return bad(c, "%s: high_freq_factor must be greater than low_freq_factor", key);
    }
    if (cfg->rope_scaling == VR_ROPE_YARN) {
        cfg->rope_beta_fast = 32.0f;
        cfg->rope_beta_slow = 1.0f;
        cfg->rope_original_max_pos = 0;
        int has_att = 0;
        if (get_float(c, rs, "beta_fast", 1, &cfg->rope_beta_fast, NULL) ||
            get_float(c, rs, "beta_slow", 1, &cfg->rope_beta_slow, NULL) ||
            get_int(c, rs, "original_max_position_embeddings", 0, 1, 1 << 30,
                    &cfg->rope_original_max_pos) ||
            get_float(c, rs, "attention_factor", 1, &ex->rope_attn_factor, &has_att) ||
            get_float(c, rs, "mscale", 0, &ex->rope_mscale, NULL) ||
            get_float(c, rs, "mscale_all_dim", 0, &ex->rope_mscale_all_dim, NULL))
            return -1;
        ex->rope_mscale_set = has_att;
        /* As transformers (4.51) does: with the pretrained length given, the
         * factor is the ratio of the two context lengths (DeepSeek-V3 style
         * configs grow max_position_embeddings and keep "factor" apart). */
        if (cfg->rope_original_max_pos > 0)
            cfg->rope_factor =
                (float)((double)cfg->max_position_embeddings / cfg->rope_original_max_pos);
        else
            cfg->rope_original_max_pos = cfg->max_position_embeddings;
        ex->rope_yarn_truncate = 1;
        if (get_bool(c, rs, "truncate", &ex->rope_yarn_truncate))
            return -1;
    }
    return 0;
}

static int parse_arch(ctx *c, const vr_json *root, vr_model_config *cfg) {
    static const struct {
        const char *name, *model_type;
        vr_arch arch;
    } known[] = {
        {"LlamaForCausalLM", "llama", VR_ARCH_LLAMA},
        {"MistralForCausalLM", "mistral", VR_ARCH_MISTRAL},
        {"Qwen2ForCausalLM", "qwen2", VR_ARCH_QWEN2},
        {"Qwen3ForCausalLM", "qwen3", VR_ARCH_QWEN3},
    };
    const char *name = NULL;
    const vr_json *archs = field(root, "architectures");
    if (archs) {
        if (!vr_jis(archs, VR_JSON_ARRAY) || vr_jlen(archs) == 0 ||
            vr_jstr(vr_jat(archs, 0), &name, NULL))
            return bad(c, "architectures must be a non-empty list of strings");
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            if (strcmp(name, known[i].name) == 0)
                cfg->arch = known[i].arch;
    } else {
        /* No architectures list: fall back on model_type. */
        const char *mt;
        if (vr_jstr(field(root, "model_type"), &mt, NULL))
            return bad(c, "neither \"architectures\" nor \"model_type\" says what the model is");
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            if (strcmp(mt, known[i].model_type) == 0) {
                name = known[i].name;
                cfg->arch = known[i].arch;
            }
        if (!name)
            name = mt;
    }
    int found = 0;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(name, known[i].name) == 0)
            found = 1;
    if (!found)
        return bad(c,
                   "unsupported architecture '%.60s' (supported: LlamaForCausalLM, "
                   "MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM)",
                   name);
    snprintf(cfg->architecture, sizeof cfg->architecture, "%s", name);
    return 0;
}

static int parse_config(ctx *c, const vr_json *root, vr_model_config *cfg, vr_config_extra *ex) {
    if (!vr_jis(root, VR_JSON_OBJECT))
        return bad(c, "top level must be a JSON object");
    if (parse_arch(c, root, cfg))
        return -1;
    const int big = 1 << 30;
    if (get_int(c, root, "vocab_size", 1, 1, big, &cfg->vocab_size) ||
        get_int(c, root, "hidden_size", 1, 1, 1 << 20, &cfg->hidden_size) ||
        get_int(c, root, "intermediate_size", 1, 1, 1 << 22, &cfg->intermediate_size) ||
        get_int(c, root, "num_hidden_layers", 1, 1, 4096, &cfg->num_layers) ||
        get_int(c, root, "num_attention_heads", 1, 1, 4096, &cfg->num_heads))
        return -1;
    cfg->num_kv_heads = cfg->num_heads;
    if (get_int(c, root, "num_key_value_heads", 0, 1, 4096, &cfg->num_kv_heads))
        return -1;
    if (cfg->num_heads % cfg->num_kv_heads != 0)
        return bad(c, "num_key_value_heads (%d) must divide num_attention_heads (%d)",
                   cfg->num_kv_heads, cfg->num_heads);
    /* head_dim: explicit in Qwen3 (default 128 there) and newer Llama/Mistral
     * configs; otherwise hidden_size / heads. */
    cfg->head_dim = 0;
    if (get_int(c, root, "head_dim", 0, 1, 1 << 14, &cfg->head_dim))
        return -1;
    if (cfg->head_dim == 0) {
        if (cfg->arch == VR_ARCH_QWEN3) {
            cfg->head_dim = 128;
        } else {
            if (cfg->hidden_size % cfg->num_heads != 0)
                return bad(c, "num_attention_heads (%d) must divide hidden_size (%d)",
                           cfg->num_heads, cfg->hidden_size);
            cfg->head_dim = cfg->hidden_size / cfg->num_heads;
        }
    }
    switch (cfg->arch) {
    case VR_ARCH_LLAMA: cfg->max_position_embeddings = 2048; break;
    case VR_ARCH_MISTRAL: cfg->max_position_embeddings = 4096 * 32; break;
    default: cfg->max_position_embeddings = 32768; break;
    }
    if (get_int(c, root, "max_position_embeddings", 0, 1, big, &cfg->max_position_embeddings))
        return -1;
    cfg->rms_norm_eps = 1e-6f;
    cfg->rope_theta = 10000.0f;
    cfg->partial_rotary_factor = 1.0f;
    if (get_float(c, root, "rms_norm_eps", 1, &cfg->rms_norm_eps, NULL) ||
        get_float(c, root, "rope_theta", 1, &cfg->rope_theta, NULL) ||
        get_float(c, root, "partial_rotary_factor", 1, &cfg->partial_rotary_factor, NULL))
        return -1;
    if (cfg->partial_rotary_factor > 1.0f)
        return bad(c, "partial_rotary_factor (%g) must be in (0, 1]", cfg->partial_rotary_factor);
    int rot = vr_config_rotary_dim(cfg);
    if (rot < 2 || rot % 2 != 0)
        return bad(c, "rotary dimension head_dim * partial_rotary_factor (%d) must be even and >= 2",
                   rot);
    ex->rope_attn_factor = 1.0f;
    cfg->rope_factor = 1.0f;
    if (parse_rope_scaling(c, root, cfg, ex))
        return -1;

    const char *act = "silu";
    const vr_json *a = field(root, "hidden_act");
    if (a && vr_jstr(a, &act, NULL))
        return bad(c, "hidden_act must be a string");
    if (strcmp(act, "silu") == 0 || strcmp(act, "swish") == 0)
        cfg->hidden_act = VR_ACT_SILU;
    else if (strcmp(act, "gelu_pytorch_tanh") == 0 || strcmp(act, "gelu_new") == 0)
        cfg->hidden_act = VR_ACT_GELU_TANH;
    else if (strcmp(act, "gelu") == 0)
        cfg->hidden_act = VR_ACT_GELU;
    else
        return bad(c, "hidden_act '%.40s' is not supported (silu, gelu, gelu_pytorch_tanh)", act);

    cfg->tie_word_embeddings = 0;
    if (get_bool(c, root, "tie_word_embeddings", &cfg->tie_word_embeddings))
        return -1;
    int attention_bias = 0, mlp_bias = 0;
    if (get_bool(c, root, "attention_bias", &attention_bias) ||
        get_bool(c, root, "mlp_bias", &mlp_bias))
        return -1;
    if (mlp_bias)
        return bad(c, "mlp_bias: true is not supported");
    /* Qwen2 always has q/k/v biases and never an o_proj bias; Llama and Qwen3
     * put a bias on all four projections when attention_bias is set. */
    if (cfg->arch == VR_ARCH_QWEN2) {
        cfg->attention_bias = 1;
        ex->o_proj_bias = 0;
    } else if (cfg->arch != VR_ARCH_MISTRAL) {
        cfg->attention_bias = attention_bias;
        ex->o_proj_bias = attention_bias;
    }
    cfg->qk_norm = cfg->arch == VR_ARCH_QWEN3;

    /* Sliding window: Mistral's is an int or null (none). Qwen2/3 carry a
     * sliding_window value that only applies with use_sliding_window, and
     * then only to layers >= max_window_layers (not supported). */
    cfg->sliding_window = 0;
    if (cfg->arch == VR_ARCH_MISTRAL) {
        if (get_int(c, root, "sliding_window", 0, 1, big, &cfg->sliding_window))
            return -1;
    } else if (cfg->arch == VR_ARCH_QWEN2 || cfg->arch == VR_ARCH_QWEN3) {
        int use = 0;
        if (get_bool(c, root, "use_sliding_window", &use))
            return -1;
        if (use)
            return bad(c, "use_sliding_window: true (per-layer windows) is not supported");
    }

    cfg->embed_scale = 1.0f;
    cfg->norm_weight_offset = 0.0f;
    cfg->bos_token_id = -1;
    cfg->pad_token_id = -1;
    if (get_token_id(c, root, "bos_token_id", cfg->vocab_size, &cfg->bos_token_id) ||
        get_token_id(c, root, "pad_token_id", cfg->vocab_size, &cfg->pad_token_id) ||
        get_eos(c, root, cfg))
        return -1;
    return 0;
}

static int parse_generation(ctx *c, const vr_json *root, vr_model_config *cfg) {
    if (!vr_jis(root, VR_JSON_OBJECT))
        return bad(c, "top level must be a JSON object");
    if (get_eos(c, root, cfg))
        return -1;
    if (cfg->bos_token_id < 0 &&
        get_token_id(c, root, "bos_token_id", cfg->vocab_size, &cfg->bos_token_id))
        return -1;
    if (cfg->pad_token_id < 0 &&
        get_token_id(c, root, "pad_token_id", cfg->vocab_size, &cfg->pad_token_id))
        return -1;
    if (get_float(c, root, "temperature", 0, &cfg->gen_temperature, &cfg->has_temperature) ||
        get_float(c, root, "top_p", 0, &cfg->gen_top_p, &cfg->has_top_p) ||
        get_float(c, root, "repetition_penalty", 1, &cfg->gen_repetition_penalty,
                  &cfg->has_repetition_penalty))
        return -1;
    if (cfg->has_temperature && cfg->gen_temperature < 0)
        return bad(c, "temperature (%g) must be >= 0", cfg->gen_temperature);
    if (cfg->has_top_p && (cfg->gen_top_p <= 0 || cfg->gen_top_p > 1))
        return bad(c, "top_p (%g) must be in (0, 1]", cfg->gen_top_p);
    cfg->gen_top_k = -1;
    if (get_int(c, root, "top_k", 0, 0, 1 << 30, &cfg->gen_top_k))
        return -1;
    cfg->has_top_k = cfg->gen_top_k >= 0;
    if (!cfg->has_top_k)
        cfg->gen_top_k = 0;
    cfg->gen_max_new_tokens = -1;
    if (get_int(c, root, "max_new_tokens", 0, 1, 1 << 30, &cfg->gen_max_new_tokens))
        return -1;
    cfg->has_max_new_tokens = cfg->gen_max_new_tokens > 0;
    if (!cfg->has_max_new_tokens)
        cfg->gen_max_new_tokens = 0;
    return 0;
}

int vr_config_parse(const char *cfg_text, size_t cfg_len, const char *gen_text, size_t gen_len,
                    vr_model_config *cfg, vr_config_extra *extra, char *err, size_t errlen) {
    memset(cfg, 0, sizeof *cfg);
    memset(extra, 0, sizeof *extra);
    ctx c = {"config.json", err, errlen};
    char jerr[200];
    vr_jdoc *doc = vr_jdoc_parse(cfg_text, cfg_len, jerr, sizeof jerr);
    if (!doc)
        return bad(&c, "not valid JSON: %s", jerr);
    int rc = parse_config(&c, vr_jdoc_root(doc), cfg, extra);
    vr_jdoc_free(doc);
    if (rc || !gen_text)
        return rc;
    c.file = "generation_config.json";
    doc = vr_jdoc_parse(gen_text, gen_len, jerr, sizeof jerr);
    if (!doc)
        return bad(&c, "not valid JSON: %s", jerr);
    rc = parse_generation(&c, vr_jdoc_root(doc), cfg);
    vr_jdoc_free(doc);
    return rc;
}

/* Whole small file into memory; NULL with errno set when it cannot be read. */
static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            if (cap >= (16u << 20)) { /* configs are kilobytes; refuse absurd files */
                free(buf);
                fclose(f);
                errno = EFBIG;
                return NULL;
            }
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                errno = ENOMEM;
                return NULL;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        errno = EIO;
        return NULL;
    }
    *len = n;
    return buf;
}

int vr_config_load(const char *dir, vr_model_config *cfg, vr_config_extra *extra, char *err,
                   size_t errlen) {
    char path[4096];
    size_t clen = 0, glen = 0;
    snprintf(path, sizeof path, "%s/config.json", dir);
    char *ctext = slurp(path, &clen);
    if (!ctext) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s/generation_config.json", dir);
    char *gtext = slurp(path, &glen);
    if (!gtext && errno != ENOENT) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        free(ctext);
        return -1;
    }
    int rc = vr_config_parse(ctext, clen, gtext, glen, cfg, extra, err, errlen);
    free(ctext);
    free(gtext);
    return rc;
}

int vr_config_rotary_dim(const vr_model_config *cfg) {
    return (int)((float)cfg->head_dim * cfg->partial_rotary_factor);
}

#define VR_PI 3.14159265358979323846

static double yarn_mscale(double scale, double m) {
    return scale <= 1.0 ? 1.0 : 0.1 * m * log(scale) + 1.0;
}

void vr_rope_inv_freq(const vr_model_config *cfg, const vr_config_extra *extra, float *inv_freq,
                      float *attn_factor) {
    const int dim = vr_config_rotary_dim(cfg), half = dim / 2;
    const double base = cfg->rope_theta, factor = cfg->rope_factor;
    *attn_factor = 1.0f;
    /* Computed in double, rounded once: matches the float64 reference. */
    for (int i = 0; i < half; i++) {
        double f = 1.0 / pow(base, (double)(2 * i) / dim);
        switch (cfg->rope_scaling) {
        case VR_ROPE_NONE:
        /* Dynamic NTK scaling only changes the base once a sequence passes
         * max_position_embeddings; the forward rejects such positions, so
         * within range it is the unscaled rotation. */
        case VR_ROPE_DYNAMIC: break;
        case VR_ROPE_LINEAR: f /= factor; break;
        case VR_ROPE_LLAMA3: {
            const double old = cfg->rope_original_max_pos;
            const double lo = cfg->rope_low_freq_factor, hi = cfg->rope_high_freq_factor;
            const double wavelen = 2.0 * VR_PI / f;
            if (wavelen > old / lo) {
                f /= factor; /* low frequencies: fully interpolated */
            } else if (wavelen >= old / hi) {
                const double smooth = (old / wavelen - lo) / (hi - lo);
                f = (1.0 - smooth) * f / factor + smooth * f;
            } /* high frequencies: unchanged */
            break;
        }
        case VR_ROPE_YARN: {
            const double old = cfg->rope_original_max_pos;
            const double two_pi = 2.0 * VR_PI;
            double low = dim * log(old / (cfg->rope_beta_fast * two_pi)) / (2.0 * log(base));
            double high = dim * log(old / (cfg->rope_beta_slow * two_pi)) / (2.0 * log(base));
            if (extra->rope_yarn_truncate) {
                low = floor(low);
                high = ceil(high);
            }
            if (low < 0)
                low = 0;
            if (high > dim - 1)
                high = dim - 1;
            if (low == high)
                high += 0.001;
            double ramp = (i - low) / (high - low);
            ramp = ramp < 0 ? 0 : ramp > 1 ? 1 : ramp;
            const double extrap = 1.0 - ramp;
            f = (f / factor) * (1.0 - extrap) + f * extrap;
            break;
        }
        }
        inv_freq[i] = (float)f;
    }
    if (cfg->rope_scaling == VR_ROPE_YARN) {
        if (extra->rope_mscale_set)
            *attn_factor = extra->rope_attn_factor;
        else if (extra->rope_mscale != 0 && extra->rope_mscale_all_dim != 0)
            *attn_factor = (float)(yarn_mscale(factor, extra->rope_mscale) /
                                   yarn_mscale(factor, extra->rope_mscale_all_dim));
        else
            *attn_factor = (float)yarn_mscale(factor, 1.0);
    }
}
