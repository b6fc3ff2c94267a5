/* benchmarks/serve/runner.h — drives one load level: arrivals (Poisson or all
 * at once), a cap on requests in flight, one streaming request per prompt,
 * timed chunk by chunk on the client's loop. */
#ifndef VR_BENCH_RUNNER_H
#define VR_BENCH_RUNNER_H

#include <uv.h>

#include "benchmarks/serve/bench.h"
#include "benchmarks/serve/http_client.h"

typedef struct vr_bench_run_opts {
    int max_concurrency;  /* 0 = unbounded */
    double request_rate;  /* INFINITY = all at once */
    uint64_t seed;        /* arrivals */
    int progress;         /* draw a progress bar on stderr */
    const char *label;    /* shown beside the progress bar */
} vr_bench_run_opts;

/* Sends every prompt once. Per-request failures are samples with ok = 0;
 * returns nonzero only when the run itself could not happen. */
int vr_bench_run(uv_loop_t *loop, vr_hc *hc, const vr_bench_config *cfg, const char *model,
                 const vr_bench_prompt *prompts, size_t n, const vr_bench_run_opts *opt,
                 vr_bench_run_result *out, char *err, size_t errlen);

#endif
