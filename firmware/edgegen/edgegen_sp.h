/*
 * edgegen's int8 kernel for CONV_2D and FULLY_CONNECTED layers with compressed weights (issue 17;
 * design and measurements in docs/kernel-design.md, "Compressed weights"): block-sparse (only the
 * stored blocks of 4 weights run) and/or shared weights (4-bit indices into a 16-entry int8 codebook
 * per output channel), compiled per layer with literal shapes and format.
 *
 * Every number comes from edgegen's build-time preparation (edgegen/kernels/sparse.py):
 *
 *   vals   BITS 8: the 4 int8 weights (k0..k3) of each stored block; BITS 4: 2 bytes per block,
 *          (i0 | i2 << 4, i1 | i3 << 4), indices into the channel's codebook.
 *   deltas IDX 1: per stored block, its block index minus the previous stored block's (the first's
 *          from 0), uint8; gaps above 255 are bridged by all-zero filler blocks.
 *   nb     IDX 1: stored blocks per channel (uint16). IDX 0: every block of K is stored.
 *   book   BITS 4: 16 int8 values per channel.
 *   bias2  s * (bias + input_offset * sum_k w) per channel (s = 2^sl).
 *   rq     per channel {m, c, e, sl}: acc2 = bias2 + (acc << sl), then edgegen_mm_rq3 (edgegen_mm.h);
 *          ZO != 0 (a layer whose zero point folded into c would overflow int32): c is the rounding
 *          constant alone and edgegen_sp_rq adds ZO after the shift (exactly equal, proven in Python).
 *
 * Each input row (a FULLY_CONNECTED / 1x1 row, or a CONV_2D window gathered as edgegen_conv.h does,
 * padded taps = zp) is first widened into int16 pairs, two words per block: (x0, x2) and (x1, x3),
 * zero past K; four rows are interleaved (8 words per block) and run together, so a stored block's
 * delta and weights are decoded once for the four: one delta, one weight word, two SXTB16 (or four
 * codebook lookups), then four LDRD and eight SMLAD on the DSP path; the portable path does the same
 * arithmetic in C99.
 * Python proves per channel that no partial sum nor acc << sl nor acc2 overflows int32.
 *
 * Written for edgegen. SPDX-License-Identifier: Apache-2.0
 */
#ifndef EDGEGEN_SP_H
#define EDGEGEN_SP_H

#include <stdint.h>
#include <string.h>

#include "edgegen_conv.h"

#if EDGEGEN_MM_HAVE_DSP
#include <arm_acle.h>
#endif

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#define EDGEGEN_SP_HAVE_MVE 1
#include <arm_mve.h>
#else
#define EDGEGEN_SP_HAVE_MVE 0
#endif

/* (b0, b2) and (b1, b3) of a word as int16 pairs (SXTB16, SXTB16 ROR #8). */
EDGEGEN_MM_INLINE uint32_t edgegen_sp_lo(const uint32_t v, const int32_t dsp)
{
    (void)dsp;
#if EDGEGEN_MM_HAVE_DSP
    if (dsp)
    {
        return (uint32_t)__sxtb16((int32_t)v);
    }
#endif
    return (uint32_t)(uint16_t)(int16_t)(int8_t)(uint8_t)v | ((uint32_t)(uint16_t)(int16_t)(int8_t)(uint8_t)(v >> 16) << 16);
}

EDGEGEN_MM_INLINE uint32_t edgegen_sp_hi(const uint32_t v, const int32_t dsp)
{
    (void)dsp;
#if EDGEGEN_MM_HAVE_DSP
    if (dsp)
    {
        uint32_t r;
        __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
        return r;
    }
#endif
    return edgegen_sp_lo((v >> 8) | (v << 24), 0);
}

/* acc + lo(a) * lo(b) + hi(a) * hi(b) on int16 pairs (SMLAD). */
EDGEGEN_MM_INLINE int32_t edgegen_sp_dot(const uint32_t a, const uint32_t b, const int32_t acc, const int32_t dsp)
{
    (void)dsp;
#if EDGEGEN_MM_HAVE_DSP
    if (dsp)
    {
        return __smlad((int32_t)a, (int32_t)b, acc);
    }
#endif
    return acc + EDGEGEN_MM_LO(a) * EDGEGEN_MM_LO(b) + EDGEGEN_MM_HI(a) * EDGEGEN_MM_HI(b);
}

/* One row of K bytes into K4 = ceil(K/4) pairs of words (zero past K), pair q at xw[S * q] (S = 2: one
 * row; S = 4: two rows interleaved, the second at xw + 2). */
EDGEGEN_MM_INLINE void edgegen_sp_widen(const int8_t *x, uint32_t *xw, const int32_t K, const int32_t S,
                                        const int32_t dsp)
{
#pragma GCC unroll 4
    for (int32_t q = 0; q < K / 4; q++)
    {
        uint32_t v;
        memcpy(&v, x + 4 * q, 4);
        xw[S * q] = edgegen_sp_lo(v, dsp);
        xw[S * q + 1] = edgegen_sp_hi(v, dsp);
    }
    if (K % 4 != 0)
    {
        const uint32_t v = edgegen_mm_tail(x + 4 * (K / 4), K % 4);
        xw[S * (K / 4)] = edgegen_sp_lo(v, dsp);
        xw[S * (K / 4) + 1] = edgegen_sp_hi(v, dsp);
    }
}

/* A block's 4-bit indices (i0 | i2 << 4, i1 | i3 << 4) through the codebook cb: the weight pairs
 * (w0, w2) and (w1, w3). */
EDGEGEN_MM_INLINE uint32_t edgegen_sp_pair(const int8_t *cb, const uint32_t v)
{
    return (uint32_t)(uint16_t)(int16_t)cb[v & 15u] | ((uint32_t)(uint16_t)(int16_t)cb[(v >> 4) & 15u] << 16);
}

#if EDGEGEN_MM_HAVE_DSP
/* The stored 8-bit blocks of one channel against NR (1 or 4) widened rows (2 * NR words per block,
 * rows interleaved) as one asm statement, so the accumulators keep their registers: per block the
 * delta (post-increment), the row pointer moved by it, one weight word (post-increment) widened by
 * SXTB16 and SXTB16 ROR #8, then per row one LDRD and two SMLAD. Blocks run two per loop iteration
 * (an odd count's first alone). */
#define EDGEGEN_SP_HEAD(SH_)                                                                           \
    "ldrb %[t], [%[d]], #1\n\tadd %[p], %[p], %[t], lsl #" SH_ "\n\tldr %[w], [%[v]], #4\n\t"          \
    "sxtb16 %[t], %[w]\n\tsxtb16 %[w], %[w], ror #8\n\t"
#define EDGEGEN_SP_ROW(A_, OFF_)                                                                       \
    "ldrd %[x0], %[x1], [%[p], #" OFF_ "]\n\tsmlad %[" A_ "], %[x0], %[t], %[" A_ "]\n\t"              \
    "smlad %[" A_ "], %[x1], %[w], %[" A_ "]\n\t"
#define EDGEGEN_SP_LOOP(BODY_)                                                                         \
    "lsrs %[n], %[n], #1\n\tbcc 3f\n\t" BODY_ "3:\n\tcmp %[n], #0\n\tbeq 2f\n1:\n\t" BODY_ BODY_       \
    "subs %[n], %[n], #1\n\tbne 1b\n2:"
#define EDGEGEN_SP_B4 EDGEGEN_SP_HEAD("5") EDGEGEN_SP_ROW("a0", "0") EDGEGEN_SP_ROW("a1", "8")        \
    EDGEGEN_SP_ROW("a2", "16") EDGEGEN_SP_ROW("a3", "24")
#define EDGEGEN_SP_B1 EDGEGEN_SP_HEAD("3") EDGEGEN_SP_ROW("a0", "0")

/* A 4-bit block: its two index bytes as one halfword (post-increment; bits 0-3 i0, 4-7 i2, 8-11 i1,
 * 12-15 i3), each nibble isolated by one AND/UBFX/LSR and looked up in the codebook cb, then packed into
 * the weight pairs (w0, w2) in wa and (w1, w3) in wb: 11 instructions (was 12 with two LDRB); t and w
 * are scratch. */
#define EDGEGEN_SP_PAIR4                                                                               \
    "ldrh %[t], [%[v]], #2\n\tand %[w], %[t], #15\n\tldrsb %[w], [%[cb], %[w]]\n\t"                    \
    "ubfx %[wa], %[t], #4, #4\n\tldrsb %[wa], [%[cb], %[wa]]\n\tpkhbt %[wa], %[w], %[wa], lsl #16\n\t"  \
    "ubfx %[w], %[t], #8, #4\n\tldrsb %[w], [%[cb], %[w]]\n\tlsr %[t], %[t], #12\n\t"                  \
    "ldrsb %[t], [%[cb], %[t]]\n\tpkhbt %[wb], %[w], %[t], lsl #16\n\t"
#define EDGEGEN_SP_HEAD4(SH_)                                                                          \
    "ldrb %[t], [%[d]], #1\n\tadd %[p], %[p], %[t], lsl #" SH_ "\n\t" EDGEGEN_SP_PAIR4
#define EDGEGEN_SP_ROW4(A_, OFF_)                                                                      \
    "ldrd %[t], %[w], [%[p], #" OFF_ "]\n\tsmlad %[" A_ "], %[t], %[wa], %[" A_ "]\n\t"              \
    "smlad %[" A_ "], %[w], %[wb], %[" A_ "]\n\t"
#define EDGEGEN_SP_C4 EDGEGEN_SP_HEAD4("5") EDGEGEN_SP_ROW4("a0", "0") EDGEGEN_SP_ROW4("a1", "8")     \
    EDGEGEN_SP_ROW4("a2", "16") EDGEGEN_SP_ROW4("a3", "24")
#define EDGEGEN_SP_C1 EDGEGEN_SP_HEAD4("3") EDGEGEN_SP_ROW4("a0", "0")
/* Two 4-bit blocks of a single row from one word of indices u (block A in bits 0-15, B in 16-31, as
 * EDGEGEN_SP_PAIR4 reads a halfword): 15 instructions a block, one LDR for the two (the word may be
 * unaligned: the Armv7-M LDR allows it). */
#define EDGEGEN_SP_NIB4(B0_, B1_, B2_, LAST_)                                                          \
    "ldrb %[t], [%[d]], #1\n\tadd %[p], %[p], %[t], lsl #3\n\t" B0_                                    \
    "ldrsb %[w], [%[cb], %[w]]\n\tubfx %[wa], %[u], #" B1_ ", #4\n\tldrsb %[wa], [%[cb], %[wa]]\n\t"    \
    "pkhbt %[wa], %[w], %[wa], lsl #16\n\tubfx %[w], %[u], #" B2_ ", #4\n\tldrsb %[w], [%[cb], %[w]]\n\t" \
    LAST_ "ldrsb %[t], [%[cb], %[t]]\n\tpkhbt %[wb], %[w], %[t], lsl #16\n\t" EDGEGEN_SP_ROW4("a0", "0")
#define EDGEGEN_SP_C1X2                                                                                \
    "ldr %[u], [%[v]], #4\n\t"                                                                        \
    EDGEGEN_SP_NIB4("and %[w], %[u], #15\n\t", "4", "8", "ubfx %[t], %[u], #12, #4\n\t")               \
    EDGEGEN_SP_NIB4("ubfx %[w], %[u], #16, #4\n\t", "20", "24", "lsr %[t], %[u], #28\n\t")
/* EDGEGEN_SP_LOOP with the pair of blocks as one body (PAIR_) */
#define EDGEGEN_SP_LOOP2(ONE_, PAIR_)                                                                  \
    "lsrs %[n], %[n], #1\n\tbcc 3f\n\t" ONE_ "3:\n\tcmp %[n], #0\n\tbeq 2f\n1:\n\t" PAIR_             \
    "subs %[n], %[n], #1\n\tbne 1b\n2:"

/* The stored 4-bit blocks of one channel (codebook cb) against NR (1 or 4) widened rows, as
 * edgegen_sp_mac8: per block the delta, four codebook loads and two PKHBT, then per row one LDRD and
 * two SMLAD. */
EDGEGEN_MM_INLINE void edgegen_sp_mac4(const uint8_t **dp, const uint8_t **vp, const int8_t *cb, const uint32_t *p,
                                       int32_t n, int32_t *a, const int32_t NR)
{
    const uint8_t *d = *dp;
    const uint8_t *v = *vp;
    uint32_t t, w, wa, wb;
    if (NR == 4)
    {
        __asm__ volatile(EDGEGEN_SP_LOOP(EDGEGEN_SP_C4)
                         : [a0] "+r"(a[0]), [a1] "+r"(a[1]), [a2] "+r"(a[2]), [a3] "+r"(a[3]), [p] "+r"(p),
                           [d] "+r"(d), [v] "+r"(v), [n] "+r"(n), [t] "=&r"(t), [w] "=&r"(w), [wa] "=&r"(wa),
                           [wb] "=&r"(wb)
                         : [cb] "r"(cb)
                         : "cc", "memory");
    }
    else
    {
        uint32_t u;
        __asm__ volatile(EDGEGEN_SP_LOOP2(EDGEGEN_SP_C1, EDGEGEN_SP_C1X2)
                         : [a0] "+r"(a[0]), [p] "+r"(p), [d] "+r"(d), [v] "+r"(v), [n] "+r"(n), [t] "=&r"(t),
                           [w] "=&r"(w), [wa] "=&r"(wa), [wb] "=&r"(wb), [u] "=&r"(u)
                         : [cb] "r"(cb)
                         : "cc", "memory");
    }
    *dp = d;
    *vp = v;
}

EDGEGEN_MM_INLINE void edgegen_sp_mac8(const uint8_t **dp, const uint8_t **vp, const uint32_t *p, int32_t n,
                                       int32_t *a, const int32_t NR)
{
    const uint8_t *d = *dp;
    const uint8_t *v = *vp;
    uint32_t t, w, x0, x1;
    if (NR == 4)
    {
        __asm__ volatile(EDGEGEN_SP_LOOP(EDGEGEN_SP_B4)
                         : [a0] "+r"(a[0]), [a1] "+r"(a[1]), [a2] "+r"(a[2]), [a3] "+r"(a[3]), [p] "+r"(p),
                           [d] "+r"(d), [v] "+r"(v), [n] "+r"(n), [t] "=&r"(t), [w] "=&r"(w), [x0] "=&r"(x0),
                           [x1] "=&r"(x1)
                         :
                         : "cc", "memory");
    }
    else
    {
        __asm__ volatile(EDGEGEN_SP_LOOP(EDGEGEN_SP_B1)
                         : [a0] "+r"(a[0]), [p] "+r"(p), [d] "+r"(d), [v] "+r"(v), [n] "+r"(n), [t] "=&r"(t),
                           [w] "=&r"(w), [x0] "=&r"(x0), [x1] "=&r"(x1)
                         :
                         : "cc", "memory");
    }
    *dp = d;
    *vp = v;
}
#endif

/* edgegen_mm_rq3 with the output zero point zo added after the shift rather than folded into c:
 * ((h + c + fix) >> e) + zo, then the int8 saturation and the activation clamp. */
EDGEGEN_MM_INLINE int32_t edgegen_sp_rq(const int32_t acc2, const int32_t m, const int32_t c, const int32_t e,
                                        const int32_t e_pos, const int32_t zo, const int32_t amin,
                                        const int32_t amax, const int32_t dsp)
{
    int32_t h;
    int32_t v;
    (void)dsp;
#if EDGEGEN_MM_HAVE_DSP
    if (dsp)
    {
        __asm__("smmulr %0, %1, %2" : "=r"(h) : "r"(acc2), "r"(m));
    }
    else
#endif
    {
        h = (int32_t)(((int64_t)acc2 * m + ((int64_t)1 << 31)) >> 32);
    }
    const int32_t fix = e_pos ? (h >> 31) : ((h & -e) >> 31);
    v = ((h + c + fix) >> e) + zo;
#if EDGEGEN_MM_HAVE_DSP
    if (dsp)
    {
        __asm__("ssat %0, #8, %1" : "=r"(v) : "r"(v));
    }
    else
#endif
    {
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

/* All OC channels of NR (1 or 4) widened rows (interleaved, 2 * NR words per block); out + r * OC
 * gets row r's OC bytes. */
EDGEGEN_MM_INLINE void edgegen_sp_rows(const uint32_t *xw, int8_t *out, const void *vals, const uint8_t *deltas,
                                       const uint16_t *nb, const int8_t *book, const int32_t *bias2,
                                       const int32_t *rq, const int32_t K, const int32_t OC, const int32_t NR,
                                       const int32_t BITS, const int32_t IDX, const int32_t amin,
                                       const int32_t amax, const int32_t e_pos, const int32_t ZO, const int32_t dsp)
{
    const uint8_t *v = (const uint8_t *)vals;
    const uint8_t *d = deltas;
    const int32_t S = 2 * NR;
    for (int32_t j = 0; j < OC; j++)
    {
        int32_t a[4] = { 0, 0, 0, 0 };
        const uint32_t *p = xw;
        const int32_t n = IDX ? (int32_t)nb[j] : (K + 3) / 4;
        const int8_t *cb = BITS == 4 ? book + 16 * j : book;
        (void)cb;
#if EDGEGEN_MM_HAVE_DSP
        if (dsp && BITS == 8 && IDX)
        {
            edgegen_sp_mac8(&d, &v, p, n, a, NR);
        }
        else if (dsp && IDX)
        {
            edgegen_sp_mac4(&d, &v, cb, p, n, a, NR);
        }
        else
#endif
        {
            for (int32_t b = 0; b < n; b++)
            {
                if (IDX)
                {
                    p += S * (int32_t)*d++;
                }
                uint32_t wa, wb;
                if (BITS == 8)
                {
                    uint32_t w;
                    memcpy(&w, v, 4);
                    v += 4;
                    wa = edgegen_sp_lo(w, dsp);
                    wb = edgegen_sp_hi(w, dsp);
                }
                else
                {
                    wa = edgegen_sp_pair(cb, v[0]);
                    wb = edgegen_sp_pair(cb, v[1]);
                    v += 2;
                }
#pragma GCC unroll 4
                for (int32_t r = 0; r < NR; r++)
                {
                    a[r] = edgegen_sp_dot(p[2 * r], wa, a[r], dsp);
                    a[r] = edgegen_sp_dot(p[2 * r + 1], wb, a[r], dsp);
                }
                if (!IDX)
                {
                    p += S;
                }
            }
        }
        const int32_t *rr = rq + 4 * j;
#pragma GCC unroll 4
        for (int32_t r = 0; r < NR; r++)
        {
            const int32_t acc2 = bias2[j] + (int32_t)((uint32_t)a[r] << rr[3]);
            /* ZO is a literal: a layer with the zero point folded compiles edgegen_mm_rq3 alone */
            out[r * OC + j] = (int8_t)(ZO == 0 ? edgegen_mm_rq3(acc2, rr[0], rr[1], rr[2], e_pos, amin, amax, dsp)
                                               : edgegen_sp_rq(acc2, rr[0], rr[1], rr[2], e_pos, ZO, amin, amax, dsp));
        }
    }
}

/* Row (or window) p of the layer: its K input bytes (gathered into buf for a CONV_2D). */
EDGEGEN_MM_INLINE const int8_t *edgegen_sp_src(const int8_t *in, int8_t *buf, const int32_t p, const int32_t K,
                                               const int32_t GATHER, const int32_t IH, const int32_t IW,
                                               const int32_t C, const int32_t KH, const int32_t KW, const int32_t OW,
                                               const int32_t SH, const int32_t SW, const int32_t PT, const int32_t PL,
                                               const int32_t zp)
{
    if (!GATHER)
    {
        return in + p * K;
    }
    edgegen_conv_gather(in, buf, IH, IW, C, KH, KW, (p / OW) * SH - PT, (p % OW) * SW - PL, zp);
    return buf;
}

/* Rows four at a time (each stored block's weights decoded once for the four), the last NPIX % 4 rows
 * one at a time. xw holds 8 words per block of K (2 when NPIX is 1). */
EDGEGEN_MM_INLINE void edgegen_sp_run(const int8_t *in, int8_t *out, int8_t *buf, uint32_t *xw, const void *vals,
                                      const uint8_t *deltas, const uint16_t *nb, const int8_t *book,
                                      const int32_t *bias2, const int32_t *rq, const int32_t K, const int32_t OC,
                                      const int32_t NPIX, const int32_t BITS, const int32_t IDX,
                                      const int32_t amin, const int32_t amax, const int32_t e_pos,
                                      const int32_t GATHER, const int32_t IH, const int32_t IW, const int32_t C,
                                      const int32_t KH, const int32_t KW, const int32_t OW, const int32_t SH,
                                      const int32_t SW, const int32_t PT, const int32_t PL, const int32_t zp,
                                      const int32_t ZO, const int32_t dsp)
{
    for (int32_t p = 0; p < NPIX / 4 * 4; p += 4)
    {
        for (int32_t r = 0; r < 4; r++)
        {
            edgegen_sp_widen(edgegen_sp_src(in, buf, p + r, K, GATHER, IH, IW, C, KH, KW, OW, SH, SW, PT, PL, zp),
                             xw + 2 * r, K, 8, dsp);
        }
        edgegen_sp_rows(xw, out + p * OC, vals, deltas, nb, book, bias2, rq, K, OC, 4, BITS, IDX, amin, amax, e_pos,
                        ZO, dsp);
    }
    for (int32_t p = NPIX / 4 * 4; p < NPIX; p++)
    {
        edgegen_sp_widen(edgegen_sp_src(in, buf, p, K, GATHER, IH, IW, C, KH, KW, OW, SH, SW, PT, PL, zp), xw, K, 2,
                         dsp);
        edgegen_sp_rows(xw, out + p * OC, vals, deltas, nb, book, bias2, rq, K, OC, 1, BITS, IDX, amin, amax, e_pos,
                        ZO, dsp);
    }
}

/* The stored blocks of channel j against NR rows: a[r] = sum x * w (v and q advance past the channel). */
EDGEGEN_MM_INLINE void edgegen_spv_mac(const int8_t *xr, const int8_t **vp, const uint16_t **qp, const int32_t n,
                                       const int32_t K4, const int32_t NR, int32_t *a, const int32_t mve)
{
    const int8_t *v = *vp;
    const uint16_t *q = *qp;
    (void)mve;
#if EDGEGEN_SP_HAVE_MVE
    if (mve)
    {
        for (int32_t b = 0; b < n; b += 4)
        {
            const uint32x4_t off = vldrhq_u32(q);
            const int8x16_t w = vldrbq_s8(v);
            q += 4;
            v += 16;
#pragma GCC unroll 4
            for (int32_t r = 0; r < NR; r++)
            {
                const uint32x4_t x = vldrwq_gather_shifted_offset_u32((const uint32_t *)(const void *)(xr + 4 * K4 * r),
                                                                      off);
                a[r] = vmladavaq_s8(a[r], vreinterpretq_s8_u32(x), w);
            }
        }
    }
    else
#endif
    {
        for (int32_t b = 0; b < n; b++)
        {
            const int8_t *x = xr + 4 * (int32_t)*q++;
#pragma GCC unroll 4
            for (int32_t r = 0; r < NR; r++)
            {
                const int8_t *xx = x + 4 * K4 * r;
                a[r] += xx[0] * v[0] + xx[1] * v[1] + xx[2] * v[2] + xx[3] * v[3];
            }
            v += 4;
        }
    }
    *vp = v;
    *qp = q;
}

/* Channel j's requantization for NR rows, as edgegen_sp_rows does. */
EDGEGEN_MM_INLINE void edgegen_spv_rq1(const int32_t *a, int8_t *out, const int32_t *bias2, const int32_t *rq,
                                       const int32_t j, const int32_t OC, const int32_t NR, const int32_t amin,
                                       const int32_t amax, const int32_t e_pos, const int32_t ZO)
{
    const int32_t *rr = rq + 4 * j;
#pragma GCC unroll 4
    for (int32_t r = 0; r < NR; r++)
    {
        const int32_t acc2 = bias2[j] + (int32_t)((uint32_t)a[r] << rr[3]);
        out[r * OC + j] = (int8_t)(ZO == 0 ? edgegen_mm_rq3(acc2, rr[0], rr[1], rr[2], e_pos, amin, amax,
                                                            EDGEGEN_MM_HAVE_DSP)
                                           : edgegen_sp_rq(acc2, rr[0], rr[1], rr[2], e_pos, ZO, amin, amax,
                                                           EDGEGEN_MM_HAVE_DSP));
    }
}

/* Helium block-sparse 8-bit layers (format block8v, chosen on Helium CPUs): per channel NB[j] stored
 * blocks, a multiple of 4 (padded with all-zero blocks at index 0), their absolute block indices as
 * uint16 (idx) and their 4 int8 weights (vals). The NR (1 or 4) rows are copied into xr (K4 words each,
 * zero past K, word-aligned) and every 4 stored blocks run as, per row, one VLDRW gather of the 4 input
 * words at those indices and one VMLADAVA.S8 against the 16 weights (loaded once for the NR rows):
 * acc = sum x * w on the raw int8 values, the input offset being in bias2 as on the DSP path. Channels
 * are requantized 4 at a time in vectors (VLD4 of their {m, c, e, sl} records; VRMULH is SMMULR, the
 * sign fix-up, the arithmetic shift by -e, the zero point, the clamp: lane for lane edgegen_mm_rq3 /
 * edgegen_sp_rq), the last OC % 4 one at a time. */
EDGEGEN_MM_INLINE void edgegen_spv_rows(const int8_t *xr, int8_t *out, const int8_t *vals, const uint16_t *idx,
                                        const uint16_t *nb, const int32_t *bias2, const int32_t *rq, const int32_t K4,
                                        const int32_t OC, const int32_t NR, const int32_t amin, const int32_t amax,
                                        const int32_t e_pos, const int32_t ZO, const int32_t mve)
{
    const int8_t *v = vals;
    const uint16_t *q = idx;
    int32_t j = 0;
#if EDGEGEN_SP_HAVE_MVE
    if (mve)
    {
        for (; j + 4 <= OC; j += 4)
        {
            int32_t acc[4][4] __attribute__((aligned(8)));
            for (int32_t c = 0; c < 4; c++)
            {
                int32_t a[4] = { 0, 0, 0, 0 };
                edgegen_spv_mac(xr, &v, &q, (int32_t)nb[j + c], K4, NR, a, mve);
#pragma GCC unroll 4
                for (int32_t r = 0; r < NR; r++)
                {
                    acc[r][c] = a[r];
                }
            }
            const int32x4x4_t rec = vld4q_s32(rq + 4 * j);
            const int32x4_t b2 = vldrwq_s32(bias2 + j);
            const int32x4_t ne = vnegq_s32(rec.val[2]);
#pragma GCC unroll 4
            for (int32_t r = 0; r < NR; r++)
            {
                const int32x4_t acc2 = vaddq_s32(b2, vshlq_s32(vldrwq_s32(acc[r]), rec.val[3]));
                const int32x4_t h = vrmulhq_s32(acc2, rec.val[0]);
                const int32x4_t fix = e_pos ? vshrq_n_s32(h, 31) : vshrq_n_s32(vandq_s32(h, ne), 31);
                int32x4_t o = vshlq_s32(vaddq_s32(vaddq_s32(h, rec.val[1]), fix), ne);
                o = vaddq_n_s32(o, ZO);
                o = vminq_s32(vmaxq_s32(o, vdupq_n_s32(amin)), vdupq_n_s32(amax));
                vstrbq_s32(out + r * OC + j, o);
            }
        }
    }
#endif
    for (; j < OC; j++)
    {
        int32_t a[4] = { 0, 0, 0, 0 };
        edgegen_spv_mac(xr, &v, &q, (int32_t)nb[j], K4, NR, a, mve);
        edgegen_spv_rq1(a, out, bias2, rq, j, OC, NR, amin, amax, e_pos, ZO);
    }
}

/* edgegen_sp_run's arguments for block8v (book, BITS and IDX unused; deltas are the uint16 indices, xw at
 * least NR * K4 words): rows four at a time, then one at a time. */
EDGEGEN_MM_INLINE void edgegen_spv_run(const int8_t *in, int8_t *out, int8_t *buf, uint32_t *xw, const void *vals,
                                       const uint16_t *idx, const uint16_t *nb, const int8_t *book,
                                       const int32_t *bias2, const int32_t *rq, const int32_t K, const int32_t OC,
                                       const int32_t NPIX, const int32_t BITS, const int32_t IDX,
                                       const int32_t amin, const int32_t amax, const int32_t e_pos,
                                       const int32_t GATHER, const int32_t IH, const int32_t IW, const int32_t C,
                                       const int32_t KH, const int32_t KW, const int32_t OW, const int32_t SH,
                                       const int32_t SW, const int32_t PT, const int32_t PL, const int32_t zp,
                                       const int32_t ZO, const int32_t mve)
{
    const int32_t K4 = (K + 3) / 4;
    int8_t *xr = (int8_t *)(void *)xw;
    (void)buf;
    (void)book;
    (void)BITS;
    (void)IDX;
    for (int32_t p = 0; p < NPIX; p += 4)
    {
        const int32_t nr = NPIX - p >= 4 ? 4 : 1;
        for (int32_t r = 0; r < nr; r++)
        {
            /* a CONV_2D window is gathered straight into its row of xr */
            const int8_t *src = edgegen_sp_src(in, xr + 4 * K4 * r, p + r, K, GATHER, IH, IW, C, KH, KW, OW, SH, SW, PT,
                                               PL, zp);
            if (!GATHER)
            {
                memcpy(xr + 4 * K4 * r, src, (size_t)K);
            }
            if (K % 4 != 0)
            {
                memset(xr + 4 * K4 * r + K, 0, (size_t)(4 * K4 - K));
            }
        }
        if (nr == 4)
        {
            edgegen_spv_rows(xr, out + p * OC, (const int8_t *)vals, idx, nb, bias2, rq, K4, OC, 4, amin, amax, e_pos,
                             ZO, mve);
        }
        else
        {
            edgegen_spv_rows(xr, out + p * OC, (const int8_t *)vals, idx, nb, bias2, rq, K4, OC, 1, amin, amax, e_pos,
                             ZO, mve);
            p -= 3;
        }
    }
}

/* Entropy-coded weights (--entropy-code; edgegen/kernels/entropy.py): N bytes of a canonical Huffman
 * stream src (MSB first, codes of at most L <= 10 bits, padded with zero bytes) decoded into dst. The
 * flash holds counts[len - 1] (codes of each length 1..L) and syms (the symbols in canonical order);
 * table (2^L entries, in the layer's scratch) is filled in one pass, each symbol's sym | len << 8
 * repeated 2^(L - len) times (canonical codes are consecutive when left-justified to L bits), then each
 * symbol is one peek of L bits (after a 16-bit refill when fewer are held), one lookup and one consume. */
EDGEGEN_MM_INLINE void edgegen_sp_huff(const uint8_t *src, const uint16_t *counts, const uint8_t *syms, const int32_t L,
                                       const int32_t N, uint16_t *table, uint8_t *dst)
{
    uint16_t *t = table;
    const uint8_t *s = syms;
    for (int32_t len = 1; len <= L; len++)
    {
        const uint32_t reps = 1u << (uint32_t)(L - len);
        for (uint32_t i = 0; i < counts[len - 1]; i++)
        {
            const uint16_t e = (uint16_t)((uint32_t)*s++ | ((uint32_t)len << 8));
            for (uint32_t r = 0; r < reps; r++)
            {
                *t++ = e;
            }
        }
    }
    uint32_t acc = 0;
    int32_t bits = 0;
    const uint32_t mask = (1u << (uint32_t)L) - 1u;
    for (int32_t i = 0; i < N; i++)
    {
        if (bits < L)
        {
            /* 16 bits at once: bits + 16 < 26 stay within the word (older bits shift out, mask drops them) */
            acc = (acc << 16) | ((uint32_t)src[0] << 8) | src[1];
            src += 2;
            bits += 16;
        }
        const uint32_t e = table[(acc >> (uint32_t)(bits - L)) & mask];
        dst[i] = (uint8_t)e;
        bits -= (int32_t)(e >> 8);
    }
}

/* The layer's kernel: the DSP path where the CPU has it, else the portable one. */
#define edgegen_sp_s8(...) edgegen_sp_run(__VA_ARGS__, EDGEGEN_MM_HAVE_DSP)
/* The portable path on every CPU (`--kernels portable`). */
#define edgegen_sp_s8_portable(...) edgegen_sp_run(__VA_ARGS__, 0)
/* block8v: the Helium path where the CPU has it, else the same arithmetic in C. */
#define edgegen_spv_s8(...) edgegen_spv_run(__VA_ARGS__, EDGEGEN_SP_HAVE_MVE)
#define edgegen_spv_s8_portable(...) edgegen_spv_run(__VA_ARGS__, 0)

#endif /* EDGEGEN_SP_H */
