/* tests/gpu/test_gpu_select.c — device selection in a build with the GPU
 * backend, on any machine (this one never skips):
 *  - no device: the constructor returns NULL with "no CUDA device (...)",
 *    --device cuda fails with that message, --device auto falls back to the
 *    CPU, and nothing crashes or leaks a half-made backend;
 *  - a device: auto picks the GPU, the constructor rejects a bad ordinal.
 */
#include "gt.h"

int main(void) {
    char err[512] = "";
    vr_backend *be = gt_gpu_create(0, err, sizeof err);
    vr_backend_options o = {"auto", 1, 0};
    if (!be) {
        printf("no %s device here: '%s'\n", GT_LABEL, err);
        GT_CHECK(strncmp(err, "no " GT_LABEL " device (", strlen(GT_LABEL) + 12) == 0,
                 "unexpected refusal: '%s'", err);
        GT_CHECK(strstr(err, "GetDeviceCount: ") != NULL, "message names the call: '%s'", err);
        /* twice: the runtime's failed init must not poison a second try */
        err[0] = 0;
        GT_CHECK(gt_gpu_create(0, err, sizeof err) == NULL && err[0], "second create");
#ifndef VR_GPU_TEST_HIP
        o.device = "cuda";
        err[0] = 0;
        GT_CHECK(vr_backend_create(&o, err, sizeof err) == NULL && strstr(err, "no CUDA device"),
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
