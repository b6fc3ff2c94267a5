/* kernels/dtype.c — dtype names, sizes and the scalar bf16/f16 <-> f32
 * conversions every host-side piece of code shares. */
#include <math.h>
#include <string.h>

#include "kernels/backend.h"

size_t vr_dtype_size(vr_dtype dt) {
    switch (dt) {
    case VR_F32: return 4;
    case VR_F16: return 2;
    case VR_BF16: return 2;
    }
    return 0;
}

const char *vr_dtype_name(vr_dtype dt) {
    switch (dt) {
    case VR_F32: return "F32";
    case VR_F16: return "F16";
    case VR_BF16: return "BF16";
    }
    return "?";
}

float vr_bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t vr_f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: keep it a quiet NaN */
        return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u); /* round to nearest even */
    return (uint16_t)(u >> 16);
}

float vr_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    uint32_t u;
    if (exp == 0) {
        if (mant == 0) {
            u = sign;
        } else { /* subnormal: value = mant * 2^-24 */
            float f = ldexpf((float)mant, -24);
            return sign ? -f : f;
        }
    } else if (exp == 31) {
        u = sign | 0x7f800000u | (mant << 13);
    } else {
        u = sign | ((exp + 112u) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t vr_f32_to_f16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return sign | 0x7e00u;        /* NaN */
    if (a >= 0x477ff000u) return sign | 0x7c00u;       /* overflow -> inf */
    if (a < 0x38800000u) {                              /* subnormal or zero */
        float m = fabsf(f) * 16777216.0f;               /* in units of 2^-24 */
        return sign | (uint16_t)lrintf(m);
    }
    uint32_t r = a + 0xfffu + ((a >> 13) & 1u) - (112u << 23);
    return sign | (uint16_t)(r >> 13);
}
