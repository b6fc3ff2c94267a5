/* tests/bench/test_bench_serve.c — `vireo bench serve` end to end against
 * the fake server: with known timings the reported TTFT / ITL / TPOT / E2E
 * and throughputs come out right; every kind of misbehaviour is a counted
 * failure with its reason; the result JSON has the documented fields; a
 * sweep writes a well-formed SVG. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchmarks/serve/bench.h"
#include "benchmarks/serve/bench_serve.h"
#include "json/json.h"
#include "benchmarks/serve/stats.h"
#include "tests/bench/fake_server.h"

static int failures;
#define CHECK(c)                                                              \
    do {                                                                      \
        if (!(c)) {                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); \
            failures++;                                                       \
        }                                                                     \
    } while (0)
#define NEAR(a, b, tol)                                                                              \
    do {                                                                                             \
        double _a = (a), _b = (b);                                                                   \
        if (!(fabs(_a - _b) <= (tol))) {                                                             \
            fprintf(stderr, "%s:%d: %s = %g, expected %g +- %g\n", __FILE__, __LINE__, #a, _a, _b, (double)(tol)); \
            failures++;                                                                              \
        }                                                                                            \
    } while (0)

/* Timings from a sleeping server can only come out late on a busy machine,
 * never early: lower bounds are tight, upper bounds leave room for load. */
#define RANGE(a, lo, hi)                                                                            \
    do {                                                                                            \
        double _a = (a);                                                                            \
        if (!(_a >= (lo) && _a <= (hi))) {                                                          \
            fprintf(stderr, "%s:%d: %s = %g, expected in [%g, %g]\n", __FILE__, __LINE__, #a, _a,     \
                    (double)(lo), (double)(hi));                                                    \
            failures++;                                                                             \
        }                                                                                           \
    } while (0)

/* Medians and upper bounds of timings are "soft": a scenario whose soft
 * checks fail is run again (up to 3 times) before they count, because a
 * shared CI machine can stall any process for tens of milliseconds. Hard
 * checks (counts, lower bounds that causality guarantees, figures that are
 * pure arithmetic on the samples) always count. */
static int soft_failures;
#define SOFT_RANGE(a, lo, hi)                                                                       \
    do {                                                                                            \
        double _a = (a);                                                                            \
        if (!(_a >= (lo) && _a <= (hi))) {                                                          \
            fprintf(stderr, "%s:%d: %s = %g, expected in [%g, %g] (timing)\n", __FILE__, __LINE__, #a, \
                    _a, (double)(lo), (double)(hi));                                                \
            soft_failures++;                                                                        \
        }                                                                                           \
    } while (0)

/* Runs fn up to 3 times until its soft checks pass. */
static void with_retries(const char *name, void (*fn)(const void *), const void *arg) {
    for (int attempt = 1; attempt <= 3; attempt++) {
        soft_failures = 0;
        fn(arg);
        if (!soft_failures) return;
        fprintf(stderr, "%s: %d timing check(s) off on attempt %d%s\n", name, soft_failures, attempt,
                attempt < 3 ? ", retrying" : "");
    }
    failures += soft_failures;
}

static char tmpdir[64];

/* Runs the harness with "--base-url http://127.0.0.1:PORT --no-progress" + the given flags. */
static int run_harness(int port, const char *json_path, ...) {
    char *argv[64];
    int argc = 0;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    argv[argc++] = "serve";
    argv[argc++] = "--base-url";
    argv[argc++] = url;
    argv[argc++] = "--no-progress";
    if (json_path) {
        argv[argc++] = "--result-json";
        argv[argc++] = (char *)json_path;
    }
    va_list ap;
    va_start(ap, json_path);
    const char *a;
    while ((a = va_arg(ap, const char *)) && argc < 63) argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    return vr_bench_serve_main(argc, argv);
}

static vr_jdoc *load_json(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[65536];
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n > cap) {
            cap = (len + n) * 2;
            buf = realloc(buf, cap);
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    char err[160];
    vr_jdoc *d = vr_jdoc_parse(buf, len, err, sizeof err);
    if (!d) fprintf(stderr, "result JSON: %s\n", err);
    free(buf);
    return d;
}

static double num(const vr_json *o, const char *k) {
    double v = NAN;
    if (vr_jdouble(vr_jget(o, k), &v)) fprintf(stderr, "missing number field '%s'\n", k);
    return v;
}

/* Known timings: first token 80 ms after the request, then one every 20 ms,
 * 12 tokens per request, 8 requests, at most 4 in flight (two waves). */
static void test_timed(const void *arg) {
    const char *endpoint = arg;
    fake_server_opts o = {.mode = FAKE_TIMED, .ttft_ms = 80, .itl_ms = 20, .vocab = 0};
    fake_server *s = fake_server_start(&o);
    CHECK(s != NULL);
    if (!s) return;
    char json[128];
    snprintf(json, sizeof json, "%s/timed.json", tmpdir);
    int rc = run_harness(fake_server_port(s), json, "--endpoint", endpoint, "--num-prompts", "8",
                         "--max-concurrency", "4", "--random-input-len", "20", "--random-output-len", "12",
                         "--ignore-eos", "--goodput", "ttft:1000", "tpot:200", NULL);
    CHECK(rc == 0);
    CHECK(fake_server_requests(s) == 8);
    fake_timings ft;
    CHECK(fake_server_timings(s, &ft) == 0);
    fake_server_stop(s);
    CHECK(ft.n_streams == 8 && ft.n_gaps == 88);
    vr_bench_dist srv_gap, srv_ttft, srv_span;
    vr_bench_dist_of(ft.gap, ft.n_gaps, &srv_gap);
    vr_bench_dist_of(ft.ttft, ft.n_streams, &srv_ttft);
    vr_bench_dist_of(ft.span, ft.n_streams, &srv_span);
    fake_timings_free(&ft);
    vr_jdoc *d = load_json(json);
    CHECK(d != NULL);
    if (!d) return;
    const vr_json *root = vr_jdoc_root(d);
    CHECK(!strcmp(vr_jstring(vr_jget(root, "model_id")), "fake-model")); /* from GET /v1/models */
    const vr_json *run = vr_jat(vr_jget(root, "runs"), 0);
    CHECK(run != NULL);
    NEAR(num(run, "completed"), 8, 0);
    NEAR(num(run, "failed"), 0, 0);
    NEAR(num(run, "total_output_tokens"), 96, 0);
    NEAR(num(run, "total_input_tokens"), 160, 0); /* the fake counts words; the word list makes 20 */
    NEAR(num(run, "max_in_flight"), 4, 0);
    /* E2E of one request = 80 + 11 * 20 = 300 ms; two waves back to back.
     * Nothing can arrive before the server sends it: the lower bounds are hard. */
    RANGE(num(run, "min_ttft_ms"), 79.5, 1e9);
    RANGE(num(run, "min_e2el_ms"), 299.5, 1e9);
    double dur = num(run, "duration");
    RANGE(dur, 0.599, 1e9);
    /* The figures match what the server actually did (its own clock, same
     * machine): the harness adds only its delivery delay on top. */
    SOFT_RANGE(num(run, "median_ttft_ms") - srv_ttft.median, -0.5, 10);
    SOFT_RANGE(num(run, "median_itl_ms") - srv_gap.median, -3, 3);
    SOFT_RANGE(num(run, "mean_itl_ms") - srv_gap.mean, -2, 2);
    SOFT_RANGE(num(run, "mean_tpot_ms") - srv_span.mean / 11, -2, 2);
    /* and, unless the machine is badly overloaded, the nominal schedule */
    SOFT_RANGE(num(run, "median_itl_ms"), 18, 40);
    SOFT_RANGE(num(run, "median_e2el_ms"), 299.5, 600);
    NEAR(num(run, "output_throughput"), 96 / dur, 1e-3 * 96 / dur);
    NEAR(num(run, "request_throughput"), 8 / dur, 1e-3 * 8 / dur);
    NEAR(num(run, "request_goodput"), 8 / dur, 1e-3 * 8 / dur);
    /* every request's samples are there */
    const vr_json *reqs = vr_jget(run, "requests");
    CHECK(vr_jlen(reqs) == 8);
    for (size_t k = 0; k < vr_jlen(reqs); k++) {
        const vr_json *q = vr_jat(reqs, k);
        int ok = 0;
        CHECK(vr_jbool(vr_jget(q, "ok"), &ok) == 0 && ok == 1);
        CHECK(vr_jlen(vr_jget(q, "itl_ms")) == 11);
        NEAR(num(q, "output_tokens"), 12, 0);
        RANGE(num(q, "ttft_ms"), 79.5, 1e9);
        /* per request, TPOT is exactly (E2E - TTFT) / (12 - 1) */
        NEAR(num(q, "tpot_ms"), (num(q, "e2el_ms") - num(q, "ttft_ms")) / 11, 1e-3);
    }
    static const char *const fields[] = {"duration", "request_throughput", "input_throughput",
        "output_throughput", "total_token_throughput", "mean_ttft_ms", "median_ttft_ms", "p90_ttft_ms",
        "p99_ttft_ms", "mean_tpot_ms", "median_tpot_ms", "p90_tpot_ms", "p99_tpot_ms", "mean_itl_ms",
        "median_itl_ms", "p90_itl_ms", "p99_itl_ms", "mean_e2el_ms", "median_e2el_ms", "p90_e2el_ms",
        "p99_e2el_ms", "std_ttft_ms", "total_input_tokens", "total_output_tokens"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) CHECK(!isnan(num(run, fields[i])));
    vr_jdoc_free(d);
}

/* Several tokens per chunk: one ITL sample per chunk, TPOT from usage. */
static void test_multi_token_chunks(const void *arg) {
    (void)arg;
    fake_server_opts o = {.mode = FAKE_TIMED, .ttft_ms = 30, .itl_ms = 20, .tokens_per_chunk = 4};
    fake_server *s = fake_server_start(&o);
    if (!s) { CHECK(0); return; }
    char json[128];
    snprintf(json, sizeof json, "%s/multi.json", tmpdir);
    CHECK(run_harness(fake_server_port(s), json, "--num-prompts", "6", "--random-input-len", "5",
                      "--random-output-len", "16", NULL) == 0);
    fake_timings ft;
    CHECK(fake_server_timings(s, &ft) == 0);
    fake_server_stop(s);
    vr_bench_dist srv_gap, srv_span;
    vr_bench_dist_of(ft.gap, ft.n_gaps, &srv_gap);
    vr_bench_dist_of(ft.span, ft.n_streams, &srv_span);
    CHECK(ft.n_gaps == 18); /* 6 streams x 3 gaps between 4 chunks */
    fake_timings_free(&ft);
    vr_jdoc *d = load_json(json);
    if (!d) { CHECK(0); return; }
    const vr_json *run = vr_jat(vr_jget(vr_jdoc_root(d), "runs"), 0);
    const vr_json *q = vr_jat(vr_jget(run, "requests"), 0);
    CHECK(vr_jlen(vr_jget(q, "itl_ms")) == 3); /* 4 chunks -> 3 gaps */
    NEAR(num(q, "output_tokens"), 16, 0);
    SOFT_RANGE(num(run, "median_itl_ms") - srv_gap.median, -3, 3);
    SOFT_RANGE(num(run, "mean_tpot_ms") - srv_span.mean / 15, -1, 1); /* 16 tokens, span / 15 */
    NEAR(num(q, "tpot_ms"), (num(q, "e2el_ms") - num(q, "ttft_ms")) / 15, 1e-3);
    vr_jdoc_free(d);
}

/* One misbehaviour: every request fails with a reason containing `why`. */
static void test_failure(fake_mode mode, const char *why, const char *extra_flag, const char *extra_val) {
    fake_server_opts o = {.mode = mode, .ttft_ms = 0, .itl_ms = 0};
    fake_server *s = fake_server_start(&o);
    if (!s) { CHECK(0); return; }
    char json[128];
    snprintf(json, sizeof json, "%s/fail.json", tmpdir);
    unlink(json);
    int rc = run_harness(fake_server_port(s), json, "--num-prompts", "4", "--max-concurrency", "2",
                         "--random-input-len", "8", "--random-output-len", "6", extra_flag, extra_val, NULL);
    fake_server_stop(s);
    CHECK(rc == 1); /* nothing succeeded: the harness says so */
    vr_jdoc *d = load_json(json);
    if (!d) { CHECK(!"result JSON written even when every request failed"); return; }
    const vr_json *run = vr_jat(vr_jget(vr_jdoc_root(d), "runs"), 0);
    NEAR(num(run, "failed"), 4, 0);
    NEAR(num(run, "completed"), 0, 0);
    const char *e = vr_jstring(vr_jget(vr_jat(vr_jget(run, "requests"), 0), "error"));
    CHECK(e && strstr(e, why));
    if (e && !strstr(e, why)) fprintf(stderr, "  mode %d: error '%s', expected '%s'\n", (int)mode, e, why);
    vr_jdoc_free(d);
}

static void test_connection_refused(void) {
    /* find a port nobody listens on: start and stop a server */
    fake_server_opts o = {.mode = FAKE_TIMED};
    fake_server *s = fake_server_start(&o);
    if (!s) { CHECK(0); return; }
    int port = fake_server_port(s);
    fake_server_stop(s);
    CHECK(run_harness(port, NULL, "--model", "m", "--num-prompts", "3", "--random-input-len", "4",
                      "--random-output-len", "4", NULL) == 1);
    CHECK(run_harness(port, NULL, "--num-prompts", "3", NULL) == 1); /* /v1/models unreachable */
}

/* The vocabulary path and connection churn: the server's /tokenize makes
 * exact prompt lengths; every 3rd answer closes its connection. */
static void test_vocab_and_reconnect(void) {
    fake_server_opts o = {.mode = FAKE_TIMED, .vocab = 1, .close_every = 3};
    fake_server *s = fake_server_start(&o);
    if (!s) { CHECK(0); return; }
    char json[128];
    snprintf(json, sizeof json, "%s/vocab.json", tmpdir);
    CHECK(run_harness(fake_server_port(s), json, "--num-prompts", "12", "--max-concurrency", "3",
                      "--random-input-len", "33", "--random-output-len", "5", "--endpoint", "/v1/chat/completions",
                      "--warmup", "2", NULL) == 0);
    fake_server_stop(s);
    vr_jdoc *d = load_json(json);
    if (!d) { CHECK(0); return; }
    const vr_json *run = vr_jat(vr_jget(vr_jdoc_root(d), "runs"), 0);
    NEAR(num(run, "completed"), 12, 0);
    NEAR(num(run, "total_input_tokens"), 12 * 33, 0);
    vr_jdoc_free(d);
}

/* --api-key is sent as a Bearer token; a wrong one is a counted 401. */
static void test_api_key(void) {
    fake_server_opts o = {.mode = FAKE_TIMED, .api_key = "sekret"};
    fake_server *s = fake_server_start(&o);
    if (!s) { CHECK(0); return; }
    CHECK(run_harness(fake_server_port(s), NULL, "--api-key", "sekret", "--num-prompts", "2",
                      "--random-input-len", "3", "--random-output-len", "3", NULL) == 0);
    char json[128];
    snprintf(json, sizeof json, "%s/key.json", tmpdir);
    CHECK(run_harness(fake_server_port(s), json, "--api-key", "wrong", "--model", "m", "--num-prompts", "2",
                      "--random-input-len", "3", "--random-output-len", "3", NULL) == 1);
    fake_server_stop(s);
    vr_jdoc *d = load_json(json);
    if (!d) { CHECK(0); return; }
    const vr_json *run = vr_jat(vr_jget(vr_jdoc_root(d), "runs"), 0);
    const char *e = vr_jstring(vr_jget(vr_jat(vr_jget(run, "requests"), 0), "error"));
    CHECK(e && !strcmp(e, "HTTP 401: invalid API key"));
    vr_jdoc_free(d);
}

/* Poisson arrivals: each request starts at its seeded arrival time, not before. */
static void test_request_rate(const void *arg) {
    (void)arg;
    fake_server_opts o = {.mode = FAKE_TIMED};
    fake_server *s = fake_server_start(&o);
    if (!s) { CHECK(0); return; }
    char json[128];
    snprintf(json, sizeof json, "%s/rate.json", tmpdir);
    CHECK(run_harness(fake_server_port(s), json, "--request-rate", "40", "--seed", "7", "--num-prompts", "12",
                      "--random-input-len", "3", "--random-output-len", "2", NULL) == 0);
    fake_server_stop(s);
    double arr[12];
    vr_bench_rng rng = {7};
    vr_bench_arrivals(40, 12, &rng, arr);
    vr_jdoc *d = load_json(json);
    if (!d) { CHECK(0); return; }
    const vr_json *run = vr_jat(vr_jget(vr_jdoc_root(d), "runs"), 0);
    size_t i = 0;
    double late[12];
    for (const vr_json *q; (q = vr_jat(vr_jget(run, "requests"), i)) && i < 12; i++) {
        RANGE(num(q, "start_s"), arr[i] - 1e-4, 1e9); /* never early */
        late[i] = num(q, "start_s") - arr[i];
    }
    CHECK(i == 12);
    vr_bench_dist dl;
    vr_bench_dist_of(late, i, &dl);
    SOFT_RANGE(dl.median, -1e-4, 0.015); /* and on time, give or take the timer's tick */
    SOFT_RANGE(dl.max, -1e-4, 0.1);
    vr_jdoc_free(d);
}

/* Bytes split anywhere: the same numbers come out. */
static void test_drip(void) {
    fake_server_opts o = {.mode = FAKE_DRIP, .tokens = 7};
    fake_server *s = fake_server_start(&o);
    if (!s) { CHECK(0); return; }
    char json[128];
    snprintf(json, sizeof json, "%s/drip.json", tmpdir);
    CHECK(run_harness(fake_server_port(s), json, "--num-prompts", "6", "--max-concurrency", "3",
                      "--random-input-len", "9", "--endpoint", "/v1/chat/completions", NULL) == 0);
    fake_server_stop(s);
    vr_jdoc *d = load_json(json);
    if (!d) { CHECK(0); return; }
    const vr_json *run = vr_jat(vr_jget(vr_jdoc_root(d), "runs"), 0);
    NEAR(num(run, "completed"), 6, 0);
    NEAR(num(run, "total_output_tokens"), 42, 0);
    NEAR(num(run, "total_input_tokens"), 54, 0);
    CHECK(vr_jlen(vr_jget(vr_jat(vr_jget(run, "requests"), 0), "itl_ms")) == 6);
    vr_jdoc_free(d);
}

/* HTTP/1.0: no chunked framing, the body ends when the server closes. */
static void test_http10(void) {
    fake_server_opts o = {.mode = FAKE_HTTP10, .tokens = 5};
    fake_server *s = fake_server_start(&o);
    if (!s) { CHECK(0); return; }
    char json[128];
    snprintf(json, sizeof json, "%s/http10.json", tmpdir);
    CHECK(run_harness(fake_server_port(s), json, "--model", "m", "--num-prompts", "6", "--max-concurrency", "2",
                      "--random-input-len", "4", "--no-server-tokenizer", NULL) == 0);
    fake_server_stop(s);
    vr_jdoc *d = load_json(json);
    if (!d) { CHECK(0); return; }
    const vr_json *run = vr_jat(vr_jget(vr_jdoc_root(d), "runs"), 0);
    NEAR(num(run, "completed"), 6, 0);
    NEAR(num(run, "total_output_tokens"), 30, 0);
    NEAR(num(run, "connections_opened"), 6, 0); /* none can be reused */
    vr_jdoc_free(d);
}

/* Seeded noise instead of a response: every request is accounted for as a
 * failure with a reason, nothing crashes (the ASan run checks memory). */
static void test_random_bytes(void) {
    fake_server_opts o = {.mode = FAKE_RANDOM};
    fake_server *s = fake_server_start(&o);
    if (!s) { CHECK(0); return; }
    char json[128];
    snprintf(json, sizeof json, "%s/random.json", tmpdir);
    int rc = run_harness(fake_server_port(s), json, "--model", "m", "--num-prompts", "200", "--max-concurrency", "16",
                         "--random-input-len", "4", "--random-output-len", "4", NULL);
    CHECK(fake_server_requests(s) >= 200);
    fake_server_stop(s);
    CHECK(rc == 1);
    vr_jdoc *d = load_json(json);
    if (!d) { CHECK(0); return; }
    const vr_json *run = vr_jat(vr_jget(vr_jdoc_root(d), "runs"), 0);
    NEAR(num(run, "failed"), 200, 0);
    for (size_t k = 0; k < vr_jlen(vr_jget(run, "requests")); k++) {
        const vr_json *q = vr_jat(vr_jget(run, "requests"), k);
        const char *e = vr_jstring(vr_jget(q, "error"));
        CHECK(e && e[0]);
    }
    vr_jdoc_free(d);
}

/* A minimal XML well-formedness check: tags nest, attributes are quoted. */
static int xml_well_formed(const char *x) {
    char stack[64][32];
    int depth = 0, roots = 0;
    const char *p = x;
    if (!strncmp(p, "<?xml", 5)) {
        p = strstr(p, "?>");
        if (!p) return 0;
        p += 2;
    }
    while ((p = strchr(p, '<'))) {
        if (p[1] == '/') {
            const char *e = strchr(p, '>');
            if (!e || depth == 0) return 0;
            size_t l = (size_t)(e - p - 2);
            if (strlen(stack[depth - 1]) != l || strncmp(stack[depth - 1], p + 2, l)) return 0;
            depth--;
            p = e + 1;
            continue;
        }
        const char *q = p + 1;
        size_t nl = strcspn(q, " />");
        if (nl == 0 || nl >= 32) return 0;
        const char *e = q + nl;
        int inq = 0;
        while (*e && (inq || *e != '>')) {
            if (*e == '"') inq = !inq;
            if (!inq && *e == '<') return 0;
            e++;
        }
        if (!*e) return 0;
        if (depth == 0) roots++;
        if (e[-1] != '/') {
            if (depth == 64) return 0;
            memcpy(stack[depth], q, nl);
            stack[depth++][nl] = 0;
        }
        p = e + 1;
    }
    return depth == 0 && roots == 1;
}

static void test_sweep_svg(void) {
    fake_server_opts o = {.mode = FAKE_TIMED, .ttft_ms = 5, .itl_ms = 2};
    fake_server *s = fake_server_start(&o);
    if (!s) { CHECK(0); return; }
    char json[128], svg[128];
    snprintf(json, sizeof json, "%s/sweep.json", tmpdir);
    snprintf(svg, sizeof svg, "%s/sweep.svg", tmpdir);
    CHECK(run_harness(fake_server_port(s), json, "--num-prompts", "6", "--sweep-concurrency", "1,2,3",
                      "--random-input-len", "4", "--random-output-len", "6", "--plot", svg, NULL) == 0);
    fake_server_stop(s);
    vr_jdoc *d = load_json(json);
    CHECK(d && vr_jlen(vr_jget(vr_jdoc_root(d), "runs")) == 3);
    CHECK(d && num(vr_jat(vr_jget(vr_jdoc_root(d), "runs"), 2), "max_concurrency") == 3);
    vr_jdoc_free(d);
    FILE *f = fopen(svg, "rb");
    CHECK(f != NULL);
    if (!f) return;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    CHECK(xml_well_formed(buf));
    CHECK(strstr(buf, "<svg") && strstr(buf, "Output token throughput (tok/s)") && strstr(buf, "TPOT (ms)"));
    CHECK(strstr(buf, "c=1") && strstr(buf, "c=2") && strstr(buf, "c=3"));
    CHECK(strstr(buf, "<polyline") != NULL);
    CHECK(!xml_well_formed("<svg><g></svg>")); /* the checker itself can fail */
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/vireo_bench_test_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    with_retries("timed completions", test_timed, "/v1/completions");
    with_retries("timed chat", test_timed, "/v1/chat/completions");
    with_retries("multi-token chunks", test_multi_token_chunks, NULL);
    test_failure(FAKE_STATUS_400, "HTTP 400: prompt is too long", NULL, NULL);
    test_failure(FAKE_CLOSE_MID, "truncated", NULL, NULL);
    test_failure(FAKE_GARBAGE_SSE, "malformed JSON", NULL, NULL);
    test_failure(FAKE_BAD_HTTP, "bad HTTP response", NULL, NULL);
    test_failure(FAKE_NO_DONE, "[DONE]", NULL, NULL);
    test_failure(FAKE_ERROR_EVENT, "engine died", NULL, NULL);
    test_failure(FAKE_STALL, "timeout", "--timeout", "0.3");
    test_connection_refused();
    test_api_key();
    with_retries("request rate", test_request_rate, NULL);
    test_drip();
    test_http10();
    test_random_bytes();
    test_vocab_and_reconnect();
    test_sweep_svg();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd)) {}
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("bench serve: all checks passed\n");
    return 0;
}
