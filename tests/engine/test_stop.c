/* tests/engine/test_stop.c — stop strings: matching and hold-back on their
 * own, then through a request fed real tokens of the Qwen3 tokenizer (stop
 * strings inside one token, spanning tokens, split across several, never
 * completing, kept in the output), plus EOS / stop tokens / max_tokens.
 * usage: test_stop TOKENIZER_DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/request.h"
#include "tokenizer/tokenizer.h"

static int failures;
#define CHECK(c, ...) do { if (!(c)) { failures++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

static void test_matcher(void) {
    vr_stop_strings st;
    const char *s[] = {"abc", "bcd", "", "xyzw"};
    vr_stop_init(&st, s, 4);
    CHECK(st.n == 3 && st.max_len == 4, "init: %d strings, max %zu", st.n, st.max_len);
    size_t pos;
    CHECK(vr_stop_find(&st, "zzabcd", 6, 0, &pos) == 0 && pos == 2, "earliest match wins");
    CHECK(vr_stop_find(&st, "zzabcd", 6, 5, &pos) == 1 && pos == 3, "only a match ending in new text");
    CHECK(vr_stop_find(&st, "zzabcd", 6, 6, &pos) == -1, "no new text, no match");
    CHECK(vr_stop_find(&st, "ab", 2, 0, &pos) == -1, "partial is not a match");
    CHECK(vr_stop_holdback(&st, "hello ab", 8) == 2, "hold 'ab'");
    CHECK(vr_stop_holdback(&st, "hello xyz", 9) == 3, "hold 'xyz'");
    CHECK(vr_stop_holdback(&st, "hello", 5) == 0, "hold nothing");
    CHECK(vr_stop_holdback(&st, "b", 1) == 1, "hold 'b' (prefix of bcd)");
    vr_stop_free(&st);
}

typedef struct text_cap {
    char text[4096];
    size_t len;
    int finished, deltas;
    char reason[16];
    char stop_str[64];
    int32_t stop_token;
    int leaked; /* a delta showed the start of the stop string too early */
    const char *watch;
} text_cap;

static void on_delta(void *u, const vr_output_delta *d) {
    text_cap *c = u;
    memcpy(c->text + c->len, d->text, d->text_len);
    c->len += d->text_len;
    c->text[c->len] = 0;
    c->deltas++;
    if (d->finished) {
        c->finished = 1;
        snprintf(c->reason, sizeof c->reason, "%s", d->finish_reason);
        snprintf(c->stop_str, sizeof c->stop_str, "%s", d->stop_str ? d->stop_str : "");
        c->stop_token = d->stop_token;
    }
}

/* Feed `ids` through a request as if sampled, one per step. */
static void feed(const vr_tokenizer *tok, const int32_t *ids, int n, const char *const *stops, int n_stop,
                 int include, int max_tokens, const int32_t *stop_ids, int n_stop_ids, text_cap *c) {
    vr_engine_info info;
    memset(&info, 0, sizeof info);
    info.vocab_size = (int)vr_tokenizer_vocab_size(tok);
    info.max_model_len = 4096;
    info.max_num_seqs = 8;
    info.max_logprobs = 20;
    info.has_tokenizer = 1;
    vr_sampling_params p;
    vr_sampling_params_default(&p, NULL);
    p.stop = stops;
    p.n_stop = n_stop;
    p.include_stop_str_in_output = include;
    p.max_tokens = max_tokens;
    p.stop_token_ids = stop_ids;
    p.n_stop_token_ids = n_stop_ids;
    int32_t prompt[1] = {0};
    char err[256];
    CHECK(vr_request_validate(&info, VR_REQ_GENERATE, prompt, 1, &p, err, sizeof err) == 0, "%s", err);
    vr_request *r = vr_request_create("t", VR_REQ_GENERATE, prompt, 1, &p, 0, on_delta, c, &info, tok, 1);
    int eos[1] = {151645}; /* <|im_end|> */
    for (int i = 0; i < n && !r->outs[0].finished; i++) {
        vr_request_on_token(r, 0, ids[i], eos, 1, 1 + i + 1, info.max_model_len);
        vr_request_emit(r, 0, r->outs[0].finished, NULL, 0);
        if (c->watch && strstr(c->text, c->watch) && !c->finished) c->leaked = 1;
    }
    vr_request_destroy(r);
}

static int encode(const vr_tokenizer *tok, const char *s, int32_t **ids) {
    size_t n;
    char err[128];
    if (vr_tokenizer_encode(tok, s, strlen(s), 0, ids, &n, err, sizeof err)) return -1;
    return (int)n;
}

static void test_requests(const vr_tokenizer *tok) {
    const char *text = "The quick brown fox jumps over the lazy dog. Then it rests under a tree, sleeping.";
    int32_t *ids;
    int n = encode(tok, text, &ids);
    CHECK(n > 10, "encode gave %d ids", n);
    struct { const char *stop; int include; const char *want; const char *reason; } cases[] = {
        {"lazy dog", 0, "The quick brown fox jumps over the ", "stop"},        /* spans two tokens */
        {"lazy dog", 1, "The quick brown fox jumps over the lazy dog", "stop"},
        {"ump", 0, "The quick brown fox j", "stop"},                          /* inside one token */
        {"ver the lazy do", 0, "The quick brown fox jumps o", "stop"},        /* split across several */
        {"rests under a tree, never", 0, text, "length"},                     /* never completes */
        {"zzz", 0, text, "length"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        text_cap c;
        memset(&c, 0, sizeof c);
        const char *stops[1] = {cases[k].stop};
        c.watch = cases[k].include ? NULL : cases[k].stop;
        feed(tok, ids, n, stops, 1, cases[k].include, n, NULL, 0, &c);
        CHECK(c.finished && !strcmp(c.text, cases[k].want) && !strcmp(c.reason, cases[k].reason),
              "stop '%s': text '%s' reason %s", cases[k].stop, c.text, c.reason);
        if (!strcmp(cases[k].reason, "stop")) CHECK(!strcmp(c.stop_str, cases[k].stop), "stop_str '%s'", c.stop_str);
        CHECK(!c.leaked, "stop '%s': part of it was emitted before the match", cases[k].stop);
    }
    /* the never-completing one holds its prefix back while it could match */
    {
        text_cap c;
        memset(&c, 0, sizeof c);
        const char *stops[1] = {"jumps over the lazy cat"};
        c.watch = "jumps over the lazy";
        feed(tok, ids, n, stops, 1, 0, n, NULL, 0, &c);
        CHECK(c.leaked == 0 || strstr(c.text, "dog"), "held-back text leaked before 'dog' decided it");
        CHECK(!strcmp(c.text, text), "released text '%s'", c.text);
    }
    /* two stop strings: the earliest in the text wins */
    {
        text_cap c;
        memset(&c, 0, sizeof c);
        const char *stops[2] = {"tree", "fox"};
        feed(tok, ids, n, stops, 2, 0, n, NULL, 0, &c);
        CHECK(!strcmp(c.text, "The quick brown ") && !strcmp(c.stop_str, "fox"), "earliest: '%s'", c.text);
    }
    /* stop token id and max_tokens */
    {
        text_cap c;
        memset(&c, 0, sizeof c);
        int32_t sid = ids[3];
        feed(tok, ids, n, NULL, 0, 0, n, &sid, 1, &c);
        char *want = NULL;
        size_t wl;
        char err[64];
        vr_tokenizer_decode(tok, ids, 3, 1, &want, &wl, err, sizeof err);
        CHECK(!strcmp(c.reason, "stop") && c.stop_token == sid && !strcmp(c.text, want), "stop token: '%s'", c.text);
        free(want);
        memset(&c, 0, sizeof c);
        feed(tok, ids, n, NULL, 0, 0, 5, NULL, 0, &c);
        vr_tokenizer_decode(tok, ids, 5, 1, &want, &wl, err, sizeof err);
        CHECK(!strcmp(c.reason, "length") && !strcmp(c.text, want), "max_tokens: '%s'", c.text);
        free(want);
    }
    /* EOS ends the output and is not part of the text */
    {
        text_cap c;
        memset(&c, 0, sizeof c);
        int32_t with_eos[64];
        memcpy(with_eos, ids, 6 * sizeof *ids);
        with_eos[6] = 151645;
        with_eos[7] = ids[7];
        feed(tok, with_eos, 8, NULL, 0, 0, 100, NULL, 0, &c);
        char *want;
        size_t wl;
        char err[64];
        vr_tokenizer_decode(tok, ids, 6, 1, &want, &wl, err, sizeof err);
        CHECK(!strcmp(c.reason, "stop") && c.stop_token == -1 && !strcmp(c.text, want), "eos: '%s'", c.text);
        free(want);
    }
    free(ids);
}

int main(int argc, char **argv) {
    test_matcher();
    if (argc > 1) {
        vr_tokenizer *tok;
        char err[256];
        if (vr_tokenizer_load(argv[1], &tok, err, sizeof err)) {
            fprintf(stderr, "tokenizer: %s\n", err);
            return 1;
        }
        test_requests(tok);
        vr_tokenizer_free(tok);
    } else {
        fprintf(stderr, "test_stop: no tokenizer folder given; request-level tests not run\n");
        failures++;
    }
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("test_stop: ok\n");
    return 0;
}
