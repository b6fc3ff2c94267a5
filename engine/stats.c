/* engine/stats.c — iteration histogram and the "every 5 s" stats line. */
#include "engine/stats.h"

static const int bucket_le[VR_ITER_TOKEN_BUCKETS] = {1,   8,    16,   32,   64,   128,  256,
                                                     512, 1024, 2048, 4096, 8192, 16384};

void vr_stats_count_iteration(vr_engine_stats *s, int tokens) {
    for (int i = 0; i < VR_ITER_TOKEN_BUCKETS; i++)
        if (tokens <= bucket_le[i]) s->iteration_tokens_buckets[i]++;
    s->iteration_tokens_count++;
    s->iteration_tokens_sum += (uint64_t)tokens;
}

int vr_stats_maybe_log(vr_stats_acc *a, const vr_engine_stats *s, double now, int busy, FILE *f) {
    if (a->last_log == 0) {
        a->last_log = now;
        a->prompt_at_log = s->computed_prompt_tokens_total;
        a->gen_at_log = s->generation_tokens_total;
        return 0;
    }
    double dt = now - a->last_log;
    if (dt < a->interval_s) return 0;
    uint64_t dp = s->computed_prompt_tokens_total - a->prompt_at_log;
    uint64_t dg = s->generation_tokens_total - a->gen_at_log;
    a->last_log = now;
    a->prompt_at_log = s->computed_prompt_tokens_total;
    a->gen_at_log = s->generation_tokens_total;
    if (!busy && !dp && !dg) return 0;
    double hit = s->prefix_cache_queries ? 100.0 * (double)s->prefix_cache_hits / (double)s->prefix_cache_queries : 0.0;
    fprintf(f,
            "vireo: prompt %.1f tok/s, generation %.1f tok/s, running %d, waiting %d, "
            "KV usage %.1f%%, prefix hit rate %.1f%%\n",
            (double)dp / dt, (double)dg / dt, s->running, s->waiting, 100.0 * s->kv_usage, hit);
    fflush(f);
    return 1;
}
