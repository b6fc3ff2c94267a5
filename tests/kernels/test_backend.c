/* tests/kernels/test_backend.c — backend selection and the memory ops. */
#include "kt.h"

int main(void) {
    char err[256];
    vr_backend_options o = {"auto", 2, 0};
    vr_backend *be = vr_backend_create(&o, err, sizeof err);
    KT_CHECK(be != NULL, "auto: %s", err);
    if (be) {
        KT_CHECK(strcmp(be->ops->name, "cpu") == 0 || strcmp(be->ops->name, "cuda") == 0 ||
                     strcmp(be->ops->name, "hip") == 0,
                 "auto picked '%s'", be->ops->name);
        vr_backend_destroy(be);
    }
    o.device = "cpu";
    o.num_threads = 0;
    be = vr_backend_create(&o, err, sizeof err);
    KT_CHECK(be != NULL && strcmp(be->ops->name, "cpu") == 0, "cpu: %s", err);
    if (!be) return kt_finish("test_backend");
    KT_CHECK(be->num_threads == vr_cpu_count(), "0 threads = one per core (%d)", be->num_threads);

#ifndef VIREO_HAVE_CUDA
    o.device = "cuda";
    err[0] = 0;
    KT_CHECK(vr_backend_create(&o, err, sizeof err) == NULL && strstr(err, "no CUDA backend"),
             "cuda without CUDA build: '%s'", err);
#endif
#ifndef VIREO_HAVE_HIP
    o.device = "hip";
    err[0] = 0;
    KT_CHECK(vr_backend_create(&o, err, sizeof err) == NULL && strstr(err, "no HIP backend"),
             "hip without HIP build: '%s'", err);
#endif
    o.device = "tpu";
    err[0] = 0;
    KT_CHECK(vr_backend_create(&o, err, sizeof err) == NULL && strstr(err, "tpu"), "unknown: '%s'", err);
    err[0] = 0;
    KT_CHECK(vr_backend_cpu_create(-1, err, sizeof err) == NULL && err[0], "negative threads");
    vr_backend_destroy(NULL);

    /* alloc / upload / download */
    float host[100], back[100];
    for (int i = 0; i < 100; i++) host[i] = (float)i * 0.5f;
    float *dev = be->ops->alloc(be, sizeof host);
    KT_CHECK(dev != NULL && ((uintptr_t)dev & 63) == 0, "alloc aligned");
    be->ops->upload(be, dev, host, sizeof host);
    be->ops->sync(be);
    be->ops->download(be, back, dev, sizeof back);
    KT_CHECK(memcmp(host, back, sizeof host) == 0, "upload/download");
    be->ops->free(be, dev);
    void *z = be->ops->alloc(be, 0);
    KT_CHECK(z != NULL, "alloc 0");
    be->ops->free(be, z);
    KT_CHECK(be->ops->alloc(be, SIZE_MAX - 10) == NULL, "alloc of SIZE_MAX fails cleanly");

    /* upload_weight: zero copy on little-endian hosts; native values either way */
    unsigned char le[4] = {0x80, 0x3f, 0x00, 0xc0}; /* bf16 1.0, -2.0 */
    void *w = be->ops->upload_weight(be, le, 2, VR_BF16);
    KT_CHECK(w != NULL, "upload_weight");
    if (w) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        KT_CHECK(w == (void *)le, "little-endian host uses the mmap in place");
#endif
        KT_CHECK(vr_bf16_to_f32(((uint16_t *)w)[0]) == 1.0f && vr_bf16_to_f32(((uint16_t *)w)[1]) == -2.0f,
                 "weight values");
        be->ops->free_weight(be, w, le);
    }
    unsigned char lef[4] = {0x00, 0x00, 0x40, 0x40}; /* f32 3.0 */
    w = be->ops->upload_weight(be, lef, 1, VR_F32);
    KT_CHECK(w && *(float *)w == 3.0f, "f32 weight value");
    be->ops->free_weight(be, w, lef);

    KT_CHECK(be->ops->memory_available(be) > 0, "memory_available");
    vr_kv_cache_desc d = {.num_layers = 28, .num_blocks = 10, .block_size = 16, .num_kv_heads = 8, .head_dim = 128};
    KT_CHECK(be->ops->kv_bytes_per_block(be, &d) == 2ull * 28 * 16 * 8 * 128 * 4, "kv bytes per block");
    d.dtype = VR_BF16;
    KT_CHECK(be->ops->kv_bytes_per_block(be, &d) == 2ull * 28 * 16 * 8 * 128 * 2, "bf16 kv bytes per block");
    d.dtype = (vr_dtype)7;
    err[0] = 0;
    KT_CHECK(be->ops->kv_create(be, &d, err, sizeof err) == NULL && strstr(err, "dtype"), "kv_create rejects dtype 7");
    vr_kv_cache_desc bad = {.num_layers = 28, .num_blocks = 0, .block_size = 16, .num_kv_heads = 8, .head_dim = 128};
    err[0] = 0;
    KT_CHECK(be->ops->kv_create(be, &bad, err, sizeof err) == NULL && err[0], "kv_create rejects 0 blocks");
    KT_CHECK(vr_dtype_size(VR_BF16) == 2 && vr_dtype_size(VR_F32) == 4 && vr_dtype_size(VR_F16) == 2, "sizes");
    KT_CHECK(strcmp(vr_dtype_name(VR_BF16), "BF16") == 0, "names");
    vr_backend_destroy(be);
    return kt_finish("test_backend");
}
