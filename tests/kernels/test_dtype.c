/* tests/kernels/test_dtype.c — bf16/f16 <-> f32 conversions: every 16-bit
 * pattern round-trips, f32 -> half rounds to nearest even (checked against
 * a brute-force nearest search), and inf / NaN / subnormals / overflow
 * behave. */
#include "kt.h"

static float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Nearest representable value by search: the candidates are the two
 * encodings around the truncation; ties go to the even mantissa. */
static uint16_t nearest(float f, float (*dec)(uint16_t), uint16_t lo) {
    uint16_t best = lo;
    double bd = INFINITY;
    for (int d = -1; d <= 2; d++) {
        uint16_t c = (uint16_t)(lo + d);
        if (((lo ^ c) & 0x8000u) != 0) continue; /* stay on one side of zero */
        float v = dec(c);
        if (isnan(v)) continue;
        double dist = fabs((double)v - (double)f);
        if (dist < bd || (dist == bd && (c & 1) == 0)) {
            bd = dist;
            best = c;
        }
    }
    return best;
}

int main(void) {
    /* every pattern round-trips (NaN stays NaN, sign kept) */
    for (uint32_t h = 0; h < 65536; h++) {
        float b = vr_bf16_to_f32((uint16_t)h);
        uint16_t b2 = vr_f32_to_bf16(b);
        if (isnan(b))
            KT_CHECK(isnan(vr_bf16_to_f32(b2)) && (b2 & 0x8000u) == (h & 0x8000u), "bf16 NaN %04x", h);
        else
            KT_CHECK(b2 == h, "bf16 round trip %04x -> %g -> %04x", h, b, b2);
        float f = vr_f16_to_f32((uint16_t)h);
        uint16_t f2 = vr_f32_to_f16(f);
        if (isnan(f))
            KT_CHECK(isnan(vr_f16_to_f32(f2)) && (f2 & 0x8000u) == (h & 0x8000u), "f16 NaN %04x", h);
        else
            KT_CHECK(f2 == h, "f16 round trip %04x -> %g -> %04x", h, f, f2);
    }
    /* known values */
    KT_CHECK(vr_f16_to_f32(0x3c00) == 1.0f, "f16 one");
    KT_CHECK(vr_f16_to_f32(0x0001) == ldexpf(1.0f, -24), "f16 smallest subnormal");
    KT_CHECK(vr_f16_to_f32(0x7bff) == 65504.0f, "f16 max");
    KT_CHECK(isinf(vr_f16_to_f32(0x7c00)) && isinf(vr_bf16_to_f32(0x7f80)), "inf");
    KT_CHECK(vr_f32_to_f16(65520.0f) == 0x7c00, "f16 overflow rounds to inf");
    KT_CHECK(vr_f32_to_f16(65519.0f) == 0x7bff, "f16 just below overflow");
    KT_CHECK(vr_f32_to_f16(1e-10f) == 0, "f16 underflow to zero");
    KT_CHECK(vr_f32_to_f16(-1e-10f) == 0x8000, "f16 underflow keeps sign");
    KT_CHECK(vr_f32_to_f16(INFINITY) == 0x7c00 && vr_f32_to_bf16(-INFINITY) == 0xff80, "inf converts");
    KT_CHECK(vr_f32_to_bf16(bits_f32(0x3f808000u)) == 0x3f80, "bf16 tie to even (down)");
    KT_CHECK(vr_f32_to_bf16(bits_f32(0x3f818000u)) == 0x3f82, "bf16 tie to even (up)");
    KT_CHECK(vr_f32_to_bf16(bits_f32(0x7f7fffffu)) == 0x7f80, "bf16 max float rounds to inf");
    KT_CHECK(isnan(vr_bf16_to_f32(vr_f32_to_bf16(bits_f32(0x7f800001u)))), "bf16 signalling NaN stays NaN");
    KT_CHECK(isnan(vr_f16_to_f32(vr_f32_to_f16(bits_f32(0xff800001u)))), "f16 NaN stays NaN");

    /* random f32 values (all exponents, subnormals included) round to nearest */
    kt_rng r = {7};
    for (int i = 0; i < 400000; i++) {
        uint32_t u = (uint32_t)kt_next(&r);
        float f = bits_f32(u);
        if (isnan(f) || isinf(f)) continue;
        uint16_t b = vr_f32_to_bf16(f);
        uint16_t bexp = nearest(f, vr_bf16_to_f32, (uint16_t)(u >> 16));
        if (fabsf(f) < 3.389e38f) /* below the rounding threshold to inf */
            KT_CHECK(b == bexp, "bf16 rounding of %08x: %04x vs %04x", u, b, bexp);
        /* f16: values within its range, mapped from a narrower exponent band */
        uint32_t uh = (u & 0x807fffffu) | ((uint32_t)(100 + kt_int(&r, 44)) << 23);
        float g = bits_f32(uh);
        uint16_t h = vr_f32_to_f16(g);
        if (fabsf(g) < 65504.0f) {
            /* truncated candidate: find by decoding the search's starting point */
            uint16_t lo = h;
            uint16_t hexp = nearest(g, vr_f16_to_f32, lo > 0 && (lo & 0x7fff) ? (uint16_t)(lo - 1) : lo);
            double dh = fabs((double)vr_f16_to_f32(h) - g), de = fabs((double)vr_f16_to_f32(hexp) - g);
            KT_CHECK(dh <= de && (dh < de || (h & 1) == 0 || h == hexp),
                     "f16 rounding of %08x (%g): %04x vs %04x", uh, g, h, hexp);
        }
    }
    return kt_finish("test_dtype");
}
