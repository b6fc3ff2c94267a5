/* benchmarks/serve/stats.h — per-request samples and the summary figures
 * (vLLM's definitions, so numbers compare with `vllm bench serve`):
 *   TTFT  first text-carrying chunk minus request start
 *   ITL   gap between consecutive text-carrying chunks (one gap per chunk:
 *         a chunk carrying k tokens is one sample, as vLLM's harness does)
 *   TPOT  (E2E - TTFT) / (output_tokens - 1), only when output_tokens > 1
 *   E2E   last byte of the response minus request start
 * Percentiles interpolate linearly between order statistics (numpy's default). */
#ifndef VR_BENCH_STATS_H
#define VR_BENCH_STATS_H

#include <stddef.h>

typedef struct vr_bench_sample {
    int ok;                 /* 1 = success */
    char error[160];        /* reason when !ok */
    int prompt_tokens;      /* from usage (or the dataset's count if usage is missing) */
    int output_tokens;      /* from usage (or the number of text chunks) */
    int expected_output;    /* max_tokens asked for */
    double start_s;         /* request start, seconds since benchmark start */
    double ttft_ms, e2e_ms, tpot_ms; /* tpot_ms < 0 when undefined */
    double *itl_ms;         /* owned */
    size_t n_itl, cap_itl;
} vr_bench_sample;

/* Append one inter-token gap; returns nonzero on allocation failure. */
int vr_bench_sample_add_itl(vr_bench_sample *s, double ms);
void vr_bench_sample_free(vr_bench_sample *s);

typedef struct vr_bench_dist {
    double mean, median, std, p90, p99, min, max;
    size_t n;
} vr_bench_dist;

/* Linear-interpolated percentile q in [0,100] of v[0..n) (sorts v in place). 0 if n == 0. */
double vr_bench_percentile(double *v, size_t n, double q);
/* Distribution of n values (copied; v untouched). All zero if n == 0. */
int vr_bench_dist_of(const double *v, size_t n, vr_bench_dist *out);

/* Service-level objectives for goodput, in ms; <= 0 means "not set". */
typedef struct vr_bench_slo {
    double ttft_ms, tpot_ms, e2e_ms;
} vr_bench_slo;

/* Parses "ttft:500 tpot:100 e2el:2000" (each argv word one "name:ms"). */
int vr_bench_slo_parse(const char *word, vr_bench_slo *slo, char *err, size_t errlen);
/* A successful request meets every SLO that is set (TPOT of a one-token
 * request counts as 0, as vLLM does). */
int vr_bench_slo_met(const vr_bench_slo *slo, const vr_bench_sample *s);

typedef struct vr_bench_summary {
    size_t completed, failed;
    double duration_s;
    long long total_input, total_output;
    double request_throughput, output_throughput, total_throughput, input_throughput;
    double max_concurrent_seen;
    int goodput_set;
    size_t good;
    double goodput;         /* good requests per second */
    vr_bench_dist ttft, tpot, itl, e2e;
} vr_bench_summary;

/* Computes every figure from n samples and the benchmark's wall time. */
int vr_bench_summarize(const vr_bench_sample *s, size_t n, double duration_s,
                       const vr_bench_slo *slo, vr_bench_summary *out);

#endif
