/*
 * edgegen portable CMSIS-NN subset: transposed convolution (s8), TFLM's reference semantics.
 *
 * TFLM's reference scatters every input pixel's products into the output pixels its filter
 * window covers, then adds the bias and requantizes. The same sums are gathered here, one output
 * pixel at a time, from the taps (fy, fx) whose input pixel (oy + pad_h - fy) / stride_h,
 * (ox + pad_w - fx) / stride_w is a whole, in-range position: no buffer is needed. (ty >= 0
 * always: the padding is never negative.)
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "arm_nnfunctions.h"
#include "edgegen_nn_support.h"

arm_cmsis_nn_status arm_transpose_conv_s8(const cmsis_nn_context *ctx,
                                          const cmsis_nn_context *output_ctx,
                                          const cmsis_nn_transpose_conv_params *transpose_conv_params,
                                          const cmsis_nn_per_channel_quant_params *quant_params,
                                          const cmsis_nn_dims *input_dims,
                                          const int8_t *input_data,
                                          const cmsis_nn_dims *filter_dims,
                                          const int8_t *filter_data,
                                          const cmsis_nn_dims *bias_dims,
                                          const int32_t *bias_data,
                                          const cmsis_nn_dims *output_dims,
                                          int8_t *output_data)
{
    (void)ctx;
    (void)output_ctx;
    (void)bias_dims;
    const cmsis_nn_transpose_conv_params *p = transpose_conv_params;
    const int32_t ih = input_dims->h, iw = input_dims->w, ic = input_dims->c;
    const int32_t kh = filter_dims->h, kw = filter_dims->w;
    const int32_t oh = output_dims->h, ow = output_dims->w, oc = output_dims->c;
    const int32_t sh = p->stride.h, sw = p->stride.w;
    if (sh < 1 || sw < 1)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    int8_t *out = output_data;
    for (int32_t n = 0; n < output_dims->n; n++)
    {
        const int8_t *image = input_data + (size_t)n * (size_t)ih * (size_t)iw * (size_t)ic;
        for (int32_t oy = 0; oy < oh; oy++)
        {
            for (int32_t ox = 0; ox < ow; ox++)
            {
                for (int32_t c = 0; c < oc; c++)
                {
                    uint32_t acc = 0;
                    /* the taps whose input row (ty - fy) / sh is whole: every sh-th from ty % sh */
                    const int32_t ty = oy + p->padding.h;
                    const int32_t tx = ox + p->padding.w;
                    for (int32_t fy = ty % sh; fy < kh && fy <= ty; fy += sh)
                    {
                        const int32_t iy = (ty - fy) / sh;
                        if (iy >= ih)
                        {
                            continue;
                        }
                        for (int32_t fx = tx % sw; fx < kw && fx <= tx; fx += sw)
                        {
                            const int32_t ix = (tx - fx) / sw;
                            if (ix >= iw)
                            {
                                continue;
                            }
                            const int8_t *x = image + ((size_t)iy * (size_t)iw + (size_t)ix) * (size_t)ic;
                            const int8_t *w = filter_data + (((size_t)c * (size_t)kh + (size_t)fy) * (size_t)kw +
                                                             (size_t)fx) * (size_t)ic;
                            for (int32_t k = 0; k < ic; k++)
                            {
                                acc += (uint32_t)((x[k] + p->input_offset) * w[k]);
                            }
                        }
                    }
                    *out++ = edgegen_nn_finish(acc, bias_data, c, quant_params->multiplier[c], quant_params->shift[c],
                                               p->output_offset, p->activation.min, p->activation.max);
                }
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

int32_t arm_transpose_conv_s8_get_buffer_size(const cmsis_nn_transpose_conv_params *transposed_conv_params,
                                              const cmsis_nn_dims *input_dims,
                                              const cmsis_nn_dims *filter_dims,
                                              const cmsis_nn_dims *out_dims)
{
    (void)transposed_conv_params;
    (void)input_dims;
    (void)filter_dims;
    (void)out_dims;
    return 0;
}

int32_t arm_transpose_conv_s8_get_reverse_conv_buffer_size(const cmsis_nn_transpose_conv_params *transposed_conv_params,
                                                           const cmsis_nn_dims *input_dims,
                                                           const cmsis_nn_dims *filter_dims)
{
    (void)transposed_conv_params;
    (void)input_dims;
    (void)filter_dims;
    return 0;
}
