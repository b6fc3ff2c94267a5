/* benchmarks/serve/args.c — flags of `vireo bench serve`, spelled as in
 * `vllm bench serve` so existing scripts carry over. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchmarks/serve/bench.h"

void vr_bench_usage(FILE *f) {
    fprintf(f,
            "usage: vireo bench serve [flags]\n"
            "\n"
            "Load-tests an OpenAI-compatible streaming server and reports TTFT, TPOT,\n"
            "ITL, E2E latency and throughput.\n"
            "\n"
            "server:\n"
            "  --base-url URL                 http://127.0.0.1:8000 (default; or --host H --port P)\n"
            "  --endpoint PATH                /v1/completions (default) or /v1/chat/completions\n"
            "  --model NAME                   default: the first of GET /v1/models\n"
            "  --api-key KEY                  Bearer token (default: $OPENAI_API_KEY)\n"
            "  --timeout S                    per-request limit in seconds (600)\n"
            "dataset:\n"
            "  --dataset-name random|sharegpt|prefix-repetition   (random)\n"
            "  --dataset-path FILE            ShareGPT JSON\n"
            "  --random-input-len N (1024)  --random-output-len N (128)  --random-range-ratio R (0)\n"
            "  --sharegpt-output-len N        fixed output length for sharegpt\n"
            "  --prefix-repetition-prefix-len N (256)  --prefix-repetition-suffix-len N (256)\n"
            "  --prefix-repetition-num-prefixes N (10)  --prefix-repetition-output-len N (128)\n"
            "  --no-server-tokenizer          build prompts from the word list, skip /tokenize\n"
            "  --ignore-eos                   ask for exactly max_tokens (vLLM extra)\n"
            "  --temperature T                (0)\n"
            "load:\n"
            "  --num-prompts N (1000)  --request-rate R|inf (inf)  --max-concurrency C\n"
            "  --seed N (0)  --warmup N (0)  --sweep-concurrency 1,2,4,8,16\n"
            "output:\n"
            "  --goodput ttft:MS tpot:MS e2el:MS   SLOs for goodput\n"
            "  --result-json FILE             every figure and every request\n"
            "  --plot FILE.svg                sweep chart: output throughput vs latency\n"
            "  --plot-metric tpot|ttft        latency axis of the chart (tpot)\n"
            "  --progress / --no-progress     progress bar on stderr (default: when a tty)\n");
}

static int parse_int(const char *flag, const char *v, int lo, int *out, char *err, size_t errlen) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (!*v || *end || errno || x < lo || x > 100000000) {
        snprintf(err, errlen, "%s: '%s' is not an integer >= %d", flag, v, lo);
        return -1;
    }
    *out = (int)x;
    return 0;
}

static int parse_double(const char *flag, const char *v, double lo, double *out, char *err, size_t errlen) {
    char *end;
    double x = strtod(v, &end);
    if (!*v || *end || isnan(x) || x < lo) {
        snprintf(err, errlen, "%s: '%s' is not a number >= %g", flag, v, lo);
        return -1;
    }
    *out = x;
    return 0;
}

static int parse_sweep(const char *v, vr_bench_config *cfg, char *err, size_t errlen) {
    size_t cap = 1;
    for (const char *p = v; *p; p++) cap += *p == ',';
    int *lv = calloc(cap, sizeof *lv);
    if (!lv) { snprintf(err, errlen, "out of memory"); return -1; }
    size_t n = 0;
    const char *p = v;
    while (*p) {
        char *end;
        long x = strtol(p, &end, 10);
        if (end == p || x < 1 || x > 1000000 || (*end && *end != ',')) {
            free(lv);
            snprintf(err, errlen, "--sweep-concurrency: '%s' is not a list like 1,2,4,8", v);
            return -1;
        }
        lv[n++] = (int)x;
        p = *end ? end + 1 : end;
    }
    if (!n) { free(lv); snprintf(err, errlen, "--sweep-concurrency: empty list"); return -1; }
    free(cfg->sweep);
    cfg->sweep = lv;
    cfg->n_sweep = n;
    return 0;
}

void vr_bench_config_free(vr_bench_config *cfg) {
    free(cfg->sweep);
    cfg->sweep = NULL;
    cfg->n_sweep = 0;
}

int vr_bench_parse_args(int argc, char **argv, vr_bench_config *cfg, char *err, size_t errlen) {
    memset(cfg, 0, sizeof *cfg);
    cfg->base_url = "http://127.0.0.1:8000";
    cfg->endpoint = "/v1/completions";
    cfg->api_key = getenv("OPENAI_API_KEY");
    cfg->dataset = VR_DS_RANDOM;
    cfg->random_input_len = 1024;
    cfg->random_output_len = 128;
    cfg->prefix_len = 256;
    cfg->suffix_len = 256;
    cfg->num_prefixes = 10;
    cfg->prefix_output_len = 128;
    cfg->request_rate = INFINITY;
    cfg->num_prompts = 1000;
    cfg->progress = -1;
    cfg->timeout_s = 600;
    cfg->use_server_vocab = 1;
    const char *host = NULL, *port = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define FLAG(name) (!strcmp(a, name))
#define NEED_VALUE()                                                     \
    do {                                                                 \
        if (!v) {                                                        \
            snprintf(err, errlen, "%s needs a value", a);                \
            return -1;                                                   \
        }                                                                \
        i++;                                                             \
    } while (0)
        if (FLAG("--help") || FLAG("-h")) { vr_bench_usage(stdout); return 1; }
        else if (FLAG("--base-url")) { NEED_VALUE(); cfg->base_url = v; }
        else if (FLAG("--host")) { NEED_VALUE(); host = v; }
        else if (FLAG("--port")) { NEED_VALUE(); port = v; }
        else if (FLAG("--endpoint")) { NEED_VALUE(); cfg->endpoint = v; }
        else if (FLAG("--model")) { NEED_VALUE(); cfg->model = v; }
        else if (FLAG("--api-key")) { NEED_VALUE(); cfg->api_key = v; }
        else if (FLAG("--timeout")) { NEED_VALUE(); if (parse_double(a, v, 0.001, &cfg->timeout_s, err, errlen)) return -1; }
        else if (FLAG("--dataset-name")) {
            NEED_VALUE();
            if (!strcmp(v, "random")) cfg->dataset = VR_DS_RANDOM;
            else if (!strcmp(v, "sharegpt")) cfg->dataset = VR_DS_SHAREGPT;
            else if (!strcmp(v, "prefix-repetition")) cfg->dataset = VR_DS_PREFIX;
            else { snprintf(err, errlen, "--dataset-name: '%s' (random, sharegpt, prefix-repetition)", v); return -1; }
        }
        else if (FLAG("--dataset-path")) { NEED_VALUE(); cfg->dataset_path = v; }
        else if (FLAG("--random-input-len")) { NEED_VALUE(); if (parse_int(a, v, 1, &cfg->random_input_len, err, errlen)) return -1; }
        else if (FLAG("--random-output-len")) { NEED_VALUE(); if (parse_int(a, v, 1, &cfg->random_output_len, err, errlen)) return -1; }
        else if (FLAG("--random-range-ratio")) {
            NEED_VALUE();
            if (parse_double(a, v, 0, &cfg->random_range_ratio, err, errlen)) return -1;
            if (cfg->random_range_ratio >= 1) { snprintf(err, errlen, "--random-range-ratio must be in [0, 1)"); return -1; }
        }
        else if (FLAG("--sharegpt-output-len")) { NEED_VALUE(); if (parse_int(a, v, 1, &cfg->sharegpt_output_len, err, errlen)) return -1; }
        else if (FLAG("--prefix-repetition-prefix-len")) { NEED_VALUE(); if (parse_int(a, v, 1, &cfg->prefix_len, err, errlen)) return -1; }
        else if (FLAG("--prefix-repetition-suffix-len")) { NEED_VALUE(); if (parse_int(a, v, 0, &cfg->suffix_len, err, errlen)) return -1; }
        else if (FLAG("--prefix-repetition-num-prefixes")) { NEED_VALUE(); if (parse_int(a, v, 1, &cfg->num_prefixes, err, errlen)) return -1; }
        else if (FLAG("--prefix-repetition-output-len")) { NEED_VALUE(); if (parse_int(a, v, 1, &cfg->prefix_output_len, err, errlen)) return -1; }
        else if (FLAG("--no-server-tokenizer")) cfg->use_server_vocab = 0;
        else if (FLAG("--ignore-eos")) cfg->ignore_eos = 1;
        else if (FLAG("--temperature")) { NEED_VALUE(); if (parse_double(a, v, 0, &cfg->temperature, err, errlen)) return -1; }
        else if (FLAG("--num-prompts")) { NEED_VALUE(); if (parse_int(a, v, 1, &cfg->num_prompts, err, errlen)) return -1; }
        else if (FLAG("--request-rate")) {
            NEED_VALUE();
            if (!strcmp(v, "inf") || !strcmp(v, "infinity")) cfg->request_rate = INFINITY;
            else if (parse_double(a, v, 1e-9, &cfg->request_rate, err, errlen)) return -1;
        }
        else if (FLAG("--max-concurrency")) { NEED_VALUE(); if (parse_int(a, v, 1, &cfg->max_concurrency, err, errlen)) return -1; }
        else if (FLAG("--seed")) {
            NEED_VALUE();
            char *end;
            errno = 0;
            unsigned long long s = strtoull(v, &end, 10);
            if (!*v || *end || errno) { snprintf(err, errlen, "--seed: '%s' is not an integer", v); return -1; }
            cfg->seed = s;
        }
        else if (FLAG("--warmup") || FLAG("--num-warmups")) { NEED_VALUE(); if (parse_int(a, v, 0, &cfg->warmup, err, errlen)) return -1; }
        else if (FLAG("--sweep-concurrency")) { NEED_VALUE(); if (parse_sweep(v, cfg, err, errlen)) return -1; }
        else if (FLAG("--goodput")) {
            /* one or more NAME:MS words follow */
            if (!v) { snprintf(err, errlen, "--goodput needs NAME:MS values"); return -1; }
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2)) {
                if (vr_bench_slo_parse(argv[++i], &cfg->slo, err, errlen)) return -1;
            }
        }
        else if (FLAG("--result-json") || FLAG("--result-filename")) { NEED_VALUE(); cfg->result_json = v; }
        else if (FLAG("--plot")) { NEED_VALUE(); cfg->plot_path = v; }
        else if (FLAG("--plot-metric")) {
            NEED_VALUE();
            if (!strcmp(v, "ttft")) cfg->plot_ttft = 1;
            else if (!strcmp(v, "tpot")) cfg->plot_ttft = 0;
            else { snprintf(err, errlen, "--plot-metric: '%s' (tpot or ttft)", v); return -1; }
        }
        else if (FLAG("--progress")) cfg->progress = 1;
        else if (FLAG("--no-progress") || FLAG("--disable-tqdm")) cfg->progress = 0;
        else {
            snprintf(err, errlen, "unknown flag '%s' (see --help)", a);
            return -1;
        }
#undef FLAG
#undef NEED_VALUE
    }
    if (host || port) { /* vLLM's spelling; becomes a base URL */
        snprintf(cfg->url_buf, sizeof cfg->url_buf, "http://%s:%s", host ? host : "127.0.0.1", port ? port : "8000");
        cfg->base_url = cfg->url_buf;
    }
    if (strcmp(cfg->endpoint, "/v1/completions") && strcmp(cfg->endpoint, "/v1/chat/completions")) {
        snprintf(err, errlen, "--endpoint must be /v1/completions or /v1/chat/completions");
        return -1;
    }
    cfg->chat = !strcmp(cfg->endpoint, "/v1/chat/completions");
    if (cfg->dataset == VR_DS_SHAREGPT && !cfg->dataset_path) {
        snprintf(err, errlen, "--dataset-name sharegpt needs --dataset-path FILE");
        return -1;
    }
    if (cfg->plot_path && !cfg->sweep) {
        snprintf(err, errlen, "--plot needs --sweep-concurrency (one point per level)");
        return -1;
    }
    return 0;
}
