/*
 * edgegen's specialized int8 ADD / SUB kernel for inputs of the same shape, compiled per layer
 * (issue 14; design and measurements in docs/kernel-design.md, "ADD and SUB").
 *
 * Every number comes from edgegen's build-time preparation (edgegen/kernels/add.py):
 *
 *   t      int32 [2][256]: TFLM's rescaled input terms, doubled, indexed by the input byte read
 *          unsigned: t[0][u] = 2 * RDBPOT(SRDHM((x + offset_1) << 20, m_1), -shift_1) with x the
 *          int8 value of u, t[1] the same for input 2 (negated for SUB). TFLM's double rounding
 *          of each input is in the table.
 *   m, c, e, fix   literals (the output record of edgegen_mm.h): with acc2 = t[0][a] + t[1][b] (the
 *          doubled sum), out = ssat8((c + SMMLAR(acc2, m) + (fix ? acc2 >> 31 : 0)) >> e), clamped to
 *          [amin, amax].
 *
 * Python checks all 65,536 pairs of input bytes against TFLM's arithmetic at build time.
 * Paths: Helium (4 lanes: widening byte loads, two gathers, VRMULH, predicated tail), DSP (4
 * elements per word: one LDR per input, UBFX + LDR per table entry, SMMLAR, ASR, SSAT) and portable
 * C99 over the same tables (the host tier). The output may be input 1's buffer: every path reads
 * a group of elements before writing it.
 *
 * Written for edgegen. SPDX-License-Identifier: Apache-2.0
 */
#ifndef EDGEGEN_ADD_H
#define EDGEGEN_ADD_H

#include <stdint.h>
#include <string.h>

#include "edgegen_mm.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>
#define EDGEGEN_HAVE_MVE 1
#else
#define EDGEGEN_HAVE_MVE 0
#endif

#if EDGEGEN_HAVE_MVE
/* Helium: 4 elements in int32 lanes (the byte loads widen to the gathers' offsets). */
EDGEGEN_MM_INLINE int32x4_t edgegen_add_mve4(const uint32x4_t ia, const uint32x4_t ib, const int32_t *t,
                                             const int32x4_t vm, const int32_t c, const int32_t e, const int32_t fix,
                                             const int32x4_t lo, const int32x4_t hi)
{
    const int32x4_t x = vaddq_s32(vldrwq_gather_shifted_offset_s32(t, ia), vldrwq_gather_shifted_offset_s32(t + 256, ib));
    int32x4_t v = vaddq_n_s32(vrmulhq_s32(x, vm), c);
    if (fix)
    {
        v = vaddq_s32(v, vshrq_n_s32(x, 31));
    }
    return vminq_s32(vmaxq_s32(vshlq_r_s32(v, -e), lo), hi);
}

/* Unpredicated full groups of 4; one predicated group for the last N % 4 (the zeroed lanes read
 * table entry 0, their results are not stored). */
EDGEGEN_MM_INLINE void edgegen_add_mve(const int8_t *a, const int8_t *b, int8_t *out, const int32_t *t,
                                       const int32_t N, const int32_t m, const int32_t c, const int32_t e,
                                       const int32_t fix, const int32_t amin, const int32_t amax)
{
    const int32x4_t vm = vdupq_n_s32(m);
    const int32x4_t lo = vdupq_n_s32(amin > -128 ? amin : -128), hi = vdupq_n_s32(amax < 127 ? amax : 127);
    const uint8_t *pa = (const uint8_t *)a, *pb = (const uint8_t *)b;
    for (int32_t i = 0; i < N / 4; i++)
    {
        vstrbq_s32(out, edgegen_add_mve4(vldrbq_u32(pa), vldrbq_u32(pb), t, vm, c, e, fix, lo, hi));
        pa += 4;
        pb += 4;
        out += 4;
    }
    if (N % 4 != 0)
    {
        const mve_pred16_t p = vctp32q((uint32_t)(N % 4));
        const int32x4_t v = edgegen_add_mve4(vldrbq_z_u32(pa, p), vldrbq_z_u32(pb, p), t, vm, c, e, fix, lo, hi);
        vstrbq_p_s32(out, v, p);
        /* GCC 12 models a predicated store as a full one (edgegen_pool.h): keep it ordered */
        __asm__ volatile("" ::: "memory");
    }
}
#endif

/* One element from its doubled sum: c + SMMLAR(acc2, m), the sign fix-up, >> e, SSAT #8, the clamp. */
EDGEGEN_MM_INLINE int32_t edgegen_add_rq(const int32_t acc2, const int32_t m, const int32_t c, const int32_t e,
                                         const int32_t fix, const int32_t amin, const int32_t amax, const int32_t dsp)
{
    int32_t v;
    (void)dsp;
#if EDGEGEN_MM_HAVE_DSP
    if (dsp)
    {
        __asm__("smmlar %0, %1, %2, %3" : "=r"(v) : "r"(acc2), "r"(m), "r"(c));
    }
    else
#endif
    {
        v = c + (int32_t)(((int64_t)acc2 * m + ((int64_t)1 << 31)) >> 32);
    }
    if (fix)
    {
        v += acc2 >> 31;
    }
#if EDGEGEN_MM_HAVE_DSP
    if (dsp && __builtin_constant_p(e) && e > 0 && e < 32)
    {
        /* a literal e (the generated call passes one): the shift folds into the saturation */
        __asm__("ssat %0, #8, %1, asr %2" : "=r"(v) : "r"(v), "I"(e));
    }
    else if (dsp)
    {
        v >>= e;
        __asm__("ssat %0, #8, %1" : "=r"(v) : "r"(v));
    }
    else
#endif
    {
        v >>= e;
        v = v < -128 ? -128 : (v > 127 ? 127 : v);
    }
    if (amin > -128 && v < amin)
    {
        v = amin;
    }
    if (amax < 127 && v > amax)
    {
        v = amax;
    }
    return v;
}

#if EDGEGEN_MM_HAVE_DSP
/* DSP: one word of each input per 4 elements (read before the 4 outputs are written). */
EDGEGEN_MM_INLINE void edgegen_add_dsp(const int8_t *a, const int8_t *b, int8_t *out, const int32_t *t,
                                       const int32_t N, const int32_t m, const int32_t c, const int32_t e,
                                       const int32_t fix, const int32_t amin, const int32_t amax)
{
    const int32_t *t2 = t + 256;
    for (int32_t i = 0; i < N / 4; i++)
    {
        uint32_t xa, xb;
        memcpy(&xa, a, 4);
        memcpy(&xb, b, 4);
        a += 4;
        b += 4;
        int32_t v[4];
#pragma GCC unroll 4
        for (int32_t j = 0; j < 4; j++)
        {
            v[j] = edgegen_add_rq(t[(xa >> (8 * j)) & 0xFFu] + t2[(xb >> (8 * j)) & 0xFFu], m, c, e, fix, amin, amax,
                                  1);
        }
#pragma GCC unroll 4
        for (int32_t j = 0; j < 4; j++)
        {
            out[j] = (int8_t)v[j];
        }
        out += 4;
    }
    for (int32_t i = 0; i < N % 4; i++)
    {
        out[i] = (int8_t)edgegen_add_rq(t[(uint8_t)a[i]] + t2[(uint8_t)b[i]], m, c, e, fix, amin, amax, 1);
    }
}
#endif

/* Portable C99: the same tables and arithmetic. */
EDGEGEN_MM_INLINE void edgegen_add_c(const int8_t *a, const int8_t *b, int8_t *out, const int32_t *t,
                                     const int32_t N, const int32_t m, const int32_t c, const int32_t e,
                                     const int32_t fix, const int32_t amin, const int32_t amax)
{
    for (int32_t i = 0; i < N; i++)
    {
        out[i] = (int8_t)edgegen_add_rq(t[(uint8_t)a[i]] + t[256 + (uint8_t)b[i]], m, c, e, fix, amin, amax, 0);
    }
}

/* The layer: Helium where the CPU has it, else DSP, else portable. */
EDGEGEN_MM_INLINE void edgegen_add_s8(const int8_t *a, const int8_t *b, int8_t *out, const int32_t *t,
                                      const int32_t N, const int32_t m, const int32_t c, const int32_t e,
                                      const int32_t fix, const int32_t amin, const int32_t amax)
{
#if EDGEGEN_HAVE_MVE
    edgegen_add_mve(a, b, out, t, N, m, c, e, fix, amin, amax);
#elif EDGEGEN_MM_HAVE_DSP
    edgegen_add_dsp(a, b, out, t, N, m, c, e, fix, amin, amax);
#else
    edgegen_add_c(a, b, out, t, N, m, c, e, fix, amin, amax);
#endif
}

/* The portable path on every CPU (`--kernels portable`). */
EDGEGEN_MM_INLINE void edgegen_add_s8_portable(const int8_t *a, const int8_t *b, int8_t *out, const int32_t *t,
                                               const int32_t N, const int32_t m, const int32_t c, const int32_t e,
                                               const int32_t fix, const int32_t amin, const int32_t amax)
{
    edgegen_add_c(a, b, out, t, N, m, c, e, fix, amin, amax);
}

#endif /* EDGEGEN_ADD_H */
