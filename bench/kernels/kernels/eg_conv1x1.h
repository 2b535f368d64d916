/*
 * edgegen specialized kernels (issue 14 prototype): 1x1 CONV_2D (stride 1, no padding) and
 * FULLY_CONNECTED (the same kernel with npix = batches), int8 NHWC.
 *
 * Build time folds: bias' = bias + input_offset * sum_k w[o][k] (so the inner loop is a pure dot
 * product of raw int8 inputs), the requantization record per channel (eg_rq.h), and every trip
 * count (the functions below are always_inline templates; the generated layer function calls
 * them with literal constants).
 *
 * Weight layouts (written by eg_prep.c, the code generator's part):
 *   DSP, W16 (pre-widened, 2x flash): [oc block of OCB][k quad q][j < OCB]{ (w[4q], w[4q+2]),
 *        (w[4q+1], w[4q+3]) } as int16 pairs: the order SXTB16 / SXTB16 ROR #8 give the inputs.
 *   DSP, W8: [oc block][k quad][j] { w[4q..4q+3] } int8: widened at run time with SXTB16.
 *   MVE: plain [oc][k] int8 (OHWI as TFLite stores it), K a multiple of 16.
 *   Portable C: reads the DSP W16 layout (same algorithm, host tier).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef EG_CONV1X1_H
#define EG_CONV1X1_H

#include <stdint.h>
#include <string.h>

#include "eg_rq.h"

EG_INLINE int32_t eg_ld32(const void *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}
EG_INLINE void eg_st32(void *p, int32_t v)
{
    memcpy(p, &v, 4);
}

#if defined(EG_PATH_DSP) || defined(EG_PATH_MVE)
EG_INLINE int32_t eg_sxtb16(int32_t v)
{
    return (int32_t)__sxtb16((uint32_t)v);
}
EG_INLINE int32_t eg_sxtb16_ror8(int32_t v)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}
/* Two adjacent words with one LDRD (a 64-bit load; the pair is 8-byte aligned in the layouts). */
EG_INLINE void eg_ld2x32(const int32_t *p, int32_t *a, int32_t *b)
{
    const int64_t v = *(const int64_t *)(const void *)p;
    *a = (int32_t)v;
    *b = (int32_t)(v >> 32);
}
EG_INLINE int32_t eg_smlad(int32_t a, int32_t b, int32_t acc)
{
    return __smlad((int16x2_t)a, (int16x2_t)b, acc);
}
#endif

#if defined(EG_PATH_C)
#define EG_OPAQUE(p) ((void)0)
#else
#define EG_OPAQUE(p) __asm__("" : "+r"(p))
#endif

/* Byte i of an int8 word as its signed value (portable path). */
#define EG_B(w, i) ((int32_t)(int8_t)((uint32_t)(w) >> (8 * (i))))
#define EG_LO(w) ((int32_t)(int16_t)(uint32_t)(w))
#define EG_HI(w) ((int32_t)(w) >> 16)

/*
 * DSP / portable path: one pixel x OCB output channels per block, K/4 k-quads fully unrolled.
 * w16: W16 layout; bias: folded bias'; rq: per-channel records.
 */
EG_INLINE void eg_conv1x1_w16(const int8_t *restrict in, int8_t *restrict out, const int32_t *restrict w16,
                              const int32_t *restrict bias, const eg_rq_t *restrict rq, const int K, const int OC,
                              const int NPIX, const int OCB, const int amin, const int amax, const int e_pos)
{
    for (int p = 0; p < NPIX; p++)
    {
        const int32_t *w = w16;
        const int8_t *x = in + p * K;
        for (int b = 0; b < OC; b += OCB)
        {
            int32_t acc[8];
            EG_OPAQUE(x); /* keep the input widening inside the block loop (hoisting it spills) */
#pragma GCC unroll 8
            for (int j = 0; j < OCB; j++)
            {
                acc[j] = bias[b + j];
            }
#pragma GCC unroll 64
            for (int q = 0; q < K / 4; q++)
            {
                const int32_t xw = eg_ld32(x + 4 * q);
#if defined(EG_PATH_C)
                const int32_t x0 = EG_B(xw, 0), x1 = EG_B(xw, 1), x2 = EG_B(xw, 2), x3 = EG_B(xw, 3);
#pragma GCC unroll 8
                for (int j = 0; j < OCB; j++)
                {
                    const int32_t wa = w[2 * j], wb = w[2 * j + 1];
                    acc[j] += x0 * EG_LO(wa) + x2 * EG_HI(wa) + x1 * EG_LO(wb) + x3 * EG_HI(wb);
                }
#else
                const int32_t xa = eg_sxtb16(xw);
                const int32_t xb = eg_sxtb16_ror8(xw);
#pragma GCC unroll 8
                for (int j = 0; j < OCB; j++)
                {
                    int32_t wa, wb;
                    eg_ld2x32(w + 2 * j, &wa, &wb);
                    acc[j] = eg_smlad(xa, wa, acc[j]);
                    acc[j] = eg_smlad(xb, wb, acc[j]);
                }
#endif
                w += 2 * OCB;
            }
#pragma GCC unroll 8
            for (int j = 0; j < OCB; j++)
            {
                const eg_rq_t r = rq[b + j];
                out[b + j] = (int8_t)eg_act(eg_rq(acc[j], r.m, r.c, r.e, e_pos), amin, amax);
            }
        }
        out += OC;
    }
}


/*
 * The chosen 1x1 / FC kernel. Layout W16x2: the W16 layout with every weight doubled (|2w| <= 254
 * fits int16) and bias2 = 2 * bias', so the accumulator is already 2 * acc and the requantization's
 * SRDHM is a single SMMULR (no LSL). OCB output channels (2, 4 or 6) per block of one pixel.
 * DSP: inline-asm micro-kernels (post-increment addressing, so no address arithmetic and no
 * scheduler-induced spills); portable C: the same layout and arithmetic.
 */
#if defined(EG_PATH_DSP)
/* Load 4 input bytes, widen to (k0,k2) and (k1,k3). */
#define EG_MK_X(XP_, A_, B_)                                                                          \
    __asm__ volatile("ldr %[b], [%[p]], #4\n\tsxtb16 %[a], %[b]\n\tsxtb16 %[b], %[b], ror #8"          \
                     : [a] "=&r"(A_), [b] "=&r"(B_), [p] "+r"(XP_)::"memory")
/* One output channel: two int16x2 weight words (one LDRD), two SMLAD. */
#define EG_MK_W(WP_, A_, B_, C_)                                                                      \
    do                                                                                                \
    {                                                                                                 \
        int32_t w0_, w1_;                                                                             \
        __asm__ volatile("ldrd %[w0], %[w1], [%[p]], #8\n\tsmlad %[c], %[a], %[w0], %[c]\n\t"          \
                         "smlad %[c], %[b], %[w1], %[c]"                                              \
                         : [c] "+r"(C_), [p] "+r"(WP_), [w0] "=&r"(w0_), [w1] "=&r"(w1_)               \
                         : [a] "r"(A_), [b] "r"(B_)                                                   \
                         : "memory");                                                                 \
    } while (0)
#endif

/* Requantize 2 * acc (the W16x2 accumulator). */
EG_INLINE int32_t eg_rq2(int32_t acc2, const eg_rq_t *r, int e_pos)
{
#if defined(EG_PATH_C)
    const int32_t h = (int32_t)(((int64_t)acc2 * r->m + ((int64_t)1 << 31)) >> 32);
#else
    const int32_t h = eg_smmulr(acc2, r->m);
#endif
    const int32_t fix = e_pos ? (h >> 31) : ((h & -r->e) >> 31);
    return eg_ssat8((h + r->c + fix) >> r->e);
}

EG_INLINE void eg_conv1x1_s8(const int8_t *restrict in, int8_t *restrict out, const int32_t *restrict w16x2,
                             const int32_t *restrict bias2, const eg_rq_t *restrict rq, const int K, const int OC,
                             const int NPIX, const int OCB, const int amin, const int amax, const int e_pos)
{
    for (int p = 0; p < NPIX; p++)
    {
        const int32_t *w = w16x2;
        const int32_t *bp = bias2;
        const eg_rq_t *r = rq;
        for (int b = 0; b < OC; b += OCB)
        {
            int32_t acc[6];
            const int8_t *x = in + p * K;
#pragma GCC unroll 6
            for (int j = 0; j < OCB; j++)
            {
                acc[j] = bp[j];
            }
            bp += OCB;
#pragma GCC unroll 64
            for (int q = 0; q < K / 4; q++)
            {
#if defined(EG_PATH_DSP)
                int32_t xa, xb;
                EG_MK_X(x, xa, xb);
#pragma GCC unroll 6
                for (int j = 0; j < OCB; j++)
                {
                    EG_MK_W(w, xa, xb, acc[j]);
                }
#else
                const int32_t xw = eg_ld32(x);
                const int32_t x0 = EG_B(xw, 0), x1 = EG_B(xw, 1), x2 = EG_B(xw, 2), x3 = EG_B(xw, 3);
                x += 4;
#pragma GCC unroll 6
                for (int j = 0; j < OCB; j++)
                {
                    const int32_t wa = w[0], wb = w[1];
                    acc[j] += x0 * EG_LO(wa) + x2 * EG_HI(wa) + x1 * EG_LO(wb) + x3 * EG_HI(wb);
                    w += 2;
                }
#endif
            }
#pragma GCC unroll 6
            for (int j = 0; j < OCB; j++)
            {
                out[j] = (int8_t)eg_act(eg_rq2(acc[j], r + j, e_pos), amin, amax);
            }
            r += OCB;
            out += OCB;
        }
    }
}

#if defined(EG_PATH_DSP)
/* DSP, W8 layout: weights widened at run time (half the flash of W16, 2 more SXTB16 per word). */
EG_INLINE void eg_conv1x1_w8(const int8_t *restrict in, int8_t *restrict out, const int32_t *restrict w8,
                             const int32_t *restrict bias, const eg_rq_t *restrict rq, const int K, const int OC,
                             const int NPIX, const int OCB, const int amin, const int amax, const int e_pos)
{
    for (int p = 0; p < NPIX; p++)
    {
        const int32_t *w = w8;
        const int8_t *x = in + p * K;
        for (int b = 0; b < OC; b += OCB)
        {
            int32_t acc[8];
            EG_OPAQUE(x); /* keep the input widening inside the block loop (hoisting it spills) */
#pragma GCC unroll 8
            for (int j = 0; j < OCB; j++)
            {
                acc[j] = bias[b + j];
            }
#pragma GCC unroll 64
            for (int q = 0; q < K / 4; q++)
            {
                const int32_t xw = eg_ld32(x + 4 * q);
                const int32_t xa = eg_sxtb16(xw);
                const int32_t xb = eg_sxtb16_ror8(xw);
#pragma GCC unroll 8
                for (int j = 0; j < OCB; j++)
                {
                    const int32_t ww = w[j];
                    acc[j] = eg_smlad(xa, eg_sxtb16(ww), acc[j]);
                    acc[j] = eg_smlad(xb, eg_sxtb16_ror8(ww), acc[j]);
                }
                w += OCB;
            }
#pragma GCC unroll 8
            for (int j = 0; j < OCB; j++)
            {
                const eg_rq_t r = rq[b + j];
                out[b + j] = (int8_t)eg_act(eg_rq(acc[j], r.m, r.c, r.e, e_pos), amin, amax);
            }
        }
        out += OC;
    }
}
#endif

#if defined(EG_PATH_MVE)
/*
 * MVE: PX pixels x OCB channels of scalar VMLADAVA accumulators (K/16 vectors, unrolled), then one
 * int32x4 requantization per 4 accumulators. rqv: per 4 channels {m[4], czp[4], nege[4]} (48 B),
 * czp = zp << e. OCB == 4, PX in {1, 2}.
 */
typedef struct
{
    int32_t m[4];
    int32_t czp[4];
    int32_t nege[4];
} eg_rqv_t;

/* PX pixels (1 or 2) at x, all OC channels in blocks of 4. */
EG_INLINE void eg_conv1x1_mve_px(const int8_t *restrict x, int8_t *restrict out, const int8_t *restrict w8,
                                 const int32_t *restrict bias, const eg_rqv_t *restrict rqv, const int K,
                                 const int OC, const int PX, const int amin, const int amax)
{
    const int8_t *w = w8;
    for (int b = 0; b < OC; b += 4)
    {
        int32x4_t accv[2];
        const int32x4_t bv = vldrwq_s32(bias + b);
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, c0 = 0, c1 = 0, c2 = 0, c3 = 0;
#pragma GCC unroll 16
        for (int q = 0; q < K / 16; q++)
        {
            const int8x16_t xv = vldrbq_s8(x + 16 * q);
            int8x16_t wv = vldrbq_s8(w + 16 * q);
            a0 = vmladavaq_s8(a0, xv, wv);
            if (PX == 2)
            {
                c0 = vmladavaq_s8(c0, vldrbq_s8(x + K + 16 * q), wv);
            }
            wv = vldrbq_s8(w + K + 16 * q);
            a1 = vmladavaq_s8(a1, xv, wv);
            if (PX == 2)
            {
                c1 = vmladavaq_s8(c1, vldrbq_s8(x + K + 16 * q), wv);
            }
            wv = vldrbq_s8(w + 2 * K + 16 * q);
            a2 = vmladavaq_s8(a2, xv, wv);
            if (PX == 2)
            {
                c2 = vmladavaq_s8(c2, vldrbq_s8(x + K + 16 * q), wv);
            }
            wv = vldrbq_s8(w + 3 * K + 16 * q);
            a3 = vmladavaq_s8(a3, xv, wv);
            if (PX == 2)
            {
                c3 = vmladavaq_s8(c3, vldrbq_s8(x + K + 16 * q), wv);
            }
        }
        int32x4_t v = vdupq_n_s32(0);
        v = vsetq_lane_s32(a0, v, 0);
        v = vsetq_lane_s32(a1, v, 1);
        v = vsetq_lane_s32(a2, v, 2);
        v = vsetq_lane_s32(a3, v, 3);
        accv[0] = vaddq_s32(v, bv);
        if (PX == 2)
        {
            v = vsetq_lane_s32(c0, v, 0);
            v = vsetq_lane_s32(c1, v, 1);
            v = vsetq_lane_s32(c2, v, 2);
            v = vsetq_lane_s32(c3, v, 3);
            accv[1] = vaddq_s32(v, bv);
        }
        const eg_rqv_t *r = &rqv[b / 4];
        const int32x4_t m = vldrwq_s32(r->m), czp = vldrwq_s32(r->czp), ne = vldrwq_s32(r->nege);
#pragma GCC unroll 2
        for (int i = 0; i < PX; i++)
        {
            int32x4_t o = eg_rq_mve(accv[i], m, czp, ne);
            o = vmaxq_s32(o, vdupq_n_s32(amin));
            o = vminq_s32(o, vdupq_n_s32(amax));
            vstrbq_s32(out + i * OC + b, o);
        }
        w += 4 * K;
    }
}

EG_INLINE void eg_conv1x1_mve(const int8_t *restrict in, int8_t *restrict out, const int8_t *restrict w8,
                              const int32_t *restrict bias, const eg_rqv_t *restrict rqv, const int K,
                              const int OC, const int NPIX, const int PX, const int amin, const int amax)
{
    int p = 0;
    for (; p + PX <= NPIX; p += PX)
    {
        eg_conv1x1_mve_px(in + p * K, out + p * OC, w8, bias, rqv, K, OC, PX, amin, amax);
    }
    if (PX == 2 && p < NPIX)
    {
        eg_conv1x1_mve_px(in + p * K, out + p * OC, w8, bias, rqv, K, OC, 1, amin, amax);
    }
}
#endif

#endif /* EG_CONV1X1_H */
