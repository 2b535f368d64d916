/*
 * edgegen specialized kernels (issue 14 prototype): exact requantization.
 *
 * TFLM MultiplyByQuantizedMultiplier with double rounding (== CMSIS-NN arm_nn_requantize without
 * CMSIS_NN_USE_SINGLE_ROUNDING), in the forms the specialized kernels use. The code generator
 * emits, per output channel, a packed record (see eg_rq_t) computed once at build time:
 *
 *   m = the TFLM multiplier (in [2^30, 2^31))
 *   e = right shift = -shift (shift <= 0; layers with a positive shift use the generic path)
 *   c = (e > 0 ? 1 << (e - 1) : 0) + (output_zero_point << e)   (rounding term and zero point)
 *
 * and the result is   ssat8((h + c + fix(h)) >> e), then the activation clamp if it is narrower
 * than [-128, 127], where
 *
 *   h      = SRDHM(acc, m) = floor((acc * m + 2^30) / 2^31)   (exact for m > 0; no saturation case)
 *          = SMMULR(2 * acc, m)       when |acc| < 2^30 (the generator proves it from weight bounds)
 *   fix(h) = -1 if h < 0 and e > 0, else 0   (RoundingDivideByPOT rounds half away from zero)
 *
 * Folding the zero point into c is exact because zp << e is a multiple of 2^e; the generator
 * checks |h| + |c| < 2^31. Layers whose channels all have e >= 1 (EG_RQ_E_POSITIVE) use
 * fix(h) = h >> 31 (one ASR folded into an ADD); otherwise fix(h) = (h & -e) >> 31 (the CMSIS-NN
 * MVE trick, -e has its sign bit set iff e > 0).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef EG_RQ_H
#define EG_RQ_H

#include <stdint.h>

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#define EG_PATH_MVE 1
#include <arm_acle.h>
#include <arm_mve.h>
#elif defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define EG_PATH_DSP 1
#include <arm_acle.h>
#else
#define EG_PATH_C 1
#endif

#define EG_INLINE static inline __attribute__((always_inline))

/* One output channel's requantization constants, 3 words so one LDM (or LDRD + LDR) loads them. */
typedef struct
{
    int32_t m;
    int32_t c;
    int32_t e;
} eg_rq_t;

/* Build time (the generator's job): the record of one channel. */
static inline eg_rq_t eg_rq_make(int32_t multiplier, int32_t shift, int32_t out_zp)
{
    eg_rq_t r;
    const int32_t e = -shift;
    r.m = multiplier;
    r.e = e;
    r.c = (int32_t)((e > 0 ? (1u << (uint32_t)(e - 1)) : 0u) + (uint32_t)out_zp * (1u << (uint32_t)e));
    return r;
}

/* floor((acc * m + 2^30) / 2^31): exact SRDHM for m > 0, any acc. */
EG_INLINE int32_t eg_srdhm_c(int32_t acc, int32_t m)
{
    return (int32_t)(((int64_t)acc * m + ((int64_t)1 << 30)) >> 31);
}

#if defined(EG_PATH_DSP) || defined(EG_PATH_MVE)
/* (a * b + 2^31) >> 32: one instruction. */
EG_INLINE int32_t eg_smmulr(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
EG_INLINE int32_t eg_ssat8(int32_t v)
{
    int32_t r;
    __asm__("ssat %0, #8, %1" : "=r"(r) : "r"(v));
    return r;
}
/* SRDHM for |acc| < 2^30 (build-time proven). */
EG_INLINE int32_t eg_srdhm(int32_t acc, int32_t m)
{
    return eg_smmulr((int32_t)((uint32_t)acc << 1), m);
}
#else
EG_INLINE int32_t eg_ssat8(int32_t v)
{
    return v < -128 ? -128 : (v > 127 ? 127 : v);
}
EG_INLINE int32_t eg_srdhm(int32_t acc, int32_t m)
{
    return eg_srdhm_c(acc, m);
}
#endif

/* The whole requantization of one accumulator to int8 (before a narrower activation clamp).
 * e_pos: the layer's channels all have e >= 1 (a build-time constant, so the branch folds). */
EG_INLINE int32_t eg_rq(int32_t acc, int32_t m, int32_t c, int32_t e, int e_pos)
{
    const int32_t h = eg_srdhm(acc, m);
    int32_t fix;
    if (e_pos)
    {
        fix = h >> 31;
    }
    else
    {
        fix = (h & -e) >> 31;
    }
    return eg_ssat8((h + c + fix) >> e);
}

/* Activation clamp: compiled out when the range is the whole int8 range (amin/amax are constants). */
EG_INLINE int32_t eg_act(int32_t v, int32_t amin, int32_t amax)
{
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

#if defined(EG_PATH_MVE)
/* Four accumulators with four channels' (m, c, e) vectors; exact for any acc (VQRDMULH saturates
 * only for INT32_MIN * INT32_MIN, which m > 0 excludes). c here holds only the zero point term
 * zp << e: VRSHL adds the 2^(e-1) rounding itself. */
EG_INLINE int32x4_t eg_rq_mve(int32x4_t acc, int32x4_t m, int32x4_t czp, int32x4_t nege)
{
    int32x4_t h = vqrdmulhq_s32(acc, m);
    const int32x4_t fix = vshrq_n_s32(vandq_s32(h, nege), 31);
    h = vaddq_s32(h, vaddq_s32(fix, czp));
    return vrshlq_s32(h, nege);
}
#endif

#endif /* EG_RQ_H */
