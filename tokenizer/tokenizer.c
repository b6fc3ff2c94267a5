/* tokenizer/tokenizer.c — loading from disk, the encode pipeline, lookups. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "json/json.h"

/* Largest tokenizer.json / tokenizer_config.json read: real ones are tens of
 * MB; a bound keeps a wrong path (a device, a FIFO, a growing file) from
 * eating memory. */
#define VR_TOK_MAX_FILE ((size_t)256 << 20)

/* Reads a whole file into a buffer with JSON-parser padding after it (so
 * the parser can read it in place, without a copy). */
static int read_file(const char *path, char **out, size_t *len, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        vr_tok_set_err(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    size_t pad = vr_jcur_padding(), cap = 0, n = 0;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) cap = (size_t)st.st_size + 1;
    if (cap > VR_TOK_MAX_FILE) cap = VR_TOK_MAX_FILE; /* a bigger file fails in the loop below */
    if (cap < 4096) cap = 4096;
    char *p = malloc(cap + pad);
    for (;;) {
        if (!p) {
            fclose(f);
            vr_tok_set_err(err, errlen, "%s: out of memory", path);
            return -1;
        }
        size_t r = fread(p + n, 1, cap - n, f);
        n += r;
        if (n < cap) break;
        if (cap >= VR_TOK_MAX_FILE) {
            free(p);
            fclose(f);
            vr_tok_set_err(err, errlen, "%s: larger than %zu MiB, not a tokenizer file", path,
                           VR_TOK_MAX_FILE >> 20);
            return -1;
        }
        char *q = realloc(p, cap * 2 + pad); /* the file grew (or is not a regular file) */
        if (!q) free(p);
        p = q;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(p);
        vr_tok_set_err(err, errlen, "%s: read error", path);
        return -1;
    }
    memset(p + n, 0, pad);
    *out = p;
    *len = n;
    return 0;
}

/* After parsing: the id -> token table and the added-token matchers. */
static int finish_load(vr_tokenizer *t, char *err, size_t errlen) {
    size_t vs = t->model.n_ids;
    for (size_t i = 0; i < t->n_added; i++)
        if ((size_t)t->added[i].id + 1 > vs) vs = (size_t)t->added[i].id + 1;
    t->vocab_size = vs;
    t->id_tok = calloc(vs + 1, sizeof *t->id_tok);
    t->id_len = calloc(vs + 1, sizeof *t->id_len);
    t->id_special = calloc(vs + 1, 1);
    if (!t->id_tok || !t->id_len || !t->id_special) goto oom;
    for (size_t i = 0; i < t->model.n_ids; i++) {
        t->id_tok[i] = t->model.tok[i];
        t->id_len[i] = t->model.tok_len[i];
    }
    for (size_t i = 0; i < t->n_added; i++) {
        const vr_added *a = &t->added[i];
        t->id_tok[a->id] = a->content;
        t->id_len[a->id] = (uint32_t)a->len;
        t->id_special[a->id] = (unsigned char)a->special;
    }
    /* post-processor ids must exist */
    const vr_postproc *stack[64];
    size_t sp = 0;
    if (t->has_post) stack[sp++] = &t->post;
    while (sp) {
        const vr_postproc *pp = stack[--sp];
        for (size_t i = 0; i < pp->n_subs && sp < 64; i++) stack[sp++] = &pp->subs[i];
        int32_t bad = -1;
        if (pp->type == POST_BERT && ((size_t)pp->cls >= vs || (size_t)pp->sep >= vs)) bad = pp->cls;
        for (size_t i = 0; i < pp->n_items; i++)
            for (size_t j = 0; j < pp->items[i].n_ids; j++)
                if ((size_t)pp->items[i].ids[j] >= vs) bad = pp->items[i].ids[j];
        if (bad >= 0) {
            vr_tok_set_err(err, errlen, "post_processor: special token id %ld is outside the vocabulary (size %zu)",
                       (long)bad, vs);
            return -1;
        }
    }
    t->trie_raw = vr_tok_trie_build(t->added, t->n_added, 0, NULL, NULL);
    if (!t->trie_raw) goto oom;
    /* Normalized added tokens are matched in normalized text, so their
     * content is normalized too (as HF does). */
    size_t n_norm = 0;
    for (size_t i = 0; i < t->n_added; i++) n_norm += t->added[i].normalized;
    if (n_norm) {
        char **pats = calloc(t->n_added, sizeof *pats);
        size_t *lens = calloc(t->n_added, sizeof *lens);
        vr_scratch sc = {pcre2_match_data_create(1, NULL), {0}, {0}};
        int ok = pats && lens && sc.md;
        for (size_t i = 0; ok && i < t->n_added; i++) {
            const vr_added *a = &t->added[i];
            if (!a->normalized) continue;
            vr_buf o = {0};
            if (t->has_normalizer) ok = !vr_tok_normalize(&t->normalizer, a->content, a->len, &sc, &o);
            else ok = !vr_tok_buf_put(&o, a->content, a->len);
            pats[i] = o.p;
            lens[i] = o.n;
        }
        if (ok) t->trie_norm = vr_tok_trie_build(t->added, t->n_added, 1, (const char *const *)pats, lens);
        for (size_t i = 0; pats && i < t->n_added; i++) free(pats[i]);
        free(pats);
        free(lens);
        pcre2_match_data_free(sc.md);
        vr_tok_buf_free(&sc.tmp);
        if (!t->trie_norm) goto oom;
    }
    return 0;
oom:
    vr_tok_set_err(err, errlen, "out of memory");
    return -1;
}

/* padded: json has vr_jcur_padding() readable bytes after len. */
static int load_json(const char *json, size_t len, int padded, const char *config_json, size_t config_len,
                     vr_tokenizer **out, char *err, size_t errlen) {
    if (err && errlen) err[0] = 0;
    if (!out || !json) {
        vr_tok_set_err(err, errlen, "load: invalid arguments");
        return -1;
    }
    *out = NULL;
    vr_tokenizer *t = calloc(1, sizeof *t);
    if (!t) {
        vr_tok_set_err(err, errlen, "out of memory");
        return -1;
    }
    if (vr_tok_load_tokenizer_json(t, json, len, padded, err, errlen) ||
        (config_json && vr_tok_load_config_json(t, config_json, config_len, err, errlen)) || finish_load(t, err, errlen)) {
        vr_tokenizer_free(t);
        return -1;
    }
    *out = t;
    return 0;
}

int vr_tokenizer_load_json(const char *json, size_t len, const char *config_json, size_t config_len,
                           vr_tokenizer **out, char *err, size_t errlen) {
    return load_json(json, len, 0, config_json, config_len, out, err, errlen);
}

int vr_tokenizer_load(const char *path, vr_tokenizer **out, char *err, size_t errlen) {
    if (!path || !out) {
        vr_tok_set_err(err, errlen, "load: invalid arguments");
        return -1;
    }
    *out = NULL;
    struct stat st;
    if (stat(path, &st)) {
        vr_tok_set_err(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t pl = strlen(path);
    char *tok_path = malloc(pl + 32), *cfg_path = malloc(pl + 32);
    if (!tok_path || !cfg_path) {
        free(tok_path);
        free(cfg_path);
        vr_tok_set_err(err, errlen, "out of memory");
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(tok_path, pl + 32, "%s/tokenizer.json", path);
        snprintf(cfg_path, pl + 32, "%s/tokenizer_config.json", path);
    } else {
        memcpy(tok_path, path, pl + 1);
        const char *slash = strrchr(path, '/');
        size_t dl = slash ? (size_t)(slash - path) + 1 : 0;
        memcpy(cfg_path, path, dl);
        memcpy(cfg_path + dl, "tokenizer_config.json", 22);
    }
    char *json = NULL, *cfg = NULL;
    size_t len = 0, cfg_len = 0;
    int rc = read_file(tok_path, &json, &len, err, errlen);
    if (!rc && access(cfg_path, R_OK) == 0) rc = read_file(cfg_path, &cfg, &cfg_len, err, errlen);
    if (!rc) {
        char e[300];
        rc = load_json(json, len, 1, cfg, cfg_len, out, e, sizeof e);
        if (rc) vr_tok_set_err(err, errlen, "%s: %s", e[0] && strstr(e, "tokenizer_config") ? cfg_path : tok_path, e);
    }
    free(json);
    free(cfg);
    free(tok_path);
    free(cfg_path);
    return rc;
}

void vr_tokenizer_free(vr_tokenizer *t) {
    if (!t) return;
    vr_tok_model_free(&t->model);
    for (size_t i = 0; i < t->n_added; i++) free(t->added[i].content);
    free(t->added);
    vr_tok_trie_free(t->trie_raw);
    vr_tok_trie_free(t->trie_norm);
    vr_tok_normalizer_free(&t->normalizer);
    vr_tok_pretok_free(&t->pretok);
    vr_tok_postproc_free(&t->post);
    for (size_t k = 0; k < t->n_dec; k++) {
        vr_tok_pattern_free(&t->dec[k].pat);
        free(t->dec[k].text);
    }
    free(t->dec);
    free(t->id_tok);
    free(t->id_len);
    free(t->id_special);
    for (size_t i = 0; i < t->n_cfg; i++) {
        free(t->cfg_keys[i]);
        free(t->cfg_vals[i]);
    }
    free(t->cfg_keys);
    free(t->cfg_vals);
    for (size_t i = 0; i < t->n_tpl; i++) {
        free(t->tpl_names[i]);
        free(t->tpl_vals[i]);
    }
    free(t->tpl_names);
    free(t->tpl_vals);
    free(t);
}

/* ---- encode ---- */

/* Pre-tokenize and run the model on one stretch of normalized text. */
static int encode_normalized(const vr_tokenizer *t, const char *s, size_t n, int first, vr_scratch *sc, vr_ids *out) {
    if (n == 0) return 0;
    vr_pieces pieces = {0};
    int rc = vr_tok_pieces_push(&pieces, s, n, first);
    if (!rc && t->has_pretok) rc = vr_tok_pretokenize(&t->pretok, &pieces, sc);
    for (size_t i = 0; i < pieces.n && !rc; i++) {
        const vr_piece *p = &pieces.p[i];
        if (t->model.type == MODEL_BPE) rc = vr_tok_bpe_tokenize(&t->model, p->s, p->n, out);
        else if (t->model.type == MODEL_WORDPIECE) rc = vr_tok_wordpiece_tokenize(&t->model, p->s, p->n, out);
        else { /* WordLevel: the piece is a token or the unk token */
            int32_t id = vr_tok_strmap_get(&t->model.vocab, p->s, p->n);
            if (id < 0 && t->model.unk_id < 0) rc = -2;
            else rc = vr_tok_ids_push(out, id >= 0 ? id : t->model.unk_id);
        }
    }
    free(pieces.p);
    return rc;
}

/* One stretch of raw text between non-normalized added tokens. */
static int encode_segment(const vr_tokenizer *t, const char *s, size_t n, int first, vr_scratch *sc, vr_ids *out) {
    if (n == 0) return 0;
    vr_buf norm = {0};
    if (t->has_normalizer) {
        if (vr_tok_normalize(&t->normalizer, s, n, sc, &norm)) {
            vr_tok_buf_free(&norm);
            return -1;
        }
        s = norm.p ? norm.p : "";
        n = norm.n;
    }
    int rc = 0;
    if (t->trie_norm) {
        vr_added_match *m;
        size_t nm, pos = 0;
        rc = vr_tok_trie_find(t->trie_norm, t->added, s, n, &m, &nm);
        for (size_t i = 0; i < nm && !rc; i++) {
            rc = encode_normalized(t, s + pos, m[i].start - pos, first && pos == 0, sc, out);
            if (!rc) rc = vr_tok_ids_push(out, m[i].id);
            pos = m[i].end;
        }
        if (!rc) rc = encode_normalized(t, s + pos, n - pos, first && pos == 0, sc, out);
        if (nm) free(m);
    } else rc = encode_normalized(t, s, n, first, sc, out);
    vr_tok_buf_free(&norm);
    return rc;
}

int vr_tokenizer_encode(const vr_tokenizer *t, const char *text, size_t len, int add_special_tokens,
                        int32_t **ids, size_t *n_ids, char *err, size_t errlen) {
    if (!t || (!text && len) || !ids || !n_ids) {
        vr_tok_set_err(err, errlen, "encode: invalid arguments");
        return -1;
    }
    *ids = NULL;
    *n_ids = 0;
    if (!text) text = "";
    size_t valid = vr_tok_utf8_valid_prefix(text, len);
    if (valid != len) {
        vr_tok_set_err(err, errlen, "input is not valid UTF-8 (byte offset %zu)", valid);
        return -1;
    }
    vr_scratch sc = {pcre2_match_data_create(1, NULL), {0}, {0}};
    vr_ids out = {0}, fin = {0};
    vr_added_match *m = NULL;
    size_t nm = 0, pos = 0;
    int rc = sc.md ? vr_tok_trie_find(t->trie_raw, t->added, text, len, &m, &nm) : -1;
    for (size_t i = 0; i < nm && !rc; i++) {
        rc = encode_segment(t, text + pos, m[i].start - pos, pos == 0, &sc, &out);
        if (!rc) rc = vr_tok_ids_push(&out, m[i].id);
        pos = m[i].end;
    }
    if (!rc) rc = encode_segment(t, text + pos, len - pos, pos == 0, &sc, &out);
    free(m);
    if (!rc && add_special_tokens && t->has_post) {
        rc = vr_tok_postprocess(&t->post, out.p, out.n, &fin);
        free(out.p);
        out = fin;
    }
    pcre2_match_data_free(sc.md);
    vr_tok_arena_free(&sc.arena);
    vr_tok_buf_free(&sc.tmp);
    if (rc) {
        free(out.p);
        vr_tok_set_err(err, errlen, rc == -2 ? "encode: a word is not in the WordLevel vocab and there is no unk_token"
                                             : "encode failed (out of memory or regex resource limit)");
        return -1;
    }
    if (!out.p) out.p = malloc(sizeof(int32_t)); /* a valid pointer even for zero ids */
    if (!out.p) {
        vr_tok_set_err(err, errlen, "out of memory");
        return -1;
    }
    *ids = out.p;
    *n_ids = out.n;
    return 0;
}

/* ---- lookups ---- */
size_t vr_tokenizer_vocab_size(const vr_tokenizer *t) { return t ? t->vocab_size : 0; }

const char *vr_tokenizer_id_to_token(const vr_tokenizer *t, int32_t id) {
    if (!t || id < 0 || (size_t)id >= t->vocab_size) return NULL;
    return t->id_tok[id];
}

int32_t vr_tokenizer_token_to_id(const vr_tokenizer *t, const char *token) {
    if (!t || !token) return -1;
    size_t n = strlen(token);
    for (size_t i = 0; i < t->n_added; i++)
        if (t->added[i].len == n && !memcmp(t->added[i].content, token, n)) return t->added[i].id;
    return vr_tok_strmap_get(&t->model.vocab, token, n);
}

int vr_tokenizer_is_special(const vr_tokenizer *t, int32_t id) {
    if (!t || id < 0 || (size_t)id >= t->vocab_size) return 0;
    return t->id_special[id];
}

const char *vr_tokenizer_special_token(const vr_tokenizer *t, const char *name) {
    if (!t || !name) return NULL;
    for (size_t i = 0; i < t->n_cfg; i++)
        if (!strcmp(t->cfg_keys[i], name)) return t->cfg_vals[i];
    return NULL;
}

const char *vr_tokenizer_chat_template(const vr_tokenizer *t, const char *name) {
    if (!t) return NULL;
    if (!name) name = "default";
    for (size_t i = 0; i < t->n_tpl; i++)
        if (!strcmp(t->tpl_names[i], name)) return t->tpl_vals[i];
    return NULL;
}
