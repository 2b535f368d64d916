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
 *   rq     per channel {m, c, e, sl}: acc2 = bias2 + (acc << sl), then edgegen_mm_rq3 (edgegen_mm.h).
 *
 * Each input row (a FULLY_CONNECTED / 1x1 row, or a CONV_2D window gathered as edgegen_conv.h does,
 * padded taps = zp) is first widened into int16 pairs, two words per block: (x0, x2) and (x1, x3),
 * zero past K. A stored block then costs one delta, one weight load, two SXTB16 (or four codebook
 * lookups) and two SMLAD on the DSP path; the portable path does the same arithmetic in C99.
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

/* (b0, b2) and (b1, b3) of a word as int16 pairs (SXTB16, SXTB16 ROR #8). */
EDGEGEN_MM_INLINE uint32_t edgegen_sp_lo(const uint32_t v, const int32_t dsp)
{
    (void)dsp;
#if EDGEGEN_MM_HAVE_DSP
    if (dsp)
    {
        return (uint32_t)__sxtb16(v);
    }
#endif
    return (uint32_t)(uint16_t)(int16_t)(int8_t)(uint8_t)v | ((uint32_t)(uint16_t)(int16_t)(int8_t)(uint8_t)(v >> 16) << 16);
}

EDGEGEN_MM_INLINE uint32_t edgegen_sp_hi(const uint32_t v, const int32_t dsp)
{
    return edgegen_sp_lo((v >> 8) | (v << 24), dsp);
}

/* acc + lo(a) * lo(b) + hi(a) * hi(b) on int16 pairs (SMLAD). */
EDGEGEN_MM_INLINE int32_t edgegen_sp_dot(const uint32_t a, const uint32_t b, const int32_t acc, const int32_t dsp)
{
    (void)dsp;
#if EDGEGEN_MM_HAVE_DSP
    if (dsp)
    {
        return __smlad(a, b, acc);
    }
#endif
    return acc + EDGEGEN_MM_LO(a) * EDGEGEN_MM_LO(b) + EDGEGEN_MM_HI(a) * EDGEGEN_MM_HI(b);
}

/* One row of K bytes into K4 = ceil(K/4) pairs of words (zero past K). */
EDGEGEN_MM_INLINE void edgegen_sp_widen(const int8_t *x, uint32_t *xw, const int32_t K, const int32_t dsp)
{
#pragma GCC unroll 4
    for (int32_t q = 0; q < K / 4; q++)
    {
        uint32_t v;
        memcpy(&v, x + 4 * q, 4);
        xw[2 * q] = edgegen_sp_lo(v, dsp);
        xw[2 * q + 1] = edgegen_sp_hi(v, dsp);
    }
    if (K % 4 != 0)
    {
        const uint32_t v = edgegen_mm_tail(x + 4 * (K / 4), K % 4);
        xw[2 * (K / 4)] = edgegen_sp_lo(v, dsp);
        xw[2 * (K / 4) + 1] = edgegen_sp_hi(v, dsp);
    }
}

/* A block's 4-bit indices (i0 | i2 << 4, i1 | i3 << 4) through the codebook cb: the weight pairs
 * (w0, w2) and (w1, w3). */
EDGEGEN_MM_INLINE uint32_t edgegen_sp_pair(const int8_t *cb, const uint32_t v)
{
    return (uint32_t)(uint16_t)(int16_t)cb[v & 15u] | ((uint32_t)(uint16_t)(int16_t)cb[(v >> 4) & 15u] << 16);
}

/* All OC channels of one widened row; out gets OC bytes. */
EDGEGEN_MM_INLINE void edgegen_sp_row(const uint32_t *xw, int8_t *out, const void *vals, const uint8_t *deltas,
                                      const uint16_t *nb, const int8_t *book, const int32_t *bias2,
                                      const int32_t *rq, const int32_t K, const int32_t OC, const int32_t BITS,
                                      const int32_t IDX, const int32_t amin, const int32_t amax,
                                      const int32_t e_pos, const int32_t dsp)
{
    const uint8_t *v = (const uint8_t *)vals;
    const uint8_t *d = deltas;
    for (int32_t j = 0; j < OC; j++)
    {
        int32_t acc = 0;
        const uint32_t *p = xw;
        const int32_t n = IDX ? (int32_t)nb[j] : (K + 3) / 4;
        const int8_t *cb = BITS == 4 ? book + 16 * j : book;
        (void)cb;
        for (int32_t b = 0; b < n; b++)
        {
            if (IDX)
            {
                p += 2 * (int32_t)*d++;
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
            acc = edgegen_sp_dot(p[0], wa, acc, dsp);
            acc = edgegen_sp_dot(p[1], wb, acc, dsp);
            if (!IDX)
            {
                p += 2;
            }
        }
        const int32_t *r = rq + 4 * j;
        const int32_t acc2 = bias2[j] + (int32_t)((uint32_t)acc << r[3]);
        out[j] = (int8_t)edgegen_mm_rq3(acc2, r[0], r[1], r[2], e_pos, amin, amax, dsp);
    }
}

EDGEGEN_MM_INLINE void edgegen_sp_run(const int8_t *in, int8_t *out, int8_t *buf, uint32_t *xw, const void *vals,
                                      const uint8_t *deltas, const uint16_t *nb, const int8_t *book,
                                      const int32_t *bias2, const int32_t *rq, const int32_t K, const int32_t OC,
                                      const int32_t NPIX, const int32_t BITS, const int32_t IDX,
                                      const int32_t amin, const int32_t amax, const int32_t e_pos,
                                      const int32_t GATHER, const int32_t IH, const int32_t IW, const int32_t C,
                                      const int32_t KH, const int32_t KW, const int32_t OW, const int32_t SH,
                                      const int32_t SW, const int32_t PT, const int32_t PL, const int32_t zp,
                                      const int32_t dsp)
{
    for (int32_t p = 0; p < NPIX; p++)
    {
        if (GATHER)
        {
            edgegen_conv_gather(in, buf, IH, IW, C, KH, KW, (p / OW) * SH - PT, (p % OW) * SW - PL, zp);
            edgegen_sp_widen(buf, xw, K, dsp);
        }
        else
        {
            edgegen_sp_widen(in + p * K, xw, K, dsp);
        }
        edgegen_sp_row(xw, out + p * OC, vals, deltas, nb, book, bias2, rq, K, OC, BITS, IDX, amin, amax, e_pos,
                       dsp);
    }
}

/* The layer's kernel: the DSP path where the CPU has it, else the portable one. */
#define edgegen_sp_s8(...) edgegen_sp_run(__VA_ARGS__, EDGEGEN_MM_HAVE_DSP)
/* The portable path on every CPU (`--kernels portable`). */
#define edgegen_sp_s8_portable(...) edgegen_sp_run(__VA_ARGS__, 0)

#endif /* EDGEGEN_SP_H */
