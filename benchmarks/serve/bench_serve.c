/* benchmarks/serve/bench_serve.c — `vireo bench serve`: wires flags, the
 * HTTP client, the dataset, the runs (one, or one per sweep level) and the
 * reports together. */
#include "benchmarks/serve/bench_serve.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "benchmarks/serve/bench.h"
#include "json/json.h"
#include "benchmarks/serve/http_client.h"
#include "benchmarks/serve/runner.h"

#define SETUP_TIMEOUT_S 60.0

typedef struct {
    vr_hc *hc;
    const char *model;
} server_vocab;

/* POST a JSON body, parse the 200 answer. */
static vr_jdoc *post_json(vr_hc *hc, const char *path, const char *body, char *err, size_t errlen) {
    int status = 0;
    char *resp = NULL;
    size_t rl = 0;
    if (vr_hc_fetch(hc, "POST", path, body, SETUP_TIMEOUT_S, &status, &resp, &rl, err, errlen)) return NULL;
    if (status != 200) {
        snprintf(err, errlen, "POST %s: HTTP %d", path, status);
        free(resp);
        return NULL;
    }
    char jerr[200];
    vr_jdoc *doc = vr_jdoc_parse(resp, rl, jerr, sizeof jerr);
    free(resp);
    if (!doc) snprintf(err, errlen, "POST %s: response is not valid JSON: %s", path, jerr);
    return doc;
}

static int sv_tokenize(void *user, const char *text, int **ids, size_t *n, char *err, size_t errlen) {
    server_vocab *sv = user;
    vr_bench_buf b = {0};
    vr_bench_buf_printf(&b, "{\"model\":");
    vr_bench_buf_json_str(&b, sv->model, strlen(sv->model));
    vr_bench_buf_printf(&b, ",\"prompt\":");
    vr_bench_buf_json_str(&b, text, strlen(text));
    vr_bench_buf_printf(&b, ",\"add_special_tokens\":false}");
    if (b.oom) { free(b.p); snprintf(err, errlen, "out of memory"); return -1; }
    vr_jdoc *doc = post_json(sv->hc, "/tokenize", b.p, err, errlen);
    free(b.p);
    if (!doc) return -1;
    const vr_json *t = vr_jget(vr_jdoc_root(doc), "tokens");
    if (!t || t->type != VR_JSON_ARRAY) {
        vr_jdoc_free(doc);
        snprintf(err, errlen, "/tokenize: no 'tokens' array");
        return -1;
    }
    size_t nt = vr_jlen(t);
    int *out = malloc((nt ? nt : 1) * sizeof *out);
    if (!out) { vr_jdoc_free(doc); snprintf(err, errlen, "out of memory"); return -1; }
    size_t k = 0;
    for (size_t i = 0; i < nt; i++) {
        double v;
        if (vr_jdouble(vr_jat(t, i), &v) || v < 0 || v > 2e9) {
            free(out);
            vr_jdoc_free(doc);
            snprintf(err, errlen, "/tokenize: a token id is not a number");
            return -1;
        }
        out[k++] = (int)v;
    }
    vr_jdoc_free(doc);
    *ids = out;
    *n = k;
    return 0;
}

static int sv_detokenize(void *user, const int *ids, size_t n, char **text, char *err, size_t errlen) {
    server_vocab *sv = user;
    vr_bench_buf b = {0};
    vr_bench_buf_printf(&b, "{\"model\":");
    vr_bench_buf_json_str(&b, sv->model, strlen(sv->model));
    vr_bench_buf_printf(&b, ",\"tokens\":[");
    for (size_t i = 0; i < n; i++) vr_bench_buf_printf(&b, "%s%d", i ? "," : "", ids[i]);
    vr_bench_buf_printf(&b, "]}");
    if (b.oom) { free(b.p); snprintf(err, errlen, "out of memory"); return -1; }
    vr_jdoc *doc = post_json(sv->hc, "/detokenize", b.p, err, errlen);
    free(b.p);
    if (!doc) return -1;
    const char *p = vr_jstring(vr_jget(vr_jdoc_root(doc), "prompt"));
    *text = p ? strdup(p) : NULL;
    vr_jdoc_free(doc);
    if (!*text) {
        snprintf(err, errlen, "/detokenize: no 'prompt' string");
        return -1;
    }
    return 0;
}

/* The model to ask for: --model, else the first entry of GET /v1/models. */
static char *pick_model(vr_hc *hc, const char *given, char *err, size_t errlen) {
    if (given) return strdup(given);
    int status = 0;
    char *resp = NULL;
    size_t rl = 0;
    if (vr_hc_fetch(hc, "GET", "/v1/models", NULL, SETUP_TIMEOUT_S, &status, &resp, &rl, err, errlen)) return NULL;
    char *model = NULL;
    if (status == 200) {
        vr_jdoc *doc = vr_jdoc_parse(resp, rl, NULL, 0);
        const char *id = vr_jstring(vr_jget(vr_jat(vr_jget(vr_jdoc_root(doc), "data"), 0), "id"));
        if (id) model = strdup(id);
        vr_jdoc_free(doc);
    }
    if (!model) snprintf(err, errlen, "GET /v1/models: HTTP %d without a model id; pass --model", status);
    free(resp);
    return model;
}

static void close_loop(uv_loop_t *loop, vr_hc *hc) {
    if (hc) vr_hc_close(hc);
    uv_run(loop, UV_RUN_DEFAULT); /* every connection closes; then no handle is left */
    if (hc) vr_hc_destroy(hc);
    uv_loop_close(loop);
}

int vr_bench_serve_main(int argc, char **argv) {
    vr_bench_config cfg;
    char err[512] = "";
    int prc = vr_bench_parse_args(argc, argv, &cfg, err, sizeof err);
    if (prc) {
        vr_bench_config_free(&cfg);
        if (prc > 0) return 0;
        fprintf(stderr, "vireo bench serve: %s\n", err);
        return 2;
    }
    int progress = cfg.progress < 0 ? isatty(2) : cfg.progress;
    uv_loop_t loop;
    if (uv_loop_init(&loop)) {
        fprintf(stderr, "vireo bench serve: cannot start an event loop\n");
        vr_bench_config_free(&cfg);
        return 1;
    }
    vr_hc *hc = NULL;
    vr_hc_options ho = {cfg.base_url, cfg.api_key};
    char *model = NULL;
    vr_bench_prompt *prompts = NULL;
    size_t n_prompts = 0;
    vr_bench_run_result *runs = NULL;
    size_t n_runs = cfg.sweep ? cfg.n_sweep : 1, done_runs = 0;
    int rc = 1;
    if (vr_hc_create(&loop, &ho, &hc, err, sizeof err)) goto out;
    if (!(model = pick_model(hc, cfg.model, err, sizeof err))) goto out;

    server_vocab sv = {hc, model};
    vr_bench_vocab vocab = {sv_tokenize, sv_detokenize, &sv};
    char note[200] = "";
    if (vr_bench_dataset_build(&cfg, cfg.use_server_vocab ? &vocab : NULL, &prompts, &n_prompts, note,
                               sizeof note, err, sizeof err))
        goto out;
    fprintf(stderr, "vireo bench serve: %zu prompts against %s%s, model %s; %s\n", n_prompts, cfg.base_url,
            cfg.endpoint, model, note);

    if (cfg.warmup > 0) {
        size_t nw = (size_t)cfg.warmup < n_prompts ? (size_t)cfg.warmup : n_prompts;
        vr_bench_run_opts wo = {cfg.max_concurrency, INFINITY, cfg.seed, progress, "warmup"};
        vr_bench_run_result wr;
        if (vr_bench_run(&loop, hc, &cfg, model, prompts, nw, &wo, &wr, err, sizeof err)) goto out;
        fprintf(stderr, "warmup: %zu/%zu requests succeeded\n", wr.summary.completed, nw);
        vr_bench_run_result_free(&wr);
    }

    runs = calloc(n_runs, sizeof *runs);
    if (!runs) { snprintf(err, sizeof err, "out of memory"); goto out; }
    for (size_t i = 0; i < n_runs; i++) {
        char label[48];
        int conc = cfg.sweep ? cfg.sweep[i] : cfg.max_concurrency;
        snprintf(label, sizeof label, "concurrency %d", conc);
        vr_bench_run_opts ro = {conc, cfg.request_rate, cfg.seed, progress, cfg.sweep ? label : "bench"};
        if (vr_bench_run(&loop, hc, &cfg, model, prompts, n_prompts, &ro, &runs[i], err, sizeof err)) goto out;
        done_runs++;
        char title[64];
        if (cfg.sweep) snprintf(title, sizeof title, "Serving Benchmark Result (concurrency %d)", conc);
        else snprintf(title, sizeof title, "Serving Benchmark Result");
        vr_bench_print_summary(stdout, title, &runs[i], &cfg);
        fflush(stdout);
    }
    if (cfg.sweep) {
        printf("\n%-12s %12s %12s %12s %12s %12s %8s\n", "concurrency", "out tok/s", "req/s", "med TTFT ms",
               "med TPOT ms", "p99 TPOT ms", "failed");
        for (size_t i = 0; i < n_runs; i++) {
            const vr_bench_summary *s = &runs[i].summary;
            printf("%-12d %12.2f %12.2f %12.2f %12.2f %12.2f %8zu\n", runs[i].max_concurrency,
                   s->output_throughput, s->request_throughput, s->ttft.median, s->tpot.median, s->tpot.p99,
                   s->failed);
        }
    }
    if (cfg.result_json && vr_bench_write_json(cfg.result_json, &cfg, model, runs, n_runs, err, sizeof err)) goto out;
    if (cfg.plot_path && vr_bench_write_svg(cfg.plot_path, runs, n_runs, cfg.plot_ttft, err, sizeof err)) goto out;
    rc = 0;
    for (size_t i = 0; i < n_runs; i++)
        if (runs[i].summary.completed == 0) { /* a run with no successful request measured nothing */
            snprintf(err, sizeof err, "no request succeeded%s", cfg.sweep ? " at some concurrency level" : "");
            rc = 1;
        }
out:
    if (rc) fprintf(stderr, "vireo bench serve: %s\n", err);
    for (size_t i = 0; i < done_runs; i++) vr_bench_run_result_free(&runs[i]);
    free(runs);
    vr_bench_prompts_free(prompts, n_prompts);
    free(model);
    close_loop(&loop, hc);
    vr_bench_config_free(&cfg);
    return rc;
}
