/* tests/bench/test_bench_units.c — the load generator's pure parts on exact
 * inputs: percentiles and goodput, the SSE reader split at every byte, the
 * request bodies, Poisson arrivals, datasets, flags (JSON itself: tests/json/). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchmarks/serve/bench.h"
#include "json/json.h"
#include "benchmarks/serve/sse.h"
#include "benchmarks/serve/stats.h"

static int failures;
#define CHECK(c)                                                              \
    do {                                                                      \
        if (!(c)) {                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); \
            failures++;                                                       \
        }                                                                     \
    } while (0)
#define NEAR(a, b, tol) CHECK(fabs((double)(a) - (double)(b)) <= (tol))

static void test_percentiles(void) {
    double v[] = {4, 1, 3, 2};
    /* numpy.percentile([1,2,3,4], q): 50 -> 2.5, 90 -> 3.7, 99 -> 3.97, 0 -> 1, 100 -> 4 */
    NEAR(vr_bench_percentile(v, 4, 50), 2.5, 1e-12);
    NEAR(vr_bench_percentile(v, 4, 90), 3.7, 1e-12);
    NEAR(vr_bench_percentile(v, 4, 99), 3.97, 1e-12);
    NEAR(vr_bench_percentile(v, 4, 0), 1, 0);
    NEAR(vr_bench_percentile(v, 4, 100), 4, 0);
    double one = 7;
    NEAR(vr_bench_percentile(&one, 1, 99), 7, 0);
    CHECK(vr_bench_percentile(NULL, 0, 50) == 0);
    double w[101];
    for (int i = 0; i <= 100; i++) w[i] = 100 - i;
    vr_bench_dist d;
    CHECK(vr_bench_dist_of(w, 101, &d) == 0);
    NEAR(d.mean, 50, 1e-12);
    NEAR(d.median, 50, 1e-12);
    NEAR(d.p90, 90, 1e-12);
    NEAR(d.p99, 99, 1e-12);
    NEAR(d.min, 0, 0);
    NEAR(d.max, 100, 0);
    NEAR(d.std, sqrt(850.0), 1e-9); /* population variance of 0..100 is 850 */
    CHECK(w[0] == 100);             /* input untouched */
}

static void test_summary_and_goodput(void) {
    vr_bench_sample s[4];
    memset(s, 0, sizeof s);
    /* three successes, one failure */
    double ttft[] = {100, 200, 600}, e2e[] = {1100, 1200, 1600};
    int out[] = {11, 11, 1};
    for (int i = 0; i < 3; i++) {
        s[i].ok = 1;
        s[i].prompt_tokens = 10 * (i + 1);
        s[i].output_tokens = out[i];
        s[i].ttft_ms = ttft[i];
        s[i].e2e_ms = e2e[i];
        s[i].tpot_ms = out[i] > 1 ? (e2e[i] - ttft[i]) / (out[i] - 1) : -1;
        for (int k = 1; k < out[i]; k++) CHECK(vr_bench_sample_add_itl(&s[i], 100) == 0);
    }
    strcpy(s[3].error, "HTTP 400");
    vr_bench_slo slo = {0};
    char err[128];
    CHECK(vr_bench_slo_parse("ttft:500", &slo, err, sizeof err) == 0);
    CHECK(vr_bench_slo_parse("tpot:100", &slo, err, sizeof err) == 0);
    CHECK(vr_bench_slo_parse("tpot", &slo, err, sizeof err) != 0);
    CHECK(vr_bench_slo_parse("foo:3", &slo, err, sizeof err) != 0);
    CHECK(vr_bench_slo_parse("ttft:-1", &slo, err, sizeof err) != 0);
    vr_bench_summary sum;
    CHECK(vr_bench_summarize(s, 4, 2.0, &slo, &sum) == 0);
    CHECK(sum.completed == 3 && sum.failed == 1);
    CHECK(sum.total_input == 60 && sum.total_output == 23);
    NEAR(sum.request_throughput, 1.5, 1e-12);
    NEAR(sum.output_throughput, 11.5, 1e-12);
    NEAR(sum.total_throughput, 41.5, 1e-12);
    /* goodput: #0 (ttft 100, tpot 100) and #1 (ttft 200, tpot 100) meet both; #2 has ttft 600 */
    CHECK(sum.goodput_set && sum.good == 2);
    NEAR(sum.goodput, 1.0, 1e-12);
    CHECK(sum.tpot.n == 2); /* the one-token request has no TPOT */
    NEAR(sum.tpot.mean, 100, 1e-9);
    CHECK(sum.itl.n == 20);
    NEAR(sum.ttft.median, 200, 1e-12);
    NEAR(sum.e2e.mean, 1300, 1e-9);
    vr_bench_slo e2e_slo = {0, 0, 1150};
    CHECK(vr_bench_summarize(s, 4, 2.0, &e2e_slo, &sum) == 0);
    CHECK(sum.good == 1);
    for (int i = 0; i < 4; i++) vr_bench_sample_free(&s[i]);
}

typedef struct { char got[16][64]; int n; int stop_at; } sse_log;

static int sse_cb(void *u, const char *d, size_t n) {
    sse_log *l = u;
    if (l->n < 16) snprintf(l->got[l->n], sizeof l->got[0], "%.*s", (int)n, d);
    l->n++;
    return l->stop_at && l->n == l->stop_at ? 7 : 0;
}

static void test_sse(void) {
    const char *stream = ": comment\r\ndata: {\"a\":1}\r\n\r\nevent: x\ndata:two\ndata: lines\n\ndata: [DONE]\r\r";
    size_t n = strlen(stream);
    for (size_t split = 0; split <= n; split++) { /* every split point gives the same events */
        sse_log l = {0};
        vr_sse s;
        vr_sse_init(&s, 1024, sse_cb, &l);
        CHECK(vr_sse_feed(&s, stream, split) == 0);
        CHECK(vr_sse_feed(&s, stream + split, n - split) == 0);
        CHECK(l.n == 3);
        CHECK(!strcmp(l.got[0], "{\"a\":1}"));
        CHECK(!strcmp(l.got[1], "two\nlines"));
        CHECK(!strcmp(l.got[2], "[DONE]"));
        vr_sse_free(&s);
    }
    /* byte by byte */
    sse_log l = {0};
    vr_sse s;
    vr_sse_init(&s, 1024, sse_cb, &l);
    for (size_t i = 0; i < n; i++) CHECK(vr_sse_feed(&s, stream + i, 1) == 0);
    CHECK(l.n == 3);
    vr_sse_free(&s);
    /* a line that never ends is bounded */
    vr_sse_init(&s, 64, sse_cb, &l);
    char big[200];
    memset(big, 'x', sizeof big);
    CHECK(vr_sse_feed(&s, big, sizeof big) == -1);
    vr_sse_free(&s);
    /* callback's value stops parsing */
    sse_log l2 = {.stop_at = 1};
    vr_sse_init(&s, 1024, sse_cb, &l2);
    CHECK(vr_sse_feed(&s, "data: a\n\ndata: b\n\n", 18) == 7);
    CHECK(l2.n == 1);
    vr_sse_free(&s);
}

static void test_arrivals(void) {
    enum { N = 20000 };
    double *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    vr_bench_rng r1 = {42}, r2 = {42};
    vr_bench_arrivals(50.0, N, &r1, a);
    vr_bench_arrivals(50.0, N, &r2, b);
    CHECK(!memcmp(a, b, N * sizeof *a)); /* seeded: same schedule */
    CHECK(a[0] == 0);
    for (int i = 1; i < N; i++) CHECK(a[i] >= a[i - 1]);
    NEAR(a[N - 1] / (N - 1), 1.0 / 50.0, 0.02 / 50.0 * 3); /* mean gap 1/rate within ~3 sigma */
    vr_bench_arrivals(INFINITY, N, &r1, a);
    CHECK(a[0] == 0 && a[N - 1] == 0);
    free(a);
    free(b);
}

/* An in-process tokenizer for the vocabulary path: a word is a token; ids
 * that are multiples of 7 detokenize glued to the next word, so re-tokenizing
 * finds fewer tokens and the dataset has to correct the count. */
static int fv_tokenize(void *u, const char *text, int **ids, size_t *n, char *err, size_t errlen) {
    (void)u; (void)err; (void)errlen;
    size_t cap = strlen(text) + 1, k = 0;
    int *out = malloc(cap * sizeof *out);
    const char *p = text;
    while (*p) {
        while (*p == ' ') p++;
        if (!*p) break;
        const char *w = p;
        while (*p && *p != ' ') p++;
        unsigned h = 7;
        for (const char *c = w; c < p; c++) h = h * 31 + (unsigned char)*c;
        out[k++] = 1 + (int)(h % 1000);
    }
    *ids = out;
    *n = k;
    return 0;
}

static int fv_detokenize(void *u, const int *ids, size_t n, char **text, char *err, size_t errlen) {
    (void)u; (void)err; (void)errlen;
    char *t = malloc(n * 12 + 1), *o = t;
    for (size_t i = 0; i < n; i++) o += sprintf(o, "t%d%s", ids[i], ids[i] % 7 == 0 || i + 1 == n ? "" : " ");
    *o = 0;
    *text = t;
    return 0;
}

static int fv_fail(void *u, const int *ids, size_t n, char **text, char *err, size_t errlen) {
    (void)u; (void)ids; (void)n; (void)text;
    snprintf(err, errlen, "/detokenize: HTTP 404");
    return -1;
}

static void test_vocab_dataset(void) {
    char err[256], note[200];
    vr_bench_config cfg;
    char *argv[] = {"serve", "--random-input-len", "50", "--random-output-len", "4", "--num-prompts", "40"};
    CHECK(vr_bench_parse_args(7, argv, &cfg, err, sizeof err) == 0);
    vr_bench_vocab v = {fv_tokenize, fv_detokenize, NULL};
    vr_bench_prompt *p;
    size_t n;
    CHECK(vr_bench_dataset_build(&cfg, &v, &p, &n, note, sizeof note, err, sizeof err) == 0);
    CHECK(strstr(note, "server's vocabulary") != NULL);
    int exact = 0;
    for (size_t i = 0; i < n; i++) {
        int *ids;
        size_t k;
        fv_tokenize(NULL, p[i].text, &ids, &k, err, sizeof err);
        CHECK((int)k == p[i].prompt_len); /* the recorded length is the re-tokenized one */
        exact += p[i].prompt_len == 50;
        free(ids);
    }
    CHECK(exact >= 36); /* glued words are corrected for: nearly all hit the length */
    vr_bench_prompts_free(p, n);
    /* a server whose /detokenize fails: the word list, not an error */
    vr_bench_vocab broken = {fv_tokenize, fv_fail, NULL};
    CHECK(vr_bench_dataset_build(&cfg, &broken, &p, &n, note, sizeof note, err, sizeof err) == 0);
    CHECK(strstr(note, "word list") != NULL);
    vr_bench_prompts_free(p, n);
    vr_bench_config_free(&cfg);
}

static void test_datasets(void) {
    char err[256], note[200];
    vr_bench_config cfg;
    char *argv[] = {"serve", "--random-input-len", "100", "--random-output-len", "20", "--random-range-ratio", "0.5",
                    "--num-prompts", "50", "--seed", "3"};
    CHECK(vr_bench_parse_args(11, argv, &cfg, err, sizeof err) == 0);
    vr_bench_prompt *p, *q;
    size_t n, m;
    CHECK(vr_bench_dataset_build(&cfg, NULL, &p, &n, note, sizeof note, err, sizeof err) == 0);
    CHECK(n == 50);
    int varied = 0;
    for (size_t i = 0; i < n; i++) {
        CHECK(p[i].prompt_len >= 50 && p[i].prompt_len <= 150);
        CHECK(p[i].output_len >= 10 && p[i].output_len <= 30);
        int words = 1;
        for (const char *c = p[i].text; *c; c++) words += *c == ' ';
        CHECK(words == p[i].prompt_len);
        varied += p[i].prompt_len != p[0].prompt_len;
    }
    CHECK(varied > 0);
    CHECK(vr_bench_dataset_build(&cfg, NULL, &q, &m, NULL, 0, err, sizeof err) == 0);
    for (size_t i = 0; i < n; i++) CHECK(!strcmp(p[i].text, q[i].text)); /* seeded */
    vr_bench_prompts_free(p, n);
    vr_bench_prompts_free(q, m);
    vr_bench_config_free(&cfg);

    char *argv2[] = {"serve", "--dataset-name", "prefix-repetition", "--prefix-repetition-prefix-len", "30",
                     "--prefix-repetition-suffix-len", "5", "--prefix-repetition-num-prefixes", "2",
                     "--prefix-repetition-output-len", "7", "--num-prompts", "10"};
    CHECK(vr_bench_parse_args(13, argv2, &cfg, err, sizeof err) == 0);
    CHECK(vr_bench_dataset_build(&cfg, NULL, &p, &n, NULL, 0, err, sizeof err) == 0);
    int distinct_prefixes = 0;
    char seen[2][400] = {"", ""};
    for (size_t i = 0; i < n; i++) {
        CHECK(p[i].prompt_len == 35 && p[i].output_len == 7);
        /* the first 30 words are one of two prefixes */
        const char *c = p[i].text;
        for (int w = 0; w < 30 && c; w++) c = strchr(c + 1, ' ');
        CHECK(c != NULL);
        size_t pl = c ? (size_t)(c - p[i].text) : 0;
        int found = 0;
        for (int k = 0; k < distinct_prefixes; k++) found |= strlen(seen[k]) == pl && !strncmp(seen[k], p[i].text, pl);
        if (!found && distinct_prefixes < 2 && pl < 400) {
            memcpy(seen[distinct_prefixes], p[i].text, pl);
            seen[distinct_prefixes++][pl] = 0;
        } else if (!found) {
            CHECK(!"a third prefix");
        }
    }
    CHECK(distinct_prefixes == 2);
    vr_bench_prompts_free(p, n);
    vr_bench_config_free(&cfg);

    /* sharegpt: first human turn is the prompt; short ones are skipped */
    char path[] = "/tmp/vireo_sharegpt_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    const char *js = "[{\"id\":\"a\",\"conversations\":[{\"from\":\"human\",\"value\":\"Tell me about the river "
                     "that runs through the old city please\"},{\"from\":\"gpt\",\"value\":\"The river is long and "
                     "slow and it has many bridges over it.\"}]},"
                     "{\"id\":\"b\",\"conversations\":[{\"from\":\"human\",\"value\":\"hi\"}]},"
                     "{\"id\":\"c\",\"conversations\":[{\"from\":\"human\",\"value\":\"x\"},{\"from\":\"gpt\",\"value\":\"y\"}]},"
                     "{\"id\":\"d\",\"conversations\":[{\"from\":\"system\",\"value\":\"be brief\"},{\"from\":\"gpt\",\"value\":\"ok\"}]},"
                     "{\"id\":\"e\",\"conversations\":[{\"from\":\"gpt\",\"value\":\"Hello, how can I help you today with anything?\"},"
                     "{\"from\":\"human\",\"value\":\"Please describe the quiet morning light over the northern river\"},"
                     "{\"from\":\"gpt\",\"value\":\"Pale and slow, the light moves on the water like a thought.\"}]}]";
    CHECK(write(fd, js, strlen(js)) == (ssize_t)strlen(js));
    close(fd);
    char *argv3[] = {"serve", "--dataset-name", "sharegpt", "--dataset-path", path, "--num-prompts", "3"};
    CHECK(vr_bench_parse_args(7, argv3, &cfg, err, sizeof err) == 0);
    CHECK(vr_bench_dataset_build(&cfg, NULL, &p, &n, NULL, 0, err, sizeof err) == 0);
    CHECK(n == 3);
    int river = 0, light = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strncmp(p[i].text, "Tell me about the river", 23)) {
            river++;
            CHECK(p[i].output_len == (int)((strlen("The river is long and slow and it has many bridges over it.") + 3) / 4));
        } else if (!strncmp(p[i].text, "Please describe", 15)) { /* the first HUMAN turn, not turn 0 */
            light++;
            CHECK(p[i].output_len == (int)((strlen("Pale and slow, the light moves on the water like a thought.") + 3) / 4));
        } else {
            CHECK(!"unexpected prompt");
        }
    }
    CHECK(river >= 1 && light >= 1 && river + light == 3); /* two usable, the third reuses one */
    vr_bench_prompts_free(p, n);
    vr_bench_config_free(&cfg);
    char *argv4[] = {"serve", "--dataset-name", "sharegpt", "--dataset-path", path, "--num-prompts", "2",
                     "--sharegpt-output-len", "9"};
    CHECK(vr_bench_parse_args(9, argv4, &cfg, err, sizeof err) == 0);
    CHECK(vr_bench_dataset_build(&cfg, NULL, &p, &n, NULL, 0, err, sizeof err) == 0);
    CHECK(n == 2 && p[0].output_len == 9);
    vr_bench_prompts_free(p, n);
    vr_bench_config_free(&cfg);
    /* a broken file is an error message, not a crash */
    FILE *f = fopen(path, "w");
    fputs("[{\"conversations\": [", f);
    fclose(f);
    CHECK(vr_bench_parse_args(7, argv3, &cfg, err, sizeof err) == 0);
    err[0] = 0;
    CHECK(vr_bench_dataset_build(&cfg, NULL, &p, &n, NULL, 0, err, sizeof err) != 0);
    CHECK(strstr(err, "JSON") != NULL);
    vr_bench_config_free(&cfg);
    unlink(path);
    char *argv5[] = {"serve", "--dataset-name", "sharegpt", "--dataset-path", "/nonexistent/x.json"};
    CHECK(vr_bench_parse_args(5, argv5, &cfg, err, sizeof err) == 0);
    CHECK(vr_bench_dataset_build(&cfg, NULL, &p, &n, NULL, 0, err, sizeof err) != 0);
    vr_bench_config_free(&cfg);
}

static void test_args(void) {
    vr_bench_config cfg;
    char err[256];
    char *ok[] = {"serve", "--endpoint", "/v1/chat/completions", "--request-rate", "inf", "--sweep-concurrency",
                  "1,2,16", "--goodput", "ttft:500", "tpot:100", "--max-concurrency", "4", "--ignore-eos"};
    CHECK(vr_bench_parse_args(13, ok, &cfg, err, sizeof err) == 0);
    CHECK(cfg.chat && isinf(cfg.request_rate) && cfg.n_sweep == 3 && cfg.sweep[2] == 16);
    CHECK(cfg.slo.ttft_ms == 500 && cfg.slo.tpot_ms == 100 && cfg.max_concurrency == 4 && cfg.ignore_eos);
    vr_bench_config_free(&cfg);
    char *bad[][3] = {{"serve", "--num-prompts", "0"}, {"serve", "--sweep-concurrency", "1,,2"},
                      {"serve", "--request-rate", "fast"}, {"serve", "--endpoint", "/v1/embeddings"},
                      {"serve", "--bogus", "1"}, {"serve", "--random-range-ratio", "1.5"},
                      {"serve", "--dataset-name", "sharegpt"}, {"serve", "--plot", "x.svg"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        CHECK(vr_bench_parse_args(3, bad[i], &cfg, err, sizeof err) < 0);
        CHECK(err[0] != 0);
        vr_bench_config_free(&cfg);
    }
    /* request bodies are valid JSON with the fields vLLM's harness sends */
    char *argv[] = {"serve", "--ignore-eos"};
    CHECK(vr_bench_parse_args(2, argv, &cfg, err, sizeof err) == 0);
    vr_bench_prompt p = {"say \"hi\"\n\x01", 3, 5};
    vr_bench_buf b = {0};
    CHECK(vr_bench_request_body(&cfg, "m", &p, &b) == 0);
    vr_jdoc *d = vr_jdoc_parse(b.p, b.len, err, sizeof err);
    CHECK(d != NULL);
    CHECK(!strcmp(vr_jstring(vr_jget(vr_jdoc_root(d), "prompt")), p.text));
    double v;
    CHECK(vr_jdouble(vr_jget(vr_jdoc_root(d), "max_tokens"), &v) == 0 && v == 5);
    int yes = 0;
    CHECK(vr_jbool(vr_jget(vr_jdoc_root(d), "ignore_eos"), &yes) == 0 && yes == 1);
    CHECK(vr_jbool(vr_jget(vr_jget(vr_jdoc_root(d), "stream_options"), "include_usage"), &yes) == 0 && yes == 1);
    vr_jdoc_free(d);
    free(b.p);
    vr_bench_config_free(&cfg);
}

int main(void) {
    test_percentiles();
    test_summary_and_goodput();
    test_sse();
    test_arrivals();
    test_datasets();
    test_vocab_dataset();
    test_args();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("bench units: all checks passed\n");
    return 0;
}
