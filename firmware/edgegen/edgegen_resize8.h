/*
 * edgegen's Helium (MVE) path of RESIZE_BILINEAR (TFLM's int8 ResizeBilinearInteger), for
 * Cortex-M55-class CPUs with --kernels auto; the portable kernel is edgegen_resize_bilinear_s8
 * (edgegen_kernels.c), whose comment describes the tables (three int32 per output row and column:
 * lower and upper source offsets, the upper tap's weight in 1/1024) and the arithmetic.
 *
 * Lanes are channels, 4 per vector in int32 lanes: VLDRB.S32 widens the 4 taps' bytes, VMUL/VMLA.S32
 * by the scalar weight products accumulate the exact sum (|sum| <= 2^29), and TFLM's rounding (half
 * away from zero, then towards zero) is VRSHR.S32 #20 (half up) of sum - 1 where sum < 0 (sum plus
 * its VSHR #31): for sum < 0 TFLM's result is floor((sum - 1 + 2^19) / 2^20), for sum >= 0
 * floor((sum + 2^19) / 2^20). VSTRB.32 narrows to int8. The last depth % 4 channels run the same
 * code with VCTP-predicated loads and store (depth is a literal of the layer's function, so the
 * compiler drops whichever loop a layer does not need). Without MVE (the host build of the same model) the
 * function is the portable loop, so the host tier checks the same tables.
 *
 * Written for edgegen. SPDX-License-Identifier: Apache-2.0
 */
#ifndef EDGEGEN_RESIZE8_H
#define EDGEGEN_RESIZE8_H

#include <stdint.h>

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#define EDGEGEN_RESIZE8_HAVE_MVE 1
#include <arm_mve.h>
#else
#define EDGEGEN_RESIZE8_HAVE_MVE 0
#endif

static inline __attribute__((always_inline)) void edgegen_resize_bilinear8_s8(
    const int8_t *input, int8_t *output, const int32_t batches, const int32_t in_batch, const int32_t out_h,
    const int32_t out_w, const int32_t depth, const int32_t *y_table, const int32_t *x_table)
{
    for (int32_t b = 0; b < batches; b++)
    {
        const int8_t *in_b = input + b * in_batch;
        for (int32_t y = 0; y < out_h; y++)
        {
            const int8_t *r0 = in_b + y_table[3 * y];
            const int8_t *r1 = in_b + y_table[3 * y + 1];
            const int32_t wy1 = y_table[3 * y + 2];
            const int32_t wy0 = 1024 - wy1;
            for (int32_t x = 0; x < out_w; x++)
            {
                const int32_t c0 = x_table[3 * x];
                const int32_t c1 = x_table[3 * x + 1];
                const int32_t wx1 = x_table[3 * x + 2];
                const int32_t wx0 = 1024 - wx1;
                const int32_t w00 = wy0 * wx0;
                const int32_t w10 = wy1 * wx0;
                const int32_t w01 = wy0 * wx1;
                const int32_t w11 = wy1 * wx1;
                const int8_t *p00 = r0 + c0;
                const int8_t *p10 = r1 + c0;
                const int8_t *p01 = r0 + c1;
                const int8_t *p11 = r1 + c1;
#if EDGEGEN_RESIZE8_HAVE_MVE
                int32_t c = 0;
                for (; c + 4 <= depth; c += 4)
                {
                    int32x4_t s = vmulq_n_s32(vldrbq_s32(p00 + c), w00);
                    s = vmlaq_n_s32(s, vldrbq_s32(p10 + c), w10);
                    s = vmlaq_n_s32(s, vldrbq_s32(p01 + c), w01);
                    s = vmlaq_n_s32(s, vldrbq_s32(p11 + c), w11);
                    s = vaddq_s32(s, vshrq_n_s32(s, 31));
                    vstrbq_s32(output + c, vrshrq_n_s32(s, 20));
                }
                if (c < depth)
                {
                    const mve_pred16_t p = vctp32q((uint32_t)(depth - c));
                    int32x4_t s = vmulq_n_s32(vldrbq_z_s32(p00 + c, p), w00);
                    s = vmlaq_n_s32(s, vldrbq_z_s32(p10 + c, p), w10);
                    s = vmlaq_n_s32(s, vldrbq_z_s32(p01 + c, p), w01);
                    s = vmlaq_n_s32(s, vldrbq_z_s32(p11 + c, p), w11);
                    s = vaddq_s32(s, vshrq_n_s32(s, 31));
                    vstrbq_p_s32(output + c, vrshrq_n_s32(s, 20), p);
                }
                output += depth;
#else
                for (int32_t c = 0; c < depth; c++)
                {
                    const int32_t acc = p00[c] * w00 + p10[c] * w10 + p01[c] * w01 + p11[c] * w11;
                    *output++ = (int8_t)((acc + (acc >> 31) + (1 << 19)) >> 20);
                }
#endif
            }
        }
    }
}

#endif
