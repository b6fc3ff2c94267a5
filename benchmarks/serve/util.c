/* benchmarks/serve/util.c — growing buffers, JSON string escaping, the seeded
 * generator, and the request body the harness sends. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "benchmarks/serve/bench.h"

uint64_t vr_bench_rng_next(vr_bench_rng *r) {
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double vr_bench_rng_uniform(vr_bench_rng *r) { return (double)(vr_bench_rng_next(r) >> 11) * 0x1.0p-53; }

static int buf_reserve(vr_bench_buf *b, size_t extra) {
    if (b->oom) return -1;
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void vr_bench_buf_put(vr_bench_buf *b, const char *s, size_t n) {
    if (buf_reserve(b, n)) return;
    if (n) memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void vr_bench_buf_printf(vr_bench_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buf_reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void vr_bench_buf_json_str(vr_bench_buf *b, const char *s, size_t n) {
    vr_bench_buf_put(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7F) continue;
        vr_bench_buf_put(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': vr_bench_buf_put(b, "\\\"", 2); break;
        case '\\': vr_bench_buf_put(b, "\\\\", 2); break;
        case '\n': vr_bench_buf_put(b, "\\n", 2); break;
        case '\r': vr_bench_buf_put(b, "\\r", 2); break;
        case '\t': vr_bench_buf_put(b, "\\t", 2); break;
        default: vr_bench_buf_printf(b, "\\u%04x", c); break;
        }
    }
    vr_bench_buf_put(b, s + run, n - run);
    vr_bench_buf_put(b, "\"", 1);
}

int vr_bench_request_body(const vr_bench_config *cfg, const char *model, const vr_bench_prompt *p,
                          vr_bench_buf *out) {
    vr_bench_buf_put(out, "{\"model\":", 9);
    vr_bench_buf_json_str(out, model, strlen(model));
    if (cfg->chat) {
        vr_bench_buf_printf(out, ",\"messages\":[{\"role\":\"user\",\"content\":");
        vr_bench_buf_json_str(out, p->text, strlen(p->text));
        vr_bench_buf_printf(out, "}],\"max_completion_tokens\":%d", p->output_len);
    } else {
        vr_bench_buf_printf(out, ",\"prompt\":");
        vr_bench_buf_json_str(out, p->text, strlen(p->text));
        vr_bench_buf_printf(out, ",\"max_tokens\":%d", p->output_len);
    }
    vr_bench_buf_printf(out, ",\"temperature\":%g,\"stream\":true,\"stream_options\":{\"include_usage\":true}",
                        cfg->temperature);
    if (cfg->ignore_eos) vr_bench_buf_printf(out, ",\"ignore_eos\":true");
    vr_bench_buf_put(out, "}", 1);
    return out->oom ? -1 : 0;
}
