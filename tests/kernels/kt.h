/* tests/kernels/kt.h — tiny helpers shared by the kernel tests: checks that
 * count failures, a seeded generator, and weights built as little-endian file
 * bytes and passed through upload_weight (so big-endian hosts test the
 * byte-swapping path too). */
#ifndef VR_TESTS_KERNELS_KT_H
#define VR_TESTS_KERNELS_KT_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"

static int kt_failures;
static int kt_checks;

#define KT_CHECK(cond, ...)                                                                 \
    do {                                                                                    \
        kt_checks++;                                                                        \
        if (!(cond)) {                                                                      \
            if (kt_failures < 30) {                                                         \
                fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);    \
                fprintf(stderr, __VA_ARGS__);                                               \
                fputc('\n', stderr);                                                        \
            }                                                                               \
            kt_failures++;                                                                  \
        }                                                                                   \
    } while (0)

static inline int kt_finish(const char *name) {
    if (kt_failures) {
        fprintf(stderr, "%s: %d of %d checks failed\n", name, kt_failures, kt_checks);
        return 1;
    }
    printf("%s: all %d checks passed\n", name, kt_checks);
    return 0;
}

typedef struct {
    uint64_t s;
} kt_rng;

static inline uint64_t kt_next(kt_rng *r) { /* splitmix64 */
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
/* uniform in [-1, 1) */
static inline float kt_uniform(kt_rng *r) { return (float)((kt_next(r) >> 40) * (2.0 / 16777216.0) - 1.0); }
static inline int kt_int(kt_rng *r, int n) { return (int)(kt_next(r) % (uint64_t)n); }

static inline void *kt_xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

/* A weight tensor: values as the kernels see them (exactly representable in
 * dt, kept in double for the reference) and the device pointer. */
typedef struct {
    vr_dtype dt;
    size_t n;
    double *val;
    unsigned char *file; /* little-endian bytes, as in a .safetensors file */
    void *dev;
} kt_weight;

static inline void kt_weight_make(kt_weight *w, vr_backend *be, vr_dtype dt, size_t n, kt_rng *r,
                           float amp) {
    w->dt = dt;
    w->n = n;
    w->val = kt_xmalloc(n * sizeof(double));
    size_t es = vr_dtype_size(dt);
    w->file = kt_xmalloc(n * es);
    for (size_t i = 0; i < n; i++) {
        float f = kt_uniform(r) * amp;
        uint32_t bits;
        if (dt == VR_F32) {
            memcpy(&bits, &f, 4);
            w->val[i] = f;
        } else if (dt == VR_BF16) {
            bits = vr_f32_to_bf16(f);
            w->val[i] = vr_bf16_to_f32((uint16_t)bits);
        } else {
            bits = vr_f32_to_f16(f);
            w->val[i] = vr_f16_to_f32((uint16_t)bits);
        }
        for (size_t b = 0; b < es; b++) w->file[i * es + b] = (unsigned char)(bits >> (8 * b));
    }
    w->dev = be->ops->upload_weight(be, w->file, n, dt);
    if (!w->dev) {
        fprintf(stderr, "upload_weight failed\n");
        exit(2);
    }
}

static inline void kt_weight_free(kt_weight *w, vr_backend *be) {
    be->ops->free_weight(be, w->dev, w->file);
    free(w->val);
    free(w->file);
}

static inline vr_backend *kt_backend(int threads, vr_cpu_isa isa) {
    char err[256];
    vr_backend *be = vr_cpu_backend_create_isa(threads, isa, err, sizeof err);
    if (!be) {
        fprintf(stderr, "backend: %s\n", err);
        exit(2);
    }
    return be;
}

/* Every (threads, isa) pair worth testing on this machine. */
typedef struct {
    int threads;
    vr_cpu_isa isa;
} kt_config;

static inline int kt_configs(kt_config *out, int max) {
    int n = 0;
    vr_cpu_isa best = vr_cpu_isa_detect();
    for (int isa = 0; isa <= (int)best; isa++) {
        int threads[] = {1, 3};
        for (int i = 0; i < 2 && n < max; i++) out[n++] = (kt_config){threads[i], (vr_cpu_isa)isa};
    }
    return n;
}

#endif
