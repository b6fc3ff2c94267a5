/* kernels/backend_select.c — vr_backend_create: pick a backend by name, and
 * the loader of the GPU backend modules.
 *
 * The CUDA and HIP backends are loadable modules (libvireo_cuda.so,
 * libvireo_hip.so, built next to the vireo binary when the build enables
 * them: VIREO_HAVE_CUDA / VIREO_HAVE_HIP). Linking them in made every run,
 * `vireo --version` included, map cudart and cuBLAS (0.37 s, 220 MB); now a
 * module is opened only when its device is asked for or probed, and only
 * after a cheap check that the machine has the driver/runtime at all.
 *
 * A module is looked for, in this order:
 *  1. next to the running executable (/proc/self/exe), where the build and
 *     an install put it;
 *  2. in $VIREO_BACKEND_DIR (programs that live elsewhere: tests, benchmarks);
 *  3. by bare name on the dynamic loader's path (LD_LIBRARY_PATH, ld.so.conf).
 * A candidate that exists but fails to load (a missing cuBLAS, say) is the
 * error reported; it is not silently skipped for the next one.
 *
 * A loaded module stays loaded for the life of the process: backends and
 * the GPU runtime's own threads point into it. */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernels/backend.h"
#include "kernels/cuda/gpu_hooks.h"

typedef struct gpu_kind {
    const char *label;         /* "CUDA", for messages */
    const char *runtime_libs[4]; /* the probe: any of these loads, NULL-ended */
    const char *module_file;   /* "libvireo_cuda.so" */
    const char *entry;         /* exported table function */
    int built;                 /* this build made the module */
    const vr_gpu_module *mod;  /* once loaded (under lock) */
    int fallback_said;         /* "auto" told why it skipped this GPU (under lock) */
} gpu_kind;

static gpu_kind cuda_kind = {
    "CUDA",
    /* libcuda.so.1 is the NVIDIA driver's user-space library, installed with
     * the kernel driver; without it no CUDA device can be reached. */
    {"libcuda.so.1", NULL},
    "libvireo_cuda.so",
    VR_GPU_MODULE_CUDA_ENTRY,
#ifdef VIREO_HAVE_CUDA
    1,
#else
    0,
#endif
    NULL,
    0,
};

static gpu_kind hip_kind = {
    "HIP",
    /* The HIP runtime the module links; distributions ship it under its
     * soname only (libamdhip64.so.5 on Debian 12, .so.6 with ROCm 6). */
    {"libamdhip64.so", "libamdhip64.so.6", "libamdhip64.so.5", NULL},
    "libvireo_hip.so",
    VR_GPU_MODULE_HIP_ENTRY,
#ifdef VIREO_HAVE_HIP
    1,
#else
    0,
#endif
    NULL,
    0,
};

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

/* dlerror() text, or a placeholder (it can be NULL). */
static const char *dl_reason(void) {
    const char *e = dlerror();
    return e ? e : "unknown dynamic loader error";
}

/* 1 when the GPU runtime can be loaded at all. The handle is kept: the
 * module needs the library right after, and a probe that succeeds is
 * followed by loading the module. */
static int probe_runtime(const gpu_kind *k, char *err, size_t errlen) {
    for (int i = 0; k->runtime_libs[i]; i++) {
        if (dlopen(k->runtime_libs[i], RTLD_LAZY | RTLD_LOCAL)) return 1;
    }
    (void)dlerror();
    if (k == &cuda_kind)
        snprintf(err, errlen, "no CUDA driver (libcuda.so.1 not found)");
    else
        snprintf(err, errlen, "no HIP runtime (libamdhip64.so not found)");
    return 0;
}

/* dlopen path if a file is there; 1 with *h set (maybe NULL + err) when the
 * file exists, 0 when it does not (try the next place). */
static int open_candidate(const char *path, void **h, const gpu_kind *k, char *err,
                          size_t errlen) {
    if (access(path, F_OK) != 0) return 0;
    *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!*h) snprintf(err, errlen, "cannot load the %s backend %s: %s", k->label, path, dl_reason());
    return 1;
}

static void *open_module(const gpu_kind *k, char *err, size_t errlen) {
    char path[PATH_MAX + 64], exe[PATH_MAX];
    void *h = NULL;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            snprintf(path, sizeof path, "%s/%s", exe, k->module_file);
            if (open_candidate(path, &h, k, err, errlen)) return h;
        }
    }
    const char *dir = getenv("VIREO_BACKEND_DIR");
    if (dir && dir[0]) {
        snprintf(path, sizeof path, "%s/%s", dir, k->module_file);
        if (open_candidate(path, &h, k, err, errlen)) return h;
    }
    h = dlopen(k->module_file, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        snprintf(err, errlen,
                 "cannot load the %s backend: %s is not next to the executable, not in "
                 "VIREO_BACKEND_DIR (%s) and not on the loader path (%s)",
                 k->label, k->module_file, dir && dir[0] ? dir : "unset", dl_reason());
    return h;
}

/* The module's table, loading it on first use; NULL + err when this build
 * has none, the machine lacks the runtime, or the module cannot be used. */
static const vr_gpu_module *gpu_module(gpu_kind *k, char *err, size_t errlen) {
    if (!k->built) {
        snprintf(err, errlen, "this build has no %s backend (rebuild with -DVIREO_%s=ON)",
                 k->label, k->label);
        return NULL;
    }
    pthread_mutex_lock(&load_lock);
    const vr_gpu_module *mod = k->mod;
    if (!mod && probe_runtime(k, err, errlen)) {
        void *h = open_module(k, err, errlen);
        if (h) {
            vr_gpu_module_entry entry = NULL;
            void *sym = dlsym(h, k->entry);
            /* dlsym's object pointer to a function pointer without a cast C
             * leaves undefined (POSIX guarantees the representation) */
            memcpy(&entry, &sym, sizeof entry);
            const vr_gpu_module *m = entry ? entry() : NULL;
            if (!entry)
                snprintf(err, errlen, "the %s backend module has no entry point %s", k->label,
                         k->entry);
            else if (!m || m->abi != VR_GPU_MODULE_ABI || m->ops_size != sizeof(vr_backend_ops))
                snprintf(err, errlen,
                         "the %s backend module was built from other sources than this "
                         "vireo (interface %d, expected %d); rebuild both together",
                         k->label, m ? m->abi : -1, VR_GPU_MODULE_ABI);
            else
                mod = k->mod = m;
            /* a refused module stays mapped: unloading a GPU runtime that
             * has started threads is not safe, and it is one failure per run */
        }
    }
    pthread_mutex_unlock(&load_lock);
    return mod;
}

/* The table of an already loaded module (hooks are only called with a
 * backend that module made). */
static const vr_gpu_module *loaded(gpu_kind *k) {
    pthread_mutex_lock(&load_lock);
    const vr_gpu_module *m = k->mod;
    pthread_mutex_unlock(&load_lock);
    return m;
}

static vr_backend *gpu_create(gpu_kind *k, int device_index, char *err, size_t errlen) {
    const vr_gpu_module *m = gpu_module(k, err, errlen);
    return m ? m->create(device_index, err, errlen) : NULL;
}

vr_backend *vr_backend_cuda_create(int device_index, char *err, size_t errlen) {
    return gpu_create(&cuda_kind, device_index, err, errlen);
}

vr_backend *vr_backend_hip_create(int device_index, char *err, size_t errlen) {
    return gpu_create(&hip_kind, device_index, err, errlen);
}

/* ---- kernels/cuda/gpu_hooks.h ---- */

static void set_tiled(gpu_kind *k, vr_backend *be, int on) {
    const vr_gpu_module *m = loaded(k);
    if (m && be) m->set_tiled_gemm(be, on);
}
static const char *error_of(gpu_kind *k, vr_backend *be) {
    const vr_gpu_module *m = loaded(k);
    return m && be ? m->error(be) : NULL;
}
static const char *name_of(gpu_kind *k, vr_backend *be) {
    const vr_gpu_module *m = loaded(k);
    return m && be ? m->device_name(be) : "(no device)";
}
static void argmax(gpu_kind *k, vr_backend *be, int32_t *out, const float *x, int rows,
                   int dim) {
    const vr_gpu_module *m = loaded(k);
    if (m && be) m->argmax_rows(be, out, x, rows, dim);
}

void vr_cuda_set_tiled_gemm(vr_backend *be, int on) { set_tiled(&cuda_kind, be, on); }
void vr_hip_set_tiled_gemm(vr_backend *be, int on) { set_tiled(&hip_kind, be, on); }
const char *vr_cuda_error(vr_backend *be) { return error_of(&cuda_kind, be); }
const char *vr_hip_error(vr_backend *be) { return error_of(&hip_kind, be); }
const char *vr_cuda_device_name(vr_backend *be) { return name_of(&cuda_kind, be); }
const char *vr_hip_device_name(vr_backend *be) { return name_of(&hip_kind, be); }
void vr_cuda_argmax_rows(vr_backend *be, int32_t *out, const float *x, int rows, int dim) {
    argmax(&cuda_kind, be, out, x, rows, dim);
}
void vr_hip_argmax_rows(vr_backend *be, int32_t *out, const float *x, int rows, int dim) {
    argmax(&hip_kind, be, out, x, rows, dim);
}

vr_backend *vr_backend_create(const vr_backend_options *opts, char *err, size_t errlen) {
    const char *dev = opts && opts->device && opts->device[0] ? opts->device : "auto";
    int threads = opts ? opts->num_threads : 0;
    int index = opts ? opts->device_index : 0;
    if (strcmp(dev, "cpu") == 0) return vr_backend_cpu_create(threads, err, errlen);
    if (strcmp(dev, "cuda") == 0) return vr_backend_cuda_create(index, err, errlen);
    if (strcmp(dev, "hip") == 0) return vr_backend_hip_create(index, err, errlen);
    if (strcmp(dev, "auto") == 0) {
        /* A GPU when this build has one and the machine has one; otherwise
         * the CPU, which always works. A GPU's refusal is not an error, but
         * it is said on stderr (once per process) so a GPU machine that ends up on the CPU
         * (a broken driver, a module that does not load) shows why. */
        gpu_kind *kinds[] = {&cuda_kind, &hip_kind};
        for (int i = 0; i < 2; i++) {
            if (!kinds[i]->built) continue;
            char gpu_err[512] = "";
            vr_backend *be = gpu_create(kinds[i], index, gpu_err, sizeof gpu_err);
            if (be) return be;
            pthread_mutex_lock(&load_lock);
            int say = !kinds[i]->fallback_said;
            kinds[i]->fallback_said = 1;
            pthread_mutex_unlock(&load_lock);
            if (say)
                fprintf(stderr, "vireo: device auto: not using %s (%s)\n", kinds[i]->label,
                        gpu_err);
        }
        return vr_backend_cpu_create(threads, err, errlen);
    }
    snprintf(err, errlen, "unknown device '%s' (expected auto, cpu, cuda or hip)", dev);
    return NULL;
}

void vr_backend_destroy(vr_backend *be) {
    if (be && be->ops && be->ops->destroy) be->ops->destroy(be);
}
