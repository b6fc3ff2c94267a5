/* kernels/cpu/cpu_backend.c — the CPU backend: memory, weights, the ops
 * table, creation and destruction. Device memory is host memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/simd.h"

#define VR_CPU_ALIGN 64

static void *cpu_alloc(vr_backend *be, size_t bytes) {
    (void)be;
    size_t rounded = (bytes + VR_CPU_ALIGN - 1) / VR_CPU_ALIGN * VR_CPU_ALIGN;
    if (rounded < bytes) return NULL; /* overflow */
    if (rounded == 0) rounded = VR_CPU_ALIGN;
    return aligned_alloc(VR_CPU_ALIGN, rounded);
}

static void cpu_free(vr_backend *be, void *p) {
    (void)be;
    free(p);
}

static void cpu_upload(vr_backend *be, void *dst, const void *src, size_t bytes) {
    (void)be;
    if (bytes) memmove(dst, src, bytes);
}

static void cpu_download(vr_backend *be, void *dst, const void *src, size_t bytes) {
    (void)be;
    if (bytes) memmove(dst, src, bytes);
}

static void cpu_sync(vr_backend *be) { (void)be; }

/* Weights arrive as little-endian file bytes. On a little-endian host they
 * are used where they lie (the mmap); a big-endian host gets a copy with
 * every element's bytes reversed, so kernels read native numbers. */
static void *cpu_upload_weight(vr_backend *be, const void *host, size_t nelem, vr_dtype dt) {
    (void)be;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    size_t es = vr_dtype_size(dt);
    if (es == 0 || nelem > SIZE_MAX / es) return NULL;
    unsigned char *copy = malloc(nelem > 0 ? nelem * es : 1);
    if (!copy) return NULL;
    const unsigned char *src = host;
    for (size_t i = 0; i < nelem; i++)
        for (size_t b = 0; b < es; b++) copy[i * es + b] = src[i * es + (es - 1 - b)];
    return copy;
#else
    (void)nelem;
    (void)dt;
    return (void *)host;
#endif
}

static void cpu_free_weight(vr_backend *be, void *dev, const void *host) {
    (void)be;
    if (dev && dev != host) free(dev);
}

/* Half of the memory the kernel reports as available: the rest stays for
 * the weights' page cache, the activations and everything else. */
static size_t cpu_memory_available(vr_backend *be) {
    (void)be;
    size_t avail = 0;
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        char line[256];
        unsigned long long kb;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
                avail = (size_t)kb * 1024;
                break;
            }
        fclose(f);
    }
    if (avail == 0) {
        long pages = sysconf(_SC_AVPHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
        if (pages > 0 && psize > 0) avail = (size_t)pages * (size_t)psize;
    }
    return avail / 2;
}

static void cpu_destroy(vr_backend *be) {
    vr_cpu_backend *cb = (vr_cpu_backend *)be;
    if (!cb) return;
    vr_thread_pool_destroy(cb->pool);
    free(cb->xpack);
    vr_rope_table_free(&cb->rope_table);
    free(cb);
}

static const vr_backend_ops cpu_ops = {
    .name = "cpu",
    .destroy = cpu_destroy,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_upload,
    .download = cpu_download,
    .sync = cpu_sync,
    .upload_weight = cpu_upload_weight,
    .free_weight = cpu_free_weight,
    .memory_available = cpu_memory_available,
    .kv_create = vr_cpu_kv_create,
    .kv_destroy = vr_cpu_kv_destroy,
    .kv_bytes_per_block = vr_cpu_kv_bytes_per_block,
    .kv_copy_blocks = vr_cpu_kv_copy_blocks,
    .matmul = vr_cpu_matmul,
    .rmsnorm = vr_cpu_rmsnorm,
    .add = vr_cpu_add,
    .embedding = vr_cpu_embedding,
    .rope = vr_cpu_rope,
    .act_mul = vr_cpu_act_mul,
    .write_kv = vr_cpu_write_kv,
    .attention = vr_cpu_attention,
    .gather_rows = vr_cpu_gather_rows,
    .matmul_multi = vr_cpu_matmul_multi,
};

const char *vr_cpu_isa_name(vr_cpu_isa isa) {
    switch (isa) {
    case VR_CPU_ISA_PORTABLE: return "portable";
    case VR_CPU_ISA_AVX2: return "avx2";
    }
    return "?";
}

vr_cpu_isa vr_cpu_isa_detect(void) {
#ifdef VR_HAVE_X86_SIMD
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
        __builtin_cpu_supports("f16c"))
        return VR_CPU_ISA_AVX2;
#endif
    return VR_CPU_ISA_PORTABLE;
}

vr_backend *vr_cpu_backend_create_isa(int num_threads, vr_cpu_isa isa, char *err, size_t errlen) {
    if (isa > vr_cpu_isa_detect()) {
        snprintf(err, errlen, "cpu backend: %s kernels are not available on this machine/build",
                 vr_cpu_isa_name(isa));
        return NULL;
    }
    if (num_threads < 0) {
        snprintf(err, errlen, "cpu backend: invalid thread count %d", num_threads);
        return NULL;
    }
    if (num_threads == 0) num_threads = vr_cpu_count();
    vr_cpu_backend *cb = calloc(1, sizeof *cb);
    if (!cb) {
        snprintf(err, errlen, "cpu backend: out of memory");
        return NULL;
    }
    cb->base.ops = &cpu_ops;
    cb->base.num_threads = num_threads;
    cb->isa = isa;
    if (num_threads > 1) {
        cb->pool = vr_thread_pool_create(num_threads, err, errlen);
        if (!cb->pool) {
            free(cb);
            return NULL;
        }
    }
    return &cb->base;
}

vr_backend *vr_backend_cpu_create(int num_threads, char *err, size_t errlen) {
    return vr_cpu_backend_create_isa(num_threads, vr_cpu_isa_detect(), err, errlen);
}
