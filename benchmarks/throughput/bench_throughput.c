/* benchmarks/throughput/bench_throughput.c — offline throughput: N random
 * prompts of I tokens, each generating exactly O tokens (ignore_eos,
 * temperature 1 with a seed), all submitted at once to one engine capped at
 * C running sequences. Prints requests/s and input/output tokens/s over the
 * whole run, and from the engine's own counters: the decode-only rate (steps
 * that computed no prompt token), the time per decode step, and the
 * scheduler's share of a step (scheduling + batch building). */
#include "benchmarks/throughput/bench_throughput.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/engine.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void on_output(void *user, const vr_output_delta *d) {
    int *done = user;
    if (d->request_finished) (*done)++;
}

static void usage(FILE *f) {
    fprintf(f, "usage: vireo bench throughput MODEL --num-prompts N --input-len I --output-len O\n"
               "       [--max-num-seqs C] [--max-num-batched-tokens B] [--threads T]\n"
               "       [--kv-cache-memory-bytes X] [--dtype D] [--kv-cache-dtype D] [--seed S] [--json]\n");
}

int vr_bench_throughput_main(int argc, char **argv) {
    vr_engine_options o;
    vr_engine_options_default(&o);
    o.log_stats = 0;
    o.no_thread = 1;
    o.quiet = 1;
    int n = 32, in_len = 128, out_len = 128, json = 0;
    unsigned long long seed = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = v != NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(a, "--json")) { json = 1; continue; }
        else if (a[0] != '-') { if (o.model_path) { usage(stderr); return 2; } o.model_path = a; continue; }
        if (!takes) { fprintf(stderr, "bench throughput: %s needs a value\n", a); return 2; }
        i++;
        if (!strcmp(a, "--num-prompts")) n = atoi(v);
        else if (!strcmp(a, "--input-len")) in_len = atoi(v);
        else if (!strcmp(a, "--output-len")) out_len = atoi(v);
        else if (!strcmp(a, "--max-num-seqs")) o.max_num_seqs = atoi(v);
        else if (!strcmp(a, "--max-num-batched-tokens")) o.max_num_batched_tokens = atoi(v);
        else if (!strcmp(a, "--threads")) o.num_threads = atoi(v);
        else if (!strcmp(a, "--kv-cache-memory-bytes")) o.kv_cache_memory_bytes = (size_t)strtoull(v, NULL, 10);
        else if (!strcmp(a, "--dtype")) o.dtype = v;
        else if (!strcmp(a, "--kv-cache-dtype")) o.kv_cache_dtype = v;
        else if (!strcmp(a, "--seed")) seed = strtoull(v, NULL, 10);
        else { fprintf(stderr, "bench throughput: unknown flag %s\n", a); usage(stderr); return 2; }
    }
    if (!o.model_path || n <= 0 || in_len <= 0 || out_len <= 0) {
        usage(stderr);
        return 2;
    }
    if (!o.max_num_seqs) o.max_num_seqs = n;
    o.max_model_len = in_len + out_len;
    o.max_num_queued_requests = n;
    char err[1024];
    double t_load = now_s();
    vr_engine *e;
    if (vr_engine_create(&o, &e, err, sizeof err)) {
        fprintf(stderr, "bench throughput: %s\n", err);
        return 1;
    }
    t_load = now_s() - t_load;
    const vr_engine_info *info = vr_engine_get_info(e);
    int32_t *prompts = malloc((size_t)n * in_len * sizeof *prompts);
    if (!prompts) { vr_engine_destroy(e); return 1; }
    uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 0x1234567;
    int id_range = info->vocab_size < 150000 ? info->vocab_size : 150000; /* ordinary tokens */
    for (long i = 0; i < (long)n * in_len; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        prompts[i] = (int32_t)(x % (uint64_t)id_range);
    }
    vr_sampling_params p;
    vr_sampling_params_default(&p, NULL);
    p.temperature = 1.0f;
    p.top_p = 1.0f;
    p.top_k = 0;
    p.has_seed = 1;
    p.seed = seed;
    p.max_tokens = out_len;
    p.ignore_eos = 1;
    int done = 0, rc = 0;
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "bench-%d", i);
        if (vr_engine_submit(e, id, VR_REQ_GENERATE, prompts + (size_t)i * in_len, in_len, &p, 0, on_output,
                             &done, err, sizeof err)) {
            fprintf(stderr, "bench throughput: %s\n", err);
            rc = 1;
            break;
        }
    }
    /* decode steps: those that computed no prompt token */
    double decode_time = 0;
    uint64_t decode_tokens = 0, decode_steps = 0;
    double sched_decode = 0;
    vr_engine_stats prev, cur;
    vr_engine_get_stats(e, &prev);
    while (!rc && done < n) {
        double s0 = now_s();
        int got = vr_engine_step(e, err, sizeof err);
        double s1 = now_s();
        if (got < 0) {
            fprintf(stderr, "bench throughput: %s\n", err);
            rc = 1;
            break;
        }
        vr_engine_get_stats(e, &cur);
        if (got > 0 && cur.computed_prompt_tokens_total == prev.computed_prompt_tokens_total) {
            decode_time += s1 - s0;
            decode_tokens += cur.generation_tokens_total - prev.generation_tokens_total;
            decode_steps++;
            sched_decode += cur.schedule_time_total_s - prev.schedule_time_total_s;
        }
        prev = cur;
    }
    double elapsed = now_s() - t0;
    vr_engine_get_stats(e, &cur);
    vr_engine_destroy(e);
    free(prompts);
    if (rc) return rc;
    double rps = n / elapsed, itps = (double)n * in_len / elapsed, otps = (double)n * out_len / elapsed;
    double dtps = decode_time > 0 ? decode_tokens / decode_time : 0;
    double step_ms = decode_steps ? 1e3 * decode_time / decode_steps : 0;
    double sched_ms = decode_steps ? 1e3 * sched_decode / decode_steps : 0;
    double sched_all_ms = cur.steps_total ? 1e3 * cur.schedule_time_total_s / cur.steps_total : 0;
    if (json) {
        printf("{\"requests_per_s\":%.4f,\"input_tokens_per_s\":%.2f,\"output_tokens_per_s\":%.2f,"
               "\"elapsed_s\":%.3f,\"num_prompts\":%d,\"input_len\":%d,\"output_len\":%d,"
               "\"max_num_seqs\":%d,\"decode_tokens_per_s\":%.2f,\"decode_step_ms\":%.3f,"
               "\"schedule_ms_per_decode_step\":%.4f,\"schedule_ms_per_step\":%.4f,\"steps\":%llu,"
               "\"preemptions\":%llu,\"load_s\":%.3f}\n",
               rps, itps, otps, elapsed, n, in_len, out_len, info ? o.max_num_seqs : 0, dtps, step_ms, sched_ms,
               sched_all_ms, (unsigned long long)cur.steps_total, (unsigned long long)cur.preemptions_total, t_load);
    } else {
        printf("model %s: %d prompts x (%d in, %d out), max %d running, load %.2f s\n", o.model_path, n, in_len,
               out_len, o.max_num_seqs, t_load);
        printf("throughput: %.3f requests/s, %.1f input tokens/s, %.1f output tokens/s (%.2f s)\n", rps, itps,
               otps, elapsed);
        printf("decode: %.1f tokens/s over %llu steps, %.2f ms per step; scheduler %.4f ms per decode step (%.3f%%)\n",
               dtps, (unsigned long long)decode_steps, step_ms, sched_ms, step_ms > 0 ? 100 * sched_ms / step_ms : 0);
        printf("steps %llu, preemptions %llu; time in forward %.2f s, sampling+outputs %.2f s, scheduling %.4f s\n",
               (unsigned long long)cur.steps_total, (unsigned long long)cur.preemptions_total,
               cur.forward_time_total_s, cur.sample_time_total_s, cur.schedule_time_total_s);
    }
    return 0;
}
