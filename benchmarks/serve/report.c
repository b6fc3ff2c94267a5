/* benchmarks/serve/report.c — what a run prints and writes: the summary
 * table (laid out like vLLM's so the two read side by side), the result
 * JSON (vLLM's key names where they exist, plus every request), and the
 * sweep chart as a hand-written SVG. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchmarks/serve/bench.h"

static void rule(FILE *f, const char *title) {
    int w = 50, tl = (int)strlen(title), left = (w - tl) / 2;
    if (tl == 0) { fprintf(f, "%.*s\n", w, "=================================================="); return; }
    fprintf(f, "%.*s%s%.*s\n", left, "--------------------------------------------------", title, w - left - tl,
            "--------------------------------------------------");
}

static void dist_block(FILE *f, const char *title, const char *abbr, const vr_bench_dist *d) {
    char k[64];
    rule(f, title);
    snprintf(k, sizeof k, "Mean %s (ms):", abbr);
    fprintf(f, "%-40s %10.2f\n", k, d->mean);
    snprintf(k, sizeof k, "Median %s (ms):", abbr);
    fprintf(f, "%-40s %10.2f\n", k, d->median);
    snprintf(k, sizeof k, "P90 %s (ms):", abbr);
    fprintf(f, "%-40s %10.2f\n", k, d->p90);
    snprintf(k, sizeof k, "P99 %s (ms):", abbr);
    fprintf(f, "%-40s %10.2f\n", k, d->p99);
}

void vr_bench_print_summary(FILE *f, const char *title, const vr_bench_run_result *r, const vr_bench_config *cfg) {
    const vr_bench_summary *s = &r->summary;
    int tl = (int)strlen(title), left = (50 - tl - 2) / 2;
    fprintf(f, "%.*s %s %.*s\n", left, "==========================", title, 50 - left - tl - 2,
            "==========================");
    fprintf(f, "%-40s %10zu\n", "Successful requests:", s->completed);
    fprintf(f, "%-40s %10zu\n", "Failed requests:", s->failed);
    if (r->max_concurrency > 0) fprintf(f, "%-40s %10d\n", "Maximum request concurrency:", r->max_concurrency);
    if (isinf(r->request_rate)) fprintf(f, "%-40s %10s\n", "Request rate (req/s):", "inf");
    else fprintf(f, "%-40s %10.2f\n", "Request rate (req/s):", r->request_rate);
    fprintf(f, "%-40s %10.2f\n", "Benchmark duration (s):", s->duration_s);
    fprintf(f, "%-40s %10lld\n", "Total input tokens:", s->total_input);
    fprintf(f, "%-40s %10lld\n", "Total generated tokens:", s->total_output);
    fprintf(f, "%-40s %10.2f\n", "Request throughput (req/s):", s->request_throughput);
    if (s->goodput_set) fprintf(f, "%-40s %10.2f\n", "Request goodput (req/s):", s->goodput);
    fprintf(f, "%-40s %10.2f\n", "Input token throughput (tok/s):", s->input_throughput);
    fprintf(f, "%-40s %10.2f\n", "Output token throughput (tok/s):", s->output_throughput);
    fprintf(f, "%-40s %10.2f\n", "Total token throughput (tok/s):", s->total_throughput);
    dist_block(f, "Time to First Token", "TTFT", &s->ttft);
    dist_block(f, "Time per Output Token (excl. 1st token)", "TPOT", &s->tpot);
    dist_block(f, "Inter-token Latency", "ITL", &s->itl);
    dist_block(f, "End-to-end Latency", "E2EL", &s->e2e);
    rule(f, "");
    if (s->duration_s > 0)
        fprintf(f, "%-40s %10.2f\n", "Harness CPU (% of one core):", 100.0 * r->harness_cpu_s / s->duration_s);
    /* the distinct failure reasons, so a failed run says why */
    size_t shown = 0;
    for (size_t i = 0; i < r->n && shown < 5; i++) {
        if (r->samples[i].ok) continue;
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !r->samples[j].ok && !strcmp(r->samples[j].error, r->samples[i].error);
        if (seen) continue;
        size_t count = 0;
        for (size_t j = i; j < r->n; j++)
            count += !r->samples[j].ok && !strcmp(r->samples[j].error, r->samples[i].error);
        fprintf(f, "failed x%zu: %s\n", count, r->samples[i].error);
        shown++;
    }
    (void)cfg;
}

/* ---- result JSON ---- */

static void num(vr_bench_buf *b, const char *key, double v) {
    if (isfinite(v)) vr_bench_buf_printf(b, "\"%s\":%.6g,", key, v);
    else vr_bench_buf_printf(b, "\"%s\":null,", key);
}

static void dist_json(vr_bench_buf *b, const char *abbr, const vr_bench_dist *d) {
    char k[64];
    snprintf(k, sizeof k, "mean_%s_ms", abbr); num(b, k, d->mean);
    snprintf(k, sizeof k, "median_%s_ms", abbr); num(b, k, d->median);
    snprintf(k, sizeof k, "std_%s_ms", abbr); num(b, k, d->std);
    snprintf(k, sizeof k, "p90_%s_ms", abbr); num(b, k, d->p90);
    snprintf(k, sizeof k, "p99_%s_ms", abbr); num(b, k, d->p99);
    snprintf(k, sizeof k, "min_%s_ms", abbr); num(b, k, d->min);
    snprintf(k, sizeof k, "max_%s_ms", abbr); num(b, k, d->max);
}

static void run_json(vr_bench_buf *b, const vr_bench_run_result *r) {
    const vr_bench_summary *s = &r->summary;
    vr_bench_buf_put(b, "{", 1);
    vr_bench_buf_printf(b, "\"max_concurrency\":%d,", r->max_concurrency);
    if (isinf(r->request_rate)) vr_bench_buf_printf(b, "\"request_rate\":\"inf\",");
    else num(b, "request_rate", r->request_rate);
    vr_bench_buf_printf(b, "\"num_prompts\":%zu,\"completed\":%zu,\"failed\":%zu,", r->n, s->completed, s->failed);
    num(b, "duration", s->duration_s);
    vr_bench_buf_printf(b, "\"total_input_tokens\":%lld,\"total_output_tokens\":%lld,", s->total_input, s->total_output);
    num(b, "request_throughput", s->request_throughput);
    if (s->goodput_set) num(b, "request_goodput", s->goodput);
    else vr_bench_buf_printf(b, "\"request_goodput\":null,");
    num(b, "input_throughput", s->input_throughput);
    num(b, "output_throughput", s->output_throughput);
    num(b, "total_token_throughput", s->total_throughput);
    vr_bench_buf_printf(b, "\"max_in_flight\":%d,\"connections_opened\":%zu,", r->max_in_flight, r->connections_opened);
    num(b, "harness_cpu_s", r->harness_cpu_s);
    dist_json(b, "ttft", &s->ttft);
    dist_json(b, "tpot", &s->tpot);
    dist_json(b, "itl", &s->itl);
    dist_json(b, "e2el", &s->e2e);
    vr_bench_buf_printf(b, "\"requests\":[");
    for (size_t i = 0; i < r->n; i++) {
        const vr_bench_sample *q = &r->samples[i];
        vr_bench_buf_printf(b, "%s{\"ok\":%s,\"error\":", i ? "," : "", q->ok ? "true" : "false");
        if (q->ok) vr_bench_buf_put(b, "null", 4);
        else vr_bench_buf_json_str(b, q->error, strlen(q->error));
        vr_bench_buf_printf(b, ",\"start_s\":%.6f,\"prompt_tokens\":%d,\"output_tokens\":%d,\"max_tokens\":%d,",
                            q->start_s, q->ok ? q->prompt_tokens : 0, q->ok ? q->output_tokens : 0, q->expected_output);
        vr_bench_buf_printf(b, "\"ttft_ms\":%.4f,\"e2el_ms\":%.4f,", q->ttft_ms, q->e2e_ms);
        if (q->tpot_ms >= 0) vr_bench_buf_printf(b, "\"tpot_ms\":%.4f,", q->tpot_ms);
        else vr_bench_buf_printf(b, "\"tpot_ms\":null,");
        vr_bench_buf_printf(b, "\"itl_ms\":[");
        for (size_t j = 0; j < q->n_itl; j++) vr_bench_buf_printf(b, "%s%.4f", j ? "," : "", q->itl_ms[j]);
        vr_bench_buf_printf(b, "]}");
    }
    vr_bench_buf_printf(b, "]}");
}

static int write_all(const char *path, const vr_bench_buf *b, char *err, size_t errlen) {
    if (b->oom) {
        snprintf(err, errlen, "out of memory writing '%s'", path);
        return -1;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, errlen, "cannot write '%s'", path);
        return -1;
    }
    size_t w = fwrite(b->p, 1, b->len, f);
    int bad = w != b->len;
    if (fclose(f)) bad = 1;
    if (bad) {
        snprintf(err, errlen, "error writing '%s'", path);
        return -1;
    }
    return 0;
}

int vr_bench_write_json(const char *path, const vr_bench_config *cfg, const char *model,
                        const vr_bench_run_result *runs, size_t n_runs, char *err, size_t errlen) {
    vr_bench_buf b = {0};
    static const char *const ds[] = {"random", "sharegpt", "prefix-repetition"};
    vr_bench_buf_printf(&b, "{\"backend\":\"openai%s\",\"base_url\":", cfg->chat ? "-chat" : "");
    vr_bench_buf_json_str(&b, cfg->base_url, strlen(cfg->base_url));
    vr_bench_buf_printf(&b, ",\"endpoint\":");
    vr_bench_buf_json_str(&b, cfg->endpoint, strlen(cfg->endpoint));
    vr_bench_buf_printf(&b, ",\"model_id\":");
    vr_bench_buf_json_str(&b, model, strlen(model));
    vr_bench_buf_printf(&b, ",\"dataset\":\"%s\",\"num_prompts\":%d,\"seed\":%llu,\"ignore_eos\":%s,",
                        ds[cfg->dataset], cfg->num_prompts, (unsigned long long)cfg->seed,
                        cfg->ignore_eos ? "true" : "false");
    vr_bench_buf_printf(&b, "\"goodput_slo_ms\":{\"ttft\":%g,\"tpot\":%g,\"e2el\":%g},", cfg->slo.ttft_ms,
                        cfg->slo.tpot_ms, cfg->slo.e2e_ms);
    vr_bench_buf_printf(&b, "\"sweep\":%s,\"runs\":[", cfg->sweep ? "true" : "false");
    for (size_t i = 0; i < n_runs; i++) {
        if (i) vr_bench_buf_put(&b, ",", 1);
        run_json(&b, &runs[i]);
    }
    vr_bench_buf_printf(&b, "]}\n");
    int rc = write_all(path, &b, err, errlen);
    free(b.p);
    return rc;
}

/* ---- sweep chart ---- */

/* A "nice" tick step (1, 2 or 5 times a power of ten) giving about n ticks. */
static double nice_step(double span, int n) {
    if (!(span > 0)) return 1;
    double raw = span / n, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

int vr_bench_write_svg(const char *path, const vr_bench_run_result *runs, size_t n_runs, int use_ttft,
                       char *err, size_t errlen) {
    const double W = 760, H = 500, L = 80, R = 150, T = 50, B = 60;
    const double pw = W - L - R, ph = H - T - B;
    double xmax = 0, ymax = 0;
    for (size_t i = 0; i < n_runs; i++) {
        const vr_bench_dist *d = use_ttft ? &runs[i].summary.ttft : &runs[i].summary.tpot;
        if (d->p99 > xmax) xmax = d->p99;
        if (d->median > xmax) xmax = d->median;
        if (runs[i].summary.output_throughput > ymax) ymax = runs[i].summary.output_throughput;
    }
    double xs = nice_step(xmax > 0 ? xmax : 1, 6), ys = nice_step(ymax > 0 ? ymax : 1, 6);
    double xtop = ceil((xmax > 0 ? xmax : 1) / xs) * xs, ytop = ceil((ymax > 0 ? ymax : 1) / ys) * ys;
    if (xtop <= 0) xtop = xs;
    if (ytop <= 0) ytop = ys;
    const char *metric = use_ttft ? "TTFT" : "TPOT";
    vr_bench_buf b = {0};
    vr_bench_buf_printf(&b,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
        "font-family=\"sans-serif\" font-size=\"12\">\n"
        "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"white\"/>\n"
        "<text x=\"%.1f\" y=\"28\" text-anchor=\"middle\" font-size=\"16\">Output throughput vs %s "
        "(one point per concurrency level)</text>\n",
        W, H, W, H, W, H, L + pw / 2, metric);
    /* grid, ticks and tick labels */
    for (double x = 0; x <= xtop + xs / 2; x += xs) {
        double px = L + x / xtop * pw;
        vr_bench_buf_printf(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n"
                                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n",
                            px, T, px, T + ph, px, T + ph + 18, x);
    }
    for (double y = 0; y <= ytop + ys / 2; y += ys) {
        double py = T + ph - y / ytop * ph;
        vr_bench_buf_printf(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n"
                                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
                            L, py, L + pw, py, L - 6, py + 4, y);
    }
    vr_bench_buf_printf(&b,
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n"
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n"
        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s (ms)</text>\n"
        "<text x=\"18\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 18 %.1f)\">"
        "Output token throughput (tok/s)</text>\n",
        L, T + ph, L + pw, T + ph, L, T, L, T + ph, L + pw / 2, H - 15, metric, T + ph / 2, T + ph / 2);
    /* two series: median and p99 latency */
    static const struct { const char *name, *color, *dash; } series[] = {
        {"median", "#1f77b4", ""}, {"p99", "#d62728", " stroke-dasharray=\"6 4\""}};
    for (int sidx = 0; sidx < 2; sidx++) {
        vr_bench_buf_printf(&b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"",
                            series[sidx].color, series[sidx].dash);
        for (size_t i = 0; i < n_runs; i++) {
            const vr_bench_dist *d = use_ttft ? &runs[i].summary.ttft : &runs[i].summary.tpot;
            double x = sidx ? d->p99 : d->median;
            vr_bench_buf_printf(&b, "%s%.1f,%.1f", i ? " " : "", L + x / xtop * pw,
                                T + ph - runs[i].summary.output_throughput / ytop * ph);
        }
        vr_bench_buf_printf(&b, "\"/>\n");
        for (size_t i = 0; i < n_runs; i++) {
            const vr_bench_dist *d = use_ttft ? &runs[i].summary.ttft : &runs[i].summary.tpot;
            double x = sidx ? d->p99 : d->median;
            double px = L + x / xtop * pw, py = T + ph - runs[i].summary.output_throughput / ytop * ph;
            vr_bench_buf_printf(&b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>\n"
                                    "<text x=\"%.1f\" y=\"%.1f\" fill=\"%s\">c=%d</text>\n",
                                px, py, series[sidx].color, px + 6, py - 6, series[sidx].color,
                                runs[i].max_concurrency);
        }
        double ly = T + 10 + sidx * 22;
        vr_bench_buf_printf(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                                "stroke-width=\"2\"%s/>\n<text x=\"%.1f\" y=\"%.1f\">%s %s</text>\n",
                            L + pw + 15, ly, L + pw + 45, ly, series[sidx].color, series[sidx].dash, L + pw + 50,
                            ly + 4, series[sidx].name, metric);
    }
    vr_bench_buf_printf(&b, "</svg>\n");
    int rc = write_all(path, &b, err, errlen);
    free(b.p);
    return rc;
}
