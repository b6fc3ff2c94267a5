/* Unit tests of the tokenizer library on small fixtures (tests/tokenizer/fixtures):
 * expected ids, streaming detokenization, malformed tokenizer.json files,
 * invalid input, lookups, and concurrent encodes on one tokenizer.
 * usage: test_tokenizer FIXTURES_DIR */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

static int failures;
#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        if (!(cond)) {                                                      \
            failures++;                                                     \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
        }                                                                   \
    } while (0)

static const char *fixtures;

static vr_tokenizer *load(const char *name) {
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/%s", fixtures, name);
    vr_tokenizer *t = NULL;
    int rc = vr_tokenizer_load(path, &t, err, sizeof err);
    CHECK(rc == 0 && t, "loading %s: %s", name, err);
    return t;
}

static size_t encode(const vr_tokenizer *t, const char *s, int special, int32_t *out, size_t cap) {
    int32_t *ids;
    size_t n;
    char err[256];
    int rc = vr_tokenizer_encode(t, s, strlen(s), special, &ids, &n, err, sizeof err);
    CHECK(rc == 0, "encode %s: %s", s, err);
    if (rc) return 0;
    for (size_t i = 0; i < n && i < cap; i++) out[i] = ids[i];
    free(ids);
    return n;
}

static int32_t id_of(const vr_tokenizer *t, const char *tok) {
    int32_t id = vr_tokenizer_token_to_id(t, tok);
    CHECK(id >= 0, "token %s missing", tok);
    return id;
}

/* BERT-style WordPiece: lowercasing, accents, punctuation, [CLS]/[SEP], unknown words. */
static void test_wordpiece(void) {
    vr_tokenizer *t = load("bert-tiny");
    if (!t) return;
    int32_t ids[64];
    size_t n = encode(t, "Hello, TOKENIZERS! Café xyzzyq", 1, ids, 64);
    int32_t want[] = {id_of(t, "[CLS]"), id_of(t, "hello"), id_of(t, ","), id_of(t, "token"), id_of(t, "##izers"),
                      id_of(t, "!"),     id_of(t, "cafe"),  id_of(t, "x"), id_of(t, "##y"),     id_of(t, "##z"),
                      id_of(t, "##z"),   id_of(t, "##y"),   id_of(t, "##q"), id_of(t, "[SEP]")};
    CHECK(n == sizeof want / sizeof want[0] && !memcmp(ids, want, sizeof want), "bert ids (n=%zu)", n);
    n = encode(t, "hello \xe4\xb8\xad\xe6\x96\x87\xe5\xad\x97", 0, ids, 64); /* CJK chars become single words */
    CHECK(n == 4 && ids[1] == id_of(t, "\xe4\xb8\xad"), "cjk split n=%zu", n);
    char *text;
    size_t len;
    char err[256];
    int32_t dec[] = {id_of(t, "[CLS]"), id_of(t, "token"), id_of(t, "##izers"), id_of(t, "!"), id_of(t, "[SEP]")};
    CHECK(!vr_tokenizer_decode(t, dec, 5, 1, &text, &len, err, sizeof err), "%s", err);
    CHECK(!strcmp(text, "tokenizers!"), "decode got '%s'", text);
    free(text);
    CHECK(!vr_tokenizer_decode(t, dec, 5, 0, &text, &len, err, sizeof err), "%s", err);
    CHECK(!strcmp(text, "[CLS] tokenizers! [SEP]"), "decode got '%s'", text);
    free(text);
    CHECK(!strcmp(vr_tokenizer_special_token(t, "cls_token"), "[CLS]"), "cls_token");
    CHECK(vr_tokenizer_special_token(t, "bos_token") == NULL, "bos_token absent");
    CHECK(vr_tokenizer_chat_template(t, NULL) == NULL, "no chat template");
    vr_tokenizer_free(t);
}

static int valid_utf8(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = p[i] < 0x80 ? 1 : p[i] >= 0xF0 ? 4 : p[i] >= 0xE0 ? 3 : p[i] >= 0xC2 ? 2 : 0;
        if (!k || i + k > n) return 0;
        for (size_t j = 1; j < k; j++)
            if ((p[i + j] & 0xC0) != 0x80) return 0;
        i += k;
    }
    return 1;
}

/* Stream ids one at a time: every chunk is whole UTF-8 and all of it equals a full decode. */
static void check_stream(const vr_tokenizer *t, const int32_t *ids, size_t n, int skip, const char *what) {
    char *full;
    size_t flen;
    char err[256];
    CHECK(!vr_tokenizer_decode(t, ids, n, skip, &full, &flen, err, sizeof err), "%s", err);
    vr_detok *d = vr_detok_create(t, skip);
    CHECK(d != NULL, "detok_create");
    if (!d) {
        free(full);
        return;
    }
    char *acc = malloc(flen + 64);
    size_t alen = 0, cap = flen + 64;
    int ok = 1;
    for (size_t i = 0; i <= n; i++) {
        const char *s;
        size_t k;
        int rc = i < n ? vr_detok_push(d, ids[i], &s, &k) : vr_detok_flush(d, &s, &k);
        CHECK(rc == 0, "push");
        CHECK(valid_utf8(s, k), "%s: chunk %zu is not whole UTF-8", what, i);
        if (alen + k > cap) {
            ok = 0;
            break;
        }
        memcpy(acc + alen, s, k);
        alen += k;
    }
    CHECK(ok && alen == flen && !memcmp(acc, full, flen), "%s: stream '%.*s' != decode '%s'", what, (int)alen, acc, full);
    free(acc);
    free(full);
    vr_detok_free(d);
}

static void test_streaming(void) {
    static const char *const names[] = {"sp-tiny", "sp-meta", "bl-tiny", "bert-tiny", "bpe-suffix", "wp-mix", "wl-tiny"};
    static const char *const texts[] = {
        "Hello world", " leading space", "caf\xc3\xa9 na\xc3\xafve \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\xa4\x97!",
        "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7 family", "", "   ", "<s>x</s> <|end|>y",
        "the lazy dog\n\n\ttabs", "e\xcc\x81\xcc\x81 marks", "<tool>word words"};
    for (size_t a = 0; a < sizeof names / sizeof names[0]; a++) {
        vr_tokenizer *t = load(names[a]);
        if (!t) continue;
        for (size_t b = 0; b < sizeof texts / sizeof texts[0]; b++) {
            int32_t *ids;
            size_t n;
            char err[256], what[128];
            for (int special = 0; special < 2; special++) {
                if (vr_tokenizer_encode(t, texts[b], strlen(texts[b]), special, &ids, &n, err, sizeof err)) {
                    CHECK(0, "%s", err);
                    continue;
                }
                snprintf(what, sizeof what, "%s text %zu", names[a], b);
                check_stream(t, ids, n, 0, what);
                check_stream(t, ids, n, 1, what);
                free(ids);
            }
        }
        vr_tokenizer_free(t);
    }
    /* byte-fallback split of one character across tokens: nothing until it is whole */
    vr_tokenizer *t = load("sp-tiny");
    if (!t) return;
    vr_detok *d = vr_detok_create(t, 0);
    const char *s;
    size_t k;
    int32_t b1 = id_of(t, "<0xC3>"), b2 = id_of(t, "<0xA9>"), x = id_of(t, "x");
    CHECK(!vr_detok_push(d, x, &s, &k) && k == 1 && s[0] == 'x', "x");
    CHECK(!vr_detok_push(d, b1, &s, &k) && k == 0, "half char held");
    CHECK(!vr_detok_push(d, b2, &s, &k), "push");
    CHECK(!vr_detok_push(d, x, &s, &k) && k == 3 && !memcmp(s, "\xc3\xa9x", 3), "whole char then x (k=%zu)", k);
    CHECK(!vr_detok_push(d, b1, &s, &k) && k == 0, "dangling lead byte held");
    CHECK(!vr_detok_flush(d, &s, &k) && k == 3 && !memcmp(s, "\xef\xbf\xbd", 3), "flush gives U+FFFD");
    CHECK(vr_detok_push(d, 1 << 30, &s, &k) != 0, "bad id refused");
    CHECK(vr_detok_push(d, -1, &s, &k) != 0, "negative id refused");
    vr_detok_free(d);
    vr_tokenizer_free(t);
}

static void test_bad_input(void) {
    vr_tokenizer *t = load("bl-tiny");
    if (!t) return;
    int32_t *ids;
    size_t n;
    char err[256] = "";
    CHECK(vr_tokenizer_encode(t, "ab\xff", 3, 1, &ids, &n, err, sizeof err) != 0 && strstr(err, "UTF-8"),
          "invalid UTF-8 refused: %s", err);
    CHECK(vr_tokenizer_encode(t, "\xed\xa0\x80", 3, 1, &ids, &n, err, sizeof err) != 0, "surrogate refused");
    CHECK(vr_tokenizer_encode(t, "\xc3", 1, 1, &ids, &n, err, sizeof err) != 0, "truncated refused");
    CHECK(vr_tokenizer_encode(t, "a\0b", 3, 0, &ids, &n, err, sizeof err) == 0 && n >= 3, "NUL is a character");
    free(ids);
    CHECK(vr_tokenizer_encode(t, "", 0, 0, &ids, &n, err, sizeof err) == 0 && n == 0 && ids, "empty input");
    free(ids);
    int32_t bad[] = {0, (int32_t)vr_tokenizer_vocab_size(t)};
    char *text;
    size_t len;
    err[0] = 0;
    CHECK(vr_tokenizer_decode(t, bad, 2, 0, &text, &len, err, sizeof err) != 0 && strstr(err, "out of range"),
          "decode range: %s", err);
    int32_t neg[] = {-5};
    CHECK(vr_tokenizer_decode(t, neg, 1, 0, &text, &len, err, sizeof err) != 0, "negative id");
    CHECK(vr_tokenizer_decode(t, NULL, 0, 0, &text, &len, err, sizeof err) == 0 && len == 0 && text && !text[0],
          "empty decode");
    free(text);
    vr_tokenizer_free(t);
}

static void test_lookups(void) {
    vr_tokenizer *t = load("bl-tiny");
    if (!t) return;
    int32_t end = id_of(t, "<|end|>"), tool = id_of(t, "<tool>");
    CHECK(vr_tokenizer_is_special(t, end) && !vr_tokenizer_is_special(t, tool), "special flags");
    CHECK(!strcmp(vr_tokenizer_id_to_token(t, end), "<|end|>"), "id_to_token");
    CHECK(vr_tokenizer_id_to_token(t, -1) == NULL && vr_tokenizer_token_to_id(t, "no such token") == -1, "misses");
    CHECK((size_t)end < vr_tokenizer_vocab_size(t), "vocab size");
    CHECK(!strcmp(vr_tokenizer_special_token(t, "eos_token"), "<|end|>"), "eos from {content}");
    CHECK(!strcmp(vr_tokenizer_special_token(t, "pad_token"), "<|pad|>"), "pad");
    CHECK(vr_tokenizer_special_token(t, "bos_token") == NULL, "null bos");
    CHECK(!strcmp(vr_tokenizer_chat_template(t, NULL), "{{ messages }}"), "default template");
    CHECK(!strcmp(vr_tokenizer_chat_template(t, "tool_use"), "{{ tools }}"), "tool_use template");
    char buf[16];
    size_t len;
    int32_t sp = id_of(t, "\xc4\xa0"); /* "Ġ" is the byte-level space */
    CHECK(!vr_tokenizer_token_bytes(t, sp, buf, sizeof buf, &len) && len == 1 && buf[0] == ' ', "token_bytes space");
    int32_t half = id_of(t, "\xc3\xa3"); /* byte 0xE3 alone: a partial character */
    CHECK(!vr_tokenizer_token_bytes(t, half, buf, sizeof buf, &len) && len == 1 && (unsigned char)buf[0] == 0xE3,
          "token_bytes raw byte");
    CHECK(vr_tokenizer_token_bytes(t, -1, buf, sizeof buf, &len) != 0, "token_bytes bad id");
    /* lstrip/rstrip and single_word added tokens */
    int32_t ids[64];
    size_t n = encode(t, "a  <|pad|>  b", 0, ids, 64);
    CHECK(n == 3 && ids[1] == id_of(t, "<|pad|>"), "lstrip/rstrip swallow spaces (n=%zu)", n);
    n = encode(t, "words word", 0, ids, 64);
    CHECK(n >= 2 && ids[n - 1] == id_of(t, "word") && ids[0] != id_of(t, "word"), "single_word");
    vr_tokenizer_free(t);
    t = load("sp-tiny");
    if (!t) return;
    int32_t b = id_of(t, "<0xE4>");
    CHECK(!vr_tokenizer_token_bytes(t, b, buf, sizeof buf, &len) && len == 1 && (unsigned char)buf[0] == 0xE4, "byte fallback");
    int32_t w = id_of(t, "\xe2\x96\x81the");
    CHECK(!vr_tokenizer_token_bytes(t, w, buf, sizeof buf, &len) && len == 4 && !memcmp(buf, " the", 4), "metaspace");
    CHECK(!strcmp(vr_tokenizer_chat_template(t, "default"), "{{ bos_token }}"), "string template");
    vr_tokenizer_free(t);
}

/* Malformed tokenizer.json documents: each must fail with a message, never crash. */
static void test_malformed(void) {
#define BPE_OK "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},\"merges\":[\"a b\"]}"
    static const char *const bad[] = {
        "",
        "{",
        "[1,2]",
        "{\"model\":",
        "{}",
        "{\"model\":null}",
        "{\"model\":{\"type\":\"BPE\"}}",
        "{\"model\":{\"type\":\"BPE\",\"vocab\":[1],\"merges\":[]}}",
        "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":-1},\"merges\":[]}}",
        "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":99999999999},\"merges\":[]}}",
        "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":1.5},\"merges\":[]}}",
        "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":\"0\"},\"merges\":[]}}",
        "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":0},\"merges\":[]}}",
        "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"a\":1},\"merges\":[]}}",
        "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[\"a b\"]}}",
        "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[\"a  b\"]}}",
        "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[\"ab\"]}}",
        "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[[\"a\"]]}}",
        "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[[\"a\",2]]}}",
        "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[7]}}",
        "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[],\"unk_token\":\"<unk>\"}}",
        "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[],\"byte_fallback\":\"yes\"}}",
        "{\"model\":{\"type\":\"Unigram\",\"vocab\":[[\"a\",0.0]]}}",
        "{\"model\":{\"type\":\"WordPiece\",\"vocab\":{\"a\":0}}}",
        "{\"model\":{\"type\":\"Nope\",\"vocab\":{}}}",
        "{" BPE_OK ",\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(unclosed\"},\"behavior\":\"Isolated\"}}",
        "{" BPE_OK ",\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"a\"},\"behavior\":\"Sideways\"}}",
        "{" BPE_OK ",\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":\"a\",\"behavior\":\"Isolated\"}}",
        "{" BPE_OK ",\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"a\"}}}",
        "{" BPE_OK ",\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":{}}}",
        "{" BPE_OK ",\"pre_tokenizer\":{\"type\":\"Metaspace\",\"replacement\":\"ab\"}}",
        "{" BPE_OK ",\"pre_tokenizer\":{\"type\":\"Metaspace\",\"prepend_scheme\":\"sometimes\"}}",
        "{" BPE_OK ",\"pre_tokenizer\":{\"type\":\"UnicodeScripts\"}}",
        "{" BPE_OK ",\"pre_tokenizer\":[]}",
        "{" BPE_OK ",\"normalizer\":{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"[\"},\"content\":\"x\"}}",
        "{" BPE_OK ",\"normalizer\":{\"type\":\"Replace\",\"pattern\":{\"String\":\"a\"}}}",
        "{" BPE_OK ",\"normalizer\":{\"type\":\"Precompiled\",\"precompiled_charsmap\":\"\"}}",
        "{" BPE_OK ",\"normalizer\":{\"type\":\"Prepend\",\"prepend\":5}}",
        "{" BPE_OK ",\"normalizer\":{\"nope\":1}}",
        "{" BPE_OK ",\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\"}}],\"special_tokens\":{}}}",
        "{" BPE_OK ",\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\"}}],\"special_tokens\":{\"<s>\":{\"ids\":[-3]}}}}",
        "{" BPE_OK ",\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\"}}],\"special_tokens\":{\"<s>\":{\"ids\":[4000]}}}}",
        "{" BPE_OK ",\"post_processor\":{\"type\":\"BertProcessing\",\"cls\":[\"[CLS]\"],\"sep\":[\"[SEP]\",1]}}",
        "{" BPE_OK ",\"decoder\":{\"type\":\"Strip\",\"content\":\" \",\"start\":-1}}",
        "{" BPE_OK ",\"decoder\":{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"(?<\"},\"content\":\"\"}}",
        "{" BPE_OK ",\"decoder\":{\"type\":\"CTC\"}}",
        "{" BPE_OK ",\"added_tokens\":[{\"id\":-1,\"content\":\"x\"}]}",
        "{" BPE_OK ",\"added_tokens\":[{\"id\":4294967296,\"content\":\"x\"}]}",
        "{" BPE_OK ",\"added_tokens\":[{\"id\":3}]}",
        "{" BPE_OK ",\"added_tokens\":{}}",
        "{" BPE_OK ",\"added_tokens\":[{\"id\":3,\"content\":\"x\",\"special\":\"true\"}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vr_tokenizer *t = (vr_tokenizer *)1;
        char err[256] = "";
        int rc = vr_tokenizer_load_json(bad[i], strlen(bad[i]), NULL, 0, &t, err, sizeof err);
        CHECK(rc != 0 && t == NULL && strlen(err) > 5, "malformed case %zu accepted (err '%s')", i, err);
    }
    /* a good one, and the same with a bad tokenizer_config.json */
    const char *good = "{" BPE_OK "}";
    vr_tokenizer *t;
    char err[256] = "";
    CHECK(!vr_tokenizer_load_json(good, strlen(good), NULL, 0, &t, err, sizeof err), "good: %s", err);
    vr_tokenizer_free(t);
    /* characters unknown to a BPE with neither unk nor byte fallback are dropped, as HF does */
    CHECK(!vr_tokenizer_load_json(good, strlen(good), NULL, 0, &t, err, sizeof err), "good: %s", err);
    int32_t *ids;
    size_t n_ids;
    CHECK(!vr_tokenizer_encode(t, "zzz", 3, 1, &ids, &n_ids, err, sizeof err) && n_ids == 0, "unknown chars dropped");
    free(ids);
    CHECK(!vr_tokenizer_encode(t, "zzz", 3, 1, &ids, &n_ids, err, sizeof err) && n_ids == 0, "again, from the cache");
    free(ids);
    CHECK(!vr_tokenizer_encode(t, "abz", 3, 1, &ids, &n_ids, err, sizeof err) && n_ids == 1 && ids[0] == 2, "ab merged");
    free(ids);
    vr_tokenizer_free(t);
    CHECK(vr_tokenizer_load_json(good, strlen(good), "{\"chat_template\": 5}", 20, &t, err, sizeof err) != 0, "bad config");
    CHECK(vr_tokenizer_load_json(good, strlen(good), "[", 1, &t, err, sizeof err) != 0, "truncated config");
    CHECK(vr_tokenizer_load("/nonexistent/dir", &t, err, sizeof err) != 0 && strstr(err, "/nonexistent"), "missing path: %s", err);
    /* an endless file (a device given as the path) is refused by size, not read until memory runs out */
    CHECK(vr_tokenizer_load("/dev/zero", &t, err, sizeof err) != 0 && strstr(err, "larger than"), "/dev/zero: %s", err);
    /* truncations of a real fixture at many points */
    char path[1024];
    snprintf(path, sizeof path, "%s/bert-tiny/tokenizer.json", fixtures);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL, "open %s", path);
    if (!f) return;
    char *buf = malloc(1 << 16);
    size_t n = fread(buf, 1, 1 << 16, f);
    fclose(f);
    for (size_t cut = 0; cut < n; cut += 97) {
        CHECK(vr_tokenizer_load_json(buf, cut, NULL, 0, &t, err, sizeof err) != 0, "truncated at %zu accepted", cut);
    }
    free(buf);
}

/* Two threads encoding on one tokenizer get the same ids as one thread. */
typedef struct { const vr_tokenizer *t; const char *text; int32_t *want; size_t n; int bad; } job;

static void *worker(void *p) {
    job *j = p;
    for (int r = 0; r < 300; r++) {
        int32_t *ids;
        size_t n;
        if (vr_tokenizer_encode(j->t, j->text, strlen(j->text), 1, &ids, &n, NULL, 0)) { j->bad++; continue; }
        if (n != j->n || memcmp(ids, j->want, n * sizeof *ids)) j->bad++;
        free(ids);
    }
    return NULL;
}

static void test_threads(void) {
    vr_tokenizer *t = load("bl-tiny");
    if (!t) return;
    const char *text = "The quick brown fox jumps over the lazy dog, again and again; tokens tokens tokens.";
    int32_t *want;
    size_t n;
    CHECK(!vr_tokenizer_encode(t, text, strlen(text), 1, &want, &n, NULL, 0), "encode");
    job j[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        j[i] = (job){t, text, want, n, 0};
        pthread_create(&th[i], NULL, worker, &j[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK(j[i].bad == 0, "thread %d saw %d mismatches", i, j[i].bad);
    }
    free(want);
    vr_tokenizer_free(t);
}

/* A word of 20k characters with no pre-tokenizer goes through BPE in one piece. */
static void test_long_word(void) {
    vr_tokenizer *t = load("sp-tiny");
    if (!t) return;
    size_t len = 60000;
    char *s = malloc(len + 1);
    for (size_t i = 0; i < len; i++) s[i] = "the lazy dog "[i % 13];
    s[len] = 0;
    int32_t *ids;
    size_t n;
    char err[256];
    CHECK(!vr_tokenizer_encode(t, s, len, 0, &ids, &n, err, sizeof err) && n > 0 && n < len, "long word: %s", err);
    char *text;
    size_t tl;
    CHECK(!vr_tokenizer_decode(t, ids, n, 0, &text, &tl, err, sizeof err) && tl == len && !memcmp(text, s, len),
          "long word round trip");
    free(text);
    free(ids);
    free(s);
    vr_tokenizer_free(t);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_tokenizer FIXTURES_DIR\n");
        return 2;
    }
    fixtures = argv[1];
    test_wordpiece();
    test_streaming();
    test_bad_input();
    test_lookups();
    test_malformed();
    test_threads();
    test_long_word();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("tokenizer unit tests: all passed\n");
    return 0;
}
