/*
 * edgegen's specialized int8 pooling kernel: AVERAGE_POOL_2D, MAX_POOL_2D and MEAN (a 1 x reduce
 * average window over [outer, reduce, inner]), compiled per layer (issue 14; design and
 * measurements in docs/kernel-design.md, "Pooling and MEAN").
 *
 * Every number comes from edgegen's build-time preparation (edgegen/kernels/pool.py). The output is
 * cut into regions (runs of rows x runs of columns) whose windows, clipped to the input, read the
 * same filter rows [ky0, ky1) and columns [kx0, kx1); the generated function calls edgegen_pool_s8
 * once per region with literal bounds, so the tap loops have constant trip counts, no bounds checks,
 * and the average divides by a literal count (TFLM: the sum rounded half away from zero, divided by
 * the number of valid taps). MEAN requantizes the sum plus TFLM's offset with its multiplier and
 * shift (double rounding, as MultiplyByQuantizedMultiplier).
 *
 * Paths: Helium (16 channels per pass: widening VLDRB.S16 + VADD.I16 for sums, VLDRB.S8 + VMAX.S8
 * for maxima, predicated channel tails), DSP (4 channels per word: SXTAB16 into int16 pairs for
 * sums, SSUB8 + SEL for maxima; the last C % 4 channels in C), portable C99. Python proves a window
 * has at most 256 taps, so the int16 lane sums are exact.
 *
 * Written for edgegen. SPDX-License-Identifier: Apache-2.0
 */
#ifndef EDGEGEN_POOL_H
#define EDGEGEN_POOL_H

#include <stdint.h>
#include <string.h>

#include "edgegen_mm.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>
#define EDGEGEN_POOL_HAVE_MVE 1
#else
#define EDGEGEN_POOL_HAVE_MVE 0
#endif

#define EDGEGEN_POOL_AVG 0
#define EDGEGEN_POOL_MAX 1
#define EDGEGEN_POOL_MEAN 2

/* TFLM's MultiplyByQuantizedMultiplier (int32): SRDHM(x << left, m), then RoundingDivideByPOT;
 * Python proves x << left fits int32 and m >= 0. */
EDGEGEN_MM_INLINE int32_t edgegen_pool_mbqm(const int32_t x, const int32_t m, const int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    const int64_t ab = (int64_t)(int32_t)((uint32_t)x << (uint32_t)left) * m;
    const int64_t v = ab + (ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30)));
    const int32_t h = (int32_t)(v >= 0 ? (v >> 31) : -((-v) >> 31));
    const int32_t mask = (int32_t)(((uint32_t)1 << (uint32_t)right) - 1u);
    const int32_t threshold = (mask >> 1) + (h < 0 ? 1 : 0);
    return (h >> right) + ((h & mask) > threshold ? 1 : 0);
}

/* One channel's result from its window sum (or maximum) over n taps. */
EDGEGEN_MM_INLINE int8_t edgegen_pool_finish(const int32_t s, const int32_t n, const int32_t mode,
                                             const int32_t amin, const int32_t amax, const int32_t soff,
                                             const int32_t mult, const int32_t shift, const int32_t zp)
{
    int32_t v = s;
    if (mode == EDGEGEN_POOL_AVG)
    {
        v = s > 0 ? (s + n / 2) / n : (s - n / 2) / n;
    }
    else if (mode == EDGEGEN_POOL_MEAN)
    {
        v = edgegen_pool_mbqm(s + soff, mult, shift) + zp;
        v = v < -128 ? -128 : (v > 127 ? 127 : v);
    }
    /* v is an int8 value here (an average or maximum of int8 values, or saturated) */
    if (amin > -128 && v < amin)
    {
        v = amin;
    }
    if (amax < 127 && v > amax)
    {
        v = amax;
    }
    return (int8_t)v;
}

/* Portable: channels [c0, C) of one window (p at tap (ky0, kx0), channel 0). */
EDGEGEN_MM_INLINE void edgegen_pool_px_c(const int8_t *p, int8_t *out, const int32_t c0, const int32_t IW,
                                         const int32_t C, const int32_t KH, const int32_t KW, const int32_t mode,
                                         const int32_t amin, const int32_t amax, const int32_t soff,
                                         const int32_t mult, const int32_t shift, const int32_t zp)
{
    for (int32_t ch = c0; ch < C; ch++)
    {
        int32_t acc = mode == EDGEGEN_POOL_MAX ? -128 : 0;
        for (int32_t ky = 0; ky < KH; ky++)
        {
#pragma GCC unroll 8
            for (int32_t kx = 0; kx < KW; kx++)
            {
                const int32_t v = p[(ky * IW + kx) * C + ch];
                acc = mode == EDGEGEN_POOL_MAX ? (v > acc ? v : acc) : acc + v;
            }
        }
        out[ch] = edgegen_pool_finish(acc, KH * KW, mode, amin, amax, soff, mult, shift, zp);
    }
}

#if EDGEGEN_POOL_HAVE_MVE
/* Helium: 16 channels per pass, the last pass predicated. */
EDGEGEN_MM_INLINE void edgegen_pool_px_mve(const int8_t *p, int8_t *out, const int32_t IW, const int32_t C,
                                           const int32_t KH, const int32_t KW, const int32_t mode,
                                           const int32_t amin, const int32_t amax, const int32_t soff,
                                           const int32_t mult, const int32_t shift, const int32_t zp)
{
    for (int32_t c0 = 0; c0 < C; c0 += 16)
    {
        const int32_t full = c0 + 16 <= C;
        if (mode == EDGEGEN_POOL_MAX)
        {
            const mve_pred16_t pr = vctp8q((uint32_t)(C - c0));
            int8x16_t acc = vdupq_n_s8((int8_t)(amin > -128 ? amin : -128));
            for (int32_t ky = 0; ky < KH; ky++)
            {
                const int8_t *q = p + ky * IW * C + c0;
    #pragma GCC unroll 8
            for (int32_t kx = 0; kx < KW; kx++)
                {
                    acc = vmaxq_s8(acc, full ? vldrbq_s8(q) : vldrbq_z_s8(q, pr));
                    q += C;
                }
            }
            acc = vminq_s8(acc, vdupq_n_s8((int8_t)(amax < 127 ? amax : 127)));
            if (full)
            {
                vstrbq_s8(out + c0, acc);
            }
            else
            {
                vstrbq_p_s8(out + c0, acc, pr);
                /* GCC 12 models a predicated store as a full 16-byte one and drops an earlier
                 * store a later one "covers" (seen on qemu-m55): the barrier keeps every store */
                __asm__ volatile("" ::: "memory");
            }
            continue;
        }
        const int32_t nlo = C - c0 < 8 ? C - c0 : 8, nhi = C - c0 - 8 > 0 ? C - c0 - 8 : 0;
        const mve_pred16_t plo = vctp16q((uint32_t)nlo), phi = vctp16q((uint32_t)nhi);
        int16x8_t lo = vdupq_n_s16(0), hi = vdupq_n_s16(0);
        for (int32_t ky = 0; ky < KH; ky++)
        {
            const int8_t *q = p + ky * IW * C + c0;
#pragma GCC unroll 8
            for (int32_t kx = 0; kx < KW; kx++)
            {
                lo = vaddq_s16(lo, full ? vldrbq_s16(q) : vldrbq_z_s16(q, plo));
                hi = vaddq_s16(hi, full ? vldrbq_s16(q + 8) : vldrbq_z_s16(q + 8, phi));
                q += C;
            }
        }
        int16_t s[16];
        vst1q_s16(s, lo);
        vst1q_s16(s + 8, hi);
        const int32_t n = full ? 16 : C - c0;
        for (int32_t j = 0; j < n; j++)
        {
            out[c0 + j] = edgegen_pool_finish(s[j], KH * KW, mode, amin, amax, soff, mult, shift, zp);
        }
    }
}
#endif

#if EDGEGEN_MM_HAVE_DSP
/* DSP: 4 channels per word; sums in two int16 pairs (channels 0, 2 and 1, 3), maxima with SEL. */
EDGEGEN_MM_INLINE void edgegen_pool_px_dsp(const int8_t *p, int8_t *out, const int32_t IW, const int32_t C,
                                           const int32_t KH, const int32_t KW, const int32_t mode,
                                           const int32_t amin, const int32_t amax, const int32_t soff,
                                           const int32_t mult, const int32_t shift, const int32_t zp)
{
    for (int32_t q4 = 0; q4 < C / 4; q4++)
    {
        const int8_t *row = p + 4 * q4;
        if (mode == EDGEGEN_POOL_MAX)
        {
            const uint32_t lo = (uint8_t)(int8_t)(amin > -128 ? amin : -128);
            uint32_t acc = lo * 0x01010101u;
            for (int32_t ky = 0; ky < KH; ky++)
            {
                const int8_t *q = row;
    #pragma GCC unroll 8
            for (int32_t kx = 0; kx < KW; kx++)
                {
                    uint32_t x, t;
                    memcpy(&x, q, 4);
                    __asm__("ssub8 %[t], %[x], %[a]\n\tsel %[a], %[x], %[a]"
                            : [a] "+r"(acc), [t] "=&r"(t)
                            : [x] "r"(x)
                            : "cc");
                    q += C;
                }
                row += IW * C;
            }
#pragma GCC unroll 4
            for (int32_t j = 0; j < 4; j++)
            {
                const int32_t v = (int8_t)(uint8_t)(acc >> (8 * j));
                out[4 * q4 + j] = (int8_t)(v > amax ? amax : v);
            }
            continue;
        }
        uint32_t a02 = 0, a13 = 0;
        for (int32_t ky = 0; ky < KH; ky++)
        {
            const int8_t *q = row;
#pragma GCC unroll 8
            for (int32_t kx = 0; kx < KW; kx++)
            {
                uint32_t x;
                memcpy(&x, q, 4);
                __asm__("sxtab16 %[a], %[a], %[x]\n\tsxtab16 %[b], %[b], %[x], ror #8"
                        : [a] "+r"(a02), [b] "+r"(a13)
                        : [x] "r"(x));
                q += C;
            }
            row += IW * C;
        }
        const int32_t s[4] = { (int16_t)(a02 & 0xFFFFu), (int16_t)(a13 & 0xFFFFu), (int16_t)(a02 >> 16),
                               (int16_t)(a13 >> 16) };
#pragma GCC unroll 4
        for (int32_t j = 0; j < 4; j++)
        {
            out[4 * q4 + j] = edgegen_pool_finish(s[j], KH * KW, mode, amin, amax, soff, mult, shift, zp);
        }
    }
    if (C % 4 != 0)
    {
        edgegen_pool_px_c(p, out, C - C % 4, IW, C, KH, KW, mode, amin, amax, soff, mult, shift, zp);
    }
}
#endif

/* Output rows [y0, y1) x columns [x0, x1) of one region. */
EDGEGEN_MM_INLINE void edgegen_pool_run(const int8_t *in, int8_t *out, const int32_t IW, const int32_t C,
                                        const int32_t OW, const int32_t SH, const int32_t SW, const int32_t PT,
                                        const int32_t PL, const int32_t y0, const int32_t y1, const int32_t x0,
                                        const int32_t x1, const int32_t ky0, const int32_t ky1, const int32_t kx0,
                                        const int32_t kx1, const int32_t mode, const int32_t amin,
                                        const int32_t amax, const int32_t soff, const int32_t mult,
                                        const int32_t shift, const int32_t zp, const int32_t fast)
{
    (void)fast;
    for (int32_t y = y0; y < y1; y++)
    {
        for (int32_t x = x0; x < x1; x++)
        {
            const int8_t *p = in + ((y * SH - PT + ky0) * IW + (x * SW - PL + kx0)) * C;
            int8_t *o = out + (y * OW + x) * C;
#if EDGEGEN_POOL_HAVE_MVE
            if (fast)
            {
                edgegen_pool_px_mve(p, o, IW, C, ky1 - ky0, kx1 - kx0, mode, amin, amax, soff, mult, shift, zp);
                continue;
            }
#elif EDGEGEN_MM_HAVE_DSP
            if (fast)
            {
                edgegen_pool_px_dsp(p, o, IW, C, ky1 - ky0, kx1 - kx0, mode, amin, amax, soff, mult, shift, zp);
                continue;
            }
#endif
            edgegen_pool_px_c(p, o, 0, IW, C, ky1 - ky0, kx1 - kx0, mode, amin, amax, soff, mult, shift, zp);
        }
    }
}

/* One region of the layer: Helium, else DSP, else portable. */
EDGEGEN_MM_INLINE void edgegen_pool_s8(const int8_t *in, int8_t *out, const int32_t IW, const int32_t C,
                                       const int32_t OW, const int32_t SH, const int32_t SW, const int32_t PT,
                                       const int32_t PL, const int32_t y0, const int32_t y1, const int32_t x0,
                                       const int32_t x1, const int32_t ky0, const int32_t ky1, const int32_t kx0,
                                       const int32_t kx1, const int32_t mode, const int32_t amin, const int32_t amax,
                                       const int32_t soff, const int32_t mult, const int32_t shift, const int32_t zp)
{
    edgegen_pool_run(in, out, IW, C, OW, SH, SW, PT, PL, y0, y1, x0, x1, ky0, ky1, kx0, kx1, mode, amin, amax, soff,
                     mult, shift, zp, 1);
}

/* The portable path on every CPU (`--kernels portable`). */
EDGEGEN_MM_INLINE void edgegen_pool_s8_portable(const int8_t *in, int8_t *out, const int32_t IW, const int32_t C,
                                                const int32_t OW, const int32_t SH, const int32_t SW,
                                                const int32_t PT, const int32_t PL, const int32_t y0,
                                                const int32_t y1, const int32_t x0, const int32_t x1,
                                                const int32_t ky0, const int32_t ky1, const int32_t kx0,
                                                const int32_t kx1, const int32_t mode, const int32_t amin,
                                                const int32_t amax, const int32_t soff, const int32_t mult,
                                                const int32_t shift, const int32_t zp)
{
    edgegen_pool_run(in, out, IW, C, OW, SH, SW, PT, PL, y0, y1, x0, x1, ky0, ky1, kx0, kx1, mode, amin, amax, soff,
                     mult, shift, zp, 0);
}

#endif /* EDGEGEN_POOL_H */
