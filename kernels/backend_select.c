/* kernels/backend_select.c — vr_backend_create: pick a backend by name.
 *
 * GPU backends live in kernels/cuda/ and kernels/hip/ and define their
 * constructors when the build enables them (VIREO_HAVE_CUDA / VIREO_HAVE_HIP);
 * otherwise the fallbacks below say plainly that this build has none. */
#include <stdio.h>
#include <string.h>

#include "kernels/backend.h"

#ifndef VIREO_HAVE_CUDA
vr_backend *vr_backend_cuda_create(int device_index, char *err, size_t errlen) {
    (void)device_index;
    snprintf(err, errlen, "this build has no CUDA backend (rebuild with -DVIREO_CUDA=ON)");
    return NULL;
}
#endif

#ifndef VIREO_HAVE_HIP
vr_backend *vr_backend_hip_create(int device_index, char *err, size_t errlen) {
    (void)device_index;
    snprintf(err, errlen, "this build has no HIP backend (rebuild with -DVIREO_HIP=ON)");
    return NULL;
}
#endif

vr_backend *vr_backend_create(const vr_backend_options *opts, char *err, size_t errlen) {
    const char *dev = opts && opts->device && opts->device[0] ? opts->device : "auto";
    int threads = opts ? opts->num_threads : 0;
    int index = opts ? opts->device_index : 0;
    if (strcmp(dev, "cpu") == 0) return vr_backend_cpu_create(threads, err, errlen);
    if (strcmp(dev, "cuda") == 0) return vr_backend_cuda_create(index, err, errlen);
    if (strcmp(dev, "hip") == 0) return vr_backend_hip_create(index, err, errlen);
    if (strcmp(dev, "auto") == 0) {
        /* A GPU when this build has one and the machine has one; otherwise
         * the CPU, which always works. The GPU's refusal is not an error. */
        char gpu_err[256];
        vr_backend *be = NULL;
#ifdef VIREO_HAVE_CUDA
        be = vr_backend_cuda_create(index, gpu_err, sizeof gpu_err);
        if (be) return be;
#endif
#ifdef VIREO_HAVE_HIP
        be = vr_backend_hip_create(index, gpu_err, sizeof gpu_err);
        if (be) return be;
#endif
        (void)gpu_err;
        (void)be;
        return vr_backend_cpu_create(threads, err, errlen);
    }
    snprintf(err, errlen, "unknown device '%s' (expected auto, cpu, cuda or hip)", dev);
    return NULL;
}

void vr_backend_destroy(vr_backend *be) {
    if (be && be->ops && be->ops->destroy) be->ops->destroy(be);
}
