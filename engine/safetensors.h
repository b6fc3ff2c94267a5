/* engine/safetensors.h — private to engine/: read-only, memory-mapped
 * safetensors checkpoints (one file, or shards listed by
 * model.safetensors.index.json).
 *
 * File layout: 8 bytes little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "BF16", "shape": [..], "data_offsets": [begin, end]},
 *  "__metadata__": {...}}, then the data buffer that offsets are relative to.
 *
 * Everything the file claims is checked before a pointer is handed out:
 * header inside the file, offsets inside the data buffer, no two tensors
 * overlapping, byte size equal to product(shape) * element size, data
 * aligned to its element size, dtype one of BF16/F16/F32. Tensor data is
 * returned as a pointer into the mapping (little-endian bytes, as stored).
 */
#ifndef VR_ENGINE_SAFETENSORS_H
#define VR_ENGINE_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/backend.h"

#define VR_ST_MAX_DIMS 8

typedef struct vr_st_tensor {
    char *name;
    vr_dtype dtype;
    int ndim;
    int64_t shape[VR_ST_MAX_DIMS];
    size_t nelem;
    size_t nbytes;
    const void *data; /* into the read-only mapping */
    const char *file; /* file name (no directory) holding the tensor, for messages */
} vr_st_tensor;

typedef struct vr_safetensors vr_safetensors;

/* Open the checkpoint in folder dir: model.safetensors when present, else the
 * shards named by model.safetensors.index.json. Errors name the file. */
int vr_st_open_dir(const char *dir, vr_safetensors **out, char *err, size_t errlen);
/* Open one safetensors file (used by the above and by tests). */
int vr_st_open_file(const char *path, vr_safetensors **out, char *err, size_t errlen);
void vr_st_close(vr_safetensors *st);

/* "model.safetensors" or "model.safetensors.index.json" (or the file's name
 * for vr_st_open_file): where a missing tensor was looked for, for messages. */
const char *vr_st_source(const vr_safetensors *st);

/* Tensor by exact name; NULL when absent. */
const vr_st_tensor *vr_st_find(const vr_safetensors *st, const char *name);
size_t vr_st_count(const vr_safetensors *st);
const vr_st_tensor *vr_st_at(const vr_safetensors *st, size_t i);

#endif
