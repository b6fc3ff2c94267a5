/* engine/stats.h — private: counters bookkeeping and the periodic log line. */
#ifndef VR_ENGINE_STATS_H
#define VR_ENGINE_STATS_H

#include <stdio.h>

#include "engine/engine.h"

typedef struct vr_stats_acc {
    double last_log;
    uint64_t prompt_at_log, gen_at_log;
    double interval_s; /* 5 */
} vr_stats_acc;

/* Count one step of `tokens` tokens in the iteration histogram. */
void vr_stats_count_iteration(vr_engine_stats *s, int tokens);
/* Writes "prompt X tok/s, generation Y tok/s, ..." to f when interval_s has
 * passed since the last line and the engine was busy. Returns 1 if it wrote. */
int vr_stats_maybe_log(vr_stats_acc *a, const vr_engine_stats *s, double now, int busy, FILE *f);

#endif
