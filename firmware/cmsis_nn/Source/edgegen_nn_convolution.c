/*
 * edgegen portable CMSIS-NN subset: convolution and depthwise convolution (s8).
 *
 * Straight loops in TFLM's reference order: for every output element the int32 sum over the
 * receptive field of (input + input_offset) * filter, taps outside the input skipped (which is
 * what padding with the input zero point means), plus the bias, requantized per output
 * channel, plus the output offset, clamped to the activation range.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "arm_nnfunctions.h"
#include "edgegen_nn_support.h"

#include <stddef.h>

arm_cmsis_nn_status arm_convolve_wrapper_s8(const cmsis_nn_context *ctx,
                                            const cmsis_nn_conv_params *conv_params,
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
    (void)ctx; /* the reference loops need no scratch memory */
    (void)bias_dims;
    const int32_t batches = input_dims->n;
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w, k_c = filter_dims->c;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t stride_h = conv_params->stride.h, stride_w = conv_params->stride.w;
    const int32_t pad_h = conv_params->padding.h, pad_w = conv_params->padding.w;
    const int32_t dil_h = conv_params->dilation.h, dil_w = conv_params->dilation.w;
    const int32_t input_offset = conv_params->input_offset;
    const int32_t output_offset = conv_params->output_offset;
    const int32_t act_min = conv_params->activation.min, act_max = conv_params->activation.max;

    if (k_c <= 0 || in_c % k_c != 0 || filter_dims->n != out_c)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    /* grouped convolution: each group of output channels sees k_c consecutive input channels */
    const int32_t groups = in_c / k_c;
    if (out_c % groups != 0)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    const int32_t out_per_group = out_c / groups;

    for (int32_t b = 0; b < batches; b++)
    {
        const int8_t *in_batch = input_data + (size_t)b * (size_t)in_h * (size_t)in_w * (size_t)in_c;
        for (int32_t oy = 0; oy < out_h; oy++)
        {
            const int32_t y0 = oy * stride_h - pad_h;
            int32_t ky0, ky1;
            edgegen_nn_valid_taps(y0, dil_h, k_h, in_h, &ky0, &ky1);
            for (int32_t ox = 0; ox < out_w; ox++)
            {
                const int32_t x0 = ox * stride_w - pad_w;
                int32_t kx0, kx1;
                edgegen_nn_valid_taps(x0, dil_w, k_w, in_w, &kx0, &kx1);
                int8_t *out = output_data +
                              (((size_t)b * (size_t)out_h + (size_t)oy) * (size_t)out_w + (size_t)ox) * (size_t)out_c;
                int32_t oc = 0;
                /* four output channels at a time: each input value is loaded once for all four */
                for (; groups == 1 && oc + 4 <= out_c; oc += 4)
                {
                    const size_t filter_stride = (size_t)k_h * (size_t)k_w * (size_t)k_c;
                    const int8_t *f0 = filter_data + (size_t)oc * filter_stride;
                    uint32_t acc[4] = {0, 0, 0, 0}; /* wrapping int32 sums */
                    for (int32_t ky = ky0; ky < ky1; ky++)
                    {
                        const int32_t iy = y0 + ky * dil_h;
                        for (int32_t kx = kx0; kx < kx1; kx++)
                        {
                            const int32_t ix = x0 + kx * dil_w;
                            const int8_t *in = in_batch + ((size_t)iy * (size_t)in_w + (size_t)ix) * (size_t)in_c;
                            const int8_t *f = f0 + ((size_t)ky * (size_t)k_w + (size_t)kx) * (size_t)k_c;
                            uint32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                            for (int32_t ic = 0; ic < k_c; ic++)
                            {
                                const int32_t v = in[ic] + input_offset;
                                s0 += (uint32_t)(v * f[ic]);
                                s1 += (uint32_t)(v * f[filter_stride + (size_t)ic]);
                                s2 += (uint32_t)(v * f[2 * filter_stride + (size_t)ic]);
                                s3 += (uint32_t)(v * f[3 * filter_stride + (size_t)ic]);
                            }
                            acc[0] += s0;
                            acc[1] += s1;
                            acc[2] += s2;
                            acc[3] += s3;
                        }
                    }
                    for (int32_t k = 0; k < 4; k++)
                    {
                        out[oc + k] = edgegen_nn_finish(acc[k], bias_data, oc + k, quant_params->multiplier[oc + k],
                                                        quant_params->shift[oc + k], output_offset, act_min, act_max);
                    }
                }
                for (; oc < out_c; oc++)
                {
                    const int32_t ic0 = (oc / out_per_group) * k_c;
                    const int8_t *filter = filter_data + (size_t)oc * (size_t)k_h * (size_t)k_w * (size_t)k_c;
                    uint32_t acc = 0; /* int32 arithmetic, wrapping like the reference */
                    for (int32_t ky = ky0; ky < ky1; ky++)
                    {
                        const int32_t iy = y0 + ky * dil_h;
                        for (int32_t kx = kx0; kx < kx1; kx++)
                        {
                            const int32_t ix = x0 + kx * dil_w;
                            const int8_t *in =
                                in_batch + ((size_t)iy * (size_t)in_w + (size_t)ix) * (size_t)in_c + (size_t)ic0;
                            const int8_t *f = filter + ((size_t)ky * (size_t)k_w + (size_t)kx) * (size_t)k_c;
                            uint32_t sum = 0;
                            int32_t ic = 0;
                            /* four taps per iteration: fewer loop overheads, same sum */
                            for (; ic + 4 <= k_c; ic += 4)
                            {
                                sum += (uint32_t)((in[ic] + input_offset) * f[ic] + (in[ic + 1] + input_offset) * f[ic + 1] +
                                                  (in[ic + 2] + input_offset) * f[ic + 2] +
                                                  (in[ic + 3] + input_offset) * f[ic + 3]);
                            }
                            for (; ic < k_c; ic++)
                            {
                                sum += (uint32_t)((in[ic] + input_offset) * f[ic]);
                            }
                            acc += sum;
                        }
                    }
                    out[oc] = edgegen_nn_finish(acc, bias_data, oc, quant_params->multiplier[oc], quant_params->shift[oc],
                                                output_offset, act_min, act_max);
                }
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

int32_t arm_convolve_wrapper_s8_get_buffer_size(const cmsis_nn_conv_params *conv_params,
                                                const cmsis_nn_dims *input_dims,
                                                const cmsis_nn_dims *filter_dims,
                                                const cmsis_nn_dims *output_dims)
{
    (void)conv_params;
    (void)input_dims;
    (void)filter_dims;
    (void)output_dims;
    return 0;
}

arm_cmsis_nn_status arm_depthwise_conv_wrapper_s8(const cmsis_nn_context *ctx,
                                                  const cmsis_nn_dw_conv_params *dw_conv_params,
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
    (void)bias_dims;
    const int32_t batches = input_dims->n;
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t ch_mult = dw_conv_params->ch_mult;
    const int32_t stride_h = dw_conv_params->stride.h, stride_w = dw_conv_params->stride.w;
    const int32_t pad_h = dw_conv_params->padding.h, pad_w = dw_conv_params->padding.w;
    const int32_t dil_h = dw_conv_params->dilation.h, dil_w = dw_conv_params->dilation.w;
    const int32_t input_offset = dw_conv_params->input_offset;
    const int32_t output_offset = dw_conv_params->output_offset;
    const int32_t act_min = dw_conv_params->activation.min, act_max = dw_conv_params->activation.max;

    if (ch_mult <= 0 || in_c * ch_mult != out_c || filter_dims->c != out_c)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }

    for (int32_t b = 0; b < batches; b++)
    {
        const int8_t *in_batch = input_data + (size_t)b * (size_t)in_h * (size_t)in_w * (size_t)in_c;
        for (int32_t oy = 0; oy < out_h; oy++)
        {
            const int32_t y0 = oy * stride_h - pad_h;
            int32_t ky0, ky1;
            edgegen_nn_valid_taps(y0, dil_h, k_h, in_h, &ky0, &ky1);
            for (int32_t ox = 0; ox < out_w; ox++)
            {
                const int32_t x0 = ox * stride_w - pad_w;
                int32_t kx0, kx1;
                edgegen_nn_valid_taps(x0, dil_w, k_w, in_w, &kx0, &kx1);
                int8_t *out = output_data +
                              (((size_t)b * (size_t)out_h + (size_t)oy) * (size_t)out_w + (size_t)ox) * (size_t)out_c;
                int32_t oc = 0;
                /* four output channels at a time (with ch_mult 1 their inputs are adjacent too) */
                for (; ch_mult == 1 && oc + 4 <= out_c; oc += 4)
                {
                    uint32_t acc0 = 0, acc1 = 0, acc2 = 0, acc3 = 0; /* wrapping int32 sums */
                    for (int32_t ky = ky0; ky < ky1; ky++)
                    {
                        const int32_t iy = y0 + ky * dil_h;
                        for (int32_t kx = kx0; kx < kx1; kx++)
                        {
                            const int32_t ix = x0 + kx * dil_w;
                            const int8_t *in =
                                in_batch + ((size_t)iy * (size_t)in_w + (size_t)ix) * (size_t)in_c + (size_t)oc;
                            const int8_t *f =
                                filter_data + ((size_t)ky * (size_t)k_w + (size_t)kx) * (size_t)out_c + (size_t)oc;
                            acc0 += (uint32_t)((in[0] + input_offset) * f[0]);
                            acc1 += (uint32_t)((in[1] + input_offset) * f[1]);
                            acc2 += (uint32_t)((in[2] + input_offset) * f[2]);
                            acc3 += (uint32_t)((in[3] + input_offset) * f[3]);
                        }
                    }
                    const uint32_t accs[4] = {acc0, acc1, acc2, acc3};
                    for (int32_t k = 0; k < 4; k++)
                    {
                        out[oc + k] = edgegen_nn_finish(accs[k], bias_data, oc + k, quant_params->multiplier[oc + k],
                                                        quant_params->shift[oc + k], output_offset, act_min, act_max);
                    }
                }
                for (; oc < out_c; oc++)
                {
                    const int32_t ic = oc / ch_mult;
                    uint32_t acc = 0;
                    for (int32_t ky = ky0; ky < ky1; ky++)
                    {
                        const int32_t iy = y0 + ky * dil_h;
                        for (int32_t kx = kx0; kx < kx1; kx++)
                        {
                            const int32_t ix = x0 + kx * dil_w;
                            const int32_t in =
                                in_batch[((size_t)iy * (size_t)in_w + (size_t)ix) * (size_t)in_c + (size_t)ic];
                            const int32_t f =
                                filter_data[((size_t)ky * (size_t)k_w + (size_t)kx) * (size_t)out_c + (size_t)oc];
                            acc += (uint32_t)((in + input_offset) * f);
                        }
                    }
                    out[oc] = edgegen_nn_finish(acc, bias_data, oc, quant_params->multiplier[oc], quant_params->shift[oc],
                                                output_offset, act_min, act_max);
                }
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

int32_t arm_depthwise_conv_wrapper_s8_get_buffer_size(const cmsis_nn_dw_conv_params *dw_conv_params,
                                                      const cmsis_nn_dims *input_dims,
                                                      const cmsis_nn_dims *filter_dims,
                                                      const cmsis_nn_dims *output_dims)
{
    (void)dw_conv_params;
    (void)input_dims;
    (void)filter_dims;
    (void)output_dims;
    return 0;
}
