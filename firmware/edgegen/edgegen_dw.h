/*
 * edgegen's specialized int8 kernel for DEPTHWISE_CONV_2D with a 3x3 filter (stride 1 or 2,
 * dilation 1, depth multiplier 1, SAME or VALID padding), compiled per layer (issue 14; design and
 * measurements in docs/kernel-design.md, "Depthwise 3x3").
 *
 * Every number comes from edgegen's build-time preparation (edgegen/kernels/depthwise.py). The
 * output is cut into regions (runs of rows x runs of columns) in which the same filter taps read the
 * input; the generated function calls edgegen_dw3_s8 once per region with literal bounds and the
 * region's tap mask (bit 3*ky + kx), so the tap loop unrolls to the valid taps only: no bounds checks
 * and no reads of padding.
 *
 *   w      per quad of channels (zero-padded), per tap, two int16 pairs (s*w[c0], s*w[c2]) and
 *          (s*w[c1], s*w[c3]), s = 2 * 2^left_shift of the channel: the order SXTB16 and SXTB16 ROR #8
 *          give the four channel bytes of one input word (SMLABB / SMLATT on the DSP path).
 *   bias2  per region, per channel: s * (bias + input_offset * sum of the taps valid in the region),
 *          exact since TFLM pads with the input zero point; raw int8 inputs at run time.
 *   rq     per channel {m, c, e}: the requantization of edgegen_mm.h (edgegen_mm_rq).
 *
 * The last C % 4 channels of a pixel are read byte by byte on both paths (no load passes the end
 * of the input); the DSP path runs the full quads with SXTB16 / SMLABB / SMLATT, the portable path
 * is plain C99 over the same layout and arithmetic (the host tier checks it).
 *
 * Written for edgegen. SPDX-License-Identifier: Apache-2.0
 */
#ifndef EDGEGEN_DW_H
#define EDGEGEN_DW_H

#include <stdint.h>
#include <string.h>

#include "edgegen_mm.h"

#if EDGEGEN_MM_HAVE_DSP
/* Four channels of one tap in one block, so the compiler cannot spread the loads: the input word
 * (addressed [reg, #imm] through the "m" operand), the two weight pairs (LDRD, post-increment),
 * SXTB16 to (c0, c2) and (c1, c3), SMLABB / SMLATT. */
#define EDGEGEN_DW_TAP(XP_, WP_, A0_, A1_, A2_, A3_)                                                    \
    do                                                                                                 \
    {                                                                                                  \
        int32_t x_, e_, w0_, w1_;                                                                      \
        __asm__ volatile("ldr %[x], %[xm]\n\tldrd %[w0], %[w1], [%[wp]], #8\n\t"                       \
                         "sxtb16 %[e], %[x]\n\tsxtb16 %[x], %[x], ror #8\n\t"                            \
                         "smlabb %[a0], %[e], %[w0], %[a0]\n\tsmlatt %[a2], %[e], %[w0], %[a2]\n\t"      \
                         "smlabb %[a1], %[x], %[w1], %[a1]\n\tsmlatt %[a3], %[x], %[w1], %[a3]"          \
                         : [a0] "+r"(A0_), [a1] "+r"(A1_), [a2] "+r"(A2_), [a3] "+r"(A3_), [x] "=&r"(x_),    \
                           [e] "=&r"(e_), [w0] "=&r"(w0_), [w1] "=&r"(w1_), [wp] "+r"(WP_)                 \
                         : [xm] "m"(*(const int32_t *)(const void *)(XP_))                             \
                         : "memory");                                                                  \
    } while (0)
#endif

/* One quad of channels (n = 4) or the last n = C % 4 channels of one output pixel. off: the element
 * offset of tap (0, 0) of these channels in the input (may be negative or past the row for border
 * regions: only the taps of mask are read). */
EDGEGEN_MM_INLINE void edgegen_dw3_quad(const int8_t *in, const int32_t off, int8_t *out, const int32_t *wq,
                                        const int32_t *b, const int32_t *rq, const int32_t IW, const int32_t C,
                                        const int32_t mask, const int32_t n, const int32_t amin, const int32_t amax,
                                        const int32_t e_pos, const int32_t dsp)
{
    int32_t a[4] = { 0, 0, 0, 0 };
    (void)dsp;
#pragma GCC unroll 4
    for (int32_t j = 0; j < n; j++)
    {
        a[j] = b[j];
    }
#if EDGEGEN_MM_HAVE_DSP
    if (dsp && n == 4)
    {
        const int32_t *wp = wq;
#pragma GCC unroll 9
        for (int32_t t = 0; t < 9; t++)
        {
            if ((mask >> t) & 1)
            {
                EDGEGEN_DW_TAP(in + (off + ((t / 3) * IW + t % 3) * C), wp, a[0], a[1], a[2], a[3]);
            }
            else
            {
                wp += 2;
            }
        }
    }
    else
#endif
    {
#pragma GCC unroll 9
        for (int32_t t = 0; t < 9; t++)
        {
            if ((mask >> t) & 1)
            {
                const int8_t *xp = in + (off + ((t / 3) * IW + t % 3) * C);
                uint32_t xw;
                if (n == 4)
                {
                    memcpy(&xw, xp, 4);
                }
                else
                {
                    xw = edgegen_mm_tail(xp, n);
                }
                const int32_t w0 = wq[2 * t], w1 = wq[2 * t + 1];
                a[0] += EDGEGEN_MM_B(xw, 0) * EDGEGEN_MM_LO(w0);
                a[2] += EDGEGEN_MM_B(xw, 2) * EDGEGEN_MM_HI(w0);
                a[1] += EDGEGEN_MM_B(xw, 1) * EDGEGEN_MM_LO(w1);
                a[3] += EDGEGEN_MM_B(xw, 3) * EDGEGEN_MM_HI(w1);
            }
        }
    }
#pragma GCC unroll 4
    for (int32_t j = 0; j < n; j++)
    {
        out[j] = (int8_t)edgegen_mm_rq(a[j], rq + 3 * j, e_pos, amin, amax, dsp);
    }
}

#if EDGEGEN_MM_HAVE_DSP
/* One output pixel on the DSP path, C % 4 == 0: the region's biases (two LDRD), the valid taps, the
 * {m, c, e} records (LDRD + LDR), every pointer post-incremented across the quads. */
EDGEGEN_MM_INLINE void edgegen_dw3_px_dsp(const int8_t *in, const int32_t off, int8_t *out, const int32_t *w,
                                          const int32_t *b, const int32_t *rq, const int32_t IW, const int32_t C,
                                          const int32_t mask, const int32_t amin, const int32_t amax,
                                          const int32_t e_pos)
{
    const int32_t *wp = w, *bp = b, *rp = rq;
    for (int32_t q = 0; q < C / 4; q++)
    {
        int32_t a[4];
        __asm__ volatile("ldrd %[a2], %[a3], [%[bp], #8]\n\tldrd %[a0], %[a1], [%[bp]], #16"
                         : [a0] "=&r"(a[0]), [a1] "=&r"(a[1]), [a2] "=&r"(a[2]), [a3] "=&r"(a[3]), [bp] "+r"(bp)
                         :
                         : "memory");
#pragma GCC unroll 9
        for (int32_t t = 0; t < 9; t++)
        {
            if ((mask >> t) & 1)
            {
                EDGEGEN_DW_TAP(in + (off + 4 * q + ((t / 3) * IW + t % 3) * C), wp, a[0], a[1], a[2], a[3]);
            }
            else
            {
                wp += 2;
            }
        }
#pragma GCC unroll 4
        for (int32_t j = 0; j < 4; j++)
        {
            int32_t m, c, e;
            __asm__ volatile("ldrd %[m], %[c], [%[rp]], #12\n\tldr %[e], [%[rp], #-4]"
                             : [m] "=&r"(m), [c] "=&r"(c), [e] "=&r"(e), [rp] "+r"(rp)
                             :
                             : "memory");
            *out++ = (int8_t)edgegen_mm_rq3(a[j], m, c, e, e_pos, amin, amax, 1);
        }
    }
}
#endif

/* One output pixel, all channels. */
EDGEGEN_MM_INLINE void edgegen_dw3_px(const int8_t *in, const int32_t off, int8_t *out, const int32_t *w,
                                      const int32_t *b, const int32_t *rq, const int32_t IW, const int32_t C,
                                      const int32_t mask, const int32_t amin, const int32_t amax,
                                      const int32_t e_pos, const int32_t dsp)
{
#if EDGEGEN_MM_HAVE_DSP
    if (dsp && C % 4 == 0)
    {
        edgegen_dw3_px_dsp(in, off, out, w, b, rq, IW, C, mask, amin, amax, e_pos);
        return;
    }
#endif
    for (int32_t q = 0; q < C / 4; q++)
    {
        edgegen_dw3_quad(in, off + 4 * q, out + 4 * q, w + 18 * q, b + 4 * q, rq + 12 * q, IW, C, mask, 4, amin,
                         amax, e_pos, dsp);
    }
    if (C % 4 != 0)
    {
        const int32_t q = C / 4;
        edgegen_dw3_quad(in, off + 4 * q, out + 4 * q, w + 18 * q, b + 4 * q, rq + 12 * q, IW, C, mask, C % 4,
                         amin, amax, e_pos, dsp);
    }
}

/* Output rows [y0, y1) x columns [x0, x1) of one region (bias2 already at the region's row). */
EDGEGEN_MM_INLINE void edgegen_dw3_run(const int8_t *in, int8_t *out, const int32_t *w, const int32_t *b,
                                       const int32_t *rq, const int32_t IW, const int32_t C, const int32_t OW,
                                       const int32_t S, const int32_t PT, const int32_t PL, const int32_t y0,
                                       const int32_t y1, const int32_t x0, const int32_t x1, const int32_t mask,
                                       const int32_t amin, const int32_t amax, const int32_t e_pos,
                                       const int32_t dsp)
{
    for (int32_t y = y0; y < y1; y++)
    {
        int32_t off = ((y * S - PT) * IW + (x0 * S - PL)) * C;
        int8_t *o = out + (y * OW + x0) * C;
        for (int32_t x = x0; x < x1; x++)
        {
            edgegen_dw3_px(in, off, o, w, b, rq, IW, C, mask, amin, amax, e_pos, dsp);
            off += S * C;
            o += C;
        }
    }
}

/* One region of the layer: the DSP path where the CPU has it, else the portable one. */
EDGEGEN_MM_INLINE void edgegen_dw3_s8(const int8_t *in, int8_t *out, const int32_t *w, const int32_t *b,
                                      const int32_t *rq, const int32_t IW, const int32_t C, const int32_t OW,
                                      const int32_t S, const int32_t PT, const int32_t PL, const int32_t y0,
                                      const int32_t y1, const int32_t x0, const int32_t x1, const int32_t mask,
                                      const int32_t amin, const int32_t amax, const int32_t e_pos)
{
    edgegen_dw3_run(in, out, w, b, rq, IW, C, OW, S, PT, PL, y0, y1, x0, x1, mask, amin, amax, e_pos,
                    EDGEGEN_MM_HAVE_DSP);
}

/* The portable path on every CPU (`--kernels portable`). */
EDGEGEN_MM_INLINE void edgegen_dw3_s8_portable(const int8_t *in, int8_t *out, const int32_t *w, const int32_t *b,
                                               const int32_t *rq, const int32_t IW, const int32_t C,
                                               const int32_t OW, const int32_t S, const int32_t PT,
                                               const int32_t PL, const int32_t y0, const int32_t y1,
                                               const int32_t x0, const int32_t x1, const int32_t mask,
                                               const int32_t amin, const int32_t amax, const int32_t e_pos)
{
    edgegen_dw3_run(in, out, w, b, rq, IW, C, OW, S, PT, PL, y0, y1, x0, x1, mask, amin, amax, e_pos, 0);
}

#endif /* EDGEGEN_DW_H */
