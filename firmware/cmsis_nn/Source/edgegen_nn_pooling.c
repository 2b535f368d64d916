/*
 * edgegen portable CMSIS-NN subset: average and max pooling (s8, and s16 for TFLite's 16x8 scheme).
 *
 * The average divides the window sum by the number of taps inside the input, rounding half
 * away from zero, as TFLM and CMSIS-NN do.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "arm_nnfunctions.h"
#include "edgegen_nn_support.h"

#include <stddef.h>

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>

/* The int16 average on Helium: four channels per lane group, the window's VLDRH.S32 loads summed
 * with VADD (int32 lanes wrap as TFLM's int32 sum), predicated for the last 1..3 channels; the
 * rounded division and the clamp per output as the generic loop does them. */
static arm_cmsis_nn_status edgegen_nn_avgpool_s16_mve(const cmsis_nn_pool_params *p, const cmsis_nn_dims *id,
                                                      const int16_t *input, const cmsis_nn_dims *fd,
                                                      const cmsis_nn_dims *od, int16_t *output)
{
    const int32_t in_h = id->h, in_w = id->w, ch = id->c;
    if (id->n < 1)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    for (int32_t b = 0; b < id->n; b++)
    {
        const int16_t *in = input + (size_t)b * (size_t)in_h * (size_t)in_w * (size_t)ch;
        int16_t *out = output + (size_t)b * (size_t)od->h * (size_t)od->w * (size_t)ch;
        for (int32_t oy = 0; oy < od->h; oy++)
        {
            const int32_t y0 = oy * p->stride.h - p->padding.h;
            const int32_t ya = EDGEGEN_NN_MAX(y0, 0), yb = EDGEGEN_NN_MIN(y0 + fd->h, in_h);
            for (int32_t ox = 0; ox < od->w; ox++)
            {
                const int32_t x0 = ox * p->stride.w - p->padding.w;
                const int32_t xa = EDGEGEN_NN_MAX(x0, 0), xb = EDGEGEN_NN_MIN(x0 + fd->w, in_w);
                const int32_t count = (yb - ya) * (xb - xa);
                if (count <= 0)
                {
                    return ARM_CMSIS_NN_ARG_ERROR;
                }
                int16_t *o = out + ((size_t)oy * (size_t)od->w + (size_t)ox) * (size_t)ch;
                for (int32_t c = 0; c < ch; c += 4)
                {
                    const mve_pred16_t pr = vctp32q((uint32_t)(ch - c));
                    int32x4_t acc = vdupq_n_s32(0);
                    for (int32_t y = ya; y < yb; y++)
                    {
                        const int16_t *row = in + ((size_t)y * (size_t)in_w + (size_t)xa) * (size_t)ch + (size_t)c;
                        for (int32_t x = xa; x < xb; x++, row += ch)
                        {
                            acc = vaddq_s32(acc, vldrhq_z_s32(row, pr));
                        }
                    }
                    int32_t sums[4];
                    vst1q_s32(sums, acc);
                    const int32_t n = EDGEGEN_NN_MIN(ch - c, 4);
                    for (int32_t j = 0; j < n; j++)
                    {
                        const int32_t a = sums[j];
                        const int32_t q = a > 0 ? (a + count / 2) / count : (a - count / 2) / count;
                        o[c + j] = (int16_t)EDGEGEN_NN_MIN(EDGEGEN_NN_MAX(q, p->activation.min), p->activation.max);
                    }
                }
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}
#endif

/* One pooling loop per element type (int8_t, int16_t: TFLite's 16x8 scheme); TFLM's reference
 * AveragePool / MaxPool are the same template for both, with an int32 sum. */
#define EDGEGEN_NN_POOL(NAME, T, T_MIN)                                                                         \
    static arm_cmsis_nn_status NAME(const cmsis_nn_pool_params *pool_params,                                    \
                                    const cmsis_nn_dims *input_dims,                                            \
                                    const T *input_data,                                                        \
                                    const cmsis_nn_dims *filter_dims,                                           \
                                    const cmsis_nn_dims *output_dims,                                           \
                                    T *output_data,                                                             \
                                    int is_max)                                                                 \
    {                                                                                                           \
        const int32_t batches = input_dims->n;                                                                  \
        const int32_t in_h = input_dims->h, in_w = input_dims->w, ch = input_dims->c;                           \
        const int32_t k_h = filter_dims->h, k_w = filter_dims->w;                                               \
        const int32_t out_h = output_dims->h, out_w = output_dims->w;                                           \
        const int32_t stride_h = pool_params->stride.h, stride_w = pool_params->stride.w;                       \
        const int32_t pad_h = pool_params->padding.h, pad_w = pool_params->padding.w;                           \
        const int32_t act_min = pool_params->activation.min, act_max = pool_params->activation.max;             \
        if (batches < 1)                                                                                        \
        {                                                                                                       \
            return ARM_CMSIS_NN_ARG_ERROR;                                                                      \
        }                                                                                                       \
        for (int32_t b = 0; b < batches; b++)                                                                   \
        {                                                                                                       \
            const T *in = input_data + (size_t)b * (size_t)in_h * (size_t)in_w * (size_t)ch;                    \
            T *out = output_data + (size_t)b * (size_t)out_h * (size_t)out_w * (size_t)ch;                      \
            for (int32_t oy = 0; oy < out_h; oy++)                                                              \
            {                                                                                                   \
                const int32_t y0 = oy * stride_h - pad_h;                                                       \
                const int32_t ya = EDGEGEN_NN_MAX(y0, 0), yb = EDGEGEN_NN_MIN(y0 + k_h, in_h);                  \
                for (int32_t ox = 0; ox < out_w; ox++)                                                          \
                {                                                                                               \
                    const int32_t x0 = ox * stride_w - pad_w;                                                   \
                    const int32_t xa = EDGEGEN_NN_MAX(x0, 0), xb = EDGEGEN_NN_MIN(x0 + k_w, in_w);              \
                    const int32_t count = (yb - ya) * (xb - xa);                                                \
                    for (int32_t c = 0; c < ch; c++)                                                            \
                    {                                                                                           \
                        int32_t acc = is_max ? (T_MIN) : 0;                                                     \
                        for (int32_t y = ya; y < yb; y++)                                                       \
                        {                                                                                       \
                            for (int32_t x = xa; x < xb; x++)                                                   \
                            {                                                                                   \
                                const int32_t v =                                                               \
                                    in[((size_t)y * (size_t)in_w + (size_t)x) * (size_t)ch + (size_t)c];        \
                                acc = is_max ? EDGEGEN_NN_MAX(acc, v) : acc + v;                                \
                            }                                                                                   \
                        }                                                                                       \
                        if (!is_max)                                                                            \
                        {                                                                                       \
                            if (count == 0)                                                                     \
                            {                                                                                   \
                                return ARM_CMSIS_NN_ARG_ERROR;                                                  \
                            }                                                                                   \
                            acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;              \
                        }                                                                                       \
                        acc = EDGEGEN_NN_MIN(EDGEGEN_NN_MAX(acc, act_min), act_max);                            \
                        out[((size_t)oy * (size_t)out_w + (size_t)ox) * (size_t)ch + (size_t)c] = (T)acc;       \
                    }                                                                                           \
                }                                                                                               \
            }                                                                                                   \
        }                                                                                                       \
        return ARM_CMSIS_NN_SUCCESS;                                                                            \
    }

EDGEGEN_NN_POOL(edgegen_nn_pool, int8_t, INT8_MIN)
EDGEGEN_NN_POOL(edgegen_nn_pool_s16, int16_t, INT16_MIN)

arm_cmsis_nn_status arm_avgpool_s8(const cmsis_nn_context *ctx,
                                   const cmsis_nn_pool_params *pool_params,
                                   const cmsis_nn_dims *input_dims,
                                   const int8_t *input_data,
                                   const cmsis_nn_dims *filter_dims,
                                   const cmsis_nn_dims *output_dims,
                                   int8_t *output_data)
{
    (void)ctx;
    return edgegen_nn_pool(pool_params, input_dims, input_data, filter_dims, output_dims, output_data, 0);
}

int32_t arm_avgpool_s8_get_buffer_size(const int dim_dst_width, const int ch_src)
{
    (void)dim_dst_width;
    (void)ch_src;
    return 0;
}

arm_cmsis_nn_status arm_max_pool_s8(const cmsis_nn_context *ctx,
                                    const cmsis_nn_pool_params *pool_params,
                                    const cmsis_nn_dims *input_dims,
                                    const int8_t *input_data,
                                    const cmsis_nn_dims *filter_dims,
                                    const cmsis_nn_dims *output_dims,
                                    int8_t *output_data)
{
    (void)ctx;
    return edgegen_nn_pool(pool_params, input_dims, input_data, filter_dims, output_dims, output_data, 1);
}

arm_cmsis_nn_status arm_avgpool_s16(const cmsis_nn_context *ctx,
                                    const cmsis_nn_pool_params *pool_params,
                                    const cmsis_nn_dims *input_dims,
                                    const int16_t *input_data,
                                    const cmsis_nn_dims *filter_dims,
                                    const cmsis_nn_dims *output_dims,
                                    int16_t *output_data)
{
    (void)ctx;
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
    return edgegen_nn_avgpool_s16_mve(pool_params, input_dims, input_data, filter_dims, output_dims, output_data);
#else
    return edgegen_nn_pool_s16(pool_params, input_dims, input_data, filter_dims, output_dims, output_data, 0);
#endif
}

int32_t arm_avgpool_s16_get_buffer_size(const int dim_dst_width, const int ch_src)
{
    (void)dim_dst_width;
    (void)ch_src;
    return 0;
}

arm_cmsis_nn_status arm_max_pool_s16(const cmsis_nn_context *ctx,
                                     const cmsis_nn_pool_params *pool_params,
                                     const cmsis_nn_dims *input_dims,
                                     const int16_t *src,
                                     const cmsis_nn_dims *filter_dims,
                                     const cmsis_nn_dims *output_dims,
                                     int16_t *dst)
{
    (void)ctx;
    return edgegen_nn_pool_s16(pool_params, input_dims, src, filter_dims, output_dims, dst, 1);
}
