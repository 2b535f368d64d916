/*
 * edgegen specialized kernels (issue 14 prototype): DEPTHWISE_CONV_2D 3x3, stride 1, SAME padding,
 * channel multiplier 1, int8 NHWC, C % 4 == 0.
 *
 * Algorithm: one output pixel x one channel quad per step. Padding is handled at build time by
 * regions: every output pixel belongs to one of 9 regions (top/middle/bottom row x left/middle/right
 * column); the generator instantiates the pixel function once per region with the constant set of
 * valid taps (no bounds checks at run time) and a folded bias per region,
 *   bias_r[c] = bias[c] + input_offset * sum over the taps valid in region r of w[tap][c],
 * which is exact because TFLM's padded taps contribute (pad = -input_offset) + input_offset = 0.
 *
 * Weights (eg_prep_dw_w16): [C/4][tap 0..8]{(w[c0], w[c2]), (w[c1], w[c3])} int16 pairs, matching
 * SXTB16 (channels 0, 2) and SXTB16 ROR #8 (channels 1, 3) of one 32-bit input load.
 * DSP: per tap LDR + 2 SXTB16 + LDRD + SMLABB/SMLATT x4 (1 MAC per multiply: depthwise has no
 * reduction over channels for SMLAD to pair). MVE: see eg_dw3x3_mve (16 channels per vector).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef EG_DW3X3_H
#define EG_DW3X3_H

#include <stdint.h>
#include <string.h>

#include "eg_rq.h"

#define EG_TAP_OK(mask, t) (((mask) >> (t)) & 1)

/* Tap mask of a region: rc/cc = 0 first, 1 middle, 2 last row/column class. */
#define EG_DW_MASK(rc, cc)                                                                            \
    ((0x1ffu) & ~((rc) == 0 ? 0x007u : 0u) & ~((rc) == 2 ? 0x1c0u : 0u) & ~((cc) == 0 ? 0x049u : 0u) & \
     ~((cc) == 2 ? 0x124u : 0u))

#if defined(EG_PATH_DSP)
#define EG_DW_TAP(XP_, XOFF_, WP_, WOFF_, A0_, A1_, A2_, A3_)                                          \
    do                                                                                                \
    {                                                                                                 \
        int32_t x_, y_, w0_, w1_;                                                                     \
        __asm__ volatile("ldr %[x], [%[xp], %[xo]]\n\t"                                               \
                         "ldrd %[w0], %[w1], [%[wp], %[wo]]\n\t"                                      \
                         "sxtb16 %[y], %[x]\n\t"                                                      \
                         "sxtb16 %[x], %[x], ror #8\n\t"                                              \
                         "smlabb %[a0], %[y], %[w0], %[a0]\n\t"                                       \
                         "smlatt %[a2], %[y], %[w0], %[a2]\n\t"                                       \
                         "smlabb %[a1], %[x], %[w1], %[a1]\n\t"                                       \
                         "smlatt %[a3], %[x], %[w1], %[a3]"                                           \
                         : [a0] "+r"(A0_), [a1] "+r"(A1_), [a2] "+r"(A2_), [a3] "+r"(A3_), [x] "=&r"(x_), \
                           [y] "=&r"(y_), [w0] "=&r"(w0_), [w1] "=&r"(w1_)                            \
                         : [xp] "r"(XP_), [xo] "n"(XOFF_), [wp] "r"(WP_), [wo] "n"(WOFF_)             \
                         : "memory");                                                                 \
    } while (0)
#endif

/* One output pixel, all channels. base: the input address of tap (0, 0) (may lie outside the
 * tensor for border regions; only valid taps are read). */
EG_INLINE void eg_dw3x3_px(const int8_t *base, int8_t *restrict out, const int32_t *restrict w16,
                           const int32_t *restrict bias_r, const eg_rq_t *restrict rq, const int W, const int C,
                           const unsigned mask, const int amin, const int amax, const int e_pos)
{
    const int8_t *xp = base;
    const int32_t *wp = w16;
    for (int c = 0; c < C; c += 4)
    {
        int32_t a0 = bias_r[c], a1 = bias_r[c + 1], a2 = bias_r[c + 2], a3 = bias_r[c + 3];
#pragma GCC unroll 9
        for (int t = 0; t < 9; t++)
        {
            if (EG_TAP_OK(mask, t))
            {
#if defined(EG_PATH_DSP)
                EG_DW_TAP(xp, ((t / 3) * W + (t % 3)) * C, wp, 8 * t, a0, a1, a2, a3);
#else
                int32_t xw;
                memcpy(&xw, xp + ((t / 3) * W + (t % 3)) * C, 4);
                const int32_t w0 = wp[2 * t], w1 = wp[2 * t + 1];
                a0 += (int32_t)(int8_t)xw * (int32_t)(int16_t)w0;
                a2 += (int32_t)(int8_t)(xw >> 16) * (w0 >> 16);
                a1 += (int32_t)(int8_t)(xw >> 8) * (int32_t)(int16_t)w1;
                a3 += (int32_t)(int8_t)(xw >> 24) * (w1 >> 16);
#endif
            }
        }
        out[c] = (int8_t)eg_act(eg_rq(a0, rq[c].m, rq[c].c, rq[c].e, e_pos), amin, amax);
        out[c + 1] = (int8_t)eg_act(eg_rq(a1, rq[c + 1].m, rq[c + 1].c, rq[c + 1].e, e_pos), amin, amax);
        out[c + 2] = (int8_t)eg_act(eg_rq(a2, rq[c + 2].m, rq[c + 2].c, rq[c + 2].e, e_pos), amin, amax);
        out[c + 3] = (int8_t)eg_act(eg_rq(a3, rq[c + 3].m, rq[c + 3].c, rq[c + 3].e, e_pos), amin, amax);
        xp += 4;
        wp += 18;
    }
}

/* The whole layer: H x W x C, regions unrolled at build time. bias9: 9 region biases [9][C]. */
#define EG_DW_ROW(RC_)                                                                                \
    do                                                                                                \
    {                                                                                                 \
        const int8_t *rowb = in + ((y - 1) * W - 1) * C;                                              \
        eg_dw3x3_px(rowb, out, w16, bias9 + (3 * (RC_) + 0) * C, rq, W, C, EG_DW_MASK(RC_, 0), amin, amax, \
                    e_pos);                                                                           \
        out += C;                                                                                     \
        for (int x = 1; x < W - 1; x++)                                                               \
        {                                                                                             \
            eg_dw3x3_px(rowb + x * C, out, w16, bias9 + (3 * (RC_) + 1) * C, rq, W, C, EG_DW_MASK(RC_, 1), \
                        amin, amax, e_pos);                                                           \
            out += C;                                                                                 \
        }                                                                                             \
        eg_dw3x3_px(rowb + (W - 1) * C, out, w16, bias9 + (3 * (RC_) + 2) * C, rq, W, C,                \
                    EG_DW_MASK(RC_, 2), amin, amax, e_pos);                                           \
        out += C;                                                                                     \
    } while (0)

EG_INLINE void eg_dw3x3_s8(const int8_t *in, int8_t *restrict out, const int32_t *restrict w16,
                           const int32_t *restrict bias9, const eg_rq_t *restrict rq, const int H, const int W,
                           const int C, const int amin, const int amax, const int e_pos)
{
    int y = 0;
    EG_DW_ROW(0);
    for (y = 1; y < H - 1; y++)
    {
        EG_DW_ROW(1);
    }
    y = H - 1;
    EG_DW_ROW(2);
}

#if defined(EG_PATH_MVE)
/*
 * MVE: one pixel x 8 channels per step in int16 lanes. Inputs widened by the load (VLDRB.S16),
 * weights pre-widened int16 (flash 2x: [tap][C] int16, eg_prep_dw_w16_mve), products by VMULLB.S16 /
 * VMULLT.S16 (even / odd channels -> int32x4) added to two accumulators (no vector x vector MLA in
 * MVE integer): 6 instructions per 8 MACs per tap. Requantized as even/odd int32x4, re-interleaved by
 * VMOVNB/VMOVNT into int16x8 and stored with one VSTRB.16. Per-channel constants in even/odd order:
 * bias9e: [region][C/8]{even[4], odd[4]}; rqv: [C/8]{even eg_rqv_t, odd eg_rqv_t}.
 */
EG_INLINE void eg_dw3x3_px_mve(const int8_t *base, int8_t *restrict out, const int16_t *restrict w16,
                               const int32_t *restrict bias_r, const int32_t *restrict rqv, const int W,
                               const int C, const unsigned mask, const int amin, const int amax)
{
    for (int c = 0; c < C; c += 8)
    {
        int32x4_t ae = vldrwq_s32(bias_r + c), ao = vldrwq_s32(bias_r + c + 4);
#pragma GCC unroll 9
        for (int t = 0; t < 9; t++)
        {
            if (EG_TAP_OK(mask, t))
            {
                const int16x8_t xv = vldrbq_s16(base + ((t / 3) * W + (t % 3)) * C + c);
                const int16x8_t wv = vldrhq_s16(w16 + t * C + c);
                ae = vaddq_s32(ae, vmullbq_int_s16(xv, wv));
                ao = vaddq_s32(ao, vmulltq_int_s16(xv, wv));
            }
        }
        const int32_t *r = rqv + (c / 8) * 24;
        ae = eg_rq_mve(ae, vldrwq_s32(r), vldrwq_s32(r + 4), vldrwq_s32(r + 8));
        ao = eg_rq_mve(ao, vldrwq_s32(r + 12), vldrwq_s32(r + 16), vldrwq_s32(r + 20));
        ae = vminq_s32(vmaxq_s32(ae, vdupq_n_s32(amin)), vdupq_n_s32(amax));
        ao = vminq_s32(vmaxq_s32(ao, vdupq_n_s32(amin)), vdupq_n_s32(amax));
#ifdef EG_DW_MVE_SCATTER
        const uint32x4_t even = {0, 2, 4, 6};
        vstrbq_scatter_offset_s32(out + c, even, ae);
        vstrbq_scatter_offset_s32(out + c + 1, even, ao);
#else
        int16x8_t o = vmovnbq_s32(vdupq_n_s16(0), ae);
        o = vmovntq_s32(o, ao);
        vstrbq_s16(out + c, o);
#endif
    }
}

#define EG_DW_ROW_MVE(RC_)                                                                            \
    do                                                                                                \
    {                                                                                                 \
        const int8_t *rowb = in + ((y - 1) * W - 1) * C;                                              \
        eg_dw3x3_px_mve(rowb, out, w16, bias9e + (3 * (RC_) + 0) * C, rqv, W, C, EG_DW_MASK(RC_, 0), amin, amax); \
        out += C;                                                                                     \
        for (int x = 1; x < W - 1; x++)                                                               \
        {                                                                                             \
            eg_dw3x3_px_mve(rowb + x * C, out, w16, bias9e + (3 * (RC_) + 1) * C, rqv, W, C,            \
                            EG_DW_MASK(RC_, 1), amin, amax);                                          \
            out += C;                                                                                 \
        }                                                                                             \
        eg_dw3x3_px_mve(rowb + (W - 1) * C, out, w16, bias9e + (3 * (RC_) + 2) * C, rqv, W, C,          \
                        EG_DW_MASK(RC_, 2), amin, amax);                                              \
        out += C;                                                                                     \
    } while (0)

EG_INLINE void eg_dw3x3_mve(const int8_t *in, int8_t *restrict out, const int16_t *restrict w16,
                            const int32_t *restrict bias9e, const int32_t *restrict rqv, const int H, const int W,
                            const int C, const int amin, const int amax)
{
    int y = 0;
    EG_DW_ROW_MVE(0);
    for (y = 1; y < H - 1; y++)
    {
        EG_DW_ROW_MVE(1);
    }
    y = H - 1;
    EG_DW_ROW_MVE(2);
}
/* Variant: int32 lanes, 4 channels per vector, widening loads VLDRB.S32 of input and int8 weights
 * ([9][C] as TFLite stores them), VMUL + VADD: 4 instructions per 4 MACs per tap. Natural channel
 * order: bias9 [9][C], rqv [C/4] eg_rqv_t. Two vectors (8 channels) per step. */
EG_INLINE void eg_dw3x3_px_mve32(const int8_t *base, int8_t *restrict out, const int8_t *restrict w8,
                                 const int32_t *restrict bias_r, const int32_t *restrict rqv, const int W,
                                 const int C, const unsigned mask, const int amin, const int amax)
{
    for (int c = 0; c < C; c += 8)
    {
        int32x4_t ae = vldrwq_s32(bias_r + c), ao = vldrwq_s32(bias_r + c + 4);
#pragma GCC unroll 9
        for (int t = 0; t < 9; t++)
        {
            if (EG_TAP_OK(mask, t))
            {
                const int8_t *xp = base + ((t / 3) * W + (t % 3)) * C + c;
                const int8_t *wp = w8 + t * C + c;
                ae = vaddq_s32(ae, vmulq_s32(vldrbq_s32(xp), vldrbq_s32(wp)));
                ao = vaddq_s32(ao, vmulq_s32(vldrbq_s32(xp + 4), vldrbq_s32(wp + 4)));
            }
        }
        const int32_t *r = rqv + (c / 4) * 12;
        ae = eg_rq_mve(ae, vldrwq_s32(r), vldrwq_s32(r + 4), vldrwq_s32(r + 8));
        ao = eg_rq_mve(ao, vldrwq_s32(r + 12), vldrwq_s32(r + 16), vldrwq_s32(r + 20));
        ae = vminq_s32(vmaxq_s32(ae, vdupq_n_s32(amin)), vdupq_n_s32(amax));
        ao = vminq_s32(vmaxq_s32(ao, vdupq_n_s32(amin)), vdupq_n_s32(amax));
        vstrbq_s32(out + c, ae);
        vstrbq_s32(out + c + 4, ao);
    }
}

#define EG_DW_ROW_MVE32(RC_)                                                                          \
    do                                                                                                \
    {                                                                                                 \
        const int8_t *rowb = in + ((y - 1) * W - 1) * C;                                              \
        eg_dw3x3_px_mve32(rowb, out, w8, bias9 + (3 * (RC_) + 0) * C, rqv, W, C, EG_DW_MASK(RC_, 0), amin, amax); \
        out += C;                                                                                     \
        for (int x = 1; x < W - 1; x++)                                                               \
        {                                                                                             \
            eg_dw3x3_px_mve32(rowb + x * C, out, w8, bias9 + (3 * (RC_) + 1) * C, rqv, W, C,            \
                              EG_DW_MASK(RC_, 1), amin, amax);                                        \
            out += C;                                                                                 \
        }                                                                                             \
        eg_dw3x3_px_mve32(rowb + (W - 1) * C, out, w8, bias9 + (3 * (RC_) + 2) * C, rqv, W, C,          \
                          EG_DW_MASK(RC_, 2), amin, amax);                                            \
        out += C;                                                                                     \
    } while (0)

EG_INLINE void eg_dw3x3_mve32(const int8_t *in, int8_t *restrict out, const int8_t *restrict w8,
                              const int32_t *restrict bias9, const int32_t *restrict rqv, const int H, const int W,
                              const int C, const int amin, const int amax)
{
    int y = 0;
    EG_DW_ROW_MVE32(0);
    for (y = 1; y < H - 1; y++)
    {
        EG_DW_ROW_MVE32(1);
    }
    y = H - 1;
    EG_DW_ROW_MVE32(2);
}
#endif


#endif /* EG_DW3X3_H */
