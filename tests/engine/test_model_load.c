/* tests/engine/test_model_load.c — model folders, good and broken.
 *
 * Each case writes a tiny Llama-shaped model folder into a temporary
 * directory (config.json + safetensors built here, byte by byte), breaks one
 * thing, and checks vr_model_load fails with a message naming the file and
 * the problem. Also: config validation (JSON itself: tests/json/), the RoPE table, and
 * vr_model_forward rejecting malformed batches. Runs under ASan+UBSan. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/model.h"
#include "engine/model_internal.h"
#include "engine/safetensors.h"

static int failures, checks;

#define CHECK(cond, ...)                                                                    \
    do {                                                                                    \
        checks++;                                                                           \
        if (!(cond)) {                                                                      \
            failures++;                                                                     \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);        \
            fprintf(stderr, __VA_ARGS__);                                                   \
            fputc('\n', stderr);                                                            \
        }                                                                                   \
    } while (0)

/* ---- tiny model description ------------------------------------------------ */

enum { VOCAB = 32, HID = 8, INTER = 12, HEADS = 2, KVH = 1, HD = 4 };

#define MAX_T 16
typedef struct tensor {
    char name[96];
    char dtype[16];
    int ndim;
    long long shape[2];
    long long nbytes;          /* bytes actually written */
    long long off_begin, off_end; /* as written in the header */
} tensor;

typedef struct model_files {
    tensor t[MAX_T];
    int n;
} model_files;

static void add(model_files *mf, const char *name, long long d0, long long d1) {
    tensor *t = &mf->t[mf->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    snprintf(t->dtype, sizeof t->dtype, "F32");
    t->ndim = d1 > 0 ? 2 : 1;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->nbytes = 4 * d0 * (d1 > 0 ? d1 : 1);
}

static void llama_tensors(model_files *mf) {
    mf->n = 0;
    add(mf, "model.embed_tokens.weight", VOCAB, HID);
    add(mf, "model.layers.0.input_layernorm.weight", HID, 0);
    add(mf, "model.layers.0.self_attn.q_proj.weight", HEADS * HD, HID);
    add(mf, "model.layers.0.self_attn.k_proj.weight", KVH * HD, HID);
    add(mf, "model.layers.0.self_attn.v_proj.weight", KVH * HD, HID);
    add(mf, "model.layers.0.self_attn.o_proj.weight", HID, HEADS * HD);
    add(mf, "model.layers.0.post_attention_layernorm.weight", HID, 0);
    add(mf, "model.layers.0.mlp.gate_proj.weight", INTER, HID);
    add(mf, "model.layers.0.mlp.up_proj.weight", INTER, HID);
    add(mf, "model.layers.0.mlp.down_proj.weight", HID, INTER);
    add(mf, "model.norm.weight", HID, 0);
    add(mf, "lm_head.weight", VOCAB, HID);
    long long off = 0;
    for (int i = 0; i < mf->n; i++) {
        mf->t[i].off_begin = off;
        off += mf->t[i].nbytes;
        mf->t[i].off_end = off;
    }
}

static const char *LLAMA_CONFIG =
    "{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 32, \"hidden_size\": 8,\n"
    " \"intermediate_size\": 12, \"num_hidden_layers\": 1, \"num_attention_heads\": 2,\n"
    " \"num_key_value_heads\": 1, \"max_position_embeddings\": 64, \"rms_norm_eps\": 1e-5,\n"
    " \"rope_theta\": 10000.0, \"hidden_act\": \"silu\", \"tie_word_embeddings\": false,\n"
    " \"bos_token_id\": 1, \"eos_token_id\": [2, 3]}\n";

/* ---- writing files ------------------------------------------------------------ */

static char root[256];
static int case_no;

static void write_text(const char *dir, const char *name, const char *text) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return;
    }
    fputs(text, f);
    fclose(f);
}

/* A header as a real writer produces it: tensors with offsets, padded with
 * spaces to a multiple of 8 so data stays aligned. */
static size_t header_json(const model_files *mf, int from, int to, char *buf, size_t cap) {
    size_t n = (size_t)snprintf(buf, cap, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (int i = from; i < to; i++) {
        const tensor *t = &mf->t[i];
        char shape[64];
        if (t->ndim == 1)
            snprintf(shape, sizeof shape, "[%lld]", t->shape[0]);
        else
            snprintf(shape, sizeof shape, "[%lld,%lld]", t->shape[0], t->shape[1]);
        n += (size_t)snprintf(buf + n, cap - n,
                              ",\"%s\":{\"dtype\":\"%s\",\"shape\":%s,\"data_offsets\":[%lld,%lld]}",
                              t->name, t->dtype, shape, t->off_begin, t->off_end);
    }
    n += (size_t)snprintf(buf + n, cap - n, "}");
    while (n % 8)
        buf[n++] = ' ';
    buf[n] = '\0';
    return n;
}

/* Tensor values: small deterministic numbers (norm weights near 1). */
static float value(int ti, long long i) {
    uint32_t h = (uint32_t)(ti * 7919 + i * 104729 + 17);
    h ^= h >> 13;
    h *= 0x5bd1e995u;
    h ^= h >> 15;
    return ((float)(h % 2001) - 1000.0f) / 4000.0f;
}

typedef struct st_opts {
    long long header_len_override; /* 0 = true length */
    const char *header_text;       /* replaces the generated JSON */
    long long truncate_to;         /* 0 = whole file */
} st_opts;

static void write_st(const char *dir, const char *name, const model_files *mf, int from, int to,
                     const st_opts *o) {
    static char hdr[16384];
    size_t hlen = header_json(mf, from, to, hdr, sizeof hdr);
    if (o && o->header_text) {
        snprintf(hdr, sizeof hdr, "%s", o->header_text);
        hlen = strlen(hdr);
    }
    long long claimed = o && o->header_len_override ? o->header_len_override : (long long)hlen;
    size_t data = 0;
    for (int i = from; i < to; i++)
        data += (size_t)mf->t[i].nbytes;
    size_t total = 8 + hlen + data;
    unsigned char *buf = calloc(1, total);
    for (int k = 0; k < 8; k++)
        buf[k] = (unsigned char)((unsigned long long)claimed >> (8 * k));
    memcpy(buf + 8, hdr, hlen);
    size_t off = 8 + hlen;
    for (int i = from; i < to; i++) {
        for (long long e = 0; e < mf->t[i].nbytes / 4; e++) {
            float v = value(i, e);
            if (strstr(mf->t[i].name, "norm"))
                v = 1.0f + v;
            uint32_t u;
            memcpy(&u, &v, 4);
            for (int k = 0; k < 4; k++)
                buf[off++] = (unsigned char)(u >> (8 * k)); /* little-endian on any host */
        }
    }
    if (o && o->truncate_to > 0 && (size_t)o->truncate_to < total)
        total = (size_t)o->truncate_to;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(buf, 1, total, f);
        fclose(f);
    }
    free(buf);
}

/* A fresh folder holding a valid model (unless the caller changes it). */
static void new_case(char *dir, size_t cap, model_files *mf) {
    snprintf(dir, cap, "%s/case%02d", root, ++case_no);
    mkdir(dir, 0755);
    llama_tensors(mf);
    write_text(dir, "config.json", LLAMA_CONFIG);
    write_text(dir, "generation_config.json", "{\"eos_token_id\": 4, \"temperature\": 0.7}");
}

static void rm_rf(const char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

static vr_backend *be;

/* Load must fail, with every one of the given substrings in the message. */
static void expect_fail(const char *what, const char *dir, ...) {
    char err[512] = "";
    vr_model *m = NULL;
    int rc = vr_model_load(dir, NULL, be, &m, err, sizeof err);
    CHECK(rc != 0 && m == NULL, "%s: load succeeded", what);
    printf("  %-36s -> %s\n", what, err);
    CHECK(strchr(err, '\n') == NULL, "%s: message is not one line: %s", what, err);
    va_list ap;
    va_start(ap, dir);
    for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *))
        CHECK(strstr(err, s) != NULL, "%s: message lacks \"%s\": %s", what, s, err);
    va_end(ap);
    if (m)
        vr_model_free(m);
}

/* ---- cases ------------------------------------------------------------------------ */

static void test_kv_copy(vr_model *m);

static void test_good_single_and_sharded(void) {
    char dir[300], err[512];
    model_files mf;
    new_case(dir, sizeof dir, &mf);
    write_st(dir, "model.safetensors", &mf, 0, mf.n, NULL);
    vr_model *m1 = NULL, *m2 = NULL;
    CHECK(vr_model_load(dir, NULL, be, &m1, err, sizeof err) == 0, "good model: %s", err);

    /* The same tensors over two shards plus an index. */
    char dir2[300];
    model_files mf2;
    new_case(dir2, sizeof dir2, &mf2);
    int half = mf2.n / 2;
    long long base = mf2.t[half].off_begin; /* the second shard's offsets start at 0 */
    for (int i = half; i < mf2.n; i++) {
        mf2.t[i].off_begin -= base;
        mf2.t[i].off_end -= base;
    }
    write_st(dir2, "model-00001-of-00002.safetensors", &mf2, 0, half, NULL);
    write_st(dir2, "model-00002-of-00002.safetensors", &mf2, half, mf2.n, NULL);
    char idx[8192];
    size_t n = (size_t)snprintf(idx, sizeof idx, "{\"metadata\":{},\"weight_map\":{");
    for (int i = 0; i < mf2.n; i++)
        n += (size_t)snprintf(idx + n, sizeof idx - n, "%s\"%s\":\"model-0000%d-of-00002.safetensors\"",
                              i ? "," : "", mf2.t[i].name, i < half ? 1 : 2);
    snprintf(idx + n, sizeof idx - n, "}}");
    write_text(dir2, "model.safetensors.index.json", idx);
    CHECK(vr_model_load(dir2, NULL, be, &m2, err, sizeof err) == 0, "sharded model: %s", err);
    if (!m1 || !m2)
        goto done;

    const vr_model_config *c = vr_model_get_config(m1);
    CHECK(c->arch == VR_ARCH_LLAMA && c->vocab_size == VOCAB && c->head_dim == HD &&
              c->num_kv_heads == KVH && c->dtype == VR_F32 && !c->tie_word_embeddings,
          "config fields");
    CHECK(c->num_eos_token_ids == 3 && c->eos_token_ids[0] == 2 && c->eos_token_ids[1] == 3 &&
              c->eos_token_ids[2] == 4,
          "eos ids are the union of both files (%d ids)", c->num_eos_token_ids);
    CHECK(c->has_temperature && fabsf(c->gen_temperature - 0.7f) < 1e-6f && !c->has_top_k,
          "generation defaults");
    CHECK(c->bos_token_id == 1 && c->pad_token_id == -1, "bos/pad");

    /* Both load the same numbers: one forward each must agree exactly. */
    vr_kv_cache *kv1 = NULL, *kv2 = NULL;
    CHECK(vr_kv_cache_create(m1, 4, 16, &kv1, err, sizeof err) == 0, "kv: %s", err);
    CHECK(vr_kv_cache_create(m2, 4, 16, &kv2, err, sizeof err) == 0, "kv: %s", err);
    if (kv1 && kv2) {
        int32_t ids[3] = {5, 9, 31}, pos[3] = {0, 1, 2}, slot[3] = {16, 17, 18};
        int32_t qs[2] = {0, 3}, ctx = 3, table[4] = {1, 0, 0, 0}, rows[2] = {2, 0};
        vr_batch b = {3, ids, pos, slot, 1, qs, &ctx, table, 4, 2, rows, VR_OUTPUT_LOGITS};
        float l1[2 * VOCAB], l2[2 * VOCAB], hid[HID];
        CHECK(vr_model_forward(m1, kv1, &b, l1, err, sizeof err) == 0, "forward: %s", err);
        CHECK(vr_model_forward(m2, kv2, &b, l2, err, sizeof err) == 0, "forward: %s", err);
        int finite = 1, same = 1;
        for (int i = 0; i < 2 * VOCAB; i++) {
            finite &= isfinite(l1[i]) != 0;
            same &= l1[i] == l2[i];
        }
        CHECK(finite && same, "sharded and single-file logits agree and are finite");
        b.output_kind = VR_OUTPUT_HIDDEN;
        b.num_outputs = 1;
        CHECK(vr_model_forward(m1, kv1, &b, hid, err, sizeof err) == 0, "hidden: %s", err);
        /* final-norm output with norm weights ~1: rms of the row close to 1 */
        double ss = 0;
        for (int i = 0; i < HID; i++)
            ss += (double)hid[i] * hid[i];
        CHECK(sqrt(ss / HID) > 0.5 && sqrt(ss / HID) < 1.5, "hidden rms %g", sqrt(ss / HID));

        /* Malformed batches: each an error, never a crash. */
        struct {
            const char *what, *msg;
            int32_t id, pos2, slot2, table0, qs1, ctx, row;
        } bad[] = {
            {"token id", "outside the vocabulary", VOCAB, 2, 18, 1, 3, 3, 2},
            {"negative id", "outside the vocabulary", -1, 2, 18, 1, 3, 3, 2},
            {"position", "position", 31, 7, 18, 1, 3, 3, 2},
            {"slot", "slot", 31, 2, 99, 1, 3, 3, 2},
            {"block", "block_table", 31, 2, 18, 4, 3, 3, 2},
            {"query_start", "query_start", 31, 2, 18, 1, 2, 3, 2},
            {"context_len < q_len", "context_len", 31, 2, 18, 1, 3, 2, 2},
            {"context_len > max pos", "context_len", 31, 2, 18, 1, 3, 65, 2},
            {"output row", "output_rows", 31, 2, 18, 1, 3, 3, 3},
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            int32_t bid[3] = {5, 9, bad[i].id}, bpos[3] = {0, 1, bad[i].pos2};
            int32_t bslot[3] = {16, 17, bad[i].slot2}, bqs[2] = {0, bad[i].qs1};
            int32_t bctx = bad[i].ctx, btab[4] = {bad[i].table0, 0, 0, 0}, brow = bad[i].row;
            vr_batch bb = {3, bid, bpos, bslot, 1, bqs, &bctx, btab, 4, 1, &brow,
                           VR_OUTPUT_LOGITS};
            err[0] = '\0';
            int rc = vr_model_forward(m1, kv1, &bb, l1, err, sizeof err);
            CHECK(rc != 0 && strstr(err, bad[i].msg), "bad batch (%s): rc %d, message: %s",
                  bad[i].what, rc, err);
        }
        /* A cache of another model is refused. */
        CHECK(vr_model_forward(m1, kv2, &b, l1, err, sizeof err) != 0 &&
                  strstr(err, "another model"),
              "foreign cache: %s", err);
    }
    vr_kv_cache_free(kv1);
    vr_kv_cache_free(kv2);
    test_kv_copy(m1);
done:
    vr_model_free(m1);
    vr_model_free(m2);
}

/* A forked sequence: copying a prefix's blocks and decoding from the copy
 * must give what decoding from the original gives, alone or batched. */
static void test_kv_copy(vr_model *m) {
    char err[512];
    vr_kv_cache *kv = NULL;
    CHECK(vr_kv_cache_bytes_per_block(m, 4) > 0, "bytes per block");
    CHECK(vr_kv_cache_create(m, 0, 4, &kv, err, sizeof err) != 0 && strstr(err, "num_blocks"),
          "zero blocks refused: %s", err);
    if (vr_kv_cache_create(m, 8, 4, &kv, err, sizeof err)) {
        CHECK(0, "kv: %s", err);
        return;
    }
    CHECK(vr_kv_cache_num_blocks(kv) == 8 && vr_kv_cache_block_size(kv) == 4, "kv geometry");
    int32_t ids[5] = {5, 9, 31, 7, 2}, pos[5] = {0, 1, 2, 3, 4}, slot[5] = {20, 21, 22, 23, 4};
    int32_t qs[2] = {0, 5}, ctx = 5, table[2] = {5, 1}, row = 4;
    vr_batch b = {5, ids, pos, slot, 1, qs, &ctx, table, 2, 1, &row, VR_OUTPUT_LOGITS};
    float pre[VOCAB], la[VOCAB], lb[VOCAB], both[3 * VOCAB];
    CHECK(vr_model_forward(m, kv, &b, pre, err, sizeof err) == 0, "prefill: %s", err);
    int32_t src[2] = {5, 1}, dst[2] = {2, 7};
    vr_kv_cache_copy_blocks(kv, src, dst, 2);

    /* decode token 11 at position 5 (block 1 of each table, offset 1) */
    int32_t d_id = 11, d_pos = 5, d_qs[2] = {0, 1}, d_ctx = 6, d_row = 0;
    int32_t ta[2] = {5, 1}, tb[2] = {2, 7}, sa = 1 * 4 + 1, sb = 7 * 4 + 1;
    vr_batch da = {1, &d_id, &d_pos, &sa, 1, d_qs, &d_ctx, ta, 2, 1, &d_row, VR_OUTPUT_LOGITS};
    vr_batch db = {1, &d_id, &d_pos, &sb, 1, d_qs, &d_ctx, tb, 2, 1, &d_row, VR_OUTPUT_LOGITS};
    CHECK(vr_model_forward(m, kv, &da, la, err, sizeof err) == 0, "decode a: %s", err);
    CHECK(vr_model_forward(m, kv, &db, lb, err, sizeof err) == 0, "decode b: %s", err);
    int same = 1, differs = 0;
    for (int i = 0; i < VOCAB; i++) {
        same &= fabsf(la[i] - lb[i]) <= 1e-5f * (1.0f + fabsf(la[i]));
        differs |= la[i] != pre[i];
    }
    CHECK(same && differs, "decode from copied blocks matches the original");

    /* both sequences in one batch: one token each */
    int32_t b_ids[2] = {11, 11}, b_pos[2] = {5, 5}, b_slot[2] = {sa, sb}, b_qs[3] = {0, 1, 2};
    int32_t b_ctx[2] = {6, 6}, b_tab[4] = {5, 1, 2, 7}, b_rows[3] = {1, 0, 1};
    vr_batch bb = {2, b_ids, b_pos, b_slot, 2, b_qs, b_ctx, b_tab, 2, 3, b_rows, VR_OUTPUT_LOGITS};
    CHECK(vr_model_forward(m, kv, &bb, both, err, sizeof err) == 0, "batched decode: %s", err);
    same = 1;
    for (int i = 0; i < VOCAB; i++)
        same &= fabsf(both[i] - lb[i]) <= 1e-5f * (1.0f + fabsf(lb[i])) &&
                fabsf(both[VOCAB + i] - la[i]) <= 1e-5f * (1.0f + fabsf(la[i])) &&
                both[2 * VOCAB + i] == both[i];
    CHECK(same, "batched decode rows match the single decodes, in output_rows order "
                "(a row asked twice comes twice)");
    vr_kv_cache_free(kv);
}

/* Random damage to a valid file's header and length field: every open must
 * either succeed or fail with a message, never read out of bounds (this test
 * runs under ASan). */
static void test_header_mutations(void) {
    char dir[300], path[400], err[512];
    model_files mf;
    new_case(dir, sizeof dir, &mf);
    write_st(dir, "model.safetensors", &mf, 0, mf.n, NULL);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    FILE *f = fopen(path, "rb");
    if (!f) {
        CHECK(0, "cannot reopen %s", path);
        return;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *orig = malloc((size_t)size), *buf = malloc((size_t)size);
    size_t got = fread(orig, 1, (size_t)size, f);
    fclose(f);
    size_t hlen = 0;
    for (int k = 7; k >= 0; k--)
        hlen = (hlen << 8) | orig[k];
    uint32_t r = 99;
    int opened = 0, refused = 0;
    for (int iter = 0; iter < 300 && got == (size_t)size; iter++) {
        memcpy(buf, orig, (size_t)size);
        int edits = 1 + iter % 4;
        for (int e = 0; e < edits; e++) {
            r = r * 1103515245u + 12345u;
            size_t at = (r >> 8) % (8 + hlen);
            r = r * 1103515245u + 12345u;
            static const char pool[] = "{}[]\":,0123456789-eE.\\ ax";
            buf[at] = iter % 3 ? (unsigned char)pool[(r >> 8) % (sizeof pool - 1)]
                               : (unsigned char)(r >> 8);
        }
        f = fopen(path, "wb");
        fwrite(buf, 1, (size_t)size, f);
        fclose(f);
        vr_safetensors *st = NULL;
        err[0] = '\0';
        if (vr_st_open_file(path, &st, err, sizeof err) == 0) {
            opened++;
            for (size_t i = 0; i < vr_st_count(st); i++) { /* every tensor inside the file */
                const vr_st_tensor *t = vr_st_at(st, i);
                volatile unsigned char sink = 0;
                if (t->nbytes)
                    sink ^= ((const unsigned char *)t->data)[t->nbytes - 1];
                (void)sink;
            }
            vr_st_close(st);
        } else {
            refused++;
            CHECK(err[0] != '\0' && strncmp(err, "model.safetensors: ", 19) == 0,
                  "mutation %d: refused without a proper message: %s", iter, err);
        }
    }
    printf("  header mutations: %d refused with a message, %d still valid\n", refused, opened);
    CHECK(refused > 100, "mutations refused: %d (opened %d)", refused, opened);
    free(orig);
    free(buf);
}

static void test_bad_folders(void) {
    char dir[300];
    model_files mf;
    st_opts o;

    new_case(dir, sizeof dir, &mf);
    write_st(dir, "model.safetensors", &mf, 0, mf.n, NULL);
    char path[400];
    snprintf(path, sizeof path, "%s/config.json", dir);
    unlink(path);
    expect_fail("missing config.json", dir, "config.json", "cannot read", NULL);

    new_case(dir, sizeof dir, &mf);
    expect_fail("missing safetensors", dir, "no model.safetensors", NULL);

    new_case(dir, sizeof dir, &mf);
    memset(&o, 0, sizeof o);
    o.truncate_to = 8 + 2000; /* header is ~1.5 KB: the data is cut short */
    write_st(dir, "model.safetensors", &mf, 0, mf.n, &o);
    expect_fail("truncated safetensors", dir, "model.safetensors", "past the end", NULL);

    new_case(dir, sizeof dir, &mf);
    memset(&o, 0, sizeof o);
    o.truncate_to = 5;
    write_st(dir, "model.safetensors", &mf, 0, mf.n, &o);
    expect_fail("file shorter than the length field", dir, "model.safetensors", "too short", NULL);

    new_case(dir, sizeof dir, &mf);
    memset(&o, 0, sizeof o);
    o.header_len_override = 1LL << 40;
    write_st(dir, "model.safetensors", &mf, 0, mf.n, &o);
    expect_fail("header length larger than file", dir, "model.safetensors", "header length", NULL);

    new_case(dir, sizeof dir, &mf);
    memset(&o, 0, sizeof o);
    o.header_text = "{\"model.norm.weight\": {\"dtype\": \"F32\", \"shape\": [8], ";
    write_st(dir, "model.safetensors", &mf, 0, mf.n, &o);
    expect_fail("malformed header JSON", dir, "model.safetensors", "not valid JSON", NULL);

    new_case(dir, sizeof dir, &mf);
    mf.t[3].off_end += 1 << 20; /* claims bytes past the end of the file */
    mf.t[3].off_begin += 1 << 20;
    write_st(dir, "model.safetensors", &mf, 0, mf.n, NULL);
    expect_fail("offsets outside file", dir, "model.safetensors", mf.t[3].name, "past the end",
                NULL);

    new_case(dir, sizeof dir, &mf);
    mf.t[4].off_begin = mf.t[3].off_begin; /* same bytes as tensor 3 */
    mf.t[4].off_end = mf.t[3].off_end;
    write_st(dir, "model.safetensors", &mf, 0, mf.n, NULL);
    expect_fail("overlapping tensors", dir, "model.safetensors", "overlap", NULL);

    new_case(dir, sizeof dir, &mf);
    mf.t[1].off_end -= 4; /* 7 floats for a shape of 8 */
    write_st(dir, "model.safetensors", &mf, 0, mf.n, NULL);
    expect_fail("size does not match shape", dir, "model.safetensors", mf.t[1].name, "need 32",
                NULL);

    new_case(dir, sizeof dir, &mf);
    mf.t[2].shape[0] = 4; /* q_proj as [4, 16]: the same 64 floats as [8, 8] */
    mf.t[2].shape[1] = 16;
    write_st(dir, "model.safetensors", &mf, 0, mf.n, NULL);
    expect_fail("wrong shape for a known weight", dir, "model.safetensors", "q_proj",
                "shape [4, 16]", "[8, 8]", NULL);

    new_case(dir, sizeof dir, &mf);
    write_st(dir, "model.safetensors", &mf, 0, mf.n - 1, NULL); /* no lm_head, not tied */
    expect_fail("missing weight", dir, "model.safetensors", "lm_head.weight", "missing", NULL);

    new_case(dir, sizeof dir, &mf);
    write_st(dir, "model.safetensors", &mf, 0, mf.n, NULL);
    write_text(dir, "config.json",
               "{\"architectures\": [\"FalconForCausalLM\"], \"vocab_size\": 32, \"hidden_size\": 8,"
               " \"intermediate_size\": 12, \"num_hidden_layers\": 1, \"num_attention_heads\": 2}");
    expect_fail("unknown architecture", dir, "config.json", "unsupported architecture",
                "FalconForCausalLM", NULL);

    new_case(dir, sizeof dir, &mf);
    snprintf(mf.t[1].dtype, sizeof mf.t[1].dtype, "I8");
    write_st(dir, "model.safetensors", &mf, 0, mf.n, NULL);
    expect_fail("unsupported dtype", dir, "model.safetensors", mf.t[1].name, "dtype I8", NULL);

    new_case(dir, sizeof dir, &mf);
    snprintf(mf.t[1].dtype, sizeof mf.t[1].dtype, "Q9_K");
    write_st(dir, "model.safetensors", &mf, 0, mf.n, NULL);
    expect_fail("unknown dtype", dir, "model.safetensors", "unknown dtype Q9_K", NULL);

    new_case(dir, sizeof dir, &mf);
    write_st(dir, "model-00001-of-00002.safetensors", &mf, 0, mf.n, NULL);
    write_text(dir, "model.safetensors.index.json",
               "{\"weight_map\": {\"model.embed_tokens.weight\": \"model-00001-of-00002.safetensors\","
               " \"lm_head.weight\": \"model-00002-of-00002.safetensors\"}}");
    expect_fail("index names a missing shard", dir, "model.safetensors.index.json",
                "model-00002-of-00002.safetensors", "does not exist", NULL);

    new_case(dir, sizeof dir, &mf);
    write_st(dir, "model-00001-of-00001.safetensors", &mf, 0, mf.n, NULL);
    write_text(dir, "model.safetensors.index.json",
               "{\"weight_map\": {\"model.embed_tokens.weight\": \"../../etc/passwd\"}}");
    expect_fail("index escapes the folder", dir, "model.safetensors.index.json", "file name",
                NULL);

    new_case(dir, sizeof dir, &mf);
    write_st(dir, "model.safetensors", &mf, 0, mf.n, NULL);
    write_text(dir, "generation_config.json", "{\"eos_token_id\": [2, \"x\"]}");
    expect_fail("bad generation_config", dir, "generation_config.json", "eos_token_id[1]", NULL);
}

/* config.json validation, one field at a time, from text. */
static void test_config(void) {
    struct {
        const char *json, *msg;
    } bad[] = {
        {"[1]", "top level"},
        {"{\"architectures\": [\"LlamaForCausalLM\"]", "not valid JSON"},
        {"{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 0, \"hidden_size\": 8, "
         "\"intermediate_size\": 4, \"num_hidden_layers\": 1, \"num_attention_heads\": 2}",
         "vocab_size (0) must be in"},
        {"{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 10, \"hidden_size\": \"8\", "
         "\"intermediate_size\": 4, \"num_hidden_layers\": 1, \"num_attention_heads\": 2}",
         "hidden_size must be an integer (got string)"},
        {"{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 10, \"hidden_size\": 64, "
         "\"intermediate_size\": 4, \"num_hidden_layers\": 1, \"num_attention_heads\": 16, "
         "\"num_key_value_heads\": 5}",
         "config.json: num_key_value_heads (5) must divide num_attention_heads (16)"},
        {"{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 10, \"hidden_size\": 10, "
         "\"intermediate_size\": 4, \"num_hidden_layers\": 1, \"num_attention_heads\": 4}",
         "num_attention_heads (4) must divide hidden_size (10)"},
        {"{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 10, \"hidden_size\": 8, "
         "\"num_hidden_layers\": 1, \"num_attention_heads\": 2}",
         "intermediate_size is missing"},
        {"{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 10, \"hidden_size\": 8, "
         "\"intermediate_size\": 4, \"num_hidden_layers\": 1, \"num_attention_heads\": 2, "
         "\"eos_token_id\": 10}",
         "eos_token_id 10 is outside the vocabulary"},
        {"{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 10, \"hidden_size\": 8, "
         "\"intermediate_size\": 4, \"num_hidden_layers\": 1, \"num_attention_heads\": 2, "
         "\"rope_scaling\": {\"rope_type\": \"longrope\", \"factor\": 2}}",
         "rope_scaling type 'longrope' is not supported"},
        {"{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 10, \"hidden_size\": 8, "
         "\"intermediate_size\": 4, \"num_hidden_layers\": 1, \"num_attention_heads\": 2, "
         "\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8}}",
         "original_max_position_embeddings is missing"},
        {"{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 10, \"hidden_size\": 8, "
         "\"intermediate_size\": 4, \"num_hidden_layers\": 1, \"num_attention_heads\": 2, "
         "\"rms_norm_eps\": -1}",
         "rms_norm_eps (-1) must be a positive"},
        {"{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 10, \"hidden_size\": 8, "
         "\"intermediate_size\": 4, \"num_hidden_layers\": 1, \"num_attention_heads\": 2, "
         "\"hidden_act\": \"relu2\"}",
         "hidden_act 'relu2' is not supported"},
        {"{\"architectures\": [\"Qwen2ForCausalLM\"], \"vocab_size\": 10, \"hidden_size\": 8, "
         "\"intermediate_size\": 4, \"num_hidden_layers\": 1, \"num_attention_heads\": 2, "
         "\"use_sliding_window\": true, \"sliding_window\": 4}",
         "use_sliding_window"},
        {"{\"architectures\": [], \"vocab_size\": 10}", "architectures must be a non-empty list"},
    };
    vr_model_config c;
    vr_config_extra ex;
    char err[512];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        int rc = vr_config_parse(bad[i].json, strlen(bad[i].json), NULL, 0, &c, &ex, err,
                                 sizeof err);
        CHECK(rc != 0 && strstr(err, bad[i].msg) && strncmp(err, "config.json: ", 13) == 0,
              "config case %zu: rc %d, message: %s", i, rc, err);
    }

    /* Mistral: sliding_window null = none; Qwen2: use_sliding_window false = none
     * although sliding_window is set; Qwen2 has q/k/v bias; Qwen3 head_dim and q/k norm. */
    const char *mistral =
        "{\"architectures\": [\"MistralForCausalLM\"], \"vocab_size\": 10, \"hidden_size\": 8,"
        " \"intermediate_size\": 4, \"num_hidden_layers\": 1, \"num_attention_heads\": 2,"
        " \"sliding_window\": null, \"head_dim\": null}";
    CHECK(vr_config_parse(mistral, strlen(mistral), NULL, 0, &c, &ex, err, sizeof err) == 0 &&
              c.sliding_window == 0 && c.head_dim == 4 && c.max_position_embeddings == 131072,
          "mistral defaults: %s", err);
    const char *mistral_w = "{\"model_type\": \"mistral\", \"vocab_size\": 10, \"hidden_size\": 8,"
                            " \"intermediate_size\": 4, \"num_hidden_layers\": 1,"
                            " \"num_attention_heads\": 2, \"sliding_window\": 4096}";
    CHECK(vr_config_parse(mistral_w, strlen(mistral_w), NULL, 0, &c, &ex, err, sizeof err) == 0 &&
              c.sliding_window == 4096 && c.arch == VR_ARCH_MISTRAL,
          "mistral window via model_type: %s", err);
    const char *qwen2 =
        "{\"architectures\": [\"Qwen2ForCausalLM\"], \"vocab_size\": 10, \"hidden_size\": 8,"
        " \"intermediate_size\": 4, \"num_hidden_layers\": 1, \"num_attention_heads\": 2,"
        " \"use_sliding_window\": false, \"sliding_window\": 4096, \"tie_word_embeddings\": true}";
    CHECK(vr_config_parse(qwen2, strlen(qwen2), NULL, 0, &c, &ex, err, sizeof err) == 0 &&
              c.sliding_window == 0 && c.attention_bias && !ex.o_proj_bias &&
              c.tie_word_embeddings && !c.qk_norm,
          "qwen2: %s", err);
    const char *qwen3 =
        "{\"architectures\": [\"Qwen3ForCausalLM\"], \"vocab_size\": 10, \"hidden_size\": 8,"
        " \"intermediate_size\": 4, \"num_hidden_layers\": 1, \"num_attention_heads\": 2,"
        " \"head_dim\": 16, \"eos_token_id\": 3}";
    const char *gen = "{\"eos_token_id\": [3, 5], \"top_k\": 20, \"top_p\": 0.95}";
    CHECK(vr_config_parse(qwen3, strlen(qwen3), gen, strlen(gen), &c, &ex, err, sizeof err) == 0 &&
              c.head_dim == 16 && c.qk_norm && c.num_eos_token_ids == 2 &&
              c.eos_token_ids[1] == 5 && c.has_top_k && c.gen_top_k == 20 && c.has_top_p,
          "qwen3: %s", err);

    /* RoPE tables: linear divides by the factor; llama3 keeps the highest
     * frequency, divides the lowest by the factor; yarn's attention factor. */
    const char *base_cfg =
        "{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 10, \"hidden_size\": 64,"
        " \"intermediate_size\": 4, \"num_hidden_layers\": 1, \"num_attention_heads\": 2,"
        " \"rope_theta\": 500000.0, \"max_position_embeddings\": 4096%s}";
    char text[1024];
    float plain[16], scaled[16], att;
    snprintf(text, sizeof text, base_cfg, "");
    CHECK(vr_config_parse(text, strlen(text), NULL, 0, &c, &ex, err, sizeof err) == 0, "%s", err);
    vr_rope_inv_freq(&c, &ex, plain, &att);
    CHECK(plain[0] == 1.0f && fabsf(plain[1] - powf(500000.0f, -2.0f / 32)) < 1e-7f && att == 1.0f,
          "default inv_freq");
    snprintf(text, sizeof text, base_cfg, ", \"rope_scaling\": {\"type\": \"linear\", \"factor\": 4}");
    CHECK(vr_config_parse(text, strlen(text), NULL, 0, &c, &ex, err, sizeof err) == 0, "%s", err);
    vr_rope_inv_freq(&c, &ex, scaled, &att);
    CHECK(fabsf(scaled[5] - plain[5] / 4) < 1e-9f, "linear inv_freq");
    snprintf(text, sizeof text, base_cfg,
             ", \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8, \"low_freq_factor\": 1,"
             " \"high_freq_factor\": 4, \"original_max_position_embeddings\": 8192}");
    CHECK(vr_config_parse(text, strlen(text), NULL, 0, &c, &ex, err, sizeof err) == 0, "%s", err);
    vr_rope_inv_freq(&c, &ex, scaled, &att);
    CHECK(scaled[0] == plain[0] && fabsf(scaled[15] - plain[15] / 8) < 1e-12f,
          "llama3 inv_freq ends");
    snprintf(text, sizeof text, base_cfg,
             ", \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4,"
             " \"original_max_position_embeddings\": 1024}");
    CHECK(vr_config_parse(text, strlen(text), NULL, 0, &c, &ex, err, sizeof err) == 0, "%s", err);
    vr_rope_inv_freq(&c, &ex, scaled, &att);
    CHECK(fabsf(att - (float)(0.1 * log(4.0) + 1.0)) < 1e-6f && scaled[0] == plain[0] &&
              fabsf(scaled[15] - plain[15] / 4) < 1e-12f,
          "yarn inv_freq and attention factor %g", att);
}

int main(void) {
    snprintf(root, sizeof root, "/tmp/vireo-model-test-XXXXXX");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    char err[256];
    be = vr_backend_cpu_create(1, err, sizeof err);
    if (!be) {
        fprintf(stderr, "cpu backend: %s\n", err);
        return 1;
    }
    test_config();
    test_bad_folders();
    test_header_mutations();
    test_good_single_and_sharded();
    vr_backend_destroy(be);
    rm_rf(root);
    if (failures) {
        fprintf(stderr, "test_model_load: %d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("test_model_load: all %d checks passed\n", checks);
    return 0;
}
