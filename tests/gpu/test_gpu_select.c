/* tests/gpu/test_gpu_select.c — device selection in a build with the GPU
 * backend module, on any machine (this one never skips):
 *  - no driver (libcuda.so.1 / libamdhip64 absent): the constructor says
 *    "no CUDA driver (...)" without loading the backend module, so neither
 *    the module nor cuBLAS is mapped afterwards;
 *  - a driver but no device: "no CUDA device (cudaGetDeviceCount: ...)";
 *  - either way --device cuda fails with that message, --device auto falls
 *    back to the CPU, and nothing crashes or leaks a half-made backend;
 *  - a device: auto picks the GPU, the constructor rejects a bad ordinal.
 * Any other refusal (the module missing or not loading) is a failure.
 */
#include "gt.h"

/* 1 when a mapped file of this process has `name` in its path. */
static int mapped(const char *name) {
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return 0;
    char line[4096];
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) found = strstr(line, name) != NULL;
    fclose(f);
    return found;
}

int main(void) {
    char err[512] = "";
    vr_backend *be = gt_gpu_create(0, err, sizeof err);
    vr_backend_options o = {"auto", 1, 0};
    if (!be) {
        printf("no %s device here: '%s'\n", GT_LABEL, err);
        GT_CHECK(gt_no_device(err), "unexpected refusal: '%s'", err);
        if (strncmp(err, "no " GT_LABEL " device (", strlen(GT_LABEL) + 12) == 0) {
            GT_CHECK(strstr(err, "GetDeviceCount: ") != NULL, "message names the call: '%s'",
                     err);
        } else {
            /* the driver probe refused before the module was opened */
            GT_CHECK(!mapped("libvireo_"), "backend module loaded without a driver");
            GT_CHECK(!mapped("libcublas") && !mapped("libcudart"),
                     "GPU libraries loaded without a driver");
        }
        /* twice: the runtime's failed init must not poison a second try */
        err[0] = 0;
        GT_CHECK(gt_gpu_create(0, err, sizeof err) == NULL && err[0], "second create");
#ifndef VR_GPU_TEST_HIP
        o.device = "cuda";
        err[0] = 0;
        GT_CHECK(vr_backend_create(&o, err, sizeof err) == NULL && gt_no_device(err),
                 "--device cuda: '%s'", err);
#endif
        o.device = "auto";
        vr_backend *a = vr_backend_create(&o, err, sizeof err);
        GT_CHECK(a && strcmp(a->ops->name, "cpu") == 0, "auto without a GPU: %s",
                 a ? a->ops->name : err);
        vr_backend_destroy(a);
        return gt_finish("gpu_test_select", NULL);
    }
    printf("device: %s\n", gt_gpu_name(be));
    vr_backend_destroy(be);
    err[0] = 0;
    GT_CHECK(gt_gpu_create(1 << 20, err, sizeof err) == NULL && strstr(err, "does not exist"),
             "bad ordinal: '%s'", err);
#ifndef VR_GPU_TEST_HIP
    vr_backend *a = vr_backend_create(&o, err, sizeof err);
    GT_CHECK(a && strcmp(a->ops->name, "cuda") == 0, "auto with a GPU: %s",
             a ? a->ops->name : err);
    vr_backend_destroy(a);
#endif
    return gt_finish("gpu_test_select", NULL);
}
