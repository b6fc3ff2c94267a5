/* benchmarks/serve/bench.h — private to the load generator: its settings,
 * the prompts it sends, and the pieces bench_serve.c wires together. */
#ifndef VR_BENCH_BENCH_H
#define VR_BENCH_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "benchmarks/serve/stats.h"

typedef enum { VR_DS_RANDOM, VR_DS_SHAREGPT, VR_DS_PREFIX } vr_bench_dataset_kind;

typedef struct vr_bench_config {
    const char *base_url, *endpoint, *model, *api_key;
    int chat;                       /* endpoint is chat completions */
    vr_bench_dataset_kind dataset;
    const char *dataset_path;
    int random_input_len, random_output_len;
    double random_range_ratio;
    int sharegpt_output_len;        /* 0 = from the gpt turn */
    int prefix_len, suffix_len, num_prefixes, prefix_output_len;
    int ignore_eos;
    double request_rate;            /* requests/s; INFINITY = all at once */
    int max_concurrency;            /* 0 = unbounded */
    int num_prompts;
    uint64_t seed;
    int *sweep;                     /* concurrency levels (owned), NULL if no sweep */
    size_t n_sweep;
    int warmup;
    vr_bench_slo slo;
    int progress;                   /* -1 auto (stderr is a tty), 0 off, 1 on */
    const char *result_json, *plot_path;
    int plot_ttft;                  /* plot TTFT instead of TPOT */
    double timeout_s;
    int use_server_vocab;           /* try /tokenize + /detokenize (default on) */
    double temperature;
    char url_buf[300];              /* base URL built from --host/--port */
} vr_bench_config;

/* Fills defaults and parses flags. Returns 0, 1 for --help (printed), -1 on
 * a bad flag (message in err). */
int vr_bench_parse_args(int argc, char **argv, vr_bench_config *cfg, char *err, size_t errlen);
void vr_bench_config_free(vr_bench_config *cfg);
void vr_bench_usage(FILE *f);

/* ---- prompts ---- */

typedef struct vr_bench_prompt {
    char *text;                     /* owned */
    int prompt_len;                 /* tokens (measured by the server's tokenizer, or estimated) */
    int output_len;                 /* max_tokens to ask for */
} vr_bench_prompt;

/* The server's tokenizer, when it exposes one; lets datasets hit exact
 * token counts. Both return nonzero + message when unavailable. */
typedef struct vr_bench_vocab {
    int (*tokenize)(void *user, const char *text, int **ids, size_t *n, char *err, size_t errlen);
    int (*detokenize)(void *user, const int *ids, size_t n, char **text, char *err, size_t errlen);
    void *user;
} vr_bench_vocab;

/* Small seeded generator (splitmix64): reproducible runs, no global state. */
typedef struct vr_bench_rng { uint64_t s; } vr_bench_rng;
uint64_t vr_bench_rng_next(vr_bench_rng *r);
double vr_bench_rng_uniform(vr_bench_rng *r); /* [0, 1) */

/* Builds cfg->num_prompts prompts for the configured dataset. vocab may be
 * NULL (built-in word list, estimated lengths). note receives a line saying
 * where the prompts' tokens came from. */
int vr_bench_dataset_build(const vr_bench_config *cfg, const vr_bench_vocab *vocab,
                           vr_bench_prompt **out, size_t *n_out, char *note, size_t notelen,
                           char *err, size_t errlen);
void vr_bench_prompts_free(vr_bench_prompt *p, size_t n);

/* ---- one run (one load level) ---- */

typedef struct vr_bench_run_result {
    vr_bench_sample *samples;       /* one per prompt, in prompt order (owned) */
    size_t n;
    double duration_s;
    int max_concurrency, max_in_flight;
    double request_rate;
    size_t connections_opened;
    double harness_cpu_s;           /* CPU time the harness itself used during the run */
    vr_bench_summary summary;
} vr_bench_run_result;

void vr_bench_run_result_free(vr_bench_run_result *r);

/* Arrival offsets (s) for n requests: Poisson at rate (exponential gaps), all
 * zero when rate is infinite. */
void vr_bench_arrivals(double rate, size_t n, vr_bench_rng *rng, double *out);

/* Appends the JSON-escaped form of s (quotes included) to a growing buffer. */
typedef struct vr_bench_buf { char *p; size_t len, cap; int oom; } vr_bench_buf;
void vr_bench_buf_put(vr_bench_buf *b, const char *s, size_t n);
void vr_bench_buf_printf(vr_bench_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vr_bench_buf_json_str(vr_bench_buf *b, const char *s, size_t n);

/* Request body for one prompt (chat or completions, streaming with usage). */
int vr_bench_request_body(const vr_bench_config *cfg, const char *model, const vr_bench_prompt *p,
                          vr_bench_buf *out);

/* ---- reports ---- */

void vr_bench_print_summary(FILE *f, const char *title, const vr_bench_run_result *r, const vr_bench_config *cfg);
/* One run, or a sweep of runs; writes every figure and every sample. */
int vr_bench_write_json(const char *path, const vr_bench_config *cfg, const char *model,
                        const vr_bench_run_result *runs, size_t n_runs, char *err, size_t errlen);
int vr_bench_write_svg(const char *path, const vr_bench_run_result *runs, size_t n_runs, int use_ttft,
                       char *err, size_t errlen);

#endif
