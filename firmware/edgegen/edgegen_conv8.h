/*
 * edgegen's specialized int8 kernel for general CONV_2D (any KH x KW, any stride, dilation 1, SAME or
 * VALID, batch 1) on CPUs with Helium (MVE), compiled per layer (issue 14; docs/kernel-design.md,
 * "Helium"): the windows of a group of G output pixels are gathered into G stack rows of K16 bytes
 * (K = KH*KW*C zero-padded to a multiple of 16; each window row is KW*C contiguous bytes of the NHWC
 * input, copied whole when the row is inside the image, padded taps = the input zero point zp), then
 * multiplied with the streamed int8 weights as a matmul of G rows (edgegen_mm8.h: 2 rows x 4
 * channels per Helium block).
 *
 * The input offset -zp is folded into the bias over all K taps (edgegen/kernels/mve_mm.py), so a
 * padded tap contributes (zp - zp) * w = 0, exactly TFLM's skipped taps; the buffers' padding bytes
 * (K..K16-1) are zero once per call and meet zero weights. The buffer is the caller's (a stack array
 * of G * K16 bytes, G chosen at build time).
 *
 * Written for edgegen. SPDX-License-Identifier: Apache-2.0
 */
#ifndef EDGEGEN_CONV8_H
#define EDGEGEN_CONV8_H

#include <stdint.h>
#include <string.h>

#include "edgegen_mm8.h"

#if EDGEGEN_MM8_HAVE_MVE
/* Copy the first n (1..16, or more: all 16) bytes of src to dst under a VCTP predicate: inactive
 * lanes neither read nor write memory. In asm with a memory clobber: GCC 12 models the predicated
 * store intrinsic (vstrbq_p) as a store of all 16 bytes and deleted an earlier memset of the bytes
 * it does not write (found by the emulator tests). */
EDGEGEN_MM8_INLINE void edgegen_conv8_pcopy(int8_t *dst, const int8_t *src, const int32_t n)
{
    int8x16_t v;
    __asm__ volatile("vctp.8 %[n]\n\tvpst\n\tvldrbt.8 %q[v], [%[s]]\n\tvpst\n\tvstrbt.8 %q[v], [%[d]]"
                     : [v] "=&w"(v)
                     : [n] "r"(n), [s] "r"(src), [d] "r"(dst)
                     : "p0", "memory");
}
#endif

/* Copy n (a constant) bytes: 16 at a time with Helium (the last n % 16 under a VCTP predicate, so
 * nothing past src + n is read), memcpy for short rows (GCC inlines a constant-size copy). */
EDGEGEN_MM8_INLINE void edgegen_conv8_copy(int8_t *dst, const int8_t *src, const int32_t n)
{
#if EDGEGEN_MM8_HAVE_MVE
    if (n > 16)
    {
        int32_t i = 0;
        for (; i + 16 <= n; i += 16)
        {
            vst1q_s8(dst + i, vld1q_s8(src + i));
        }
        if (n % 16)
        {
            edgegen_conv8_pcopy(dst + i, src + i, n % 16);
        }
        return;
    }
#endif
    memcpy(dst, src, (size_t)n);
}

/* Copy n (known only at run time, 1..row) bytes: under VCTP predicates with Helium, else memcpy. */
EDGEGEN_MM8_INLINE void edgegen_conv8_copyn(int8_t *dst, const int8_t *src, int32_t n)
{
#if EDGEGEN_MM8_HAVE_MVE
    while (n > 0)
    {
        edgegen_conv8_pcopy(dst, src, n);
        dst += 16;
        src += 16;
        n -= 16;
    }
#else
    memcpy(dst, src, (size_t)n);
#endif
}

/* The window at input (iy0, ix0) (top-left, may be outside the image) into buf, padded taps = zp.
 * Windows inside the image copy KH whole rows with no checks; at the borders each window row is
 * filled with zp and the part of it inside the image copied over it. */
EDGEGEN_MM8_INLINE void edgegen_conv8_gather(const int8_t *in, int8_t *buf, const int32_t IH, const int32_t IW,
                                             const int32_t C, const int32_t KH, const int32_t KW, const int32_t iy0,
                                             const int32_t ix0, const int32_t zp)
{
    const int32_t row = KW * C;
    const int32_t kx0 = ix0 < 0 ? -ix0 : 0;
    const int32_t kx1 = ix0 + KW > IW ? IW - ix0 : KW;
    if (kx0 == 0 && kx1 == KW && iy0 >= 0 && iy0 + KH <= IH)
    {
        const int8_t *src = in + (iy0 * IW + ix0) * C;
        for (int32_t ky = 0; ky < KH; ky++)
        {
            edgegen_conv8_copy(buf + ky * row, src, row);
            src += IW * C;
        }
        return;
    }
    for (int32_t ky = 0; ky < KH; ky++)
    {
        const int32_t iy = iy0 + ky;
        int8_t *dst = buf + ky * row;
        if (iy < 0 || iy >= IH || kx1 <= kx0)
        {
            memset(dst, zp, (size_t)row);
        }
        else if (kx0 == 0 && kx1 == KW)
        {
            edgegen_conv8_copy(dst, in + (iy * IW + ix0) * C, row);
        }
        else
        {
            memset(dst, zp, (size_t)row);
            edgegen_conv8_copyn(dst + kx0 * C, in + (iy * IW + ix0 + kx0) * C, (kx1 - kx0) * C);
        }
    }
}

/* G windows (pixels first .. first + G - 1 in NHWC order, starting at (*oy, *ox)) into G rows of K16
 * bytes, then their G x OC outputs at o. */
EDGEGEN_MM8_INLINE void edgegen_conv8_group(const int8_t *in, int8_t *o, int8_t *buf, const int8_t *w,
                                            const int32_t *bias, const int32_t *rq, const int32_t IH,
                                            const int32_t IW, const int32_t C, const int32_t KH, const int32_t KW,
                                            const int32_t OW, const int32_t SH, const int32_t SW, const int32_t PT,
                                            const int32_t PL, const int32_t zp, const int32_t OC, const int32_t amin,
                                            const int32_t amax, const int32_t e_pos, const int32_t LS,
                                            const int32_t G, int32_t *oy, int32_t *ox, const int32_t mve)
{
    const int32_t K16 = (KH * KW * C + 15) / 16 * 16;
    for (int32_t g = 0; g < G; g++)
    {
        edgegen_conv8_gather(in, buf + g * K16, IH, IW, C, KH, KW, *oy * SH - PT, *ox * SW - PL, zp);
        if (++*ox == OW)
        {
            *ox = 0;
            ++*oy;
        }
    }
    /* the rows are K16 apart and zero-padded, against zero-padded weights: a matmul with K16 */
    (void)mve;
#if EDGEGEN_MM8_HAVE_MVE
    if (mve)
    {
        edgegen_mm8_run_mve(buf, o, w, bias, rq, K16, OC, G, amin, amax, e_pos, LS);
        return;
    }
#endif
    edgegen_mm8_run_portable(buf, o, w, bias, rq, K16, OC, G, amin, amax, e_pos, LS);
}

/* Groups of G output pixels (the last one shorter): gathered, then multiplied like a matmul of G rows,
 * so each block of 4 channels loads its bias and records once per group. */
EDGEGEN_MM8_INLINE void edgegen_conv8_run(const int8_t *in, int8_t *out, int8_t *buf, const int8_t *w,
                                          const int32_t *bias, const int32_t *rq, const int32_t IH, const int32_t IW,
                                          const int32_t C, const int32_t KH, const int32_t KW, const int32_t OH,
                                          const int32_t OW, const int32_t SH, const int32_t SW, const int32_t PT,
                                          const int32_t PL, const int32_t zp, const int32_t OC, const int32_t amin,
                                          const int32_t amax, const int32_t e_pos, const int32_t LS, const int32_t G,
                                          const int32_t mve)
{
    const int32_t K = KH * KW * C;
    const int32_t K16 = (K + 15) / 16 * 16;
    int8_t *o = out;
    int32_t oy = 0;
    int32_t ox = 0;
    if (K16 > K)
    {
        for (int32_t g = 0; g < G; g++)
        {
            memset(buf + g * K16 + K, 0, (size_t)(K16 - K));
        }
    }
    for (int32_t n = 0; n < OH * OW / G; n++)
    {
        edgegen_conv8_group(in, o, buf, w, bias, rq, IH, IW, C, KH, KW, OW, SH, SW, PT, PL, zp, OC, amin, amax, e_pos,
                            LS, G, &oy, &ox, mve);
        o += G * OC;
    }
    if ((OH * OW) % G)
    {
        edgegen_conv8_group(in, o, buf, w, bias, rq, IH, IW, C, KH, KW, OW, SH, SW, PT, PL, zp, OC, amin, amax, e_pos,
                            LS, (OH * OW) % G, &oy, &ox, mve);
    }
}

/* The layer's kernel: the Helium path where the CPU has it, else the portable one. */
EDGEGEN_MM8_INLINE void edgegen_conv8_s8(const int8_t *in, int8_t *out, int8_t *buf, const int8_t *w,
                                         const int32_t *bias, const int32_t *rq, const int32_t IH, const int32_t IW,
                                         const int32_t C, const int32_t KH, const int32_t KW, const int32_t OH,
                                         const int32_t OW, const int32_t SH, const int32_t SW, const int32_t PT,
                                         const int32_t PL, const int32_t zp, const int32_t OC, const int32_t amin,
                                         const int32_t amax, const int32_t e_pos, const int32_t LS, const int32_t G)
{
    edgegen_conv8_run(in, out, buf, w, bias, rq, IH, IW, C, KH, KW, OH, OW, SH, SW, PT, PL, zp, OC, amin, amax, e_pos,
                      LS, G, EDGEGEN_MM8_HAVE_MVE);
}

/* The portable path on every CPU (`--kernels portable`). */
EDGEGEN_MM8_INLINE void edgegen_conv8_s8_portable(const int8_t *in, int8_t *out, int8_t *buf, const int8_t *w,
                                                  const int32_t *bias, const int32_t *rq, const int32_t IH,
                                                  const int32_t IW, const int32_t C, const int32_t KH,
                                                  const int32_t KW, const int32_t OH, const int32_t OW,
                                                  const int32_t SH, const int32_t SW, const int32_t PT,
                                                  const int32_t PL, const int32_t zp, const int32_t OC,
                                                  const int32_t amin, const int32_t amax, const int32_t e_pos,
                                                  const int32_t LS, const int32_t G)
{
    edgegen_conv8_run(in, out, buf, w, bias, rq, IH, IW, C, KH, KW, OH, OW, SH, SW, PT, PL, zp, OC, amin, amax, e_pos,
                      LS, G, 0);
}

#endif /* EDGEGEN_CONV8_H */
