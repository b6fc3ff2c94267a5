/* benchmarks/serve/stats.c — see stats.h. */
#include "benchmarks/serve/stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vr_bench_sample_add_itl(vr_bench_sample *s, double ms) {
    if (s->n_itl == s->cap_itl) {
        size_t cap = s->cap_itl ? s->cap_itl * 2 : 64;
        double *p = realloc(s->itl_ms, cap * sizeof *p);
        if (!p) return -1;
        s->itl_ms = p;
        s->cap_itl = cap;
    }
    s->itl_ms[s->n_itl++] = ms;
    return 0;
}

void vr_bench_sample_free(vr_bench_sample *s) {
    free(s->itl_ms);
    s->itl_ms = NULL;
    s->n_itl = s->cap_itl = 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double vr_bench_percentile(double *v, size_t n, double q) {
    if (!n) return 0;
    qsort(v, n, sizeof *v, cmp_double);
    if (q <= 0) return v[0];
    if (q >= 100) return v[n - 1];
    double pos = q / 100.0 * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    double frac = pos - (double)lo;
    if (lo + 1 >= n) return v[n - 1];
    return v[lo] + (v[lo + 1] - v[lo]) * frac;
}

int vr_bench_dist_of(const double *v, size_t n, vr_bench_dist *out) {
    memset(out, 0, sizeof *out);
    if (!n) return 0;
    double *c = malloc(n * sizeof *c);
    if (!c) return -1;
    memcpy(c, v, n * sizeof *c);
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += c[i];
    out->n = n;
    out->mean = sum / (double)n;
    double var = 0;
    for (size_t i = 0; i < n; i++) var += (c[i] - out->mean) * (c[i] - out->mean);
    out->std = sqrt(var / (double)n); /* population std, as numpy.std */
    out->median = vr_bench_percentile(c, n, 50); /* sorts c */
    out->p90 = vr_bench_percentile(c, n, 90);
    out->p99 = vr_bench_percentile(c, n, 99);
    out->min = c[0];
    out->max = c[n - 1];
    free(c);
    return 0;
}

int vr_bench_slo_parse(const char *word, vr_bench_slo *slo, char *err, size_t errlen) {
    const char *colon = strchr(word, ':');
    if (!colon) {
        snprintf(err, errlen, "--goodput: '%s' is not NAME:MS (e.g. ttft:500)", word);
        return -1;
    }
    size_t kl = (size_t)(colon - word);
    char *end;
    double v = strtod(colon + 1, &end);
    if (end == colon + 1 || *end || !(v > 0) || !isfinite(v)) {
        snprintf(err, errlen, "--goodput: '%s' needs a positive number of milliseconds", word);
        return -1;
    }
    if (kl == 4 && !strncmp(word, "ttft", 4)) slo->ttft_ms = v;
    else if (kl == 4 && !strncmp(word, "tpot", 4)) slo->tpot_ms = v;
    else if ((kl == 4 && !strncmp(word, "e2el", 4)) || (kl == 3 && !strncmp(word, "e2e", 3))) slo->e2e_ms = v;
    else {
        snprintf(err, errlen, "--goodput: unknown metric in '%s' (ttft, tpot, e2el)", word);
        return -1;
    }
    return 0;
}

int vr_bench_slo_met(const vr_bench_slo *slo, const vr_bench_sample *s) {
    if (!s->ok) return 0;
    if (slo->ttft_ms > 0 && s->ttft_ms > slo->ttft_ms) return 0;
    if (slo->tpot_ms > 0 && (s->tpot_ms > 0 ? s->tpot_ms : 0) > slo->tpot_ms) return 0;
    if (slo->e2e_ms > 0 && s->e2e_ms > slo->e2e_ms) return 0;
    return 1;
}

int vr_bench_summarize(const vr_bench_sample *s, size_t n, double duration_s,
                       const vr_bench_slo *slo, vr_bench_summary *out) {
    memset(out, 0, sizeof *out);
    out->duration_s = duration_s;
    size_t n_itl = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i].ok) n_itl += s[i].n_itl;
    double *ttft = malloc((n + 1) * sizeof *ttft), *tpot = malloc((n + 1) * sizeof *tpot),
           *e2e = malloc((n + 1) * sizeof *e2e), *itl = malloc((n_itl + 1) * sizeof *itl);
    int rc = -1;
    if (!ttft || !tpot || !e2e || !itl) goto done;
    size_t nt = 0, np = 0, ni = 0;
    for (size_t i = 0; i < n; i++) {
        if (!s[i].ok) { out->failed++; continue; }
        out->completed++;
        out->total_input += s[i].prompt_tokens;
        out->total_output += s[i].output_tokens;
        ttft[nt] = s[i].ttft_ms;
        e2e[nt++] = s[i].e2e_ms;
        if (s[i].tpot_ms >= 0) tpot[np++] = s[i].tpot_ms;
        if (s[i].n_itl) memcpy(itl + ni, s[i].itl_ms, s[i].n_itl * sizeof *itl);
        ni += s[i].n_itl;
        if (slo && (slo->ttft_ms > 0 || slo->tpot_ms > 0 || slo->e2e_ms > 0) && vr_bench_slo_met(slo, &s[i]))
            out->good++;
    }
    if (slo && (slo->ttft_ms > 0 || slo->tpot_ms > 0 || slo->e2e_ms > 0)) out->goodput_set = 1;
    if (duration_s > 0) {
        out->request_throughput = (double)out->completed / duration_s;
        out->input_throughput = (double)out->total_input / duration_s;
        out->output_throughput = (double)out->total_output / duration_s;
        out->total_throughput = (double)(out->total_input + out->total_output) / duration_s;
        out->goodput = (double)out->good / duration_s;
    }
    if (vr_bench_dist_of(ttft, nt, &out->ttft) || vr_bench_dist_of(tpot, np, &out->tpot) ||
        vr_bench_dist_of(e2e, nt, &out->e2e) || vr_bench_dist_of(itl, ni, &out->itl))
        goto done;
    rc = 0;
done:
    free(ttft);
    free(tpot);
    free(e2e);
    free(itl);
    return rc;
}
