/*
 * edgegen's Helium (MVE) kernel for DEPTHWISE_CONV_2D with a 3x3 filter (stride 1 or 2, dilation 1,
 * depth multiplier 1, SAME or VALID padding), compiled per layer for Cortex-M55-class CPUs (issue 14;
 * design and measurements in docs/kernel-design.md, "Depthwise 3x3 on Helium").
 *
 * Every number comes from edgegen's build-time preparation (edgegen/kernels/mve_dw.py). As in
 * edgegen_dw.h the output is cut into regions with the same valid filter taps; the generated function
 * calls edgegen_dw8_s8 once per region with literal bounds and tap mask (bit 3*ky + kx). Lanes are
 * channels, 8 per group, in int16 lanes: VLDRB.S16 widens 8 input bytes and 8 weight bytes, VMULLB /
 * VMULLT multiply the even / odd channels into two int32x4 accumulators.
 *
 *   w      int8, per group of 8 channels (zero-padded), 9 slots of 8 weights in the order the taps
 *          are loaded: per filter row, column 0, column 2, column 1 (72 bytes per group). The input
 *          row pointers sit on column 1 and post-increment there; the last weight load of a group
 *          advances the weight pointer (pre-index writeback), so no load needs a separate add.
 *   bias2  int32, per region, per group: bias + input_offset * sum of the taps valid in the region,
 *          even channels then odd channels (the order of the VMULLB / VMULLT accumulators).
 *   rq     int32, per group: m[8] then -e[8], each even channels then odd channels.
 *
 * Requantization is TFLM's MultiplyByQuantizedMultiplier with double rounding (the preparation
 * proves every shift <= 0 and |accumulator| < 2^31): h = VQRDMULH(acc, m) (== SRDHM for m >= 0),
 * h += (h & -e) >> 31 (RoundingDivideByPOT's nudge for negatives; h >> 31 when every e >= 1),
 * VRSHL by -e, VQMOVNB/VQMOVNT to int16 (channel order restored), VQADD of the zero point, then
 * VQMOVNB.S16 (saturate to int8) or VMAX/VMIN for a narrower activation range, VSTRB.16. The last
 * C % 8 channels run the same code with VCTP-predicated input loads and store: no access passes the
 * pixel's channels. The portable path is plain C99 over the same layout and arithmetic (the host
 * tier checks it).
 *
 * Written for edgegen. SPDX-License-Identifier: Apache-2.0
 */
#ifndef EDGEGEN_DW8_H
#define EDGEGEN_DW8_H

#include <stdint.h>

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#define EDGEGEN_DW8_HAVE_MVE 1
#include <arm_mve.h>
#else
#define EDGEGEN_DW8_HAVE_MVE 0
#endif

#define EDGEGEN_DW8_INLINE static inline __attribute__((always_inline))

/* Weight slot of tap (ky, kx): per row, columns 0, 2, 1 (the load order). */
#define EDGEGEN_DW8_SLOT(KY_, KX_) (3 * (KY_) + ((KX_) == 0 ? 0 : ((KX_) == 2 ? 1 : 2)))
/* Where channel j (0..7) of a group sits in bias2 / rq: even channels first. */
#define EDGEGEN_DW8_LANE(J_) (((J_) & 1) ? 4 + ((J_) >> 1) : ((J_) >> 1))

#if EDGEGEN_DW8_HAVE_MVE
/* Input loads: at [row, #off], post-incremented on column 1, predicated for the channel tail. */
#define EDGEGEN_DW8_X "vldrb.s16 %q[x], [%[xp], #%c[xo]]\n\t"
#define EDGEGEN_DW8_XPI "vldrb.s16 %q[x], [%[xp]], #8\n\t"
#define EDGEGEN_DW8_XT "vctp.16 %[n]\n\tvpst\n\tvldrbt.s16 %q[x], [%[xp], #%c[xo]]\n\t"
#define EDGEGEN_DW8_XTPI "vctp.16 %[n]\n\tvpst\n\tvldrbt.s16 %q[x], [%[xp]], #8\n\t"
/* Weight loads: at [wp, #off], the group's last one with writeback. */
#define EDGEGEN_DW8_W "vldrb.s16 %q[w], [%[wp], #%c[wo]]\n\t"
#define EDGEGEN_DW8_WWB "vldrb.s16 %q[w], [%[wp], #%c[wo]]!\n\t"

/* One tap of one group: two loads, even and odd products added to the accumulators (the widening
 * loads take only r0-r7 as base: "l"). TAPPI post-increments the input row pointer (column 1), TAP
 * only reads through it (an in-out operand there made GCC copy the pointer before every load). */
#define EDGEGEN_DW8_MUL                                                                              \
    "vmullb.s16 %q[t], %q[x], %q[w]\n\tvadd.i32 %q[ae], %q[ae], %q[t]\n\t"                             \
    "vmullt.s16 %q[t], %q[x], %q[w]\n\tvadd.i32 %q[ao], %q[ao], %q[t]"
#define EDGEGEN_DW8_TAPPI(XLD_, WLD_, XP_, WP_, WO_, N_, AE_, AO_)                                    \
    do                                                                                                \
    {                                                                                                 \
        int16x8_t x_, w_, t_;                                                                         \
        __asm__ volatile(XLD_ WLD_ EDGEGEN_DW8_MUL                                                    \
                         : [ae] "+w"(AE_), [ao] "+w"(AO_), [x] "=&w"(x_), [w] "=&w"(w_), [t] "=&w"(t_),  \
                           [xp] "+l"(XP_), [wp] "+l"(WP_)                                             \
                         : [wo] "n"(WO_), [n] "r"(N_)                                                 \
                         : "memory");                                                                 \
    } while (0)
#define EDGEGEN_DW8_TAP(XLD_, WLD_, XP_, XO_, WP_, WO_, N_, AE_, AO_)                                 \
    do                                                                                                \
    {                                                                                                 \
        int16x8_t x_, w_, t_;                                                                         \
        __asm__ volatile(XLD_ WLD_ EDGEGEN_DW8_MUL                                                    \
                         : [ae] "+w"(AE_), [ao] "+w"(AO_), [x] "=&w"(x_), [w] "=&w"(w_), [t] "=&w"(t_),  \
                           [wp] "+l"(WP_)                                                             \
                         : [xp] "l"(XP_), [xo] "n"(XO_), [wo] "n"(WO_), [n] "r"(N_)                   \
                         : "memory");                                                                 \
    } while (0)

/* Requantization pieces (see the header comment); the narrowing store, like the widening loads,
 * takes only r0-r7 as base. */
#define EDGEGEN_DW8_RQ_HEAD                                                                          \
    "vldrw.32 %q[t], [%[rp], #16]\n\tvqrdmulh.s32 %q[ao], %q[ao], %q[t]\n\t"                          \
    "vldrw.32 %q[t], [%[rp]], #64\n\tvqrdmulh.s32 %q[ae], %q[ae], %q[t]\n\t"                          \
    "vldrw.32 %q[x], [%[rp], #-32]\n\tvldrw.32 %q[w], [%[rp], #-16]\n\t"
#define EDGEGEN_DW8_FIX_POS                                                                          \
    "vshr.s32 %q[t], %q[ae], #31\n\tvadd.i32 %q[ae], %q[ae], %q[t]\n\t"                               \
    "vshr.s32 %q[t], %q[ao], #31\n\tvadd.i32 %q[ao], %q[ao], %q[t]\n\t"
#define EDGEGEN_DW8_FIX_ANY                                                                          \
    "vand %q[t], %q[ae], %q[x]\n\tvshr.s32 %q[t], %q[t], #31\n\tvadd.i32 %q[ae], %q[ae], %q[t]\n\t"   \
    "vand %q[t], %q[ao], %q[w]\n\tvshr.s32 %q[t], %q[t], #31\n\tvadd.i32 %q[ao], %q[ao], %q[t]\n\t"
#define EDGEGEN_DW8_RQ_MID                                                                           \
    "vrshl.s32 %q[ae], %q[ae], %q[x]\n\tvrshl.s32 %q[ao], %q[ao], %q[w]\n\t"                          \
    "vqmovnb.s32 %q[t], %q[ae]\n\tvqmovnt.s32 %q[t], %q[ao]\n\tvqadd.s16 %q[t], %q[t], %[zp]\n\t"
#define EDGEGEN_DW8_SAT "vqmovnb.s16 %q[t], %q[t]\n\t"
#define EDGEGEN_DW8_CLAMP "vmax.s16 %q[t], %q[t], %q[lo]\n\tvmin.s16 %q[t], %q[t], %q[hi]\n\t"
#define EDGEGEN_DW8_ST "vstrb.16 %q[t], [%[op]], #8"
#define EDGEGEN_DW8_STT "vctp.16 %[n]\n\tvpst\n\tvstrbt.16 %q[t], [%[op]], #8"

#define EDGEGEN_DW8_RQ(FIX_, CL_, ST_, RP_, OP_, AE_, AO_, ZP_, LO_, HI_, N_)                          \
    do                                                                                                \
    {                                                                                                 \
        int16x8_t x_, w_, t_;                                                                         \
        __asm__ volatile(EDGEGEN_DW8_RQ_HEAD FIX_ EDGEGEN_DW8_RQ_MID CL_ ST_                          \
                         : [ae] "+w"(AE_), [ao] "+w"(AO_), [x] "=&w"(x_), [w] "=&w"(w_), [t] "=&w"(t_),  \
                           [rp] "+r"(RP_), [op] "+l"(OP_)                                             \
                         : [zp] "r"(ZP_), [lo] "w"(LO_), [hi] "w"(HI_), [n] "r"(N_)                   \
                         : "memory");                                                                 \
    } while (0)

/* One group of 8 channels (tail: the last n < 8) of one output pixel. r0..r2: the input rows of the
 * filter at column 1 and this group's first channel (only the rows of mask are read). */
EDGEGEN_DW8_INLINE void edgegen_dw8_group_mve(const int8_t **r0, const int8_t **r1, const int8_t **r2,
                                              const int8_t **wp, const int32_t **bp, const int32_t **rp,
                                              int8_t **op, const int32_t C, const int32_t mask,
                                              const int32_t tail, const int32_t n, const int32_t zp,
                                              const int16x8_t lo, const int16x8_t hi, const int32_t clamp,
                                              const int32_t e_pos)
{
    int32x4_t ae, ao;
    const int32_t *b = *bp;
    __asm__ volatile("vldrw.32 %q[ao], [%[bp], #16]\n\tvldrw.32 %q[ae], [%[bp]], #32"
                     : [ae] "=&w"(ae), [ao] "=&w"(ao), [bp] "+r"(b)
                     :
                     : "memory");
    *bp = b;
    const int8_t *w = *wp;
    /* the last tap in load order advances the weight pointer */
    int32_t last = -1;
#pragma GCC unroll 9
    for (int32_t s = 0; s < 9; s++)
    {
        const int32_t ky = s / 3, kx = (s % 3 == 0) ? 0 : ((s % 3 == 1) ? 2 : 1);
        if ((mask >> (3 * ky + kx)) & 1)
        {
            last = s;
        }
    }
#pragma GCC unroll 3
    for (int32_t ky = 0; ky < 3; ky++)
    {
        const int8_t **rr = ky == 0 ? r0 : (ky == 1 ? r1 : r2);
        if (((mask >> (3 * ky)) & 7) == 0)
        {
            continue;
        }
        const int8_t *r = *rr;
#pragma GCC unroll 3
        for (int32_t k = 0; k < 3; k++)
        {
            const int32_t kx = k == 0 ? 0 : (k == 1 ? 2 : 1);
            const int32_t s = 3 * ky + k;
            if (!((mask >> (3 * ky + kx)) & 1))
            {
                continue;
            }
            const int32_t wo = 8 + 8 * s;
            if (kx == 1)
            {
                if (tail && s == last)
                {
                    EDGEGEN_DW8_TAPPI(EDGEGEN_DW8_XTPI, EDGEGEN_DW8_WWB, r, w, wo, n, ae, ao);
                }
                else if (tail)
                {
                    EDGEGEN_DW8_TAPPI(EDGEGEN_DW8_XTPI, EDGEGEN_DW8_W, r, w, wo, n, ae, ao);
                }
                else if (s == last)
                {
                    EDGEGEN_DW8_TAPPI(EDGEGEN_DW8_XPI, EDGEGEN_DW8_WWB, r, w, wo, n, ae, ao);
                }
                else
                {
                    EDGEGEN_DW8_TAPPI(EDGEGEN_DW8_XPI, EDGEGEN_DW8_W, r, w, wo, n, ae, ao);
                }
            }
            else
            {
                /* within the load's 7-bit offset: no address arithmetic; else one add per load */
                const int8_t *q = C > 127 ? r + (kx - 1) * C : r;
                if (tail && s == last)
                {
                    EDGEGEN_DW8_TAP(EDGEGEN_DW8_XT, EDGEGEN_DW8_WWB, q, C <= 127 ? (kx - 1) * C : 0, w, wo, n, ae, ao);
                }
                else if (tail)
                {
                    EDGEGEN_DW8_TAP(EDGEGEN_DW8_XT, EDGEGEN_DW8_W, q, C <= 127 ? (kx - 1) * C : 0, w, wo, n, ae, ao);
                }
                else if (s == last)
                {
                    EDGEGEN_DW8_TAP(EDGEGEN_DW8_X, EDGEGEN_DW8_WWB, q, C <= 127 ? (kx - 1) * C : 0, w, wo, n, ae, ao);
                }
                else
                {
                    EDGEGEN_DW8_TAP(EDGEGEN_DW8_X, EDGEGEN_DW8_W, q, C <= 127 ? (kx - 1) * C : 0, w, wo, n, ae, ao);
                }
            }
        }
        if (!((mask >> (3 * ky + 1)) & 1))
        {
            r += 8; /* no column-1 load advanced this row */
        }
        *rr = r;
    }
    if (last < 8)
    {
        w += 64 - 8 * last; /* 72 bytes per group; the writeback moved 8 + 8 * last */
    }
    *wp = w;
    const int32_t *q = *rp;
    int8_t *o = *op;
    if (e_pos && !clamp && !tail)
    {
        EDGEGEN_DW8_RQ(EDGEGEN_DW8_FIX_POS, EDGEGEN_DW8_SAT, EDGEGEN_DW8_ST, q, o, ae, ao, zp, lo, hi, n);
    }
    else if (e_pos && clamp && !tail)
    {
        EDGEGEN_DW8_RQ(EDGEGEN_DW8_FIX_POS, EDGEGEN_DW8_CLAMP, EDGEGEN_DW8_ST, q, o, ae, ao, zp, lo, hi, n);
    }
    else if (!clamp && !tail)
    {
        EDGEGEN_DW8_RQ(EDGEGEN_DW8_FIX_ANY, EDGEGEN_DW8_SAT, EDGEGEN_DW8_ST, q, o, ae, ao, zp, lo, hi, n);
    }
    else if (!tail)
    {
        EDGEGEN_DW8_RQ(EDGEGEN_DW8_FIX_ANY, EDGEGEN_DW8_CLAMP, EDGEGEN_DW8_ST, q, o, ae, ao, zp, lo, hi, n);
    }
    else if (e_pos && !clamp)
    {
        EDGEGEN_DW8_RQ(EDGEGEN_DW8_FIX_POS, EDGEGEN_DW8_SAT, EDGEGEN_DW8_STT, q, o, ae, ao, zp, lo, hi, n);
    }
    else if (e_pos)
    {
        EDGEGEN_DW8_RQ(EDGEGEN_DW8_FIX_POS, EDGEGEN_DW8_CLAMP, EDGEGEN_DW8_STT, q, o, ae, ao, zp, lo, hi, n);
    }
    else if (!clamp)
    {
        EDGEGEN_DW8_RQ(EDGEGEN_DW8_FIX_ANY, EDGEGEN_DW8_SAT, EDGEGEN_DW8_STT, q, o, ae, ao, zp, lo, hi, n);
    }
    else
    {
        EDGEGEN_DW8_RQ(EDGEGEN_DW8_FIX_ANY, EDGEGEN_DW8_CLAMP, EDGEGEN_DW8_STT, q, o, ae, ao, zp, lo, hi, n);
    }
    *rp = q;
    *op = o;
}

/* Two vertically adjacent output pixels (stride 1) share each weight load: rows p0..p3 of the input
 * (column 1), pixel A reads p0..p2 and pixel B p1..p3. Pieces: a weight load, and an input load with
 * the two products added to one pixel's accumulators. */
#define EDGEGEN_DW8_WLD(WLD_, WP_, WO_, W_)                                                             \
    __asm__ volatile(WLD_ : [w] "=w"(W_), [wp] "+l"(WP_) : [wo] "n"(WO_) : "memory")
#define EDGEGEN_DW8_XMUL(XLD_, XP_, XO_, W_, N_, AE_, AO_)                                              \
    do                                                                                                \
    {                                                                                                 \
        int16x8_t x_, t_;                                                                             \
        __asm__ volatile(XLD_ EDGEGEN_DW8_MUL                                                         \
                         : [ae] "+w"(AE_), [ao] "+w"(AO_), [x] "=&w"(x_), [t] "=&w"(t_), [xp] "+l"(XP_)  \
                         : [w] "w"(W_), [xo] "n"(XO_), [n] "r"(N_)                                    \
                         : "memory");                                                                 \
    } while (0)
#define EDGEGEN_DW8_WLD1 "vldrb.s16 %q[w], [%[wp], #%c[wo]]"
#define EDGEGEN_DW8_WLD1WB "vldrb.s16 %q[w], [%[wp], #%c[wo]]!"

/* Requantization of both pixels: each record vector loaded once. The record and bias pointers go to
 * r8-r15 ("h"): the 4 row pointers, the weight pointer and the 2 output pointers need r0-r7. */
#define EDGEGEN_DW8_RQ2_HEAD                                                                         \
    "vldrw.32 %q[t], [%[rp], #16]\n\tvqrdmulh.s32 %q[ao], %q[ao], %q[t]\n\t"                          \
    "vqrdmulh.s32 %q[bo], %q[bo], %q[t]\n\tvldrw.32 %q[t], [%[rp]], #64\n\t"                          \
    "vqrdmulh.s32 %q[ae], %q[ae], %q[t]\n\tvqrdmulh.s32 %q[be], %q[be], %q[t]\n\t"                    \
    "vldrw.32 %q[x], [%[rp], #-32]\n\tvldrw.32 %q[w], [%[rp], #-16]\n\t"
#define EDGEGEN_DW8_FIX2_POS                                                                         \
    "vshr.s32 %q[t], %q[ae], #31\n\tvadd.i32 %q[ae], %q[ae], %q[t]\n\t"                               \
    "vshr.s32 %q[t], %q[ao], #31\n\tvadd.i32 %q[ao], %q[ao], %q[t]\n\t"                               \
    "vshr.s32 %q[t], %q[be], #31\n\tvadd.i32 %q[be], %q[be], %q[t]\n\t"                               \
    "vshr.s32 %q[t], %q[bo], #31\n\tvadd.i32 %q[bo], %q[bo], %q[t]\n\t"
#define EDGEGEN_DW8_FIX2_ANY                                                                         \
    "vand %q[t], %q[ae], %q[x]\n\tvshr.s32 %q[t], %q[t], #31\n\tvadd.i32 %q[ae], %q[ae], %q[t]\n\t"   \
    "vand %q[t], %q[ao], %q[w]\n\tvshr.s32 %q[t], %q[t], #31\n\tvadd.i32 %q[ao], %q[ao], %q[t]\n\t"   \
    "vand %q[t], %q[be], %q[x]\n\tvshr.s32 %q[t], %q[t], #31\n\tvadd.i32 %q[be], %q[be], %q[t]\n\t"   \
    "vand %q[t], %q[bo], %q[w]\n\tvshr.s32 %q[t], %q[t], #31\n\tvadd.i32 %q[bo], %q[bo], %q[t]\n\t"
#define EDGEGEN_DW8_RQ2_MID                                                                          \
    "vrshl.s32 %q[ae], %q[ae], %q[x]\n\tvrshl.s32 %q[ao], %q[ao], %q[w]\n\t"                          \
    "vrshl.s32 %q[be], %q[be], %q[x]\n\tvrshl.s32 %q[bo], %q[bo], %q[w]\n\t"
#define EDGEGEN_DW8_NARROW(E_, O_)                                                                   \
    "vqmovnb.s32 %q[t], %q[" E_ "]\n\tvqmovnt.s32 %q[t], %q[" O_ "]\n\tvqadd.s16 %q[t], %q[t], %[zp]\n\t"
#define EDGEGEN_DW8_CL2_PRE "vdup.16 %q[x], %[lo]\n\tvdup.16 %q[w], %[hi]\n\t"
#define EDGEGEN_DW8_CL2 "vmax.s16 %q[t], %q[t], %q[x]\n\tvmin.s16 %q[t], %q[t], %q[w]\n\t"
#define EDGEGEN_DW8_ST2(O_) "vstrb.16 %q[t], [%[" O_ "]], #8\n\t"
#define EDGEGEN_DW8_ST2T(O_) "vctp.16 %[n]\n\tvpst\n\tvstrbt.16 %q[t], [%[" O_ "]], #8\n\t"
#define EDGEGEN_DW8_RQ2(FIX_, PRE_, CL_, STA_, STB_)                                                 \
    do                                                                                                \
    {                                                                                                 \
        int16x8_t x_, w_, t_;                                                                         \
        __asm__ volatile(EDGEGEN_DW8_RQ2_HEAD FIX_ EDGEGEN_DW8_RQ2_MID PRE_ EDGEGEN_DW8_NARROW("ae", "ao") \
                         CL_ STA_ EDGEGEN_DW8_NARROW("be", "bo") CL_ STB_                             \
                         : [ae] "+w"(ae), [ao] "+w"(ao), [be] "+w"(be), [bo] "+w"(bo), [x] "=&w"(x_),    \
                           [w] "=&w"(w_), [t] "=&w"(t_), [rp] "+h"(q), [oa] "+l"(oa), [ob] "+l"(ob)      \
                         : [zp] "r"(zp), [lo] "r"(amin), [hi] "r"(amax), [n] "r"(n)                   \
                         : "memory");                                                                 \
    } while (0)

/* One input load + products for one pixel of the pair (variants: post-increment, channel tail). */
#define EDGEGEN_DW8_XMUL_ANY(PI_, XP_, XO_, W_, AE_, AO_)                                             \
    do                                                                                                \
    {                                                                                                 \
        if ((PI_) && tail)                                                                            \
        {                                                                                             \
            EDGEGEN_DW8_XMUL(EDGEGEN_DW8_XTPI, XP_, 0, W_, n, AE_, AO_);                              \
        }                                                                                             \
        else if (PI_)                                                                                 \
        {                                                                                             \
            EDGEGEN_DW8_XMUL(EDGEGEN_DW8_XPI, XP_, 0, W_, n, AE_, AO_);                               \
        }                                                                                             \
        else if (tail)                                                                                \
        {                                                                                             \
            EDGEGEN_DW8_XMUL(EDGEGEN_DW8_XT, XP_, XO_, W_, n, AE_, AO_);                              \
        }                                                                                             \
        else                                                                                          \
        {                                                                                             \
            EDGEGEN_DW8_XMUL(EDGEGEN_DW8_X, XP_, XO_, W_, n, AE_, AO_);                               \
        }                                                                                             \
    } while (0)

/* One group of two vertically adjacent pixels (stride 1). p: the 4 input rows at column 1. */
EDGEGEN_DW8_INLINE void edgegen_dw8_group2_mve(const int8_t **p, const int8_t **wp, const int32_t **bp,
                                               const int32_t **rp, int8_t **opa, int8_t **opb, const int32_t C,
                                               const int32_t mask, const int32_t tail, const int32_t n,
                                               const int32_t zp, const int32_t amin, const int32_t amax,
                                               const int32_t clamp, const int32_t e_pos)
{
    int32x4_t ae, ao, be, bo;
    const int32_t *b = *bp;
    __asm__ volatile("vldrw.32 %q[ao], [%[bp], #16]\n\tvldrw.32 %q[ae], [%[bp]], #32\n\t"
                     "vldrw.32 %q[bo], [%[bp], #-16]\n\tvldrw.32 %q[be], [%[bp], #-32]"
                     : [ae] "=&w"(ae), [ao] "=&w"(ao), [be] "=&w"(be), [bo] "=&w"(bo), [bp] "+h"(b)
                     :
                     : "memory");
    *bp = b;
    const int8_t *w = *wp;
    const int8_t *p0 = p[0], *p1 = p[1], *p2 = p[2], *p3 = p[3];
    int32_t last = -1;
#pragma GCC unroll 9
    for (int32_t s = 0; s < 9; s++)
    {
        const int32_t ky = s / 3, kx = (s % 3 == 0) ? 0 : ((s % 3 == 1) ? 2 : 1);
        if ((mask >> (3 * ky + kx)) & 1)
        {
            last = s;
        }
    }
    /* rows whose column-1 load post-increments them (each row exactly once per group) */
    int32_t inc0 = 0, inc1 = 0, inc2 = 0, inc3 = 0;
#pragma GCC unroll 3
    for (int32_t ky = 0; ky < 3; ky++)
    {
#pragma GCC unroll 3
        for (int32_t k = 0; k < 3; k++)
        {
            const int32_t kx = k == 0 ? 0 : (k == 1 ? 2 : 1);
            const int32_t s = 3 * ky + k;
            if (!((mask >> (3 * ky + kx)) & 1))
            {
                continue;
            }
            int16x8_t wv;
            if (s == last)
            {
                EDGEGEN_DW8_WLD(EDGEGEN_DW8_WLD1WB, w, 8 + 8 * s, wv);
            }
            else
            {
                EDGEGEN_DW8_WLD(EDGEGEN_DW8_WLD1, w, 8 + 8 * s, wv);
            }
            /* A reads row ky, B row ky + 1; a row's last reader post-increments it (B reads row
             * ky + 1 before A does, unless A never reads it: row ky + 1 is outside A's mask or is p3) */
            const int32_t pa = kx == 1;
            const int32_t pb = kx == 1 && (ky == 2 || !((mask >> (3 * (ky + 1) + 1)) & 1));
            const int32_t xo = C <= 127 ? (kx - 1) * C : 0;
            const int8_t **ra = ky == 0 ? &p0 : (ky == 1 ? &p1 : &p2);
            const int8_t **rb = ky == 0 ? &p1 : (ky == 1 ? &p2 : &p3);
            if (C <= 127 || kx == 1)
            {
                EDGEGEN_DW8_XMUL_ANY(pa, *ra, xo, wv, ae, ao);
                EDGEGEN_DW8_XMUL_ANY(pb, *rb, xo, wv, be, bo);
            }
            else
            {
                const int8_t *qa = *ra + (kx - 1) * C, *qb = *rb + (kx - 1) * C;
                EDGEGEN_DW8_XMUL_ANY(0, qa, 0, wv, ae, ao);
                EDGEGEN_DW8_XMUL_ANY(0, qb, 0, wv, be, bo);
            }
            if (pa)
            {
                inc0 |= ky == 0;
                inc1 |= ky == 1;
                inc2 |= ky == 2;
            }
            if (pb)
            {
                inc1 |= ky == 0;
                inc2 |= ky == 1;
                inc3 |= ky == 2;
            }
        }
    }
    p[0] = inc0 ? p0 : p0 + 8;
    p[1] = inc1 ? p1 : p1 + 8;
    p[2] = inc2 ? p2 : p2 + 8;
    p[3] = inc3 ? p3 : p3 + 8;
    if (last < 8)
    {
        w += 64 - 8 * last;
    }
    *wp = w;
    const int32_t *q = *rp;
    int8_t *oa = *opa, *ob = *opb;
    if (e_pos && !clamp && !tail)
    {
        EDGEGEN_DW8_RQ2(EDGEGEN_DW8_FIX2_POS, "", EDGEGEN_DW8_SAT, EDGEGEN_DW8_ST2("oa"), EDGEGEN_DW8_ST2("ob"));
    }
    else if (e_pos && !tail)
    {
        EDGEGEN_DW8_RQ2(EDGEGEN_DW8_FIX2_POS, EDGEGEN_DW8_CL2_PRE, EDGEGEN_DW8_CL2, EDGEGEN_DW8_ST2("oa"),
                        EDGEGEN_DW8_ST2("ob"));
    }
    else if (!clamp && !tail)
    {
        EDGEGEN_DW8_RQ2(EDGEGEN_DW8_FIX2_ANY, "", EDGEGEN_DW8_SAT, EDGEGEN_DW8_ST2("oa"), EDGEGEN_DW8_ST2("ob"));
    }
    else if (!tail)
    {
        EDGEGEN_DW8_RQ2(EDGEGEN_DW8_FIX2_ANY, EDGEGEN_DW8_CL2_PRE, EDGEGEN_DW8_CL2, EDGEGEN_DW8_ST2("oa"),
                        EDGEGEN_DW8_ST2("ob"));
    }
    else if (e_pos && !clamp)
    {
        EDGEGEN_DW8_RQ2(EDGEGEN_DW8_FIX2_POS, "", EDGEGEN_DW8_SAT, EDGEGEN_DW8_ST2T("oa"), EDGEGEN_DW8_ST2T("ob"));
    }
    else if (e_pos)
    {
        EDGEGEN_DW8_RQ2(EDGEGEN_DW8_FIX2_POS, EDGEGEN_DW8_CL2_PRE, EDGEGEN_DW8_CL2, EDGEGEN_DW8_ST2T("oa"),
                        EDGEGEN_DW8_ST2T("ob"));
    }
    else if (!clamp)
    {
        EDGEGEN_DW8_RQ2(EDGEGEN_DW8_FIX2_ANY, "", EDGEGEN_DW8_SAT, EDGEGEN_DW8_ST2T("oa"), EDGEGEN_DW8_ST2T("ob"));
    }
    else
    {
        EDGEGEN_DW8_RQ2(EDGEGEN_DW8_FIX2_ANY, EDGEGEN_DW8_CL2_PRE, EDGEGEN_DW8_CL2, EDGEGEN_DW8_ST2T("oa"),
                        EDGEGEN_DW8_ST2T("ob"));
    }
    *rp = q;
    *opa = oa;
    *opb = ob;
}

/* Two vertically adjacent output pixels on the Helium path (stride 1). */
EDGEGEN_DW8_INLINE void edgegen_dw8_px2_mve(const int8_t *r0, const int32_t rowb, int8_t *outa, int8_t *outb,
                                            const int8_t *w, const int32_t *b, const int32_t *rq, const int32_t C,
                                            const int32_t mask, const int32_t zp, const int32_t amin,
                                            const int32_t amax, const int32_t e_pos)
{
    const int8_t *p[4];
    p[0] = r0;
    p[1] = (const int8_t *)((uintptr_t)r0 + (uintptr_t)rowb);
    p[2] = (const int8_t *)((uintptr_t)r0 + (uintptr_t)(2 * rowb));
    p[3] = (const int8_t *)((uintptr_t)r0 + (uintptr_t)(3 * rowb));
    const int8_t *wp = (const int8_t *)((uintptr_t)w - 8u);
    const int32_t *bp = b, *rp = rq;
    int8_t *oa = outa, *ob = outb;
    const int32_t clamp = amin > -128 || amax < 127;
    for (int32_t g = 0; g < C / 8; g++)
    {
        edgegen_dw8_group2_mve(p, &wp, &bp, &rp, &oa, &ob, C, mask, 0, 8, zp, amin, amax, clamp, e_pos);
    }
    if (C % 8 != 0)
    {
        edgegen_dw8_group2_mve(p, &wp, &bp, &rp, &oa, &ob, C, mask, 1, C % 8, zp, amin, amax, clamp, e_pos);
    }
}

/* One output pixel on the Helium path. */
EDGEGEN_DW8_INLINE void edgegen_dw8_px_mve(const int8_t *r0, const int8_t *r1, const int8_t *r2, int8_t *out,
                                           const int8_t *w, const int32_t *b, const int32_t *rq, const int32_t C,
                                           const int32_t mask, const int32_t zp, const int32_t amin,
                                           const int32_t amax, const int32_t e_pos)
{
    const int8_t *wp = (const int8_t *)((uintptr_t)w - 8u);
    const int32_t *bp = b, *rp = rq;
    int8_t *op = out;
    const int32_t clamp = amin > -128 || amax < 127;
    const int16x8_t lo = vdupq_n_s16((int16_t)amin), hi = vdupq_n_s16((int16_t)amax);
    for (int32_t g = 0; g < C / 8; g++)
    {
        edgegen_dw8_group_mve(&r0, &r1, &r2, &wp, &bp, &rp, &op, C, mask, 0, 8, zp, lo, hi, clamp, e_pos);
    }
    if (C % 8 != 0)
    {
        edgegen_dw8_group_mve(&r0, &r1, &r2, &wp, &bp, &rp, &op, C, mask, 1, C % 8, zp, lo, hi, clamp, e_pos);
    }
}
#endif

/* One output pixel on the portable path: the same layout and arithmetic in plain C. */
EDGEGEN_DW8_INLINE void edgegen_dw8_px_c(const int8_t *r0, const int8_t *r1, const int8_t *r2, int8_t *out,
                                         const int8_t *w, const int32_t *b, const int32_t *rq, const int32_t C,
                                         const int32_t mask, const int32_t zp, const int32_t amin,
                                         const int32_t amax, const int32_t e_pos)
{
    for (int32_t c = 0; c < C; c++)
    {
        const int32_t g = c / 8, j = c % 8, lane = EDGEGEN_DW8_LANE(j);
        int32_t acc = b[8 * g + lane];
        for (int32_t t = 0; t < 9; t++)
        {
            if ((mask >> t) & 1)
            {
                const int32_t ky = t / 3, kx = t % 3;
                const int8_t *r = ky == 0 ? r0 : (ky == 1 ? r1 : r2);
                const uintptr_t at = (uintptr_t)r + (uintptr_t)(intptr_t)((kx - 1) * C + c);
                acc += (int32_t)(*(const int8_t *)at) * (int32_t)w[72 * g + 8 * EDGEGEN_DW8_SLOT(ky, kx) + j];
            }
        }
        const int32_t m = rq[16 * g + lane], ne = rq[16 * g + 8 + lane];
        const int32_t h = (int32_t)(((int64_t)acc * m + ((int64_t)1 << 30)) >> 31);
        const int32_t fix = e_pos ? (h >> 31) : ((h & ne) >> 31);
        int32_t v = h + fix;
        if (ne < 0)
        {
            v = (int32_t)(((int64_t)v + ((int64_t)1 << (-ne - 1))) >> (-ne));
        }
        v = v < -32768 ? -32768 : (v > 32767 ? 32767 : v);
        v += zp;
        v = v < -32768 ? -32768 : (v > 32767 ? 32767 : v);
        v = v < amin ? amin : (v > amax ? amax : v);
        out[c] = (int8_t)v;
    }
}

/* Output rows [y0, y1) x columns [x0, x1) of one region (bias2 already at the region's row). */
EDGEGEN_DW8_INLINE void edgegen_dw8_run(const int8_t *in, int8_t *out, const int8_t *w, const int32_t *b,
                                        const int32_t *rq, const int32_t IW, const int32_t C, const int32_t OW,
                                        const int32_t S, const int32_t PT, const int32_t PL, const int32_t y0,
                                        const int32_t y1, const int32_t x0, const int32_t x1, const int32_t mask,
                                        const int32_t zp, const int32_t amin, const int32_t amax,
                                        const int32_t e_pos, const int32_t mve)
{
    (void)mve;
    int32_t y = y0;
#if EDGEGEN_DW8_HAVE_MVE
    /* stride 1: pairs of rows share the weight loads */
    for (; mve && S == 1 && y + 1 < y1; y += 2)
    {
        uintptr_t at = (uintptr_t)in + (uintptr_t)(intptr_t)(((y - PT) * IW + (x0 - PL + 1)) * C);
        int8_t *o = out + (y * OW + x0) * C;
        for (int32_t x = x0; x < x1; x++)
        {
            edgegen_dw8_px2_mve((const int8_t *)at, IW * C, o, o + OW * C, w, b, rq, C, mask, zp, amin, amax,
                                e_pos);
            at += (uintptr_t)C;
            o += C;
        }
    }
#endif
    for (; y < y1; y++)
    {
        /* column 1 of filter row 0 for the region's first pixel; rows and columns outside the input
         * are never read (only the taps of mask are), so the address is formed as an integer */
        uintptr_t at = (uintptr_t)in + (uintptr_t)(intptr_t)(((y * S - PT) * IW + (x0 * S - PL + 1)) * C);
        int8_t *o = out + (y * OW + x0) * C;
        for (int32_t x = x0; x < x1; x++)
        {
            const int8_t *r0 = (const int8_t *)at;
            const int8_t *r1 = (const int8_t *)(at + (uintptr_t)(IW * C));
            const int8_t *r2 = (const int8_t *)(at + (uintptr_t)(2 * IW * C));
#if EDGEGEN_DW8_HAVE_MVE
            if (mve)
            {
                edgegen_dw8_px_mve(r0, r1, r2, o, w, b, rq, C, mask, zp, amin, amax, e_pos);
            }
            else
#endif
            {
                edgegen_dw8_px_c(r0, r1, r2, o, w, b, rq, C, mask, zp, amin, amax, e_pos);
            }
            at += (uintptr_t)(S * C);
            o += C;
        }
    }
}

/* One region of the layer: the Helium path where the CPU has it, else the portable one. */
EDGEGEN_DW8_INLINE void edgegen_dw8_s8(const int8_t *in, int8_t *out, const int8_t *w, const int32_t *b,
                                       const int32_t *rq, const int32_t IW, const int32_t C, const int32_t OW,
                                       const int32_t S, const int32_t PT, const int32_t PL, const int32_t y0,
                                       const int32_t y1, const int32_t x0, const int32_t x1, const int32_t mask,
                                       const int32_t zp, const int32_t amin, const int32_t amax, const int32_t e_pos)
{
    edgegen_dw8_run(in, out, w, b, rq, IW, C, OW, S, PT, PL, y0, y1, x0, x1, mask, zp, amin, amax, e_pos,
                    EDGEGEN_DW8_HAVE_MVE);
}

/* The portable path on every CPU (`--kernels portable`). */
EDGEGEN_DW8_INLINE void edgegen_dw8_s8_portable(const int8_t *in, int8_t *out, const int8_t *w, const int32_t *b,
                                                const int32_t *rq, const int32_t IW, const int32_t C,
                                                const int32_t OW, const int32_t S, const int32_t PT,
                                                const int32_t PL, const int32_t y0, const int32_t y1,
                                                const int32_t x0, const int32_t x1, const int32_t mask,
                                                const int32_t zp, const int32_t amin, const int32_t amax,
                                                const int32_t e_pos)
{
    edgegen_dw8_run(in, out, w, b, rq, IW, C, OW, S, PT, PL, y0, y1, x0, x1, mask, zp, amin, amax, e_pos, 0);
}

#endif /* EDGEGEN_DW8_H */
