/* server/metrics.c — Prometheus text exposition with vLLM's metric names,
 * so dashboards made for vLLM work unchanged. Latency histograms are
 * observed on the loop thread from the engine's per-request timings; gauges
 * and counters come from the engine's own stats. */
#include <stdio.h>
#include <string.h>

#include "server/server_impl.h"

static const double ttft_bounds[] = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75,
                                     1.0,   2.5,   5.0,  7.5,  10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
static const double itl_bounds[] = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,  0.3,  0.4, 0.5,
                                    0.75, 1.0,   2.5,  5.0,   7.5, 10.0, 20.0, 40.0, 80.0};
static const double e2e_bounds[] = {0.3,  0.5,  0.8,  1.0,  1.5,  2.0,   2.5,   5.0,   10.0,   15.0,  20.0,
                                    30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
static const double tok_bounds[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000};
static const double iter_bounds[VR_ITER_TOKEN_BUCKETS] = {1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384};

#define N(a) ((int)(sizeof(a) / sizeof(a)[0]))

void vr_metrics_init(vr_metrics *m) {
    memset(m, 0, sizeof *m);
    m->ttft = (vr_histogram){.bounds = ttft_bounds, .n = N(ttft_bounds)};
    m->itl = (vr_histogram){.bounds = itl_bounds, .n = N(itl_bounds)};
    m->e2e = (vr_histogram){.bounds = e2e_bounds, .n = N(e2e_bounds)};
    m->queue = (vr_histogram){.bounds = e2e_bounds, .n = N(e2e_bounds)};
    m->prompt_tokens = (vr_histogram){.bounds = tok_bounds, .n = N(tok_bounds)};
    m->generation_tokens = (vr_histogram){.bounds = tok_bounds, .n = N(tok_bounds)};
}

void vr_hist_observe(vr_histogram *h, double v) {
    if (v != v) return; /* NaN: nothing to record */
    int i = 0;
    while (i < h->n && v > h->bounds[i]) i++;
    if (i < h->n) h->counts[i]++;
    h->count++;
    h->sum += v;
}

/* Label values escape backslash, quote and newline (exposition format). */
static void label(vr_sbuf *b, const char *v) {
    for (; *v; v++) {
        if (*v == '\\') vr_sb_puts(b, "\\\\");
        else if (*v == '"') vr_sb_puts(b, "\\\"");
        else if (*v == '\n') vr_sb_puts(b, "\\n");
        else vr_sb_put(b, v, 1);
    }
}

static void head(vr_sbuf *b, const char *name, const char *type, const char *help) {
    vr_sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(vr_sbuf *b, const char *name, const char *model, const char *extra, double v) {
    char num[40];
    vr_sb_printf(b, "%s{", name);
    if (extra) vr_sb_printf(b, "%s,", extra);
    vr_sb_puts(b, "model_name=\"");
    label(b, model);
    if (v == (double)(long long)v && v < 9e15 && v > -9e15) snprintf(num, sizeof num, "%lld.0", (long long)v);
    else vr_fmt_double(num, v);
    vr_sb_printf(b, "\"} %s\n", num);
}

static void bound_text(char *out, double v) {
    if (v == (double)(long long)v) snprintf(out, 40, "%lld.0", (long long)v);
    else vr_fmt_double(out, v);
}

static void hist(vr_sbuf *b, const char *name, const char *help, const char *model, const double *bounds, int n,
                 const uint64_t *cumulative, uint64_t count, double sum) {
    char nm[128], le[80], bt[40];
    head(b, name, "histogram", help);
    snprintf(nm, sizeof nm, "%s_bucket", name);
    for (int i = 0; i < n; i++) {
        bound_text(bt, bounds[i]);
        snprintf(le, sizeof le, "le=\"%s\"", bt);
        sample(b, nm, model, le, (double)cumulative[i]);
    }
    sample(b, nm, model, "le=\"+Inf\"", (double)count);
    snprintf(nm, sizeof nm, "%s_count", name);
    sample(b, nm, model, NULL, (double)count);
    snprintf(nm, sizeof nm, "%s_sum", name);
    sample(b, nm, model, NULL, sum);
}

static void hist_own(vr_sbuf *b, const char *name, const char *help, const char *model, const vr_histogram *h) {
    uint64_t cum[VR_HIST_MAX_BUCKETS], run = 0;
    for (int i = 0; i < h->n; i++) cum[i] = run += h->counts[i];
    hist(b, name, help, model, h->bounds, h->n, cum, h->count, h->sum);
}

void vr_metrics_render(vr_server *s, vr_sbuf *b) {
    vr_engine_stats st;
    memset(&st, 0, sizeof st);
    if (s->engine) vr_engine_get_stats(s->engine, &st);
    const char *m = s->model_names[0] ? s->model_names[0] : "";
    const vr_metrics *x = &s->metrics;

    head(b, "vllm:num_requests_running", "gauge", "Number of requests in model execution batches.");
    sample(b, "vllm:num_requests_running", m, NULL, st.running);
    head(b, "vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed.");
    sample(b, "vllm:num_requests_waiting", m, NULL, st.waiting);
    head(b, "vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage.");
    sample(b, "vllm:kv_cache_usage_perc", m, NULL, st.kv_usage);

    head(b, "vllm:prompt_tokens_total", "counter", "Number of prefill tokens processed.");
    sample(b, "vllm:prompt_tokens_total", m, NULL, (double)st.prompt_tokens_total);
    head(b, "vllm:generation_tokens_total", "counter", "Number of generation tokens processed.");
    sample(b, "vllm:generation_tokens_total", m, NULL, (double)st.generation_tokens_total);
    head(b, "vllm:request_success_total", "counter", "Count of successfully processed requests.");
    sample(b, "vllm:request_success_total", m, "finished_reason=\"stop\"", (double)st.requests_finished_stop);
    sample(b, "vllm:request_success_total", m, "finished_reason=\"length\"", (double)st.requests_finished_length);
    sample(b, "vllm:request_success_total", m, "finished_reason=\"abort\"", (double)st.requests_finished_abort);
    head(b, "vllm:num_preemptions_total", "counter", "Cumulative number of preemptions from the engine.");
    sample(b, "vllm:num_preemptions_total", m, NULL, (double)st.preemptions_total);
    head(b, "vllm:prefix_cache_queries_total", "counter", "Prefix cache queries, in terms of number of queried tokens.");
    sample(b, "vllm:prefix_cache_queries_total", m, NULL, (double)st.prefix_cache_queries);
    head(b, "vllm:prefix_cache_hits_total", "counter", "Prefix cache hits, in terms of number of cached tokens.");
    sample(b, "vllm:prefix_cache_hits_total", m, NULL, (double)st.prefix_cache_hits);

    hist_own(b, "vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", m, &x->ttft);
    hist_own(b, "vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", m, &x->itl);
    hist_own(b, "vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", m, &x->e2e);
    hist_own(b, "vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.", m,
             &x->queue);
    hist_own(b, "vllm:request_prompt_tokens", "Number of prefill tokens processed.", m, &x->prompt_tokens);
    hist_own(b, "vllm:request_generation_tokens", "Number of generation tokens processed.", m,
             &x->generation_tokens);
    hist(b, "vllm:iteration_tokens_total", "Histogram of number of tokens per engine_step.", m, iter_bounds,
         VR_ITER_TOKEN_BUCKETS, st.iteration_tokens_buckets, st.iteration_tokens_count,
         (double)st.iteration_tokens_sum);
}
