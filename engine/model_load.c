/* engine/model_load.c — a Hugging Face model folder onto a backend.
 *
 * config.json says what shapes to expect; every weight is looked up by its
 * Hugging Face name, its shape checked against the config, and handed to the
 * backend's upload_weight (zero copy on a little-endian CPU: the pointer
 * into the mmap comes back). Only when the caller forces another dtype is a
 * converted host copy made. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/model_internal.h"

/* Little-endian element i of a tensor as f32, independent of host order. */
static float read_le(const unsigned char *p, vr_dtype dt, size_t i) {
    if (dt == VR_F32) {
        const unsigned char *b = p + 4 * i;
        uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                     (uint32_t)b[3] << 24;
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    const unsigned char *b = p + 2 * i;
    uint16_t h = (uint16_t)(b[0] | b[1] << 8);
    return dt == VR_BF16 ? vr_bf16_to_f32(h) : vr_f16_to_f32(h);
}

/* Store element i little-endian, which is what upload_weight expects. */
static void write_le(unsigned char *p, vr_dtype dt, size_t i, float f) {
    if (dt == VR_F32) {
        uint32_t u;
        memcpy(&u, &f, 4);
        for (int k = 0; k < 4; k++)
            p[4 * i + (size_t)k] = (unsigned char)(u >> (8 * k));
        return;
    }
    uint16_t h = dt == VR_BF16 ? vr_f32_to_bf16(f) : vr_f32_to_f16(f);
    p[2 * i] = (unsigned char)(h & 0xff);
    p[2 * i + 1] = (unsigned char)(h >> 8);
}

static void free_weight(vr_model *m, vr_weight *w) {
    if (w->dev)
        m->be->ops->free_weight(m->be, (void *)w->dev, w->host);
    free(w->owned);
    memset(w, 0, sizeof *w);
}

/* Look up `name`, check its shape is {d0[, d1]} (d1 < 0: 1-D), convert to
 * `want` when want >= 0 and it differs, upload. optional: absent is fine. */
static int load_weight(vr_model *m, const char *name, int64_t d0, int64_t d1, int want,
                       int optional, vr_weight *w, char *err, size_t errlen) {
    memset(w, 0, sizeof *w);
    const vr_st_tensor *t = vr_st_find(m->st, name);
    if (!t) {
        if (optional)
            return 0;
        snprintf(err, errlen, "%s: tensor '%s' is missing%s", vr_st_source(m->st), name,
                 strcmp(name, "lm_head.weight") == 0 ? " (and tie_word_embeddings is false)" : "");
        return -1;
    }
    int nd = d1 < 0 ? 1 : 2;
    if (t->ndim != nd || t->shape[0] != d0 || (nd == 2 && t->shape[1] != d1)) {
        char got[128] = "", want_s[64];
        size_t off = 0;
        for (int i = 0; i < t->ndim && off < sizeof got - 24; i++)
            off += (size_t)snprintf(got + off, sizeof got - off, "%s%lld", i ? ", " : "",
                                    (long long)t->shape[i]);
        if (nd == 1)
            snprintf(want_s, sizeof want_s, "%lld", (long long)d0);
        else
            snprintf(want_s, sizeof want_s, "%lld, %lld", (long long)d0, (long long)d1);
        snprintf(err, errlen, "%s: tensor '%s' has shape [%s] but config.json implies [%s]",
                 t->file, name, got, want_s);
        return -1;
    }
    vr_dtype dt = t->dtype;
    const void *host = t->data;
    if (want >= 0 && (vr_dtype)want != dt) {
        size_t esz = vr_dtype_size((vr_dtype)want);
        unsigned char *copy = malloc(t->nelem > 0 ? t->nelem * esz : 1);
        if (!copy) {
            snprintf(err, errlen, "out of memory converting '%s' to %s", name,
                     vr_dtype_name((vr_dtype)want));
            return -1;
        }
        for (size_t i = 0; i < t->nelem; i++)
            write_le(copy, (vr_dtype)want, i, read_le(t->data, dt, i));
        w->owned = copy;
        host = copy;
        dt = (vr_dtype)want;
    }
    w->dt = dt;
    w->host = host;
    w->dev = m->be->ops->upload_weight(m->be, host, t->nelem, dt);
    if (!w->dev) {
        snprintf(err, errlen, "%s: cannot place tensor '%s' (%zu bytes) on the %s device", t->file,
                 name, t->nbytes, m->be->ops->name);
        free(w->owned);
        w->owned = NULL;
        return -1;
    }
    return 0;
}

static int load_layer(vr_model *m, int i, int want, char *err, size_t errlen) {
    const vr_model_config *c = &m->cfg;
    vr_layer_weights *L = &m->layers[i];
    const int64_t h = c->hidden_size, qd = (int64_t)c->num_heads * c->head_dim,
                  kvd = (int64_t)c->num_kv_heads * c->head_dim, inter = c->intermediate_size;
    char name[160];
#define W(field, suffix, d0, d1, dt, opt)                                                   \
    do {                                                                                    \
        snprintf(name, sizeof name, "model.layers.%d.%s", i, suffix);                       \
        if (load_weight(m, name, d0, d1, dt, opt, &L->field, err, errlen))                  \
            return -1;                                                                      \
    } while (0)
    W(attn_norm, "input_layernorm.weight", h, -1, want, 0);
    W(q, "self_attn.q_proj.weight", qd, h, want, 0);
    W(k, "self_attn.k_proj.weight", kvd, h, want, 0);
    W(v, "self_attn.v_proj.weight", kvd, h, want, 0);
    W(o, "self_attn.o_proj.weight", h, qd, want, 0);
    /* matmul takes the bias in the weight's dtype: convert it when they differ. */
    if (c->attention_bias) {
        W(q_bias, "self_attn.q_proj.bias", qd, -1, (int)L->q.dt, 0);
        W(k_bias, "self_attn.k_proj.bias", kvd, -1, (int)L->k.dt, 0);
        W(v_bias, "self_attn.v_proj.bias", kvd, -1, (int)L->v.dt, 0);
    }
    if (m->extra.o_proj_bias)
        W(o_bias, "self_attn.o_proj.bias", h, -1, (int)L->o.dt, 0);
    if (c->qk_norm) {
        W(q_norm, "self_attn.q_norm.weight", c->head_dim, -1, want, 0);
        W(k_norm, "self_attn.k_norm.weight", c->head_dim, -1, want, 0);
    }
    W(ffn_norm, "post_attention_layernorm.weight", h, -1, want, 0);
    W(gate, "mlp.gate_proj.weight", inter, h, want, 0);
    W(up, "mlp.up_proj.weight", inter, h, want, 0);
    W(down, "mlp.down_proj.weight", h, inter, want, 0);
#undef W
    return 0;
}

static int load_weights(vr_model *m, const vr_model_load_opts *opts, char *err, size_t errlen) {
    const vr_model_config *c = &m->cfg;
    int want = opts && opts->force_dtype ? (int)opts->dtype : -1;
    if (want >= 0 && vr_dtype_size((vr_dtype)want) == 0) {
        snprintf(err, errlen, "requested dtype %d is not one of F32, F16, BF16", want);
        return -1;
    }
    if (load_weight(m, "model.embed_tokens.weight", c->vocab_size, c->hidden_size, want, 0,
                    &m->embed, err, errlen))
        return -1;
    m->cfg.dtype = m->embed.dt;
    m->kv_dtype = opts && opts->force_kv_dtype ? opts->kv_dtype : m->cfg.dtype;
    if (vr_dtype_size(m->kv_dtype) == 0) {
        snprintf(err, errlen, "requested KV cache dtype %d is not one of F32, F16, BF16",
                 (int)m->kv_dtype);
        return -1;
    }
    m->layers = calloc((size_t)c->num_layers, sizeof *m->layers);
    if (!m->layers) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < c->num_layers; i++)
        if (load_layer(m, i, want, err, errlen))
            return -1;
    if (load_weight(m, "model.norm.weight", c->hidden_size, -1, want, 0, &m->final_norm, err,
                    errlen))
        return -1;
    /* A checkpoint may carry lm_head.weight even when tied; use it if there. */
    if (load_weight(m, "lm_head.weight", c->vocab_size, c->hidden_size, want,
                    c->tie_word_embeddings, &m->lm_head, err, errlen))
        return -1;
    return 0;
}

static int setup_rope(vr_model *m, char *err, size_t errlen) {
    int rot = vr_config_rotary_dim(&m->cfg);
    size_t bytes = (size_t)(rot / 2) * sizeof(float);
    float *host = malloc(bytes);
    m->inv_freq = m->be->ops->alloc(m->be, bytes);
    if (!host || !m->inv_freq) {
        free(host);
        snprintf(err, errlen, "out of memory for the RoPE table");
        return -1;
    }
    vr_rope_inv_freq(&m->cfg, &m->extra, host, &m->rope.attn_factor);
    m->be->ops->upload(m->be, m->inv_freq, host, bytes);
    m->be->ops->sync(m->be);
    free(host);
    m->rope.rotary_dim = rot;
    m->rope.inv_freq = m->inv_freq;
    return 0;
}

int vr_model_load(const char *dir, const vr_model_load_opts *opts, vr_backend *be,
                  vr_model **out, char *err, size_t errlen) {
    *out = NULL;
    if (errlen)
        err[0] = '\0';
    if (!dir || !be) {
        snprintf(err, errlen, "vr_model_load: no model folder or backend");
        return -1;
    }
    vr_model *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    m->be = be;
    if (vr_config_load(dir, &m->cfg, &m->extra, err, errlen) ||
        vr_st_open_dir(dir, &m->st, err, errlen) || load_weights(m, opts, err, errlen) ||
        setup_rope(m, err, errlen)) {
        vr_model_free(m);
        return -1;
    }
    *out = m;
    return 0;
}

void vr_model_free(vr_model *m) {
    if (!m)
        return;
    vr_model_scratch_free(m);
    if (m->layers) {
        for (int i = 0; i < m->cfg.num_layers; i++) {
            vr_layer_weights *L = &m->layers[i];
            vr_weight *all[] = {&L->attn_norm, &L->q,      &L->k,      &L->v,      &L->o,
                                &L->q_bias,    &L->k_bias, &L->v_bias, &L->o_bias, &L->q_norm,
                                &L->k_norm,    &L->ffn_norm, &L->gate, &L->up,     &L->down};
            for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
                free_weight(m, all[k]);
        }
        free(m->layers);
    }
    free_weight(m, &m->embed);
    free_weight(m, &m->final_norm);
    free_weight(m, &m->lm_head);
    if (m->inv_freq)
        m->be->ops->free(m->be, m->inv_freq);
    vr_st_close(m->st);
    free(m);
}

const vr_model_config *vr_model_get_config(const vr_model *m) { return &m->cfg; }

vr_backend *vr_model_backend(const vr_model *m) { return m->be; }
