/* tests/gpu/gt.h — helpers shared by the GPU tests: open the GPU backend
 * (or skip loudly when the machine has none), a seeded generator, checks
 * that count failures, and "run on both backends" plumbing.
 *
 * The same test sources build against the CUDA backend and, with
 * VR_GPU_TEST_HIP defined, against the HIP one. */
#ifndef VR_TESTS_GPU_GT_H
#define VR_TESTS_GPU_GT_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/backend.h"
#include "kernels/cuda/gpu_hooks.h"

/* ctest's SKIP_RETURN_CODE for these tests */
#define GT_SKIP 77

#ifdef VR_GPU_TEST_HIP
#define GT_LABEL "HIP"
#define gt_gpu_create vr_backend_hip_create
#define gt_gpu_error vr_hip_error
#define gt_gpu_name vr_hip_device_name
#define gt_set_tiled vr_hip_set_tiled_gemm
#define gt_argmax vr_hip_argmax_rows
#else
#define GT_LABEL "CUDA"
#define gt_gpu_create vr_backend_cuda_create
#define gt_gpu_error vr_cuda_error
#define gt_gpu_name vr_cuda_device_name
#define gt_set_tiled vr_cuda_set_tiled_gemm
#define gt_argmax vr_cuda_argmax_rows
#endif

static int gt_failures, gt_checks;

#define GT_CHECK(cond, ...)                                                                  \
    do {                                                                                     \
        gt_checks++;                                                                         \
        if (!(cond)) {                                                                       \
            if (gt_failures < 40) {                                                          \
                fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);     \
                fprintf(stderr, __VA_ARGS__);                                                \
                fputc('\n', stderr);                                                         \
            }                                                                                \
            gt_failures++;                                                                   \
        }                                                                                    \
    } while (0)

/* The backend module (libvireo_cuda.so / libvireo_hip.so) sits in the build
 * directory, next to vireo, not next to these programs: point the loader
 * there (kernels/backend_select.c reads VIREO_BACKEND_DIR) unless the
 * caller already chose a directory. Runs before main. */
#ifdef VR_GT_BACKEND_DIR
__attribute__((constructor)) static void gt_backend_dir(void) {
    setenv("VIREO_BACKEND_DIR", VR_GT_BACKEND_DIR, 0);
}
#endif

/* 1 when err is the refusal of a machine without the GPU: no driver /
 * runtime library, or no device. */
static inline int gt_no_device(const char *err) {
#ifdef VR_GPU_TEST_HIP
    return strncmp(err, "no HIP device (", 15) == 0 || strncmp(err, "no HIP runtime (", 16) == 0;
#else
    return strncmp(err, "no CUDA device (", 16) == 0 || strncmp(err, "no CUDA driver (", 16) == 0;
#endif
}

/* The GPU backend, or exit(GT_SKIP) with a loud message when the machine has
 * no device. Any other refusal (a device that exists but cannot be used, a
 * backend module that does not load) is a failure, not a skip. */
static inline vr_backend *gt_open_gpu(const char *test) {
    char err[512] = "";
    vr_backend *be = gt_gpu_create(0, err, sizeof err);
    if (!be) {
        if (gt_no_device(err)) {
            printf("SKIPPED: %s (%s)\n", err, test);
            fflush(stdout);
            exit(GT_SKIP);
        }
        fprintf(stderr, "%s: cannot open the %s backend: %s\n", test, GT_LABEL, err);
        exit(1);
    }
    printf("%s: running on %s\n", test, gt_gpu_name(be));
    return be;
}

static inline vr_backend *gt_open_cpu(void) {
    char err[512] = "";
    vr_backend *be = vr_backend_cpu_create(0, err, sizeof err);
    if (!be) {
        fprintf(stderr, "cpu backend: %s\n", err);
        exit(1);
    }
    return be;
}

static inline int gt_finish(const char *name, vr_backend *gpu) {
    const char *e = gpu ? gt_gpu_error(gpu) : NULL;
    if (e) {
        fprintf(stderr, "%s: the GPU backend reported: %s\n", name, e);
        gt_failures++;
    }
    if (gt_failures) {
        fprintf(stderr, "%s: %d of %d checks failed\n", name, gt_failures, gt_checks);
        return 1;
    }
    printf("%s: all %d checks passed\n", name, gt_checks);
    return 0;
}

typedef struct {
    uint64_t s;
} gt_rng;

static inline uint64_t gt_next(gt_rng *r) { /* splitmix64 */
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
/* uniform in [-1, 1) */
static inline float gt_uniform(gt_rng *r) {
    return (float)((gt_next(r) >> 40) * (2.0 / 16777216.0) - 1.0);
}
static inline int gt_int(gt_rng *r, int n) { return (int)(gt_next(r) % (uint64_t)n); }

static inline void *gt_xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static inline float *gt_randf(gt_rng *r, size_t n, float amp) {
    float *p = gt_xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) p[i] = amp * gt_uniform(r);
    return p;
}

/* Device copy of host bytes on backend be. */
static inline void *gt_dev(vr_backend *be, const void *host, size_t bytes) {
    void *d = be->ops->alloc(be, bytes ? bytes : 1);
    if (!d) {
        fprintf(stderr, "%s: alloc of %zu bytes failed\n", be->ops->name, bytes);
        exit(2);
    }
    if (host && bytes) be->ops->upload(be, d, host, bytes);
    return d;
}

static inline float *gt_download(vr_backend *be, const void *dev, size_t nfloats) {
    float *h = gt_xmalloc(nfloats * sizeof(float));
    be->ops->download(be, h, dev, nfloats * sizeof(float));
    return h;
}

/* max |a - ref| / max |ref| (absolute when ref is all zeros); NaN anywhere
 * is an infinite error. */
static inline double gt_rel_err(const float *a, const float *ref, size_t n) {
    double md = 0, mr = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(a[i]) || isnan(ref[i])) return INFINITY;
        double d = fabs((double)a[i] - ref[i]);
        if (d > md) md = d;
        if (fabs(ref[i]) > mr) mr = fabs(ref[i]);
    }
    return mr > 0 ? md / mr : md;
}

/* Weight bytes of n values in dtype dt, as they lie in a safetensors file
 * (little-endian). Values are first rounded to the dtype so both backends see
 * exactly the same numbers. */
static inline void *gt_weight_bytes(const float *v, size_t n, vr_dtype dt) {
    size_t es = vr_dtype_size(dt);
    unsigned char *b = gt_xmalloc(n * es);
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        if (dt == VR_F32) {
            memcpy(&u, &v[i], 4);
            for (int k = 0; k < 4; k++) b[i * 4 + k] = (unsigned char)(u >> (8 * k));
        } else {
            uint16_t h = dt == VR_BF16 ? vr_f32_to_bf16(v[i]) : vr_f32_to_f16(v[i]);
            b[i * 2] = (unsigned char)h;
            b[i * 2 + 1] = (unsigned char)(h >> 8);
        }
    }
    return b;
}

#endif
