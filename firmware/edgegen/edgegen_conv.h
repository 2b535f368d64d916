/*
 * edgegen's specialized int8 kernel for general CONV_2D (any KH x KW, any stride, dilation 1,
 * SAME or VALID, batch 1), compiled per layer (issue 14; design in docs/kernel-design.md, "First
 * conv, 1 input channel"): for each output pixel the KH x KW x C input window is gathered into a
 * K = KH*KW*C byte buffer (each window row is KW*C contiguous bytes of the NHWC input, one memcpy
 * when the row is inside the image), padded taps filled with the input zero point zp, and the
 * buffer is multiplied with the W16x2 weights by edgegen_mm_block (edgegen_mm.h).
 *
 * The input offset -zp is folded into bias2 over all K taps (edgegen/kernels/conv.py), so a padded
 * tap contributes (zp - zp) * w = 0: exactly TFLM's skipped taps. The buffer is the caller's (a
 * stack array of K bytes, K bounded at build time).
 *
 * With G > 1 (DEPTHWISE_CONV_2D, G = C groups of one input channel) each channel's window is gathered
 * with a byte stride C and the block computes that channel's OC / G outputs (edgegen_conv_run_grouped).
 *
 * Written for edgegen. SPDX-License-Identifier: Apache-2.0
 */
#ifndef EDGEGEN_CONV_H
#define EDGEGEN_CONV_H

#include <stdint.h>
#include <string.h>

#include "edgegen_mm.h"

/* The window at input (iy0, ix0) (top-left, may be outside the image) into buf, padded taps = zp. */
EDGEGEN_MM_INLINE void edgegen_conv_gather(const int8_t *in, int8_t *buf, const int32_t IH, const int32_t IW,
                                           const int32_t C, const int32_t KH, const int32_t KW, const int32_t iy0,
                                           const int32_t ix0, const int32_t zp)
{
    const int32_t row = KW * C;
    const int32_t inside_x = (ix0 >= 0) && (ix0 + KW <= IW);
    for (int32_t ky = 0; ky < KH; ky++)
    {
        const int32_t iy = iy0 + ky;
        int8_t *dst = buf + ky * row;
        if (iy < 0 || iy >= IH)
        {
            memset(dst, zp, (size_t)row);
        }
        else if (inside_x)
        {
            memcpy(dst, in + (iy * IW + ix0) * C, (size_t)row);
        }
        else
        {
            for (int32_t kx = 0; kx < KW; kx++)
            {
                const int32_t ix = ix0 + kx;
                if (ix < 0 || ix >= IW)
                {
                    memset(dst + kx * C, zp, (size_t)C);
                }
                else
                {
                    memcpy(dst + kx * C, in + (iy * IW + ix) * C, (size_t)C);
                }
            }
        }
    }
}

/* Channel c's window at (iy0, ix0) into buf (KH*KW bytes, byte stride C in the input; in points at
 * channel c), padded taps = zp: the depthwise (groups = C, 1 input channel per group) gather. */
EDGEGEN_MM_INLINE void edgegen_conv_gather_ch(const int8_t *in, int8_t *buf, const int32_t IH, const int32_t IW,
                                              const int32_t C, const int32_t KH, const int32_t KW,
                                              const int32_t iy0, const int32_t ix0, const int32_t zp)
{
    if (iy0 >= 0 && iy0 + KH <= IH && ix0 >= 0 && ix0 + KW <= IW)
    {
        const int8_t *src = in + (iy0 * IW + ix0) * C;
        for (int32_t ky = 0; ky < KH; ky++)
        {
            for (int32_t kx = 0; kx < KW; kx++)
            {
                *buf++ = src[kx * C];
            }
            src += IW * C;
        }
        return;
    }
    for (int32_t ky = 0; ky < KH; ky++)
    {
        const int32_t iy = iy0 + ky;
        for (int32_t kx = 0; kx < KW; kx++)
        {
            const int32_t ix = ix0 + kx;
            *buf++ = (iy < 0 || iy >= IH || ix < 0 || ix >= IW) ? (int8_t)zp : in[(iy * IW + ix) * C];
        }
    }
}

/* DEPTHWISE_CONV_2D with C input channels and multiplier M (groups = C): per output pixel and per
 * channel c, channel c's window is gathered into KH*KW bytes and the matmul block computes output
 * channels c*M .. c*M+M-1 (contiguous, so the stores stay sequential). The weights are packed per
 * channel group ([M, KH*KW] slices one after another), bias2 and rq per output channel, so one pass
 * over the constants per pixel reads them in order. */
EDGEGEN_MM_INLINE void edgegen_conv_run_grouped(const int8_t *in, int8_t *out, int8_t *buf, const int32_t *w16x2,
                                                const int32_t *bias2, const int32_t *rq, const int32_t IH,
                                                const int32_t IW, const int32_t C, const int32_t KH,
                                                const int32_t KW, const int32_t OH, const int32_t OW,
                                                const int32_t SH, const int32_t SW, const int32_t PT,
                                                const int32_t PL, const int32_t zp, const int32_t M,
                                                const int32_t OCB, const int32_t amin, const int32_t amax,
                                                const int32_t e_pos, const int32_t dsp)
{
    const int32_t K = KH * KW;
    int8_t *o = out;
    for (int32_t oy = 0; oy < OH; oy++)
    {
        for (int32_t ox = 0; ox < OW; ox++)
        {
            const int32_t *w = w16x2;
            const int32_t *b = bias2;
            const int32_t *r = rq;
            for (int32_t c = 0; c < C; c++)
            {
                edgegen_conv_gather_ch(in + c, buf, IH, IW, C, KH, KW, oy * SH - PT, ox * SW - PL, zp);
                o = edgegen_mm_row(buf, o, &w, &b, &r, K, M, OCB, amin, amax, e_pos, dsp);
            }
        }
    }
}

EDGEGEN_MM_INLINE void edgegen_conv_run(const int8_t *in, int8_t *out, int8_t *buf, const int32_t *w16x2,
                                        const int32_t *bias2, const int32_t *rq, const int32_t IH, const int32_t IW,
                                        const int32_t C, const int32_t KH, const int32_t KW, const int32_t OH,
                                        const int32_t OW, const int32_t SH, const int32_t SW, const int32_t PT,
                                        const int32_t PL, const int32_t zp, const int32_t OC, const int32_t OCB,
                                        const int32_t amin, const int32_t amax, const int32_t e_pos,
                                        const int32_t G, const int32_t dsp)
{
    const int32_t K = KH * KW * C;
    int8_t *o = out;
    if (G > 1)
    {
        edgegen_conv_run_grouped(in, out, buf, w16x2, bias2, rq, IH, IW, C, KH, KW, OH, OW, SH, SW, PT, PL, zp,
                                 OC / G, OCB, amin, amax, e_pos, dsp);
        return;
    }
    for (int32_t oy = 0; oy < OH; oy++)
    {
        for (int32_t ox = 0; ox < OW; ox++)
        {
            const int32_t *w = w16x2;
            const int32_t *b = bias2;
            const int32_t *r = rq;
            edgegen_conv_gather(in, buf, IH, IW, C, KH, KW, oy * SH - PT, ox * SW - PL, zp);
            o = edgegen_mm_row(buf, o, &w, &b, &r, K, OC, OCB, amin, amax, e_pos, dsp);
        }
    }
}

/* The layer's kernel: the DSP path where the CPU has it, else the portable one. */
EDGEGEN_MM_INLINE void edgegen_conv_s8(const int8_t *in, int8_t *out, int8_t *buf, const int32_t *w16x2,
                                       const int32_t *bias2, const int32_t *rq, const int32_t IH, const int32_t IW,
                                       const int32_t C, const int32_t KH, const int32_t KW, const int32_t OH,
                                       const int32_t OW, const int32_t SH, const int32_t SW, const int32_t PT,
                                       const int32_t PL, const int32_t zp, const int32_t OC, const int32_t OCB,
                                       const int32_t amin, const int32_t amax, const int32_t e_pos,
                                       const int32_t G)
{
    edgegen_conv_run(in, out, buf, w16x2, bias2, rq, IH, IW, C, KH, KW, OH, OW, SH, SW, PT, PL, zp, OC, OCB, amin,
                     amax, e_pos, G, EDGEGEN_MM_HAVE_DSP);
}

/* The portable path on every CPU (`--kernels portable`). */
EDGEGEN_MM_INLINE void edgegen_conv_s8_portable(const int8_t *in, int8_t *out, int8_t *buf, const int32_t *w16x2,
                                                const int32_t *bias2, const int32_t *rq, const int32_t IH,
                                                const int32_t IW, const int32_t C, const int32_t KH, const int32_t KW,
                                                const int32_t OH, const int32_t OW, const int32_t SH,
                                                const int32_t SW, const int32_t PT, const int32_t PL,
                                                const int32_t zp, const int32_t OC, const int32_t OCB,
                                                const int32_t amin, const int32_t amax, const int32_t e_pos,
                                                const int32_t G)
{
    edgegen_conv_run(in, out, buf, w16x2, bias2, rq, IH, IW, C, KH, KW, OH, OW, SH, SW, PT, PL, zp, OC, OCB, amin,
                     amax, e_pos, G, 0);
}

#endif /* EDGEGEN_CONV_H */
